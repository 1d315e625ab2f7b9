/*  bf_cache_int - what the cache's own files share (not for callers; the
    API is bf_cache.h).

    The cache is one module in five files, one job each:
        bf_cache.c          open, the lock, batched counters, the index of
                            entries, pins, usage
        bf_store.c          objects on disk: write, read and verify one,
                            quarantine, forget
        bf_cache_admin.c    evict, maintain, gc, verify, invalidate, stats,
                            list
        bf_cache_result.c   storing a build result: its objects, then its
                            entry
        bf_cache_entry.c    the entry record and its JSON codec
    Functions here are named bf_cache__name (two underscores: internal).
    Unless said otherwise they run in the caller's thread and transaction,
    and take no lock.
*/
#ifndef BF_CACHE_INT_H_INCLUDED
#define BF_CACHE_INT_H_INCLUDED

#include "bf_cache.h"
#include "bf_cache_entry.h"
#include "../common/bf_db.h"

#include <czmq.h>

#define BF_CACHE__FORMAT      "bitfarm-cache 1\n"
#define BF_CACHE__OBJECT_MAX  ((size_t) 1 << 30)   /* bytes read for one object at most */
#define BF_CACHE__PENDING_MAX 1024                  /* batched touches before an automatic flush */
#define BF_CACHE__EVICT_BATCH 64                    /* objects evicted per exclusive lock */

/*  Batched counters of one toolchain. */
typedef struct {
    int64_t hits, misses, corruptions;
} bf_cache__counts_t;

struct _bf_cache_t {
    char *dir;
    sqlite3 *db;
    int lock_fd;
    int holds;                   /* bf_cache_hold nesting */
    zhashx_t *touched_objects;   /* digest -> (void *) 1 */
    zhashx_t *touched_entries;   /* key -> int64_t * hits to add */
    zhashx_t *counts;            /* toolchain -> bf_cache__counts_t */
    size_t pending;
};

/* bf_cache.c */

/*  flock(2) of the directory's lock file with op (LOCK_SH, LOCK_EX,
    LOCK_UN), retried on EINTR.  BF_OK or BF_EIO. */
int bf_cache__lock (bf_cache_t *self, int op);

/*  The batched counters of toolchain (NULL = none), created on first use. */
bf_cache__counts_t *bf_cache__counts (bf_cache_t *self, const char *toolchain);

/*  Records an access for LRU (batched; may flush). */
void bf_cache__touch_object (bf_cache_t *self, const char *digest);
void bf_cache__touch_entry (bf_cache_t *self, const char *key, int64_t hits);

/*  The size cap recorded in the index; 0 = none. */
uint64_t bf_cache__max_size (bf_cache_t *self);

/*  Sets obj[name] from column col of st: an integer, a string, or nothing
    for NULL. */
void bf_cache__set_col (json_t *obj, const char *name, sqlite3_stmt *st, int col);

/* bf_store.c */

/*  objects/ab/abcd... under the cache directory (caller frees). */
char *bf_cache__object_path (bf_cache_t *self, const char *digest);

/*  The size the index records for an object, or -1 when it has no row. */
int64_t bf_cache__object_size (bf_cache_t *self, const char *digest);

/*  Deletes an object's row and every entry that names it.  Returns the
    number of entries deleted; counts them as evictions when `evicted`. */
int bf_cache__drop_object_rows (bf_cache_t *self, const char *digest, bool evicted);

/*  Reads an object and checks its size and digest; a file that fails is
    quarantined (and the object forgotten, in a transaction of its own).
    With out == NULL the bytes are only checked.  BF_OK (the access is
    recorded), BF_ENOTFOUND or BF_EIO. */
int bf_cache__read_verified (bf_cache_t *self, char **out, size_t *len_out, const char *digest);

#endif

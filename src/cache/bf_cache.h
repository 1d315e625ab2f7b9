/*  bf_cache - the content-addressed object store and the cache index.

    Layout of a cache directory (format version in FORMAT, currently 1):
        FORMAT                  "bitfarm-cache 1\n"
        index.db                SQLite index (migrations in schema/cache)
        objects/ab/abcdef..    object files, named by their SHA-256
        quarantine/             objects that failed verification
    An object is written as temp file, fsync, rename, then its index row;
    a crash leaves either the whole object or none.  Every object is
    verified against its digest when it is written and when it is read; a
    file that fails is moved to quarantine/ and reported as a miss.

    An entry maps a cache key (bf_key.h) to the outcome of a build: for a
    success the bitstream, report and log objects; for a design failure the
    failed stage, the tool's first error line and the log.
    The index must live on a local disk (SQLite locking is unsafe on NFS).
    Thread-safety: a bf_cache_t belongs to one thread; several bf_cache_t
    in several threads or processes may share one directory.
*/
#ifndef BF_CACHE_H_INCLUDED
#define BF_CACHE_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "../common/bf_sha256.h"

typedef struct _bf_cache_t bf_cache_t;

/*  Opens (creating) the cache at dir.  Returns BF_OK with *out set, or
    BF_EIO with a detail.  Destroy with bf_cache_destroy. */
int bf_cache_open (bf_cache_t **out, const char *dir);
void bf_cache_destroy (bf_cache_t **self_p);

/*  True when the object is in the index and its file exists. */
bool bf_cache_has_object (bf_cache_t *self, const char *digest);

/*  Stores len bytes as an object whose digest must be `digest` (verified
    before anything is written: BF_ECORRUPT on mismatch).  Storing an
    object that exists is a no-op.  Returns BF_OK, BF_ECORRUPT or BF_EIO. */
int bf_cache_put_object (bf_cache_t *self, const char *digest, const void *data, size_t len);

/*  Stores n objects as bf_cache_put_object does, with one index
    transaction for all of them.  Stops at the first object that fails
    verification (BF_ECORRUPT naming it); objects written before it stay,
    unindexed, for gc.  Arrays are borrowed. */
int bf_cache_put_objects (bf_cache_t *self, size_t n, const char *const *digests,
                          const void *const *data, const size_t *lens);

/*  Reads and verifies an object into a new heap buffer (caller frees
    *out, which is NUL-terminated for convenience).  Returns BF_OK,
    BF_ENOTFOUND (absent, or corrupt and now quarantined), or BF_EIO. */
int bf_cache_get_object (bf_cache_t *self, char **out, size_t *len_out, const char *digest);

/*  Records an entry.  `entry` is a JSON object with: "action", "toolchain",
    "outcome" ("succeeded" or "failed"), optional "stage", "error",
    "bitstream", "report", "log" (object digests, which must be stored
    already) and "manifest" (an object).  An existing entry for the key is
    kept (first writer wins; builds are deterministic).
    Returns BF_OK, BF_EINVAL or BF_EIO. */
int bf_cache_put_entry (bf_cache_t *self, const char *key, json_t *entry);

/*  Looks up an entry and checks that its objects are present; counts a
    hit.  *out receives a new JSON object with the fields above plus "key",
    "created_at" and "hits" (caller decrefs).  Returns BF_OK or
    BF_ENOTFOUND. */
int bf_cache_get_entry (bf_cache_t *self, json_t **out, const char *key);

#endif

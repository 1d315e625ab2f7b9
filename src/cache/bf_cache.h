/*  bf_cache - the content-addressed object store and the cache index.

    Layout of a cache directory (format version in FORMAT, currently 1):
        FORMAT                  "bitfarm-cache 1\n"
        index.db                SQLite index (migrations in schema/cache)
        lock                    flock(2): writers shared, gc and eviction
                                exclusive
        objects/ab/abcdef..     object files, named by their SHA-256
        objects/ab/abc...tmp-R  a file being written (removed by gc after 1 h)
        quarantine/DIGEST.R     objects that failed verification

    Objects.  An object is addressed by its SHA-256 and its size (as in
    Bazel's Remote Execution API).  It is verified when written (before
    anything reaches the disk) and when read; one that fails on read (a
    flipped bit, a truncated file) is moved to quarantine/, counted, dropped
    from the index with every entry that names it, and reported as a miss,
    so the next job that needs it rebuilds it.
    Write order: temp file, fsync, rename, fsync of the directory, then the
    index row in a BEGIN IMMEDIATE transaction.  A kill -9 at any point
    leaves the whole object or an orphan file that gc removes; an index row
    never names a file that was not complete.

    Entries.  An entry maps a cache key (bf_key.h) to the outcome of a
    build: for a success the bitstream, report and log objects; for a design
    failure the failed stage, the tool's first error line and the log.  An
    entry is visible only when all its objects are.  In C an entry is a
    bf_cache_entry_t (bf_cache_entry.h, with its JSON codec); the json_t
    functions below are that codec over the typed ones.

    Eviction.  With a size cap, least recently used objects (and the entries
    that name them) are evicted once the cache holds more than the high
    watermark (90 % of the cap) until it holds less than the low watermark
    (80 %).  Objects and entries pinned by a live job (bf_cache_pin) are
    never evicted.  Access times and hit counters are kept in memory and
    written in batches (bf_cache_flush), not on every hit.

    The index must live on a local disk: SQLite's locking is unreliable on
    network filesystems (https://www.sqlite.org/faq.html#q5), so opening a
    cache on NFS, CIFS/SMB, AFS, Ceph, 9p, Lustre, GFS2 or OCFS2 is refused
    unless forced.

    Thread-safety: a bf_cache_t belongs to one thread.  Any number of
    bf_cache_t in any threads and processes may share one directory:
    concurrent writers of the same object or entry produce one of it.
*/
#ifndef BF_CACHE_H_INCLUDED
#define BF_CACHE_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bf_cache_entry.h"
#include "../common/bf_manifest.h"
#include "../common/bf_sha256.h"

typedef struct _bf_cache_t bf_cache_t;

typedef struct {
    uint64_t max_size;           /* bytes; 0 = no cap, nothing is evicted for size */
    bool force_network_fs;       /* open even on a network filesystem */
} bf_cache_opts_t;

#define BF_CACHE_HIGH_PERCENT 90
#define BF_CACHE_LOW_PERCENT  80
#define BF_CACHE_TEMP_AGE_MS  (3600LL * 1000)   /* gc removes temp files older than this */

/*  Opens (creating) the cache at dir, applying schema migrations.  opts
    may be NULL (no cap, local disks only); a non-zero max_size is recorded
    in the index for `bitfarm cache stats`.  Returns BF_OK with *out set,
    BF_EINVAL (a network filesystem, named) or BF_EIO with a detail.
    Destroy with bf_cache_destroy, which flushes batched counters. */
int bf_cache_open (bf_cache_t **out, const char *dir, const bf_cache_opts_t *opts);
void bf_cache_destroy (bf_cache_t **self_p);

/*  The name of a network filesystem for a statfs(2) f_type, or NULL for a
    local one. */
const char *bf_cache_network_fs (long f_type);

/*  True when the object is in the index and its file exists.  Does not
    read the file. */
bool bf_cache_has_object (bf_cache_t *self, const char *digest);

/*  Stores len bytes as an object whose digest must be `digest` (verified
    before anything is written: BF_ECORRUPT on mismatch).  Storing an
    object that exists is a no-op.  Returns BF_OK, BF_EINVAL (a malformed
    digest), BF_ECORRUPT or BF_EIO. */
int bf_cache_put_object (bf_cache_t *self, const char *digest, const void *data, size_t len);

/*  Stores n objects as bf_cache_put_object does, with one index
    transaction for all of them.  Stops at the first object that fails
    verification (BF_ECORRUPT naming it); files written before it stay,
    unindexed, for gc.  Arrays are borrowed. */
int bf_cache_put_objects (bf_cache_t *self, size_t n, const char *const *digests,
                          const void *const *data, const size_t *lens);

/*  The size in bytes the index records for an object, or -1 when it is
    not in the index (or the digest is malformed).  Reads no file. */
int64_t bf_cache_object_size (bf_cache_t *self, const char *digest);

/*  Reads and verifies (size and SHA-256) an object into a new heap buffer
    (caller frees *out, which is NUL-terminated for convenience).  Returns
    BF_OK, BF_ENOTFOUND (absent, or corrupt and now quarantined), or
    BF_EIO. */
int bf_cache_get_object (bf_cache_t *self, char **out, size_t *len_out, const char *digest);

/*  Holds the directory's shared lock across several writes (objects, then
    the entry naming them) so that no eviction or gc runs between them.
    Calls nest; each hold needs one release.  BF_OK or BF_EIO. */
int bf_cache_hold (bf_cache_t *self);
void bf_cache_release (bf_cache_t *self);

/*  Group commit (bf_db_batch_begin): holds the shared lock (as
    bf_cache_hold: taken before the index's write lock, in the order
    eviction takes them) and opens one transaction on the index that
    every write until bf_cache_batch_end joins.  Objects are still
    written and fsync'd before the rows naming them; the rows are durable
    only when bf_cache_batch_end (self, true) returns BF_OK.  BF_OK or
    BF_EIO with a detail; the batch (and the hold) is over either way.
    Eviction in other threads or processes waits for the batch to end. */
int bf_cache_batch_begin (bf_cache_t *self);
int bf_cache_batch_end (bf_cache_t *self, bool commit);

/*  Records an entry.  `entry` is a JSON object with: "action", "toolchain",
    "outcome" ("succeeded" or "failed"), optional "stage", "error",
    "bitstream", "report", "log" (object digests, which must be stored
    already) and "manifest" (an object).  An existing entry for the key is
    kept (first writer wins; builds are deterministic).
    Returns BF_OK, BF_EINVAL (malformed, an object missing, or a disowned
    toolchain) or BF_EIO. */
int bf_cache_put_entry (bf_cache_t *self, const char *key, json_t *entry);

/*  The same for a typed entry (borrowed; its key and times are ignored:
    the key is `key` and the times are now).  Returns BF_OK, BF_EINVAL (a
    malformed key, no action or toolchain, an object missing, or a disowned
    toolchain) or BF_EIO. */
int bf_cache_store_entry (bf_cache_t *self, const char *key, const bf_cache_entry_t *entry);

/*  Stores the objects of a build result as RESULT carries them
    (docs/protocol.md §6.2): `result` names them by digest in "bitstream",
    "report" and "log", and blob i (data[i], lens[i] bytes, for i < n)
    holds the i-th named one, in that order; extra blobs are ignored.
    Arrays and bytes are borrowed.  The bitstream's size is checked
    against the manifest's device (bf_manifest_check_bitstream) before it
    is stored.  Returns BF_OK, or at the first failure BF_EPROTO (a blob
    missing), BF_ECORRUPT, BF_EINVAL or BF_EIO with a detail. */
int bf_cache_put_result_objects (bf_cache_t *self, const bf_manifest_t *m, json_t *result, size_t n,
                                 const void *const *data, const size_t *lens);

/*  Records the entry of a build result under key: a success (ok) or a
    design failure, built from manifest (and its action digest), the
    toolchain, and result's "stage", "error", "bitstream", "report",
    "log" and "build_ms" (the build's duration, ms; absent: 0, unknown).  The objects must be stored already.  As bf_cache_put_entry. */
int bf_cache_put_result_entry (bf_cache_t *self, const char *key, const bf_manifest_t *m,
                               const char *toolchain, bool ok, json_t *result);

/*  Looks up an entry.  *out receives a new JSON object with the fields
    above plus "key", "created_at", "accessed_at" (ms) and "hits" (caller
    decrefs).  Unless `peek`, every object of the entry is read and verified
    (a corrupt one is quarantined and the lookup is a miss) and the access
    is recorded for LRU.  Counts nothing: see bf_cache_count.  Returns BF_OK
    or BF_ENOTFOUND. */
int bf_cache_get_entry (bf_cache_t *self, json_t **out, const char *key, bool peek);

/*  The same into a typed record: *out is initialised here and, on BF_OK,
    filled (caller releases it with bf_cache_entry_release; on failure
    there is nothing to release, but releasing is harmless). */
int bf_cache_lookup (bf_cache_t *self, bf_cache_entry_t *out, const char *key, bool peek);

/*  Resolves a full cache key or a unique prefix of at least 8 hex
    characters into out.  BF_OK, BF_EINVAL, BF_ENOTFOUND or BF_EAMBIGUOUS,
    each with a detail. */
int bf_cache_resolve_key (bf_cache_t *self, char out[BF_SHA256_HEX_LEN + 1], const char *prefix);

/*  The entry that built this bitstream (digest): its key into out, the
    most recently used of them when several did.  BF_OK, or BF_ENOTFOUND
    (a bitstream that came as a file, or whose entry was evicted).  Uses
    the index entries_bitstream (schema/cache/002). */
int bf_cache_key_of_bitstream (bf_cache_t *self, char out[BF_SHA256_HEX_LEN + 1],
                               const char *bitstream);

/*  Counts a lookup for the statistics: a hit (of `key`, whose hit counter
    grows) or a miss, under `toolchain` (NULL = none).  Batched. */
void bf_cache_count (bf_cache_t *self, const char *key, const char *toolchain, bool hit);

/*  Writes batched access times and counters to the index in one
    transaction.  Cheap when nothing is pending.  BF_OK or BF_EIO. */
int bf_cache_flush (bf_cache_t *self);

/*  Pins, for `owner` (a job id), the objects named in `digests` (a JSON
    array of strings) and the entry `key` (NULL = none) with its objects,
    so eviction leaves them alone.  Atomic with eviction: if any object is
    absent nothing is pinned, *missing_out (when not NULL) receives a new
    array of the absent digests, and BF_ENOTFOUND is returned.  Pinning
    also counts as an access.  BF_OK, BF_ENOTFOUND or BF_EIO. */
int bf_cache_pin (bf_cache_t *self, const char *owner, json_t *digests, const char *key,
                  json_t **missing_out);

/*  Drops every pin of owner.  BF_OK or BF_EIO. */
int bf_cache_unpin (bf_cache_t *self, const char *owner);

/*  A new JSON array of the owners that hold pins (caller decrefs). */
json_t *bf_cache_pin_owners (bf_cache_t *self);

/*  Evicts least recently used objects that no pin protects, with the
    entries that name them, while the cache holds more than target_bytes or
    the object was last used before older_than (ms since the epoch; 0 =
    none); entries last used before older_than go too.  Holds the exclusive
    lock one batch at a time.  *report (may be NULL) receives a new object
    {"entries", "objects", "bytes"} of what went.  BF_OK or BF_EIO. */
int bf_cache_evict (bf_cache_t *self, uint64_t target_bytes, int64_t older_than,
                    json_t **report);

/*  Evicts down to the low watermark if the cache is above the high one
    (see the top of this file); does nothing without a cap.  Sets *evicted
    (may be NULL) to the number of objects evicted.  BF_OK or BF_EIO. */
int bf_cache_maintain (bf_cache_t *self, int64_t *evicted);

/*  Removes what a crash can leave behind: object files with no index row,
    index rows with no file (and the entries naming them), entries naming
    missing objects, and temp files older than temp_age_ms; and the
    objects nothing refers to (no pin, no entry names them as an object
    or lists them among its manifest's inputs: an upload no job took)
    that were created and last used more than temp_age_ms ago (the grace
    period, so that an in-flight submit's uploads stay).  Holds the
    exclusive lock, so no write is in flight.  *report (may be NULL)
    receives {"orphan_files", "missing_files", "dangling_entries",
    "temp_files", "unreferenced_objects", "bytes_freed"}.  BF_OK or
    BF_EIO. */
int bf_cache_gc (bf_cache_t *self, int64_t temp_age_ms, json_t **report);

/*  Deletes one object now if nothing refers to it (as bf_cache_gc, with
    no grace period); *dropped (may be NULL) says whether it went.  BF_OK,
    BF_EINVAL (a malformed digest) or BF_EIO. */
int bf_cache_drop_unreferenced (bf_cache_t *self, const char *digest, bool *dropped);

/*  Re-reads and re-hashes every object; quarantines those that fail.
    *report receives {"objects", "bytes", "corrupt": [digest, ...]}.
    BF_OK or BF_EIO. */
int bf_cache_verify (bf_cache_t *self, json_t **report);

/*  Disowns a toolchain (its full id, or a unique prefix of at least 8 hex
    characters): deletes its entries and refuses new ones.  *report
    receives {"toolchain", "entries"}.  BF_OK, BF_ENOTFOUND, BF_EAMBIGUOUS
    or BF_EINVAL (malformed). */
int bf_cache_invalidate (bf_cache_t *self, const char *toolchain, json_t **report);

/*  Statistics: a new object {"entries", "objects", "bytes", "max_size",
    "quarantined", "hits", "misses", "hit_rate", "evictions",
    "corruptions", "saved_ms", "toolchains": [{"toolchain", "entries",
    "bytes", "hits", "misses", "evictions", "corruptions", "disowned",
    "saved_ms"}, ...]}.  saved_ms: the build time the hits avoided (each hit
    adds its entry's build_ms), ms.  Flushes first.  NULL on a database
    error. */
json_t *bf_cache_stats (bf_cache_t *self);

/*  The `limit` most recently used entries, newest first: a new array of
    {"key", "toolchain", "outcome", "top", "device", "created_at",
    "accessed_at", "hits", "size", "build_ms"}. */
json_t *bf_cache_list (bf_cache_t *self, int limit);

/*  The same among the entries whose key is in `keys` (a JSON array of
    strings, borrowed; keys with no entry are skipped). */
json_t *bf_cache_list_keys (bf_cache_t *self, int limit, json_t *keys);

/*  Bytes and objects indexed now. */
void bf_cache_usage (bf_cache_t *self, int64_t *bytes, int64_t *objects);

#endif

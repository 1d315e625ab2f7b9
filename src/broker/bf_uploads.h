/*  bf_uploads - the uploads the broker has asked clients for
    (docs/protocol.md §5.1): a NEED reply records, per client, the digests
    and declared sizes it lists; UPLOAD stores only blobs recorded for the
    sending client, of exactly the recorded size.  Each client's recorded
    bytes (asked for, or uploaded but not yet taken by a job) are bounded
    by a quota; a record lives for a grace period, after which an uploaded
    object that no job took may be collected.

    A client is named by its CURVE key on a CURVE broker, "-" on a plain
    one (every plain client is one client).
    Thread-safety: one thread (the broker's).
*/
#ifndef BF_UPLOADS_H_INCLUDED
#define BF_UPLOADS_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _bf_uploads_t bf_uploads_t;

#define BF_UPLOADS_QUOTA_DEFAULT (256LL << 20)       /* bytes per client */
#define BF_UPLOADS_GRACE_DEFAULT (3600LL * 1000)     /* ms */
#define BF_UPLOADS_RECORDS_MAX   4000                /* digests recorded per client */

/*  A new, empty table: quota in bytes per client (> 0), grace in ms (> 0). */
bf_uploads_t *bf_uploads_new (int64_t quota, int64_t grace_ms);
void bf_uploads_destroy (bf_uploads_t **self_p);

/*  Records that client was asked for `missing` (an array of digests),
    whose declared sizes are looked up in `sizes` (an object digest ->
    integer bytes; a digest without a size counts as 0).  A digest already
    recorded for the client is refreshed, not counted twice.  Atomic:
    BF_OK, or BF_ETOOBIG (nothing recorded) with a one-line detail naming
    the client, the bytes and the quota, when the client's recorded bytes
    (or records) would pass the quota.  now is monotonic ms. */
int bf_uploads_expect (bf_uploads_t *self, const char *client, const char *client_name,
                       json_t *missing, json_t *sizes, int64_t now);

/*  BF_OK when client was asked for digest and len is its declared size;
    else BF_EACCES or BF_EINVAL with a one-line detail.  Changes nothing. */
int bf_uploads_check (bf_uploads_t *self, const char *client, const char *digest, size_t len);

/*  Marks digest as uploaded by client (it still counts against the quota
    until a job takes it or its grace ends). */
void bf_uploads_stored (bf_uploads_t *self, const char *client, const char *digest);

/*  A job of client's now pins `digests` (an array): their records go. */
void bf_uploads_taken (bf_uploads_t *self, const char *client, json_t *digests);

/*  Drops the records whose grace has ended.  Returns a new array of the
    digests among them that were uploaded (candidates for collection:
    the caller drops each that nothing references). */
json_t *bf_uploads_expire (bf_uploads_t *self, int64_t now);

/*  The bytes recorded for client now. */
int64_t bf_uploads_bytes (bf_uploads_t *self, const char *client);

#endif

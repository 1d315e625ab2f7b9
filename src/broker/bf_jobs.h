/*  bf_jobs - the broker's durable job table (SQLite, schema/jobs).

    Every state change is committed (WAL, synchronous=FULL) before the
    function returns, so the broker acknowledges nothing that a kill -9
    could lose.  Job ids are 32 lowercase hex characters: 128 random bits
    from OpenSSL's RAND_bytes.
    States: queued, running, succeeded, failed, cancelled, timed_out.
    Thread-safety: a bf_jobs_t belongs to one thread (the broker loop).
*/
#ifndef BF_JOBS_H_INCLUDED
#define BF_JOBS_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define BF_JOB_ID_LEN     32
#define BF_JOB_PREFIX_MIN 4

typedef struct _bf_jobs_t bf_jobs_t;

/*  Opens (creating, migrating) the database at path.  BF_OK or BF_EIO. */
int bf_jobs_open (bf_jobs_t **out, const char *path);
void bf_jobs_destroy (bf_jobs_t **self_p);

/*  Creates a job from a normalized manifest.  With `hit` (a cache entry
    from bf_cache_get_entry) the job is created finished, as a cache hit;
    otherwise it is queued.  cache_key may be NULL (no toolchain known yet).
    id_out receives the new id (BF_JOB_ID_LEN + 1 bytes).  BF_OK or BF_EIO. */
int bf_jobs_create (bf_jobs_t *self, char *id_out, json_t *manifest, const char *action,
                    const char *cache_key, int priority, json_t *hit);

/*  Resolves a full id or a unique prefix (at least BF_JOB_PREFIX_MIN hex
    chars) into id_out.  BF_OK, BF_EINVAL (malformed), BF_ENOTFOUND or
    BF_EAMBIGUOUS, each with a detail. */
int bf_jobs_resolve (bf_jobs_t *self, char *id_out, const char *prefix);

/*  The job as a JSON object (the fields of `bitfarm status --json`), plus
    "manifest" when with_manifest.  *out is new; caller decrefs.
    BF_OK or BF_ENOTFOUND. */
int bf_jobs_get (bf_jobs_t *self, json_t **out, const char *id, bool with_manifest);

/*  Up to `limit` queued job ids in dispatch order (priority, then FIFO),
    as a new JSON array of strings. */
json_t *bf_jobs_queued (bf_jobs_t *self, int limit);

/*  The most recent jobs first, as a new JSON array of job objects. */
json_t *bf_jobs_list (bf_jobs_t *self, int limit);

/*  queued -> running: increments attempt, records worker, cache key and
    start time.  BF_OK, or BF_EBUSY when the job is not queued. */
int bf_jobs_start (bf_jobs_t *self, const char *id, const char *worker, const char *cache_key);

/*  Records the current stage of a running job. */
int bf_jobs_stage (bf_jobs_t *self, const char *id, const char *stage);

/*  Finishes a job that is not finished yet.  result holds "state",
    optional "failure_class", "stage", "error", "bitstream", "report",
    "log", "cache_hit" (bool).  BF_OK, or BF_EBUSY when already finished
    (a job never records two results). */
int bf_jobs_finish (bf_jobs_t *self, const char *id, json_t *result);

/*  running -> queued (the worker was lost).  BF_OK or BF_EBUSY. */
int bf_jobs_requeue (bf_jobs_t *self, const char *id);

/*  Ids of all jobs in state running, as a new JSON array. */
json_t *bf_jobs_running (bf_jobs_t *self);

/*  Remembers a toolchain identity seen from a worker. */
int bf_jobs_toolchain_seen (bf_jobs_t *self, const char *id, const char *family, json_t *versions);

/*  The most recently seen toolchain of a family into out (65 bytes).
    BF_OK or BF_ENOTFOUND. */
int bf_jobs_toolchain_latest (bf_jobs_t *self, char *out, const char *family);

/*  True when state is a final one. */
bool bf_jobs_state_final (const char *state);

#endif

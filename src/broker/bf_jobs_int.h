/*  bf_jobs_int - bf_jobs' private declarations, shared by bf_jobs.c (the
    writes) and bf_jobs_query.c (the reads).  Not a public interface. */
#ifndef BF_JOBS_INT_H_INCLUDED
#define BF_JOBS_INT_H_INCLUDED

#include "bf_jobs.h"
#include <sqlite3.h>

struct _bf_jobs_t {
    sqlite3 *db;
};

#define BF_JOBS_COLS "id, state, stage, failure_class, priority, attempt, worker, action, " \
               "cache_key, cache_hit, bitstream, report, log, error, submitted_at, " \
               "started_at, finished_at, timeout_ms, max_attempts, not_before, follows, " \
               "tags, manifest, kind, board, after_job, token_hash, bitstream_size, owner, " \
               "owner_name, toolchain, provenance"

/*  Writes attempt row a of job id, inside the caller's transaction. */
int bf_jobs__attempt_insert (bf_jobs_t *self, const char *id, const bf_attempt_t *a);

#endif

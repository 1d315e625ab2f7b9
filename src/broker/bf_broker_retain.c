/*  bf_broker_retain - job history retention on the broker loop
    (--keep-jobs; bf_broker_int.h, docs/protocol.md 7): bounded batches of
    bf_jobs_retain, then the live logs of the jobs removed. */
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <stdlib.h>

#define S_RETAIN_BATCH 64           /* jobs removed per transaction (about 30 ms with a
                                       cold million-job history: make bench 70-history) */
#define S_RETAIN_BATCHES 8          /* transactions per tick, at most */
#define S_RETAIN_BUDGET_MS 20       /* ms of work per tick after which the rest waits */
#define S_RETAIN_EVERY_MAX 60000    /* ms: how often old jobs are looked for, at most */

int
bf_broker_retain_init (bf_broker_t *self)
{
    int rc = BF_OK;
    if (self->cfg.keep_jobs)
        rc = bf_jobs_keep_parse (&self->keep, "--keep-jobs", self->cfg.keep_jobs);
    else
        self->keep = (bf_jobs_keep_t) { .max_age_ms = self->cfg.job_history_ms };
    char keep[64];
    if (rc == BF_OK)
        bf_info ("job history: keeping %s", bf_jobs_keep_text (keep, sizeof keep, &self->keep));
    return rc;
}

void
bf_broker_prune (bf_broker_t *self, int64_t now)
{
    if (self->keep.max_age_ms <= 0 && self->keep.max_count <= 0)
        return;                              /* keep every job */
    int64_t every = S_RETAIN_EVERY_MAX;
    if (self->keep.max_age_ms > 0 && self->keep.max_age_ms / 4 < every)
        every = self->keep.max_age_ms / 4;
    if (self->pruned_at && now < self->pruned_at + every)
        return;
    self->pruned_at = now;
    size_t total = 0;
    for (int batch = 0; batch < S_RETAIN_BATCHES; batch++) {
        json_t *ids = NULL;
        if (bf_jobs_retain (self->jobs, &ids, &self->keep, bf_now_ms (), S_RETAIN_BATCH)
            != BF_OK) {
            bf_warn ("cannot prune the job history: %s", bf_error_last ());
            return;
        }
        size_t i, n = json_array_size (ids);
        json_t *v;
        json_array_foreach (ids, i, v)
            bf_broker_drop_live_log (self, json_string_value (v));
        json_decref (ids);
        total += n;
        if (n < S_RETAIN_BATCH)
            break;
        self->pruned_at = 0;                 /* more to do: at the next tick */
        if (bf_mono_ms () - now >= S_RETAIN_BUDGET_MS)
            break;
    }
    if (total > 0) {
        char keep[64];
        bf_jobs_keep_text (keep, sizeof keep, &self->keep);
        if (self->keep.max_count > 0)
            bf_info ("removed %zu finished job(s) beyond %s, with their events and logs",
                     total, keep);
        else
            bf_info ("removed %zu finished job(s) older than %lld s (--keep-jobs %s), with "
                     "their events and logs", total, (long long) (self->keep.max_age_ms / 1000),
                     keep);
    }
}

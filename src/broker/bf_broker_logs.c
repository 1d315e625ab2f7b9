/*  bf_broker_logs - what the broker keeps of jobs on disk besides the
    database: the modes of its state (nothing for others), live logs
    (STATE/logs/ID.log, 0600, capped as they arrive: bf_broker_wcmd.c), and
    retention: finished jobs older than cfg.job_history_ms are removed with
    their events and live logs (docs/protocol.md 7).  See bf_broker_int.h.
*/
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PRUNE_BATCH 500          /* jobs removed per transaction */
#define S_PRUNE_EVERY_MAX 60000    /* ms: how often old jobs are looked for, at most */

char *
bf_broker_log_path (bf_broker_t *self, const char *id)
{
    return xasprintf ("%s/logs/%s.log", self->state_dir, id);
}

/*  Takes the bits in `drop` off an existing path's mode. */
static int
s_restrict (const char *path, unsigned drop)
{
    struct stat st;
    if (stat (path, &st) < 0)
        return bf_error_set (BF_EIO, "cannot stat '%s': %s", path, strerror (errno));
    if ((st.st_mode & drop) == 0)
        return BF_OK;
    if (chmod (path, st.st_mode & 07777 & ~drop) < 0)
        return bf_error_set (BF_EIO, "cannot chmod '%s': %s", path, strerror (errno));
    bf_info ("'%s' was open to others (mode %03o); now %03o", path, st.st_mode & 0777,
             st.st_mode & 0777 & ~drop);
    return BF_OK;
}

int
bf_broker_state_modes (bf_broker_t *self)
{
    int rc = bf_mkdir_p (self->state_dir, 0700);
    if (rc == BF_OK)
        rc = s_restrict (self->state_dir, 0007);
    char *logs = xasprintf ("%s/logs", self->state_dir);
    if (rc == BF_OK)
        rc = bf_mkdir_p (logs, 0700);
    if (rc == BF_OK)
        rc = s_restrict (logs, 0077);
    free (logs);
    return rc;
}

int
bf_broker_private_file (const char *path)
{
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return bf_error_set (BF_EIO, "cannot open '%s': %s", path, strerror (errno));
    close (fd);
    int rc = s_restrict (path, 0077);
    static const char *const sides[] = { "-wal", "-shm" };
    for (size_t i = 0; i < 2 && rc == BF_OK; i++) {
        char *p = xasprintf ("%s%s", path, sides[i]);
        if (access (p, F_OK) == 0)
            rc = s_restrict (p, 0077);
        free (p);
    }
    return rc;
}

void
bf_broker_drop_live_log (bf_broker_t *self, const char *id)
{
    char *path = bf_broker_log_path (self, id);
    if (unlink (path) < 0 && errno != ENOENT)
        bf_warn ("cannot remove '%s': %s", path, strerror (errno));
    free (path);
}

void
bf_broker_prune (bf_broker_t *self, int64_t now)
{
    int64_t every = self->cfg.job_history_ms / 4;
    if (every > S_PRUNE_EVERY_MAX)
        every = S_PRUNE_EVERY_MAX;
    if (self->pruned_at && now < self->pruned_at + every)
        return;
    self->pruned_at = now;
    int64_t before = bf_now_ms () - self->cfg.job_history_ms;
    size_t total = 0;
    for (int batch = 0; batch < 10; batch++) {   /* the rest at the next tick */
        json_t *ids = NULL;
        if (bf_jobs_prune (self->jobs, &ids, before, S_PRUNE_BATCH) != BF_OK) {
            bf_warn ("cannot prune the job history: %s", bf_error_last ());
            return;
        }
        size_t i, n = json_array_size (ids);
        json_t *v;
        json_array_foreach (ids, i, v)
            bf_broker_drop_live_log (self, json_string_value (v));
        json_decref (ids);
        total += n;
        if (n < S_PRUNE_BATCH)
            break;
        self->pruned_at = 0;
    }
    if (total > 0)
        bf_info ("removed %zu finished job(s) older than %lld s, with their events and logs",
                 total, (long long) (self->cfg.job_history_ms / 1000));
}

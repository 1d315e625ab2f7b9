/*  bf_broker_logs - what the broker keeps of jobs on disk besides the
    database: the modes of its state (nothing for others), live logs
    (STATE/logs/ID.log, 0600, capped as they arrive: bf_broker_wcmd.c);
    retention, which removes them with their jobs, is bf_broker_retain.c.
    See bf_broker_int.h.
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

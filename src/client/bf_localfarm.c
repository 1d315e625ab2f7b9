/*  bf_localfarm - see bf_localfarm.h. */
#include "bf_localfarm.h"
#include "../common/bf_error.h"
#include "../common/bf_spawn.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

char *
bf_localfarm_dir (void)
{
    const char *xdg = getenv ("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/')
        return xasprintf ("%s/bitfarm", xdg);
    const char *home = getenv ("HOME");
    return xasprintf ("%s/.cache/bitfarm", home && *home ? home : "/tmp");
}

static pid_t
s_pid (const char *dir, const char *name)
{
    char *path = xasprintf ("%s/%s.pid", dir, name);
    char *text = NULL;
    pid_t pid = 0;
    if (bf_file_read (&text, NULL, path, 64) == BF_OK) {
        long v = strtol (text, NULL, 10);
        if (v > 1 && kill ((pid_t) v, 0) == 0)
            pid = (pid_t) v;
        free (text);
    }
    free (path);
    return pid;
}

/*  Starts a daemon detached from us (its own session, no terminal, not
    our child: it outlives us), and waits until it has written its pid file
    or exited. */
static int
s_start (const char *dir, const char *name, const char *const *args)
{
    char *prog = bf_sibling_program (name);
    char *log = xasprintf ("%s/%s.log", dir, strcmp (name, "bitfarm-broker") == 0 ? "broker" : "worker");
    const char *argv[16];
    int n = 0;
    argv[n++] = prog;
    for (; args[n - 1]; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    bf_spawn_start_opts_t opts = { .argv = argv, .log_path = log, .detach = true };
    bf_spawn_child_t daemon;
    int rc = bf_spawn_start (&daemon, &opts);
    if (rc != BF_OK)
        rc = bf_error_set (BF_EIO, "%s", bf_error_last ());
    free (prog);
    free (log);
    return rc;
}

static int
s_wait_pid (const char *dir, const char *name, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (s_pid (dir, name))
            return BF_OK;
        struct timespec ts = { 0, 20 * 1000000 };
        nanosleep (&ts, NULL);
    }
    return bf_error_set (BF_EIO, "the local farm's %s did not start; see %s/%s.log", name, dir, name);
}

bool
bf_localfarm_running (void)
{
    char *dir = bf_localfarm_dir ();
    bool up = s_pid (dir, "broker") && s_pid (dir, "worker");
    free (dir);
    return up;
}

int
bf_localfarm_ensure (char **endpoint, bool *started)
{
    char *dir = bf_localfarm_dir ();
    *endpoint = xasprintf ("ipc://%s/broker.sock", dir);
    if (started)
        *started = false;
    int rc = BF_OK;
    if (s_pid (dir, "broker") && s_pid (dir, "worker"))
        goto out;   /* the common case: no lock, no files touched */
    if ((rc = bf_mkdir_p (dir, 0700)) != BF_OK)
        goto out;
    char *lockpath = xasprintf ("%s/farm.lock", dir);
    int lock = open (lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free (lockpath);
    if (lock < 0) {
        rc = bf_error_set (BF_EIO, "cannot open '%s/farm.lock': %s", dir, strerror (errno));
        goto out;
    }
    while (flock (lock, LOCK_EX) < 0 && errno == EINTR)
        ;
    if (!s_pid (dir, "broker")) {
        char *state = xasprintf ("%s/state", dir);
        char *pidf = xasprintf ("%s/broker.pid", dir);
        const char *args[] = { "--listen", *endpoint, "--state-dir", state, "--pid-file", pidf, NULL };
        rc = s_start (dir, "bitfarm-broker", args);
        if (rc == BF_OK)
            rc = s_wait_pid (dir, "broker", 10000);
        free (state);
        free (pidf);
        if (started)
            *started = true;
    }
    if (rc == BF_OK && !s_pid (dir, "worker")) {
        char *work = xasprintf ("%s/work", dir);
        char *pidf = xasprintf ("%s/worker.pid", dir);
        /* One virtual board, standing in for an iCEBreaker (up5k-sg48):
           `submit --program vboard0` shows a build reaching a board. */
        char *cfg = xasprintf ("%s/worker.json", dir);
        static const char s_cfg[] =
            "{\"boards\": [{\"name\": \"vboard0\", \"device\": \"up5k\", "
            "\"package\": \"sg48\", \"virtual\": true}]}\n";
        rc = bf_file_write_atomic (cfg, s_cfg, sizeof s_cfg - 1, 0644);
        const char *args[] = { "--broker", *endpoint, "--work-dir", work, "--pid-file", pidf,
                               "--name", "local", "--config", cfg, NULL };
        if (rc == BF_OK)
            rc = s_start (dir, "bitfarm-worker", args);
        if (rc == BF_OK)
            rc = s_wait_pid (dir, "worker", 60000);
        free (work);
        free (pidf);
        free (cfg);
        if (started)
            *started = true;
    }
    close (lock);
out:
    free (dir);
    return rc;
}

int
bf_localfarm_stop (void)
{
    char *dir = bf_localfarm_dir ();
    pid_t pids[2] = { s_pid (dir, "worker"), s_pid (dir, "broker") };
    free (dir);
    if (!pids[0] && !pids[1])
        return BF_ENOTFOUND;
    for (int i = 0; i < 2; i++) {
        if (!pids[i])
            continue;
        /* The worker drains on the first SIGTERM (its running build may
           finish); after 10 s a second one stops it at once. */
        kill (pids[i], SIGTERM);
        for (int waited = 0; waited < 12000 && kill (pids[i], 0) == 0; waited += 20) {
            if (waited == 10000)
                kill (pids[i], SIGTERM);
            struct timespec ts = { 0, 20 * 1000000 };
            nanosleep (&ts, NULL);
        }
    }
    return BF_OK;
}

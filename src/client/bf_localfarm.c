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

/*  True while process pid runs: not gone, and not a zombie (a daemon is
    not our child; where PID 1 does not reap, as in a bare container or
    `unshare --pid`, a dead one stays a zombie). */
static bool
s_alive (pid_t pid)
{
    if (pid <= 1 || kill (pid, 0) != 0)
        return false;
    char path[64], stat[256];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen (path, "re");
    if (!f)
        return true;   /* no /proc: kill(2) is all we know */
    size_t n = fread (stat, 1, sizeof stat - 1, f);
    fclose (f);
    stat[n] = '\0';
    const char *paren = strrchr (stat, ')');   /* "PID (COMM) STATE ..." */
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

static pid_t
s_pid (const char *dir, const char *name)
{
    char *path = xasprintf ("%s/%s.pid", dir, name);
    char *text = NULL;
    pid_t pid = 0;
    if (bf_file_read (&text, NULL, path, 64) == BF_OK) {
        long v = strtol (text, NULL, 10);
        if (v > 1 && v <= INT_MAX && s_alive ((pid_t) v))
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
s_start (pid_t *out, const char *dir, const char *name, const char *const *args)
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
    else
        *out = daemon.pid;
    free (prog);
    free (log);
    return rc;
}

/*  The last non-empty line of the file at path (at most its last 8 KiB),
    into line (size len); "" when there is none. */
static void
s_last_line (char *line, size_t len, const char *path)
{
    line[0] = '\0';
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[8192];
    off_t size = lseek (fd, 0, SEEK_END);
    off_t from = size > (off_t) sizeof buf - 1 ? size - (off_t) sizeof buf + 1 : 0;
    ssize_t n = pread (fd, buf, sizeof buf - 1, from);
    close (fd);
    if (n <= 0)
        return;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    char *start = memrchr (buf, '\n', (size_t) n);
    start = start ? start + 1 : buf;
    size_t k = strlen (start) < len - 1 ? strlen (start) : len - 1;
    memcpy (line, start, k);
    line[k] = '\0';
}

/*  Waits up to ms for the daemon started as pid to write its pid file;
    a daemon that exits first is reported at once, with its log's last
    line (name: "broker" or "worker"). */
static int
s_wait_pid (const char *dir, const char *name, pid_t pid, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (s_pid (dir, name))
            return BF_OK;
        if (!s_alive (pid) && !s_pid (dir, name)) {
            char *log = xasprintf ("%s/%s.log", dir, name);
            char last[512];
            s_last_line (last, sizeof last, log);
            /* Where bubblewrap cannot run, say how the local farm runs
               anyway: it builds only this user's designs. */
            const char *hint = strstr (last, "cannot sandbox builds")
                               ? "; to build your own designs unconfined here, run `bitfarm "
                                 "farm start --no-sandbox` or set BITFARM_NO_SANDBOX=1"
                               : "";
            int rc = bf_error_set (BF_EIO, "the local farm's %s exited at start: %s (log: %s)%s",
                                   name, last[0] ? last : "no output", log, hint);
            free (log);
            return rc;
        }
        struct timespec ts = { 0, 20 * 1000000 };
        nanosleep (&ts, NULL);
    }
    return bf_error_set (BF_EIO, "the local farm's %s did not start within %d s; see %s/%s.log",
                         name, ms / 1000, dir, name);
}

bool
bf_localfarm_unsandboxed (void)
{
    const char *env = getenv ("BITFARM_NO_SANDBOX");
    if (env && *env && strcmp (env, "0") != 0)
        return true;
    char *dir = bf_localfarm_dir ();
    char *mark = xasprintf ("%s/no-sandbox", dir);
    bool set = access (mark, F_OK) == 0;
    free (mark);
    free (dir);
    return set;
}

int
bf_localfarm_set_unsandboxed (void)
{
    char *dir = bf_localfarm_dir ();
    char *mark = xasprintf ("%s/no-sandbox", dir);
    static const char s_text[] =
        "written by `bitfarm farm start --no-sandbox`: the local farm's worker builds\n"
        "unconfined until `bitfarm farm stop` removes this file\n";
    int rc = bf_mkdir_p (dir, 0700);
    if (rc == BF_OK)
        rc = bf_file_write_atomic (mark, s_text, sizeof s_text - 1, 0600);
    free (mark);
    free (dir);
    return rc;
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
        char *urlf = xasprintf ("%s/http.url", dir);
        /* The HTTP API (docs/http.md): 127.0.0.1:8080 when free, else any
           port; BITFARM_LOCAL_HTTP=ADDR:PORT or off overrides. */
        const char *http = getenv ("BITFARM_LOCAL_HTTP");
        bool off = http && strcmp (http, "off") == 0;
        bool given = http && *http && !off;
        const char *args[] = { "--listen", *endpoint, "--state-dir", state, "--pid-file", pidf,
                               off ? NULL : "--http", given ? http : "127.0.0.1:8080",
                               "--http-url-file", urlf, given ? NULL : "--http-any-port",
                               NULL };
        remove (urlf);
        pid_t pid = 0;
        rc = s_start (&pid, dir, "bitfarm-broker", args);
        free (urlf);
        if (rc == BF_OK)
            rc = s_wait_pid (dir, "broker", pid, 10000);
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
        bool unconfined = bf_localfarm_unsandboxed ();
        const char *args[] = { "--broker", *endpoint, "--work-dir", work, "--pid-file", pidf,
                               "--name", "local", "--config", cfg,
                               unconfined ? "--no-sandbox" : NULL, NULL };
        pid_t pid = 0;
        if (rc == BF_OK)
            rc = s_start (&pid, dir, "bitfarm-worker", args);
        if (rc == BF_OK && unconfined)   /* said once: when this worker starts */
            fprintf (stderr, "bitfarm: warning: the local farm builds UNSANDBOXED (--no-sandbox "
                     "or BITFARM_NO_SANDBOX): yosys and nextpnr run with your rights; it builds "
                     "only your own designs\n");
        if (rc == BF_OK)
            rc = s_wait_pid (dir, "worker", pid, 60000);
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
    char *mark = xasprintf ("%s/no-sandbox", dir);
    remove (mark);   /* farm start --no-sandbox lasts until the farm stops */
    free (mark);
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

char *
bf_localfarm_http_url (void)
{
    char *dir = bf_localfarm_dir ();
    char *path = xasprintf ("%s/http.url", dir);
    char *text = NULL;
    size_t len = 0;
    if (bf_file_read (&text, &len, path, 256) == BF_OK) {
        text[strcspn (text, "\r\n")] = '\0';
        if (!*text) {
            free (text);
            text = NULL;
        }
    }
    else
        text = NULL;
    free (path);
    free (dir);
    return text;
}

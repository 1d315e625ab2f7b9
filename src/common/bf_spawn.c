/*  bf_spawn - see bf_spawn.h. */
#include "bf_spawn.h"
#include "bf_error.h"
#include "bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_LINE_MAX 4096

typedef struct {
    char buf[S_LINE_MAX];
    size_t len;
} s_linebuf_t;

static void
s_feed (s_linebuf_t *lb, const char *data, size_t n, const bf_spawn_opts_t *opts)
{
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n' || lb->len == S_LINE_MAX - 1) {
            lb->buf[lb->len] = '\0';
            if (opts->on_line)
                opts->on_line (opts->arg, lb->buf);
            lb->len = 0;
            if (c == '\n')
                continue;
        }
        lb->buf[lb->len++] = c;
    }
}

int
bf_spawn_run (bf_spawn_result_t *out, const bf_spawn_opts_t *opts)
{
    memset (out, 0, sizeof *out);
    int pfd[2];
    if (pipe2 (pfd, O_CLOEXEC) < 0)
        return bf_error_set (BF_ERROR, "cannot create pipe: %s", strerror (errno));
    int logfd = -1;
    if (opts->log_path) {
        logfd = open (opts->log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (logfd < 0) {
            int e = errno;
            close (pfd[0]);
            close (pfd[1]);
            return bf_error_set (BF_ERROR, "cannot open '%s': %s", opts->log_path, strerror (e));
        }
    }
    /* An exec failure is reported through a second CLOEXEC pipe. */
    int epfd[2];
    if (pipe2 (epfd, O_CLOEXEC) < 0) {
        int e = errno;
        close (pfd[0]);
        close (pfd[1]);
        if (logfd >= 0)
            close (logfd);
        return bf_error_set (BF_ERROR, "cannot create pipe: %s", strerror (e));
    }
    int64_t start = bf_mono_ms ();
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        int e = errno;
        close (pfd[0]); close (pfd[1]); close (epfd[0]); close (epfd[1]);
        if (logfd >= 0)
            close (logfd);
        return bf_error_set (BF_ERROR, "cannot fork: %s", strerror (e));
    }
    if (pid == 0) {
        /* child: only async-signal-safe calls from here on */
        setpgid (0, 0);
        signal (SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);   /* the caller's thread may block some */
        /* If the worker dies (kill -9), the tool dies with it instead of
           building on for nobody.  (Linux; the check closes the race with
           a parent that died before the prctl.) */
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        const bf_spawn_limits_t *l = opts->limits;
        if (l) {
            struct rlimit r;
            if (l->cpu_s > 0) {
                r.rlim_cur = (rlim_t) l->cpu_s;
                r.rlim_max = (rlim_t) l->cpu_s + 5;
                setrlimit (RLIMIT_CPU, &r);
            }
            if (l->as_bytes > 0) {
                r.rlim_cur = r.rlim_max = (rlim_t) l->as_bytes;
                setrlimit (RLIMIT_AS, &r);
            }
            if (l->fsize_bytes > 0) {
                r.rlim_cur = r.rlim_max = (rlim_t) l->fsize_bytes;
                setrlimit (RLIMIT_FSIZE, &r);
            }
            if (l->nproc > 0) {
                r.rlim_cur = r.rlim_max = (rlim_t) l->nproc;
                setrlimit (RLIMIT_NPROC, &r);
            }
        }
        int devnull = open ("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2 (devnull, STDIN_FILENO);
        dup2 (pfd[1], STDOUT_FILENO);
        dup2 (pfd[1], STDERR_FILENO);
        int err = 0;
        if (opts->cwd && chdir (opts->cwd) < 0)
            err = errno;
        else {
            execvp (opts->argv[0], (char *const *) opts->argv);
            err = errno;
        }
        ssize_t w = write (epfd[1], &err, sizeof err);
        (void) w;
        _exit (127);
    }
    setpgid (pid, pid);   /* both sides set it, so there is no race */
    close (pfd[1]);
    close (epfd[1]);
    int exec_err = 0;
    ssize_t en;
    do
        en = read (epfd[0], &exec_err, sizeof exec_err);
    while (en < 0 && errno == EINTR);
    close (epfd[0]);
    if (en == (ssize_t) sizeof exec_err) {
        close (pfd[0]);
        if (logfd >= 0)
            close (logfd);
        waitpid (pid, NULL, 0);
        return bf_error_set (BF_ERROR, "cannot run '%s': %s", opts->argv[0], strerror (exec_err));
    }

    s_linebuf_t *lb = xcalloc (1, sizeof *lb);
    char chunk[8192];
    bool killed = false;
    for (;;) {
        struct pollfd p = { .fd = pfd[0], .events = POLLIN };
        int prc = poll (&p, 1, 100);
        if (prc < 0 && errno != EINTR)
            break;
        if (prc > 0) {
            ssize_t n = read (pfd[0], chunk, sizeof chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;   /* EOF: every writer of the pipe is gone */
            if (logfd >= 0)
                bf_log_append_capped (logfd, chunk, (size_t) n, opts->log_max);
            s_feed (lb, chunk, (size_t) n, opts);
        }
        if (!killed) {
            if (opts->timeout_ms > 0 && bf_mono_ms () - start >= opts->timeout_ms) {
                out->timed_out = true;
                killed = true;
            }
            else if (opts->cancel && atomic_load (opts->cancel)) {
                out->cancelled = true;
                killed = true;
            }
            if (killed)
                kill (-pid, SIGKILL);
        }
    }
    if (lb->len > 0) {
        lb->buf[lb->len] = '\0';
        if (opts->on_line)
            opts->on_line (opts->arg, lb->buf);
    }
    free (lb);
    close (pfd[0]);
    int status = 0;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    kill (-pid, SIGKILL);   /* anything the tool left behind in its group */
    if (logfd >= 0)
        close (logfd);
    out->elapsed_ms = bf_mono_ms () - start;
    if (WIFEXITED (status)) {
        out->exited = true;
        out->exit_code = WEXITSTATUS (status);
    }
    else if (WIFSIGNALED (status))
        out->term_signal = WTERMSIG (status);
    return BF_OK;
}

/* ---------------------------------------------------------------------- */
/*  Long-lived children                                                     */

/*  What a child tells its parent through the status pipe: the daemon's pid
    (detached: the intermediate process sends it) or the exec's errno.
    Each record is one write(2) of less than PIPE_BUF, so records of two
    writers never interleave. */
typedef struct {
    int tag;                   /* 'P' or 'E' */
    int value;
} s_status_t;

static void
s_status_send (int fd, int tag, int value)
{
    s_status_t st = { tag, value };
    ssize_t w = write (fd, &st, sizeof st);
    (void) w;
}

/*  In the child (async-signal-safe calls only): the descriptors, the
    directory and the exec.  Returns only on failure, having reported it. */
static void
s_child_exec (const bf_spawn_start_opts_t *opts, int devnull, int logfd, int status_fd)
{
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);   /* the caller's thread may block some */
    dup2 (devnull, STDIN_FILENO);
    if (logfd >= 0) {
        dup2 (logfd, STDOUT_FILENO);
        dup2 (logfd, STDERR_FILENO);
    }
    if (opts->cwd && chdir (opts->cwd) < 0) {
        s_status_send (status_fd, 'E', errno);
        return;
    }
    execvp (opts->argv[0], (char *const *) opts->argv);
    s_status_send (status_fd, 'E', errno);
}

/*  The child's side of bf_spawn_start; never returns. */
static void
s_child (const bf_spawn_start_opts_t *opts, pid_t parent, int devnull, int logfd, int status_fd)
{
    if (opts->detach) {
        /* A new session, then a second fork so the daemon is not the
           caller's child: it is reparented when this process exits. */
        setsid ();
        pid_t daemon = fork ();
        if (daemon < 0) {
            s_status_send (status_fd, 'E', errno);
            _exit (127);
        }
        if (daemon > 0) {
            s_status_send (status_fd, 'P', (int) daemon);
            _exit (0);
        }
    }
    else {
        setpgid (0, 0);
        if (opts->pdeath_signal) {
            prctl (PR_SET_PDEATHSIG, opts->pdeath_signal);
            if (getppid () != parent)
                _exit (127);   /* the parent died before the prctl */
        }
    }
    s_child_exec (opts, devnull, logfd, status_fd);
    _exit (127);
}

int
bf_spawn_start (bf_spawn_child_t *out, const bf_spawn_start_opts_t *opts)
{
    memset (out, 0, sizeof *out);
    if (opts->detach && opts->pdeath_signal)
        return bf_error_set (BF_EINVAL, "a detached child cannot have a parent-death signal");
    int rc = BF_OK;
    int devnull = -1, logfd = -1, spfd[2] = { -1, -1 };
    devnull = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        rc = bf_error_set (BF_ERROR, "cannot open '/dev/null': %s", strerror (errno));
        goto out;
    }
    if (opts->log_path) {
        logfd = open (opts->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (logfd < 0) {
            rc = bf_error_set (BF_ERROR, "cannot open '%s': %s", opts->log_path, strerror (errno));
            goto out;
        }
    }
    if (pipe2 (spfd, O_CLOEXEC) < 0) {
        rc = bf_error_set (BF_ERROR, "cannot create pipe: %s", strerror (errno));
        goto out;
    }
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        rc = bf_error_set (BF_ERROR, "cannot start '%s': %s", opts->argv[0], strerror (errno));
        goto out;
    }
    if (pid == 0)
        s_child (opts, parent, devnull, logfd, spfd[1]);
    if (!opts->detach)
        setpgid (pid, pid);   /* both sides set it, so there is no race */
    close (spfd[1]);
    spfd[1] = -1;
    /* EOF once every copy of the write end is closed: by the exec (it is
       CLOEXEC) or by the exit of a process that failed. */
    pid_t daemon = 0;
    int exec_err = 0;
    s_status_t st;
    ssize_t n;
    for (;;) {
        n = read (spfd[0], &st, sizeof st);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t) sizeof st)
            break;
        if (st.tag == 'P')
            daemon = (pid_t) st.value;
        else if (st.tag == 'E')
            exec_err = st.value;
    }
    if (opts->detach)
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;   /* the intermediate process, which exits at once */
    if (exec_err || (opts->detach && daemon <= 0)) {
        if (!opts->detach)
            while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
                ;
        rc = bf_error_set (BF_ERROR, "cannot run '%s': %s", opts->argv[0],
                           strerror (exec_err ? exec_err : ECHILD));
        goto out;
    }
    out->pid = opts->detach ? daemon : pid;
    out->detached = opts->detach;
out:
    if (devnull >= 0)
        close (devnull);
    if (logfd >= 0)
        close (logfd);
    if (spfd[0] >= 0)
        close (spfd[0]);
    if (spfd[1] >= 0)
        close (spfd[1]);
    return rc;
}

bool
bf_spawn_alive (const bf_spawn_child_t *child)
{
    if (child->pid <= 0)
        return false;
    if (child->detached)
        return kill (child->pid, 0) == 0 || errno == EPERM;
    siginfo_t si;
    memset (&si, 0, sizeof si);
    int r;
    do
        r = waitid (P_PID, (id_t) child->pid, &si, WEXITED | WNOHANG | WNOWAIT);
    while (r < 0 && errno == EINTR);
    return r == 0 && si.si_pid == 0;
}

int
bf_spawn_stop (bf_spawn_child_t *child, int64_t timeout_ms)
{
    if (child->pid <= 0)
        return BF_OK;
    int rc = BF_OK;
    /* A detached child is not in a group of its own (it shares the group
       of the session's first, exited, process): signal it alone. */
    pid_t target = child->detached ? child->pid : -child->pid;
    if (bf_spawn_alive (child)) {
        kill (target, SIGTERM);
        int64_t start = bf_mono_ms ();
        while (bf_spawn_alive (child) && bf_mono_ms () - start < timeout_ms) {
            struct timespec ts = { 0, 10 * 1000000 };
            nanosleep (&ts, NULL);
        }
        if (bf_spawn_alive (child)) {
            kill (target, SIGKILL);
            rc = BF_ETIMEDOUT;
        }
    }
    if (!child->detached) {
        /* The exited leader (not yet reaped) keeps its group id in use, so
           this cannot reach a stranger: whatever it left in its group. */
        kill (-child->pid, SIGKILL);
        while (waitpid (child->pid, &child->status, 0) < 0 && errno == EINTR)
            ;
        child->reaped = true;
    }
    else   /* SIGKILLed: gone in a moment (its new parent reaps it) */
        for (int i = 0; i < 100 && bf_spawn_alive (child); i++) {
            struct timespec ts = { 0, 10 * 1000000 };
            nanosleep (&ts, NULL);
        }
    child->pid = 0;
    return rc;
}

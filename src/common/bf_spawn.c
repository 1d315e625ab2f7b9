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
        logfd = open (opts->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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
                bf_write_all (logfd, chunk, (size_t) n);
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

/*  bf_spawn - run one tool as a subprocess (after git's run-command.h),
    and start and stop long-lived children (below).  The only module that
    creates processes.

    bf_spawn_run: the tool gets an argv vector (never a shell string), its
    own process group, stdin from /dev/null, and stdout+stderr captured into one pipe.
    Output is appended to a log file (up to a cap) and handed line by line
    to a callback.
    On timeout or cancellation the whole process group is killed with
    SIGKILL; after the tool exits, any process it left in its group is
    killed too, so no tool outlives its run.
    Thread-safety: bf_spawn_run may be called from several threads at once;
    each call blocks its thread until the tool has exited.
*/
#ifndef BF_SPAWN_H_INCLUDED
#define BF_SPAWN_H_INCLUDED

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef void (bf_spawn_line_fn) (void *arg, const char *line);

/*  Resource limits (setrlimit(2)) set in the child before it execs; 0
    leaves a limit as inherited.  Each is both the soft and the hard limit,
    except CPU time, whose hard limit is 5 s above the soft one so the tool
    gets SIGXCPU (not SIGKILL) and the cause can be told. */
typedef struct {
    int64_t cpu_s;             /* RLIMIT_CPU: CPU seconds */
    int64_t as_bytes;          /* RLIMIT_AS: address space, bytes */
    int64_t fsize_bytes;       /* RLIMIT_FSIZE: largest file written, bytes */
    int64_t nproc;             /* RLIMIT_NPROC: processes and threads of the user
                                  (not enforced for root) */
} bf_spawn_limits_t;

typedef struct {
    const char *const *argv;   /* argv[0] is looked up in PATH; NULL-terminated */
    const char *cwd;           /* working directory, or NULL to inherit */
    const char *log_path;      /* file to append all output to (created 0600), or NULL */
    uint64_t log_max;          /* cap on the log file's output, bytes; past it the
                                  marker line of bf_log_append_capped (bf_util.h) and
                                  nothing more goes to the file.  on_line still sees
                                  every line.  0: no cap */
    int64_t timeout_ms;        /* wall-clock limit in ms; 0 = none */
    bf_spawn_line_fn *on_line; /* called for each output line (no newline), or NULL */
    void *arg;                 /* passed to on_line */
    atomic_int *cancel;        /* when it becomes non-zero the tool is killed; may be NULL */
    const bf_spawn_limits_t *limits;  /* NULL: none */
} bf_spawn_opts_t;

typedef struct {
    bool exited;        /* true: exit_code is valid; false: killed by term_signal */
    int exit_code;
    int term_signal;
    bool timed_out;     /* killed because timeout_ms passed */
    bool cancelled;     /* killed because *cancel became non-zero */
    int64_t elapsed_ms;
} bf_spawn_result_t;

/*  Runs the tool to completion.  Returns BF_OK when the tool ran (whatever
    its exit status: look at *out), or BF_ERROR with a detail when it could
    not be started (missing binary, no pipe, no new process). */
int bf_spawn_run (bf_spawn_result_t *out, const bf_spawn_opts_t *opts);

/*  Long-lived children: a server the caller runs beside itself (a virtual
    board) or a daemon that outlives it (the local farm's broker and
    worker).  The child gets an argv vector, stdin from /dev/null, stdout
    and stderr appended to a log file (or inherited), no blocked signals,
    and its own process group; it is not waited for.  Unlike bf_spawn_run
    nothing is captured and there is no time limit. */
typedef struct {
    const char *const *argv;   /* argv[0] is looked up in PATH; NULL-terminated */
    const char *cwd;           /* working directory, or NULL to inherit */
    const char *log_path;      /* stdout and stderr are appended to it (created 0600),
                                  or NULL to inherit the caller's */
    int pdeath_signal;         /* sent to the child when the caller's thread dies
                                  (PR_SET_PDEATHSIG), e.g. SIGTERM; 0 = none */
    bool detach;               /* a daemon: started through an intermediate process
                                  in a new session (setsid), so it is not the
                                  caller's child and outlives it (pdeath_signal must
                                  be 0); it cannot be reaped, only signalled */
} bf_spawn_start_opts_t;

/*  A started child.  Embedded by value; zero-initialise it. */
typedef struct {
    pid_t pid;                 /* the child (and its process group, unless detached);
                                  0 when none */
    bool detached;
    bool reaped;               /* bf_spawn_stop waited for it: status is valid */
    int status;                /* its waitpid(2) status, once reaped */
} bf_spawn_child_t;

/*  Starts a child.  On BF_OK the exec has happened (a missing binary is
    reported here, not by the child's exit).  Returns BF_OK with *out set,
    BF_EINVAL (detach with pdeath_signal) or BF_ERROR with a detail ("cannot
    run 'x': No such file or directory").  A child that is not detached
    must be stopped with bf_spawn_stop, even after it has exited (to reap
    it).  Thread-safety: as bf_spawn_run; pdeath_signal follows the
    calling thread, so start long-lived children from the main thread. */
int bf_spawn_start (bf_spawn_child_t *out, const bf_spawn_start_opts_t *opts);

/*  True while the child runs (an exited one, not yet reaped, is not
    running).  Never blocks, never reaps. */
bool bf_spawn_alive (const bf_spawn_child_t *child);

/*  Stops the child: SIGTERM to its process group (to the process alone
    when detached), up to timeout_ms for it to exit, then SIGKILL to the
    group; then anything left in the group is killed and the child reaped
    (status in child->status; pid set to 0).  A child already gone is only
    reaped.  Idempotent (pid 0: nothing to do).  Returns BF_OK when it
    ended by itself or on SIGTERM, BF_ETIMEDOUT when it had to be killed. */
int bf_spawn_stop (bf_spawn_child_t *child, int64_t timeout_ms);

#endif

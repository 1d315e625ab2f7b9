/*  bf_spawn - run one tool as a subprocess (after git's run-command.h).

    The tool gets an argv vector (never a shell string), its own process
    group, stdin from /dev/null, and stdout+stderr captured into one pipe.
    Output is appended to a log file and handed line by line to a callback.
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
    const char *log_path;      /* file to append all output to, or NULL */
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
    not be started (missing binary, no pipe, fork failure). */
int bf_spawn_run (bf_spawn_result_t *out, const bf_spawn_opts_t *opts);

#endif

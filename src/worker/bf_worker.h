/*  bf_worker - the worker daemon: registers with a broker, heartbeats,
    runs build jobs (bf_flow) in fresh job directories, one thread per
    running job, and streams stages, logs and results back
    (docs/protocol.md).  Inputs arrive over ZeroMQ only: there is no
    shared file system between broker and workers.

    Each worker keeps a bounded local cache (L1, the same bf_cache store as
    the broker's L2) of the inputs it has received and the results it has
    built.  It asks the broker (WANT) only for inputs its L1 lacks, and
    answers a job whose cache key its L1 holds at once, without running a
    tool and without downloading anything.

    Boards declared in the config file (bf_board.h) take program jobs: the
    bitstream comes from L1 or by WANT like any input, openFPGALoader loads
    it under the job's time limit, and the outcome is judged by
    bf_board_classify (plus the XVC DONE check).  One job per board at a
    time: a program job for a board that is still busy waits in the worker
    until the board is free.  Program jobs do not use build slots.
    Virtual boards are bitfarm-vboard processes the worker starts (state in
    WORK_DIR/boards/NAME.json) and stops.
*/
#ifndef BF_WORKER_H_INCLUDED
#define BF_WORKER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "../cache/bf_cache.h"
#include "../common/bf_spawn.h"

typedef struct {
    const char *broker;          /* ZeroMQ endpoint of the broker */
    const char *work_dir;        /* job directories and the toolchain memo; created */
    const char *name;            /* shown in `bitfarm workers`; default host:pid */
    int slots;                   /* jobs at once; default 1 */
    int heartbeat_ms;            /* default 1000 */
    int liveness;                /* default 3 */
    bool keep_jobs;              /* keep job directories after the job */
    const char *cache_dir;       /* the L1 cache; default WORK_DIR/cache */
    bf_cache_opts_t cache;       /* the L1's size cap (0: the default, 1 GiB) and
                                    network-fs override */
    const char *const *tags;     /* NULL-terminated tags jobs can require
                                    (bf_tag_valid); NULL = none */
    const char *config_file;     /* JSON config declaring boards (bf_board.h), or NULL */
    const char *vboard_bin;      /* bitfarm-vboard for virtual boards; NULL: the one
                                    beside this executable, else PATH */
    const char *tools_dir;       /* run yosys, yosys-abc, nextpnr-ice40 and icepack from this
                                    directory (--tools), or NULL: from PATH */
    bool no_sandbox;             /* run the build tools unconfined (bf_sandbox.h); the
                                    broker shows the worker as unsandboxed */
    bf_spawn_limits_t limits;    /* per tool run; 0 fields: bf_sandbox.h's defaults */
    uint64_t job_log_max;        /* cap on a job's log (build.log and the LOG stream),
                                  bytes; 0: BF_JOB_LOG_MAX_DEFAULT (bf_config.h) */
    const char *cert_path;       /* CURVE: this worker's NAME.key_secret, or NULL (plain) */
    const char *broker_key_path; /* CURVE: the broker's NAME.key; set with cert_path */
} bf_worker_config_t;

typedef struct _bf_worker_t bf_worker_t;

/*  Identifies the toolchain, prepares the work directory, and (unless
    config->no_sandbox) checks that bubblewrap can sandbox builds here.
    BF_OK with *out set, or an error with a detail (bf_error_last). */
int bf_worker_new (bf_worker_t **out, const bf_worker_config_t *config);

/*  A signal handler for SIGINT and SIGTERM (install it with
    zsys_handler_set after zsys_init).  The first signal drains the worker:
    it tells the broker DRAIN, takes no new jobs, lets the running ones
    finish and their results be acknowledged, then bf_worker_run returns.
    A second signal stops it at once: running builds are killed and the
    broker retries them.  Async-signal-safe. */
void bf_worker_signal (int sig);

/*  Serves until drained or stopped (see bf_worker_signal; with CZMQ's own
    handler installed instead, the first signal stops it at once).
    Returns BF_OK, or BF_EACCES with a detail when the broker refused this
    worker (its CURVE key at the handshake, or its role: DISCONNECT with
    "refused"); then it does not retry. */
int bf_worker_run (bf_worker_t *self);

void bf_worker_destroy (bf_worker_t **self_p);

#endif

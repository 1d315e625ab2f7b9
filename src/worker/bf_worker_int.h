/*  bf_worker_int - what the worker's own files share (not for callers; the
    API is bf_worker.h).

    The worker is one module in four files, one job each, plus the virtual
    boards (bf_vboards.h):
        bf_worker.c          the broker session: connect and READY,
                             heartbeats, reconnects, drain, and the
                             dispatch of the broker's commands (one table)
        bf_worker_job.c      the job lifecycle: JOB, WANT/INPUTS, the L1
                             cache, starting a job's thread, relaying its
                             messages, results kept until ACK, CANCEL
        bf_worker_build.c    the build thread (bf_flow), and what every job
                             thread shares: its log stream and its RESULT
        bf_worker_program.c  the program thread (openFPGALoader, DONE check)
        bf_worker_regio.c    register requests (REGIO): a queue per board, a
                             thread per request over its bridge (bf_bridge.h)
    Functions here are named bf_worker__name (two underscores: internal).
    Everything but the thread side (bf_worker__*_actor and the functions
    they call, marked "job thread") runs in the worker's main thread.
*/
#ifndef BF_WORKER_INT_H_INCLUDED
#define BF_WORKER_INT_H_INCLUDED

#include "bf_worker.h"
#include "bf_board.h"
#include "bf_sandbox.h"
#include "../common/bf_toolchain.h"
#include "bf_vboards.h"
#include "bf_simboard.h"
#include "../cache/bf_janitor.h"
#include "../common/bf_curve.h"
#include "../common/bf_manifest.h"
#include "../common/bf_proto.h"
#include "../common/bf_regio.h"

#include <czmq.h>
#include <jansson.h>
#include <stdatomic.h>

#define BF_WORKER__LOG_FLUSH_BYTES 16384
#define BF_WORKER__LOG_FLUSH_MS    250
#define BF_WORKER__RESULT_LOG_MAX  ((64u << 20) + 4096)  /* bytes of a log read for a
                                                          RESULT: the largest cap, and
                                                          the marker */

/*  One job: while it runs, its thread (a zactor) and what the thread
    needs.  The main thread owns it; the thread reads the fields set before
    it started and writes only its log buffer and stage. */
typedef struct {
    char id[40];
    int64_t attempt;             /* JOB's "attempt", echoed in RESULT (1, 2, ...) */
    char cache_key[BF_SHA256_HEX_LEN + 1];   /* the broker's key, echoed in RESULT */
    char l1_key[BF_SHA256_HEX_LEN + 1];      /* this worker's key, for its L1 */
    char *job_dir;
    bf_manifest_t manifest;
    json_t *inputs;              /* distinct input digests */
    bool wanting;                /* WANT sent; waiting for INPUTS */
    int64_t timeout_ms;
    atomic_int cancel;
    zactor_t *actor;
    /* the thread's log buffer */
    char *logbuf;
    size_t loglen;
    uint64_t log_max;            /* cap on the log (build.log and the LOG stream) */
    uint64_t log_streamed;       /* bytes of log lines streamed so far */
    int64_t log_flushed_at;
    zsock_t *pipe;
    char stage[16];
    const bf_sandbox_t *sandbox; /* the worker's, for builds */
    const bf_toolchain_t *toolchain; /* the worker's, for builds */
    /* program jobs */
    const bf_board_t *board;     /* NULL for a build */
    char bitstream[BF_SHA256_HEX_LEN + 1];
    uint64_t bitstream_size;
    bool board_wait;             /* inputs here; waiting for the board to be free */
    bool has_model;              /* a simulated board: manifest is the build's, its inputs
                                    in job_dir/src (bf_simboard.h) */
    const char *work_dir;        /* the worker's (models/ for a simulated board) */
    char model_key[BF_SHA256_HEX_LEN + 1];   /* the cache key the model's design had */
    bool model_ready;            /* set by the program thread: the model is built */
    char model_error[512];       /* ... or why there is none */
} bf_worker__job_t;

/*  A register request (REGIO, bf_worker_regio.c): queued for its board,
    then run by its thread, which writes only fd, rc, error, cls,
    wire_free and the batch's results, before its one signal. */
#define BF_REGIO_REQ_LEN        32       /* the broker's request id: hex */
#define BF_WORKER__REGIO_QUEUE  8        /* requests waiting per board */
typedef struct {
    char req[BF_REGIO_REQ_LEN + 1];
    const bf_board_t *board;
    bf_regio_batch_t batch;
    int64_t deadline;            /* monotonic ms */
    int fd;                      /* a virtual board's stream (bf_simboard_connect); -1: the
                                    thread opens board->uart */
    zactor_t *actor;             /* NULL while queued */
    bool done;                   /* its signal was read */
    atomic_int cancel;
    int rc;
    char error[BF_REGIO_ERROR_MAX];
    const char *cls;             /* BF_REGIO_CLASS_* (static) */
    int64_t wire_free;           /* the board's bf_bridge_opts_t.wire_free: in, then out */
} bf_worker__regio_t;

/*  A result sent to the broker and not yet acknowledged (ACK). */
typedef struct {
    char id[40];
    int64_t attempt;             /* the attempt the result is for */
    zmsg_t *msg;                 /* the whole RESULT message, kept to send again */
} bf_worker__pending_t;

struct _bf_worker_t {
    bf_worker_config_t cfg;
    char *work_dir;
    char *name;
    json_t *tags;
    bf_toolchain_t tc;
    zsock_t *dealer;
    struct _bf_rxguard_t *guard; /* bounds what the broker's connection makes libzmq
                                   hold (bf_rxguard.h); NULL with CURVE */
    zpoller_t *poller;
    zlistx_t *jobs;              /* bf_worker__job_t */
    zlistx_t *pending;           /* bf_worker__pending_t */
    zlistx_t *regio;             /* bf_worker__regio_t: queued and running */
    int64_t heartbeat_at;        /* monotonic ms */
    int64_t broker_expires;      /* monotonic ms: the broker is presumed lost after this */
    int64_t reconnect_at;        /* monotonic ms of the next reconnect; 0 = none planned */
    int64_t reconnect_ivl;       /* ms: 1 s doubling to S_RECONNECT_MAX */
    bool draining;
    int64_t drain_deadline;      /* monotonic ms: give up waiting for ACKs */
    bf_cache_t *l1;              /* the local cache */
    bf_janitor_t *janitor;       /* its eviction thread */
    bf_board_t *boards;          /* from the config file */
    int nboards;
    int64_t *wire_free;          /* per board: when its last register request's writes are
                                    off the wire (bf_bridge.h); NULL without boards */
    bf_vboards_t *vboards;       /* the bitfarm-vboard processes of virtual boards */
    bf_simboards_t *sims;        /* their simulation models (bf_simboard.h) */
    bf_sandbox_t sandbox;        /* where build tools run */
    bf_curve_t *curve;           /* CURVE to the broker; NULL: plain */
    char *refused;               /* the broker refused us, and why: stop, do not retry */
};

/* bf_worker.c */

/*  Sends one message to the broker (body borrowed; *blobs_p, if given,
    taken).  A failed send is logged at debug level and dropped: the
    protocol recovers (heartbeats, READY, results kept until ACK). */
void bf_worker__send (bf_worker_t *self, const char *command, json_t *body, zmsg_t **blobs_p);

/* bf_worker_job.c: the broker's commands about jobs (msg borrowed) */
void bf_worker__on_job (bf_worker_t *self, bf_msg_t *msg);
void bf_worker__on_inputs (bf_worker_t *self, bf_msg_t *msg);
void bf_worker__on_cancel (bf_worker_t *self, bf_msg_t *msg);
void bf_worker__on_ack (bf_worker_t *self, bf_msg_t *msg);

/*  A message from a job's thread: LOG is relayed, RESULT stored in L1
    (builds), kept until ACK and sent; then the job is freed. */
void bf_worker__on_actor (bf_worker_t *self, bf_worker__job_t *job);

/*  READY's "jobs": a new array of {"job", "done"} for every job running
    (done false) or holding an unacknowledged result (done true). */
json_t *bf_worker__held_jobs (bf_worker_t *self);

/*  After a reconnect: the unacknowledged results again, and the WANTs a
    lost socket may have swallowed. */
void bf_worker__resend (bf_worker_t *self);

/*  Kills every running job and waits for its thread to finish. */
void bf_worker__stop_jobs (bf_worker_t *self);

/*  Frees the unacknowledged results (at destroy). */
void bf_worker__pending_free (bf_worker_t *self);

/*  True when a program job is loading the board (its id into job, 40
    bytes); the board's next program job that waits for it starts, when
    none loads and no register request runs. */
bool bf_worker__board_loading (bf_worker_t *self, const bf_board_t *board, char *job);
void bf_worker__board_next (bf_worker_t *self, const bf_board_t *board);

/* bf_worker_regio.c: register requests */
void bf_worker__on_regio (bf_worker_t *self, bf_msg_t *msg);
/*  True when a request runs on the board. */
bool bf_worker__regio_busy (bf_worker_t *self, const bf_board_t *board);
/*  The board's next queued request starts (or is refused: it is loading). */
void bf_worker__regio_next (bf_worker_t *self, const bf_board_t *board);
/*  which is a request's thread that ended: answers the broker and
    starts what waits for the board.  False when it is no request's. */
bool bf_worker__regio_actor (bf_worker_t *self, void *which);
/*  Cancels and ends every request (at stop). */
void bf_worker__regio_stop (bf_worker_t *self);

/* bf_worker_build.c: the job threads (job thread) */

/*  The start of a job thread: its log buffer, then the signal zactor_new
    waits for.  Returns the job (args). */
bf_worker__job_t *bf_worker__actor_begin (zsock_t *pipe, void *args);

/*  The end of a job thread: sends RESULT (body and blobs are taken) to
    the main thread, frees the log buffer, and waits for $TERM. */
void bf_worker__actor_finish (bf_worker__job_t *job, zsock_t *pipe, json_t *body, zmsg_t *blobs);

/*  Streams the log: a LOG message to the main thread when forced, or when
    enough bytes or time have gathered. */
void bf_worker__flush_log (bf_worker__job_t *job, bool force);

/*  bf_flow/bf_spawn callbacks (arg is the job): a new stage, a log line. */
void bf_worker__on_stage (void *arg, const char *stage);
void bf_worker__on_line (void *arg, const char *line);

/*  Adds a file as a blob and its digest to body[field]; nothing when the
    file cannot be read. */
void bf_worker__attach (json_t *body, zmsg_t *blobs, const char *field, const char *path);

/*  The threads: a build (bf_flow_run) and a board load. */
void bf_worker__build_actor (zsock_t *pipe, void *args);
void bf_worker__program_actor (zsock_t *pipe, void *args);

#endif

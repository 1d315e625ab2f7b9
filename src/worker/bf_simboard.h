/*  bf_simboard - simulated boards: a virtual board that, once programmed,
    runs the design it was given in Verilator, with the board profile's
    UART pins on a unix socket that the register bridge connects to as it
    would open a real board's serial port (docs/regio.md).

    Which model: the design's own sources, with bitfarm's iCE40 cell
    models (gateware/sim).  The broker sends a program job for a virtual
    board the manifest of the cache entry that built its bitstream
    ("model", docs/protocol.md 9); the worker stages its inputs beside
    the bitstream (JOB_DIR/src) and, once the load succeeded, builds the
    model (bf_simboard_build).  A bitstream with no such entry (one sent
    as a file, or whose entry was evicted) loads, but its board answers
    register I/O with "no simulation model" and the reason.

    Where things are, under the worker's WORK_DIR:
      models/BITSTREAM-KEY-TOOLCHAIN/  a built model (bf_simboard_model_dir): model (the executable),
                                    src/ (the design's files: $readmem
                                    data is read at start), model.json
                                    {"divisor", "clk_hz", "cwd", "top"};
                                    the newest BF_SIMBOARD_MODELS_MAX kept
      boards/NAME.sim/              the running copy: model, src/,
                                    board.sock (the UART), model.log;
                                    nomodel.txt instead when the design on
                                    the board has no model (why)
    The data bitfarm ships (the harness src/vsim/bf_vsim_main.cpp,
    gateware/sim) is found by bf_datadir (src/common/bf_datadir.h).

    Sandbox: Verilator runs $system() from user Verilog, so the model's
    compile and its run both happen inside the worker's bubblewrap
    sandbox with the builds' limits (bf_sandbox_argv), the compile with
    the job's directory writable, the run with boards/NAME.sim writable.

    Thread-safety: bf_simboard_build runs in a job thread and touches only
    its job's directory and models/; the bf_simboards_t functions run in
    the worker's main thread (a model's parent-death signal follows the
    thread that started it), except bf_simboard_connect, which any thread
    may call: it only reads files and connects to a socket.
*/
#ifndef BF_SIMBOARD_H_INCLUDED
#define BF_SIMBOARD_H_INCLUDED

#include "bf_board.h"
#include "bf_sandbox.h"
#include "../common/bf_manifest.h"
#include "../common/bf_spawn.h"

#include <stdatomic.h>
#include <stdbool.h>

#define BF_SIMBOARD_MODELS_MAX    8        /* built models kept per worker */
#define BF_SIMBOARD_BUILD_MS      600000   /* a model's compile: 10 min at most */
#define BF_SIMBOARD_START_MS      10000    /* a model's start, until its socket listens */
#define BF_SIMBOARD_RESTARTS_MAX  5        /* restarts of a dying model per minute */

/*  The profile a virtual board's model uses (gateware/regio/profiles):
    the board's "profile", else the one for its device (up5k: icebreaker,
    hx1k: icestick).  NULL when there is none. */
const char *bf_simboard_profile_name (const bf_board_t *board);

/*  What a model build needs (job thread). */
typedef struct {
    const char *job_dir;             /* holds src/: the manifest's inputs */
    const bf_manifest_t *manifest;   /* the build's manifest */
    const bf_board_t *board;
    const char *bitstream;           /* its digest */
    const char *key;                 /* the cache key of the build that made it */
    const char *toolchain;           /* the worker's toolchain id */
    const char *work_dir;            /* the worker's WORK_DIR (models/ under it) */
    const bf_sandbox_t *sandbox;     /* NULL: unconfined */
    bf_spawn_line_fn *on_line;       /* the program log */
    void *arg;
    atomic_int *cancel;
} bf_simboard_build_t;

/*  Builds (or finds in models/) the simulation model of the design of a
    successful load.  BF_OK: its bf_simboard_model_dir is ready.
    Otherwise an error whose detail says why there is no model (no
    profile, the pcf puts no port on the profile's pins, Verilator failed:
    see the log), which the main thread keeps for the board. */
int bf_simboard_build (const bf_simboard_build_t *spec);

/*  The model directory of a bitstream, built from the design of cache key
    `key` with toolchain (new string).  The key is part of it because two
    designs may give one bitstream yet simulate differently (code under
    `ifndef SYNTHESIS). */
char *bf_simboard_model_dir (const char *work_dir, const char *bitstream, const char *key,
                             const char *toolchain);

typedef struct _bf_simboards_t bf_simboards_t;

/*  The worker's simulated boards (main thread): the virtual boards among
    boards (borrowed; they outlive the set). */
bf_simboards_t *bf_simboards_new (const char *work_dir, const bf_board_t *boards, int nboards,
                                  const bf_sandbox_t *sandbox);

/*  Stops every model (SIGTERM, then SIGKILL) and frees the set. */
void bf_simboards_destroy (bf_simboards_t **self_p);

/*  After a load into board: runs the model in model_dir (a ready
    bf_simboard_model_dir; stopping the one before), or, when model_dir
    is NULL, records why there is none (nomodel.txt).  Waits up to
    BF_SIMBOARD_START_MS for the model's socket.  BF_OK, or BF_EIO with a
    detail (the board then has no model, and says so). */
int bf_simboards_loaded (bf_simboards_t *self, const char *board, const char *model_dir,
                         const char *why);

/*  Restarts models that died (a killed simulation: the design starts
    again from reset, as a power-cycled board), at most
    BF_SIMBOARD_RESTARTS_MAX times a minute each.  Call periodically. */
void bf_simboards_check (bf_simboards_t *self);

/*  Connects to the UART of simulated board `board` (any thread): *fd is
    a connected stream socket (O_CLOEXEC) the caller owns and closes.
    BF_ENOTFOUND "board 'B' holds no design with a simulation model..."
    (never programmed, or why its design has none); BF_EIO "simulated
    board 'B' is not running..." (its model died: bf_simboards_check
    restarts it). */
int bf_simboard_connect (int *fd, const char *work_dir, const char *board);

#endif

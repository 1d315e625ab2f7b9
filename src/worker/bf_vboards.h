/*  bf_vboards - supervision of a worker's virtual boards: one
    bitfarm-vboard process (an XVC server, src/vboard) per board declared
    "virtual" (bf_board.h), started with the worker and stopped with it.

    Each process listens on a port of its own choosing on 127.0.0.1 (it
    writes it to WORK_DIR/boards/NAME.port, and the board's port is set
    from it), keeps its state in WORK_DIR/boards/NAME.json and logs to
    WORK_DIR/boards/NAME.log.  It runs in its own process group and gets
    SIGTERM when the worker dies (even by kill -9), through bf_spawn_start.
    Thread-safety: a bf_vboards_t belongs to the thread that started it
    (the main thread: the parent-death signal follows that thread).
*/
#ifndef BF_VBOARDS_H_INCLUDED
#define BF_VBOARDS_H_INCLUDED

#include "bf_board.h"

#define BF_VBOARDS_START_MS 5000   /* how long a bitfarm-vboard may take to listen */
#define BF_VBOARDS_STOP_MS  5000   /* how long it may take to exit on SIGTERM (then SIGKILL) */

typedef struct _bf_vboards_t bf_vboards_t;

/*  Starts a bitfarm-vboard (`bin`, or NULL: the one beside this
    executable, else PATH) for every virtual board among the nboards of
    `boards` (borrowed; must outlive the result), waits until each
    listens, and sets its port.  Returns BF_OK with *out set, or BF_EIO
    naming the board and its log ("virtual board 'vb0': bitfarm-vboard did
    not start (see ...)"); then every one already started is stopped. */
int bf_vboards_start (bf_vboards_t **out, bf_board_t *boards, int nboards, const char *work_dir,
                      const char *bin);

/*  THE SEAM FOR THE SIMULATED BOARD (issue 17).  Register I/O on virtual
    board b (one of those given to bf_vboards_start) runs over the byte
    stream this returns: *fd_out, a new file descriptor (the caller's; it
    closes it when the request ends) connected to the UART of the design
    b holds, carrying the UARTBone bytes both ways (a unix socket to the
    Verilator harness, src/vsim, or one end of a socketpair to it), open
    O_NONBLOCK and close-on-exec.  Called on the worker's main thread when
    a register request for b starts, one request at a time per board.
    Returns BF_OK, or BF_ENOTFOUND with a one-line detail when b runs no
    design that can answer (nothing programmed, or no simulation yet): the
    request then fails with that line, class "infrastructure".
    Today no virtual board runs a simulation, so this always says so; the
    simulated-board work fills it in. */
int bf_vboards_regio_fd (bf_vboards_t *self, const bf_board_t *b, int *fd_out);

/*  Stops every process (SIGTERM, then SIGKILL after BF_VBOARDS_STOP_MS)
    and frees the set.  Accepts NULL; sets *self_p to NULL. */
void bf_vboards_destroy (bf_vboards_t **self_p);

#endif

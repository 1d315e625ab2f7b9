/*  bf_bridge - the worker's end of a board's register bridge: runs a
    batch of register operations (bf_regio.h) over a connected byte stream
    to the board's UARTBone core (gateware/bf_uartbone.v, or a stock LiteX
    UARTBone), with deadlines.  The bytes are bf_uartbone.h's; this module
    does the I/O and the splitting:
        reads and writes go out in commands of at most BF_UB_MAX_WORDS
        words (an incrementing transfer moves on by the words sent);
        a read's answer is awaited before the next command is sent, for
        twice its bytes' time on the wire, and twice that of the writes
        before it (unanswered, they may still be on the wire: a socket or
        a tty takes their bytes at once; in this batch, or in an earlier
        one: wire_free), + 500 ms;
        a poll reads its register until (v & mask) == value or its
        timeout, here on the worker, without a round trip per read;
        with the bitfarm core (bridge "bitfarm", the default) reads use
        the status variants (0xB2/0xB4), so a bus error or a slave timeout
        is named; with "litex" the stock commands only (ident then fails
        as a bridge timeout: a stock core ignores it).
    A stream is a real board's serial device (bf_bridge_open_uart: raw
    8N1) or a virtual board's simulated UART (bf_simboard_connect).

    Errors (one line, naming the board and the address):
        BF_ETIMEDOUT  "bridge timeout: board 'B' did not answer a read at
                      0x... within N ms (is bf_uartbone in the design?)"
        BF_EIO        bus error or slave timeout (status reads), a poll
                      that timed out ("poll timeout: ..."), and I/O errors
        BF_EINVAL     an ident whose answer is not bitfarm's
    The first two are the design's ("design"); I/O errors are the
    infrastructure's: *class_out says which (bf_regio.h classes).
    Thread-safety: runs in the request's thread; no shared state.
*/
#ifndef BF_BRIDGE_H_INCLUDED
#define BF_BRIDGE_H_INCLUDED

#include "../common/bf_regio.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*  Opens a serial device (O_NOCTTY, O_NONBLOCK, close-on-exec) and sets
    it raw, 8N1, no flow control, at baud (one of the standard rates
    1200..4000000); an FTDI's latency timer goes to 1 ms where
    /sys/bus/usb-serial/devices/NAME/latency_timer is writable.  BF_OK with *fd_out, or BF_EIO / BF_EINVAL with a
    detail naming the device. */
int bf_bridge_open_uart (int *fd_out, const char *path, int baud);

/*  True when baud is a rate bf_bridge_open_uart can set. */
bool bf_bridge_baud_valid (int baud);

typedef struct {
    const char *board;          /* its name, for errors */
    int baud;                   /* for the answer time of a command; 0: 115200 */
    bool litex;                 /* a stock LiteX core: no status reads */
    int64_t deadline;           /* monotonic ms: the whole batch ends by then */
    atomic_int *cancel;         /* set: stop at the next wait (may be NULL) */
    int64_t wire_free;          /* in and out: monotonic ms when the writes sent so far (by
                                   earlier runs on this board) are off the wire; 0: none */
} bf_bridge_opts_t;

/*  Runs every operation of b in order over fd, filling b's results
    (bf_regio_encode_results sends them).  Stops at the first failure:
    the operations before it have happened.  BF_OK, or an error as above
    with *class_out set.  opts->wire_free is updated either way. */
int bf_bridge_run (int fd, bf_regio_batch_t *b, bf_bridge_opts_t *opts,
                   const char **class_out);

#endif

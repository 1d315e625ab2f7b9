/*  bf_regs - register I/O on a programmed board, from the client library
    (docs/protocol.md section 11; after Cloud_FPGA's read/write session and
    PYNQ's MMIO).

    A session is tied to one board and the reservation token of a lease
    this client's key holds (`bitfarm reserve`, or bf_regs_reserve); it
    keeps no state on the broker, and every call is one REGIO round trip
    (bf_regs_run sends a whole batch in one).  Using the board renews the
    lease.

    Shapes and units: addresses are BYTE addresses (int64_t, so that a
    negative one can be named), 4-byte aligned, below 2^32; data are 32-bit
    words in host order; counts are words; times are ms.  Every address,
    count and timeout is checked before anything is sent, as bf_regio.h
    says (one-line errors naming the value, BF_EINVAL), within the limits
    there (BF_REGIO_*).

    Errors: BF_OK, BF_EINVAL (a check above, sent nothing), or BF_ERROR
    with the broker's or the worker's line (bf_error_last) and its class
    (bf_regs_error_class): "usage" (no reservation, another key's token,
    a bad request), "design" (bridge timeout, bus error, poll timeout),
    "infrastructure" (board offline, busy programming, a UART that cannot
    be opened, a worker that does not answer); BF_ETIMEDOUT when the
    broker does not answer (class "infrastructure").
    Ownership: the session borrows the client, which must outlive it; the
    strings given to bf_regs_open are copied.  Thread-safety: a session
    belongs to the client's thread.
*/
#ifndef BF_REGS_H_INCLUDED
#define BF_REGS_H_INCLUDED

#include "bf_client.h"
#include "../common/bf_regio.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _bf_regs_t bf_regs_t;

/*  The answer to ident: the core's magic (0x42465542, "BFUB"), version
    (major << 16 | minor), the design's user id, and the status bits of
    every access since the previous ident (1 bus error, 2 timeout). */
typedef struct {
    uint32_t magic, version, user_id;
    uint8_t status;
} bf_regs_ident_t;

/*  A session on `board` with `token` (32 hex characters).  Checks their
    form only; sends nothing.  timeout_ms bounds each request on the
    worker (BF_REGIO_TIMEOUT_MIN_MS..MAX; 0: the default, 10 s); the
    client's own wait is stretched to cover it.  BF_OK or BF_EINVAL. */
int bf_regs_open (bf_regs_t **out, bf_client_t *client, const char *board, const char *token,
                  int64_t timeout_ms);

/*  Frees the session (the lease stays: release it with RELEASE, or let
    it end).  Accepts NULL; sets *self_p to NULL. */
void bf_regs_close (bf_regs_t **self_p);

/*  Reads count words from addr (incrementing by 4, or `fixed`: count
    times the same register) into out[count]. */
int bf_regs_read (bf_regs_t *self, uint32_t *out, int64_t addr, int64_t count, bool fixed);

/*  Writes words[count] at addr (incrementing, or all to one register).
    UARTBone does not acknowledge writes: a write that returns BF_OK was
    sent to the bridge; follow it with bf_regs_ident to learn whether the
    bus took it (its status). */
int bf_regs_write (bf_regs_t *self, int64_t addr, const uint32_t *words, int64_t count,
                   bool fixed);

/*  Reads the register at addr on the worker, again and again, until
    (value & mask) == want or timeout_ms (1..BF_REGIO_POLL_MAX_MS) passes
    (then BF_ERROR, class "design", "poll timeout: ..." with the last
    value).  *out (may be NULL) receives the matching value. */
int bf_regs_poll (bf_regs_t *self, uint32_t *out, int64_t addr, uint32_t mask, uint32_t want,
                  int64_t timeout_ms);

/*  The bridge's identity; also a write barrier (its answer comes after
    every earlier write has ended on the bus). */
int bf_regs_ident (bf_regs_t *self, bf_regs_ident_t *out);

/*  Runs a batch built with bf_regio_add_* in one round trip; on BF_OK its
    results are filled in (bf_regio.h: each read's words, poll's value,
    ident's fields).  The batch stays the caller's. */
int bf_regs_run (bf_regs_t *self, bf_regio_batch_t *batch);

/*  The class of the last failure ("usage", "design", "infrastructure"),
    or NULL after a success.  Static. */
const char *bf_regs_error_class (const bf_regs_t *self);

#endif

/*  bf_regio - a batch of register operations on a programmed board, and
    its wire form in BFP (docs/protocol.md section 11): shared by the
    client library (which builds and checks a batch before sending it), the
    broker (which checks it again, relays it and checks the worker's
    answer against it) and the worker (which runs it over the board's
    UARTBone bridge, bf_bridge.h).

    Addresses are BYTE addresses, 4-byte aligned, below 2^32; a transfer
    moves 32-bit words.  The checks are PYNQ's MMIO ones, made before
    anything is sent, each with a one-line error naming the value:
        address -4 is negative
        address 0x3 is not 4-byte aligned
        address 0x100000000 is out of range (the bus has 32-bit addresses)
        count 0 is out of range (1..4096 words per operation)
        a read of 16 words at 0xfffffff8 passes the end of the address space
    Limits (the protocol document's 11.1):
        BF_REGIO_OPS_MAX       operations per request
        BF_REGIO_OP_WORDS_MAX  words per read or write
        BF_REGIO_WORDS_MAX     words per request, reads and writes together
        BF_REGIO_POLL_MAX_MS   one poll's timeout
        BF_REGIO_TIMEOUT_*     the whole request's time on the worker

    Wire form: "ops" is a JSON array with one object per operation,
        {"op": "read",  "addr", "count", "fixed"?}
        {"op": "write", "addr", "count", "fixed"?}     + one blob
        {"op": "poll",  "addr", "mask", "value", "timeout_ms"}
        {"op": "ident"}
    and each write's words travel, in order, as one blob of 4 * count
    bytes, big-endian.  The answer's "results" has one object per
    operation, in order,
        {"op": "read"} + one blob of 4 * count bytes, big-endian
        {"op": "write"}
        {"op": "poll", "value", "polls", "ms"}
        {"op": "ident", "magic", "version", "user_id", "status"}

    Ownership: a batch owns its operations and their word buffers.
    Thread-safety: no shared state; a batch belongs to one thread at a time.
*/
#ifndef BF_REGIO_H_INCLUDED
#define BF_REGIO_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BF_REGIO_OPS_MAX            64
#define BF_REGIO_OP_WORDS_MAX       4096
#define BF_REGIO_WORDS_MAX          16384
#define BF_REGIO_POLL_MAX_MS        10000
#define BF_REGIO_TIMEOUT_MIN_MS     100
#define BF_REGIO_TIMEOUT_DEFAULT_MS 10000
#define BF_REGIO_TIMEOUT_MAX_MS     30000
#define BF_REGIO_ERROR_MAX          512      /* bytes of a worker's error line */

typedef enum { BF_REGIO_READ = 0, BF_REGIO_WRITE, BF_REGIO_POLL, BF_REGIO_IDENT } bf_regio_kind_t;

/*  One operation, and after it ran, its result. */
typedef struct {
    bf_regio_kind_t kind;
    uint32_t addr;              /* byte address (read, write, poll) */
    uint32_t count;             /* words (read, write); 1 for poll and ident */
    bool fixed;                 /* read or write one address count times */
    uint32_t mask, value;       /* poll: until (register & mask) == value */
    uint32_t timeout_ms;        /* poll: give up after this */
    uint32_t *words;            /* write: the words; read: the words read (once run);
                                   owned, count of them; NULL otherwise */
    /* results */
    uint32_t got;               /* poll: the last value read */
    uint32_t polls;             /* poll: how many reads */
    uint32_t ms;                /* poll: how long it took */
    uint32_t magic, version, user_id;   /* ident */
    uint8_t status;             /* ident: the bridge's status bits */
} bf_regio_op_t;

typedef struct {
    bf_regio_op_t *ops;
    size_t n, cap;
    size_t words;               /* read and write words in all */
} bf_regio_batch_t;

/*  git's lifecycle names: init, release (frees the operations), clear. */
void bf_regio_batch_init (bf_regio_batch_t *b);
void bf_regio_batch_release (bf_regio_batch_t *b);

/*  The name of a kind ("read", ...), static. */
const char *bf_regio_kind_name (bf_regio_kind_t kind);

/*  Checks an address (and, for count words from it, not fixed, the end)
    as the header says.  BF_OK or BF_EINVAL with the one-line detail.
    what names the operation in the detail ("read"). */
int bf_regio_check_addr (int64_t addr, int64_t count, bool fixed, const char *what);

/*  Adds one operation after the checks above (and the batch's limits).
    words is copied.  BF_OK, or BF_EINVAL / BF_ETOOBIG with a detail; the
    batch is unchanged on error. */
int bf_regio_add_read (bf_regio_batch_t *b, int64_t addr, int64_t count, bool fixed);
int bf_regio_add_write (bf_regio_batch_t *b, int64_t addr, const uint32_t *words, int64_t count,
                        bool fixed);
int bf_regio_add_poll (bf_regio_batch_t *b, int64_t addr, uint32_t mask, uint32_t value,
                       int64_t timeout_ms);
int bf_regio_add_ident (bf_regio_batch_t *b);

/*  The request's wire form: *ops_out a new JSON array, *blobs_out a new
    message of the write blobs (both the caller's). */
void bf_regio_encode_request (json_t **ops_out, zmsg_t **blobs_out, const bf_regio_batch_t *b);

/*  Decodes and checks a request's "ops" (borrowed) and its blobs
    (borrowed, read in order; exactly one per write, of 4 * count bytes)
    into the empty batch *out.  BF_OK, or BF_EINVAL / BF_ETOOBIG naming
    the operation ("ops[3]: ...") and the value; *out is then released. */
int bf_regio_decode_request (bf_regio_batch_t *out, json_t *ops, zmsg_t *blobs);

/*  The results of a batch that ran: *results_out a new JSON array,
    *blobs_out a new message of the read blobs. */
void bf_regio_encode_results (json_t **results_out, zmsg_t **blobs_out, const bf_regio_batch_t *b);

/*  Checks an answer's "results" and blobs (borrowed) against the request
    b and fills b's results (read words, poll and ident values): one result
    per operation, of the same kind, one blob per read of exactly 4 *
    count bytes, no other blob, values in range.  BF_OK, or BF_EPROTO with
    a detail (b's results are then partly filled: discard them). */
int bf_regio_decode_results (bf_regio_batch_t *b, json_t *results, zmsg_t *blobs);

/*  The error classes of a failed request (ERROR's "class"), which the
    CLI maps to its exit codes: "usage" (2: a refusal, a bad request),
    "design" (1: the design did not answer as asked: bridge timeout, bus
    error, poll timeout), "infrastructure" (3: offline, busy, a serial
    device that cannot be opened, a worker that does not answer). */
#define BF_REGIO_CLASS_USAGE  "usage"
#define BF_REGIO_CLASS_DESIGN "design"
#define BF_REGIO_CLASS_INFRA  "infrastructure"

/*  True when name is one of the classes above. */
bool bf_regio_class_valid (const char *name);

#endif

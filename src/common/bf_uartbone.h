/*  bf_uartbone - the host side of the UARTBone wire format (LiteX's
    litex/soc/cores/uart.py Stream2Wishbone and litex/tools/remote/comm_uart.py)
    and bitfarm's two extra commands (gateware/bf_uartbone.v, docs/regio.md).
    A pure codec: it builds the bytes to send and decodes the bytes that come
    back; it never does I/O.

    Wire format (big-endian throughout):
        request   cmd(1) len(1) addr(4)  [len words of 4 bytes, writes only]
        addr      a 32-bit WORD address (byte address / 4)
        answer    reads: len words; the status reads then 1 status byte;
                  IDENT: magic, version, user id (3 words), 1 status byte;
                  writes: nothing
    The codec accepts len 1..BF_UB_MAX_WORDS only (the wire's len 0 means 256
    to LiteX's gateware; it is never sent).  An incrementing transfer may not
    pass word address 0xffffffff.

    Sending: a write needs no answer, so writes may be sent back to back.  A
    read's answer must have arrived before the next command is sent (neither
    LiteX's core nor bitfarm's buffers a command during an answer).  IDENT
    after writes is a write barrier: its answer comes once every write before
    it has ended on the bus, and its status byte says whether any access since
    the previous IDENT failed.

    Errors: BF_EINVAL for a count or address out of range (a detail names the
    value), BF_ETOOBIG for an output buffer too small, BF_EPROTO for an answer
    of the wrong length or content.  Thread-safety: no shared state.
*/
#ifndef BF_UARTBONE_H_INCLUDED
#define BF_UARTBONE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    BF_UB_WRITE_INCR         = 0x01,  /* LiteX CMD_WRITE_BURST_INCR */
    BF_UB_READ_INCR          = 0x02,  /* LiteX CMD_READ_BURST_INCR */
    BF_UB_WRITE_FIXED        = 0x03,  /* LiteX CMD_WRITE_BURST_FIXED */
    BF_UB_READ_FIXED         = 0x04,  /* LiteX CMD_READ_BURST_FIXED */
    BF_UB_READ_INCR_STATUS   = 0xB2,  /* bitfarm: read, then a status byte */
    BF_UB_READ_FIXED_STATUS  = 0xB4,  /* bitfarm */
    BF_UB_IDENT              = 0xBF,  /* bitfarm: magic, version, user id, status */
} bf_ub_cmd_t;

#define BF_UB_HEADER_LEN     6u            /* cmd, len, 4 address bytes */
#define BF_UB_MAX_WORDS      255u          /* words in one command */
#define BF_UB_MAX_CMD_LEN    (BF_UB_HEADER_LEN + 4u * BF_UB_MAX_WORDS)   /* 1026 */
#define BF_UB_IDENT_MAGIC    0x42465542u   /* "BFUB" */
#define BF_UB_IDENT_LEN      13u           /* the IDENT answer's bytes */

/*  Status byte bits (the status reads and IDENT). */
#define BF_UB_STATUS_BUS_ERROR  0x01u      /* a slave answered wb_err */
#define BF_UB_STATUS_TIMEOUT    0x02u      /* a slave did not answer in time */

/*  What an IDENT answer holds. */
typedef struct {
    uint32_t magic;             /* always BF_UB_IDENT_MAGIC once decoded */
    uint32_t version;           /* major << 16 | minor; 0x00010000 is 1.0 */
    uint32_t user_id;           /* the core's USER_ID parameter */
    uint8_t status;             /* BF_UB_STATUS_* of every access since the previous IDENT */
} bf_ub_ident_t;

/*  Encodes a read of count words (1..255) at word address addr into out
    (out_cap bytes, at least BF_UB_HEADER_LEN): 6 bytes.  fixed reads one
    address count times; with_status asks for the status byte (0xB2/0xB4,
    bitfarm cores only).  *out_len gets the bytes written, *answer_len (may
    be NULL) the bytes the answer has: 4 * count, + 1 with status. */
int bf_uartbone_encode_read (uint8_t *out, size_t out_cap, size_t *out_len,
                             size_t *answer_len, uint32_t addr, unsigned count,
                             bool fixed, bool with_status);

/*  Encodes a write of count words (1..255) from words[] at word address
    addr: 6 + 4 * count bytes into out (out_cap bytes).  No answer. */
int bf_uartbone_encode_write (uint8_t *out, size_t out_cap, size_t *out_len,
                              uint32_t addr, const uint32_t *words, unsigned count,
                              bool fixed);

/*  Encodes a write of any count (1..BF_UB_BATCH_MAX_WORDS) words as
    several commands of at most max_words (1..255) each, back to back:
    a fixed write keeps addr in every command, an incrementing one moves on.
    Writes ceil(count / max_words) * 6 + 4 * count bytes; see
    bf_uartbone_write_batch_len. */
#define BF_UB_BATCH_MAX_WORDS  (1u << 20)
int bf_uartbone_encode_write_batch (uint8_t *out, size_t out_cap, size_t *out_len,
                                    uint32_t addr, const uint32_t *words, size_t count,
                                    bool fixed, unsigned max_words);

/*  The bytes bf_uartbone_encode_write_batch writes, or 0 for arguments it
    refuses. */
size_t bf_uartbone_write_batch_len (size_t count, unsigned max_words);

/*  Encodes IDENT: BF_UB_IDENT, len 1, address 0 (6 bytes; a stock LiteX core
    skips them and answers nothing).  The answer has BF_UB_IDENT_LEN bytes. */
int bf_uartbone_encode_ident (uint8_t *out, size_t out_cap, size_t *out_len);

/*  Decodes a read answer of count words (in_len must be exactly 4 * count,
    + 1 with_status) into out_words[count].  *out_status (may be NULL; 0
    without status) gets the status byte; a status byte with bits other than
    BF_UB_STATUS_* is BF_EPROTO.  A word whose access failed reads
    0xffffffff (bitfarm's core). */
int bf_uartbone_decode_read (uint32_t *out_words, uint8_t *out_status,
                             const uint8_t *in, size_t in_len, unsigned count,
                             bool with_status);

/*  Decodes an IDENT answer (exactly BF_UB_IDENT_LEN bytes); a wrong magic
    or status byte is BF_EPROTO. */
int bf_uartbone_decode_ident (bf_ub_ident_t *out, const uint8_t *in, size_t in_len);

/*  The largest write burst comm_uart.py sends to a stock LiteX core at this
    baud rate (whose 100 ms timer bounds a whole command, not the gap between
    bytes): half of 100 ms of 10-bit bytes, less the header, in words,
    clamped to 1..255.  bitfarm's core needs no such limit (its timer is
    reset by every byte).  0 for baud 0. */
unsigned bf_uartbone_litex_max_write_words (unsigned baud);

/*  The status bits as text ("ok", "bus error", "timeout", "bus error,
    timeout"); static. */
const char *bf_uartbone_status_str (uint8_t status);

#endif

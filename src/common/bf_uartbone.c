/*  bf_uartbone - see bf_uartbone.h. */
#include "bf_uartbone.h"
#include "bf_error.h"
#include "bf_util.h"

/*  count in 1..BF_UB_MAX_WORDS and, incrementing, addr + count - 1 in 32 bits. */
static int
s_check (uint32_t addr, size_t count, size_t max, bool fixed)
{
    if (count < 1 || count > max)
        return bf_error_set (BF_EINVAL, "invalid word count %zu (want 1..%zu)", count, max);
    if (!fixed && (uint64_t) addr + count - 1 > UINT32_MAX)
        return bf_error_set (BF_EINVAL, "transfer of %zu words at word address 0x%08x "
                             "passes the end of the address space", count, (unsigned) addr);
    return BF_OK;
}

static void
s_header (uint8_t *out, uint8_t cmd, unsigned count, uint32_t addr)
{
    out[0] = cmd;
    out[1] = (uint8_t) count;
    bf_be32_put (out + 2, addr);
}

int
bf_uartbone_encode_read (uint8_t *out, size_t out_cap, size_t *out_len,
                         size_t *answer_len, uint32_t addr, unsigned count,
                         bool fixed, bool with_status)
{
    int rc = s_check (addr, count, BF_UB_MAX_WORDS, fixed);
    if (rc != BF_OK)
        return rc;
    if (out_cap < BF_UB_HEADER_LEN)
        return bf_error_set (BF_ETOOBIG, "buffer of %zu bytes too small for a read command",
                             out_cap);
    uint8_t cmd = with_status ? (fixed ? BF_UB_READ_FIXED_STATUS : BF_UB_READ_INCR_STATUS)
                              : (fixed ? BF_UB_READ_FIXED : BF_UB_READ_INCR);
    s_header (out, cmd, count, addr);
    *out_len = BF_UB_HEADER_LEN;
    if (answer_len)
        *answer_len = 4u * count + (with_status ? 1u : 0u);
    return BF_OK;
}

int
bf_uartbone_encode_write (uint8_t *out, size_t out_cap, size_t *out_len,
                          uint32_t addr, const uint32_t *words, unsigned count, bool fixed)
{
    int rc = s_check (addr, count, BF_UB_MAX_WORDS, fixed);
    if (rc != BF_OK)
        return rc;
    size_t need = BF_UB_HEADER_LEN + 4u * count;
    if (out_cap < need)
        return bf_error_set (BF_ETOOBIG, "buffer of %zu bytes too small for a write of "
                             "%u words (%zu bytes)", out_cap, count, need);
    s_header (out, fixed ? BF_UB_WRITE_FIXED : BF_UB_WRITE_INCR, count, addr);
    for (unsigned i = 0; i < count; i++)
        bf_be32_put (out + BF_UB_HEADER_LEN + 4u * i, words[i]);
    *out_len = need;
    return BF_OK;
}

size_t
bf_uartbone_write_batch_len (size_t count, unsigned max_words)
{
    if (count < 1 || count > BF_UB_BATCH_MAX_WORDS || max_words < 1
        || max_words > BF_UB_MAX_WORDS)
        return 0;
    size_t ncmd = (count + max_words - 1) / max_words;
    return ncmd * BF_UB_HEADER_LEN + 4u * count;
}

int
bf_uartbone_encode_write_batch (uint8_t *out, size_t out_cap, size_t *out_len,
                                uint32_t addr, const uint32_t *words, size_t count,
                                bool fixed, unsigned max_words)
{
    if (max_words < 1 || max_words > BF_UB_MAX_WORDS)
        return bf_error_set (BF_EINVAL, "invalid burst limit %u (want 1..%u)",
                             max_words, BF_UB_MAX_WORDS);
    int rc = s_check (addr, count, BF_UB_BATCH_MAX_WORDS, fixed);
    if (rc != BF_OK)
        return rc;
    size_t need = bf_uartbone_write_batch_len (count, max_words);
    if (out_cap < need)
        return bf_error_set (BF_ETOOBIG, "buffer of %zu bytes too small for a write of "
                             "%zu words (%zu bytes)", out_cap, count, need);
    size_t pos = 0;
    for (size_t done = 0; done < count; ) {
        unsigned n = count - done < max_words ? (unsigned) (count - done) : max_words;
        size_t len = 0;
        uint32_t a = fixed ? addr : addr + (uint32_t) done;
        rc = bf_uartbone_encode_write (out + pos, out_cap - pos, &len, a, words + done, n, fixed);
        if (rc != BF_OK)
            return rc;          /* cannot happen: checked above */
        pos += len;
        done += n;
    }
    *out_len = pos;
    return BF_OK;
}

int
bf_uartbone_encode_ident (uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (out_cap < BF_UB_HEADER_LEN)
        return bf_error_set (BF_ETOOBIG, "buffer of %zu bytes too small for IDENT", out_cap);
    s_header (out, BF_UB_IDENT, 1, 0);
    *out_len = BF_UB_HEADER_LEN;
    return BF_OK;
}

static int
s_check_status (uint8_t status)
{
    if (status & ~(BF_UB_STATUS_BUS_ERROR | BF_UB_STATUS_TIMEOUT))
        return bf_error_set (BF_EPROTO, "invalid status byte 0x%02x from the bridge", status);
    return BF_OK;
}

int
bf_uartbone_decode_read (uint32_t *out_words, uint8_t *out_status,
                         const uint8_t *in, size_t in_len, unsigned count, bool with_status)
{
    if (count < 1 || count > BF_UB_MAX_WORDS)
        return bf_error_set (BF_EINVAL, "invalid word count %u (want 1..%u)",
                             count, BF_UB_MAX_WORDS);
    size_t want = 4u * count + (with_status ? 1u : 0u);
    if (in_len != want)
        return bf_error_set (BF_EPROTO, "read answer of %zu bytes (want %zu)", in_len, want);
    uint8_t status = with_status ? in[4u * count] : 0;
    int rc = s_check_status (status);
    if (rc != BF_OK)
        return rc;
    for (unsigned i = 0; i < count; i++)
        out_words[i] = bf_be32_get (in + 4u * i);
    if (out_status)
        *out_status = status;
    return BF_OK;
}

int
bf_uartbone_decode_ident (bf_ub_ident_t *out, const uint8_t *in, size_t in_len)
{
    if (in_len != BF_UB_IDENT_LEN)
        return bf_error_set (BF_EPROTO, "IDENT answer of %zu bytes (want %u)",
                             in_len, BF_UB_IDENT_LEN);
    uint32_t magic = bf_be32_get (in);
    if (magic != BF_UB_IDENT_MAGIC)
        return bf_error_set (BF_EPROTO, "IDENT answer with magic 0x%08x (want 0x%08x): "
                             "not a bitfarm bridge", (unsigned) magic, BF_UB_IDENT_MAGIC);
    int rc = s_check_status (in[12]);
    if (rc != BF_OK)
        return rc;
    out->magic = magic;
    out->version = bf_be32_get (in + 4);
    out->user_id = bf_be32_get (in + 8);
    out->status = in[12];
    return BF_OK;
}

unsigned
bf_uartbone_litex_max_write_words (unsigned baud)
{
    if (baud == 0)
        return 0;
    /* comm_uart.py: int(0.100 * 0.5 / (10 / baud)), less 2 + 4 header bytes,
       // 4, clamped to 1..255 (integer arithmetic: baud / 200 bytes). */
    long max_bytes = (long) (baud / 200u);
    long words = (max_bytes - 6) / 4;
    if (max_bytes - 6 < 0)
        words = -1;     /* Python's floor division of a negative number */
    if (words < 1)
        return 1;
    return words > (long) BF_UB_MAX_WORDS ? BF_UB_MAX_WORDS : (unsigned) words;
}

const char *
bf_uartbone_status_str (uint8_t status)
{
    switch (status & (BF_UB_STATUS_BUS_ERROR | BF_UB_STATUS_TIMEOUT)) {
    case 0: return "ok";
    case BF_UB_STATUS_BUS_ERROR: return "bus error";
    case BF_UB_STATUS_TIMEOUT: return "timeout";
    default: return "bus error, timeout";
    }
}

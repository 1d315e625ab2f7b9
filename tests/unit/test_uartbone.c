/*  Unit tests for the UARTBone codec (src/common/bf_uartbone.c).  The
    expected bytes are written out by hand from LiteX's format: what
    litex/tools/remote/comm_uart.py's CommUART.read()/write() send for the
    same call (cmd, len, addr // 4 as 4 big-endian bytes, then the words
    big-endian), and bitfarm's extensions as in docs/regio.md. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "../../src/common/bf_error.h"
#include "../../src/common/bf_uartbone.h"

#define assert_bytes(buf, len, ...) do { \
        const uint8_t want_[] = { __VA_ARGS__ }; \
        assert_int_equal ((len), sizeof want_); \
        assert_memory_equal ((buf), want_, sizeof want_); \
    } while (0)

/*  comm.read(0x1000) sends [0x02, 0x01] + (0x1000 // 4).to_bytes(4, "big"). */
static void
encode_read__matches_comm_uart_single_read (void **state)
{
    (void) state;
    uint8_t b[16];
    size_t len = 0, answer = 0;
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, &answer, 0x1000 / 4, 1,
                                               false, false), BF_OK);
    assert_bytes (b, len, 0x02, 0x01, 0x00, 0x00, 0x04, 0x00);
    assert_int_equal (answer, 4);
}

/*  comm.read(0xf0001234 & ~3, 255, burst="fixed"). */
static void
encode_read__fixed_burst_of_255 (void **state)
{
    (void) state;
    uint8_t b[6];
    size_t len = 0, answer = 0;
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, &answer, 0xf0001234u / 4, 255,
                                               true, false), BF_OK);
    assert_bytes (b, len, 0x04, 0xff, 0x3c, 0x00, 0x04, 0x8d);
    assert_int_equal (answer, 1020);
}

static void
encode_read__status_variants_use_bitfarm_commands (void **state)
{
    (void) state;
    uint8_t b[6];
    size_t len = 0, answer = 0;
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, &answer, 0x12345678u, 3,
                                               false, true), BF_OK);
    assert_bytes (b, len, 0xb2, 0x03, 0x12, 0x34, 0x56, 0x78);
    assert_int_equal (answer, 13);
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, NULL, 0xf, 2, true, true), BF_OK);
    assert_bytes (b, len, 0xb4, 0x02, 0x00, 0x00, 0x00, 0x0f);
}

/*  comm.write(0x2000, [0xdeadbeef, 0x01020304]). */
static void
encode_write__matches_comm_uart_burst_write (void **state)
{
    (void) state;
    uint8_t b[32];
    size_t len = 0;
    const uint32_t w[] = { 0xdeadbeefu, 0x01020304u };
    assert_int_equal (bf_uartbone_encode_write (b, sizeof b, &len, 0x2000 / 4, w, 2, false), BF_OK);
    assert_bytes (b, len, 0x01, 0x02, 0x00, 0x00, 0x08, 0x00,
                  0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04);
    /* comm.write(0x2000, [0xcafe], burst="fixed") */
    const uint32_t one[] = { 0xcafeu };
    assert_int_equal (bf_uartbone_encode_write (b, sizeof b, &len, 0x2000 / 4, one, 1, true), BF_OK);
    assert_bytes (b, len, 0x03, 0x01, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0xca, 0xfe);
}

static void
encode__refuses_counts_outside_1_to_255 (void **state)
{
    (void) state;
    uint8_t b[BF_UB_MAX_CMD_LEN + 4];
    uint32_t w[256] = { 0 };
    size_t len = 99;
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, NULL, 0, 0, false, false), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "invalid word count 0"));
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, NULL, 0, 256, false, false), BF_EINVAL);
    assert_int_equal (bf_uartbone_encode_write (b, sizeof b, &len, 0, w, 0, false), BF_EINVAL);
    assert_int_equal (bf_uartbone_encode_write (b, sizeof b, &len, 0, w, 256, false), BF_EINVAL);
    assert_int_equal (len, 99);     /* nothing written */
    assert_int_equal (bf_uartbone_encode_write (b, sizeof b, &len, 0, w, 255, false), BF_OK);
    assert_int_equal (len, BF_UB_MAX_CMD_LEN);
    assert_int_equal (b[1], 0xff);
}

static void
encode__refuses_wrap_and_small_buffers (void **state)
{
    (void) state;
    uint8_t b[16];
    uint32_t w[4] = { 0 };
    size_t len = 0;
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, NULL, 0xfffffffeu, 3, false, false),
                      BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "0xfffffffe"));
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, NULL, 0xfffffffdu, 3, false, false),
                      BF_OK);
    assert_int_equal (bf_uartbone_encode_read (b, sizeof b, &len, NULL, 0xffffffffu, 200, true, false),
                      BF_OK);                 /* fixed: no wrap */
    assert_int_equal (bf_uartbone_encode_read (b, 5, &len, NULL, 0, 1, false, false), BF_ETOOBIG);
    assert_int_equal (bf_uartbone_encode_write (b, 13, &len, 0, w, 2, false), BF_ETOOBIG);
    assert_int_equal (bf_uartbone_encode_write (b, 14, &len, 0, w, 2, false), BF_OK);
    assert_int_equal (bf_uartbone_encode_ident (b, 5, &len), BF_ETOOBIG);
}

/*  300 words at 0x800 with comm_uart's 115200-baud limit (142): commands
    of 142, 142 and 16 words, at 0x800, 0x88e and 0x91c. */
static void
encode_write_batch__splits_like_comm_uart (void **state)
{
    (void) state;
    uint32_t w[300];
    for (unsigned i = 0; i < 300; i++)
        w[i] = 0x01000000u + i;
    unsigned max = bf_uartbone_litex_max_write_words (115200);
    assert_int_equal (max, 142);
    uint8_t b[3 * 6 + 1200];
    size_t len = 0;
    assert_int_equal (bf_uartbone_write_batch_len (300, max), sizeof b);
    assert_int_equal (bf_uartbone_encode_write_batch (b, sizeof b, &len, 0x800, w, 300, false, max),
                      BF_OK);
    assert_int_equal (len, sizeof b);
    assert_bytes (b, 10, 0x01, 0x8e, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00);
    const uint8_t *c2 = b + 6 + 4 * 142;
    assert_bytes (c2, 10, 0x01, 0x8e, 0x00, 0x00, 0x08, 0x8e, 0x01, 0x00, 0x00, 0x8e);
    const uint8_t *c3 = c2 + 6 + 4 * 142;
    assert_bytes (c3, 10, 0x01, 0x10, 0x00, 0x00, 0x09, 0x1c, 0x01, 0x00, 0x01, 0x1c);
    assert_bytes (b + len - 4, 4, 0x01, 0x00, 0x01, 0x2b);    /* word 299 */
    /* fixed: every command at 0x800 */
    assert_int_equal (bf_uartbone_encode_write_batch (b, sizeof b, &len, 0x800, w, 300, true, max),
                      BF_OK);
    assert_bytes (b, 6, 0x03, 0x8e, 0x00, 0x00, 0x08, 0x00);
    assert_bytes (b + 6 + 4 * 142, 6, 0x03, 0x8e, 0x00, 0x00, 0x08, 0x00);
    assert_bytes (b + 2 * (6 + 4 * 142), 6, 0x03, 0x10, 0x00, 0x00, 0x08, 0x00);
    assert_int_equal (bf_uartbone_encode_write_batch (b, sizeof b - 1, &len, 0x800, w, 300, true, max),
                      BF_ETOOBIG);
    assert_int_equal (bf_uartbone_encode_write_batch (b, sizeof b, &len, 0x800, w, 300, true, 0),
                      BF_EINVAL);
    assert_int_equal (bf_uartbone_encode_write_batch (b, sizeof b, &len, 0x800, w, 300, true, 256),
                      BF_EINVAL);
    assert_int_equal (bf_uartbone_write_batch_len (0, 10), 0);
}

static void
litex_max_write_words__follows_comm_uart (void **state)
{
    (void) state;
    assert_int_equal (bf_uartbone_litex_max_write_words (9600), 10);
    assert_int_equal (bf_uartbone_litex_max_write_words (57600), 70);
    assert_int_equal (bf_uartbone_litex_max_write_words (230400), 255);
    assert_int_equal (bf_uartbone_litex_max_write_words (1200), 1);
    assert_int_equal (bf_uartbone_litex_max_write_words (300), 1);
    assert_int_equal (bf_uartbone_litex_max_write_words (0), 0);
}

static void
encode_ident__is_six_bytes (void **state)
{
    (void) state;
    uint8_t b[6];
    size_t len = 0;
    assert_int_equal (bf_uartbone_encode_ident (b, sizeof b, &len), BF_OK);
    assert_bytes (b, len, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x00);
}

static void
decode_read__big_endian_words_and_status (void **state)
{
    (void) state;
    const uint8_t in[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x2a, 0x02 };
    uint32_t w[2] = { 0 };
    uint8_t st = 0xee;
    assert_int_equal (bf_uartbone_decode_read (w, &st, in, 8, 2, false), BF_OK);
    assert_int_equal (w[0], 0xdeadbeefu);
    assert_int_equal (w[1], 42);
    assert_int_equal (st, 0);
    assert_int_equal (bf_uartbone_decode_read (w, &st, in, 9, 2, true), BF_OK);
    assert_int_equal (st, BF_UB_STATUS_TIMEOUT);
    assert_string_equal (bf_uartbone_status_str (st), "timeout");
    assert_string_equal (bf_uartbone_status_str (3), "bus error, timeout");
    /* wrong lengths and a status byte with unknown bits */
    assert_int_equal (bf_uartbone_decode_read (w, &st, in, 7, 2, false), BF_EPROTO);
    assert_int_equal (bf_uartbone_decode_read (w, &st, in, 9, 2, false), BF_EPROTO);
    assert_int_equal (bf_uartbone_decode_read (w, &st, in, 8, 2, true), BF_EPROTO);
    const uint8_t bad[] = { 0, 0, 0, 1, 0x04 };
    assert_int_equal (bf_uartbone_decode_read (w, &st, bad, 5, 1, true), BF_EPROTO);
    assert_non_null (strstr (bf_error_last (), "0x04"));
    assert_int_equal (bf_uartbone_decode_read (w, &st, in, 0, 0, false), BF_EINVAL);
}

static void
decode_ident__checks_magic_and_length (void **state)
{
    (void) state;
    uint8_t in[] = { 0x42, 0x46, 0x55, 0x42, 0x00, 0x01, 0x00, 0x00,
                     0x12, 0x34, 0x56, 0x78, 0x01 };
    bf_ub_ident_t id;
    memset (&id, 0, sizeof id);
    assert_int_equal (bf_uartbone_decode_ident (&id, in, sizeof in), BF_OK);
    assert_int_equal (id.magic, BF_UB_IDENT_MAGIC);
    assert_int_equal (id.version, 0x00010000u);
    assert_int_equal (id.user_id, 0x12345678u);
    assert_int_equal (id.status, BF_UB_STATUS_BUS_ERROR);
    assert_int_equal (bf_uartbone_decode_ident (&id, in, 12), BF_EPROTO);
    in[0] = 0x43;
    assert_int_equal (bf_uartbone_decode_ident (&id, in, sizeof in), BF_EPROTO);
    assert_non_null (strstr (bf_error_last (), "not a bitfarm bridge"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (encode_read__matches_comm_uart_single_read),
        cmocka_unit_test (encode_read__fixed_burst_of_255),
        cmocka_unit_test (encode_read__status_variants_use_bitfarm_commands),
        cmocka_unit_test (encode_write__matches_comm_uart_burst_write),
        cmocka_unit_test (encode__refuses_counts_outside_1_to_255),
        cmocka_unit_test (encode__refuses_wrap_and_small_buffers),
        cmocka_unit_test (encode_write_batch__splits_like_comm_uart),
        cmocka_unit_test (litex_max_write_words__follows_comm_uart),
        cmocka_unit_test (encode_ident__is_six_bytes),
        cmocka_unit_test (decode_read__big_endian_words_and_status),
        cmocka_unit_test (decode_ident__checks_magic_and_length),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

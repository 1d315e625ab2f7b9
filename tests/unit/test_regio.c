/*  Unit tests for bf_regio: the PYNQ-style checks (each naming the
    value), the limits of a batch, the wire form of a request and of its
    results (words big-endian in blobs), and the checks an answer passes
    against the request it answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/common/bf_error.h"
#include "../../src/common/bf_regio.h"

static void
regio_check_addr__names_each_bad_value (void **state)
{
    (void) state;
    assert_int_equal (bf_regio_check_addr (0, 1, false, "read"), BF_OK);
    assert_int_equal (bf_regio_check_addr (0xfffffffcLL, 1, false, "read"), BF_OK);
    assert_int_equal (bf_regio_check_addr (-4, 1, false, "read"), BF_EINVAL);
    assert_string_equal (bf_error_last (), "address -4 is negative");
    assert_int_equal (bf_regio_check_addr (3, 1, false, "read"), BF_EINVAL);
    assert_string_equal (bf_error_last (), "address 0x3 is not 4-byte aligned");
    assert_int_equal (bf_regio_check_addr (0x100000000LL, 1, false, "read"), BF_EINVAL);
    assert_string_equal (bf_error_last (),
                         "address 0x100000000 is out of range (the bus has 32-bit addresses)");
    assert_int_equal (bf_regio_check_addr (0, 0, false, "read"), BF_EINVAL);
    assert_string_equal (bf_error_last (),
                         "count 0 is out of range (1..4096 words per operation)");
    assert_int_equal (bf_regio_check_addr (0, 4097, false, "write"), BF_EINVAL);
    assert_int_equal (bf_regio_check_addr (0xfffffff8LL, 16, false, "read"), BF_EINVAL);
    assert_string_equal (bf_error_last (),
                         "a read of 16 words at 0xfffffff8 passes the end of the address space");
    /* a fixed burst stays on its one register */
    assert_int_equal (bf_regio_check_addr (0xfffffffcLL, 16, true, "read"), BF_OK);
}

static void
regio_batch__keeps_its_limits (void **state)
{
    (void) state;
    bf_regio_batch_t b;
    bf_regio_batch_init (&b);
    static uint32_t words[BF_REGIO_OP_WORDS_MAX];
    for (int i = 0; i < 4; i++)
        assert_int_equal (bf_regio_add_write (&b, 0, words, BF_REGIO_OP_WORDS_MAX, false), BF_OK);
    assert_int_equal (b.words, BF_REGIO_WORDS_MAX);
    assert_int_equal (bf_regio_add_read (&b, 0, 1, false), BF_ETOOBIG);
    assert_int_equal (b.n, 4);      /* unchanged on error */
    bf_regio_batch_release (&b);
    for (int i = 0; i < BF_REGIO_OPS_MAX; i++)
        assert_int_equal (bf_regio_add_ident (&b), BF_OK);
    assert_int_equal (bf_regio_add_ident (&b), BF_ETOOBIG);
    bf_regio_batch_release (&b);
    assert_int_equal (bf_regio_add_poll (&b, 0x40, 1, 1, 0), BF_EINVAL);
    assert_int_equal (bf_regio_add_poll (&b, 0x40, 1, 1, BF_REGIO_POLL_MAX_MS + 1), BF_EINVAL);
    assert_int_equal (bf_regio_add_poll (&b, 0x40, 0x1, 0x3, 100), BF_EINVAL);
    assert_string_equal (bf_error_last (),
                         "poll value 0x00000003 has bits outside mask 0x00000001: it can never match");
    bf_regio_batch_release (&b);
}

static void
regio_request__round_trips_with_big_endian_blobs (void **state)
{
    (void) state;
    bf_regio_batch_t b, back;
    bf_regio_batch_init (&b);
    uint32_t w[2] = { 0x11223344, 0xa0b0c0d0 };
    assert_int_equal (bf_regio_add_write (&b, 0x100, w, 2, true), BF_OK);
    assert_int_equal (bf_regio_add_read (&b, 0x200, 3, false), BF_OK);
    assert_int_equal (bf_regio_add_poll (&b, 0x40, 0xff, 0x01, 500), BF_OK);
    assert_int_equal (bf_regio_add_ident (&b), BF_OK);
    json_t *ops;
    zmsg_t *blobs;
    bf_regio_encode_request (&ops, &blobs, &b);
    assert_int_equal (zmsg_size (blobs), 1);
    const uint8_t want[8] = { 0x11, 0x22, 0x33, 0x44, 0xa0, 0xb0, 0xc0, 0xd0 };
    assert_int_equal (zframe_size (zmsg_first (blobs)), 8);
    assert_memory_equal (zframe_data (zmsg_first (blobs)), want, 8);
    char *text = json_dumps (ops, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal (text, "[{\"addr\":256,\"count\":2,\"fixed\":true,\"op\":\"write\"},"
                         "{\"addr\":512,\"count\":3,\"op\":\"read\"},"
                         "{\"addr\":64,\"mask\":255,\"op\":\"poll\",\"timeout_ms\":500,"
                         "\"value\":1},{\"op\":\"ident\"}]");
    free (text);
    assert_int_equal (bf_regio_decode_request (&back, ops, blobs), BF_OK);
    assert_int_equal (back.n, 4);
    assert_int_equal (back.ops[0].words[1], 0xa0b0c0d0);
    assert_true (back.ops[0].fixed);
    assert_int_equal (back.ops[2].timeout_ms, 500);
    bf_regio_batch_release (&back);
    /* a write without its blob, or a blob too many */
    zmsg_t *none = zmsg_new ();
    assert_int_equal (bf_regio_decode_request (&back, ops, none), BF_EINVAL);
    assert_string_equal (bf_error_last (), "ops[0]: a write of 2 words needs a blob of 8 bytes "
                         "(got none, 0)");
    zmsg_addmem (blobs, "x", 1);
    assert_int_equal (bf_regio_decode_request (&back, ops, blobs), BF_EINVAL);
    zmsg_destroy (&none);
    json_decref (ops);
    zmsg_destroy (&blobs);
    /* an unaligned address from the wire is refused as from the API */
    json_t *bad = json_pack ("[{s:s, s:i, s:i}]", "op", "read", "addr", 2, "count", 1);
    assert_int_equal (bf_regio_decode_request (&back, bad, NULL), BF_EINVAL);
    assert_string_equal (bf_error_last (), "ops[0]: address 0x2 is not 4-byte aligned");
    json_decref (bad);
    bf_regio_batch_release (&b);
}

static void
regio_results__are_checked_against_the_request (void **state)
{
    (void) state;
    bf_regio_batch_t b;
    bf_regio_batch_init (&b);
    assert_int_equal (bf_regio_add_read (&b, 0x10, 2, false), BF_OK);
    assert_int_equal (bf_regio_add_poll (&b, 0x40, 0x1, 0x1, 100), BF_OK);
    json_t *good = json_pack ("[{s:s}, {s:s, s:i, s:i, s:i}]", "op", "read", "op", "poll",
                              "value", 3, "polls", 2, "ms", 5);
    zmsg_t *blobs = zmsg_new ();
    const uint8_t w[8] = { 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef };
    zmsg_addmem (blobs, w, 8);
    assert_int_equal (bf_regio_decode_results (&b, good, blobs), BF_OK);
    assert_int_equal (b.ops[0].words[0], 1);
    assert_int_equal (b.ops[0].words[1], 0xdeadbeef);
    assert_int_equal (b.ops[1].got, 3);
    /* a blob a byte short, a missing result, a poll value that does not match */
    zmsg_t *shorter = zmsg_new ();
    zmsg_addmem (shorter, w, 7);
    assert_int_equal (bf_regio_decode_results (&b, good, shorter), BF_EPROTO);
    json_t *one = json_pack ("[{s:s}]", "op", "read");
    assert_int_equal (bf_regio_decode_results (&b, one, blobs), BF_EPROTO);
    json_t *nomatch = json_pack ("[{s:s}, {s:s, s:i, s:i, s:i}]", "op", "read", "op", "poll",
                                 "value", 2, "polls", 2, "ms", 5);
    assert_int_equal (bf_regio_decode_results (&b, nomatch, blobs), BF_EPROTO);
    zmsg_addmem (blobs, w, 4);
    assert_int_equal (bf_regio_decode_results (&b, good, blobs), BF_EPROTO);   /* extra blob */
    json_decref (good);
    json_decref (one);
    json_decref (nomatch);
    zmsg_destroy (&blobs);
    zmsg_destroy (&shorter);
    bf_regio_batch_release (&b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (regio_check_addr__names_each_bad_value),
        cmocka_unit_test (regio_batch__keeps_its_limits),
        cmocka_unit_test (regio_request__round_trips_with_big_endian_blobs),
        cmocka_unit_test (regio_results__are_checked_against_the_request),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

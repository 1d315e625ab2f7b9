/*  Unit tests for the wire codec (src/common/bf_proto.c): round trips, and
    malformed frames rejected cleanly with a detail, never a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "../../src/common/bf_error.h"
#include "../../src/common/bf_proto.h"

static void
proto__round_trip_with_blobs (void **state)
{
    (void) state;
    json_t *body = json_pack ("{s:s, s:i}", "id", "abc", "n", 7);
    zmsg_t *blobs = zmsg_new ();
    zmsg_addmem (blobs, "\0\1\2", 3);
    zmsg_addmem (blobs, "", 0);
    zmsg_t *msg = bf_msg_encode (BF_PROTO_CLIENT, "UPLOAD", body, &blobs);
    assert_null (blobs);
    bf_msg_t *m = NULL;
    assert_int_equal (bf_msg_decode (&m, &msg), BF_OK);
    assert_null (msg);
    assert_string_equal (m->proto, BF_PROTO_CLIENT);
    assert_string_equal (m->command, "UPLOAD");
    assert_string_equal (json_string_value (json_object_get (m->body, "id")), "abc");
    assert_int_equal (zmsg_size (m->blobs), 2);
    zframe_t *f = zmsg_first (m->blobs);
    assert_int_equal (zframe_size (f), 3);
    assert_memory_equal (zframe_data (f), "\0\1\2", 3);
    bf_msg_destroy (&m);
    assert_null (m);
    json_decref (body);
}

/*  Decodes a message made of the given frames; returns the code. */
static int
s_decode_frames (int n, const char *const *frames)
{
    zmsg_t *msg = zmsg_new ();
    for (int i = 0; i < n; i++)
        zmsg_addmem (msg, frames[i], strlen (frames[i]));
    bf_msg_t *m = NULL;
    int rc = bf_msg_decode (&m, &msg);
    assert_null (msg);
    if (rc == BF_OK)
        assert_non_null (m);
    else
        assert_null (m);
    bf_msg_destroy (&m);
    return rc;
}

static void
proto__rejects_malformed_frames (void **state)
{
    (void) state;
    const char *ok[] = { "", "BFC01", "PING", "{}" };
    assert_int_equal (s_decode_frames (4, ok), BF_OK);

    const char *too_few[] = { "", "BFC01", "PING" };
    assert_int_equal (s_decode_frames (3, too_few), BF_EPROTO);
    assert_non_null (strstr (bf_error_last (), "frames"));

    const char *no_delim[] = { "x", "BFC01", "PING", "{}" };
    assert_int_equal (s_decode_frames (4, no_delim), BF_EPROTO);

    const char *bad_proto[] = { "", "HTTP/1.1", "PING", "{}" };
    assert_int_equal (s_decode_frames (4, bad_proto), BF_EPROTO);
    assert_non_null (strstr (bf_error_last (), "protocol"));

    const char *bad_cmd[] = { "", "BFW01", "ping", "{}" };
    assert_int_equal (s_decode_frames (4, bad_cmd), BF_EPROTO);
    const char *long_cmd[] = { "", "BFW01", "ABCDEFGHIJKLMNOPQ", "{}" };
    assert_int_equal (s_decode_frames (4, long_cmd), BF_EPROTO);
    const char *empty_cmd[] = { "", "BFW01", "", "{}" };
    assert_int_equal (s_decode_frames (4, empty_cmd), BF_EPROTO);

    const char *bad_json[] = { "", "BFC01", "PING", "{\"a\":" };
    assert_int_equal (s_decode_frames (4, bad_json), BF_EPROTO);
    assert_non_null (strstr (bf_error_last (), "JSON"));
    const char *not_object[] = { "", "BFC01", "PING", "[1,2]" };
    assert_int_equal (s_decode_frames (4, not_object), BF_EPROTO);
    const char *dup_keys[] = { "", "BFC01", "PING", "{\"a\":1,\"a\":2}" };
    assert_int_equal (s_decode_frames (4, dup_keys), BF_EPROTO);

    zmsg_t *empty = NULL;
    bf_msg_t *m = NULL;
    assert_int_equal (bf_msg_decode (&m, &empty), BF_EPROTO);
}

static void
proto__rejects_oversized_body (void **state)
{
    (void) state;
    size_t n = BF_BODY_MAX + 10;
    char *big = malloc (n + 1);
    memset (big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    const char *frames[] = { "", "BFC01", "PING", big };
    assert_int_equal (s_decode_frames (4, frames), BF_ETOOBIG);
    free (big);
}

static void
proto__random_frames_never_crash (void **state)
{
    (void) state;
    unsigned seed = 12345;
    for (int round = 0; round < 2000; round++) {
        zmsg_t *msg = zmsg_new ();
        int frames = (int) (rand_r (&seed) % 7);
        for (int i = 0; i < frames; i++) {
            char buf[64];
            size_t len = rand_r (&seed) % sizeof buf;
            for (size_t k = 0; k < len; k++)
                buf[k] = (char) rand_r (&seed);
            /* sometimes a valid prefix, so decoding gets deeper */
            if (i == 0 && rand_r (&seed) % 2)
                len = 0;
            if (i == 1 && rand_r (&seed) % 2)
                memcpy (buf, "BFW01", len = 5);
            if (i == 2 && rand_r (&seed) % 2)
                memcpy (buf, "RESULT", len = 6);
            zmsg_addmem (msg, buf, len);
        }
        bf_msg_t *m = NULL;
        int rc = bf_msg_decode (&m, &msg);
        assert_true (rc == BF_OK || rc == BF_EPROTO || rc == BF_ETOOBIG);
        bf_msg_destroy (&m);
    }
}

static void
proto__body_accessors_check_bounds (void **state)
{
    (void) state;
    json_t *b = json_pack ("{s:s, s:i, s:b, s:i}", "s", "hello", "i", 5, "b", 1, "s2", 3);
    const char *s = NULL;
    int64_t i = 0;
    bool v = false;
    assert_int_equal (bf_body_str (&s, b, "s", 5, true), BF_OK);
    assert_string_equal (s, "hello");
    assert_int_equal (bf_body_str (&s, b, "s", 4, true), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "'s'"));
    assert_int_equal (bf_body_str (&s, b, "s2", 4, true), BF_EINVAL);
    assert_int_equal (bf_body_str (&s, b, "missing", 4, false), BF_ENOTFOUND);
    assert_int_equal (bf_body_str (&s, b, "missing", 4, true), BF_EINVAL);
    assert_int_equal (bf_body_int (&i, b, "i", 0, 10, true), BF_OK);
    assert_int_equal (i, 5);
    assert_int_equal (bf_body_int (&i, b, "i", 6, 10, true), BF_EINVAL);
    assert_int_equal (bf_body_bool (&v, b, "b", true), BF_OK);
    assert_true (v);
    assert_int_equal (bf_body_bool (&v, b, "i", true), BF_EINVAL);
    json_decref (b);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (proto__round_trip_with_blobs),
        cmocka_unit_test (proto__rejects_malformed_frames),
        cmocka_unit_test (proto__rejects_oversized_body),
        cmocka_unit_test (proto__random_frames_never_crash),
        cmocka_unit_test (proto__body_accessors_check_bounds),
    };
    return cmocka_run_group_tests_name ("proto", tests, NULL, NULL);
}

/*  Unit tests for bf_uploads: uploads only for a NEED, at the declared
    size, within a per-client quota, until the grace period ends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/broker/bf_uploads.h"
#include "../../src/common/bf_error.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void
uploads_check__only_what_need_asked_for_at_its_size (void **state)
{
    (void) state;
    bf_uploads_t *u = bf_uploads_new (1000, 5000);
    json_t *missing = json_pack ("[s]", A), *sizes = json_pack ("{s:i}", A, 10);
    assert_int_equal (bf_uploads_expect (u, "alice", "alice", missing, sizes, 0), BF_OK);
    assert_int_equal (bf_uploads_check (u, "alice", A, 10), BF_OK);
    assert_int_equal (bf_uploads_check (u, "alice", A, 9), BF_EINVAL);
    assert_int_equal (bf_uploads_check (u, "alice", B, 10), BF_EACCES);
    assert_int_equal (bf_uploads_check (u, "bob", A, 10), BF_EACCES);   /* per client */
    /* asked again: refreshed, not counted twice */
    assert_int_equal (bf_uploads_expect (u, "alice", "alice", missing, sizes, 1000), BF_OK);
    assert_int_equal (bf_uploads_bytes (u, "alice"), 10);
    json_decref (missing);
    json_decref (sizes);
    bf_uploads_destroy (&u);
    bf_uploads_destroy (&u);   /* idempotent */
}

static void
uploads_expect__refuses_past_the_quota_atomically (void **state)
{
    (void) state;
    bf_uploads_t *u = bf_uploads_new (100, 5000);
    json_t *missing = json_pack ("[s, s]", A, B), *sizes = json_pack ("{s:i, s:i}", A, 60, B, 60);
    assert_int_equal (bf_uploads_expect (u, "alice", "alice", missing, sizes, 0), BF_ETOOBIG);
    assert_non_null (strstr (bf_error_last (), "upload quota of key 'alice' exceeded"));
    assert_int_equal (bf_uploads_bytes (u, "alice"), 0);           /* nothing recorded */
    assert_int_equal (bf_uploads_check (u, "alice", A, 60), BF_EACCES);
    json_t *one = json_pack ("[s]", A);
    assert_int_equal (bf_uploads_expect (u, "alice", "alice", one, sizes, 0), BF_OK);
    assert_int_equal (bf_uploads_expect (u, "bob", "bob", missing, sizes, 0), BF_ETOOBIG);
    /* taken by a job: out of the quota */
    bf_uploads_stored (u, "alice", A);
    bf_uploads_taken (u, "alice", one);
    assert_int_equal (bf_uploads_bytes (u, "alice"), 0);
    assert_int_equal (bf_uploads_check (u, "alice", A, 60), BF_EACCES);
    json_decref (one);
    json_decref (missing);
    json_decref (sizes);
    bf_uploads_destroy (&u);
}

static void
uploads_expire__ends_records_and_names_stored_orphans (void **state)
{
    (void) state;
    bf_uploads_t *u = bf_uploads_new (1000, 5000);
    json_t *missing = json_pack ("[s, s]", A, B), *sizes = json_pack ("{s:i, s:i}", A, 1, B, 2);
    assert_int_equal (bf_uploads_expect (u, "alice", "alice", missing, sizes, 0), BF_OK);
    bf_uploads_stored (u, "alice", A);
    json_t *gone = bf_uploads_expire (u, 4999);
    assert_int_equal (json_array_size (gone), 0);
    json_decref (gone);
    gone = bf_uploads_expire (u, 5000);
    assert_int_equal (json_array_size (gone), 1);   /* only the uploaded one */
    assert_string_equal (json_string_value (json_array_get (gone, 0)), A);
    json_decref (gone);
    assert_int_equal (bf_uploads_bytes (u, "alice"), 0);
    assert_int_equal (bf_uploads_check (u, "alice", B, 2), BF_EACCES);
    json_decref (missing);
    json_decref (sizes);
    bf_uploads_destroy (&u);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (uploads_check__only_what_need_asked_for_at_its_size),
        cmocka_unit_test (uploads_expect__refuses_past_the_quota_atomically),
        cmocka_unit_test (uploads_expire__ends_records_and_names_stored_orphans),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

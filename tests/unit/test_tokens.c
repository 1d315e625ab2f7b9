/*  Unit tests for bf_tokens: the HTTP API's bearer tokens are shown once,
    stored as their SHA-256 only, looked up by that digest, listed without
    it, and revoked by id or a unique prefix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/broker/bf_tokens.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_sha256.h"
#include "../../src/common/bf_util.h"

static char s_dir[] = "/tmp/bitfarm-test-tokens.XXXXXX";

static bf_tokens_t *
s_open (char **path)
{
    assert_non_null (mkdtemp (s_dir));
    *path = xasprintf ("%s/jobs.db", s_dir);
    bf_tokens_t *t = NULL;
    assert_int_equal (bf_tokens_open (&t, *path), BF_OK);
    return t;
}

static void
s_close (bf_tokens_t **t, char *path)
{
    bf_tokens_destroy (t);
    bf_tokens_destroy (t);     /* idempotent */
    char *cmd = xasprintf ("rm -rf '%s'", s_dir);
    assert_int_equal (system (cmd), 0);
    free (cmd);
    free (path);
    strcpy (s_dir, "/tmp/bitfarm-test-tokens.XXXXXX");
}

static void
tokens_create__stores_only_the_digest_and_looks_it_up (void **state)
{
    (void) state;
    char *path;
    bf_tokens_t *t = s_open (&path);
    char token[BF_TOKENS_LEN + 1], digest[BF_SHA256_HEX_LEN + 1];
    json_t *row = NULL;
    assert_int_equal (bf_tokens_create (t, token, &row, "client", "alice", "KEY", "root"), BF_OK);
    assert_true (bf_tokens_is_token (token));
    assert_string_equal (json_string_value (json_object_get (row, "role")), "client");
    bf_sha256_hex (digest, token, strlen (token));
    assert_memory_equal (json_string_value (json_object_get (row, "id")), digest,
                         BF_TOKENS_ID_LEN);
    bf_token_row_t r;
    assert_int_equal (bf_tokens_lookup (t, &r, digest), BF_OK);
    assert_string_equal (r.name, "alice");
    assert_string_equal (r.key, "KEY");
    assert_string_equal (r.role, "client");
    bf_token_row_release (&r);
    /* the token itself is nowhere in the database */
    char *wal = xasprintf ("%s-wal", path), *found = NULL;
    const char *files[] = { path, wal };
    for (int i = 0; i < 2; i++) {
        char *data = NULL;
        size_t len = 0;
        if (bf_file_read (&data, &len, files[i], 1 << 24) != BF_OK)
            continue;
        if (memmem (data, len, digest, 64))
            found = (char *) files[i];     /* the digest is there, in one of them */
        assert_null (memmem (data, len, token + 4, 40));
        free (data);
    }
    assert_non_null (found);
    free (wal);
    /* a token that differs in one character is unknown */
    token[10] = token[10] == 'a' ? 'b' : 'a';
    bf_sha256_hex (digest, token, strlen (token));
    assert_int_equal (bf_tokens_lookup (t, &r, digest), BF_ENOTFOUND);
    json_t *list = bf_tokens_list (t);
    assert_int_equal (json_array_size (list), 1);
    assert_null (json_object_get (json_array_get (list, 0), "sha256"));
    json_decref (list);
    json_decref (row);
    s_close (&t, path);
}

static void
tokens_create__refuses_a_bad_role (void **state)
{
    (void) state;
    char *path;
    bf_tokens_t *t = s_open (&path);
    char token[BF_TOKENS_LEN + 1];
    assert_int_equal (bf_tokens_create (t, token, NULL, "worker", "w1", "", "root"), BF_EINVAL);
    assert_string_equal (bf_error_last (), "invalid token role 'worker' (want client or admin)");
    s_close (&t, path);
}

static void
tokens_revoke__by_prefix_and_never_twice (void **state)
{
    (void) state;
    char *path;
    bf_tokens_t *t = s_open (&path);
    char token[BF_TOKENS_LEN + 1], digest[BF_SHA256_HEX_LEN + 1], id[BF_TOKENS_ID_LEN + 1];
    json_t *row = NULL;
    assert_int_equal (bf_tokens_create (t, token, &row, "admin", "root", "", "root"), BF_OK);
    const char *full = json_string_value (json_object_get (row, "id"));
    char prefix[7];
    snprintf (prefix, sizeof prefix, "%s", full);
    assert_int_equal (bf_tokens_revoke (t, id, "xyz"), BF_EINVAL);
    assert_int_equal (bf_tokens_revoke (t, id, prefix), BF_OK);
    assert_string_equal (id, full);
    bf_sha256_hex (digest, token, strlen (token));
    bf_token_row_t r;
    assert_int_equal (bf_tokens_lookup (t, &r, digest), BF_ENOTFOUND);
    assert_int_equal (bf_tokens_revoke (t, id, prefix), BF_ENOTFOUND);
    json_decref (row);
    s_close (&t, path);
}

static void
tokens_is_token__checks_the_shape (void **state)
{
    (void) state;
    assert_true (bf_tokens_is_token ("bft_0123456789abcdef0123456789abcdef01234567"));
    assert_false (bf_tokens_is_token ("bft_0123456789abcdef0123456789abcdef0123456"));
    assert_false (bf_tokens_is_token ("bft_0123456789ABCDEF0123456789abcdef01234567"));
    assert_false (bf_tokens_is_token ("xyz_0123456789abcdef0123456789abcdef01234567"));
    assert_false (bf_tokens_is_token (NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (tokens_create__stores_only_the_digest_and_looks_it_up),
        cmocka_unit_test (tokens_create__refuses_a_bad_role),
        cmocka_unit_test (tokens_revoke__by_prefix_and_never_twice),
        cmocka_unit_test (tokens_is_token__checks_the_shape),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

/*  Unit tests for proofs of possession (src/common/bf_proof.c): the
    documented formula, and that a proof is bound to its key and its
    content. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "../../src/common/bf_proof.h"

#define KEY_A "!5TkZajVM*!ip<$bSIScxjDzWX&CaR]g30Sa>Re>"
#define KEY_B "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

static void
proof__is_the_documented_sha256 (void **state)
{
    (void) state;
    char got[BF_SHA256_HEX_LEN + 1], want[BF_SHA256_HEX_LEN + 1];
    bf_proof_hex (got, KEY_A, "module top;\n", 12);
    const char text[] = "bitfarm-proof-v1\n" KEY_A "\nmodule top;\n";
    bf_sha256_hex (want, text, sizeof text - 1);
    assert_string_equal (got, want);
}

static void
proof__is_bound_to_the_key_and_the_content (void **state)
{
    (void) state;
    char p[BF_SHA256_HEX_LEN + 1];
    bf_proof_hex (p, KEY_A, "abc", 3);
    assert_true (bf_proof_check (p, KEY_A, "abc", 3));
    assert_false (bf_proof_check (p, KEY_B, "abc", 3));      /* another key's proof */
    assert_false (bf_proof_check (p, KEY_A, "abd", 3));      /* other content */
    char digest[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (digest, "abc", 3);
    assert_false (bf_proof_check (digest, KEY_A, "abc", 3)); /* the digest is no proof */
    assert_false (bf_proof_check (NULL, KEY_A, "abc", 3));
    assert_false (bf_proof_check ("", KEY_A, "abc", 3));
    p[10] = p[10] == '0' ? '1' : '0';
    assert_false (bf_proof_check (p, KEY_A, "abc", 3));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (proof__is_the_documented_sha256),
        cmocka_unit_test (proof__is_bound_to_the_key_and_the_content),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

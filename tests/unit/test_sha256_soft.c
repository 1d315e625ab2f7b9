/*  Unit tests for the SHA-256 without OpenSSL (src/common/bf_sha256_soft.c,
    the lean submit's): the same digests as OpenSSL's (bf_sha256_hex) for
    every length from 0 to 1000 bytes and for 3 MiB, whole and fed in
    uneven pieces, through the portable code and through SHA-NI (where
    the CPU has it); and the FIPS 180-4 examples. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/bf_sha256.h"
#include "../../src/common/bf_sha256_soft.h"

static void
s_soft_hex (char hex[65], const unsigned char *data, size_t len, size_t piece)
{
    bf_sha256_soft_t c;
    unsigned char raw[32];
    bf_sha256_soft_init (&c);
    for (size_t o = 0; o < len;) {
        size_t k = piece && len - o > piece ? piece : len - o;
        bf_sha256_soft_update (&c, data + o, k);
        o += k;
    }
    bf_sha256_soft_final (&c, raw);
    for (int i = 0; i < 32; i++)
        snprintf (hex + 2 * i, 3, "%02x", raw[i]);
}

static unsigned char *
s_data (size_t len)
{
    unsigned char *d = malloc (len);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[i] = (unsigned char) x;
    }
    return d;
}

static void
s_check_all (void)
{
    unsigned char *d = s_data (3u << 20);
    char want[65], got[65];
    static const size_t pieces[] = { 0, 1, 7, 63, 64, 65, 1000 };
    for (size_t len = 0; len <= 1000; len++) {
        bf_sha256_hex (want, d, len);
        for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++) {
            s_soft_hex (got, d, len, pieces[p]);
            if (strcmp (got, want) != 0)
                fail_msg ("length %zu, pieces of %zu: %s, OpenSSL %s", len, pieces[p], got, want);
        }
    }
    bf_sha256_hex (want, d, 3u << 20);
    s_soft_hex (got, d, 3u << 20, 0);
    assert_string_equal (got, want);
    s_soft_hex (got, d, 3u << 20, 4097);
    assert_string_equal (got, want);
    free (d);
}

static void
soft__matches_openssl_with_sha_ni (void **state)
{
    (void) state;
    bf_sha256_soft_use_ni (1);
    s_check_all ();
}

static void
soft__matches_openssl_in_portable_c (void **state)
{
    (void) state;
    bf_sha256_soft_use_ni (0);
    s_check_all ();
    bf_sha256_soft_use_ni (1);
}

static void
soft__gives_the_fips_examples (void **state)
{
    (void) state;
    char got[65];
    s_soft_hex (got, (const unsigned char *) "abc", 3, 0);
    assert_string_equal (got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    s_soft_hex (got, (const unsigned char *) two, strlen (two), 0);
    assert_string_equal (got, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    s_soft_hex (got, (const unsigned char *) "", 0, 0);
    assert_string_equal (got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (soft__matches_openssl_with_sha_ni),
        cmocka_unit_test (soft__matches_openssl_in_portable_c),
        cmocka_unit_test (soft__gives_the_fips_examples),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

/*  bf_proof - see bf_proof.h. */
#include "bf_proof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PREFIX "bitfarm-proof-v1\n"

void
bf_proof_hex (char out[BF_SHA256_HEX_LEN + 1], const char *key, const void *data, size_t len)
{
    bf_sha256_t *h = bf_sha256_new ();
    if (!h) {           /* the x* allocators' policy: out of memory aborts */
        fputs ("bitfarm: out of memory\n", stderr);
        abort ();
    }
    bf_sha256_update (h, S_PREFIX, strlen (S_PREFIX));
    bf_sha256_update (h, key, strlen (key));
    bf_sha256_update (h, "\n", 1);
    bf_sha256_update (h, data, len);
    bf_sha256_final_hex (h, out);
    bf_sha256_destroy (&h);
}

bool
bf_proof_check (const char *proof, const char *key, const void *data, size_t len)
{
    if (!proof || strlen (proof) != BF_SHA256_HEX_LEN)
        return false;
    char want[BF_SHA256_HEX_LEN + 1];
    bf_proof_hex (want, key, data, len);
    unsigned char diff = 0;
    for (size_t i = 0; i < BF_SHA256_HEX_LEN; i++)
        diff |= (unsigned char) (want[i] ^ proof[i]);
    return diff == 0;
}

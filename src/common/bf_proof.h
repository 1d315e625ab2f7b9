/*  bf_proof - proofs of possession: how a client shows the broker that it
    holds a file's content, not only its digest (docs/security.md, "Who
    may read a job"; docs/protocol.md, SUBMIT).

    A proof is SHA-256 over
        "bitfarm-proof-v1\n" || KEY || "\n" || CONTENT
    as 64 lowercase hex characters, where KEY is the client's CURVE public
    key (Z85, 40 characters) and CONTENT the file's bytes.  It binds the
    content to one key: a digest alone does not give it, and another key's
    proof is worth nothing to you.  It travels only inside the CURVE
    connection to the broker, which checks it against the object it
    stores.

    Thread-safety: pure functions.
*/
#ifndef BF_PROOF_H_INCLUDED
#define BF_PROOF_H_INCLUDED

#include "bf_sha256.h"

#include <stdbool.h>
#include <stddef.h>

/*  Writes the proof of len bytes at data, for the public key `key` (a
    NUL-terminated Z85 string), into out (65 bytes with the NUL). */
void bf_proof_hex (char out[BF_SHA256_HEX_LEN + 1], const char *key, const void *data,
                   size_t len);

/*  True when `proof` (may be NULL) is the proof of data for key.  The
    comparison takes the same time wherever the strings differ. */
bool bf_proof_check (const char *proof, const char *key, const void *data, size_t len);

#endif

/*  bf_sha256 - SHA-256 digests (FIPS 180-4) through OpenSSL's EVP API.

    A digest is handled in two shapes: 32 raw bytes, and 64 lowercase hex
    characters plus NUL (BF_SHA256_HEX_LEN + 1 bytes), which is the form used
    on the wire, in the database and in object file names.
    All functions are thread-safe.
*/
#ifndef BF_SHA256_H_INCLUDED
#define BF_SHA256_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define BF_SHA256_LEN     32
#define BF_SHA256_HEX_LEN 64

typedef struct _bf_sha256_t bf_sha256_t;

/*  Streaming hash.  Returns NULL only when out of memory. */
bf_sha256_t *bf_sha256_new (void);
void bf_sha256_update (bf_sha256_t *self, const void *data, size_t len);
/*  Writes the hex digest (65 bytes with the NUL) into hex_out and resets
    nothing: destroy the context afterwards. */
void bf_sha256_final_hex (bf_sha256_t *self, char hex_out[BF_SHA256_HEX_LEN + 1]);
void bf_sha256_destroy (bf_sha256_t **self_p);

/*  One-shot digest of a buffer, as hex. */
void bf_sha256_hex (char hex_out[BF_SHA256_HEX_LEN + 1], const void *data, size_t len);

/*  Digest of a whole file, as hex; *size_out (may be NULL) receives its size
    in bytes.  Returns BF_OK, or BF_EIO with a detail naming the path. */
int bf_sha256_file (char hex_out[BF_SHA256_HEX_LEN + 1], uint64_t *size_out,
                    const char *path);

/*  True when s is exactly 64 lowercase hex characters. */
bool bf_sha256_is_hex (const char *s);

#endif

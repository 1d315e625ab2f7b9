/*  bf_sha256_soft - SHA-256 (FIPS 180-4) without OpenSSL: portable C, and
    the x86 SHA extensions (SHA-NI) when the CPU has them (checked once at
    run time).  For the lean `submit` (src/submit/main.c), whose start-up
    would otherwise be mostly the loading of libcrypto (~1 ms); bf_sha256.c
    built with -DBF_SHA256_SOFT gives the bf_sha256.h API over it.  The
    digests are SHA-256's: tests/unit/test_sha256_soft.c checks them
    against OpenSSL's on every length up to 1000 bytes and a few MiB.
    Thread-safety: a context belongs to one thread; no shared state but
    the CPU check's (idempotent).
*/
#ifndef BF_SHA256_SOFT_H_INCLUDED
#define BF_SHA256_SOFT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t bytes;             /* hashed so far */
    unsigned char buf[64];      /* a partial block */
    size_t nbuf;
} bf_sha256_soft_t;

void bf_sha256_soft_init (bf_sha256_soft_t *c);
void bf_sha256_soft_update (bf_sha256_soft_t *c, const void *data, size_t len);
/*  The 32-byte digest into out; c must be initialised again to be reused. */
void bf_sha256_soft_final (bf_sha256_soft_t *c, unsigned char out[32]);

/*  Test seam: on = 0 makes every later digest use the portable code even
    on a CPU with SHA-NI; 1 (the default) uses SHA-NI when the CPU has it.
    Not thread-safe: tests only. */
void bf_sha256_soft_use_ni (int on);

#endif

/*  bf_sha256_soft - see bf_sha256_soft.h. */
#include "bf_sha256_soft.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define S_HAVE_SHANI 1
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <sys/platform/x86.h>   /* glibc's own CPU features: no CPUID of our own */
#define S_GLIBC_X86 1
#endif
#endif

static const uint32_t s_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2
};

#define S_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
s_blocks_c (uint32_t h[8], const unsigned char *p, size_t nblocks)
{
    for (; nblocks > 0; nblocks--, p += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16
                   | (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = S_ROR (w[i - 15], 7) ^ S_ROR (w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = S_ROR (w[i - 2], 17) ^ S_ROR (w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = hh + (S_ROR (e, 6) ^ S_ROR (e, 11) ^ S_ROR (e, 25)) + ((e & f) ^ (~e & g))
                          + s_k[i] + w[i];
            uint32_t t2 = (S_ROR (a, 2) ^ S_ROR (a, 13) ^ S_ROR (a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    }
}

#ifdef S_HAVE_SHANI
/*  The SHA-NI rounds: the message schedule with sha256msg1/msg2, four
    rounds per sha256rnds2 pair, the state kept as ABEF/CDGH (after
    Intel's reference sequence). */
__attribute__ ((target ("sha,sse4.1"))) static void
s_blocks_ni (uint32_t h[8], const unsigned char *p, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x (0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128 ((const __m128i *) &h[0]);     /* DCBA */
    __m128i st1 = _mm_loadu_si128 ((const __m128i *) &h[4]);     /* HGFE */
    tmp = _mm_shuffle_epi32 (tmp, 0xB1);                         /* CDAB */
    st1 = _mm_shuffle_epi32 (st1, 0x1B);                         /* EFGH */
    __m128i st0 = _mm_alignr_epi8 (tmp, st1, 8);                 /* ABEF */
    st1 = _mm_blend_epi16 (st1, tmp, 0xF0);                      /* CDGH */
    for (; nblocks > 0; nblocks--, p += 64) {
        __m128i save0 = st0, save1 = st1;
        __m128i m[4], msg;
        for (int i = 0; i < 4; i++)
            m[i] = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (p + 16 * i)), bswap);
        for (int r = 0; r < 16; r++) {
            __m128i *cur = &m[r & 3];
            if (r >= 4) {
                /* w[4r..4r+3] from the four before: msg2 (msg1 (w-16, w-12) + alignr (w-4, w-8)) */
                __m128i t = _mm_alignr_epi8 (m[(r + 3) & 3], m[(r + 2) & 3], 4);
                *cur = _mm_sha256msg2_epu32 (_mm_add_epi32 (_mm_sha256msg1_epu32 (*cur,
                                                                                m[(r + 1) & 3]),
                                                            t), m[(r + 3) & 3]);
            }
            msg = _mm_add_epi32 (*cur, _mm_loadu_si128 ((const __m128i *) &s_k[4 * r]));
            st1 = _mm_sha256rnds2_epu32 (st1, st0, msg);
            msg = _mm_shuffle_epi32 (msg, 0x0E);
            st0 = _mm_sha256rnds2_epu32 (st0, st1, msg);
        }
        st0 = _mm_add_epi32 (st0, save0);
        st1 = _mm_add_epi32 (st1, save1);
    }
    tmp = _mm_shuffle_epi32 (st0, 0x1B);                         /* FEBA */
    st1 = _mm_shuffle_epi32 (st1, 0xB1);                         /* DCHG */
    st0 = _mm_blend_epi16 (tmp, st1, 0xF0);                      /* DCBA */
    st1 = _mm_alignr_epi8 (st1, tmp, 8);                         /* HGFE */
    _mm_storeu_si128 ((__m128i *) &h[0], st0);
    _mm_storeu_si128 ((__m128i *) &h[4], st1);
}
#endif

static int s_allow_ni = 1;

void
bf_sha256_soft_use_ni (int on)
{
    s_allow_ni = on;
}

static void
s_blocks (uint32_t h[8], const unsigned char *p, size_t nblocks)
{
#ifdef S_HAVE_SHANI
    static int ni = -1;
    if (ni < 0) {
        /* glibc read the CPU's features at start-up; libgcc's
           __builtin_cpu_init would ask again (CPUID traps in a VM) */
#ifdef S_GLIBC_X86
        ni = CPU_FEATURE_ACTIVE (SHA) && CPU_FEATURE_ACTIVE (SSE4_1);
#else
        __builtin_cpu_init ();
        ni = __builtin_cpu_supports ("sha") && __builtin_cpu_supports ("sse4.1");
#endif
    }
    if (ni && s_allow_ni) {
        s_blocks_ni (h, p, nblocks);
        return;
    }
#endif
    s_blocks_c (h, p, nblocks);
}

void
bf_sha256_soft_init (bf_sha256_soft_t *c)
{
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy (c->h, iv, sizeof iv);
    c->bytes = 0;
    c->nbuf = 0;
}

void
bf_sha256_soft_update (bf_sha256_soft_t *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    c->bytes += len;
    if (c->nbuf) {
        size_t k = 64 - c->nbuf < len ? 64 - c->nbuf : len;
        memcpy (c->buf + c->nbuf, p, k);
        c->nbuf += k;
        p += k;
        len -= k;
        if (c->nbuf < 64)
            return;
        s_blocks (c->h, c->buf, 1);
        c->nbuf = 0;
    }
    if (len >= 64) {
        s_blocks (c->h, p, len / 64);
        p += len / 64 * 64;
        len %= 64;
    }
    memcpy (c->buf, p, len);
    c->nbuf = len;
}

void
bf_sha256_soft_final (bf_sha256_soft_t *c, unsigned char out[32])
{
    uint64_t bits = c->bytes * 8;
    unsigned char pad[72] = { 0x80 };
    size_t padlen = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
    for (int i = 0; i < 8; i++)
        pad[padlen + (size_t) i] = (unsigned char) (bits >> (56 - 8 * i));
    bf_sha256_soft_update (c, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char) (c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char) (c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char) (c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char) c->h[i];
    }
}

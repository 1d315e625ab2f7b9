/*  bf_sha256 - see bf_sha256.h.  Built with -DBF_SHA256_SOFT (the lean
    `submit` only: Makefile) the same API runs over bf_sha256_soft.h
    instead of OpenSSL, so that the program does not load libcrypto. */
#include "bf_sha256.h"
#include "bf_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_to_hex (char *hex, const unsigned char *raw, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[2 * len] = '\0';
}

#ifdef BF_SHA256_SOFT
#include "bf_sha256_soft.h"

struct _bf_sha256_t {
    bf_sha256_soft_t c;
};

bf_sha256_t *
bf_sha256_new (void)
{
    bf_sha256_t *self = calloc (1, sizeof *self);
    if (self)
        bf_sha256_soft_init (&self->c);
    return self;
}

void
bf_sha256_update (bf_sha256_t *self, const void *data, size_t len)
{
    bf_sha256_soft_update (&self->c, data, len);
}

void
bf_sha256_final_hex (bf_sha256_t *self, char hex_out[BF_SHA256_HEX_LEN + 1])
{
    unsigned char raw[32];
    bf_sha256_soft_final (&self->c, raw);
    s_to_hex (hex_out, raw, sizeof raw);
}

void
bf_sha256_destroy (bf_sha256_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

void
bf_sha256_hex (char hex_out[BF_SHA256_HEX_LEN + 1], const void *data, size_t len)
{
    bf_sha256_soft_t c;
    unsigned char raw[32];
    bf_sha256_soft_init (&c);
    bf_sha256_soft_update (&c, data, len);
    bf_sha256_soft_final (&c, raw);
    s_to_hex (hex_out, raw, sizeof raw);
}
#else
#include <openssl/evp.h>

struct _bf_sha256_t {
    EVP_MD_CTX *ctx;
};

bf_sha256_t *
bf_sha256_new (void)
{
    bf_sha256_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = EVP_MD_CTX_new ();
    if (!self->ctx || EVP_DigestInit_ex (self->ctx, EVP_sha256 (), NULL) != 1) {
        EVP_MD_CTX_free (self->ctx);
        free (self);
        return NULL;
    }
    return self;
}

void
bf_sha256_update (bf_sha256_t *self, const void *data, size_t len)
{
    EVP_DigestUpdate (self->ctx, data, len);
}

void
bf_sha256_final_hex (bf_sha256_t *self, char hex_out[BF_SHA256_HEX_LEN + 1])
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex (self->ctx, raw, &len);
    s_to_hex (hex_out, raw, len);
}

void
bf_sha256_destroy (bf_sha256_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    EVP_MD_CTX_free ((*self_p)->ctx);
    free (*self_p);
    *self_p = NULL;
}

void
bf_sha256_hex (char hex_out[BF_SHA256_HEX_LEN + 1], const void *data, size_t len)
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int rlen = 0;
    EVP_Digest (data, len, raw, &rlen, EVP_sha256 (), NULL);
    s_to_hex (hex_out, raw, rlen);
}

#endif

int
bf_sha256_file (char hex_out[BF_SHA256_HEX_LEN + 1], uint64_t *size_out, const char *path)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bf_error_set (BF_EIO, "cannot open '%s': %s", path, strerror (errno));
    bf_sha256_t *h = bf_sha256_new ();
    if (!h) {
        close (fd);
        return bf_error_set (BF_ENOMEM, "out of memory hashing '%s'", path);
    }
    static _Thread_local unsigned char buf[1 << 16];
    uint64_t total = 0;
    int rc = BF_OK;
    for (;;) {
        ssize_t n = read (fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = bf_error_set (BF_EIO, "cannot read '%s': %s", path, strerror (errno));
            break;
        }
        if (n == 0)
            break;
        bf_sha256_update (h, buf, (size_t) n);
        total += (uint64_t) n;
    }
    close (fd);
    if (rc == BF_OK) {
        bf_sha256_final_hex (h, hex_out);
        if (size_out)
            *size_out = total;
    }
    bf_sha256_destroy (&h);
    return rc;
}

bool
bf_sha256_is_hex (const char *s)
{
    if (!s)
        return false;
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) || i >= BF_SHA256_HEX_LEN)
            return false;
    return i == BF_SHA256_HEX_LEN;
}

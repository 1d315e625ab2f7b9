/*  bf_key - see bf_key.h. */
#include "bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_proto.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t len, cap;
} s_buf_t;

static void
s_put (s_buf_t *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 256;
        b->buf = xrealloc (b->buf, b->cap);
    }
    memcpy (b->buf + b->len, data, len);
    b->len += len;
}

static void
s_put_str (s_buf_t *b, const char *s, size_t len)
{
    char hdr[32];
    int n = snprintf (hdr, sizeof hdr, "%zu:", len);
    s_put (b, hdr, (size_t) n);
    s_put (b, s, len);
}

static int
s_encode (s_buf_t *b, json_t *v)
{
    char hdr[32];
    if (json_is_string (v))
        s_put_str (b, json_string_value (v), json_string_length (v));
    else if (json_is_integer (v)) {
        int n = snprintf (hdr, sizeof hdr, "i%llde", (long long) json_integer_value (v));
        s_put (b, hdr, (size_t) n);
    }
    else if (json_is_array (v)) {
        s_put (b, "l", 1);
        size_t i;
        json_t *item;
        json_array_foreach (v, i, item)
            if (s_encode (b, item) != BF_OK)
                return BF_EINVAL;
        s_put (b, "e", 1);
    }
    else if (json_is_object (v)) {
        size_t n = json_object_size (v);
        const char **keys = bf_json_sorted_keys (v);
        s_put (b, "d", 1);
        for (size_t i = 0; i < n; i++) {
            s_put_str (b, keys[i], strlen (keys[i]));
            if (s_encode (b, json_object_get (v, keys[i])) != BF_OK) {
                free (keys);
                return BF_EINVAL;
            }
        }
        s_put (b, "e", 1);
        free (keys);
    }
    else
        return bf_error_set (BF_EINVAL, "value of a type the cache key cannot carry");
    return BF_OK;
}

int
bf_key_canonical (char **out, size_t *len_out, const bf_manifest_t *manifest,
                  const char *toolchain, const char *salt)
{
    /* The whole manifest, the pcf's path included: where the pcf lies in
       the tree can change what an `include finds (a pcf at rtl/inc/x.vh
       is an include file), so two paths are two designs. */
    json_t *m = bf_manifest_encode (manifest);
    json_t *top = json_pack ("{s:s, s:o, s:s, s:s}", "flow", bf_manifest_flow (manifest), "manifest", m,
                             "schema", BF_KEY_SCHEMA, "toolchain", toolchain ? toolchain : "");
    if (salt && *salt)
        json_object_set_new (top, "salt", json_string (salt));
    s_buf_t b = { 0 };
    int rc = s_encode (&b, top);
    json_decref (top);
    if (rc != BF_OK) {
        free (b.buf);
        return rc;
    }
    *out = b.buf;
    *len_out = b.len;
    return BF_OK;
}

int
bf_key_compute (char key_out[BF_SHA256_HEX_LEN + 1], const bf_manifest_t *manifest,
                const char *toolchain)
{
    return bf_key_compute_salted (key_out, manifest, toolchain, NULL);
}

int
bf_key_compute_salted (char key_out[BF_SHA256_HEX_LEN + 1], const bf_manifest_t *manifest,
                       const char *toolchain, const char *salt)
{
    char *buf;
    size_t len;
    int rc = bf_key_canonical (&buf, &len, manifest, toolchain, salt);
    if (rc != BF_OK)
        return rc;
    bf_sha256_hex (key_out, buf, len);
    free (buf);
    return BF_OK;
}

int
bf_key_action (char out[BF_SHA256_HEX_LEN + 1], const bf_manifest_t *manifest)
{
    return bf_key_compute (out, manifest, "");
}

/*  bf_body - the checks of a message body's fields (bf_proto.h:
    bf_body_*, bf_tag_valid, bf_json_sorted_keys), apart from bf_proto.c
    so that what needs only jansson (bf_manifest, the lean `submit`) does
    not link CZMQ. */
#include "bf_proto.h"
#include "bf_error.h"
#include "bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
bf_body_str (const char **out, json_t *body, const char *key, size_t max_len, bool required)
{
    json_t *v = json_object_get (body, key);
    if (!v) {
        if (required)
            return bf_error_set (BF_EINVAL, "missing field '%s'", key);
        return BF_ENOTFOUND;
    }
    if (!json_is_string (v) || json_string_length (v) > max_len
        || strlen (json_string_value (v)) != json_string_length (v))
        return bf_error_set (BF_EINVAL, "field '%s' must be a string of at most %zu bytes", key,
                             max_len);
    *out = json_string_value (v);
    return BF_OK;
}

int
bf_body_int (int64_t *out, json_t *body, const char *key, int64_t min, int64_t max, bool required)
{
    json_t *v = json_object_get (body, key);
    if (!v) {
        if (required)
            return bf_error_set (BF_EINVAL, "missing field '%s'", key);
        return BF_ENOTFOUND;
    }
    if (!json_is_integer (v) || json_integer_value (v) < min || json_integer_value (v) > max)
        return bf_error_set (BF_EINVAL, "field '%s' must be an integer from %lld to %lld", key,
                             (long long) min, (long long) max);
    *out = json_integer_value (v);
    return BF_OK;
}

int
bf_body_bool (bool *out, json_t *body, const char *key, bool required)
{
    json_t *v = json_object_get (body, key);
    if (!v) {
        if (required)
            return bf_error_set (BF_EINVAL, "missing field '%s'", key);
        return BF_ENOTFOUND;
    }
    if (!json_is_boolean (v))
        return bf_error_set (BF_EINVAL, "field '%s' must be a boolean", key);
    *out = json_is_true (v);
    return BF_OK;
}


bool
bf_tag_valid (const char *tag)
{
    size_t n = strlen (tag);
    if (n == 0 || n > BF_TAG_MAX)
        return false;
    for (const char *p = tag; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'
              || *p == '-'))
            return false;
    return true;
}

static int
s_cmp_tags (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static int
s_cmp_key (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

const char **
bf_json_sorted_keys (json_t *obj)
{
    size_t n = json_object_size (obj), i = 0;
    if (n == 0)
        return NULL;
    const char **keys = xcalloc (n, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach (obj, k, v)
        keys[i++] = k;
    qsort (keys, n, sizeof *keys, s_cmp_key);
    return keys;
}

int
bf_body_tags (json_t **out, json_t *body, const char *key)
{
    *out = NULL;
    json_t *v = json_object_get (body, key);
    if (!v) {
        *out = json_array ();
        return BF_OK;
    }
    if (!json_is_array (v) || json_array_size (v) > BF_TAGS_MAX)
        return bf_error_set (BF_EINVAL, "field '%s' must be an array of at most %d tags", key,
                             BF_TAGS_MAX);
    const char *tags[BF_TAGS_MAX];
    size_t n = 0, i;
    json_t *t;
    json_array_foreach (v, i, t) {
        const char *s = json_string_value (t);
        if (!s || strlen (s) != json_string_length (t) || !bf_tag_valid (s))
            return bf_error_set (BF_EINVAL, "bad tag '%.40s' in field '%s' (want 1 to %d "
                                 "characters of a-z 0-9 _ . -)", s ? s : "?", key, BF_TAG_MAX);
        tags[n++] = s;
    }
    qsort (tags, n, sizeof tags[0], s_cmp_tags);
    json_t *arr = json_array ();
    for (i = 0; i < n; i++)
        if (i == 0 || strcmp (tags[i], tags[i - 1]) != 0)
            json_array_append_new (arr, json_string (tags[i]));
    *out = arr;
    return BF_OK;
}

/*  bf_provenance - see bf_provenance.h. */
#include "bf_provenance.h"
#include "bf_error.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool
s_hex_id (const char *s)
{
    size_t n = strlen (s);
    return (n == 40 || n == 64) && strspn (s, "0123456789abcdef") == n;
}

/*  A string without control characters, of at most max bytes. */
static bool
s_text (json_t *v, size_t max)
{
    if (!json_is_string (v) || json_string_length (v) > max)
        return false;
    const unsigned char *s = (const unsigned char *) json_string_value (v);
    for (size_t i = 0; i < json_string_length (v); i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int
s_list (json_t *out, json_t *p, const char *key)
{
    json_t *v = json_object_get (p, key);
    if (!v)
        return BF_OK;
    if (!json_is_array (v) || json_array_size (v) > BF_PROV_LIST_MAX)
        return bf_error_set (BF_EINVAL, "bad provenance: '%s' is not an array of at most %d "
                             "names", key, BF_PROV_LIST_MAX);
    size_t i;
    json_t *e;
    json_array_foreach (v, i, e)
        if (!s_text (e, BF_PROV_STR_MAX))
            return bf_error_set (BF_EINVAL, "bad provenance: '%s' holds a name that is not "
                                 "text of at most %d bytes", key, BF_PROV_STR_MAX);
    json_object_set (out, key, v);
    return BF_OK;
}

int
bf_provenance_check (json_t **out, json_t *p)
{
    static const char *known[] = { "source", "rev", "commit", "dirty", "dirty_count",
                                   "dirty_files", "branches", "tags", "remote", "submodules" };
    *out = NULL;
    if (!json_is_object (p))
        return bf_error_set (BF_EINVAL, "bad provenance: not an object");
    const char *k;
    json_t *v;
    json_object_foreach (p, k, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp (k, known[i]) == 0;
        if (!ok)
            return bf_error_set (BF_EINVAL, "bad provenance: unknown field '%.64s'", k);
    }
    json_t *n = json_object ();
    int rc = BF_OK;
    const char *source = json_string_value (json_object_get (p, "source"));
    const char *commit = json_string_value (json_object_get (p, "commit"));
    if (!source || (strcmp (source, "worktree") != 0 && strcmp (source, "rev") != 0))
        rc = bf_error_set (BF_EINVAL, "bad provenance: 'source' is not \"worktree\" or \"rev\"");
    else if (!commit || !s_hex_id (commit))
        rc = bf_error_set (BF_EINVAL, "bad provenance: 'commit' is not 40 or 64 lowercase hex "
                           "characters");
    if (rc != BF_OK)
        goto out;
    json_object_set_new (n, "source", json_string (source));
    json_object_set_new (n, "commit", json_string (commit));
    if ((v = json_object_get (p, "rev"))) {
        if (!s_text (v, BF_PROV_STR_MAX)) {
            rc = bf_error_set (BF_EINVAL, "bad provenance: 'rev' is not text of at most %d "
                               "bytes", BF_PROV_STR_MAX);
            goto out;
        }
        json_object_set (n, "rev", v);
    }
    v = json_object_get (p, "dirty");
    if (v && !json_is_boolean (v)) {
        rc = bf_error_set (BF_EINVAL, "bad provenance: 'dirty' is not a boolean");
        goto out;
    }
    json_object_set_new (n, "dirty", json_boolean (json_is_true (v)));
    v = json_object_get (p, "dirty_count");
    if (v && (!json_is_integer (v) || json_integer_value (v) < 0
              || json_integer_value (v) > 100000000)) {
        rc = bf_error_set (BF_EINVAL, "bad provenance: 'dirty_count' is not a count");
        goto out;
    }
    if (v)
        json_object_set (n, "dirty_count", v);
    if ((rc = s_list (n, p, "dirty_files")) != BF_OK || (rc = s_list (n, p, "branches")) != BF_OK
        || (rc = s_list (n, p, "tags")) != BF_OK)
        goto out;
    if ((v = json_object_get (p, "remote"))) {
        const char *url = json_string_value (v);
        const char *scheme = url ? strstr (url, "://") : NULL;
        const char *end = scheme ? scheme + 3 + strcspn (scheme + 3, "/?#") : NULL;
        const char *at = scheme ? memchr (scheme + 3, '@', (size_t) (end - scheme - 3)) : NULL;
        if (!s_text (v, BF_PROV_URL_MAX) || at) {
            rc = bf_error_set (BF_EINVAL, "bad provenance: 'remote' is not a URL of at most %d "
                               "bytes without user info", BF_PROV_URL_MAX);
            goto out;
        }
        json_object_set (n, "remote", v);
    }
    if ((v = json_object_get (p, "submodules"))) {
        if (!json_is_array (v) || json_array_size (v) > BF_PROV_LIST_MAX) {
            rc = bf_error_set (BF_EINVAL, "bad provenance: 'submodules' is not an array of at "
                               "most %d", BF_PROV_LIST_MAX);
            goto out;
        }
        json_t *subs = json_array ();
        json_object_set_new (n, "submodules", subs);
        size_t i;
        json_t *e;
        json_array_foreach (v, i, e) {
            json_t *path = json_object_get (e, "path");
            const char *c = json_string_value (json_object_get (e, "commit"));
            if (!json_is_object (e) || json_object_size (e) != 2 || !s_text (path, BF_PROV_STR_MAX)
                || !c || !s_hex_id (c)) {
                rc = bf_error_set (BF_EINVAL, "bad provenance: a submodule is not {\"path\", "
                                   "\"commit\"}");
                goto out;
            }
            json_array_append_new (subs, json_pack ("{s:O, s:s}", "path", path, "commit", c));
        }
    }
    *out = n;
    n = NULL;   /* transferred */
out:
    json_decref (n);
    return rc;
}

void
bf_provenance_line (char *buf, size_t len, json_t *p)
{
    const char *commit = json_string_value (json_object_get (p, "commit"));
    int n = snprintf (buf, len, "commit %.12s", commit ? commit : "-");
    char names[512] = "";
    size_t used = 0;
    const char *lists[] = { "branches", "tags" };
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *e;
        json_array_foreach (json_object_get (p, lists[k]), i, e)
            if (used + json_string_length (e) + 3 < sizeof names)
                used += (size_t) snprintf (names + used, sizeof names - used, "%s%s",
                                           used ? ", " : "", json_string_value (e));
    }
    if (used && n >= 0 && (size_t) n < len)
        n += snprintf (buf + n, len - (size_t) n, " (%s)", names);
    json_int_t dirty = json_integer_value (json_object_get (p, "dirty_count"));
    if (json_is_true (json_object_get (p, "dirty")) && n >= 0 && (size_t) n < len)
        snprintf (buf + n, len - (size_t) n, " dirty: %lld file%s", (long long) dirty,
                  dirty == 1 ? "" : "s");
}

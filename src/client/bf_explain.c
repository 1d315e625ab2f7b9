/*  bf_explain - see bf_explain.h. */
#include "bf_explain.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_add (json_t *out, char *line)
{
    json_array_append_new (out, json_string (line));
    free (line);
}

/*  A short, readable form of a JSON scalar. */
static char *
s_show (json_t *v)
{
    if (!v)
        return xstrdup ("(none)");
    return json_dumps (v, JSON_ENCODE_ANY | JSON_COMPACT);
}

static json_t *
s_file_by_path (json_t *files, const char *path)
{
    size_t i;
    json_t *f;
    json_array_foreach (files, i, f)
        if (strcmp (json_string_value (json_object_get (f, "path")), path) == 0)
            return f;
    return NULL;
}

static void
s_diff_file (json_t *out, const char *what, const char *path, json_t *a, json_t *b)
{
    const char *da = json_string_value (json_object_get (a, "sha256"));
    const char *db = json_string_value (json_object_get (b, "sha256"));
    if (da && db && strcmp (da, db) != 0)
        s_add (out, xasprintf ("%s %s: content changed (sha256 %.12s -> %.12s, %lld -> %lld "
                               "bytes)", what, path, db, da,
                               (long long) json_integer_value (json_object_get (b, "size")),
                               (long long) json_integer_value (json_object_get (a, "size"))));
    const char *la = json_string_value (json_object_get (a, "lang"));
    const char *lb = json_string_value (json_object_get (b, "lang"));
    if (la && lb && strcmp (la, lb) != 0)
        s_add (out, xasprintf ("%s %s: language %s -> %s", what, path, lb, la));
}

/*  sources or data: by path, then (sources only) the order. */
static void
s_diff_files (json_t *out, const char *field, const char *what, json_t *now, json_t *cached)
{
    json_t *a = json_object_get (now, field), *b = json_object_get (cached, field);
    size_t i;
    json_t *f;
    json_array_foreach (a, i, f) {
        const char *path = json_string_value (json_object_get (f, "path"));
        json_t *g = s_file_by_path (b, path);
        if (!g)
            s_add (out, xasprintf ("%s %s: added (sha256 %.12s)", what, path,
                                   json_string_value (json_object_get (f, "sha256"))));
        else
            s_diff_file (out, what, path, f, g);
    }
    json_array_foreach (b, i, f) {
        const char *path = json_string_value (json_object_get (f, "path"));
        if (!s_file_by_path (a, path))
            s_add (out, xasprintf ("%s %s: removed", what, path));
    }
    if (strcmp (field, "sources") == 0 && json_array_size (a) == json_array_size (b)) {
        bool same_set = true, same_order = true;
        json_array_foreach (a, i, f) {
            const char *path = json_string_value (json_object_get (f, "path"));
            same_set &= s_file_by_path (b, path) != NULL;
            same_order &= strcmp (path, json_string_value (json_object_get (
                                      json_array_get (b, i), "path"))) == 0;
        }
        if (same_set && !same_order)
            s_add (out, xstrdup ("sources: read in a different order"));
    }
}

/*  defines or params: by name. */
static void
s_diff_map (json_t *out, const char *field, const char *what, json_t *now, json_t *cached)
{
    json_t *a = json_object_get (now, field), *b = json_object_get (cached, field);
    const char *k;
    json_t *v;
    json_object_foreach (a, k, v) {
        json_t *w = json_object_get (b, k);
        char *sv = s_show (v), *sw = s_show (w);
        if (!w)
            s_add (out, xasprintf ("%s %s: added (=%s)", what, k, sv));
        else if (!json_equal (v, w))
            s_add (out, xasprintf ("%s %s: %s -> %s", what, k, sw, sv));
        free (sv);
        free (sw);
    }
    json_object_foreach (b, k, v)
        if (!json_object_get (a, k))
            s_add (out, xasprintf ("%s %s: removed", what, k));
}

json_t *
bf_explain_diff (json_t *now, const char *now_toolchain, json_t *cached,
                 const char *cached_toolchain)
{
    json_t *out = json_array ();
    if (now_toolchain && cached_toolchain && strcmp (now_toolchain, cached_toolchain) != 0)
        s_add (out, xasprintf ("toolchain: %.12s -> %.12s (yosys, nextpnr, icepack or yosys' "
                               "share files changed)", cached_toolchain, now_toolchain));
    s_diff_files (out, "sources", "file", now, cached);
    s_diff_files (out, "data", "data file", now, cached);
    s_diff_map (out, "defines", "define", now, cached);
    s_diff_map (out, "params", "parameter", now, cached);
    json_t *pa = json_object_get (now, "pcf"), *pb = json_object_get (cached, "pcf");
    if (pa && !pb)
        s_add (out, xstrdup ("pcf: added"));
    else if (!pa && pb)
        s_add (out, xstrdup ("pcf: removed"));
    else if (pa && pb) {
        const char *now_path = json_string_value (json_object_get (pa, "path"));
        const char *was_path = json_string_value (json_object_get (pb, "path"));
        if (now_path && was_path && strcmp (now_path, was_path) != 0)
            s_add (out, xasprintf ("pcf: moved (%s -> %s)", was_path, now_path));
        s_diff_file (out, "pcf", now_path, pa, pb);
    }
    /* Every other field, compared whole. */
    static const char *handled[] = { "sources", "data", "defines", "params", "pcf", NULL };
    json_t *keys = json_object ();
    const char *k;
    json_t *v;
    json_object_foreach (now, k, v)
        json_object_set (keys, k, json_true ());
    json_object_foreach (cached, k, v)
        json_object_set (keys, k, json_true ());
    json_object_foreach (keys, k, v) {
        bool skip = false;
        for (int i = 0; handled[i]; i++)
            skip |= strcmp (k, handled[i]) == 0;
        json_t *a = json_object_get (now, k), *b = json_object_get (cached, k);
        if (skip || (a && b && json_equal (a, b)))
            continue;
        char *sa = s_show (a), *sb = s_show (b);
        s_add (out, xasprintf ("%s: %s -> %s", k, sb, sa));
        free (sa);
        free (sb);
    }
    json_decref (keys);
    return out;
}

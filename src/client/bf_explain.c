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

/*  A short, readable form of a field's value (its JSON, compact), taking
    the reference; "(none)" for NULL. */
static char *
s_show (json_t *v)
{
    if (!v)
        return xstrdup ("(none)");
    char *text = json_dumps (v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref (v);
    return text;
}

static void
s_diff_file (json_t *out, const char *what, const char *path, const bf_manifest_file_t *a,
             const bf_manifest_file_t *b)
{
    if (strcmp (a->sha256, b->sha256) != 0)
        s_add (out, xasprintf ("%s %s: content changed (sha256 %.12s -> %.12s, %lld -> %lld "
                               "bytes)", what, path, b->sha256, a->sha256, (long long) b->size,
                               (long long) a->size));
    if (a->lang != b->lang)
        s_add (out, xasprintf ("%s %s: language %s -> %s", what, path, bf_lang_name (b->lang),
                               bf_lang_name (a->lang)));
}

/*  sources or data: by path, then (sources only) the order. */
static void
s_diff_files (json_t *out, const char *what, const bf_manifest_files_t *a,
              const bf_manifest_files_t *b, bool ordered)
{
    for (size_t i = 0; i < a->n; i++) {
        const bf_manifest_file_t *f = &a->items[i];
        const bf_manifest_file_t *g = bf_manifest_files_find (b, f->path);
        if (!g)
            s_add (out, xasprintf ("%s %s: added (sha256 %.12s)", what, f->path, f->sha256));
        else
            s_diff_file (out, what, f->path, f, g);
    }
    for (size_t i = 0; i < b->n; i++)
        if (!bf_manifest_files_find (a, b->items[i].path))
            s_add (out, xasprintf ("%s %s: removed", what, b->items[i].path));
    if (ordered && a->n == b->n) {
        bool same_set = true, same_order = true;
        for (size_t i = 0; i < a->n; i++) {
            same_set &= bf_manifest_files_find (b, a->items[i].path) != NULL;
            same_order &= strcmp (a->items[i].path, b->items[i].path) == 0;
        }
        if (same_set && !same_order)
            s_add (out, xstrdup ("sources: read in a different order"));
    }
}

/*  defines or params: by name. */
static void
s_diff_map (json_t *out, const char *what, const bf_manifest_pairs_t *a,
            const bf_manifest_pairs_t *b)
{
    for (size_t i = 0; i < a->n; i++) {
        const bf_manifest_pair_t *v = &a->items[i];
        const bf_manifest_pair_t *w = bf_manifest_pairs_find (b, v->name);
        if (w && strcmp (v->value, w->value) == 0)
            continue;
        char *sv = s_show (json_string (v->value));
        char *sw = s_show (w ? json_string (w->value) : NULL);
        if (!w)
            s_add (out, xasprintf ("%s %s: added (=%s)", what, v->name, sv));
        else
            s_add (out, xasprintf ("%s %s: %s -> %s", what, v->name, sw, sv));
        free (sv);
        free (sw);
    }
    for (size_t i = 0; i < b->n; i++)
        if (!bf_manifest_pairs_find (a, b->items[i].name))
            s_add (out, xasprintf ("%s %s: removed", what, b->items[i].name));
}

/*  The fields compared above, not again below. */
static bool
s_handled (const char *field)
{
    static const char *handled[] = { "sources", "data", "defines", "params", "pcf", NULL };
    for (int i = 0; handled[i]; i++)
        if (strcmp (field, handled[i]) == 0)
            return true;
    return false;
}

/*  One other field, compared whole: "seed: 1 -> 2". */
static void
s_diff_field (json_t *out, const char *field, const bf_manifest_t *now,
              const bf_manifest_t *cached)
{
    json_t *a = bf_manifest_field (now, field), *b = bf_manifest_field (cached, field);
    if (a && b && json_equal (a, b)) {
        json_decref (a);
        json_decref (b);
        return;
    }
    char *sa = s_show (a), *sb = s_show (b);
    s_add (out, xasprintf ("%s: %s -> %s", field, sb, sa));
    free (sa);
    free (sb);
}

static int
s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/*  Every other field: those this design has, in the manifest's order, then
    those only the entry has, by name. */
static void
s_diff_fields (json_t *out, const bf_manifest_t *now, const bf_manifest_t *cached)
{
    const char *only_cached[32];
    size_t n = 0;
    const char *field;
    for (size_t i = 0; (field = bf_manifest_field_name (i)); i++) {
        if (s_handled (field))
            continue;
        json_t *a = bf_manifest_field (now, field), *b = bf_manifest_field (cached, field);
        if (a)
            s_diff_field (out, field, now, cached);
        else if (b && n < sizeof only_cached / sizeof only_cached[0])
            only_cached[n++] = field;
        json_decref (a);
        json_decref (b);
    }
    qsort (only_cached, n, sizeof only_cached[0], s_cmp_str);
    for (size_t i = 0; i < n; i++)
        s_diff_field (out, only_cached[i], now, cached);
}

json_t *
bf_explain_diff (const bf_manifest_t *now, const char *now_toolchain,
                 const bf_manifest_t *cached, const char *cached_toolchain)
{
    json_t *out = json_array ();
    if (now_toolchain && cached_toolchain && strcmp (now_toolchain, cached_toolchain) != 0)
        s_add (out, xasprintf ("toolchain: %.12s -> %.12s (yosys, nextpnr, icepack or yosys' "
                               "share files changed)", cached_toolchain, now_toolchain));
    s_diff_files (out, "file", &now->sources, &cached->sources, true);
    s_diff_files (out, "data file", &now->data, &cached->data, false);
    s_diff_map (out, "define", &now->defines, &cached->defines);
    s_diff_map (out, "parameter", &now->params, &cached->params);
    if (now->has_pcf && !cached->has_pcf)
        s_add (out, xstrdup ("pcf: added"));
    else if (!now->has_pcf && cached->has_pcf)
        s_add (out, xstrdup ("pcf: removed"));
    else if (now->has_pcf) {
        if (strcmp (now->pcf.path, cached->pcf.path) != 0)
            s_add (out, xasprintf ("pcf: moved (%s -> %s)", cached->pcf.path, now->pcf.path));
        s_diff_file (out, "pcf", now->pcf.path, &now->pcf, &cached->pcf);
    }
    s_diff_fields (out, now, cached);
    return out;
}

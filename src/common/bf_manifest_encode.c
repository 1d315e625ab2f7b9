/*  bf_manifest_encode - the manifest record's encoder (its normal form as
    JSON, field by field), its lifecycle and the readers the flows, the key
    and the broker share.  The decoder, with every check and limit, is in
    bf_manifest.c; the contract of both is in bf_manifest.h. */
#include "bf_manifest.h"
#include "bf_error.h"
#include "bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
bf_manifest_init (bf_manifest_t *self)
{
    memset (self, 0, sizeof *self);
    self->freq_khz = -1;
    self->seed = -1;
}

void
bf_manifest_release (bf_manifest_t *self)
{
    free (self->sources.items);
    free (self->data.items);
    free (self->defines.items);
    free (self->params.items);
    free (self->includes);
    free (self->synth_opts.items);
    free (self->pnr_opts.items);
    bf_manifest_init (self);
}

const char *
bf_flow_kind_name (bf_flow_kind_t flow)
{
    return flow == BF_FLOW_KIND_NOOP ? "noop" : "ice40";
}

const char *
bf_lang_name (bf_lang_t lang)
{
    return lang == BF_LANG_SYSTEMVERILOG ? "systemverilog" : "verilog";
}

const char *
bf_manifest_flow (const bf_manifest_t *m)
{
    return m->flow == BF_FLOW_KIND_NOOP ? BF_FLOW_NOOP : BF_FLOW_ICE40;
}

/* ---- The encoder, one function per field ----------------------------- */

static json_t *
s_file (const bf_manifest_file_t *f, bool with_lang)
{
    json_t *j = json_pack ("{s:s, s:s, s:I}", "path", f->path, "sha256", f->sha256,
                           "size", (json_int_t) f->size);
    if (with_lang)
        json_object_set_new (j, "lang", json_string (bf_lang_name (f->lang)));
    return j;
}

static json_t *
s_files (const bf_manifest_files_t *files, bool with_lang)
{
    json_t *arr = json_array ();
    for (size_t i = 0; i < files->n; i++)
        json_array_append_new (arr, s_file (&files->items[i], with_lang));
    return arr;
}

static json_t *
s_pairs (const bf_manifest_pairs_t *pairs)
{
    json_t *obj = json_object ();
    for (size_t i = 0; i < pairs->n; i++)
        json_object_set_new (obj, pairs->items[i].name, json_string (pairs->items[i].value));
    return obj;
}

static json_t *s_version (const bf_manifest_t *m) { (void) m; return json_integer (BF_MANIFEST_VERSION); }
static json_t *s_flow (const bf_manifest_t *m) { return json_string (bf_flow_kind_name (m->flow)); }
static json_t *s_top (const bf_manifest_t *m) { return json_string (m->top); }
static json_t *s_device (const bf_manifest_t *m) { return json_string (m->device->name); }
static json_t *s_package (const bf_manifest_t *m) { return m->package ? json_string (m->package) : NULL; }
static json_t *s_workdir (const bf_manifest_t *m) { return json_string (m->workdir); }
static json_t *s_sources (const bf_manifest_t *m) { return s_files (&m->sources, true); }
static json_t *s_data (const bf_manifest_t *m) { return s_files (&m->data, false); }
static json_t *s_pcf (const bf_manifest_t *m) { return m->has_pcf ? s_file (&m->pcf, false) : NULL; }
static json_t *s_defines (const bf_manifest_t *m) { return s_pairs (&m->defines); }
static json_t *s_params (const bf_manifest_t *m) { return s_pairs (&m->params); }
static json_t *s_synth_opts (const bf_manifest_t *m) { return s_pairs (&m->synth_opts); }
static json_t *s_pnr_opts (const bf_manifest_t *m) { return s_pairs (&m->pnr_opts); }

static json_t *
s_includes (const bf_manifest_t *m)
{
    json_t *arr = json_array ();
    for (size_t i = 0; i < m->n_includes; i++)
        json_array_append_new (arr, json_string (m->includes[i]));
    return arr;
}

static json_t *
s_freq_khz (const bf_manifest_t *m)
{
    return m->freq_khz >= 0 ? json_integer (m->freq_khz) : NULL;
}

static json_t *
s_seed (const bf_manifest_t *m)
{
    return m->seed >= 0 ? json_integer (m->seed) : NULL;
}

static json_t *
s_delay_ms (const bf_manifest_t *m)
{
    return m->flow == BF_FLOW_KIND_NOOP ? json_integer (m->delay_ms) : NULL;
}

/*  The fields in the encoding's order (bf_manifest.h). */
static const struct {
    const char *name;
    json_t *(*encode) (const bf_manifest_t *m);
} s_fields[] = {
    { "version", s_version },     { "flow", s_flow },         { "top", s_top },
    { "device", s_device },       { "package", s_package },   { "workdir", s_workdir },
    { "sources", s_sources },     { "data", s_data },         { "pcf", s_pcf },
    { "defines", s_defines },     { "params", s_params },     { "includes", s_includes },
    { "synth_opts", s_synth_opts }, { "pnr_opts", s_pnr_opts }, { "freq_khz", s_freq_khz },
    { "seed", s_seed },           { "delay_ms", s_delay_ms },
};
#define S_NFIELDS (sizeof s_fields / sizeof s_fields[0])

const char *
bf_manifest_field_name (size_t i)
{
    return i < S_NFIELDS ? s_fields[i].name : NULL;
}

json_t *
bf_manifest_field (const bf_manifest_t *m, const char *name)
{
    for (size_t i = 0; i < S_NFIELDS; i++)
        if (strcmp (s_fields[i].name, name) == 0)
            return s_fields[i].encode (m);
    return NULL;
}

json_t *
bf_manifest_encode (const bf_manifest_t *m)
{
    json_t *obj = json_object ();
    for (size_t i = 0; i < S_NFIELDS; i++) {
        json_t *v = s_fields[i].encode (m);
        if (v)
            json_object_set_new (obj, s_fields[i].name, v);
    }
    return obj;
}

int
bf_manifest_normalize (json_t **out, json_t *in)
{
    bf_manifest_t m;
    int rc = bf_manifest_decode (&m, in);
    *out = rc == BF_OK ? bf_manifest_encode (&m) : NULL;
    bf_manifest_release (&m);
    return rc;
}

/* ---- Readers --------------------------------------------------------- */

const bf_manifest_pair_t *
bf_manifest_pairs_find (const bf_manifest_pairs_t *pairs, const char *name)
{
    for (size_t i = 0; i < pairs->n; i++)
        if (strcmp (pairs->items[i].name, name) == 0)
            return &pairs->items[i];
    return NULL;
}

const bf_manifest_file_t *
bf_manifest_files_find (const bf_manifest_files_t *files, const char *path)
{
    for (size_t i = 0; i < files->n; i++)
        if (strcmp (files->items[i].path, path) == 0)
            return &files->items[i];
    return NULL;
}

static int
s_cmp_pair (const void *a, const void *b)
{
    return strcmp ((*(const bf_manifest_pair_t *const *) a)->name,
                   (*(const bf_manifest_pair_t *const *) b)->name);
}

int
bf_manifest_opts_argv (const char **argv, int argc, const bf_manifest_pairs_t *opts)
{
    const bf_manifest_pair_t **sorted = xcalloc (opts->n + 1, sizeof *sorted);
    for (size_t i = 0; i < opts->n; i++)
        sorted[i] = &opts->items[i];
    qsort (sorted, opts->n, sizeof *sorted, s_cmp_pair);
    for (size_t i = 0; i < opts->n; i++) {
        argv[argc++] = sorted[i]->name;
        if (sorted[i]->value[0])
            argv[argc++] = sorted[i]->value;
    }
    free (sorted);
    return argc;
}

int
bf_manifest_check_bitstream (const bf_manifest_t *m, uint64_t len)
{
    if (m->flow != BF_FLOW_KIND_ICE40)
        return BF_OK;
    uint64_t want = m->device ? m->device->bitstream_size : 0;
    if (want == 0 || want == len)
        return BF_OK;
    return bf_error_set (BF_ECORRUPT, "bitstream of %llu bytes is the wrong size for %s "
                         "(want %llu)", (unsigned long long) len, m->device->name,
                         (unsigned long long) want);
}

int
bf_manifest_each_input (const bf_manifest_t *m, bf_manifest_input_fn *fn, void *arg)
{
    const bf_manifest_files_t *lists[] = { &m->sources, &m->data };
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < lists[k]->n; i++) {
            int rc = fn (arg, &lists[k]->items[i]);
            if (rc != BF_OK)
                return rc;
        }
    return m->has_pcf ? fn (arg, &m->pcf) : BF_OK;
}

static int
s_collect_digest (void *arg, const bf_manifest_file_t *file)
{
    json_t *digests = arg;
    size_t i;
    json_t *v;
    json_array_foreach (digests, i, v)
        if (strcmp (json_string_value (v), file->sha256) == 0)
            return BF_OK;
    json_array_append_new (digests, json_string (file->sha256));
    return BF_OK;
}

json_t *
bf_manifest_input_digests (const bf_manifest_t *m)
{
    json_t *digests = json_array ();
    bf_manifest_each_input (m, s_collect_digest, digests);
    return digests;
}

/*  bf_manifest - see bf_manifest.h. */
#include "bf_manifest.h"
#include "bf_error.h"
#include "bf_ice40_devices.h"
#include "bf_log.h"
#include "bf_toolopt.h"
#include "bf_proto.h"
#include "bf_sha256.h"
#include "bf_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const bf_ice40_device_t *
s_device (const char *device)
{
    for (const bf_ice40_device_t *d = bf_ice40_devices; d->name; d++)
        if (strcmp (device, d->name) == 0)
            return d;
    return NULL;
}

bool
bf_manifest_device (const char *device, uint64_t *bitstream_size_out)
{
    const bf_ice40_device_t *d = s_device (device);
    if (d && bitstream_size_out)
        *bitstream_size_out = d->bitstream_size;
    return d != NULL;
}

bool
bf_manifest_package (const char *device, const char *package)
{
    const bf_ice40_device_t *d = s_device (device);
    for (size_t i = 0; d && d->packages[i]; i++)
        if (strcmp (d->packages[i], package) == 0)
            return true;
    return false;
}

/*  "unknown package 'x' for hx4k (nextpnr-ice40 --hx4k takes: ...)", and
    where another device takes that name, which. */
static int
s_bad_package (const char *device, const char *package)
{
    const bf_ice40_device_t *d = s_device (device);
    char list[512] = "", others[256] = "";
    size_t len = 0, olen = 0;
    for (size_t i = 0; d->packages[i] && len + 1 < sizeof list; i++) {
        int n = snprintf (list + len, sizeof list - len, "%s%s", i ? " " : "", d->packages[i]);
        len += n > 0 ? (size_t) n : 0;
    }
    for (const bf_ice40_device_t *o = bf_ice40_devices; o->name; o++)
        if (o != d && bf_manifest_package (o->name, package) && olen + 1 < sizeof others) {
            int n = snprintf (others + olen, sizeof others - olen, "%s%s", olen ? " " : "",
                              o->name);
            olen += n > 0 ? (size_t) n : 0;
        }
    if (olen)
        return bf_error_set (BF_EINVAL, "unknown package '%s' for %s (nextpnr-ice40 --%s takes: "
                             "%s; '%s' is a package of: %s)", package, device, device, list,
                             package, others);
    char shown[80];
    bf_log_escape (shown, sizeof shown, package);
    return bf_error_set (BF_EINVAL, "unknown package '%s' for %s (nextpnr-ice40 --%s takes: %s)",
                         shown, device, device, list);
}

/*  A name yosys would not read as it stands: yosys 0.23 passes every file
    name of a script command (read_verilog FILE, write_json FILE, yosys -s
    FILE) through rewrite_filename (kernel/yosys.cc), which turns a leading
    "~/" into $HOME and a leading "+/" into its share directory, and a
    shell turns any leading "~" into a home directory.  (The rest of what
    that function and glob_filename treat specially -- '"', '*', '?', '[',
    "<<" -- is outside the allowed characters.)  Refused as the first
    component of every path, include dir and string parameter. */
static bool
s_rewritten (const char *path)
{
    return path[0] == '~' || (path[0] == '+' && (path[1] == '/' || path[1] == '\0'));
}

bool
bf_manifest_valid_path (const char *path)
{
    size_t len = strlen (path);
    if (len == 0 || len > BF_MAX_PATH || path[0] == '/' || s_rewritten (path))
        return false;
    const char *seg = path;
    for (const char *p = path;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t sl = (size_t) (p - seg);
            if (sl == 0 || (sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
                return false;
            if (*p == '\0')
                break;
            seg = p + 1;
            continue;
        }
        /* Portable file name characters plus a few: nothing a yosys script,
           a shell or a terminal would read as syntax. */
        unsigned char c = (unsigned char) *p;
        if (!(isalnum (c) || strchr ("._-+@,=~", c)))
            return false;
    }
    return true;
}

static bool
s_valid_dir (const char *path)
{
    return strcmp (path, ".") == 0 || bf_manifest_valid_path (path);
}

bool
bf_manifest_valid_ident (const char *name)
{
    size_t len = strlen (name);
    if (len == 0 || len > BF_MAX_NAME || !(isalpha ((unsigned char) name[0]) || name[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum ((unsigned char) name[i]) || name[i] == '_' || name[i] == '$'))
            return false;
    return true;
}

bool
bf_manifest_valid_define_value (const char *value)
{
    size_t len = strlen (value);
    if (len > BF_MAX_VALUE)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) value[i];
        if (!(isalnum (c) || strchr ("_.'+-", c)))
            return false;
    }
    return true;
}

/*  A Verilog number: 42, -3, 8'hff, 4'sb10_x1. */
static bool
s_verilog_number (const char *value)
{
    const char *p = value;
    if (*p == '-')
        p++;
    const char *digits = p;
    while (isdigit ((unsigned char) *p))
        p++;
    if (*p == '\0')
        return p > digits;
    if (*p != '\'')
        return false;
    p++;
    if (*p == 's' || *p == 'S')
        p++;
    if (*p == '\0' || !strchr ("bodhBODH", *p))
        return false;
    p++;
    if (*p == '\0')
        return false;
    for (; *p; p++)
        if (!(isxdigit ((unsigned char) *p) || strchr ("xXzZ_", *p)))
            return false;
    return true;
}

/*  The characters a string parameter may hold: those of file names and
    a few more, nothing a yosys script would read as syntax. */
static bool
s_string_chars (const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (!(isalnum (c) || strchr ("_.-/+@,=~:", c)))
            return false;
    }
    return true;
}

bool
bf_manifest_param_value (char out[BF_MAX_VALUE + 3], const char *value)
{
    size_t len = strlen (value);
    if (len == 0 || len > BF_MAX_VALUE)
        return false;
    if (s_verilog_number (value)) {
        memcpy (out, value, len + 1);
        return true;
    }
    if (value[0] == '"') {
        if (len < 2 || value[len - 1] != '"' || !s_string_chars (value + 1, len - 2)
            || value[1] == '~' || (value[1] == '+' && (value[2] == '/' || value[2] == '"')))
            return false;   /* s_rewritten of the text between the quotes */
        memcpy (out, value, len + 1);
        return true;
    }
    if (!s_string_chars (value, len) || s_rewritten (value))
        return false;
    snprintf (out, BF_MAX_VALUE + 3, "\"%s\"", value);
    return true;
}

bool
bf_manifest_valid_param_value (const char *value)
{
    char norm[BF_MAX_VALUE + 3];
    return bf_manifest_param_value (norm, value);
}

/* ---- The decoder ----------------------------------------------------- */

typedef struct {
    json_t *seen;       /* lower-cased path -> the path, for duplicates and the tree */
    uint64_t total;
    size_t count;
} s_ctx_t;

static int
s_file (bf_manifest_file_t *out, json_t *in, const char *field, s_ctx_t *ctx, bool with_lang)
{
    if (!json_is_object (in))
        return bf_error_set (BF_EINVAL, "%s: each entry must be an object", field);
    const char *path, *sha;
    int64_t size;
    if (bf_body_str (&path, in, "path", BF_MAX_PATH + 16, true) != BF_OK
        || bf_body_str (&sha, in, "sha256", 64, true) != BF_OK
        || bf_body_int (&size, in, "size", 0, BF_MAX_FILE_SIZE, true) != BF_OK)
        return bf_error_set (BF_EINVAL, "%s: %s", field, bf_error_last ());
    if (!bf_manifest_valid_path (path))
        return bf_error_set (BF_EINVAL, "bad file name '%s' (must be relative, without '.' or '..' "
                             "parts, not starting with '~' or '+/', of the characters "
                             "A-Za-z0-9._-+@,=~/ and at most %d bytes)", path, BF_MAX_PATH);
    if (!bf_sha256_is_hex (sha))
        return bf_error_set (BF_EINVAL, "bad sha256 for '%s'", path);
    char lower[BF_MAX_PATH + 1];
    size_t i = 0;
    for (; path[i]; i++)
        lower[i] = (char) tolower ((unsigned char) path[i]);
    lower[i] = '\0';
    if (json_object_get (ctx->seen, lower))
        return bf_error_set (BF_EINVAL, "duplicate file name '%s' (names may not differ only in case)", path);
    json_object_set_new (ctx->seen, lower, json_string (path));
    if (++ctx->count > BF_MAX_FILES)
        return bf_error_set (BF_ETOOBIG, "too many files (limit %d)", BF_MAX_FILES);
    ctx->total += (uint64_t) size;
    if (ctx->total > BF_MAX_TOTAL_SIZE)
        return bf_error_set (BF_ETOOBIG, "inputs too big (limit %u bytes in all)", BF_MAX_TOTAL_SIZE);
    memset (out, 0, sizeof *out);
    snprintf (out->path, sizeof out->path, "%s", path);
    snprintf (out->sha256, sizeof out->sha256, "%s", sha);
    out->size = (uint64_t) size;
    out->lang = BF_LANG_VERILOG;
    if (with_lang) {
        const char *lang = "verilog";
        int rc = bf_body_str (&lang, in, "lang", 16, false);
        if (rc == BF_EINVAL || (strcmp (lang, "verilog") && strcmp (lang, "systemverilog")))
            return bf_error_set (BF_EINVAL, "bad lang for '%s' (want verilog or systemverilog)", path);
        if (strcmp (lang, "systemverilog") == 0)
            out->lang = BF_LANG_SYSTEMVERILOG;
    }
    return BF_OK;
}

static int
s_cmp_path (const void *a, const void *b)
{
    return strcmp (((const bf_manifest_file_t *) a)->path, ((const bf_manifest_file_t *) b)->path);
}

static int
s_files (bf_manifest_files_t *out, json_t *in, const char *field, s_ctx_t *ctx, bool sources)
{
    json_t *arr = json_object_get (in, field);
    if (!arr) {
        if (sources)
            return bf_error_set (BF_EINVAL, "no source files (give at least one .v or .sv)");
        return BF_OK;
    }
    if (!json_is_array (arr))
        return bf_error_set (BF_EINVAL, "field '%s' must be an array", field);
    if (sources && json_array_size (arr) == 0)
        return bf_error_set (BF_EINVAL, "no source files (give at least one .v or .sv)");
    if (json_array_size (arr) > BF_MAX_FILES)
        return bf_error_set (BF_ETOOBIG, "too many files (limit %d)", BF_MAX_FILES);
    size_t n = json_array_size (arr);
    out->items = xcalloc (n ? n : 1, sizeof *out->items);
    int rc = BF_OK;
    for (size_t i = 0; i < n && rc == BF_OK; i++)
        if ((rc = s_file (&out->items[i], json_array_get (arr, i), field, ctx, sources)) == BF_OK)
            out->n++;
    if (rc == BF_OK && !sources)
        qsort (out->items, n, sizeof *out->items, s_cmp_path);
    return rc;
}

/*  The file in ctx->seen (lower-cased, as names may not differ only in
    case) that dir or one of its parents names, or NULL.  dir is a checked
    relative path ("." for the root). */
static const char *
s_file_on_way (s_ctx_t *ctx, const char *dir, bool whole)
{
    char lower[BF_MAX_PATH + 1];
    size_t n = strlen (dir);
    if (n > BF_MAX_PATH || strcmp (dir, ".") == 0)
        return NULL;
    for (size_t i = 0; i <= n; i++) {
        lower[i] = (char) tolower ((unsigned char) dir[i]);
        if (dir[i] == '/' || (dir[i] == '\0' && whole)) {
            lower[i] = '\0';
            if (json_object_get (ctx->seen, lower))
                return json_string_value (json_object_get (ctx->seen, lower));
            lower[i] = '/';
        }
    }
    return NULL;
}

/*  The files, the workdir and the include dirs must fit in one tree: no
    file is also a directory of another file ("a" and "a/top.v"), and the
    workdir and include dirs are directories, not files.  A worker could
    not write such a layout, so it is the design's error, refused here
    before any worker sees it. */
static int
s_check_tree (const bf_manifest_t *m, s_ctx_t *ctx)
{
    const char *key;
    json_t *v;
    json_object_foreach (ctx->seen, key, v) {
        const char *path = json_string_value (v);
        const char *file = s_file_on_way (ctx, path, false);
        if (file)
            return bf_error_set (BF_EINVAL, "file '%s' is also a directory, of '%s' (one tree "
                                 "cannot hold both)", file, path);
    }
    const char *file = s_file_on_way (ctx, m->workdir, true);
    if (file)
        return bf_error_set (BF_EINVAL, "bad workdir '%s' (file '%s' is not a directory)",
                             m->workdir, file);
    for (size_t i = 0; i < m->n_includes; i++) {
        file = s_file_on_way (ctx, m->includes[i], true);
        if (file)
            return bf_error_set (BF_EINVAL, "bad include dir '%s' (file '%s' is not a "
                                 "directory)", m->includes[i], file);
    }
    return BF_OK;
}

static bool
s_define_value (char out[BF_MAX_VALUE + 3], const char *value)
{
    if (!bf_manifest_valid_define_value (value))
        return false;
    snprintf (out, BF_MAX_VALUE + 3, "%s", value);
    return true;
}

#define S_DEFINE_RULE "allowed: letters, digits and _.'+-, at most 256 bytes"
#define S_PARAM_RULE  "want a Verilog number such as 42 or 8'hff, or a string such as " \
                      "sw/fw.hex of letters, digits and _.-/+@,=~:, not starting with '~' " \
                      "or '+/', at most 256 bytes"

/*  defines or params: NAME -> VALUE, each value checked and put in its
    normal form by value_norm. */
static int
s_names (bf_manifest_pairs_t *out, json_t *in, const char *field, const char *what,
         bool (*value_norm) (char *, const char *), const char *rule)
{
    json_t *obj = json_object_get (in, field);
    if (!obj)
        return BF_OK;
    if (!json_is_object (obj))
        return bf_error_set (BF_EINVAL, "field '%s' must be an object of NAME: VALUE", field);
    if (json_object_size (obj) > BF_MAX_DEFINES)
        return bf_error_set (BF_ETOOBIG, "too many %s (limit %d)", field, BF_MAX_DEFINES);
    out->items = xcalloc (json_object_size (obj) + 1, sizeof *out->items);
    const char *name;
    json_t *v;
    json_object_foreach (obj, name, v) {
        if (!bf_manifest_valid_ident (name)) {
            char shown[80];
            bf_log_escape (shown, sizeof shown, name);
            return bf_error_set (BF_EINVAL, "bad %s name '%s' (want [A-Za-z_][A-Za-z0-9_$]*)",
                                 what, shown);
        }
        bf_manifest_pair_t *p = &out->items[out->n];
        if (!json_is_string (v))
            return bf_error_set (BF_EINVAL, "bad value for %s '%s' (must be a string)", what, name);
        if (!value_norm (p->value, json_string_value (v))) {
            char shown[80];
            bf_log_escape (shown, sizeof shown, json_string_value (v));
            return bf_error_set (BF_EINVAL, "bad value '%s' for %s '%s' (%s)", shown, what, name,
                                 rule);
        }
        snprintf (p->name, sizeof p->name, "%s", name);
        out->n++;
    }
    return BF_OK;
}

/*  A normalized options object (bf_toolopt_normalize) as pairs. */
static void
s_opts (bf_manifest_pairs_t *out, json_t *opts)
{
    out->items = xcalloc (json_object_size (opts) + 1, sizeof *out->items);
    const char *name;
    json_t *v;
    json_object_foreach (opts, name, v) {
        bf_manifest_pair_t *p = &out->items[out->n++];
        snprintf (p->name, sizeof p->name, "%s", name);
        snprintf (p->value, sizeof p->value, "%s", json_string_value (v));
    }
}

/*  nextpnr's --seed and --freq, given among the pnr options, move to the
    manifest's "seed" and "freq_khz" (their one canonical place). */
static int
s_pnr_moves (json_t *pnr, int64_t *seed, int64_t *freq_khz)
{
    json_t *v = json_object_get (pnr, "--seed");
    if (v) {
        int64_t n = strtoll (json_string_value (v), NULL, 10);
        if (*seed >= 0 && *seed != n)
            return bf_error_set (BF_EINVAL, "seed given twice (%lld and --pnr-opt --seed %lld)",
                                 (long long) *seed, (long long) n);
        *seed = n;
        json_object_del (pnr, "--seed");
    }
    v = json_object_get (pnr, "--freq");
    if (v) {
        /* At most 3 decimals (bf_toolopt): exact in kHz. */
        const char *t = json_string_value (v);
        int64_t khz = strtoll (t, NULL, 10) * 1000;
        const char *dot = strchr (t, '.');
        if (dot) {
            int64_t scale = 100;
            for (const char *p = dot + 1; *p; p++, scale /= 10)
                khz += (*p - '0') * scale;
        }
        if (*freq_khz >= 0 && *freq_khz != khz)
            return bf_error_set (BF_EINVAL, "frequency given twice (%lld kHz and --pnr-opt --freq %s)",
                                 (long long) *freq_khz, t);
        *freq_khz = khz;
        json_object_del (pnr, "--freq");
    }
    return BF_OK;
}

static int
s_includes (bf_manifest_t *m, json_t *in)
{
    json_t *inc = json_object_get (in, "includes");
    if (!inc)
        return BF_OK;
    if (!json_is_array (inc) || json_array_size (inc) > BF_MAX_DEFINES)
        return bf_error_set (BF_EINVAL, "field 'includes' must be an array of at most %d dirs",
                             BF_MAX_DEFINES);
    m->includes = xcalloc (json_array_size (inc) + 1, sizeof *m->includes);
    size_t i;
    json_t *v;
    json_array_foreach (inc, i, v) {
        if (!json_is_string (v) || !s_valid_dir (json_string_value (v))) {
            char shown[80];
            bf_log_escape (shown, sizeof shown, json_is_string (v) ? json_string_value (v) : "?");
            return bf_error_set (BF_EINVAL, "bad include dir '%s' (want a relative directory "
                                 "inside the design's tree)", shown);
        }
        snprintf (m->includes[m->n_includes++], BF_MAX_PATH + 1, "%s", json_string_value (v));
    }
    return BF_OK;
}

/*  synth_opts, pnr_opts and the fields nextpnr's options may move to. */
static int
s_tool_fields (bf_manifest_t *m, json_t *in)
{
    int64_t freq_khz = -1, seed = -1;
    int rc = bf_body_int (&freq_khz, in, "freq_khz", 1, BF_FREQ_KHZ_MAX, false);
    if (rc == BF_EINVAL)
        return rc;
    rc = bf_body_int (&seed, in, "seed", 0, BF_SEED_MAX, false);
    if (rc == BF_EINVAL)
        return rc;
    json_t *opts = NULL;
    if ((rc = bf_toolopt_normalize (&opts, BF_TOOL_SYNTH, json_object_get (in, "synth_opts")))
        != BF_OK)
        return rc;
    s_opts (&m->synth_opts, opts);
    json_decref (opts);
    if ((rc = bf_toolopt_normalize (&opts, BF_TOOL_PNR, json_object_get (in, "pnr_opts")))
        != BF_OK)
        return rc;
    rc = s_pnr_moves (opts, &seed, &freq_khz);
    s_opts (&m->pnr_opts, opts);
    json_decref (opts);
    if (rc != BF_OK)
        return rc;
    if (freq_khz > BF_FREQ_KHZ_MAX)
        return bf_error_set (BF_EINVAL, "frequency %lld kHz is too high (at most %d)",
                             (long long) freq_khz, BF_FREQ_KHZ_MAX);
    m->freq_khz = freq_khz;
    m->seed = seed;   /* -1, no seed: nextpnr's own default, as by hand */
    return BF_OK;
}

int
bf_manifest_decode (bf_manifest_t *out, json_t *in)
{
    bf_manifest_t *m = out;
    bf_manifest_init (m);
    s_ctx_t ctx = { .seen = json_object () };
    int rc = BF_OK;
    const char *s;
    int64_t n;
    if (!json_is_object (in)) {
        rc = bf_error_set (BF_EINVAL, "manifest must be a JSON object");
        goto out;
    }
    if ((rc = bf_body_int (&n, in, "version", 0, 1 << 30, true)) != BF_OK)
        goto out;
    if (n != BF_MANIFEST_VERSION) {
        rc = bf_error_set (BF_EINVAL, "unsupported manifest version %lld (this broker speaks %d)",
                           (long long) n, BF_MANIFEST_VERSION);
        goto out;
    }
    s = "ice40";
    if (bf_body_str (&s, in, "flow", 32, false) == BF_EINVAL
        || (strcmp (s, "ice40") != 0 && strcmp (s, "noop") != 0)) {
        rc = bf_error_set (BF_EINVAL, "unknown flow '%s' (known: ice40, noop)", s);
        goto out;
    }
    m->flow = strcmp (s, "noop") == 0 ? BF_FLOW_KIND_NOOP : BF_FLOW_KIND_ICE40;
    if ((rc = bf_body_str (&s, in, "top", BF_MAX_NAME, true)) != BF_OK)
        goto out;
    if (!bf_manifest_valid_ident (s)) {
        char shown[80];
        bf_log_escape (shown, sizeof shown, s);
        rc = bf_error_set (BF_EINVAL, "bad top module name '%s' (want [A-Za-z_][A-Za-z0-9_$]*, "
                           "at most %d bytes)", shown, BF_MAX_NAME);
        goto out;
    }
    snprintf (m->top, sizeof m->top, "%s", s);
    if ((rc = bf_body_str (&s, in, "device", 16, true)) != BF_OK)
        goto out;
    if (!(m->device = s_device (s))) {
        char shown[80];
        bf_log_escape (shown, sizeof shown, s);
        rc = bf_error_set (BF_EINVAL, "unknown device '%s' (known: lp384 lp1k lp4k lp8k hx1k "
                           "hx4k hx8k up3k up5k u1k u2k u4k)", shown);
        goto out;
    }
    /* No package: nextpnr-ice40's default for the device, as by hand. */
    s = NULL;
    if ((rc = bf_body_str (&s, in, "package", 16, false)) == BF_EINVAL)
        goto out;
    for (size_t i = 0; s && m->device->packages[i] && !m->package; i++)
        if (strcmp (m->device->packages[i], s) == 0)
            m->package = m->device->packages[i];
    if (s && !m->package) {
        rc = s_bad_package (m->device->name, s);
        goto out;
    }
    s = ".";
    if (bf_body_str (&s, in, "workdir", BF_MAX_PATH, false) == BF_EINVAL || !s_valid_dir (s)) {
        char shown[80];
        bf_log_escape (shown, sizeof shown, s);
        rc = bf_error_set (BF_EINVAL, "bad workdir '%s' (want a relative directory inside the "
                           "design's tree)", shown);
        goto out;
    }
    snprintf (m->workdir, sizeof m->workdir, "%s", s);
    if ((rc = s_files (&m->sources, in, "sources", &ctx, true)) != BF_OK)
        goto out;
    if ((rc = s_files (&m->data, in, "data", &ctx, false)) != BF_OK)
        goto out;
    json_t *pcf = json_object_get (in, "pcf");
    if (pcf && !json_is_null (pcf)) {
        if ((rc = s_file (&m->pcf, pcf, "pcf", &ctx, false)) != BF_OK)
            goto out;
        m->has_pcf = true;
    }
    if ((rc = s_names (&m->defines, in, "defines", "define", s_define_value, S_DEFINE_RULE))
        != BF_OK)
        goto out;
    if ((rc = s_names (&m->params, in, "params", "param", bf_manifest_param_value,
                       S_PARAM_RULE)) != BF_OK)
        goto out;
    if ((rc = s_includes (m, in)) != BF_OK || (rc = s_check_tree (m, &ctx)) != BF_OK
        || (rc = s_tool_fields (m, in)) != BF_OK)
        goto out;
    rc = bf_body_int (&n, in, "delay_ms", 0, BF_NOOP_DELAY_MAX, false);
    if (rc == BF_EINVAL)
        goto out;
    if (rc == BF_OK && m->flow != BF_FLOW_KIND_NOOP) {
        rc = bf_error_set (BF_EINVAL, "field 'delay_ms' belongs to the noop flow only");
        goto out;
    }
    m->delay_ms = rc == BF_OK ? n : 0;
    rc = BF_OK;
out:
    json_decref (ctx.seen);
    if (rc != BF_OK)
        bf_manifest_release (m);
    return rc;
}

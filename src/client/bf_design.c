/*  bf_design - see bf_design.h. */
#include "bf_design.h"
#include "bf_design_scan.h"
#include "../common/bf_log.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_proof.h"
#include "../common/bf_sha256.h"
#include "../common/bf_toolopt.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _bf_design_t {
    bf_manifest_t manifest;
    json_t *paths;            /* digest -> local absolute path */
    const bf_design_fs_t *fs; /* borrowed, or NULL */
};

typedef struct {
    char *abs;                /* resolved absolute path */
    char *given;              /* as the user named it */
    int kind;                 /* 0 verilog, 1 systemverilog, 2 data, 3 pcf */
    bool hashed;              /* sha256 and size hold the bytes the scan read */
    char sha256[BF_SHA256_HEX_LEN + 1];
    uint64_t size;
} s_input_t;

typedef struct {
    s_input_t *v;
    int n, cap;
    const bf_design_fs_t *fs; /* NULL: the file system */
} s_inputs_t;

/*  The file access of a design: opts->fs (bf_design.h) or the file system. */
static bool
s_real (const bf_design_fs_t *fs, char *out, const char *path)
{
    return fs ? fs->resolve (fs->arg, out, path) == BF_OK : realpath (path, out) != NULL;
}

static int
s_read (const bf_design_fs_t *fs, char **data, size_t *len, const char *abs)
{
    return fs ? fs->read (fs->arg, data, len, abs) : bf_file_read (data, len, abs, BF_MAX_FILE_SIZE);
}

static int
s_hash (const bf_design_fs_t *fs, char *hex, uint64_t *size, const char *abs)
{
    return fs ? fs->digest (fs->arg, hex, size, abs) : bf_sha256_file (hex, size, abs);
}

static const char *
s_ext (const char *path)
{
    const char *dot = strrchr (path, '.');
    const char *slash = strrchr (path, '/');
    return dot && (!slash || dot > slash) ? dot : "";
}

static int
s_kind (const char *path)
{
    const char *e = s_ext (path);
    if (strcmp (e, ".v") == 0)
        return 0;
    if (strcmp (e, ".sv") == 0)
        return 1;
    return 2;
}

static int
s_add (s_inputs_t *in, const char *given, int kind, bool named)
{
    char real[PATH_MAX];
    struct stat st;
    if (in->fs) {
        if (!s_real (in->fs, real, given))
            return bf_error_set (BF_ENOTFOUND, "cannot open '%s': No such file or directory",
                                 given);
        int rc = in->fs->check (in->fs->arg, real, named);
        if (rc != BF_OK)
            return rc;   /* worded by the fs */
    }
    else if (!realpath (given, real) || stat (real, &st) < 0)
        return bf_error_set (BF_ENOTFOUND, "cannot open '%s': %s", given, strerror (errno));
    else if (!S_ISREG (st.st_mode))
        return bf_error_set (BF_EINVAL, "not a regular file '%s'", given);
    for (int i = 0; i < in->n; i++)
        if (strcmp (in->v[i].abs, real) == 0) {
            if (kind == 3)
                in->v[i].kind = 3;
            return BF_OK;   /* named twice: keep the first */
        }
    if (in->n == in->cap) {
        in->cap = in->cap * 2 + 16;
        in->v = xrealloc (in->v, (size_t) in->cap * sizeof *in->v);
    }
    in->v[in->n].abs = xstrdup (real);
    in->v[in->n].given = xstrdup (given);
    in->v[in->n].kind = kind;
    in->v[in->n].hashed = false;
    in->n++;
    return BF_OK;
}

/*  The longest common directory of a and b (both absolute). */
static void
s_common (char *acc, const char *dir)
{
    size_t i = 0, last = 0;
    while (acc[i] && dir[i] && acc[i] == dir[i]) {
        if (acc[i] == '/')
            last = i;
        i++;
    }
    if ((acc[i] == '\0' && (dir[i] == '/' || dir[i] == '\0')))
        return;   /* acc is an ancestor of dir, or equal */
    if (acc[i] == '/' && dir[i] == '\0') {
        acc[i] = '\0';
        return;
    }
    acc[last == 0 ? 1 : last] = '\0';
}

static bool
s_under (const char *path, const char *root)
{
    size_t n = strlen (root);
    if (strcmp (root, "/") == 0)
        return true;
    return strncmp (path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static const char *
s_rel (const char *path, const char *root)
{
    if (strcmp (path, root) == 0)
        return ".";
    if (strcmp (root, "/") == 0)
        return path + 1;
    return path + strlen (root) + 1;
}

/*  What the scan of the sources found (bf_design_scan.h). */
typedef struct {
    bf_scan_kind_t kind;
    char *ident, *value;      /* ident: BF_SCAN_USE/ASSIGN; value: not for USE */
    char *srcdir;             /* the directory of the file it was found in */
    bool done;                /* looked for already */
} s_found_t;

typedef struct {
    s_inputs_t *in;
    const bf_design_opts_t *opts;
    const char *root;         /* resolved */
    s_found_t *v;
    int n, cap;
    const char *srcdir;       /* of the file being scanned */
} s_scan_t;

static void
s_on_found (void *arg, bf_scan_kind_t kind, const char *ident, const char *value)
{
    s_scan_t *sc = arg;
    if (sc->n == sc->cap) {
        sc->cap = sc->cap * 2 + 16;
        sc->v = xrealloc (sc->v, (size_t) sc->cap * sizeof *sc->v);
    }
    sc->v[sc->n++] = (s_found_t) { kind, ident ? xstrdup (ident) : NULL,
                                   value ? xstrdup (value) : NULL, xstrdup (sc->srcdir), false };
}

/*  True when a path relative to the root has a part that starts with a
    dot (.git, .ssh, .env): never sent unless named on the command line. */
static bool
s_dotted (const char *rel)
{
    for (const char *p = rel; *p; p++)
        if (*p == '.' && (p == rel || p[-1] == '/'))
            return true;
    return false;
}

/*  Adds the file that name (from a source's literal or a --param) names,
    as yosys would find it -- relative to the current directory, then to
    srcdir (NULL: none), then to each include dir -- when it exists inside
    the root and outside dot-directories.  One that exists but lies
    elsewhere is not sent, with a warning naming why. */
/*  Is cand a file the scan may add: 1 yes, 0 no such file; -1 there, but
    refused by opts->fs (the detail in bf_error_last). */
static int
s_probe (const bf_design_fs_t *fs, const char *cand)
{
    struct stat st;
    char real[PATH_MAX];
    if (!fs)
        return stat (cand, &st) == 0 && S_ISREG (st.st_mode);
    if (!s_real (fs, real, cand))
        return 0;
    int rc = fs->check (fs->arg, real, false);
    return rc == BF_OK ? 1 : rc == BF_ENOTFOUND ? 0 : -1;
}

static void
s_add_named (s_scan_t *sc, const char *name, const char *srcdir)
{
    char cand[PATH_MAX];
    const bf_design_fs_t *fs = sc->in->fs;
    if (name[0] == '/')
        return;   /* absolute: cannot resolve on a worker; the tool reports it */
    int found = s_probe (fs, name);
    if (found)
        snprintf (cand, sizeof cand, "%s", name);
    if (!found && srcdir) {
        snprintf (cand, sizeof cand, "%s/%s", srcdir, name);
        found = s_probe (fs, cand);
    }
    for (int i = 0; !found && i < sc->opts->nincludes; i++) {
        snprintf (cand, sizeof cand, "%s/%s", sc->opts->includes[i], name);
        found = s_probe (fs, cand);
    }
    char real[PATH_MAX];
    if (found < 0) {
        char shown[2 * BF_SCAN_NAME_MAX];
        bf_log_escape (shown, sizeof shown, name);
        fprintf (stderr, "bitfarm: warning: not sending '%s', which the sources name: %s\n",
                 shown, bf_error_last ());
        return;
    }
    if (!found || !s_real (fs, real, cand))
        return;
    for (int i = 0; i < sc->in->n; i++)
        if (strcmp (sc->in->v[i].abs, real) == 0)
            return;   /* already an input */
    const char *why = !s_under (real, sc->root) ? "it is outside the design's root (--root)"
                      : s_dotted (s_rel (real, sc->root)) ? "it is in a dot-directory or a dot-file"
                      : NULL;
    if (why) {
        char shown[2 * BF_SCAN_NAME_MAX];
        bf_log_escape (shown, sizeof shown, name);
        fprintf (stderr, "bitfarm: warning: not sending '%s', which the sources name: %s\n",
                 shown, why);
        return;
    }
    s_add (sc->in, cand, 2, false);
}

/*  Scans input idx (a source or a file found so far) for the names it uses. */
static void
s_scan (s_scan_t *sc, int idx)
{
    char *text = NULL;
    size_t len = 0;
    const bf_design_fs_t *fs = sc->in->fs;
    if (!(fs && fs->scan) && s_read (fs, &text, &len, sc->in->v[idx].abs) != BF_OK)
        return;
    char *dircopy = xstrdup (sc->in->v[idx].abs);
    sc->srcdir = dirname (dircopy);
    if (fs && fs->scan)
        fs->scan (fs->arg, sc->in->v[idx].abs, s_on_found, sc);
    else {
        /* Hashed here, from the bytes scanned: each file is read once, and
           the digest is that of the text whose names were found. */
        char sha[BF_SHA256_HEX_LEN + 1];
        bf_sha256_hex (sha, text, len);
        bf_design_scan (text, len, s_on_found, sc);
        s_input_t *in = &sc->in->v[idx];   /* after the scan: s_add may move v */
        memcpy (in->sha256, sha, sizeof sha);
        in->size = len;
        in->hashed = true;
    }
    free (dircopy);
    free (text);
    sc->srcdir = NULL;
}

/*  True when ident is a name some $readmem reads a file name from. */
static bool
s_used (const s_scan_t *sc, const char *ident)
{
    for (int i = 0; i < sc->n; i++)
        if (sc->v[i].kind == BF_SCAN_USE && strcmp (sc->v[i].ident, ident) == 0)
            return true;
    return false;
}

/*  The files the design uses, and those they use in turn (`include files
    are scanned like sources), until nothing new turns up: `include and
    $readmem names, strings given to parameters that a $readmem reads or
    whose name says FILE, and string --param values. */
static void
s_find_used (s_inputs_t *in, const bf_design_opts_t *opts, const char *root)
{
    s_scan_t sc = { .in = in, .opts = opts, .root = root };
    int nsrc = in->n;
    for (int i = 0; i < nsrc; i++)
        if (in->v[i].kind != 3)
            s_scan (&sc, i);
    int scanned = nsrc;
    for (;;) {
        int before = in->n;
        for (int i = 0; i < sc.n; i++) {
            s_found_t *f = &sc.v[i];
            if (f->done || f->kind == BF_SCAN_USE)
                continue;
            if (f->kind == BF_SCAN_ASSIGN && !bf_design_scan_file_name (f->ident)
                && !s_used (&sc, f->ident))
                continue;   /* perhaps used by a later file: looked at again */
            f->done = true;
            s_add_named (&sc, f->value, f->srcdir);
        }
        /* --param memfile=sw/fw.hex: relative to the current directory or
           a source's directory, like a literal. */
        for (int i = 0; scanned == nsrc && i < opts->nparams; i++) {
            const char *eq = strchr (opts->params[i], '=');
            char value[BF_MAX_VALUE + 3];
            if (!eq || !bf_manifest_param_value (value, eq + 1) || value[0] != '"')
                continue;
            value[strlen (value) - 1] = '\0';
            s_add_named (&sc, value + 1, NULL);
            for (int k = 0; k < nsrc; k++) {
                char *d = xstrdup (in->v[k].abs);
                s_add_named (&sc, value + 1, dirname (d));
                free (d);
            }
        }
        for (; scanned < in->n; scanned++)
            s_scan (&sc, scanned);   /* `included files may name more */
        if (in->n == before)
            break;
    }
    for (int i = 0; i < sc.n; i++) {
        free (sc.v[i].ident);
        free (sc.v[i].value);
        free (sc.v[i].srcdir);
    }
    free (sc.v);
}

static int
s_split (json_t *obj, const char *spec, const char *what, bool need_value)
{
    const char *eq = strchr (spec, '=');
    if (need_value && !eq)
        return bf_error_set (BF_EINVAL, "bad %s '%s' (want NAME=VALUE)", what, spec);
    char name[256];
    size_t nlen = eq ? (size_t) (eq - spec) : strlen (spec);
    if (nlen >= sizeof name)
        return bf_error_set (BF_EINVAL, "bad %s '%.64s' (name too long)", what, spec);
    memcpy (name, spec, nlen);
    name[nlen] = '\0';
    json_object_set_new (obj, name, json_string (eq ? eq + 1 : ""));
    return BF_OK;
}

int
bf_design_new (bf_design_t **out, const bf_design_opts_t *opts)
{
    *out = NULL;
    s_inputs_t in = { .fs = opts->fs };
    json_t *m = json_object ();
    json_t *paths = json_object ();
    int rc = BF_OK;
    char **incs = NULL;
    if (opts->nfiles == 0) {
        rc = bf_error_set (BF_EINVAL, "no source files given");
        goto out;
    }
    for (int i = 0; i < opts->nfiles && rc == BF_OK; i++)
        rc = s_add (&in, opts->files[i], s_kind (opts->files[i]), true);
    if (rc == BF_OK && opts->pcf)
        rc = s_add (&in, opts->pcf, 3, true);
    if (rc != BF_OK)
        goto out;
    char cwd[PATH_MAX];
    if (opts->fs)
        snprintf (cwd, sizeof cwd, "%s", opts->fs->cwd);
    else if (!getcwd (cwd, sizeof cwd)) {
        rc = bf_error_set (BF_EIO, "cannot get the current directory: %s", strerror (errno));
        goto out;
    }
    incs = xcalloc ((size_t) opts->nincludes + 1, sizeof *incs);
    for (int i = 0; i < opts->nincludes; i++) {
        char real[PATH_MAX];
        if (!s_real (opts->fs, real, opts->includes[i])) {
            rc = bf_error_set (BF_ENOTFOUND, "cannot open include dir '%s': %s",
                               opts->includes[i], strerror (errno));
            goto out;
        }
        incs[i] = xstrdup (real);
    }
    /* The root of the layout: --root; else the current directory when it
       holds every input named on the command line; else the deepest
       directory that does.  What the sources name is looked for only
       inside it. */
    char root[PATH_MAX];
    if (opts->root) {
        struct stat st;
        if (!s_real (opts->fs, root, opts->root) || (!opts->fs && stat (root, &st) != 0)) {
            rc = bf_error_set (BF_ENOTFOUND, "cannot use root '%s': %s", opts->root,
                               strerror (errno));
            goto out;
        }
        if (!opts->fs && !S_ISDIR (st.st_mode)) {
            rc = bf_error_set (BF_EINVAL, "cannot use root '%s': Not a directory", opts->root);
            goto out;
        }
    }
    else {
        char *d0 = xstrdup (in.v[0].abs);
        snprintf (root, sizeof root, "%s", dirname (d0));
        free (d0);
        for (int i = 1; i < in.n; i++) {
            char *d = xstrdup (in.v[i].abs);
            s_common (root, dirname (d));
            free (d);
        }
        for (int i = 0; i < opts->nincludes; i++)
            s_common (root, incs[i]);
        if (s_under (root, cwd))
            snprintf (root, sizeof root, "%s", cwd);
        if (strcmp (root, "/") == 0) {
            rc = bf_error_set (BF_EINVAL, "the files given have no common directory but '/' "
                               "(give --root DIR)");
            goto out;
        }
    }
    for (int i = 0; i < in.n + opts->nincludes; i++) {
        const char *abs = i < in.n ? in.v[i].abs : incs[i - in.n];
        if (!s_under (abs, root)) {
            rc = bf_error_set (BF_EINVAL, "'%s' is outside the design's root '%s' (give "
                               "--root DIR)", i < in.n ? in.v[i].given
                               : opts->includes[i - in.n], opts->root ? opts->root : root);
            goto out;
        }
    }
    s_find_used (&in, opts, root);
    /* When the current directory lies inside the root, the tools run in
       its place; otherwise at the root. */
    const char *workdir = s_under (cwd, root) ? s_rel (cwd, root) : ".";

    json_object_set_new (m, "version", json_integer (BF_MANIFEST_VERSION));
    json_object_set_new (m, "flow", json_string ("ice40"));
    json_object_set_new (m, "top", json_string (opts->top ? opts->top : ""));
    json_object_set_new (m, "device", json_string (opts->device ? opts->device : ""));
    if (opts->package)
        json_object_set_new (m, "package", json_string (opts->package));
    json_object_set_new (m, "workdir", json_string (workdir));
    json_t *sources = json_array (), *data = json_array ();
    json_object_set_new (m, "sources", sources);
    json_object_set_new (m, "data", data);
    for (int i = 0; i < in.n; i++) {
        char digest[BF_SHA256_HEX_LEN + 1];
        uint64_t size = 0;
        if (in.v[i].hashed) {
            memcpy (digest, in.v[i].sha256, sizeof digest);
            size = in.v[i].size;
        }
        else if ((rc = s_hash (opts->fs, digest, &size, in.v[i].abs)) != BF_OK)
            goto out;
        if (size > BF_MAX_FILE_SIZE) {
            rc = bf_error_set (BF_ETOOBIG, "file too big '%s' (%llu bytes, limit %u)",
                               in.v[i].given, (unsigned long long) size, BF_MAX_FILE_SIZE);
            goto out;
        }
        json_t *f = json_pack ("{s:s, s:s, s:I}", "path", s_rel (in.v[i].abs, root), "sha256",
                               digest, "size", (json_int_t) size);
        json_object_set_new (paths, digest, json_string (in.v[i].abs));
        if (in.v[i].kind <= 1) {
            json_object_set_new (f, "lang", json_string (in.v[i].kind ? "systemverilog" : "verilog"));
            json_array_append_new (sources, f);
        }
        else if (in.v[i].kind == 3)
            json_object_set_new (m, "pcf", f);
        else
            json_array_append_new (data, f);
    }
    json_t *defs = json_object (), *params = json_object (), *incl = json_array ();
    json_object_set_new (m, "defines", defs);
    json_object_set_new (m, "params", params);
    json_object_set_new (m, "includes", incl);
    for (int i = 0; i < opts->ndefines; i++)
        if ((rc = s_split (defs, opts->defines[i], "define", false)) != BF_OK)
            goto out;
    for (int i = 0; i < opts->nparams; i++)
        if ((rc = s_split (params, opts->params[i], "param", true)) != BF_OK)
            goto out;
    for (int i = 0; i < opts->nincludes; i++)
        json_array_append_new (incl, json_string (s_rel (incs[i], root)));
    if (opts->freq_mhz) {
        char *end = NULL;
        double mhz = strtod (opts->freq_mhz, &end);
        if (end == opts->freq_mhz || *end || !(mhz > 0) || mhz * 1000 > BF_FREQ_KHZ_MAX) {
            rc = bf_error_set (BF_EINVAL, "invalid value '%s' for --freq (want MHz, 0.001..1000)",
                               opts->freq_mhz);
            goto out;
        }
        json_object_set_new (m, "freq_khz", json_integer ((json_int_t) llround (mhz * 1000)));
    }
    if (opts->seed >= 0)
        json_object_set_new (m, "seed", json_integer (opts->seed));
    json_t *synth = json_object (), *pnr = json_object ();
    json_object_set_new (m, "synth_opts", synth);
    json_object_set_new (m, "pnr_opts", pnr);
    for (int i = 0; i < opts->nsynth_opts; i++)
        if ((rc = bf_toolopt_add (synth, BF_TOOL_SYNTH, opts->synth_opts[i], NULL)) != BF_OK)
            goto out;
    for (int i = 0; i < opts->npnr_opts; i++)
        if ((rc = bf_toolopt_add (pnr, BF_TOOL_PNR, opts->pnr_opts[i], NULL)) != BF_OK)
            goto out;
    if (opts->flow)
        json_object_set_new (m, "flow", json_string (opts->flow));
    if (opts->delay_ms > 0)
        json_object_set_new (m, "delay_ms", json_integer (opts->delay_ms));
    bf_manifest_t norm;
    if ((rc = bf_manifest_decode (&norm, m)) != BF_OK)
        goto out;
    bf_design_t *self = xcalloc (1, sizeof *self);
    self->manifest = norm;   /* transferred */
    self->paths = paths;
    paths = NULL;   /* transferred */
    self->fs = opts->fs;
    *out = self;
out:
    for (int i = 0; i < in.n; i++) {
        free (in.v[i].abs);
        free (in.v[i].given);
    }
    free (in.v);
    if (incs)
        for (int i = 0; i < opts->nincludes; i++)
            free (incs[i]);
    free (incs);
    json_decref (m);
    json_decref (paths);
    return rc;
}

void
bf_design_destroy (bf_design_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_manifest_release (&(*self_p)->manifest);
    json_decref ((*self_p)->paths);
    free (*self_p);
    *self_p = NULL;
}

const bf_manifest_t *
bf_design_manifest (const bf_design_t *self)
{
    return &self->manifest;
}

const char *
bf_design_path (const bf_design_t *self, const char *digest)
{
    return json_string_value (json_object_get (self->paths, digest));
}

int
bf_design_read (const bf_design_t *self, char **data, size_t *len, const char *digest)
{
    const char *path = bf_design_path (self, digest);
    if (!path)
        return bf_error_set (BF_ENOTFOUND, "no input with digest %.12s", digest);
    return s_read (self->fs, data, len, path);
}

int
bf_design_proof (const bf_design_t *self, char out[65], const char *digest, const char *key)
{
    const char *path = bf_design_path (self, digest);
    if (path && self->fs && self->fs->proof)
        return self->fs->proof (self->fs->arg, out, path, key);
    char *data = NULL;
    size_t len = 0;
    int rc = bf_design_read (self, &data, &len, digest);
    if (rc == BF_OK)
        bf_proof_hex (out, key, data, len);
    free (data);
    return rc;
}

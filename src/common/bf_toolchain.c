/*  bf_toolchain - see bf_toolchain.h. */
#include "bf_toolchain.h"
#include "bf_error.h"
#include "bf_log.h"
#include "bf_spawn.h"
#include "bf_util.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const bf_toolchain_tools[BF_TOOLCHAIN_NTOOLS] = { "yosys", "yosys-abc",
                                                              "nextpnr-ice40", "icepack" };
#define S_NTOOLS BF_TOOLCHAIN_NTOOLS
#define s_tools bf_toolchain_tools

typedef struct {
    char **paths;       /* absolute */
    char **names;       /* the name that goes into the identity */
    size_t n, cap;
} s_files_t;

static void
s_files_add (s_files_t *f, const char *path, const char *name)
{
    if (f->n == f->cap) {
        f->cap = f->cap * 2 + 16;
        f->paths = xrealloc (f->paths, f->cap * sizeof *f->paths);
        f->names = xrealloc (f->names, f->cap * sizeof *f->names);
    }
    f->paths[f->n] = xstrdup (path);
    f->names[f->n] = xstrdup (name);
    f->n++;
}

static void
s_files_release (s_files_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free (f->paths[i]);
        free (f->names[i]);
    }
    free (f->paths);
    free (f->names);
}

static int
s_which (char *out, const char *tool, const char *dir)
{
    if (dir) {
        char cand[PATH_MAX];
        snprintf (cand, sizeof cand, "%s/%s", dir, tool);
        if (access (cand, X_OK) == 0 && realpath (cand, out))
            return BF_OK;
        return bf_error_set (BF_ENOTFOUND, "tool '%s' not found in --tools '%s'", tool, dir);
    }
    const char *path = getenv ("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char *copy = xstrdup (path);
    char *save = NULL;
    int rc = bf_error_set (BF_ENOTFOUND, "tool '%s' not found in PATH", tool);
    for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save)) {
        char cand[PATH_MAX];
        snprintf (cand, sizeof cand, "%s/%s", dir, tool);
        if (access (cand, X_OK) == 0 && realpath (cand, out)) {
            rc = BF_OK;
            break;
        }
    }
    free (copy);
    return rc;
}

static int
s_cmp (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/*  Adds every regular file under dir (recursively), sorted by name. */
static void
s_walk (s_files_t *f, const char *dir, const char *rel)
{
    DIR *d = opendir (dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0
            || strcmp (e->d_name, "__pycache__") == 0)
            continue;
        if (n == cap) {
            cap = cap * 2 + 16;
            names = xrealloc (names, cap * sizeof *names);
        }
        names[n++] = xstrdup (e->d_name);
    }
    closedir (d);
    qsort (names, n, sizeof *names, s_cmp);
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf ("%s/%s", dir, names[i]);
        char *r = xasprintf ("%s/%s", rel, names[i]);
        struct stat st;
        if (stat (path, &st) == 0) {
            if (S_ISDIR (st.st_mode))
                s_walk (f, path, r);
            else if (S_ISREG (st.st_mode))
                s_files_add (f, path, r);
        }
        free (path);
        free (r);
        free (names[i]);
    }
    free (names);
}

/*  Keeps the first line holding `want` (or the first non-empty line when
    want is ""), escaped; arg: s_version_t. */
typedef struct {
    char line[256];
    const char *want;
} s_version_t;

static void
s_version_line (void *arg, const char *line)
{
    s_version_t *v = arg;
    if (!v->line[0] && line[0] && strstr (line, v->want))
        bf_log_escape (v->line, sizeof v->line, line);
}

/*  One tool's version line: what `TOOL ARGS` prints first (containing
    want), or "unknown, sha256 PREFIX" for a tool without a version option. */
static json_t *
s_version (const char *tool, const char *arg1, const char *arg2, const char *want,
           const char *real_path)
{
    s_version_t v = { .want = want };
    if (arg1) {
        const char *argv[] = { tool, arg1, arg2, NULL };
        bf_spawn_opts_t opts = { .argv = argv, .timeout_ms = 10000, .on_line = s_version_line,
                                 .arg = &v };
        bf_spawn_result_t res;
        bf_spawn_run (&res, &opts);
    }
    if (!v.line[0]) {
        char digest[BF_SHA256_HEX_LEN + 1] = "";
        bf_sha256_file (digest, NULL, real_path);
        snprintf (v.line, sizeof v.line, "unknown, sha256 %.16s", digest);
    }
    return json_string (v.line);
}

/*  Every tool's version line (bf_toolchain_t.versions); files holds the
    tools' real paths first, in s_tools order. */
static json_t *
s_versions (const bf_toolchain_t *tc, const s_files_t *files)
{
    json_t *v = json_object ();
    json_object_set_new (v, "yosys", s_version (tc->paths[0], "-V", NULL, "", files->paths[0]));
    json_object_set_new (v, "yosys-abc", s_version (tc->paths[1], "-c", "version", "ABC",
                                                    files->paths[1]));
    json_object_set_new (v, "nextpnr-ice40", s_version (tc->paths[2], "--version", NULL, "",
                                                        files->paths[2]));
    json_object_set_new (v, "icepack", s_version (tc->paths[3], NULL, NULL, "", files->paths[3]));
    return v;
}

const char *
bf_toolchain_path (const bf_toolchain_t *self, const char *name)
{
    for (int i = 0; self && i < S_NTOOLS; i++)
        if (strcmp (name, s_tools[i]) == 0 && self->paths[i])
            return self->paths[i];
    return name;
}

int
bf_toolchain_identify (bf_toolchain_t *out, const char *dir, const char *memo_path)
{
    memset (out, 0, sizeof *out);
    s_files_t files = { 0 };
    int rc = BF_OK;
    char yosys_path[PATH_MAX] = "";
    if (dir) {
        char real[PATH_MAX];
        if (!realpath (dir, real))
            return bf_error_set (BF_ENOTFOUND, "cannot open --tools '%s': %s", dir,
                                 strerror (errno));
        out->dir = xstrdup (real);
    }
    for (int i = 0; i < S_NTOOLS; i++)
        out->paths[i] = out->dir ? xasprintf ("%s/%s", out->dir, s_tools[i])
                                 : xstrdup (s_tools[i]);
    for (int i = 0; i < S_NTOOLS; i++) {
        char p[PATH_MAX];
        if ((rc = s_which (p, s_tools[i], out->dir)) != BF_OK)
            goto out;
        s_files_add (&files, p, s_tools[i]);
        if (i == 0)
            snprintf (yosys_path, sizeof yosys_path, "%s", p);
    }
    char *copy = xstrdup (yosys_path);
    char *share = xasprintf ("%s/../share/yosys", dirname (copy));
    free (copy);
    s_walk (&files, share, "share/yosys");
    free (share);

    /* The memo signature: every file's name, path, size, inode and mtime. */
    bf_sha256_t *sig = bf_sha256_new ();
    bf_sha256_update (sig, "memo/2\n", 7);   /* the memo's format: bump when it changes */
    for (size_t i = 0; i < files.n; i++) {
        struct stat st;
        char line[PATH_MAX + 256];
        if (stat (files.paths[i], &st) < 0)
            continue;
        int len = snprintf (line, sizeof line, "%s\t%s\t%lld\t%llu\t%lld.%09ld\n", files.names[i],
                            files.paths[i], (long long) st.st_size,
                            (unsigned long long) st.st_ino, (long long) st.st_mtim.tv_sec,
                            st.st_mtim.tv_nsec);
        bf_sha256_update (sig, line, (size_t) len);
    }
    char sighex[BF_SHA256_HEX_LEN + 1];
    bf_sha256_final_hex (sig, sighex);
    bf_sha256_destroy (&sig);

    if (memo_path) {
        char *text = NULL;
        if (bf_file_read (&text, NULL, memo_path, 1 << 16) == BF_OK) {
            json_t *memo = json_loads (text, 0, NULL);
            const char *msig = json_string_value (json_object_get (memo, "signature"));
            const char *mid = json_string_value (json_object_get (memo, "id"));
            json_t *mver = json_object_get (memo, "versions");
            if (msig && mid && json_is_object (mver) && strcmp (msig, sighex) == 0
                && bf_sha256_is_hex (mid)) {
                snprintf (out->id, sizeof out->id, "%s", mid);
                out->versions = json_incref (mver);
            }
            json_decref (memo);
            free (text);
            if (out->versions)
                goto out;
        }
    }

    bf_sha256_t *id = bf_sha256_new ();
    for (size_t i = 0; i < files.n; i++) {
        char digest[BF_SHA256_HEX_LEN + 1];
        if ((rc = bf_sha256_file (digest, NULL, files.paths[i])) != BF_OK) {
            bf_sha256_destroy (&id);
            goto out;
        }
        char *line = xasprintf ("%s\t%s\n", files.names[i], digest);
        bf_sha256_update (id, line, strlen (line));
        free (line);
    }
    bf_sha256_final_hex (id, out->id);
    bf_sha256_destroy (&id);
    out->versions = s_versions (out, &files);
    if (memo_path) {
        json_t *memo = json_pack ("{s:s, s:s, s:O}", "signature", sighex, "id", out->id,
                                  "versions", out->versions);
        char *text = json_dumps (memo, JSON_INDENT (2) | JSON_SORT_KEYS);
        if (bf_file_write_atomic (memo_path, text, strlen (text), 0644) != BF_OK)
            bf_warn ("%s", bf_error_last ());
        free (text);
        json_decref (memo);
    }
out:
    s_files_release (&files);
    return rc;
}

void
bf_toolchain_release (bf_toolchain_t *self)
{
    json_decref (self->versions);
    self->versions = NULL;
    free (self->dir);
    self->dir = NULL;
    for (int i = 0; i < S_NTOOLS; i++) {
        free (self->paths[i]);
        self->paths[i] = NULL;
    }
}

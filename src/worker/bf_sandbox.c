/*  bf_sandbox - see bf_sandbox.h. */
#include "bf_sandbox.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*  Top-level system directories: on a merged-/usr system (Debian 12) these
    are links into /usr and are recreated as links; otherwise bound
    read-only. */
static const char *s_top[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", NULL };

/*  What every sandbox starts with: namespaces, environment, the system. */
static const char *const s_head[] = {
    "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
    "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
    "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8",
    "--ro-bind", "/usr", "/usr",
    "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
    "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
    "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"
};

static void
s_add (bf_sandbox_t *self, const char *a, const char *b, const char *c)
{
    const char *parts[] = { a, b, c };
    for (int i = 0; i < 3; i++)
        if (parts[i] && self->nsystem < 31)
            self->system_args[self->nsystem++] = xstrdup (parts[i]);
}

const char **
bf_sandbox_argv (const bf_sandbox_t *self, const char *job_dir, const char *cwd,
                 const char *const *argv)
{
    size_t n = 0;
    while (argv[n])
        n++;
    /* bwrap, s_head, the system, --bind JOB JOB --chdir CWD --, argv, NULL */
    size_t nhead = sizeof s_head / sizeof s_head[0];
    const char **v = xcalloc (1 + nhead + (size_t) self->nsystem + 6 + n + 1, sizeof *v);
    size_t k = 0;
    if (self->enabled) {
        v[k++] = self->bwrap;
        for (size_t i = 0; i < nhead; i++)
            v[k++] = s_head[i];
        for (int i = 0; i < self->nsystem; i++)
            v[k++] = self->system_args[i];
        v[k++] = "--bind";
        v[k++] = job_dir;
        v[k++] = job_dir;
        v[k++] = "--chdir";
        v[k++] = cwd;
        v[k++] = "--";
    }
    for (size_t i = 0; i < n; i++)
        v[k++] = argv[i];
    v[k] = NULL;
    return v;
}

/*  bf_spawn_line_fn keeping the first line of output (arg: char[512]). */
static void
s_first_line (void *arg, const char *line)
{
    char *first = arg;
    if (!first[0])
        snprintf (first, 512, "%s", line);
}

int
bf_sandbox_init (bf_sandbox_t *self, const char *scratch_dir)
{
    if (self->limits.cpu_s <= 0)
        self->limits.cpu_s = BF_SANDBOX_CPU_DEFAULT;
    if (self->limits.as_bytes <= 0)
        self->limits.as_bytes = BF_SANDBOX_AS_DEFAULT;
    if (self->limits.fsize_bytes <= 0)
        self->limits.fsize_bytes = BF_SANDBOX_FSIZE_DEFAULT;
    if (self->limits.nproc <= 0)
        self->limits.nproc = BF_SANDBOX_NPROC_DEFAULT;
    if (!self->bwrap)
        self->bwrap = xstrdup ("bwrap");
    for (int i = 0; s_top[i]; i++) {
        struct stat sb;
        char target[256];
        if (lstat (s_top[i], &sb) != 0)
            continue;
        if (S_ISLNK (sb.st_mode)) {
            ssize_t n = readlink (s_top[i], target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            s_add (self, "--symlink", target, s_top[i]);
        }
        else if (S_ISDIR (sb.st_mode))
            s_add (self, "--ro-bind", s_top[i], s_top[i]);
    }
    if (!self->enabled)
        return BF_OK;
    /* A real trial: the same sandbox a tool gets, running `true`. */
    const char *trial[] = { "true", NULL };
    const char **argv = bf_sandbox_argv (self, scratch_dir, scratch_dir, trial);
    char first[512] = "";
    bf_spawn_opts_t opts = { .argv = argv, .timeout_ms = 30000, .on_line = s_first_line,
                             .arg = first, .limits = &self->limits };
    bf_spawn_result_t res;
    int rc = bf_spawn_run (&res, &opts);
    free (argv);
    if (rc != BF_OK)
        rc = bf_error_set (BF_ERROR, "cannot sandbox builds: %s (install bubblewrap, or start "
                           "with --no-sandbox to build unconfined)", bf_error_last ());
    else if (!res.exited || res.exit_code != 0)
        rc = bf_error_set (BF_ERROR, "cannot sandbox builds: bubblewrap failed here (%s); it "
                           "needs user namespaces (sysctl kernel.unprivileged_userns_clone=1) "
                           "or root.  Start with --no-sandbox to build unconfined",
                           first[0] ? first : "no output");
    return rc;
}

/*  True when path is root or lies below it. */
static bool
s_below (const char *path, const char *root)
{
    size_t n = strlen (root);
    return strncmp (path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

void
bf_sandbox_show (bf_sandbox_t *self, const char *tools_dir)
{
    char real[PATH_MAX];
    if (!tools_dir || !realpath (tools_dir, real) || s_below (real, "/usr"))
        return;
    /* The prefix (DIR/..) holds what the tools load: lib/, share/yosys. */
    char *slash = strrchr (real, '/');
    if (slash && slash != real && strcmp (slash, "/bin") == 0)
        *slash = '\0';
    if (self->nshown < (int) (sizeof self->shown / sizeof self->shown[0])) {
        self->shown[self->nshown++] = xstrdup (real);
        s_add (self, "--ro-bind", real, real);
    }
}

void
bf_sandbox_hide (bf_sandbox_t *self, const char *dir)
{
    char real[PATH_MAX];
    if (!dir || !realpath (dir, real))
        return;
    bool visible = s_below (real, "/usr");
    for (int i = 0; i < self->nshown; i++)
        visible |= s_below (real, self->shown[i]);
    if (visible)
        s_add (self, "--tmpfs", real, NULL);
}

void
bf_sandbox_fini (bf_sandbox_t *self)
{
    for (int i = 0; i < self->nsystem; i++)
        free (self->system_args[i]);
    self->nsystem = 0;
    for (int i = 0; i < self->nshown; i++)
        free (self->shown[i]);
    self->nshown = 0;
    free (self->bwrap);
    self->bwrap = NULL;
}

void
bf_sandbox_result (const bf_sandbox_t *self, bf_spawn_result_t *res)
{
    if (self->enabled && res->exited && res->exit_code > 128 && res->exit_code < 128 + 65) {
        res->exited = false;
        res->term_signal = res->exit_code - 128;
        res->exit_code = 0;
    }
}

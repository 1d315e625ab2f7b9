/*  bf_sandbox - see bf_sandbox.h. */
#include "bf_sandbox.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <errno.h>
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
    /* /etc readable (a root bwrap makes implied directories 0700, and a
       tool dropped to BF_SANDBOX_UID then gets EACCES, not ENOENT, for
       what is not there: perl, so Verilator, dies on /etc/perl) */
    "--perms", "0755", "--dir", "/etc",
    "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
    "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
    "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"
};

/*  For a root worker (drop_root): a privileged bwrap without a user
    namespace (in one, uid 65534 would still be host root: see the header),
    with only the capabilities setpriv needs. */
static const char *const s_unshare_root[] = {
    "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
    "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
    "--cap-add", "CAP_SETPCAP"
};

#define S_STR_(x) #x
#define S_STR(x) S_STR_ (x)
static const char *const s_setpriv[] = {
    BF_SANDBOX_SETPRIV, "--reuid", S_STR (BF_SANDBOX_UID), "--regid", S_STR (BF_SANDBOX_GID),
    "--clear-groups", "--bounding-set", "-all", "--inh-caps", "-all", "--no-new-privs", "--"
};

#define S_N(a) (sizeof (a) / sizeof (a)[0])

static void
s_add (bf_sandbox_t *self, const char *a, const char *b, const char *c)
{
    const char *parts[] = { a, b, c };
    for (int i = 0; i < 3; i++)
        if (parts[i] && self->nsystem < (int) S_N (self->system_args) - 1)
            self->system_args[self->nsystem++] = xstrdup (parts[i]);
}

/*  True when path is root or lies below it. */
static bool
s_below (const char *path, const char *root)
{
    size_t n = strlen (root);
    return strncmp (path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/*  Whether the parents of dir need making passable (0755) inside the
    sandbox: those bwrap creates itself are 0700, closed to uid 65534. */
static bool
s_make_parent (const bf_sandbox_t *self, const char *parent)
{
    if (s_below (parent, "/usr") || strcmp (parent, "/tmp") == 0)
        return false;
    for (int i = 0; i < self->nshown; i++)
        if (s_below (parent, self->shown[i]))
            return false;
    return true;
}

const char **
bf_sandbox_argv (const bf_sandbox_t *self, const char *job_dir, const char *cwd,
                 const char *const *argv)
{
    size_t n = 0;
    while (argv[n])
        n++;
    /* For a root worker: "--perms 0755 --dir P" for every parent P of the
       job directory, the strings kept after the vector, in the same block
       (so that one free() frees all). */
    size_t nparents = 0, jlen = strlen (job_dir);
    if (self->enabled && self->drop_root)
        for (size_t i = 1; i < jlen; i++)
            nparents += job_dir[i] == '/';
    size_t nhead = S_N (s_head);
    size_t nv = 1 + S_N (s_unshare_root) + nhead + (size_t) self->nsystem + 4 * nparents + 6
                + S_N (s_setpriv) + n + 1;
    const char **v = xcalloc (1, nv * sizeof *v + (jlen + 1) * (nparents + 1));
    char *strings = (char *) (v + nv);
    size_t k = 0;
    if (self->enabled) {
        v[k++] = self->bwrap;
        for (size_t i = 0; i < nhead; i++) {
            if (self->drop_root && strcmp (s_head[i], "--unshare-all") == 0) {
                for (size_t u = 0; u < S_N (s_unshare_root); u++)
                    v[k++] = s_unshare_root[u];
                continue;
            }
            v[k++] = s_head[i];
        }
        for (int i = 0; i < self->nsystem; i++)
            v[k++] = self->system_args[i];
        for (size_t i = 1; nparents && i < jlen; i++) {
            if (job_dir[i] != '/')
                continue;
            memcpy (strings, job_dir, i);
            strings[i] = '\0';
            if (s_make_parent (self, strings)) {
                v[k++] = "--perms";
                v[k++] = "0755";
                v[k++] = "--dir";
                v[k++] = strings;
                strings += i + 1;
            }
        }
        v[k++] = "--bind";
        v[k++] = job_dir;
        v[k++] = job_dir;
        v[k++] = "--chdir";
        v[k++] = cwd;
        v[k++] = "--";
        for (size_t i = 0; self->drop_root && i < S_N (s_setpriv); i++)
            v[k++] = s_setpriv[i];
    }
    for (size_t i = 0; i < n; i++)
        v[k++] = argv[i];
    v[k] = NULL;
    return v;
}

const char **
bf_sandbox_program_argv (const bf_sandbox_t *self, const char *job_dir,
                         const bf_sandbox_reach_t *reach, const char *const *argv)
{
    size_t n = 0;
    while (argv[n])
        n++;
    size_t nhead = S_N (s_head);
    size_t nv = 1 + nhead + (size_t) self->nsystem + 1 + 3 + 3 * S_N (reach->nodes) + 6 + n + 1;
    const char **v = xcalloc (nv, sizeof *v);
    size_t k = 0;
    if (self->enabled) {
        v[k++] = self->bwrap;
        for (size_t i = 0; i < nhead; i++)
            v[k++] = s_head[i];
        for (int i = 0; i < self->nsystem; i++)
            v[k++] = self->system_args[i];
        if (reach->net)
            v[k++] = "--share-net";
        if (reach->usb) {
            v[k++] = "--ro-bind";
            v[k++] = "/sys";
            v[k++] = "/sys";
        }
        for (int i = 0; i < reach->nnodes && i < (int) S_N (reach->nodes); i++) {
            v[k++] = "--dev-bind-try";   /* a node that is not there: a cable error */
            v[k++] = reach->nodes[i];
            v[k++] = reach->nodes[i];
        }
        v[k++] = "--ro-bind";
        v[k++] = job_dir;
        v[k++] = job_dir;
        v[k++] = "--chdir";
        v[k++] = job_dir;
        v[k++] = "--";
    }
    for (size_t i = 0; i < n; i++)
        v[k++] = argv[i];
    v[k] = NULL;
    return v;
}

int
bf_sandbox_give (const bf_sandbox_t *self, const char *dir)
{
    if (!self->enabled || !self->drop_root)
        return BF_OK;
    if (chown (dir, BF_SANDBOX_UID, BF_SANDBOX_GID) != 0)
        return bf_error_set (BF_EIO, "cannot give a job directory to uid %d: %s",
                             BF_SANDBOX_UID, strerror (errno));
    return BF_OK;
}

/*  bf_spawn_line_fn keeping the first line of output (arg: char[512]). */
static void
s_first_line (void *arg, const char *line)
{
    char *first = arg;
    if (!first[0])
        snprintf (first, 512, "%s", line);
}

/*  The first line of a small file (a sysctl, /proc/self/status) into buf;
    false when it cannot be read. */
static bool
s_read_small (char *buf, size_t len, const char *path)
{
    FILE *f = fopen (path, "re");
    if (!f)
        return false;
    size_t n = fread (buf, 1, len - 1, f);
    fclose (f);
    buf[n] = '\0';
    return true;
}

/*  Appends ", TEXT" (or "TEXT" first) to the causes in out (size len). */
static void
s_cause (char *out, size_t len, const char *text)
{
    size_t used = strlen (out);
    snprintf (out + used, len - used, "%s%s", used ? "; " : "", text);
}

/*  Why bubblewrap may have failed here, from what this host shows: a
    seccomp filter, a chroot, a container, a sysctl that exists and is off.
    Writes one clause into out; never suggests a sysctl this kernel lacks,
    nor "run as root" to root. */
static void
s_causes (char *out, size_t len, bool root)
{
    char buf[4096];
    out[0] = '\0';
    if (s_read_small (buf, sizeof buf, "/proc/self/status")) {
        const char *sc = strstr (buf, "\nSeccomp:");
        if (sc && atoi (sc + 9) == 2)
            s_cause (out, len, "this process runs under a seccomp filter (a container's "
                     "profile) that may forbid creating namespaces");
    }
    struct stat r, r1;
    if (stat ("/", &r) == 0 && stat ("/proc/1/root", &r1) == 0
        && (r.st_dev != r1.st_dev || r.st_ino != r1.st_ino))
        s_cause (out, len, "this runs in a chroot (bubblewrap cannot start inside one)");
    if (access ("/.dockerenv", F_OK) == 0 || access ("/run/.containerenv", F_OK) == 0
        || getenv ("container"))
        s_cause (out, len, "this runs in a container, which may deny user namespaces");
    if (s_read_small (buf, sizeof buf, "/proc/sys/user/max_user_namespaces") && atol (buf) == 0)
        s_cause (out, len, "user namespaces are off (sysctl user.max_user_namespaces=0; "
                 "raise it)");
    if (!root && s_read_small (buf, sizeof buf, "/proc/sys/kernel/unprivileged_userns_clone")
        && atoi (buf) == 0)
        s_cause (out, len, "unprivileged user namespaces are off (sysctl "
                 "kernel.unprivileged_userns_clone=1 allows them)");
    if (!root
        && s_read_small (buf, sizeof buf, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
        && atoi (buf) == 1)
        s_cause (out, len, "AppArmor restricts unprivileged user namespaces (sysctl "
                 "kernel.apparmor_restrict_unprivileged_userns)");
    if (!out[0])
        s_cause (out, len, root ? "likely a container or chroot that denies namespaces or "
                 "mounts, or a seccomp profile that forbids them"
                 : "likely a container or chroot without user namespaces, or a seccomp "
                 "profile that forbids them");
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
    self->drop_root = self->enabled && geteuid () == 0;
    if (self->drop_root && access (BF_SANDBOX_SETPRIV, X_OK) != 0)
        return bf_error_set (BF_ERROR, "cannot sandbox builds as root: %s is missing (Debian's "
                             "util-linux); the tools must run as uid %d, or --limit-procs would "
                             "not hold (start with --no-sandbox to build unconfined)",
                             BF_SANDBOX_SETPRIV, BF_SANDBOX_UID);
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
    else if (!res.exited || res.exit_code != 0) {
        char causes[768];
        s_causes (causes, sizeof causes, geteuid () == 0);
        rc = bf_error_set (BF_ERROR, "cannot sandbox builds: bubblewrap failed here ('%s'): %s; "
                           "start with --no-sandbox to build unconfined",
                           first[0] ? first : "no output", causes);
    }
    return rc;
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
        /* Its parents passable to uid 65534 (a root worker's tools). */
        for (char *p = real + 1; self->drop_root && (p = strchr (p, '/')); p++) {
            *p = '\0';
            if (s_make_parent (self, real)) {
                s_add (self, "--perms", "0755", NULL);
                s_add (self, "--dir", real, NULL);
            }
            *p = '/';
        }
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

/*  bitfarm_design - designs and their submission (include/bitfarm.h).

    A design is a record of options exactly as the command line parses
    them (bf_cli_args_t, set by bf_cli_apply), so a design option means
    what the CLI's option of that name means; bitfarm_submit prepares it
    with bf_submission, as `bitfarm submit` does, in the design's
    directory (bf_lib_in_dir). */
#include "bitfarm_int.h"
#include "../client/bf_git.h"
#include "../client/bf_submission.h"
#include "../common/bf_error.h"
#include "../common/bf_opt.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FILES_MAX   4096          /* files added to one design */
#define S_VALUE_MAX   4096          /* bytes of one option's value */

/*  The design options (bitfarm_design_set): their CLI option, and whether
    the value is a path (made absolute for a project's design: the
    project's paths are relative to its directory, these to the caller's). */
static const struct {
    const char *name;
    int opt;
    bool path;
} s_options[] = {
    { "top", BF_O_TOP, false },          { "device", BF_O_DEVICE, false },
    { "package", BF_O_PACKAGE, false },  { "pcf", BF_O_PCF, true },
    { "freq", BF_O_FREQ, false },        { "seed", BF_O_SEED, false },
    { "flow", BF_O_FLOW, false },        { "delay", BF_O_DELAY, false },
    { "root", BF_O_ROOT, true },         { "regio", BF_O_REGIO, false },
    { "rev", BF_O_REV, false },          { "git-dir", BF_O_GIT_DIR, true },
    { "define", BF_O_DEFINE, false },    { "include", BF_O_INCLUDE, true },
    { "param", BF_O_PARAM, false },      { "synth-opt", BF_O_SYNTH_OPT, false },
    { "pnr-opt", BF_O_PNR_OPT, false },
};

static const char *
s_own (bitfarm_design *d, char *s)
{
    d->strings = xrealloc (d->strings, (d->nstrings + 1) * sizeof *d->strings);
    d->strings[d->nstrings++] = s;
    return s;
}

/*  The options record in use: the target's for a project's design. */
static bf_cli_args_t *
s_args (bitfarm_design *d)
{
    return d->project ? &d->target.args : &d->args;
}

static bitfarm_design *
s_new (void)
{
    bitfarm_design *d = xcalloc (1, sizeof *d);
    d->args.design.seed = -1;
    if (!getcwd (d->dir, sizeof d->dir)) {
        bitfarm_design_free (&d);
        bf_lib_error (BITFARM_EINFRA, "cannot read the current directory: %s",
                      strerror (errno));
    }
    return d;
}

int
bitfarm_design_new (bitfarm_design **out, const char *top, const char *device,
                    const char *package)
{
    *out = NULL;
    bitfarm_design *d = s_new ();
    if (!d)
        return bitfarm_error_last ()->code;
    int rc = BITFARM_OK;
    if (!top || !*top)
        rc = bf_lib_error (BITFARM_EUSAGE, "a design needs its top module");
    if (rc == BITFARM_OK)
        rc = bitfarm_design_set (d, "top", top);
    if (rc == BITFARM_OK && device)
        rc = bitfarm_design_set (d, "device", device);
    if (rc == BITFARM_OK && package)
        rc = bitfarm_design_set (d, "package", package);
    if (rc != BITFARM_OK)
        bitfarm_design_free (&d);
    *out = d;
    return rc;
}

void
bitfarm_design_free (bitfarm_design **design_p)
{
    if (!design_p || !*design_p)
        return;
    bitfarm_design *d = *design_p;
    bf_cli_args_release (&d->args);
    bf_target_release (&d->target);
    bf_project_destroy (&d->project);
    bf_git_destroy (&d->git);
    for (size_t i = 0; i < d->nstrings; i++)
        free (d->strings[i]);
    free (d->strings);
    for (size_t i = 0; i < d->nfiles; i++)
        free (d->files[i]);
    free (d->files);
    free (d);
    *design_p = NULL;
}

/*  A path given by the caller, as the design will read it: relative to
    the design's directory for a plain design (its own), absolute from the
    caller's current directory for a project's design. */
static char *
s_path (bitfarm_design *d, const char *path)
{
    if (!d->project || path[0] == '/')
        return xstrdup (path);
    char cwd[PATH_MAX];
    if (!getcwd (cwd, sizeof cwd))
        return xstrdup (path);
    return xasprintf ("%s/%s", cwd, path);
}

static int
s_check_value (const char *what, const char *value)
{
    if (!value)
        return bf_lib_error (BITFARM_EUSAGE, "%s: no value (NULL)", what);
    size_t n = strlen (value);
    if (n == 0 || n > S_VALUE_MAX)
        return bf_lib_error (BITFARM_EUSAGE, "%s: value of %zu bytes (1 .. %d)", what, n,
                             S_VALUE_MAX);
    return BITFARM_OK;
}

int
bitfarm_design_set (bitfarm_design *design, const char *option, const char *value)
{
    if (!design || !option)
        return bf_lib_error (BITFARM_EUSAGE, "bitfarm_design_set: no design or option");
    size_t i = 0, n = sizeof s_options / sizeof *s_options;
    while (i < n && strcmp (s_options[i].name, option) != 0)
        i++;
    if (i == n) {
        char names[400] = "";
        for (size_t j = 0; j < n; j++)
            snprintf (names + strlen (names), sizeof names - strlen (names), "%s%s",
                      j ? ", " : "", s_options[j].name);
        return bf_lib_error (BITFARM_EUSAGE, "unknown design option '%.60s' (options: %s)",
                             option, names);
    }
    int rc = s_check_value (option, value);
    if (rc != BITFARM_OK)
        return rc;
    if (design->project && (s_options[i].opt == BF_O_REV || s_options[i].opt == BF_O_GIT_DIR))
        return bf_lib_error (BITFARM_EUSAGE, "'%s' cannot be set on a project's design: its "
                             "project file was read from the work tree", option);
    const char *v = s_own (design, s_options[i].path ? s_path (design, value) : xstrdup (value));
    if (bf_cli_apply (s_args (design), s_options[i].opt, v) != BF_OK)
        return bf_lib_fail (BF_EINVAL, NULL);
    return bf_lib_ok ();
}

int
bitfarm_design_add_file (bitfarm_design *design, const char *path)
{
    int rc = s_check_value ("file", path);
    if (rc != BITFARM_OK)
        return rc;
    bf_target_t *t = &design->target;
    if ((design->project ? (size_t) t->nfiles : design->nfiles) >= S_FILES_MAX)
        return bf_lib_error (BITFARM_EUSAGE, "more than %d files in one design", S_FILES_MAX);
    char *p = s_path (design, path);
    if (design->project) {
        t->files = xrealloc (t->files, (size_t) (t->nfiles + 1) * sizeof *t->files);
        t->files[t->nfiles++] = p;
        t->args.args = t->files;
        t->args.nargs = t->nfiles;
    }
    else {
        design->files = xrealloc (design->files, (design->nfiles + 1) * sizeof *design->files);
        design->files[design->nfiles++] = p;
        design->args.args = design->files;
        design->args.nargs = (int) design->nfiles;
    }
    return bf_lib_ok ();
}

/* ---------------------------------------------------------------------- */
/*  From a project file                                                     */

typedef struct {
    bitfarm_design *d;
    const char *path;          /* the project file, absolute */
    const char *target;        /* or NULL: its default */
    const char *cwd;           /* the caller's */
} s_project_t;

/*  In the project's directory: git's view, the file, the target. */
static int
s_project_load (void *arg)
{
    s_project_t *job = arg;
    bitfarm_design *d = job->d;
    bf_cli_args_t none = { .design = { .seed = -1 } };
    int rc = bf_submission_git_open (&d->git, &none);
    if (rc == BF_OK)
        rc = bf_project_load (&d->project, job->path, job->path);
    if (rc != BF_OK)
        return rc;
    const bf_project_target_t *t = job->target ? bf_project_target (d->project, job->target)
                                               : bf_project_default (d->project);
    if (!t && bf_project_ntargets (d->project) == 0)
        return bf_error_set (BF_EINVAL, "%s defines no target", job->path);
    if (!t) {
        char names[512] = "";
        for (size_t j = 0; j < bf_project_ntargets (d->project); j++)
            snprintf (names + strlen (names), sizeof names - strlen (names), "%s%s",
                      j ? ", " : "", bf_project_target_at (d->project, j)->name);
        return bf_error_set (BF_EINVAL, "no target '%.80s' in %s (targets: %s)", job->target,
                             job->path, names);
    }
    return bf_target_resolve (&d->target, &none, d->project, t, job->cwd, d->git);
}

int
bitfarm_design_from_project (bitfarm_design **out, const char *project, const char *target)
{
    *out = NULL;
    bitfarm_design *d = s_new ();
    if (!d)
        return bitfarm_error_last ()->code;
    char *path = NULL;
    struct stat st;
    const char *where = project && *project ? project : ".";
    int rc;
    if (stat (where, &st) != 0)
        rc = bf_error_set (BF_EINVAL, "no project file or directory '%.200s': %s", where,
                           strerror (errno));
    else if (S_ISDIR (st.st_mode)) {
        char *dir = realpath (where, NULL);
        rc = dir ? bf_project_find (&path, dir)
                 : bf_error_set (BF_EINVAL, "cannot resolve '%.200s'", where);
        free (dir);
    }
    else {
        path = realpath (where, NULL);
        rc = path ? BF_OK : bf_error_set (BF_EINVAL, "cannot resolve '%.200s'", where);
    }
    if (rc == BF_OK) {
        snprintf (d->dir, sizeof d->dir, "%s", path);
        *strrchr (d->dir, '/') = '\0';
        if (!d->dir[0])
            snprintf (d->dir, sizeof d->dir, "/");
        char cwd[PATH_MAX];
        s_project_t job = { d, path, target, getcwd (cwd, sizeof cwd) ? cwd : d->dir };
        rc = bf_lib_in_dir (d->dir, s_project_load, &job);
    }
    free (path);
    if (rc != BF_OK) {
        int code = bf_lib_fail (rc == BF_EIO ? BF_EINVAL : rc, NULL);
        /* the target's options point into the project: free them first */
        bitfarm_design_free (&d);
        return code;
    }
    *out = d;
    return bf_lib_ok ();
}

/* ---------------------------------------------------------------------- */
/*  Submission                                                              */

typedef struct {
    bitfarm_farm *farm;
    bitfarm_design *d;
    bf_cli_args_t run;         /* the design's options, with the run's */
    json_t *job;
    int rc;
    bool sent;                 /* the failure was the request's */
} s_submit_t;

static int
s_submit_run (void *arg)
{
    s_submit_t *s = arg;
    bf_submission_t sub = { 0 };
    bool open_git = !s->d->project;
    int rc = bf_submission_prepare (&sub, &s->run, s->d->git, open_git);
    if (rc == BF_OK) {
        s->sent = true;
        rc = bf_client_submit (s->farm->client, &s->job, sub.design, &s->run.submit, NULL);
    }
    bf_submission_release (&sub);
    return rc;
}

/*  Copies opts into the run's record, checked as the CLI checks them;
    what opts leaves at its default keeps the design's (a target's keys). */
static int
s_run_options (bf_cli_args_t *run, const bitfarm_submit_options *o)
{
    if (!o)
        return BITFARM_OK;
    if (o->version != BITFARM_SUBMIT_OPTIONS_VERSION)
        return bf_lib_error (BITFARM_EUSAGE, "submit options of version %u (this library "
                             "knows version %d)", o->version, BITFARM_SUBMIT_OPTIONS_VERSION);
    if (o->priority < -1000 || o->priority > 1000)
        return bf_lib_error (BITFARM_EUSAGE, "priority %d out of range (-1000 .. 1000)",
                             o->priority);
    if (o->timeout_ms && (o->timeout_ms < 1000 || o->timeout_ms > 30LL * 86400000))
        return bf_lib_error (BITFARM_EUSAGE, "job timeout %lld ms out of range (1000 ms .. "
                             "30 days)", (long long) o->timeout_ms);
    if (o->priority)
        run->submit.priority = o->priority;
    if (o->timeout_ms)
        run->submit.timeout_ms = o->timeout_ms;
    if (o->tags) {
        memset (run->tags, 0, sizeof run->tags);
        run->ntags = 0;
    }
    for (size_t i = 0; o->tags && o->tags[i]; i++)
        if (bf_opt_tag (run->tags, &run->ntags, o->tags[i]) != BF_OK)
            return bf_lib_fail (BF_EINVAL, NULL);
    if (o->toolchain) {
        size_t n = strlen (o->toolchain);
        if (n < 8 || n > 64 || strspn (o->toolchain, "0123456789abcdef") != n)
            return bf_lib_error (BITFARM_EUSAGE, "bad toolchain '%.80s' (want 8 to 64 "
                                 "lowercase hex characters)", o->toolchain);
        run->toolchain = o->toolchain;
    }
    if (o->program_board)
        run->submit.program_board = o->program_board;
    if (o->token)
        run->submit.token = o->token;
    return BITFARM_OK;
}

int
bitfarm_submit (bitfarm_farm *farm, const bitfarm_design *design,
                const bitfarm_submit_options *opts, bitfarm_job **out)
{
    *out = NULL;
    if (!farm || !design)
        return bf_lib_error (BITFARM_EUSAGE, "bitfarm_submit: no farm or design");
    bitfarm_design *d = (bitfarm_design *) design;
    s_submit_t s = { .farm = farm, .d = d, .run = *s_args (d) };
    s.run.submit.provenance = NULL;
    int rc = s_run_options (&s.run, opts);
    if (rc != BITFARM_OK)
        return rc;
    if (!s.run.design.top || (!s.run.design.device && !s.run.regio))
        return bf_lib_error (BITFARM_EUSAGE, "a design needs 'top' and 'device' ('regio' "
                             "gives the device)");
    if (s.run.nargs == 0)
        return bf_lib_error (BITFARM_EUSAGE, "the design has no files");
    rc = bf_lib_in_dir (d->dir, s_submit_run, &s);
    if (rc != BF_OK)
        return s.sent ? bf_lib_request_fail (farm, rc) : bf_lib_fail (rc, "usage");
    *out = bf_lib_job_new (farm, s.job);
    return bf_lib_ok ();
}

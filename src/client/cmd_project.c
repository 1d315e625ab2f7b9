/*  cmd_project - the project file: submit and explain of bitfarm.ini's
    targets (no files, -t NAME, --all), --junit and --artifacts, and init
    (docs/project.md).

    A target's options are resolved in this order, later ones winning for
    single-valued options and adding for repeatable ones: the target's keys
    (paths relative to bitfarm.ini's directory, where the tools run), then
    the design and run options given on the command line (paths relative
    to where the command runs).  Every target is resolved before anything
    is sent: a mistake in any one is exit status 2 with nothing submitted.
    --all submits every job, then waits for each; the exit status is the
    largest of the targets'. */
#include "bf_cli.h"
#include "bf_junit.h"
#include "bf_project.h"
#include "bf_target.h"
#include "bf_submission.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*  One target to build: how it resolved (bf_target.h), and its job. */
typedef struct {
    bf_target_t t;
    json_t *job, *final;
    int rc;
    char *error;
} s_run_t;

static void
s_run_release (s_run_t *r)
{
    bf_target_release (&r->t);
    json_decref (r->job);
    json_decref (r->final);
    free (r->error);
}

/*  explain -t NAME: how the target resolved, then explain's own output. */
static void
s_print_resolution (const s_run_t *r, const bf_project_t *p)
{
    printf ("target %s (%s:%d, run in %s)\n", r->t.name, bf_project_shown (p), r->t.target->line,
            bf_project_dir (p));
    for (size_t i = 0; i < r->t.target->nentries; i++)
        printf ("  %s:%d  %s = %s\n", bf_project_shown (p), r->t.target->entries[i].line,
                r->t.target->entries[i].key, r->t.target->entries[i].value);
    const bf_design_opts_t *d = &r->t.args.design;
    printf ("as a command line:\n  submit --top %s --device %s", d->top, d->device);
    const char *single[][2] = { { "--package", d->package }, { "--pcf", d->pcf },
                                { "--freq", d->freq_mhz }, { "--flow", d->flow },
                                { "--root", d->root }, { "--toolchain", r->t.args.toolchain },
                                { "--program", r->t.args.submit.program_board },
                                { "-o", r->t.args.output } };
    for (size_t i = 0; i < sizeof single / sizeof *single; i++)
        if (single[i][1])
            printf (" %s '%s'", single[i][0], single[i][1]);
    if (d->seed >= 0)
        printf (" --seed %lld", (long long) d->seed);
    struct { const char *flag; const char **v; int n; } lists[] = {
        { "-D", d->defines, d->ndefines }, { "-I", d->includes, d->nincludes },
        { "--param", d->params, d->nparams }, { "--synth-opt", d->synth_opts, d->nsynth_opts },
        { "--pnr-opt", d->pnr_opts, d->npnr_opts },
        { "--tag", (const char **) r->t.args.tags, r->t.args.ntags } };
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        for (int j = 0; j < lists[i].n; j++)
            printf (" %s '%s'", lists[i].flag, lists[i].v[j]);
    if (r->t.args.submit.priority)
        printf (" --priority %d", r->t.args.submit.priority);
    if (r->t.args.submit.timeout_ms)
        printf (" --timeout %llds", (long long) (r->t.args.submit.timeout_ms / 1000));
    if (r->t.args.wait)
        printf (" --wait");
    for (int i = 0; i < r->t.nfiles; i++)
        printf (" %s", r->t.files[i]);
    printf ("\n\n");
    fflush (stdout);
}

/*  Writes a finished target's outputs: -o, and --artifacts DIR. */
static int
s_outputs (bf_client_t *client, s_run_t *r, const char *artifacts)
{
    const char *id = bf_cli_str (r->final, "id");
    int rc = r->rc;
    if (r->t.args.output && r->rc == BFX_OK) {
        int frc = bf_cli_fetch_to (client, id, "bitstream", r->t.args.output);
        if (frc != BFX_OK)
            rc = frc;
        else if (!r->t.args.json)
            fprintf (stderr, "%s: bitstream written to %s\n", r->t.name, r->t.args.output);
    }
    if (!artifacts)
        return rc;
    static const struct { const char *what, *suffix; } kinds[] = {
        { "bitstream", "bin" }, { "report", "report.json" }, { "log", "log" } };
    for (size_t k = 0; k < 3; k++) {
        if (k == 0 && r->rc != BFX_OK)
            continue;
        if (k == 1 && !json_is_object (json_object_get (r->final, "report")))
            continue;
        char *path = xasprintf ("%s/%s.%s", artifacts, r->t.name, kinds[k].suffix);
        int frc = bf_cli_fetch_to (client, id, kinds[k].what, path);
        if (frc != BFX_OK && k == 0)
            rc = frc;
        free (path);
    }
    return rc;
}

/*  Submits every run, then (with --wait) waits for each.  Returns the
    largest exit status. */
static int
s_build (s_run_t *runs, size_t n, const bf_cli_args_t *a, bf_git_t *git, const char *junit,
         const char *artifacts, const char *suite, bool many)
{
    if (artifacts && bf_mkdir_p (artifacts, 0755) != BF_OK)
        return bf_cli_fail (BFX_USAGE, "cannot create '%s': %s", artifacts, bf_error_last ());
    bf_client_t *client = NULL;
    int worst = bf_cli_open (&client, a);
    if (worst != BFX_OK)
        return worst;
    for (size_t i = 0; i < n; i++) {
        s_run_t *r = &runs[i];
        bf_submission_t sub = { 0 };
        uint64_t uploaded = 0;
        int drc = bf_submission_prepare (&sub, &r->t.args, git, false);
        bf_design_t *design = sub.design;
        if (drc != BF_OK) {
            r->rc = bf_cli_fail (BFX_USAGE, "%s: %s", r->t.name, bf_error_last ());
            r->error = xstrdup (bf_error_last ());
        }
        else if (bf_client_submit (client, &r->job, design, &r->t.args.submit, &uploaded) != BF_OK) {
            r->error = xstrdup (bf_error_last ());
            r->rc = bf_cli_fail (BFX_INFRA, "%s: %s", r->t.name, r->error);
        }
        else {
            json_object_set_new (r->job, "uploaded_bytes", json_integer ((json_int_t) uploaded));
            if (!a->json && many)
                printf ("%s  %s\n", bf_cli_str (r->job, "id"), r->t.name);
            else if (!a->json)
                puts (bf_cli_str (r->job, "id"));
            fflush (stdout);
        }
        bf_submission_release (&sub);
    }
    bool waited = false;
    for (size_t i = 0; i < n; i++) {
        s_run_t *r = &runs[i];
        waited |= r->t.args.wait;
        if (r->job && r->t.args.wait) {
            r->rc = bf_cli_wait (client, bf_cli_str (r->job, "id"), &r->final, a->json);
            if (r->final)
                r->rc = s_outputs (client, r, artifacts);
            else
                r->error = xstrdup (bf_error_last ());
        }
        if (r->rc > worst)
            worst = r->rc;
    }
    bf_client_destroy (&client);
    if (many && waited && !a->json)
        for (size_t i = 0; i < n; i++) {
            json_t *j = runs[i].final;
            printf ("%-20s %-10s %s%s\n", runs[i].t.name, j ? bf_cli_text (j, "state") : "-",
                    j && json_is_true (json_object_get (j, "cache_hit")) ? "(cache hit) " : "",
                    j && json_is_string (json_object_get (j, "error")) ? bf_cli_text (j, "error")
                    : runs[i].error ? runs[i].error : "");
        }
    if (junit) {
        bf_junit_case_t *cases = xcalloc (n, sizeof *cases);
        for (size_t i = 0; i < n; i++)
            cases[i] = (bf_junit_case_t) { runs[i].t.name, runs[i].final, runs[i].rc,
                                           runs[i].error, bf_junit_job_seconds (runs[i].final) };
        if (bf_junit_write (junit, suite, cases, n) != BF_OK && worst < BFX_USAGE)
            worst = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
        free (cases);
    }
    if (a->json) {
        json_t *out;
        if (!many) {
            out = json_incref (runs[0].final ? runs[0].final : runs[0].job);
            if (!out)
                out = json_pack ("{s:s}", "error", runs[0].error ? runs[0].error : "failed");
            json_object_set_new (out, "target", json_string (runs[0].t.name));
        }
        else {
            json_t *list = json_array ();
            for (size_t i = 0; i < n; i++) {
                json_t *j = runs[i].final ? runs[i].final : runs[i].job;
                json_t *e = json_pack ("{s:s, s:i, s:O?}", "target", runs[i].t.name, "exit",
                                       runs[i].rc, "job", j);
                if (runs[i].error)
                    json_object_set_new (e, "error", json_string (runs[i].error));
                json_array_append_new (list, e);
            }
            out = json_pack ("{s:o, s:i}", "targets", list, "exit", worst);
        }
        json_object_set_new (out, "schema", json_integer (BF_CLI_JSON_SCHEMA));
        bf_cli_print_json (out);
        json_decref (out);
    }
    return worst;
}

static char *
s_abs (const char *cwd, const char *path)
{
    return !path ? NULL : path[0] == '/' ? xstrdup (path) : xasprintf ("%s/%s", cwd, path);
}

int
bf_cli_project (bf_cli_args_t *a, bool explain)
{
    if ((a->junit || a->artifacts) && !a->wait)
        return bf_cli_fail (BFX_USAGE, "%s needs --wait", a->junit ? "--junit" : "--artifacts");
    if (a->nargs > 0 && (a->ntargets > 0 || a->all))
        return bf_cli_fail (BFX_USAGE, "give FILES or targets of %s (-t, --all), not both",
                            BF_PROJECT_FILE);
    if (a->all && a->ntargets > 0)
        return bf_cli_fail (BFX_USAGE, "give -t NAME or --all, not both");
    char *cwd = getcwd (NULL, 0);
    if (!cwd)
        return bf_cli_fail (BFX_USAGE, "cannot read the current directory: %s", strerror (errno));
    char *junit = s_abs (cwd, a->junit), *artifacts = s_abs (cwd, a->artifacts);
    char *path = NULL, *shown = NULL, *text = NULL;
    size_t tlen = 0;
    bf_project_t *p = NULL;
    bf_git_t *git = NULL;
    s_run_t *runs = NULL;
    size_t n = 0;
    int rc = BFX_OK;
    if (bf_submission_git_open (&git, a) != BF_OK) {
        rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
        goto out;
    }
    if (a->nargs > 0) {   /* --junit or --artifacts of a plain submit */
        runs = xcalloc (1, sizeof *runs);
        runs[0].t.name = a->design.top ? a->design.top : "design";
        runs[0].t.args = *a;
        n = 1;
        if (!a->design.top || !a->design.device) {
            rc = bf_cli_fail (BFX_USAGE, "--top and --device are required");
            goto out;
        }
        rc = s_build (runs, n, a, git, junit, artifacts, runs[0].t.name, false);
        goto out;
    }
    /* With --rev the project file is the revision's (the nearest one to
       the current directory's place in its tree); one the revision lacks
       is taken from the work tree, saying so. */
    const char *rev = git ? bf_git_rev (git) : NULL;
    if (rev && bf_git_project (git, &path, &text, &tlen) == BF_OK) {
        const char *top = bf_git_root (git);
        shown = xasprintf ("%s:%s", rev, path + strlen (top) + (path[strlen (top)] == '/'));
    }
    else if (bf_project_find (&path, cwd) != BF_OK) {
        rc = bf_cli_fail (BFX_USAGE, "no files given, and %s%s (see bitfarm help %s)",
                          bf_error_last (), rev ? ", nor in that revision" : "", a->cmd);
        goto out;
    }
    else {
        char *dir = xstrdup (path);
        *strrchr (dir, '/') = '\0';
        shown = strcmp (dir, cwd) == 0 ? xstrdup (BF_PROJECT_FILE) : xstrdup (path);
        free (dir);
        if (rev)
            fprintf (stderr, "bitfarm: revision '%s' has no %s: using the work tree's (%s)\n",
                     rev, BF_PROJECT_FILE, path);
    }
    if ((text ? bf_project_load_text (&p, path, shown, text, tlen)
              : bf_project_load (&p, path, shown)) != BF_OK) {
        rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
        goto out;
    }
    if (bf_project_ntargets (p) == 0) {
        rc = bf_cli_fail (BFX_USAGE, "%s defines no target", shown);
        goto out;
    }
    const bf_project_target_t **chosen = xcalloc (bf_project_ntargets (p) + (size_t) a->ntargets,
                                                  sizeof *chosen);
    if (a->all)
        for (n = 0; n < bf_project_ntargets (p); n++)
            chosen[n] = bf_project_target_at (p, n);
    else if (a->ntargets == 0)
        chosen[n++] = bf_project_default (p);
    for (int i = 0; i < a->ntargets && rc == BFX_OK; i++) {
        for (int j = 0; j < i && rc == BFX_OK; j++)
            if (strcmp (a->targets[i], a->targets[j]) == 0)
                rc = bf_cli_fail (BFX_USAGE, "target '%s' given twice", a->targets[i]);
        if (rc != BFX_OK)
            break;
        chosen[n] = bf_project_target (p, a->targets[i]);
        if (!chosen[n++]) {
            char names[512] = "";
            for (size_t j = 0; j < bf_project_ntargets (p); j++)
                snprintf (names + strlen (names), sizeof names - strlen (names), "%s%s",
                          j ? ", " : "", bf_project_target_at (p, j)->name);
            rc = bf_cli_fail (BFX_USAGE, "no target '%s' in %s (targets: %s)", a->targets[i],
                              shown, names);
        }
    }
    bool many = a->all || a->ntargets > 1;
    if (rc == BFX_OK && a->output && n > 1)
        rc = bf_cli_fail (BFX_USAGE, "-o needs a single target (give 'output' in %s, or "
                          "--artifacts DIR)", shown);
    /* Paths in the file are relative to its directory: the tools' and the
       globs' current directory (in revision mode, a place in the tree,
       entered on disk too when it exists there). */
    if (rc == BFX_OK && text) {
        bf_git_chdir (git, bf_project_dir (p));
        if (chdir (bf_project_dir (p)) != 0)
            bf_error_clear ();
    }
    else if (rc == BFX_OK && chdir (bf_project_dir (p)) != 0)
        rc = bf_cli_fail (BFX_USAGE, "cannot enter '%s': %s", bf_project_dir (p),
                          strerror (errno));
    else if (rc == BFX_OK && git)
        bf_git_chdir (git, bf_project_dir (p));
    runs = xcalloc (n, sizeof *runs);
    size_t resolved = 0;
    for (; rc == BFX_OK && resolved < n; resolved++)
        if (bf_target_resolve (&runs[resolved].t, a, p, chosen[resolved], cwd, git) != BF_OK)
            rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    free (chosen);
    if (rc != BFX_OK) {
        n = resolved;
        goto out;
    }
    if (explain || a->dry_run) {
        for (size_t i = 0; i < n && rc == BFX_OK; i++) {
            if (explain && !a->json)
                s_print_resolution (&runs[i], p);
            rc = bf_cli_submit_files (&runs[i].t.args, explain, git);
        }
        goto out;
    }
    rc = s_build (runs, n, a, git, junit, artifacts, shown, many);
out:
    for (size_t i = 0; i < n; i++)
        s_run_release (&runs[i]);
    free (runs);
    bf_project_destroy (&p);
    bf_git_destroy (&git);
    free (text);
    free (path);
    free (shown);
    free (junit);
    free (artifacts);
    free (cwd);
    return rc;
}

/*  init [-t NAME] [submit options] FILES... */
int
bf_cmd_init (bf_cli_args_t *a)
{
    const char *name = a->ntargets > 0 ? a->targets[0] : a->design.top ? a->design.top
                                                                        : "design";
    if (a->ntargets > 1)
        return bf_cli_fail (BFX_USAGE, "init writes one target (give -t once)");
    if (!*name || strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                          "_.-") != strlen (name) || strcmp (name, BF_PROJECT_SETTINGS) == 0
        || strchr ("_.-", name[0]))
        return bf_cli_fail (BFX_USAGE, "bad target name '%.64s' (want letters, digits, '_', "
                            "'.', '-', not '%s')", name, BF_PROJECT_SETTINGS);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    fprintf (f, "; bitfarm.ini - how this repository's designs are built (docs/project.md).\n"
             "; `submit` builds the default target, `submit -t NAME` one, `submit --all`\n"
             "; every one.  Paths and globs are relative to this file's directory.\n\n"
             "[%s]\ndefault = %s\n\n[%s]\n", BF_PROJECT_SETTINGS, name, name);
    if (!a->design.top)
        fputs ("; top = MODULE\n", f);
    if (!a->design.device)
        fputs ("; device = hx1k\n", f);
    for (int i = 0; i < a->ngiven; i++) {
        const bf_cli_given_t *g = &a->given[i];
        if (!bf_target_option (g->opt) || g->opt == BF_O_TOKEN)
            continue;   /* a token is a secret: $BITFARM_TOKEN */
        const char *key = g->opt == BF_O_DEFINE ? "define" : g->opt == BF_O_INCLUDE
                        ? "include" : bf_cli_option_name (g->opt);
        if (strpbrk (g->value ? g->value : "", "\n;#") || (g->value && strlen (g->value) > 180)) {
            fclose (f);
            free (buf);
            return bf_cli_fail (BFX_USAGE, "cannot write '%.80s' for '%s' in %s (a value holds "
                                "no newline, ';' or '#', and at most 180 characters)", g->value,
                                key, BF_PROJECT_FILE);
        }
        fprintf (f, "%s = %s\n", key, g->value ? g->value : "true");
    }
    if (a->nargs == 0)
        fputs ("; sources = rtl/*.v\n", f);
    for (int i = 0; i < a->nargs; i++) {
        if (strpbrk (a->args[i], " \t\n;#")) {
            fclose (f);
            free (buf);
            return bf_cli_fail (BFX_USAGE, "cannot write '%.80s' as a source in %s (a path "
                                "holds no blank, ';' or '#')", a->args[i], BF_PROJECT_FILE);
        }
        fprintf (f, "sources = %s\n", a->args[i]);
    }
    fclose (f);
    int fd = open (BF_PROJECT_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = BFX_OK;
    if (fd < 0 && errno == EEXIST)
        rc = bf_cli_fail (BFX_USAGE, "%s already exists (not overwritten)", BF_PROJECT_FILE);
    else if (fd < 0)
        rc = bf_cli_fail (BFX_USAGE, "cannot create '%s': %s", BF_PROJECT_FILE, strerror (errno));
    else if (bf_write_all (fd, buf, len) != 0 || fsync (fd) != 0) {
        rc = bf_cli_fail (BFX_USAGE, "cannot write '%s': %s", BF_PROJECT_FILE, strerror (errno));
        close (fd);
        unlink (BF_PROJECT_FILE);
    }
    else if (close (fd) != 0) {
        rc = bf_cli_fail (BFX_USAGE, "cannot write '%s': %s", BF_PROJECT_FILE, strerror (errno));
        unlink (BF_PROJECT_FILE);
    }
    else
        printf ("wrote %s with target '%s'\n", BF_PROJECT_FILE, name);
    free (buf);
    return rc;
}

/*  bf_target - see bf_target.h. */
#include "bf_target.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

/*  The keys that are not a long option's name. */
static int
s_key_option (const char *key)
{
    if (strcmp (key, "define") == 0)
        return BF_O_DEFINE;
    if (strcmp (key, "include") == 0)
        return BF_O_INCLUDE;
    return bf_cli_option_named (key);
}

/*  Whether a command-line option is one a target's keys also set. */
bool
bf_target_option (int o)
{
    if (o == BF_O_TOKEN)
        return true;
    for (const bf_project_key_t *k = bf_project_keys; k->name; k++)
        if (strcmp (k->name, "sources") != 0 && s_key_option (k->name) == o)
            return true;
    return false;
}

static bool
s_path_option (int o)
{
    return o == BF_O_PCF || o == BF_O_INCLUDE || o == BF_O_ROOT || o == BF_O_OUTPUT;
}

static const char *
s_own (bf_target_t *r, char *s)
{
    r->owned = xrealloc (r->owned, (size_t) (r->nowned + 1) * sizeof *r->owned);
    r->owned[r->nowned++] = s;
    return s;
}

void
bf_target_release (bf_target_t *r)
{
    if (r->target)
        bf_cli_args_release (&r->args);
    for (int i = 0; i < r->nfiles; i++)
        free (r->files[i]);
    free (r->files);
    for (int i = 0; i < r->nowned; i++)
        free (r->owned[i]);
    free (r->owned);
    memset (r, 0, sizeof *r);
}

/*  Expands a sources value (globs separated by blanks) into r->files:
    as git sees the tree when git is given (bf_git_glob: tracked files, or
    a revision's), else on the file system (glob(3)). */
static int
s_sources (bf_target_t *r, const char *shown, const bf_project_entry_t *e, bf_git_t *git)
{
    char *copy = xstrdup (e->value), *save = NULL;
    int rc = BF_OK;
    for (char *pat = strtok_r (copy, " \t", &save); pat && rc == BF_OK;
         pat = strtok_r (NULL, " \t", &save)) {
        if (git) {
            if (bf_git_glob (git, &r->files, &r->nfiles, pat) != BF_OK)
                rc = bf_error_set (BF_EINVAL, "%s:%d: %s in [%s]", shown, e->line,
                                   bf_error_last (), r->name);
            continue;
        }
        glob_t g;
        int grc = glob (pat, GLOB_ERR | GLOB_MARK, NULL, &g);
        if (grc == GLOB_NOMATCH)
            rc = bf_error_set (BF_EINVAL, "%s:%d: no file matches '%.200s' in [%s]", shown,
                               e->line, pat, r->name);
        else if (grc != 0)
            rc = bf_error_set (BF_EINVAL, "%s:%d: cannot expand '%.200s': %s", shown, e->line,
                               pat, strerror (errno));
        for (size_t i = 0; grc == 0 && i < g.gl_pathc; i++) {
            const char *p = g.gl_pathv[i];
            if (p[strlen (p) - 1] == '/')
                continue;   /* a directory */
            r->files = xrealloc (r->files, (size_t) (r->nfiles + 1) * sizeof *r->files);
            r->files[r->nfiles++] = xstrdup (p);
        }
        if (grc == 0)
            globfree (&g);
    }
    free (copy);
    return rc;
}

int
bf_target_resolve (bf_target_t *r, const bf_cli_args_t *a, const bf_project_t *p,
           const bf_project_target_t *t, const char *cwd, bf_git_t *git)
{
    const char *shown = bf_project_shown (p);
    r->name = t->name;
    r->target = t;
    r->args = *a;
    r->args.design = (bf_design_opts_t) { .seed = -1 };
    r->args.submit = (bf_submit_opts_t) { 0 };
    memset (r->args.tags, 0, sizeof r->args.tags);
    r->args.ntags = 0;
    r->args.toolchain = NULL;
    r->args.output = NULL;
    r->args.targets = NULL;
    r->args.ntargets = 0;
    for (size_t i = 0; i < t->nentries; i++) {
        const bf_project_entry_t *e = &t->entries[i];
        int rc;
        if (strcmp (e->key, "sources") == 0)
            rc = s_sources (r, shown, e, git);
        else if (strcmp (e->key, "wait") == 0) {
            bool yes = strcmp (e->value, "true") == 0 || strcmp (e->value, "yes") == 0
                    || strcmp (e->value, "1") == 0;
            bool no = strcmp (e->value, "false") == 0 || strcmp (e->value, "no") == 0
                   || strcmp (e->value, "0") == 0;
            rc = yes || no ? BF_OK
                           : bf_error_set (BF_EINVAL, "%s:%d: invalid value '%.80s' for 'wait' "
                                           "in [%s] (want true or false)", shown, e->line,
                                           e->value, t->name);
            r->args.wait = yes || a->wait;
        }
        else if (bf_cli_apply (&r->args, s_key_option (e->key), e->value) != BF_OK)
            rc = bf_error_set (BF_EINVAL, "%s:%d: %s in [%s]", shown, e->line, bf_error_last (),
                               t->name);
        else
            rc = BF_OK;
        if (rc != BF_OK)
            return rc;
    }
    for (int i = 0; i < a->ngiven; i++) {
        const bf_cli_given_t *g = &a->given[i];
        if (!bf_target_option (g->opt))
            continue;
        const char *v = g->value;
        if (v && s_path_option (g->opt) && v[0] != '/')
            v = s_own (r, xasprintf ("%s/%s", cwd, v));
        if (bf_cli_apply (&r->args, g->opt, v) != BF_OK)
            return bf_error_set (BF_EINVAL, "%s", bf_error_last ());
    }
    if (r->args.submit.token == NULL)
        r->args.submit.token = a->token;
    if (!r->args.design.top || (!r->args.design.device && !r->args.regio))
        return bf_error_set (BF_EINVAL, "%s:%d: target '%s' needs 'top' and 'device'", shown,
                             t->line, t->name);
    if (r->nfiles == 0)
        return bf_error_set (BF_EINVAL, "%s:%d: target '%s' has no 'sources'", shown, t->line,
                             t->name);
    r->args.args = r->files;
    r->args.nargs = r->nfiles;
    return BF_OK;
}

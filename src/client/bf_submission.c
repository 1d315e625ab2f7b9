/*  bf_submission - see bf_submission.h. */
#include "bf_submission.h"
#include "bf_git.h"
#include "../common/bf_error.h"

#include <stdlib.h>
#include <string.h>

int
bf_submission_git_open (bf_git_t **out, const bf_cli_args_t *a)
{
    *out = NULL;
    const char *nogit = getenv ("BITFARM_NO_GIT");
    if (!a->rev && !a->git_dir && nogit && strcmp (nogit, "1") == 0)
        return BF_OK;
    return bf_git_open (out, a->git_dir, a->rev);
}

bool
bf_submission_git_design (bf_git_t *git, bf_design_opts_t *d)
{
    if (!git || (!bf_git_rev (git) && d->root && !bf_git_holds (git, d->root)))
        return false;   /* --root outside the work tree: a plain directory */
    d->fs = bf_git_fs (git);
    if (!d->root)
        d->root = bf_git_root (git);
    return true;
}

int
bf_submission_prepare (bf_submission_t *s, bf_cli_args_t *a, bf_git_t *git, bool open_git)
{
    s->args = a;
    a->design.files = (const char **) a->args;
    a->design.nfiles = a->nargs;
    a->submit.tags = a->tags;
    a->submit.toolchain = a->toolchain;
    a->submit.provenance = NULL;
    if (open_git) {
        int rc = bf_submission_git_open (&s->owned, a);
        if (rc != BF_OK)
            return rc;
        git = s->owned;
    }
    if (bf_submission_git_design (git, &a->design))
        s->git = git;
    if (a->regio) {
        int rc = bf_regio_apply (&s->regio, &a->design, a->regio);
        if (rc != BF_OK)
            return rc;
    }
    int rc = bf_design_new (&s->design, &a->design);
    if (rc == BF_OK && s->git) {
        bf_git_save (s->git);
        a->submit.provenance = bf_git_provenance (s->git);
    }
    return rc;
}

void
bf_submission_release (bf_submission_t *s)
{
    bf_design_destroy (&s->design);
    bf_regio_destroy (&s->regio);   /* restores a->design's options */
    bf_git_destroy (&s->owned);
    if (s->args) {
        json_decref (s->args->submit.provenance);
        s->args->submit.provenance = NULL;
    }
    memset (s, 0, sizeof *s);
}

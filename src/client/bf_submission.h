/*  bf_submission - a design made ready to submit from the parsed options
    (bf_cli_args_t: a command line's, a project target's, or the client
    library's): git's view of the tree, the --regio overlay, the design
    read and hashed (bf_design), and its provenance.  The one way the CLI
    (submit, explain, the project's targets) and libbitfarm (bitfarm_submit)
    turn options into a design, so that both send the same manifest.

    Relative names are relative to the current directory (the calling
    thread's).  Thread-safety: a submission belongs to one thread.
*/
#ifndef BF_SUBMISSION_H_INCLUDED
#define BF_SUBMISSION_H_INCLUDED

#include "bf_cli.h"
#include "bf_regio.h"

#include <stdbool.h>

typedef struct {
    bf_git_t *owned;          /* git's view opened by prepare, or NULL */
    bf_git_t *git;            /* the view the design was read through, or NULL */
    bf_regio_t *regio;        /* --regio's overlay, or NULL */
    bf_design_t *design;
    bf_cli_args_t *args;      /* borrowed: its submit.provenance is ours */
} bf_submission_t;

/*  git's view of the design's tree as a asks (--rev, --git-dir, or the
    work tree the current directory lies in; none with BITFARM_NO_GIT=1
    and neither option): *out, or NULL when the plain file system applies.
    BF_OK, or an error with bf_git's one-line detail. */
int bf_submission_git_open (bf_git_t **out, const bf_cli_args_t *a);

/*  Points d at git's view (its fs, and its top as the root unless d has
    one).  False, leaving d alone, when git is NULL or d's --root lies
    outside the work tree (a plain directory then). */
bool bf_submission_git_design (bf_git_t *git, bf_design_opts_t *d);

/*  Prepares a's design (files a->args, options a->design, a->regio) into
    s (zeroed by the caller): through git's view `git` (borrowed; NULL:
    the plain file system), or with open_git, the view bf_submission_git_open
    gives.  Sets a->design.files, a->submit.tags, a->submit.toolchain and,
    from git, a->submit.provenance (released by bf_submission_release).
    BF_OK, or an error with a one-line detail (a file, an option: the
    user's). */
int bf_submission_prepare (bf_submission_t *s, bf_cli_args_t *a, bf_git_t *git, bool open_git);

/*  Frees what s holds and clears a->submit.provenance. */
void bf_submission_release (bf_submission_t *s);

#endif

/*  bf_target - one target of a project file (bf_project.h) resolved into
    the options of a submit: the target's keys, applied as the command
    line's options they name (bf_cli_apply), then the design and run
    options given with it (a command line's, or the client library's),
    later ones winning for single-valued options and adding for
    repeatable ones.  Used by the CLI's project commands (cmd_project.c)
    and by bitfarm_design_from_project (src/lib).

    The target's paths and globs are relative to the current directory,
    which the caller makes the project file's directory; the given
    options' relative paths are relative to cwd.  Thread-safety: a
    bf_target_t belongs to one thread.
*/
#ifndef BF_TARGET_H_INCLUDED
#define BF_TARGET_H_INCLUDED

#include "bf_cli.h"
#include "bf_project.h"

typedef struct {
    const char *name;                    /* the target's (borrowed from the project) */
    const bf_project_target_t *target;   /* NULL: files from the command line */
    bf_cli_args_t args;                  /* the resolved options; args.args = files */
    char **files;                        /* owned, with the strings */
    int nfiles;
    char **owned;                        /* strings args points to */
    int nowned;
} bf_target_t;

/*  Resolves target t of project p into r (zeroed by the caller): its
    keys, then a's design and run options (those in a->given).  cwd:
    where a's relative paths are relative to.  git: the tree's view for
    the globs (bf_git_glob), or NULL for the file system (glob(3)).
    BF_OK, or BF_EINVAL with a detail "FILE:LINE: ...".  r is released
    with bf_target_release either way. */
int bf_target_resolve (bf_target_t *r, const bf_cli_args_t *a, const bf_project_t *p,
                       const bf_project_target_t *t, const char *cwd, bf_git_t *git);

/*  Whether a command-line option (BF_O_*) is one a target's keys also
    set (or --token): those given beside a target apply to it. */
bool bf_target_option (int o);

/*  Frees what r owns and zeroes it. */
void bf_target_release (bf_target_t *r);

#endif

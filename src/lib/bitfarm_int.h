/*  bitfarm_int - what the files of libbitfarm (src/lib) share: the
    handles' records and the error mapping.  Not installed; the public
    interface is include/bitfarm.h.

    The library is a thin layer over the client internals the CLI uses
    (src/client: bf_client, bf_submission, bf_target, bf_regs), so that a
    design submitted through it sends the same manifest, and gets the same
    cache key, as `bitfarm submit` with the same options.
*/
#ifndef BITFARM_INT_H_INCLUDED
#define BITFARM_INT_H_INCLUDED

#include "../../include/bitfarm.h"
#include "../client/bf_cli.h"
#include "../client/bf_client.h"
#include "../client/bf_project.h"
#include "../client/bf_target.h"
#include "../common/bf_job.h"

#include <jansson.h>
#include <limits.h>

struct bitfarm_farm {
    bf_client_t *client;
    char *endpoint;
};

struct bitfarm_job {
    bitfarm_farm *farm;
    char id[BF_JOB_ID_LEN + 1];
    json_t *status;          /* the last status, never NULL */
    char *json;              /* its text, made on demand */
};

struct bitfarm_design {
    bf_cli_args_t args;      /* the options, as a command line's (bf_cli_apply) */
    char dir[PATH_MAX];      /* relative names are relative to this (the current
                                directory when made; a project's directory) */
    char **strings;          /* copies args points to */
    size_t nstrings;
    char **files;            /* the files, absolute or relative to dir */
    size_t nfiles;
    bf_project_t *project;   /* from_project: the file, and the resolved target */
    bf_target_t target;
    bf_git_t *git;           /* from_project in a git work tree: the view its globs used */
};

/*  Records the internal failure rc (a bf_err_t, with bf_error_last as
    the message) as the thread's last error, mapped to its class: cls, the
    broker's "class" of an ERROR reply, when given ("usage", "design",
    "infrastructure", "denied", "busy"); else by rc.  Returns the public
    code (BITFARM_OK for BF_OK, clearing the last error). */
int bf_lib_fail (int rc, const char *cls);

/*  Records a public code with a formatted message; returns code. */
int bf_lib_error (int code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  Clears the thread's last error; returns BITFARM_OK. */
int bf_lib_ok (void);

/*  The failure of a request made on farm's client (its ERROR's class). */
int bf_lib_request_fail (bitfarm_farm *farm, int rc);

/*  A job handle for a status object (taken). */
bitfarm_job *bf_lib_job_new (bitfarm_farm *farm, json_t *status);

/*  Runs fn(arg) with dir as the calling thread's current directory (a
    thread with its own, unshare(CLONE_FS)), leaving the process's alone;
    where a thread may not unshare (a seccomp filter), the process's
    directory is changed around fn, under a lock.  fn's return value, or
    an error. */
int bf_lib_in_dir (const char *dir, int (*fn) (void *arg), void *arg);

#endif

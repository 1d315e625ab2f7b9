/*  bf_design - turns a user's files and flow options into a manifest
    (bf_manifest.h) with relative paths, plus the local path of every input
    so it can be uploaded.

    The root of the relative layout is --root DIR (opts->root); without it,
    the current directory when it holds every input named on the command
    line (files, pcf, include dirs), and otherwise the deepest directory
    that does ('/' is refused: give --root).  A named input outside the
    root is refused.  When the current directory lies inside the root, the
    tools run in its place inside the layout, so `$readmemh` and `include
    paths resolve as they do in the user's tree.
    Besides the named inputs, exactly the files the sources use are added,
    as data inputs (bf_design_scan.h): `include "...", $readmemh/b("...")
    and the strings given to parameters that a $readmem reads or whose
    name says FILE (INIT_FILE = "fw.hex"), found as yosys finds them,
    and files that a string --param names.  Nothing in a comment or in any
    other string counts.  A used file is sent only when it lies inside the
    root and no part of its path below the root starts with a dot (.git,
    .ssh); one that exists elsewhere is left out with a warning on stderr.
    Thread-safety: a bf_design_t belongs to one thread.
*/
#ifndef BF_DESIGN_H_INCLUDED
#define BF_DESIGN_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bf_design_scan.h"
#include "../common/bf_manifest.h"

/*  Where a design's files come from, when not straight from the file
    system (bf_git.h: a git work tree's policy, or a commit's blobs).  Paths
    given to the callbacks are absolute and canonical (as resolve made
    them).  Each returns BF_OK or an error with a one-line detail; the
    callbacks are called from the design's thread only. */
typedef struct {
    void *arg;
    const char *cwd;          /* the current directory the given names are relative to */
    /* The canonical absolute form of path (relative to cwd, or absolute)
       into out (PATH_MAX bytes): BF_OK or BF_ENOTFOUND. */
    int (*resolve) (void *arg, char *out, const char *path);
    /* May abs be an input: BF_OK (a regular file that may be sent),
       BF_ENOTFOUND (no such file: the caller words it), or another code
       with a detail saying why not (named: given on the command line,
       else found by the scan). */
    int (*check) (void *arg, const char *abs, bool named);
    /* The contents of abs (at most BF_MAX_FILE_SIZE bytes; caller frees). */
    int (*read) (void *arg, char **data, size_t *len, const char *abs);
    /* Its SHA-256 (lowercase hex) and size, in bytes. */
    int (*digest) (void *arg, char hex[65], uint64_t *size, const char *abs);
    /* Optional (NULL: read, then bf_design_scan): calls fn for what
       bf_design_scan finds in abs, perhaps from a cache of earlier scans
       of the same contents; BF_OK or the read's error. */
    int (*scan) (void *arg, const char *abs, bf_scan_fn *fn, void *fnarg);
    /* Optional (NULL: read, then bf_proof_hex): the proof of possession of
       abs for the CURVE public key `key` (bf_proof.h), perhaps cached. */
    int (*proof) (void *arg, char out[65], const char *abs, const char *key);
} bf_design_fs_t;

typedef struct {
    const char **files;       /* source and data files as given */
    int nfiles;
    const char *pcf;          /* may be NULL */
    const char *top, *device, *package;
    const char **defines;     /* "NAME=VALUE" or "NAME" */
    int ndefines;
    const char **includes;    /* include directories */
    int nincludes;
    const char **params;      /* "NAME=VALUE" */
    int nparams;
    const char **synth_opts;  /* "-dsp", "-dffe_min_ce_use 4" (bf_toolopt_add) */
    int nsynth_opts;
    const char **pnr_opts;    /* "--placer heap", "--timing-allow-fail" */
    int npnr_opts;
    const char *freq_mhz;     /* may be NULL */
    int64_t seed;             /* -1: default */
    const char *flow;         /* "ice40" (NULL) or "noop" */
    int64_t delay_ms;         /* noop flow: how long it waits, ms; 0: none */
    const char *root;         /* the design's tree (--root), or NULL: see above */
    const bf_design_fs_t *fs; /* NULL: the file system; else borrowed, and it must
                                 outlive the design (bf_design_read uses it) */
} bf_design_opts_t;

typedef struct _bf_design_t bf_design_t;

/*  Reads and hashes every input.  Errors (BF_EINVAL, BF_ENOTFOUND,
    BF_ETOOBIG) carry a one-line detail naming the file or option. */
int bf_design_new (bf_design_t **out, const bf_design_opts_t *opts);
void bf_design_destroy (bf_design_t **self_p);

/*  The manifest, decoded (borrowed; valid while the design lives). */
const bf_manifest_t *bf_design_manifest (const bf_design_t *self);

/*  The local path of the input with this digest, or NULL (borrowed).
    With opts->fs, a name for messages only (the file may not exist). */
const char *bf_design_path (const bf_design_t *self, const char *digest);

/*  The contents of the input with this digest, read through opts->fs or
    the file system (caller frees *data).  BF_OK, BF_ENOTFOUND (no such
    input), or the read's error with a detail. */
int bf_design_read (const bf_design_t *self, char **data, size_t *len, const char *digest);

/*  The proof of possession (bf_proof.h) of the input with this digest for
    the public key `key`, into out (65 bytes), through opts->fs when it
    has one (which may have it cached).  Errors as bf_design_read. */
int bf_design_proof (const bf_design_t *self, char out[65], const char *digest,
                     const char *key);

#endif

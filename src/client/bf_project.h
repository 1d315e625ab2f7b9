/*  bf_project - a project file, bitfarm.ini (parsed with libinih): how a
    repository's designs are built, one section per target.

        ; bitfarm.ini
        [bitfarm]
        default = blinky            ; the target `submit` builds (else the first)

        [blinky]
        top     = top
        device  = hx1k
        sources = blinky/top.v       ; globs (blinky/[*].v), in order; repeatable
        pcf     = blinky/icestick.pcf
        define  = WIDTH=8           ; repeatable, as -D

    A target's keys are submit's long options (without "--"), plus define
    and include (-D, -I) and sources: the list bf_project_keys[] gives.
    This module checks the file's shape only: sections, key names, keys
    given twice, empty values, target names.  Values are checked by the
    caller (the CLI applies them as the options they name), which reports
    an error at an entry's line.  Paths and globs are relative to the
    directory of bitfarm.ini (bf_project_dir).
    Thread-safety: a bf_project_t belongs to one thread.
*/
#ifndef BF_PROJECT_H_INCLUDED
#define BF_PROJECT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#define BF_PROJECT_FILE "bitfarm.ini"
#define BF_PROJECT_SETTINGS "bitfarm"     /* the section that is not a target */
#define BF_PROJECT_TARGETS_MAX 256
#define BF_PROJECT_ENTRIES_MAX 1024       /* per target */

/*  A key a target may have. */
typedef struct {
    const char *name;    /* "top", "synth-opt", "sources", ... */
    bool multi;          /* may be given more than once (each value adds) */
} bf_project_key_t;

/*  Every key a target may have, ended by a NULL name. */
extern const bf_project_key_t bf_project_keys[];

typedef struct {
    const char *key;     /* a bf_project_keys name (static) */
    char *value;         /* as written, trimmed */
    int line;            /* 1-based line in the file */
} bf_project_entry_t;

typedef struct {
    char *name;
    int line;            /* the line of its first key */
    bf_project_entry_t *entries;   /* in the file's order */
    size_t nentries;
} bf_project_target_t;

typedef struct _bf_project_t bf_project_t;

/*  Looks for bitfarm.ini in dir and each directory above it, up to '/'.
    BF_OK with *out the file's absolute path (caller frees), or
    BF_ENOTFOUND with a detail. */
int bf_project_find (char **out, const char *dir);

/*  Reads and checks the file at path.  shown is how errors name it
    ("bitfarm.ini", or a path; copied).  BF_OK, or BF_EIO (unreadable) or
    BF_EINVAL with a one-line detail "SHOWN:LINE: problem", e.g.
    "bitfarm.ini:12: unknown key 'sede' in [blinky]". */
int bf_project_load (bf_project_t **out, const char *path, const char *shown);

/*  The same for a file's contents already read (text, len bytes; e.g. a
    blob of a git revision, bf_git_project), which path names: its
    directory is the project's.  len 0 is an empty file. */
int bf_project_load_text (bf_project_t **out, const char *path, const char *shown,
                          const char *text, size_t len);
void bf_project_destroy (bf_project_t **self_p);

/*  The directory holding the file (absolute), and its name for messages
    (borrowed). */
const char *bf_project_dir (const bf_project_t *self);
const char *bf_project_shown (const bf_project_t *self);

/*  The targets in the file's order (borrowed). */
size_t bf_project_ntargets (const bf_project_t *self);
const bf_project_target_t *bf_project_target_at (const bf_project_t *self, size_t i);

/*  The target called name, or NULL (borrowed). */
const bf_project_target_t *bf_project_target (const bf_project_t *self, const char *name);

/*  The default target: [bitfarm] default, else the first one; NULL when
    the file has no target (borrowed). */
const bf_project_target_t *bf_project_default (const bf_project_t *self);

#endif

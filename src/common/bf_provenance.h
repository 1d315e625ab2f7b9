/*  bf_provenance - where a build's sources came from (a git commit), as
    SUBMIT's "provenance" object carries it (docs/protocol.md): checked
    against limits by the broker, stored with the job, shown by status,
    the job's events and `bitfarm jobs --rev`.  Never part of the manifest
    or the cache key.

    The object (every field optional but source and commit):
      source        "worktree" | "rev"
      rev           string, <= BF_PROV_STR_MAX bytes: the REV given
      commit        40 or 64 lowercase hex: the commit built
      dirty         bool: the work tree differed from the commit
      dirty_count   integer >= 0: how many files differed
      dirty_files   array of <= BF_PROV_LIST_MAX paths (<= BF_PROV_STR_MAX)
      branches, tags  arrays of <= BF_PROV_LIST_MAX names pointing at it
      remote        string <= BF_PROV_URL_MAX, without user info
      submodules    array of <= BF_PROV_LIST_MAX {"path", "commit"}
    Strings hold no control characters.  Unknown keys are refused.
    Thread-safety: no shared state.
*/
#ifndef BF_PROVENANCE_H_INCLUDED
#define BF_PROVENANCE_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#define BF_PROV_STR_MAX 255
#define BF_PROV_URL_MAX 1024
#define BF_PROV_LIST_MAX 64

/*  Checks p (borrowed) and returns a new, normalized copy in *out (the
    fields above only).  BF_OK, or BF_EINVAL with a one-line detail
    naming the field ("bad provenance: ..."). */
int bf_provenance_check (json_t **out, json_t *p);

/*  One line for people: "commit 1a2b3c4d5e6f (main, v1.0) dirty: 2 files"
    into buf (at most len - 1 bytes). */
void bf_provenance_line (char *buf, size_t len, json_t *p);

#endif

/*  bf_git - a design's tree as git defines it (libgit2), for submit.

    Two modes:
      work tree (rev NULL): the root is the work tree's top; the files come
        from the file system, but only tracked files may be named on the
        command line ("file not tracked"), a file the sources name is sent
        when it is tracked or else not ignored, and nothing under .git.
      revision (rev set): the files come from the blobs of that commit
        (a commit id, tag or branch; git_revparse), through libgit2 only:
        no checkout, the working tree and index are ignored, and a bare
        repository works.  Given names are relative to the current
        directory's place in the tree (its top on a bare repository).
    Submodules are followed in both modes: a path inside one is looked up
    in the submodule's repository at the commit the superproject records
    ("submodule not checked out" when it is not there).

    The digest cache: what a blob's contents give is kept per repository
    in GITDIR/bitfarm/digests (text: a line "bitfarm-digests 1", then one
    line per fact: "d BLOBID SHA256 SIZE", "s BLOBID JSON" for what
    bf_design_scan found in it, "p BLOBID KEY PROOF" for its proof of
    possession for a CURVE key; written as temp file + fsync + rename;
    lines that do not parse are skipped), so a re-submit of an unchanged
    tree reads no file: in revision mode
    the blob id comes from the tree, in work tree mode from the index when
    the file's stat data (size, mtime, inode) matches its index entry and
    the entry is not racily clean (git's rule: mtime before the index's).
    A cache that cannot be read or written is ignored.

    Errors (one line, with a detail in bf_error_last): BF_ENOTFOUND "not a
    git repository", BF_EINVAL "unknown revision", "shallow clone lacks",
    "file not tracked", "submodule not checked out".
    Thread-safety: a bf_git_t belongs to one thread.
*/
#ifndef BF_GIT_H_INCLUDED
#define BF_GIT_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include "bf_design.h"

typedef struct _bf_git_t bf_git_t;

/*  Opens the repository: git_dir (--git-dir; may be bare) or the one the
    current directory lies in.  rev: NULL for work tree mode.  Without
    git_dir and rev, outside a repository, *out is NULL and BF_OK: the
    plain file system applies.  Errors as above. */
int bf_git_open (bf_git_t **out, const char *git_dir, const char *rev);
void bf_git_destroy (bf_git_t **self_p);

/*  The design's file access (borrowed; valid while self lives) and root
    (the work tree's top, or a name standing for the commit's tree). */
const bf_design_fs_t *bf_git_fs (bf_git_t *self);
const char *bf_git_root (const bf_git_t *self);

/*  True when path (a directory, relative to the current one) lies in the
    work tree (always true in revision mode). */
bool bf_git_holds (const bf_git_t *self, const char *path);

/*  Resolves rev (a commit, tag or branch) in the repository the current
    directory lies in, or git_dir, to its commit id (41 bytes into out).
    Errors as bf_git_open. */
int bf_git_resolve (char *out, const char *git_dir, const char *rev);

/*  Where the design came from, as SUBMIT's "provenance" object
    (docs/protocol.md): {"source": "worktree"|"rev", "rev", "commit",
    "dirty", "dirty_files", "dirty_count", "branches", "tags", "remote"
    (credentials stripped), "submodules": [{"path", "commit"}]}.  Call
    after bf_design_new (the untracked files it used count as dirty).
    A new object; the caller owns it. */
json_t *bf_git_provenance (bf_git_t *self);

/*  A project file's glob (bitfarm.ini's "sources") as git sees the tree:
    in revision mode the commit's blobs, in work tree mode the index's
    tracked files that are present on disk; never a submodule's contents
    (name those).  pattern: relative to the current directory (see
    bf_git_chdir), fnmatch(3) with FNM_PATHNAME | FNM_PERIOD, so '*' and
    '?' match no '/' and no leading '.', as glob(3).  Appends each match to
    *files (grown with realloc; *n counts), newly allocated, in git's
    (bytewise) order, named relative to the current directory when below
    it, else absolutely.  BF_OK; BF_ENOTFOUND "no tracked file matches",
    "no file of revision 'R' matches"; BF_EINVAL for a pattern outside the
    repository; BF_ETOOBIG past BF_MAX_FILES matches. */
int bf_git_glob (bf_git_t *self, char ***files, int *n, const char *pattern);

/*  Revision mode: the project file (bf_project.h) nearest the current
    directory's place in the commit's tree, up to its top: its path (as a
    name in the tree) and contents (NUL-terminated), both the caller's to
    free.  BF_ENOTFOUND when the revision has none, or in work tree mode. */
int bf_git_project (bf_git_t *self, char **path, char **text, size_t *len);

/*  Makes dir (absolute: a real directory in work tree mode, a name in the
    tree in revision mode) the directory given names are relative to. */
void bf_git_chdir (bf_git_t *self, const char *dir);

/*  The revision given to bf_git_open, or NULL in work tree mode. */
const char *bf_git_rev (const bf_git_t *self);

/*  Writes the digest cache if it gained entries.  Errors are ignored (the
    cache is an optimisation); also done by bf_git_destroy. */
void bf_git_save (bf_git_t *self);

/*  The URL with any user name and password removed
    ("https://tok@host/x" -> "https://host/x"); caller frees. */
char *bf_git_strip_url (const char *url);

#endif

/*  bf_git's internals, shared by bf_git.c (opening, the design's file
    access) and bf_git_prov.c (provenance, the digest cache). */
#ifndef BF_GIT_INT_H_INCLUDED
#define BF_GIT_INT_H_INCLUDED

#include "bf_git.h"
#include <git2.h>
#include <limits.h>
#include <stdint.h>

#define S_GIT_SUBS_MAX 64        /* submodules followed */

typedef struct {
    char path[PATH_MAX];         /* relative to the top of the superproject */
    char commit[GIT_OID_HEXSZ + 1];   /* recorded (rev) or checked out (work tree) */
    git_repository *repo;        /* opened, or NULL: not checked out */
    git_tree *tree;              /* rev mode: the tree of commit in repo */
    git_index *index;            /* work tree mode */
} bf_git_sub_t;

struct _bf_git_t {
    git_repository *repo;
    char *rev;                   /* NULL: work tree mode */
    char top[PATH_MAX];          /* the design's root */
    char cwd[PATH_MAX];
    git_commit *commit;          /* the rev's, or HEAD's (NULL on an unborn branch) */
    git_tree *tree;              /* rev mode */
    git_index *index;            /* work tree mode */
    int64_t index_sec, index_nsec;   /* the index file's mtime (racy-clean rule) */
    bf_git_sub_t subs[S_GIT_SUBS_MAX];
    int nsubs;
    json_t *digests;             /* blob id -> "SHA256 SIZE" */
    json_t *scans;               /* blob id -> [[kind, ident|null, value|null], ...] */
    json_t *proofs;              /* "BLOBID KEY" -> proof of possession (bf_proof.h) */
    bool digests_dirty;
    char cache_path[PATH_MAX];
    json_t *untracked;           /* paths that differ besides git_status's: untracked files
                                    the design uses, submodules checked out at another commit */
    bf_design_fs_t fs;
};

/*  Loads the digest cache of self->repo (bf_git_prov.c). */
void bf_git_cache_load (bf_git_t *self);

/*  The cached SHA-256 and size of a blob: true on a hit. */
bool bf_git_cache_get (bf_git_t *self, const git_oid *blob, char *hex, uint64_t *size);
void bf_git_cache_put (bf_git_t *self, const git_oid *blob, const char *hex, uint64_t size);

/*  What bf_design_scan found in a blob (borrowed), or NULL; and storing it
    (taken). */
json_t *bf_git_scan_get (bf_git_t *self, const git_oid *blob);
void bf_git_scan_put (bf_git_t *self, const git_oid *blob, json_t *found);

/*  The proof of a blob for a CURVE key (Z85), cached: true on a hit. */
bool bf_git_proof_get (bf_git_t *self, const git_oid *blob, const char *key, char *out);
void bf_git_proof_put (bf_git_t *self, const git_oid *blob, const char *key, const char *proof);

/*  path (relative to self->cwd, or absolute) made absolute and folded
    lexically ("." "..", "//"), into out (PATH_MAX bytes). */
int bf_git_fold (bf_git_t *self, char *out, const char *path);

/*  Sets a one-line error from libgit2's last error, prefixed with what. */
int bf_git_fail (int code, const char *what);

#endif

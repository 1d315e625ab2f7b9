/*  bf_git - see bf_git.h.  Opening, submodules and the design's file
    access; provenance and the digest cache are in bf_git_prov.c. */
#include "bf_git_int.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_proof.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*  Stands for the commit's tree on a bare repository (never a real path). */
#define S_BARE_TOP "/bitfarm-rev"

int
bf_git_fail (int code, const char *what)
{
    const git_error *e = git_error_last ();
    return bf_error_set (code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/*  The path of abs below the top, or NULL when it lies elsewhere. */
static const char *
s_rel (const bf_git_t *self, const char *abs)
{
    size_t n = strlen (self->top);
    if (strncmp (abs, self->top, n) != 0 || (abs[n] != '/' && abs[n] != '\0'))
        return NULL;
    return abs[n] ? abs + n + 1 : abs + n;
}

/*  True when a part of rel is ".git". */
static bool
s_in_dotgit (const char *rel)
{
    for (const char *p = rel; (p = strstr (p, ".git")); p += 4)
        if ((p == rel || p[-1] == '/') && (p[4] == '/' || p[4] == '\0'))
            return true;
    return false;
}

/*  The innermost submodule rel lies in, or NULL; *subrel gets the rest. */
static bf_git_sub_t *
s_sub_of (bf_git_t *self, const char *rel, const char **subrel)
{
    bf_git_sub_t *best = NULL;
    size_t bestn = 0;
    for (int i = 0; i < self->nsubs; i++) {
        size_t n = strlen (self->subs[i].path);
        if (strncmp (rel, self->subs[i].path, n) == 0 && rel[n] == '/' && n > bestn) {
            best = &self->subs[i];
            bestn = n;
        }
    }
    *subrel = best ? rel + bestn + 1 : rel;
    return best;
}

static int
s_sub_missing (const bf_git_sub_t *sub)
{
    return bf_error_set (BF_EINVAL, "submodule not checked out '%s' (run: git submodule "
                         "update --init '%s')", sub->path, sub->path);
}

/* ---------------------------------------------------------------------- */
/*  Submodules                                                              */

/*  Opens a submodule's repository: its work tree's, else the
    superproject's GITDIR/modules/NAME (a bare superproject). */
static git_repository *
s_sub_open (git_repository *super, const char *name, const char *path)
{
    git_repository *r = NULL;
    git_submodule *sm = NULL;
    if (!git_repository_is_bare (super) && git_submodule_lookup (&sm, super, name) == 0) {
        int rc = git_submodule_open (&r, sm);
        git_submodule_free (sm);
        if (rc == 0)
            return r;
        r = NULL;
    }
    git_error_clear ();
    char *dir = xasprintf ("%smodules/%s", git_repository_path (super), name);
    if (git_repository_open_ext (&r, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0)
        r = NULL;
    free (dir);
    git_error_clear ();
    (void) path;
    return r;
}

typedef struct {
    bf_git_t *self;
    const char *prefix;          /* the superproject's path below the top ("" at the top) */
    git_repository *repo;
} s_subwalk_t;

static void s_subs_add (bf_git_t *self, git_repository *repo, git_tree *tree,
                        const char *prefix);

static bf_git_sub_t *
s_sub_new (bf_git_t *self, const char *prefix, const char *path)
{
    if (self->nsubs == S_GIT_SUBS_MAX)
        return NULL;
    bf_git_sub_t *sub = &self->subs[self->nsubs++];
    memset (sub, 0, sizeof *sub);
    snprintf (sub->path, sizeof sub->path, "%s%s%s", prefix, prefix[0] ? "/" : "", path);
    return sub;
}

/*  Work tree mode: the submodules libgit2 knows from .gitmodules. */
static int
s_on_sub (git_submodule *sm, const char *name, void *payload)
{
    s_subwalk_t *w = payload;
    bf_git_sub_t *sub = s_sub_new (w->self, w->prefix, git_submodule_path (sm));
    if (!sub)
        return 0;
    const git_oid *id = git_submodule_wd_id (sm), *head = git_submodule_head_id (sm);
    if (id && head && !git_oid_equal (id, head))
        json_array_append_new (w->self->untracked, json_string (sub->path));   /* moved */
    if (!id)
        id = head;
    if (id)
        git_oid_tostr (sub->commit, sizeof sub->commit, id);
    if (git_submodule_wd_id (sm)) {
        sub->repo = s_sub_open (w->repo, name, sub->path);
        if (sub->repo && git_repository_index (&sub->index, sub->repo) != 0) {
            git_repository_free (sub->repo);
            sub->repo = NULL;
        }
    }
    if (sub->repo)
        s_subs_add (w->self, sub->repo, NULL, sub->path);   /* nested submodules */
    return 0;
}

/*  Rev mode: every gitlink of the tree is a submodule at the commit it
    records, read from the submodule's repository when there is one. */
static int
s_on_gitlink (const char *root, const git_tree_entry *e, void *payload)
{
    s_subwalk_t *w = payload;
    if (git_tree_entry_type (e) != GIT_OBJECT_COMMIT)
        return 0;
    char *path = xasprintf ("%s%s", root, git_tree_entry_name (e));
    bf_git_sub_t *sub = s_sub_new (w->self, w->prefix, path);
    if (sub) {
        git_oid_tostr (sub->commit, sizeof sub->commit, git_tree_entry_id (e));
        sub->repo = s_sub_open (w->repo, path, sub->path);
        git_commit *c = NULL;
        if (sub->repo && (git_commit_lookup (&c, sub->repo, git_tree_entry_id (e)) != 0
                          || git_commit_tree (&sub->tree, c) != 0)) {
            git_repository_free (sub->repo);
            sub->repo = NULL;
        }
        git_commit_free (c);
        git_error_clear ();
    }
    free (path);
    return 0;
}

static void
s_subs_add (bf_git_t *self, git_repository *repo, git_tree *tree, const char *prefix)
{
    s_subwalk_t w = { self, prefix, repo };
    if (self->rev) {
        int first = self->nsubs;
        git_tree_walk (tree, GIT_TREEWALK_PRE, s_on_gitlink, &w);
        int last = self->nsubs;
        for (int i = first; i < last; i++)
            if (self->subs[i].repo)
                s_subs_add (self, self->subs[i].repo, self->subs[i].tree, self->subs[i].path);
    }
    else
        git_submodule_foreach (repo, s_on_sub, &w);   /* a broken .gitmodules: none */
    git_error_clear ();
}

/* ---------------------------------------------------------------------- */
/*  Rev mode: the tree of the commit                                        */

/*  The tree entry at rel (following submodules), or an error: BF_ENOTFOUND
    (no such path, with a detail), or "submodule not checked out". */
static int
s_entry (bf_git_t *self, git_tree_entry **out, git_repository **repo_out, const char *rel)
{
    const char *subrel;
    bf_git_sub_t *sub = s_sub_of (self, rel, &subrel);
    if (sub && !sub->repo)
        return s_sub_missing (sub);
    git_tree *tree = sub ? sub->tree : self->tree;
    if (git_tree_entry_bypath (out, tree, subrel) != 0) {
        git_error_clear ();
        return bf_error_set (BF_ENOTFOUND, "cannot open '%s': not in revision '%s'", rel,
                             self->rev);
    }
    *repo_out = sub ? sub->repo : self->repo;
    return BF_OK;
}

static int
s_rev_check (void *arg, const char *abs, bool named)
{
    bf_git_t *self = arg;
    const char *rel = s_rel (self, abs);
    if (!rel || !rel[0])
        return bf_error_set (BF_ENOTFOUND, "cannot open '%s': not in revision '%s'", abs,
                             self->rev);
    git_tree_entry *e = NULL;
    git_repository *repo;
    int rc = s_entry (self, &e, &repo, rel);
    if (rc == BF_ENOTFOUND && named)
        return bf_error_set (BF_ENOTFOUND, "file not tracked '%s' (not in revision '%s')", rel,
                             self->rev);
    if (rc != BF_OK)
        return rc;
    git_filemode_t mode = git_tree_entry_filemode (e);
    git_tree_entry_free (e);
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
        return bf_error_set (BF_EINVAL, "not a regular file '%s' in revision '%s'", rel,
                             self->rev);
    return BF_OK;
}

static int
s_rev_blob (bf_git_t *self, git_blob **out, git_oid *id, const char *abs)
{
    const char *rel = s_rel (self, abs);
    git_tree_entry *e = NULL;
    git_repository *repo;
    int rc = rel ? s_entry (self, &e, &repo, rel)
                 : bf_error_set (BF_ENOTFOUND, "cannot open '%s'", abs);
    if (rc != BF_OK)
        return rc;
    git_oid_cpy (id, git_tree_entry_id (e));
    git_tree_entry_free (e);
    if (!out)
        return BF_OK;
    if (git_blob_lookup (out, repo, id) != 0)
        return bf_git_fail (BF_EIO, rel);
    if (git_blob_rawsize (*out) > BF_MAX_FILE_SIZE) {
        rc = bf_error_set (BF_ETOOBIG, "file too big '%s' (%llu bytes, limit %u)", rel,
                           (unsigned long long) git_blob_rawsize (*out), BF_MAX_FILE_SIZE);
        git_blob_free (*out);
        *out = NULL;
    }
    return rc;
}

static int
s_rev_read (void *arg, char **data, size_t *len, const char *abs)
{
    git_blob *b = NULL;
    git_oid id;
    int rc = s_rev_blob (arg, &b, &id, abs);
    if (rc != BF_OK)
        return rc;
    *len = (size_t) git_blob_rawsize (b);
    *data = xmalloc (*len + 1);
    memcpy (*data, git_blob_rawcontent (b), *len);
    (*data)[*len] = '\0';
    git_blob_free (b);
    return BF_OK;
}

static int
s_rev_digest (void *arg, char hex[65], uint64_t *size, const char *abs)
{
    bf_git_t *self = arg;
    git_oid id;
    int rc = s_rev_blob (self, NULL, &id, abs);
    if (rc != BF_OK)
        return rc;
    if (bf_git_cache_get (self, &id, hex, size))
        return BF_OK;
    git_blob *b = NULL;
    if ((rc = s_rev_blob (self, &b, &id, abs)) != BF_OK)
        return rc;
    *size = (uint64_t) git_blob_rawsize (b);
    bf_sha256_hex (hex, git_blob_rawcontent (b), (size_t) *size);
    git_blob_free (b);
    bf_git_cache_put (self, &id, hex, *size);
    return BF_OK;
}

/*  Lexical: cwd joined with path, "." and ".." and "//" folded. */
static int
s_rev_resolve (void *arg, char *out, const char *path)
{
    bf_git_t *self = arg;
    if (strlen (self->cwd) + strlen (path) + 2 > PATH_MAX)
        return BF_ENOTFOUND;
    bf_path_fold (out, PATH_MAX, self->cwd, path);
    return BF_OK;
}

int
bf_git_fold (bf_git_t *self, char *out, const char *path)
{
    return s_rev_resolve (self, out, path);
}

/* ---------------------------------------------------------------------- */
/*  Work tree mode: the file system, with git's policy                      */

/*  realpath; a path that does not exist is folded lexically, so that
    check can say why (a submodule not checked out). */
static int
s_wt_resolve (void *arg, char *out, const char *path)
{
    return realpath (path, out) ? BF_OK : s_rev_resolve (arg, out, path);
}

/*  The index (the submodule's for a path inside one) and rel within it. */
static git_index *
s_wt_index (bf_git_t *self, const char *rel, const char **subrel, git_repository **repo)
{
    bf_git_sub_t *sub = s_sub_of (self, rel, subrel);
    *repo = sub ? sub->repo : self->repo;
    return sub ? sub->index : self->index;
}

static int
s_wt_check (void *arg, const char *abs, bool named)
{
    bf_git_t *self = arg;
    struct stat st;
    const char *rel = s_rel (self, abs);
    if (rel && s_in_dotgit (rel))
        return bf_error_set (BF_EACCES, "'%s' is inside .git", rel);
    if (rel) {
        const char *subrel;
        bf_git_sub_t *sub = s_sub_of (self, rel, &subrel);
        if (sub && !sub->repo)
            return s_sub_missing (sub);
    }
    if (stat (abs, &st) != 0)
        return bf_error_set (BF_ENOTFOUND, "cannot open '%s': %s", rel ? rel : abs,
                             strerror (errno));
    if (!S_ISREG (st.st_mode))
        return bf_error_set (BF_EINVAL, "not a regular file '%s'", rel ? rel : abs);
    if (!rel)
        return BF_OK;   /* outside the tree: bf_design refuses it, in its words */
    const char *subrel;
    git_repository *repo;
    git_index *index = s_wt_index (self, rel, &subrel, &repo);
    if (index && git_index_get_bypath (index, subrel, 0))
        return BF_OK;
    if (named)
        return bf_error_set (BF_EINVAL, "file not tracked '%s' (git add it, or name only "
                             "tracked files)", rel);
    int ignored = 0;
    if (git_ignore_path_is_ignored (&ignored, repo, subrel) != 0 || ignored)
        return bf_error_set (BF_EACCES, "it is ignored by git");
    size_t i;
    json_t *v;
    json_array_foreach (self->untracked, i, v)
        if (strcmp (json_string_value (v), rel) == 0)
            return BF_OK;
    json_array_append_new (self->untracked, json_string (rel));
    return BF_OK;
}

static int
s_wt_read (void *arg, char **data, size_t *len, const char *abs)
{
    (void) arg;
    return bf_file_read (data, len, abs, BF_MAX_FILE_SIZE);
}

/*  The blob id of abs when the index vouches for its contents (its stat
    data matches, and the entry is not racily clean), else NULL. */
static const git_oid *
s_wt_blob (bf_git_t *self, const char *abs, const struct stat *st)
{
    const char *rel = s_rel (self, abs), *subrel;
    git_repository *repo;
    if (!rel)
        return NULL;
    git_index *index = s_wt_index (self, rel, &subrel, &repo);
    const git_index_entry *e = index ? git_index_get_bypath (index, subrel, 0) : NULL;
    if (!e || (uint64_t) e->file_size != (uint64_t) st->st_size
        || (int64_t) e->mtime.seconds != (int64_t) st->st_mtim.tv_sec
        || (e->mtime.nanoseconds && (int64_t) e->mtime.nanoseconds != st->st_mtim.tv_nsec)
        || (e->ino && e->ino != (uint32_t) st->st_ino))
        return NULL;
    if (index == self->index
        && ((int64_t) e->mtime.seconds > self->index_sec
            || ((int64_t) e->mtime.seconds == self->index_sec
                && (!e->mtime.nanoseconds
                    || (int64_t) e->mtime.nanoseconds >= self->index_nsec))))
        return NULL;   /* racily clean: perhaps changed after the index was written */
    return &e->id;
}

static int
s_wt_digest (void *arg, char hex[65], uint64_t *size, const char *abs)
{
    bf_git_t *self = arg;
    struct stat st;
    if (stat (abs, &st) != 0)
        return bf_error_set (BF_ENOTFOUND, "cannot open '%s': %s", abs, strerror (errno));
    const git_oid *id = s_wt_blob (self, abs, &st);
    if (id && bf_git_cache_get (self, id, hex, size) && *size == (uint64_t) st.st_size)
        return BF_OK;
    int rc = bf_sha256_file (hex, size, abs);
    if (rc == BF_OK && id && *size == (uint64_t) st.st_size)
        bf_git_cache_put (self, id, hex, *size);
    return rc;
}

/* ---------------------------------------------------------------------- */
/*  Scans, remembered by blob id                                            */

typedef struct {
    bf_scan_fn *fn;
    void *fnarg;
    json_t *found;
} s_record_t;

static void
s_on_scan (void *arg, bf_scan_kind_t kind, const char *ident, const char *value)
{
    s_record_t *r = arg;
    json_array_append_new (r->found, json_pack ("[i, s?, s?]", (int) kind, ident, value));
    r->fn (r->fnarg, kind, ident, value);
}

/*  The blob id of abs's contents into id, when git vouches for it (rev:
    the tree; work tree: the index, s_wt_blob); else false. */
static bool
s_blob_id (bf_git_t *self, git_oid *id, const char *abs)
{
    struct stat st;
    const git_oid *e;
    if (self->rev)
        return s_rev_blob (self, NULL, id, abs) == BF_OK;
    if (stat (abs, &st) != 0 || !(e = s_wt_blob (self, abs, &st)))
        return false;
    git_oid_cpy (id, e);
    return true;
}

/*  bf_design_fs_t.proof: cached per blob and key, else computed. */
static int
s_proof (void *arg, char out[65], const char *abs, const char *key)
{
    bf_git_t *self = arg;
    git_oid id;
    bool known = s_blob_id (self, &id, abs);
    if (known && bf_git_proof_get (self, &id, key, out))
        return BF_OK;
    char *data = NULL;
    size_t len = 0;
    int rc = self->rev ? s_rev_read (self, &data, &len, abs) : s_wt_read (self, &data, &len, abs);
    if (rc != BF_OK)
        return rc;
    bf_proof_hex (out, key, data, len);
    free (data);
    if (known)
        bf_git_proof_put (self, &id, key, out);
    return BF_OK;
}

/*  bf_design_fs_t.scan: replays the findings cached for the blob, else
    reads and scans it, and caches them when the blob id is known. */
static int
s_scan (void *arg, const char *abs, bf_scan_fn *fn, void *fnarg)
{
    bf_git_t *self = arg;
    git_oid id;
    const git_oid *known = s_blob_id (self, &id, abs) ? &id : NULL;
    json_t *found = known ? bf_git_scan_get (self, known) : NULL;
    if (found) {
        size_t i;
        json_t *f;
        json_array_foreach (found, i, f)
            fn (fnarg, (bf_scan_kind_t) json_integer_value (json_array_get (f, 0)),
                json_string_value (json_array_get (f, 1)), json_string_value (json_array_get (f, 2)));
        return BF_OK;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = self->rev ? s_rev_read (self, &text, &len, abs) : s_wt_read (self, &text, &len, abs);
    if (rc != BF_OK)
        return rc;
    s_record_t r = { fn, fnarg, json_array () };
    bf_design_scan (text, len, s_on_scan, &r);
    free (text);
    if (known)
        bf_git_scan_put (self, known, r.found);
    else
        json_decref (r.found);
    return BF_OK;
}

/* ---------------------------------------------------------------------- */

/*  Opens git_dir, or the repository cwd lies in; "not a git repository". */
static int
s_open_repo (git_repository **out, const char *git_dir, bool required)
{
    *out = NULL;
    int e = git_dir ? git_repository_open_ext (out, git_dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)
                    : git_repository_open_ext (out, ".", GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
    git_error_clear ();
    if (e == 0)
        return BF_OK;
    if (!required && !git_dir)
        return BF_ENOTFOUND;
    if (git_dir)
        return bf_error_set (BF_ENOTFOUND, "not a git repository '%s'", git_dir);
    return bf_error_set (BF_ENOTFOUND, "not a git repository (nor any parent of the current "
                         "directory); --rev needs one, or give --git-dir DIR");
}

static int
s_lookup_rev (git_commit **out, git_repository *repo, const char *rev)
{
    git_object *obj = NULL;
    *out = NULL;
    if (git_revparse_single (&obj, repo, rev) != 0) {
        git_error_clear ();
        if (git_repository_is_shallow (repo))
            return bf_error_set (BF_EINVAL, "shallow clone lacks '%s' (fetch it: git fetch "
                                 "--unshallow, or git fetch origin '%s')", rev, rev);
        return bf_error_set (BF_EINVAL, "unknown revision '%s' (give a commit, tag or "
                             "branch of this repository)", rev);
    }
    int rc = git_object_peel ((git_object **) out, obj, GIT_OBJECT_COMMIT);
    git_object_free (obj);
    if (rc != 0) {
        git_error_clear ();
        return bf_error_set (BF_EINVAL, "unknown revision '%s' (not a commit)", rev);
    }
    return BF_OK;
}

int
bf_git_resolve (char *out, const char *git_dir, const char *rev)
{
    git_libgit2_init ();
    git_repository *repo = NULL;
    git_commit *c = NULL;
    int rc = s_open_repo (&repo, git_dir, true);
    if (rc == BF_OK && (rc = s_lookup_rev (&c, repo, rev)) == BF_OK)
        git_oid_tostr (out, GIT_OID_HEXSZ + 1, git_commit_id (c));
    git_commit_free (c);
    git_repository_free (repo);
    git_libgit2_shutdown ();
    return rc;
}

int
bf_git_open (bf_git_t **out, const char *git_dir, const char *rev)
{
    *out = NULL;
    git_libgit2_init ();
    bf_git_t *self = xcalloc (1, sizeof *self);
    self->untracked = json_array ();
    int rc = s_open_repo (&self->repo, git_dir, rev != NULL);
    if (rc == BF_ENOTFOUND && !git_dir && !rev) {
        bf_error_clear ();
        bf_git_destroy (&self);
        return BF_OK;   /* not in a repository: the plain file system */
    }
    if (rc != BF_OK)
        goto out;
    bool bare = git_repository_is_bare (self->repo);
    if (!rev && bare) {
        rc = bf_error_set (BF_EINVAL, "'%s' is a bare repository: give --rev REV",
                           git_repository_path (self->repo));
        goto out;
    }
    if (!getcwd (self->cwd, sizeof self->cwd)) {
        rc = bf_error_set (BF_EIO, "cannot get the current directory: %s", strerror (errno));
        goto out;
    }
    if (bare)
        snprintf (self->top, sizeof self->top, "%s", S_BARE_TOP);
    else {
        char *top = realpath (git_repository_workdir (self->repo), NULL);
        snprintf (self->top, sizeof self->top, "%s", top ? top : git_repository_workdir (self->repo));
        free (top);
    }
    if (bare || !s_rel (self, self->cwd))
        snprintf (self->cwd, sizeof self->cwd, "%s", self->top);
    bf_git_cache_load (self);
    if (rev) {
        self->rev = xstrdup (rev);
        if ((rc = s_lookup_rev (&self->commit, self->repo, rev)) != BF_OK)
            goto out;
        if (git_commit_tree (&self->tree, self->commit) != 0) {
            rc = bf_git_fail (BF_EIO, "cannot read the commit's tree");
            goto out;
        }
        self->fs = (bf_design_fs_t) { self, self->cwd, s_rev_resolve, s_rev_check, s_rev_read,
                                      s_rev_digest, s_scan, s_proof };
    }
    else {
        git_object *head = NULL;
        if (git_revparse_single (&head, self->repo, "HEAD") == 0)
            git_object_peel ((git_object **) &self->commit, head, GIT_OBJECT_COMMIT);
        git_object_free (head);
        git_error_clear ();
        if (git_repository_index (&self->index, self->repo) != 0) {
            rc = bf_git_fail (BF_EIO, "cannot read the git index");
            goto out;
        }
        struct stat st;
        char *ipath = xasprintf ("%sindex", git_repository_path (self->repo));
        if (stat (ipath, &st) == 0) {
            self->index_sec = st.st_mtim.tv_sec;
            self->index_nsec = st.st_mtim.tv_nsec;
        }
        free (ipath);
        self->fs = (bf_design_fs_t) { self, self->cwd, s_wt_resolve, s_wt_check, s_wt_read,
                                      s_wt_digest, s_scan, s_proof };
    }
    s_subs_add (self, self->repo, self->tree, "");
    *out = self;
    self = NULL;   /* transferred */
out:
    bf_git_destroy (&self);
    return rc;
}

void
bf_git_destroy (bf_git_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_git_t *self = *self_p;
    bf_git_save (self);
    for (int i = 0; i < self->nsubs; i++) {
        git_tree_free (self->subs[i].tree);
        git_index_free (self->subs[i].index);
        git_repository_free (self->subs[i].repo);
    }
    git_tree_free (self->tree);
    git_index_free (self->index);
    git_commit_free (self->commit);
    git_repository_free (self->repo);
    json_decref (self->digests);
    json_decref (self->scans);
    json_decref (self->proofs);
    json_decref (self->untracked);
    free (self->rev);
    free (self);
    git_libgit2_shutdown ();
    *self_p = NULL;
}

const bf_design_fs_t *
bf_git_fs (bf_git_t *self)
{
    return &self->fs;
}

const char *
bf_git_root (const bf_git_t *self)
{
    return self->top;
}

bool
bf_git_holds (const bf_git_t *self, const char *path)
{
    if (self->rev)
        return true;
    char real[PATH_MAX];
    return realpath (path, real) && s_rel (self, real) != NULL;
}

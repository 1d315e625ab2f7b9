/*  bf_git_glob - see bf_git.h: a project file's globs, and the project file
    itself, as git sees the tree (the commit's tree in revision mode, the
    index's tracked files in work tree mode). */
#include "bf_git_int.h"
#include "bf_project.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_util.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    bf_git_t *self;
    const char *pattern;     /* relative to the top */
    char ***files;
    int *n;
    int matched;
    int rc;
} s_glob_t;

/*  One path of the tree (relative to the top) against the pattern: a
    match is appended as the current directory would name it. */
static void
s_match (s_glob_t *g, const char *rel)
{
    if (g->rc != BF_OK || fnmatch (g->pattern, rel, FNM_PATHNAME | FNM_PERIOD) != 0)
        return;
    if (*g->n >= BF_MAX_FILES) {
        g->rc = bf_error_set (BF_ETOOBIG, "'%s' matches more than %d files", g->pattern,
                              BF_MAX_FILES);
        return;
    }
    const bf_git_t *self = g->self;
    char *name = xasprintf ("%s/%s", self->top, rel);
    size_t n = strlen (self->cwd);
    if (strncmp (name, self->cwd, n) == 0 && name[n] == '/')
        memmove (name, name + n + 1, strlen (name + n + 1) + 1);
    *g->files = xrealloc (*g->files, (size_t) (*g->n + 1) * sizeof **g->files);
    (*g->files)[(*g->n)++] = name;
    g->matched++;
}

static int
s_on_tree (const char *root, const git_tree_entry *e, void *payload)
{
    s_glob_t *g = payload;
    git_filemode_t mode = git_tree_entry_filemode (e);
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
        return 0;
    char rel[PATH_MAX];
    if (snprintf (rel, sizeof rel, "%s%s", root, git_tree_entry_name (e)) < (int) sizeof rel)
        s_match (g, rel);
    return g->rc == BF_OK ? 0 : -1;
}

int
bf_git_glob (bf_git_t *self, char ***files, int *n, const char *pattern)
{
    char abs[PATH_MAX];
    if (bf_git_fold (self, abs, pattern) != BF_OK)
        return bf_error_set (BF_EINVAL, "pattern too long '%.80s'", pattern);
    size_t tn = strlen (self->top);
    if (strncmp (abs, self->top, tn) != 0 || abs[tn] != '/')
        return bf_error_set (BF_EINVAL, "'%s' lies outside the repository (%s)", pattern,
                             self->top);
    s_glob_t g = { self, abs + tn + 1, files, n, 0, BF_OK };
    if (self->rev) {
        if (git_tree_walk (self->tree, GIT_TREEWALK_PRE, s_on_tree, &g) != 0 && g.rc == BF_OK)
            g.rc = bf_git_fail (BF_EIO, "cannot walk the commit's tree");
    }
    else {
        size_t count = git_index_entrycount (self->index);
        for (size_t i = 0; i < count && g.rc == BF_OK; i++) {
            const git_index_entry *e = git_index_get_byindex (self->index, i);
            if (!e || git_index_entry_stage (e) != 0 || !S_ISREG (e->mode))
                continue;
            char *path = xasprintf ("%s/%s", self->top, e->path);
            struct stat st;
            bool present = lstat (path, &st) == 0 && S_ISREG (st.st_mode);
            free (path);
            if (present)   /* tracked, and not deleted from the work tree */
                s_match (&g, e->path);
        }
    }
    if (g.rc == BF_OK && g.matched == 0)
        return self->rev
            ? bf_error_set (BF_ENOTFOUND, "no file of revision '%s' matches '%s'", self->rev,
                            pattern)
            : bf_error_set (BF_ENOTFOUND, "no tracked file matches '%s'", pattern);
    return g.rc;
}

int
bf_git_project (bf_git_t *self, char **path_out, char **text, size_t *len)
{
    *path_out = NULL;
    *text = NULL;
    if (!self->rev)
        return BF_ENOTFOUND;
    char dir[PATH_MAX];
    snprintf (dir, sizeof dir, "%s", self->cwd);
    size_t tn = strlen (self->top);
    for (;;) {
        char *path = xasprintf ("%s/%s", dir, BF_PROJECT_FILE);
        if (self->fs.check (self, path, false) == BF_OK
            && self->fs.read (self, text, len, path) == BF_OK) {
            *path_out = path;
            return BF_OK;
        }
        free (path);
        bf_error_clear ();
        char *slash = strrchr (dir, '/');
        if (strlen (dir) <= tn || !slash)
            return BF_ENOTFOUND;
        *slash = '\0';
    }
}

void
bf_git_chdir (bf_git_t *self, const char *dir)
{
    snprintf (self->cwd, sizeof self->cwd, "%s", dir);
    self->fs.cwd = self->cwd;
}

const char *
bf_git_rev (const bf_git_t *self)
{
    return self->rev;
}

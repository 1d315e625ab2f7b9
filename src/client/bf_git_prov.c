/*  bf_git - see bf_git.h.  Provenance and the digest cache. */
#include "bf_git_int.h"
#include "../common/bf_error.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CACHE_MAGIC "bitfarm-digests 1\n"
#define S_SCANS_MAX 4096                 /* findings kept per blob */
#define S_CACHE_MAX (64u << 20)          /* bytes of a digest cache read */
#define S_DIRTY_MAX 64                   /* dirty files listed (dirty_count has them all) */
#define S_REFS_MAX 32                    /* branch and tag names listed, each */

/* ---------------------------------------------------------------------- */
/*  The digest cache                                                        */

void
bf_git_cache_load (bf_git_t *self)
{
    self->digests = json_object ();
    self->scans = json_object ();
    self->proofs = json_object ();
    snprintf (self->cache_path, sizeof self->cache_path, "%sbitfarm/digests",
              git_repository_path (self->repo));
    char *text = NULL;
    size_t len = 0;
    if (bf_file_read (&text, &len, self->cache_path, S_CACHE_MAX) != BF_OK) {
        bf_error_clear ();
        return;
    }
    if (strncmp (text, S_CACHE_MAGIC, strlen (S_CACHE_MAGIC)) == 0) {
        char *save = NULL;
        for (char *line = strtok_r (text + strlen (S_CACHE_MAGIC), "\n", &save); line;
             line = strtok_r (NULL, "\n", &save)) {
            char oid[GIT_OID_HEXSZ + 1], sha[BF_SHA256_HEX_LEN + 1], key[41];
            unsigned long long size;
            int at = 0;
            if (sscanf (line, "d %40[0-9a-f] %64[0-9a-f] %llu", oid, sha, &size) == 3
                && strlen (oid) == GIT_OID_HEXSZ && strlen (sha) == BF_SHA256_HEX_LEN)
                json_object_set_new (self->digests, oid, json_string (line + 2 + GIT_OID_HEXSZ + 1));
            else if (sscanf (line, "p %40[0-9a-f] %40[!-~] %64[0-9a-f]", oid, key, sha) == 3
                     && strlen (oid) == GIT_OID_HEXSZ && strlen (key) == 40
                     && strlen (sha) == BF_SHA256_HEX_LEN) {
                char *k = xasprintf ("%s %s", oid, key);
                json_object_set_new (self->proofs, k, json_string (sha));
                free (k);
            }
            else if (sscanf (line, "s %40[0-9a-f] %n", oid, &at) == 1 && at > 0
                     && strlen (oid) == GIT_OID_HEXSZ) {
                json_t *found = json_loads (line + at, JSON_REJECT_DUPLICATES, NULL);
                if (json_is_array (found))
                    json_object_set_new (self->scans, oid, found);
                else
                    json_decref (found);
            }
        }
    }
    free (text);
}

bool
bf_git_cache_get (bf_git_t *self, const git_oid *blob, char *hex, uint64_t *size)
{
    char oid[GIT_OID_HEXSZ + 1];
    git_oid_tostr (oid, sizeof oid, blob);
    const char *v = json_string_value (json_object_get (self->digests, oid));
    unsigned long long n;
    if (!v || sscanf (v, "%64s %llu", hex, &n) != 2)
        return false;
    *size = n;
    return true;
}

void
bf_git_cache_put (bf_git_t *self, const git_oid *blob, const char *hex, uint64_t size)
{
    char oid[GIT_OID_HEXSZ + 1];
    git_oid_tostr (oid, sizeof oid, blob);
    char *v = xasprintf ("%s %llu", hex, (unsigned long long) size);
    json_object_set_new (self->digests, oid, json_string (v));
    free (v);
    self->digests_dirty = true;
}

json_t *
bf_git_scan_get (bf_git_t *self, const git_oid *blob)
{
    char oid[GIT_OID_HEXSZ + 1];
    git_oid_tostr (oid, sizeof oid, blob);
    return json_object_get (self->scans, oid);
}

void
bf_git_scan_put (bf_git_t *self, const git_oid *blob, json_t *found)
{
    char oid[GIT_OID_HEXSZ + 1];
    git_oid_tostr (oid, sizeof oid, blob);
    if (json_array_size (found) > S_SCANS_MAX) {
        json_decref (found);   /* too many to keep: scanned again next time */
        return;
    }
    json_object_set_new (self->scans, oid, found);
    self->digests_dirty = true;
}

bool
bf_git_proof_get (bf_git_t *self, const git_oid *blob, const char *key, char *out)
{
    char oid[GIT_OID_HEXSZ + 1];
    git_oid_tostr (oid, sizeof oid, blob);
    char *k = xasprintf ("%s %s", oid, key);
    const char *v = json_string_value (json_object_get (self->proofs, k));
    free (k);
    if (!v)
        return false;
    snprintf (out, BF_SHA256_HEX_LEN + 1, "%s", v);
    return true;
}

void
bf_git_proof_put (bf_git_t *self, const git_oid *blob, const char *key, const char *proof)
{
    char oid[GIT_OID_HEXSZ + 1];
    git_oid_tostr (oid, sizeof oid, blob);
    if (strlen (key) != 40 || strspn (key, " \n") > 0 || strpbrk (key, " \n"))
        return;   /* not a Z85 key: never written */
    char *k = xasprintf ("%s %s", oid, key);
    json_object_set_new (self->proofs, k, json_string (proof));
    free (k);
    self->digests_dirty = true;
}

void
bf_git_save (bf_git_t *self)
{
    if (!self || !self->digests_dirty)
        return;
    size_t cap = strlen (S_CACHE_MAGIC) + json_object_size (self->digests) * 128
                 + json_object_size (self->proofs) * 160 + 1, n = 0;
    const char *k;
    json_t *v;
    char **texts = xcalloc (json_object_size (self->scans) + 1, sizeof *texts);
    size_t nt = 0;
    json_object_foreach (self->scans, k, v) {
        texts[nt] = json_dumps (v, JSON_COMPACT);
        cap += strlen (texts[nt++]) + GIT_OID_HEXSZ + 4;
    }
    char *buf = xmalloc (cap);
    n += (size_t) snprintf (buf, cap, "%s", S_CACHE_MAGIC);
    json_object_foreach (self->digests, k, v)
        n += (size_t) snprintf (buf + n, cap - n, "d %s %s\n", k, json_string_value (v));
    json_object_foreach (self->proofs, k, v)
        n += (size_t) snprintf (buf + n, cap - n, "p %s %s\n", k, json_string_value (v));
    nt = 0;
    json_object_foreach (self->scans, k, v) {
        n += (size_t) snprintf (buf + n, cap - n, "s %s %s\n", k, texts[nt]);
        free (texts[nt++]);
    }
    free (texts);
    char *dir = xasprintf ("%sbitfarm", git_repository_path (self->repo));
    if (bf_mkdir_p (dir, 0755) != BF_OK
        || bf_file_write_atomic (self->cache_path, buf, n, 0644) != BF_OK)
        bf_error_clear ();   /* read-only repository: no cache */
    free (dir);
    free (buf);
    self->digests_dirty = false;
}

/* ---------------------------------------------------------------------- */
/*  Provenance                                                              */

char *
bf_git_strip_url (const char *url)
{
    const char *scheme = strstr (url, "://");
    if (!scheme)
        return xstrdup (url);   /* scp-like "git@host:path": a user name, no secret */
    const char *host = scheme + 3;
    const char *end = host + strcspn (host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < end; p++)
        if (*p == '@')
            at = p;   /* the last @ before the path ends the user info */
    if (!at)
        return xstrdup (url);
    return xasprintf ("%.*s%s", (int) (host - url), url, at + 1);
}

typedef struct {
    git_repository *repo;
    const git_oid *commit;
    json_t *branches, *tags;
} s_refs_t;

static int
s_on_ref (const char *name, void *payload)
{
    s_refs_t *r = payload;
    bool branch = strncmp (name, "refs/heads/", 11) == 0;
    bool tag = strncmp (name, "refs/tags/", 10) == 0;
    json_t *list = branch ? r->branches : tag ? r->tags : NULL;
    if (!list || json_array_size (list) >= S_REFS_MAX)
        return 0;
    git_reference *ref = NULL;
    git_object *obj = NULL;
    if (git_reference_lookup (&ref, r->repo, name) == 0
        && git_reference_peel (&obj, ref, GIT_OBJECT_COMMIT) == 0
        && git_oid_equal (git_object_id (obj), r->commit))
        json_array_append_new (list, json_string (name + (branch ? 11 : 10)));
    git_object_free (obj);
    git_reference_free (ref);
    git_error_clear ();
    return 0;
}

static int
s_cmp (const void *a, const void *b)
{
    return strcmp (json_string_value (*(json_t *const *) a),
                   json_string_value (*(json_t *const *) b));
}

/*  Sorts an array of strings in place. */
static void
s_sort (json_t *list)
{
    size_t n = json_array_size (list);
    json_t **v = xcalloc (n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref (json_array_get (list, i));
    qsort (v, n, sizeof *v, s_cmp);
    json_array_clear (list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new (list, v[i]);
    free (v);
}

/*  The remote's URL: "origin", else the first remote; NULL when none.
    Read from the configuration with an iterator (no regex: libgit2 1.5's
    remote lookup leaks its pcre2 match data). */
static char *
s_remote (git_repository *repo)
{
    git_config *cfg = NULL;
    git_config_iterator *it = NULL;
    git_config_entry *e = NULL;
    char *origin = NULL, *first = NULL;
    if (git_repository_config_snapshot (&cfg, repo) == 0 && git_config_iterator_new (&it, cfg) == 0)
        while (!origin && git_config_next (&e, it) == 0) {
            size_t n = strlen (e->name);
            if (strncmp (e->name, "remote.", 7) != 0 || n < 11 || strcmp (e->name + n - 4, ".url") != 0
                || !e->value)
                continue;
            if (strcmp (e->name, "remote.origin.url") == 0)
                origin = bf_git_strip_url (e->value);
            else if (!first)
                first = bf_git_strip_url (e->value);
        }
    git_config_iterator_free (it);
    git_config_free (cfg);
    git_error_clear ();
    if (origin) {
        free (first);
        return origin;
    }
    return first;
}

/*  Work tree mode: the tracked files that differ from HEAD (staged or
    not), in the superproject and the submodules checked out. */
static void
s_dirty (git_repository *repo, const char *prefix, json_t *files)
{
    git_status_options so;
    git_status_options_init (&so, GIT_STATUS_OPTIONS_VERSION);
    so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    so.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
    git_status_list *list = NULL;
    if (git_status_list_new (&list, repo, &so) != 0) {
        git_error_clear ();
        return;
    }
    size_t n = git_status_list_entrycount (list);
    for (size_t i = 0; i < n; i++) {
        const git_status_entry *e = git_status_byindex (list, i);
        const git_diff_delta *d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
        if (!d || e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED))
            continue;
        const char *path = d->new_file.path ? d->new_file.path : d->old_file.path;
        char *full = xasprintf ("%s%s%s", prefix, prefix[0] ? "/" : "", path);
        json_array_append_new (files, json_string (full));
        free (full);
    }
    git_status_list_free (list);
}

json_t *
bf_git_provenance (bf_git_t *self)
{
    json_t *p = json_object ();
    json_object_set_new (p, "source", json_string (self->rev ? "rev" : "worktree"));
    if (self->rev)
        json_object_set_new (p, "rev", json_string (self->rev));
    json_t *branches = json_array (), *tags = json_array ();
    if (self->commit) {
        char hex[GIT_OID_HEXSZ + 1];
        git_oid_tostr (hex, sizeof hex, git_commit_id (self->commit));
        json_object_set_new (p, "commit", json_string (hex));
        s_refs_t r = { self->repo, git_commit_id (self->commit), branches, tags };
        git_reference_foreach_name (self->repo, s_on_ref, &r);
        git_error_clear ();
        s_sort (branches);
        s_sort (tags);
    }
    json_object_set_new (p, "branches", branches);
    json_object_set_new (p, "tags", tags);
    json_t *files = json_array ();
    if (!self->rev) {
        s_dirty (self->repo, "", files);
        for (int i = 0; i < self->nsubs; i++)
            if (self->subs[i].repo)
                s_dirty (self->subs[i].repo, self->subs[i].path, files);
        size_t k;
        json_t *u;
        json_array_foreach (self->untracked, k, u)
            json_array_append (files, u);   /* untracked, but sent */
        s_sort (files);
    }
    size_t count = json_array_size (files);
    while (json_array_size (files) > S_DIRTY_MAX)
        json_array_remove (files, json_array_size (files) - 1);
    json_object_set_new (p, "dirty", json_boolean (count > 0));
    json_object_set_new (p, "dirty_count", json_integer ((json_int_t) count));
    json_object_set_new (p, "dirty_files", files);
    char *url = s_remote (self->repo);
    if (url)
        json_object_set_new (p, "remote", json_string (url));
    free (url);
    json_t *subs = json_array ();
    for (int i = 0; i < self->nsubs; i++)
        if (self->subs[i].commit[0])
            json_array_append_new (subs, json_pack ("{s:s, s:s}", "path", self->subs[i].path,
                                                    "commit", self->subs[i].commit));
    json_object_set_new (p, "submodules", subs);
    return p;
}

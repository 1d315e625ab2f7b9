/*  bf_cache - see bf_cache.h. */
#include "bf_cache.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FORMAT "bitfarm-cache 1\n"

struct _bf_cache_t {
    char *dir;
    sqlite3 *db;
};

static char *
s_object_path (bf_cache_t *self, const char *digest)
{
    return xasprintf ("%s/objects/%.2s/%s", self->dir, digest, digest);
}

int
bf_cache_open (bf_cache_t **out, const char *dir)
{
    *out = NULL;
    int rc;
    char *p = xasprintf ("%s/objects", dir);
    rc = bf_mkdir_p (p, 0755);
    free (p);
    if (rc != BF_OK)
        return rc;
    p = xasprintf ("%s/quarantine", dir);
    rc = bf_mkdir_p (p, 0755);
    free (p);
    if (rc != BF_OK)
        return rc;
    char *fmt = xasprintf ("%s/FORMAT", dir);
    char *text = NULL;
    rc = bf_file_read (&text, NULL, fmt, 4096);
    if (rc == BF_ENOTFOUND)
        rc = bf_file_write_atomic (fmt, S_FORMAT, strlen (S_FORMAT), 0644);
    else if (rc == BF_OK && strcmp (text, S_FORMAT) != 0)
        rc = bf_error_set (BF_EIO, "cache '%s' has an unknown format '%.40s'", dir, text);
    free (text);
    free (fmt);
    if (rc != BF_OK)
        return rc;
    bf_cache_t *self = xcalloc (1, sizeof *self);
    self->dir = xstrdup (dir);
    char *dbpath = xasprintf ("%s/index.db", dir);
    rc = bf_db_open (&self->db, dbpath, bf_schema_cache);
    free (dbpath);
    if (rc != BF_OK) {
        bf_cache_destroy (&self);
        return rc;
    }
    *out = self;
    return BF_OK;
}

void
bf_cache_destroy (bf_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_cache_t *self = *self_p;
    if (self->db)
        sqlite3_close (self->db);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

bool
bf_cache_has_object (bf_cache_t *self, const char *digest)
{
    if (!bf_sha256_is_hex (digest))
        return false;
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT 1 FROM objects WHERE digest = ?");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    bool found = sqlite3_step (st) == SQLITE_ROW;
    sqlite3_finalize (st);
    if (!found)
        return false;
    char *path = s_object_path (self, digest);
    found = access (path, F_OK) == 0;
    free (path);
    return found;
}

/*  Verifies one object and writes its file (temp, fsync, rename, fsync of
    the directory).  Sets *fresh when the file was written now. */
static int
s_write_object (bf_cache_t *self, const char *digest, const void *data, size_t len, bool *fresh)
{
    *fresh = false;
    if (!bf_sha256_is_hex (digest))
        return bf_error_set (BF_EINVAL, "bad object digest '%.70s'", digest);
    char actual[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (actual, data, len);
    if (strcmp (actual, digest) != 0)
        return bf_error_set (BF_ECORRUPT, "object content does not match digest %.12s "
                             "(got %.12s)", digest, actual);
    if (bf_cache_has_object (self, digest))
        return BF_OK;
    char *path = s_object_path (self, digest);
    char *dir = xasprintf ("%s/objects/%.2s", self->dir, digest);
    int rc = bf_mkdir_p (dir, 0755);
    if (rc == BF_OK)
        rc = bf_file_write_atomic (path, data, len, 0644);
    *fresh = rc == BF_OK;
    free (dir);
    free (path);
    return rc;
}

int
bf_cache_put_objects (bf_cache_t *self, size_t n, const char *const *digests,
                      const void *const *data, const size_t *lens)
{
    /* Files first, each durable on its own; then all index rows in one
       transaction, so a batch costs one commit. */
    bool *fresh = xcalloc (n, sizeof *fresh);
    int rc = BF_OK;
    for (size_t i = 0; i < n && rc == BF_OK; i++)
        rc = s_write_object (self, digests[i], data[i], lens[i], &fresh[i]);
    if (rc == BF_OK)
        rc = bf_db_exec (self->db, "BEGIN IMMEDIATE");
    if (rc == BF_OK) {
        sqlite3_stmt *st = bf_db_prepare (self->db,
            "INSERT INTO objects (digest, size, created_at, accessed_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (digest) DO NOTHING");
        int64_t now = bf_now_ms ();
        for (size_t i = 0; i < n && rc == BF_OK; i++) {
            if (!fresh[i])
                continue;
            sqlite3_bind_text (st, 1, digests[i], -1, SQLITE_STATIC);
            sqlite3_bind_int64 (st, 2, (sqlite3_int64) lens[i]);
            sqlite3_bind_int64 (st, 3, now);
            sqlite3_bind_int64 (st, 4, now);
            if (sqlite3_step (st) != SQLITE_DONE)
                rc = bf_error_set (BF_EIO, "cannot index object %.12s: %s", digests[i],
                                   sqlite3_errmsg (self->db));
            sqlite3_reset (st);
        }
        sqlite3_finalize (st);
        if (rc == BF_OK)
            rc = bf_db_exec (self->db, "COMMIT");
        if (rc != BF_OK)
            bf_db_exec (self->db, "ROLLBACK");
    }
    free (fresh);
    return rc;
}

int
bf_cache_put_object (bf_cache_t *self, const char *digest, const void *data, size_t len)
{
    return bf_cache_put_objects (self, 1, &digest, &data, &len);
}

static void
s_quarantine (bf_cache_t *self, const char *digest, const char *path)
{
    char rnd[17] = "0";
    bf_random_hex (rnd, 8);
    char *dest = xasprintf ("%s/quarantine/%s.%s", self->dir, digest, rnd);
    if (rename (path, dest) < 0)
        unlink (path);
    bf_warn ("object %s failed verification; moved to quarantine", digest);
    free (dest);
    sqlite3_stmt *st = bf_db_prepare (self->db, "DELETE FROM objects WHERE digest = ?");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_step (st);
    sqlite3_finalize (st);
}

int
bf_cache_get_object (bf_cache_t *self, char **out, size_t *len_out, const char *digest)
{
    if (!bf_sha256_is_hex (digest))
        return bf_error_set (BF_ENOTFOUND, "bad object digest");
    char *path = s_object_path (self, digest);
    char *data = NULL;
    size_t len = 0;
    int rc = bf_file_read (&data, &len, path, (size_t) 1 << 30);
    if (rc == BF_OK) {
        char actual[BF_SHA256_HEX_LEN + 1];
        bf_sha256_hex (actual, data, len);
        if (strcmp (actual, digest) != 0) {
            s_quarantine (self, digest, path);
            free (data);
            data = NULL;
            rc = bf_error_set (BF_ENOTFOUND, "object %.12s is corrupt (quarantined)", digest);
        }
    }
    free (path);
    if (rc == BF_OK) {
        *out = data;
        if (len_out)
            *len_out = len;
    }
    return rc;
}

static void
s_bind_opt (sqlite3_stmt *st, int idx, json_t *entry, const char *field)
{
    const char *v = json_string_value (json_object_get (entry, field));
    if (v)
        sqlite3_bind_text (st, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null (st, idx);
}

int
bf_cache_put_entry (bf_cache_t *self, const char *key, json_t *entry)
{
    const char *outcome = json_string_value (json_object_get (entry, "outcome"));
    if (!bf_sha256_is_hex (key) || !outcome
        || (strcmp (outcome, "succeeded") && strcmp (outcome, "failed")))
        return bf_error_set (BF_EINVAL, "bad cache entry for key '%.70s'", key);
    static const char *objs[] = { "bitstream", "report", "log" };
    for (int i = 0; i < 3; i++) {
        const char *d = json_string_value (json_object_get (entry, objs[i]));
        if (d && !bf_cache_has_object (self, d))
            return bf_error_set (BF_EINVAL, "cache entry names missing %s object %.12s", objs[i], d);
    }
    char *manifest = json_dumps (json_object_get (entry, "manifest"), JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "INSERT INTO entries (key, action, toolchain, outcome, stage, error, bitstream, report, "
        "log, manifest, created_at, accessed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (key) DO NOTHING");
    int64_t now = bf_now_ms ();
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    s_bind_opt (st, 2, entry, "action");
    s_bind_opt (st, 3, entry, "toolchain");
    sqlite3_bind_text (st, 4, outcome, -1, SQLITE_STATIC);
    s_bind_opt (st, 5, entry, "stage");
    s_bind_opt (st, 6, entry, "error");
    s_bind_opt (st, 7, entry, "bitstream");
    s_bind_opt (st, 8, entry, "report");
    s_bind_opt (st, 9, entry, "log");
    sqlite3_bind_text (st, 10, manifest ? manifest : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 11, now);
    sqlite3_bind_int64 (st, 12, now);
    int rc = BF_OK;
    if (sqlite3_step (st) != SQLITE_DONE)
        rc = bf_error_set (BF_EIO, "cannot record cache entry: %s", sqlite3_errmsg (self->db));
    sqlite3_finalize (st);
    free (manifest);
    return rc;
}

static void
s_set_col (json_t *obj, const char *name, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type (st, col) == SQLITE_NULL)
        return;
    if (sqlite3_column_type (st, col) == SQLITE_INTEGER)
        json_object_set_new (obj, name, json_integer (sqlite3_column_int64 (st, col)));
    else
        json_object_set_new (obj, name, json_string ((const char *) sqlite3_column_text (st, col)));
}

int
bf_cache_get_entry (bf_cache_t *self, json_t **out, const char *key)
{
    if (!bf_sha256_is_hex (key))
        return BF_ENOTFOUND;
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT key, action, toolchain, outcome, stage, error, bitstream, report, log, "
        "manifest, created_at, hits FROM entries WHERE key = ?");
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step (st) != SQLITE_ROW) {
        sqlite3_finalize (st);
        return BF_ENOTFOUND;
    }
    static const char *cols[] = { "key", "action", "toolchain", "outcome", "stage", "error",
                                  "bitstream", "report", "log", "manifest", "created_at", "hits" };
    json_t *e = json_object ();
    for (int i = 0; i < 12; i++)
        if (i != 9)
            s_set_col (e, cols[i], st, i);
    json_t *m = json_loads ((const char *) sqlite3_column_text (st, 9), 0, NULL);
    json_object_set_new (e, "manifest", m ? m : json_object ());
    sqlite3_finalize (st);
    static const char *objs[] = { "bitstream", "report", "log" };
    for (int i = 0; i < 3; i++) {
        const char *d = json_string_value (json_object_get (e, objs[i]));
        if (d && !bf_cache_has_object (self, d)) {
            json_decref (e);
            return BF_ENOTFOUND;
        }
    }
    st = bf_db_prepare (self->db,
        "UPDATE entries SET hits = hits + 1, accessed_at = ? WHERE key = ?");
    sqlite3_bind_int64 (st, 1, bf_now_ms ());
    sqlite3_bind_text (st, 2, key, -1, SQLITE_STATIC);
    sqlite3_step (st);
    sqlite3_finalize (st);
    *out = e;
    return BF_OK;
}

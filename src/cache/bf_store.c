/*  bf_store - the cache's objects on disk: writing, reading and verifying
    one object, quarantine (see bf_cache.h for the layout and the write
    order, bf_cache_int.h for the module's files). */
#include "bf_cache_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
bf_cache__object_path (bf_cache_t *self, const char *digest)
{
    return xasprintf ("%s/objects/%.2s/%s", self->dir, digest, digest);
}

int64_t
bf_cache__object_size (bf_cache_t *self, const char *digest)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT size FROM objects WHERE digest = ?");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    int64_t size = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : -1;
    bf_db_done (st);
    return size;
}

int64_t
bf_cache_object_size (bf_cache_t *self, const char *digest)
{
    return bf_sha256_is_hex (digest) ? bf_cache__object_size (self, digest) : -1;
}

bool
bf_cache_has_object (bf_cache_t *self, const char *digest)
{
    if (!bf_sha256_is_hex (digest) || bf_cache__object_size (self, digest) < 0)
        return false;
    char *path = bf_cache__object_path (self, digest);
    bool found = access (path, F_OK) == 0;
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
    char *path = bf_cache__object_path (self, digest);
    char *dir = xasprintf ("%s/objects/%.2s", self->dir, digest);
    int rc = bf_mkdir_p (dir, 0755);
    if (rc == BF_OK)
        rc = bf_file_write_atomic (path, data, len, 0644);
    *fresh = rc == BF_OK;
    free (dir);
    free (path);
    return rc;
}

/*  The index rows of the objects written now, in one transaction. */
static int
s_index_objects (bf_cache_t *self, size_t n, const char *const *digests, const size_t *lens,
                 const bool *fresh)
{
    int rc = bf_db_begin (self->db);
    if (rc != BF_OK)
        return rc;
    sqlite3_stmt *st = bf_db_stmt (self->db,
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
    bf_db_done (st);
    return bf_db_end (self->db, rc);
}

int
bf_cache_put_objects (bf_cache_t *self, size_t n, const char *const *digests,
                      const void *const *data, const size_t *lens)
{
    int rc = bf_cache_hold (self);
    if (rc != BF_OK)
        return rc;
    /* Files first, each durable on its own; then all index rows in one
       transaction, so a batch costs one commit. */
    bool *fresh = xcalloc (n + 1, sizeof *fresh);
    bool any = false;
    for (size_t i = 0; i < n && rc == BF_OK; i++) {
        rc = s_write_object (self, digests[i], data[i], lens[i], &fresh[i]);
        any |= fresh[i];
    }
    if (rc == BF_OK && any)
        rc = s_index_objects (self, n, digests, lens, fresh);
    free (fresh);
    bf_cache_release (self);
    return rc;
}

int
bf_cache_put_object (bf_cache_t *self, const char *digest, const void *data, size_t len)
{
    return bf_cache_put_objects (self, 1, &digest, &data, &len);
}

int
bf_cache__drop_object_rows (bf_cache_t *self, const char *digest, bool evicted)
{
    if (evicted) {
        sqlite3_stmt *st = bf_db_stmt (self->db,
            "INSERT INTO stats (toolchain, evictions) SELECT toolchain, count(*) FROM entries "
            "WHERE ?1 IN (bitstream, report, log) GROUP BY toolchain "
            "ON CONFLICT (toolchain) DO UPDATE SET evictions = evictions + excluded.evictions");
        sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
        sqlite3_step (st);
        bf_db_done (st);
    }
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "DELETE FROM entries WHERE bitstream = ?1 OR report = ?1 OR log = ?1");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_step (st);
    int n = sqlite3_changes (self->db);
    bf_db_done (st);
    st = bf_db_stmt (self->db, "DELETE FROM objects WHERE digest = ?");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_step (st);
    bf_db_done (st);
    return n;
}

/*  Drops an object's row and the entries naming it, in a transaction of
    its own (not an eviction: nothing is counted). */
static void
s_forget_object (bf_cache_t *self, const char *digest)
{
    if (bf_db_begin (self->db) != BF_OK)
        return;
    bf_cache__drop_object_rows (self, digest, false);
    bf_db_end (self->db, BF_OK);
}

/*  Moves a file that failed verification to quarantine/ and forgets the
    object and the entries that name it. */
static void
s_quarantine (bf_cache_t *self, const char *digest, const char *path, const char *why)
{
    char rnd[17] = "0";
    bf_random_hex (rnd, 8);
    char *dest = xasprintf ("%s/quarantine/%s.%s", self->dir, digest, rnd);
    if (rename (path, dest) < 0)
        unlink (path);
    bf_warn ("object %s failed verification (%s); moved to %s", digest, why, dest);
    free (dest);
    /* The toolchain of an entry that names it, for the statistics. */
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT toolchain FROM entries WHERE ?1 IN (bitstream, report, log) LIMIT 1");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    char *tc = sqlite3_step (st) == SQLITE_ROW
               ? xstrdup ((const char *) sqlite3_column_text (st, 0)) : NULL;
    bf_db_done (st);
    bf_cache__counts (self, tc)->corruptions++;
    self->pending++;
    free (tc);
    s_forget_object (self, digest);
}

int
bf_cache__read_verified (bf_cache_t *self, char **out, size_t *len_out, const char *digest)
{
    if (!bf_sha256_is_hex (digest))
        return bf_error_set (BF_ENOTFOUND, "bad object digest '%.70s'", digest);
    int64_t size = bf_cache__object_size (self, digest);
    if (size < 0)
        return bf_error_set (BF_ENOTFOUND, "object %.12s is not in the cache", digest);
    char *path = bf_cache__object_path (self, digest);
    char *data = NULL;
    size_t len = 0;
    int rc = bf_file_read (&data, &len, path, BF_CACHE__OBJECT_MAX);
    if (rc == BF_ENOTFOUND) {
        s_forget_object (self, digest);   /* a row without its file, as gc would */
        rc = bf_error_set (BF_ENOTFOUND, "object %.12s has no file", digest);
    }
    else if (rc == BF_OK) {
        char actual[BF_SHA256_HEX_LEN + 1];
        bf_sha256_hex (actual, data, len);
        if ((int64_t) len != size || strcmp (actual, digest) != 0) {
            char why[96];
            if ((int64_t) len != size)
                snprintf (why, sizeof why, "%zu bytes, not %lld", len, (long long) size);
            else
                snprintf (why, sizeof why, "content hashes to %.12s", actual);
            s_quarantine (self, digest, path, why);
            rc = bf_error_set (BF_ENOTFOUND, "object %.12s is corrupt (%s; quarantined)",
                               digest, why);
        }
    }
    free (path);
    if (rc == BF_OK) {
        bf_cache__touch_object (self, digest);
        if (out) {
            *out = data;
            data = NULL;   /* transferred */
            if (len_out)
                *len_out = len;
        }
    }
    free (data);
    return rc;
}

int
bf_cache_get_object (bf_cache_t *self, char **out, size_t *len_out, const char *digest)
{
    return bf_cache__read_verified (self, out, len_out, digest);
}

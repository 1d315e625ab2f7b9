/*  bf_cache_admin - the cache's maintenance: eviction (by size and age,
    and the watermarks of bf_cache_maintain), gc, verify, invalidate, and
    the statistics and listing for `bitfarm cache` (see bf_cache.h; the
    module's files are listed in bf_cache_int.h). */
#include "bf_cache_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*  Removes the files of the objects named in victims (digests), whose rows
    are gone: after the commit, so a crash leaves files (gc's orphans), never
    rows without files. */
static void
s_unlink_objects (bf_cache_t *self, zlistx_t *victims)
{
    for (char *d = zlistx_first (victims); d; d = zlistx_next (victims)) {
        char *path = bf_cache__object_path (self, d);
        unlink (path);
        free (path);
    }
}

/*  The objects that pins protect: pinned digests, and the objects of
    pinned entries. */
#define S_UNPINNED \
    "NOT EXISTS (SELECT 1 FROM pins p WHERE p.ref = o.digest) " \
    "AND NOT EXISTS (SELECT 1 FROM pins p JOIN entries e ON e.key = p.ref " \
    "                WHERE o.digest IN (e.bitstream, e.report, e.log))"

/*  The objects nothing refers to: no pin protects them, no entry names
    them as its bitstream, report or log, and no entry's manifest lists
    them as an input (source, data file or pcf). */
#define S_UNREFERENCED S_UNPINNED \
    " AND NOT EXISTS (SELECT 1 FROM entries e WHERE o.digest IN (e.bitstream, e.report, e.log))" \
    " AND o.digest NOT IN (" \
    "   SELECT json_extract (j.value, '$.sha256') FROM entries e, json_each (e.manifest, '$.sources') j" \
    "     WHERE json_extract (j.value, '$.sha256') IS NOT NULL" \
    "   UNION ALL SELECT json_extract (j.value, '$.sha256') FROM entries e, json_each (e.manifest, '$.data') j" \
    "     WHERE json_extract (j.value, '$.sha256') IS NOT NULL" \
    "   UNION ALL SELECT json_extract (e.manifest, '$.pcf.sha256') FROM entries e" \
    "     WHERE json_extract (e.manifest, '$.pcf.sha256') IS NOT NULL)"

/*  What an eviction removed. */
typedef struct {
    int64_t entries, objects, bytes;
} s_evicted_t;

/*  Deletes the unpinned entries unused since older_than, whatever their
    objects, counting them as evictions. */
static int
s_evict_old_entries (bf_cache_t *self, int64_t older_than, s_evicted_t *n)
{
    int rc = bf_db_begin (self->db);
    if (rc != BF_OK)
        return rc;
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "INSERT INTO stats (toolchain, evictions) SELECT toolchain, count(*) "
        "FROM entries WHERE accessed_at < ?1 AND key NOT IN (SELECT ref FROM pins) "
        "GROUP BY toolchain ON CONFLICT (toolchain) DO UPDATE SET "
        "evictions = evictions + excluded.evictions");
    sqlite3_bind_int64 (st, 1, older_than);
    sqlite3_step (st);
    bf_db_done (st);
    st = bf_db_prepare (self->db, "DELETE FROM entries WHERE accessed_at < ? "
                        "AND key NOT IN (SELECT ref FROM pins)");
    sqlite3_bind_int64 (st, 1, older_than);
    sqlite3_step (st);
    n->entries += sqlite3_changes (self->db);
    bf_db_done (st);
    return bf_db_end (self->db, BF_OK);
}

/*  Evicts one batch of least recently used, unpinned objects (and the
    entries naming them) under the exclusive lock, while the cache holds
    more than target_bytes or they were last used before older_than.
    Clears *more when nothing is left to evict. */
static int
s_evict_batch (bf_cache_t *self, uint64_t target_bytes, int64_t older_than, s_evicted_t *n,
               bool *more)
{
    int64_t bytes;
    bf_cache_usage (self, &bytes, NULL);
    bool over = (uint64_t) bytes > target_bytes;
    if (!over && older_than <= 0) {
        *more = false;
        return BF_OK;
    }
    int rc = bf_cache__lock (self, LOCK_EX);
    if (rc != BF_OK)
        return rc;
    zlistx_t *victims = zlistx_new ();
    zlistx_set_destructor (victims, (zlistx_destructor_fn *) zstr_free);
    if ((rc = bf_db_begin (self->db)) != BF_OK)
        goto out;
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT digest, size, accessed_at FROM objects o WHERE " S_UNPINNED
        " ORDER BY accessed_at LIMIT ?");
    sqlite3_bind_int (st, 1, BF_CACHE__EVICT_BATCH);
    int rows = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        rows++;
        int64_t size = sqlite3_column_int64 (st, 1);
        int64_t at = sqlite3_column_int64 (st, 2);
        if (!over && at >= older_than) {
            *more = false;
            break;
        }
        zlistx_add_end (victims, xstrdup ((const char *) sqlite3_column_text (st, 0)));
        bytes -= size;
        n->bytes += size;
        over = (uint64_t) bytes > target_bytes;
    }
    bf_db_done (st);
    if (rows < BF_CACHE__EVICT_BATCH)
        *more = false;
    for (char *d = zlistx_first (victims); d; d = zlistx_next (victims)) {
        n->entries += bf_cache__drop_object_rows (self, d, true);
        n->objects++;
    }
    rc = bf_db_end (self->db, BF_OK);
    if (rc == BF_OK)
        s_unlink_objects (self, victims);
    if (zlistx_size (victims) == 0)
        *more = false;
out:
    bf_cache__lock (self, LOCK_UN);
    zlistx_destroy (&victims);
    return rc;
}

int
bf_cache_evict (bf_cache_t *self, uint64_t target_bytes, int64_t older_than, json_t **report)
{
    bf_cache_flush (self);   /* recent accesses count */
    s_evicted_t n = { 0 };
    int rc = BF_OK;
    /* Entries unused since older_than go first, whatever their objects. */
    if (older_than > 0)
        rc = s_evict_old_entries (self, older_than, &n);
    for (bool more = true; more && rc == BF_OK;)
        rc = s_evict_batch (self, target_bytes, older_than, &n, &more);
    if (report)
        *report = json_pack ("{s:I, s:I, s:I}", "entries", (json_int_t) n.entries, "objects",
                             (json_int_t) n.objects, "bytes", (json_int_t) n.bytes);
    return rc;
}

int
bf_cache_maintain (bf_cache_t *self, int64_t *evicted)
{
    if (evicted)
        *evicted = 0;
    uint64_t cap = bf_cache__max_size (self);
    if (cap == 0)
        return BF_OK;
    int64_t bytes;
    bf_cache_usage (self, &bytes, NULL);
    if ((uint64_t) bytes <= cap / 100 * BF_CACHE_HIGH_PERCENT)
        return BF_OK;
    json_t *report = NULL;
    int rc = bf_cache_evict (self, cap / 100 * BF_CACHE_LOW_PERCENT, 0, &report);
    if (report) {
        json_int_t n = json_integer_value (json_object_get (report, "objects"));
        if (evicted)
            *evicted = n;
        if (n > 0)
            bf_info ("cache %s: evicted %lld object(s), %lld entr(ies), %lld bytes "
                     "(cap %llu bytes)", self->dir, (long long) n,
                     (long long) json_integer_value (json_object_get (report, "entries")),
                     (long long) json_integer_value (json_object_get (report, "bytes")),
                     (unsigned long long) cap);
        json_decref (report);
    }
    return rc;
}

/* ---------------------------------------------------------------------- */
/*  gc, verify, invalidate                                                  */

static int
s_gc_files (bf_cache_t *self, int64_t temp_age_ms, int64_t *orphans, int64_t *temps,
            int64_t *freed)
{
    char *root = xasprintf ("%s/objects", self->dir);
    DIR *top = opendir (root);
    if (!top) {
        free (root);
        return bf_error_set (BF_EIO, "cannot read '%s/objects': %s", self->dir, strerror (errno));
    }
    time_t now = time (NULL);
    struct dirent *de;
    while ((de = readdir (top))) {
        if (de->d_name[0] == '.')
            continue;
        char *sub = xasprintf ("%s/%s", root, de->d_name);
        DIR *d = opendir (sub);
        struct dirent *fe;
        while (d && (fe = readdir (d))) {
            if (fe->d_name[0] == '.')
                continue;
            char *path = xasprintf ("%s/%s", sub, fe->d_name);
            struct stat sb;
            if (lstat (path, &sb) == 0) {
                bool temp = strstr (fe->d_name, ".tmp-") != NULL;
                bool remove = false;
                if (temp)
                    remove = ((int64_t) (now - sb.st_mtime)) * 1000 >= temp_age_ms;
                else if (!bf_sha256_is_hex (fe->d_name) || bf_cache__object_size (self, fe->d_name) < 0)
                    remove = true;
                if (remove && unlink (path) == 0) {
                    *(temp ? temps : orphans) += 1;
                    *freed += sb.st_size;
                }
            }
            free (path);
        }
        if (d)
            closedir (d);
        rmdir (sub);   /* only succeeds when empty */
        free (sub);
    }
    closedir (top);
    free (root);
    return BF_OK;
}

/*  Deletes the unreferenced objects (S_UNREFERENCED) created and last
    used before older_than (ms since the epoch), or only `only` when it is
    not NULL, counting them in *objects and *bytes.  The caller holds the
    exclusive lock. */
static int
s_gc_unreferenced (bf_cache_t *self, int64_t older_than, const char *only, int64_t *objects,
                   int64_t *bytes)
{
    zlistx_t *victims = zlistx_new ();
    zlistx_set_destructor (victims, (zlistx_destructor_fn *) zstr_free);
    int rc = bf_db_begin (self->db);
    if (rc != BF_OK)
        goto out;
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT digest, size FROM objects o WHERE o.created_at < ?1 AND o.accessed_at < ?1 "
        "AND (?2 IS NULL OR o.digest = ?2) AND " S_UNREFERENCED);
    sqlite3_bind_int64 (st, 1, older_than);
    if (only)
        sqlite3_bind_text (st, 2, only, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (st, 2);
    while (sqlite3_step (st) == SQLITE_ROW) {
        zlistx_add_end (victims, xstrdup ((const char *) sqlite3_column_text (st, 0)));
        *bytes += sqlite3_column_int64 (st, 1);
    }
    bf_db_done (st);
    for (char *d = zlistx_first (victims); d; d = zlistx_next (victims)) {
        bf_cache__drop_object_rows (self, d, false);
        *objects += 1;
    }
    rc = bf_db_end (self->db, BF_OK);
    if (rc == BF_OK)
        s_unlink_objects (self, victims);
out:
    zlistx_destroy (&victims);
    return rc;
}

int
bf_cache_drop_unreferenced (bf_cache_t *self, const char *digest, bool *dropped)
{
    if (dropped)
        *dropped = false;
    if (!bf_sha256_is_hex (digest))
        return bf_error_set (BF_EINVAL, "malformed digest '%.70s'", digest);
    bf_cache_flush (self);
    int rc = bf_cache__lock (self, LOCK_EX);
    if (rc != BF_OK)
        return rc;
    int64_t objects = 0, bytes = 0;
    rc = s_gc_unreferenced (self, INT64_MAX, digest, &objects, &bytes);
    bf_cache__lock (self, LOCK_UN);
    if (dropped)
        *dropped = objects > 0;
    return rc;
}

int
bf_cache_gc (bf_cache_t *self, int64_t temp_age_ms, json_t **report)
{
    bf_cache_flush (self);
    int rc = bf_cache__lock (self, LOCK_EX);
    if (rc != BF_OK)
        return rc;
    int64_t orphans = 0, temps = 0, freed = 0, missing = 0, dangling = 0, unref = 0;
    rc = s_gc_files (self, temp_age_ms, &orphans, &temps, &freed);
    if (rc == BF_OK)
        rc = bf_db_begin (self->db);
    if (rc == BF_OK) {
        /* Rows whose file is gone. */
        zlistx_t *gone = zlistx_new ();
        zlistx_set_destructor (gone, (zlistx_destructor_fn *) zstr_free);
        sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT digest FROM objects");
        while (sqlite3_step (st) == SQLITE_ROW) {
            const char *d = (const char *) sqlite3_column_text (st, 0);
            char *path = bf_cache__object_path (self, d);
            if (access (path, F_OK) != 0)
                zlistx_add_end (gone, xstrdup (d));
            free (path);
        }
        bf_db_done (st);
        for (char *d = zlistx_first (gone); d; d = zlistx_next (gone)) {
            dangling += bf_cache__drop_object_rows (self, d, false);
            missing++;
        }
        zlistx_destroy (&gone);
        /* Entries naming an object that has no row. */
        rc = bf_db_exec (self->db,
            "DELETE FROM entries WHERE "
            "(bitstream IS NOT NULL AND bitstream NOT IN (SELECT digest FROM objects)) OR "
            "(report IS NOT NULL AND report NOT IN (SELECT digest FROM objects)) OR "
            "(log IS NOT NULL AND log NOT IN (SELECT digest FROM objects))");
        dangling += sqlite3_changes (self->db);
        rc = bf_db_end (self->db, rc);
    }
    /* Objects nothing refers to (an upload no job took), once the grace
       period has passed: an in-flight submit's uploads are younger. */
    if (rc == BF_OK)
        rc = s_gc_unreferenced (self, bf_now_ms () - temp_age_ms, NULL, &unref, &freed);
    bf_cache__lock (self, LOCK_UN);
    if (report)
        *report = json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I}", "orphan_files",
                             (json_int_t) orphans, "missing_files", (json_int_t) missing,
                             "dangling_entries", (json_int_t) dangling, "temp_files",
                             (json_int_t) temps, "unreferenced_objects", (json_int_t) unref,
                             "bytes_freed", (json_int_t) freed);
    return rc;
}

int
bf_cache_verify (bf_cache_t *self, json_t **report)
{
    *report = NULL;
    zlistx_t *all = zlistx_new ();
    zlistx_set_destructor (all, (zlistx_destructor_fn *) zstr_free);
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT digest FROM objects ORDER BY digest");
    while (sqlite3_step (st) == SQLITE_ROW)
        zlistx_add_end (all, xstrdup ((const char *) sqlite3_column_text (st, 0)));
    bf_db_done (st);
    json_t *bad = json_array ();
    int64_t bytes = 0;
    for (char *d = zlistx_first (all); d; d = zlistx_next (all)) {
        int64_t size = bf_cache__object_size (self, d);
        if (size < 0)
            continue;   /* evicted meanwhile */
        if (bf_cache__read_verified (self, NULL, NULL, d) != BF_OK)
            json_array_append_new (bad, json_string (d));
        else
            bytes += size;
    }
    *report = json_pack ("{s:I, s:I, s:o}", "objects", (json_int_t) zlistx_size (all),
                         "bytes", (json_int_t) bytes, "corrupt", bad);
    zlistx_destroy (&all);
    return bf_cache_flush (self);
}

int
bf_cache_invalidate (bf_cache_t *self, const char *toolchain, json_t **report)
{
    *report = NULL;
    size_t n = strlen (toolchain);
    if (n < 8 || n > BF_SHA256_HEX_LEN || strspn (toolchain, "0123456789abcdef") != n)
        return bf_error_set (BF_EINVAL, "bad toolchain id '%.80s' (want at least 8 lowercase "
                             "hex characters)", toolchain);
    /* Resolve a prefix among the toolchains the cache knows. */
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT DISTINCT toolchain FROM entries WHERE substr(toolchain, 1, ?1) = ?2 "
        "UNION SELECT toolchain FROM stats WHERE substr(toolchain, 1, ?1) = ?2 LIMIT 2");
    sqlite3_bind_int (st, 1, (int) n);
    sqlite3_bind_text (st, 2, toolchain, -1, SQLITE_STATIC);
    char *full = NULL;
    int found = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        if (!found++)
            full = xstrdup ((const char *) sqlite3_column_text (st, 0));
    }
    bf_db_done (st);
    if (found == 0 && n == BF_SHA256_HEX_LEN)
        full = xstrdup (toolchain), found = 1;   /* disown in advance */
    if (found != 1) {
        free (full);
        return bf_error_set (found ? BF_EAMBIGUOUS : BF_ENOTFOUND, "toolchain '%s' %s",
                             toolchain, found ? "is ambiguous" : "is unknown to this cache");
    }
    int rc = bf_db_begin (self->db);
    int64_t deleted = 0;
    if (rc == BF_OK) {
        st = bf_db_prepare (self->db, "INSERT INTO disowned (toolchain, at) VALUES (?, ?) "
                            "ON CONFLICT DO NOTHING");
        sqlite3_bind_text (st, 1, full, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (st, 2, bf_now_ms ());
        sqlite3_step (st);
        bf_db_done (st);
        st = bf_db_prepare (self->db, "DELETE FROM entries WHERE toolchain = ?");
        sqlite3_bind_text (st, 1, full, -1, SQLITE_STATIC);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot invalidate: %s", sqlite3_errmsg (self->db));
        deleted = sqlite3_changes (self->db);
        bf_db_done (st);
        rc = bf_db_end (self->db, rc);
    }
    if (rc == BF_OK)
        *report = json_pack ("{s:s, s:I}", "toolchain", full, "entries", (json_int_t) deleted);
    free (full);
    return rc;
}

/* ---------------------------------------------------------------------- */
/*  Statistics and listing                                                  */

static int64_t
s_count_dir (const char *path)
{
    DIR *d = opendir (path);
    int64_t n = 0;
    struct dirent *de;
    while (d && (de = readdir (d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir (d);
    return n;
}

json_t *
bf_cache_stats (bf_cache_t *self)
{
    if (bf_cache_flush (self) != BF_OK)
        return NULL;
    int64_t bytes, objects;
    bf_cache_usage (self, &bytes, &objects);
    json_t *tcs = json_array ();
    int64_t hits = 0, misses = 0, evictions = 0, corruptions = 0, entries = 0, saved = 0;
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "WITH t AS (SELECT toolchain FROM stats UNION SELECT toolchain FROM entries) "
        "SELECT t.toolchain, "
        " (SELECT count(*) FROM entries e WHERE e.toolchain = t.toolchain), "
        " (SELECT coalesce(sum(o.size), 0) FROM entries e JOIN objects o "
        "    ON o.digest IN (e.bitstream, e.report, e.log) WHERE e.toolchain = t.toolchain), "
        " coalesce(s.hits, 0), coalesce(s.misses, 0), coalesce(s.evictions, 0), "
        " coalesce(s.corruptions, 0), "
        " EXISTS (SELECT 1 FROM disowned d WHERE d.toolchain = t.toolchain), "
        " coalesce(s.saved_ms, 0) "
        "FROM t LEFT JOIN stats s ON s.toolchain = t.toolchain ORDER BY t.toolchain");
    while (sqlite3_step (st) == SQLITE_ROW) {
        json_t *t = json_pack ("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                               "toolchain", (const char *) sqlite3_column_text (st, 0),
                               "entries", (json_int_t) sqlite3_column_int64 (st, 1),
                               "bytes", (json_int_t) sqlite3_column_int64 (st, 2),
                               "hits", (json_int_t) sqlite3_column_int64 (st, 3),
                               "misses", (json_int_t) sqlite3_column_int64 (st, 4),
                               "evictions", (json_int_t) sqlite3_column_int64 (st, 5),
                               "corruptions", (json_int_t) sqlite3_column_int64 (st, 6),
                               "disowned", sqlite3_column_int (st, 7));
        json_object_set_new (t, "saved_ms", json_integer (sqlite3_column_int64 (st, 8)));
        saved += sqlite3_column_int64 (st, 8);
        entries += sqlite3_column_int64 (st, 1);
        hits += sqlite3_column_int64 (st, 3);
        misses += sqlite3_column_int64 (st, 4);
        evictions += sqlite3_column_int64 (st, 5);
        corruptions += sqlite3_column_int64 (st, 6);
        json_array_append_new (tcs, t);
    }
    bf_db_done (st);
    char *qdir = xasprintf ("%s/quarantine", self->dir);
    int64_t quarantined = s_count_dir (qdir);
    free (qdir);
    double rate = hits + misses > 0 ? (double) hits / (double) (hits + misses) : 0.0;
    return json_pack ("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:o}",
                      "dir", self->dir, "entries", (json_int_t) entries, "objects",
                      (json_int_t) objects, "bytes", (json_int_t) bytes, "max_size",
                      (json_int_t) bf_cache__max_size (self), "quarantined", (json_int_t) quarantined,
                      "hits", (json_int_t) hits, "misses", (json_int_t) misses, "hit_rate",
                      rate, "evictions", (json_int_t) evictions, "corruptions",
                      (json_int_t) corruptions, "saved_ms", (json_int_t) saved, "toolchains", tcs);
}

/*  bf_cache_list and bf_cache_list_keys: keys NULL for every entry. */
static json_t *
s_list (bf_cache_t *self, int limit, json_t *keys)
{
    bf_cache_flush (self);
    json_t *out = json_array ();
    char *text = keys ? json_dumps (keys, JSON_COMPACT) : NULL;
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT key, toolchain, outcome, json_extract(manifest, '$.top'), "
        " json_extract(manifest, '$.device'), created_at, accessed_at, hits, "
        " (SELECT coalesce(sum(o.size), 0) FROM objects o "
        "   WHERE o.digest IN (e.bitstream, e.report, e.log)), build_ms "
        "FROM entries e WHERE ?2 IS NULL OR key IN (SELECT value FROM json_each (?2)) "
        "ORDER BY accessed_at DESC, key LIMIT ?1");
    sqlite3_bind_int (st, 1, limit);
    bf_db_bind_str (st, 2, text);
    while (sqlite3_step (st) == SQLITE_ROW) {
        json_t *e = json_object ();
        static const char *cols[] = { "key", "toolchain", "outcome", "top", "device",
                                      "created_at", "accessed_at", "hits", "size",
                                      "build_ms" };
        for (int i = 0; i < 10; i++)
            bf_cache__set_col (e, cols[i], st, i);
        json_array_append_new (out, e);
    }
    bf_db_done (st);
    free (text);
    return out;
}

json_t *
bf_cache_list (bf_cache_t *self, int limit)
{
    return s_list (self, limit, NULL);
}

json_t *
bf_cache_list_keys (bf_cache_t *self, int limit, json_t *keys)
{
    return s_list (self, limit, keys);
}

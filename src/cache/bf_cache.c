/*  bf_cache - see bf_cache.h: opening a cache, its lock, the batched
    counters, the index of entries, pins and usage.  The other files of the
    module are listed in bf_cache_int.h. */
#include "bf_cache_int.h"
#include "bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <unistd.h>

const char *
bf_cache_network_fs (long f_type)
{
    /* Magic numbers from <linux/magic.h> and the filesystems' sources. */
    static const struct { unsigned long magic; const char *name; } fs[] = {
        { 0x6969, "nfs" },            { 0x517B, "smb" },       { 0xFF534D42, "cifs" },
        { 0xFE534D42, "smb2" },       { 0x5346414F, "afs" },   { 0x6B414653, "afs" },
        { 0x01021997, "9p" },         { 0x00C36400, "ceph" },  { 0x0BD00BD0, "lustre" },
        { 0x01161970, "gfs2" },       { 0x7461636F, "ocfs2" }, { 0x73757245, "coda" },
        { 0x47504653, "gpfs" },
    };
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        if ((unsigned long) (unsigned int) f_type == fs[i].magic)
            return fs[i].name;
    return NULL;
}

int
bf_cache__lock (bf_cache_t *self, int op)
{
    int r;
    do
        r = flock (self->lock_fd, op);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return bf_error_set (BF_EIO, "cannot lock cache '%s': %s", self->dir, strerror (errno));
    return BF_OK;
}

int
bf_cache_hold (bf_cache_t *self)
{
    if (self->holds++ > 0)
        return BF_OK;
    int rc = bf_cache__lock (self, LOCK_SH);
    if (rc != BF_OK)
        self->holds = 0;
    return rc;
}

void
bf_cache_release (bf_cache_t *self)
{
    if (self->holds > 0 && --self->holds == 0)
        bf_cache__lock (self, LOCK_UN);
}

int
bf_cache_batch_begin (bf_cache_t *self)
{
    int rc = bf_cache_hold (self);
    if (rc == BF_OK && (rc = bf_db_batch_begin (self->db)) != BF_OK)
        bf_cache_release (self);
    return rc;
}

int
bf_cache_batch_end (bf_cache_t *self, bool commit)
{
    int rc = bf_db_batch_end (self->db, commit);
    bf_cache_release (self);
    return rc;
}

static void
s_free_counts (void **item)
{
    free (*item);
    *item = NULL;
}

int
bf_cache_open (bf_cache_t **out, const char *dir, const bf_cache_opts_t *opts)
{
    *out = NULL;
    bf_cache_opts_t none = { 0 };
    if (!opts)
        opts = &none;
    int rc;
    char *p = xasprintf ("%s/objects", dir);
    rc = bf_mkdir_p (p, 0755);
    free (p);
    if (rc != BF_OK)
        return rc;
    struct statfs sfs;
    if (statfs (dir, &sfs) == 0 && !opts->force_network_fs) {
        const char *net = bf_cache_network_fs ((long) sfs.f_type);
        if (net)
            return bf_error_set (BF_EINVAL, "cache directory '%s' is on a network filesystem "
                                 "(%s), where SQLite's locking is unsafe; use a local disk, "
                                 "or force it", dir, net);
    }
    p = xasprintf ("%s/quarantine", dir);
    rc = bf_mkdir_p (p, 0755);
    free (p);
    if (rc != BF_OK)
        return rc;
    char *fmt = xasprintf ("%s/FORMAT", dir);
    char *text = NULL;
    rc = bf_file_read (&text, NULL, fmt, 4096);
    if (rc == BF_ENOTFOUND)
        rc = bf_file_write_atomic (fmt, BF_CACHE__FORMAT, strlen (BF_CACHE__FORMAT), 0644);
    else if (rc == BF_OK && strcmp (text, BF_CACHE__FORMAT) != 0)
        rc = bf_error_set (BF_EIO, "cache '%s' has an unknown format '%.40s'", dir, text);
    free (text);
    free (fmt);
    if (rc != BF_OK)
        return rc;
    bf_cache_t *self = xcalloc (1, sizeof *self);
    self->dir = xstrdup (dir);
    self->lock_fd = -1;
    self->touched_objects = zhashx_new ();
    self->touched_entries = zhashx_new ();
    zhashx_set_destructor (self->touched_entries, s_free_counts);
    self->counts = zhashx_new ();
    zhashx_set_destructor (self->counts, s_free_counts);
    char *lockpath = xasprintf ("%s/lock", dir);
    self->lock_fd = open (lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->lock_fd < 0)
        rc = bf_error_set (BF_EIO, "cannot open '%s': %s", lockpath, strerror (errno));
    free (lockpath);
    if (rc == BF_OK) {
        char *dbpath = xasprintf ("%s/index.db", dir);
        rc = bf_db_open (&self->db, dbpath, bf_schema_cache);
        free (dbpath);
    }
    if (rc == BF_OK && opts->max_size > 0) {
        sqlite3_stmt *st = bf_db_stmt (self->db,
            "INSERT INTO settings (name, value) VALUES ('max_size', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
        char v[32];
        snprintf (v, sizeof v, "%llu", (unsigned long long) opts->max_size);
        sqlite3_bind_text (st, 1, v, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot record the cache's size cap: %s",
                               sqlite3_errmsg (self->db));
        bf_db_done (st);
    }
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
    if (self->db) {
        bf_cache_flush (self);
        bf_db_close (self->db);
    }
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    zhashx_destroy (&self->touched_objects);
    zhashx_destroy (&self->touched_entries);
    zhashx_destroy (&self->counts);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------- */
/*  Batched access times and counters                                       */

bf_cache__counts_t *
bf_cache__counts (bf_cache_t *self, const char *toolchain)
{
    const char *tc = toolchain ? toolchain : "";
    bf_cache__counts_t *c = zhashx_lookup (self->counts, tc);
    if (!c) {
        c = xcalloc (1, sizeof *c);
        zhashx_insert (self->counts, tc, c);
    }
    return c;
}

void
bf_cache__touch_object (bf_cache_t *self, const char *digest)
{
    if (zhashx_insert (self->touched_objects, digest, (void *) 1) == 0
        && ++self->pending >= BF_CACHE__PENDING_MAX)
        bf_cache_flush (self);
}

void
bf_cache__touch_entry (bf_cache_t *self, const char *key, int64_t hits)
{
    int64_t *n = zhashx_lookup (self->touched_entries, key);
    if (!n) {
        n = xcalloc (1, sizeof *n);
        zhashx_insert (self->touched_entries, key, n);
        self->pending++;
    }
    *n += hits;
    if (self->pending >= BF_CACHE__PENDING_MAX)
        bf_cache_flush (self);
}

void
bf_cache_count (bf_cache_t *self, const char *key, const char *toolchain, bool hit)
{
    bf_cache__counts_t *c = bf_cache__counts (self, toolchain);
    if (hit) {
        c->hits++;
        if (key)
            bf_cache__touch_entry (self, key, 1);
    }
    else
        c->misses++;
}

int
bf_cache_flush (bf_cache_t *self)
{
    if (zhashx_size (self->touched_objects) == 0 && zhashx_size (self->touched_entries) == 0
        && zhashx_size (self->counts) == 0)
        return BF_OK;
    int rc = bf_db_begin (self->db);
    if (rc != BF_OK)
        return rc;
    int64_t now = bf_now_ms ();
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE objects SET accessed_at = max(accessed_at, ?) WHERE digest = ?");
    for (void *v = zhashx_first (self->touched_objects); v;
         v = zhashx_next (self->touched_objects)) {
        sqlite3_bind_int64 (st, 1, now);
        sqlite3_bind_text (st, 2, zhashx_cursor (self->touched_objects), -1, SQLITE_STATIC);
        sqlite3_step (st);
        sqlite3_reset (st);
    }
    bf_db_done (st);
    st = bf_db_stmt (self->db,
        "UPDATE entries SET accessed_at = max(accessed_at, ?), hits = hits + ? WHERE key = ?");
    for (int64_t *n = zhashx_first (self->touched_entries); n;
         n = zhashx_next (self->touched_entries)) {
        sqlite3_bind_int64 (st, 1, now);
        sqlite3_bind_int64 (st, 2, *n);
        sqlite3_bind_text (st, 3, zhashx_cursor (self->touched_entries), -1, SQLITE_STATIC);
        sqlite3_step (st);
        sqlite3_reset (st);
    }
    bf_db_done (st);
    st = bf_db_stmt (self->db,
        "INSERT INTO stats (toolchain, hits, misses, corruptions) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (toolchain) DO UPDATE SET hits = hits + excluded.hits, "
        "misses = misses + excluded.misses, corruptions = corruptions + excluded.corruptions");
    for (bf_cache__counts_t *c = zhashx_first (self->counts); c; c = zhashx_next (self->counts)) {
        sqlite3_bind_text (st, 1, zhashx_cursor (self->counts), -1, SQLITE_STATIC);
        sqlite3_bind_int64 (st, 2, c->hits);
        sqlite3_bind_int64 (st, 3, c->misses);
        sqlite3_bind_int64 (st, 4, c->corruptions);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot write cache statistics: %s",
                               sqlite3_errmsg (self->db));
        sqlite3_reset (st);
    }
    bf_db_done (st);
    /* The build time the hits saved: each hit adds its entry's build_ms
       to the entry's toolchain (the row exists: the hit was counted). */
    st = bf_db_stmt (self->db,
        "UPDATE stats SET saved_ms = saved_ms + ?1 * (SELECT build_ms FROM entries "
        "WHERE key = ?2) WHERE toolchain = (SELECT toolchain FROM entries WHERE key = ?2)");
    for (int64_t *n = zhashx_first (self->touched_entries); n && rc == BF_OK;
         n = zhashx_next (self->touched_entries)) {
        if (*n <= 0)
            continue;
        sqlite3_bind_int64 (st, 1, *n);
        sqlite3_bind_text (st, 2, zhashx_cursor (self->touched_entries), -1, SQLITE_STATIC);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot write cache statistics: %s",
                               sqlite3_errmsg (self->db));
        sqlite3_reset (st);
    }
    bf_db_done (st);
    if ((rc = bf_db_end (self->db, rc)) != BF_OK)
        return rc;
    zhashx_purge (self->touched_objects);
    zhashx_purge (self->touched_entries);
    zhashx_purge (self->counts);
    self->pending = 0;
    return BF_OK;
}

/* ---------------------------------------------------------------------- */
/*  Entries                                                                 */

static bool
s_disowned (bf_cache_t *self, const char *toolchain)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT 1 FROM disowned WHERE toolchain = ?");
    sqlite3_bind_text (st, 1, toolchain, -1, SQLITE_STATIC);
    bool found = sqlite3_step (st) == SQLITE_ROW;
    bf_db_done (st);
    return found;
}

int
bf_cache_store_entry (bf_cache_t *self, const char *key, const bf_cache_entry_t *entry)
{
    if (!bf_sha256_is_hex (key) || !entry->toolchain || !entry->action)
        return bf_error_set (BF_EINVAL, "bad cache entry for key '%.70s'", key);
    int rc = bf_cache_hold (self);
    if (rc != BF_OK)
        return rc;
    char *manifest = NULL;
    if ((rc = bf_db_begin (self->db)) != BF_OK)
        goto out;
    const char *objs[BF_CACHE_ENTRY_OBJECTS] = { entry->bitstream, entry->report, entry->log };
    for (int i = 0; i < BF_CACHE_ENTRY_OBJECTS && rc == BF_OK; i++) {
        const char *d = objs[i];
        if (d && !bf_cache_has_object (self, d))
            rc = bf_error_set (BF_EINVAL, "cache entry names missing %s object %.12s",
                               bf_cache_entry_object_names[i], d);
    }
    if (rc == BF_OK && s_disowned (self, entry->toolchain))
        rc = bf_error_set (BF_EINVAL, "toolchain %.12s is disowned (bitfarm cache "
                           "invalidate); its results are not cached", entry->toolchain);
    manifest = entry->manifest ? json_dumps (entry->manifest, JSON_COMPACT | JSON_SORT_KEYS)
                               : NULL;
    if (rc == BF_OK) {
        sqlite3_stmt *st = bf_db_stmt (self->db,
            "INSERT INTO entries (key, action, toolchain, outcome, stage, error, bitstream, "
            "report, log, manifest, created_at, accessed_at, build_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (key) DO NOTHING");
        int64_t now = bf_now_ms ();
        sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
        bf_db_bind_str (st, 2, entry->action);
        bf_db_bind_str (st, 3, entry->toolchain);
        sqlite3_bind_text (st, 4, bf_cache_outcome_name (entry->outcome), -1, SQLITE_STATIC);
        bf_db_bind_str (st, 5, entry->stage);
        bf_db_bind_str (st, 6, entry->error);
        bf_db_bind_str (st, 7, entry->bitstream);
        bf_db_bind_str (st, 8, entry->report);
        bf_db_bind_str (st, 9, entry->log);
        sqlite3_bind_text (st, 10, manifest ? manifest : "{}", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (st, 11, now);
        sqlite3_bind_int64 (st, 12, now);
        sqlite3_bind_int64 (st, 13, entry->build_ms > 0 ? entry->build_ms : 0);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot record cache entry: %s",
                               sqlite3_errmsg (self->db));
        bf_db_done (st);
    }
    rc = bf_db_end (self->db, rc);
out:
    free (manifest);
    bf_cache_release (self);
    return rc;
}

int
bf_cache_put_entry (bf_cache_t *self, const char *key, json_t *entry)
{
    bf_cache_entry_t e;
    int rc = bf_cache_entry_from_json (&e, entry);
    if (rc != BF_OK || !bf_sha256_is_hex (key))
        rc = bf_error_set (BF_EINVAL, "bad cache entry for key '%.70s'", key);
    else
        rc = bf_cache_store_entry (self, key, &e);
    bf_cache_entry_release (&e);
    return rc;
}

void
bf_cache__set_col (json_t *obj, const char *name, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type (st, col) == SQLITE_NULL)
        return;
    if (sqlite3_column_type (st, col) == SQLITE_INTEGER)
        json_object_set_new (obj, name, json_integer (sqlite3_column_int64 (st, col)));
    else
        json_object_set_new (obj, name, json_string ((const char *) sqlite3_column_text (st, col)));
}

/*  A copy of a text column, or NULL. */
static char *
s_col_str (sqlite3_stmt *st, int col)
{
    const char *v = (const char *) sqlite3_column_text (st, col);
    return v ? xstrdup (v) : NULL;
}

int
bf_cache_lookup (bf_cache_t *self, bf_cache_entry_t *out, const char *key, bool peek)
{
    bf_cache_entry_init (out);
    if (!bf_sha256_is_hex (key))
        return bf_error_set (BF_ENOTFOUND, "bad cache key '%.70s'", key);
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT key, action, toolchain, outcome, stage, error, bitstream, report, log, "
        "manifest, created_at, hits, accessed_at, build_ms FROM entries WHERE key = ?");
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step (st) != SQLITE_ROW) {
        bf_db_done (st);
        return bf_error_set (BF_ENOTFOUND, "no cache entry %.12s", key);
    }
    out->key = s_col_str (st, 0);
    out->action = s_col_str (st, 1);
    out->toolchain = s_col_str (st, 2);
    if (bf_cache_outcome_parse (&out->outcome, (const char *) sqlite3_column_text (st, 3))
        != BF_OK)
        out->outcome = BF_CACHE_FAILED;   /* never written: only the two names are */
    out->stage = s_col_str (st, 4);
    out->error = s_col_str (st, 5);
    out->bitstream = s_col_str (st, 6);
    out->report = s_col_str (st, 7);
    out->log = s_col_str (st, 8);
    out->manifest = json_loads ((const char *) sqlite3_column_text (st, 9), 0, NULL);
    if (!out->manifest)
        out->manifest = json_object ();
    out->created_at = sqlite3_column_int64 (st, 10);
    out->hits = sqlite3_column_int64 (st, 11);
    out->accessed_at = sqlite3_column_int64 (st, 12);
    out->build_ms = sqlite3_column_int64 (st, 13);
    bf_db_done (st);
    if (!peek) {
        for (int i = 0; i < BF_CACHE_ENTRY_OBJECTS; i++) {
            const char *d = *bf_cache_entry_object (out, i);
            if (d && bf_cache__read_verified (self, NULL, NULL, d) != BF_OK) {
                bf_cache_entry_release (out);
                return BF_ENOTFOUND;
            }
        }
        bf_cache__touch_entry (self, key, 0);
    }
    return BF_OK;
}

int
bf_cache_get_entry (bf_cache_t *self, json_t **out, const char *key, bool peek)
{
    *out = NULL;
    bf_cache_entry_t e;
    int rc = bf_cache_lookup (self, &e, key, peek);
    if (rc == BF_OK)
        *out = bf_cache_entry_to_json (&e);
    bf_cache_entry_release (&e);
    return rc;
}

int
bf_cache_resolve_key (bf_cache_t *self, char out[BF_SHA256_HEX_LEN + 1], const char *prefix)
{
    size_t n = strlen (prefix);
    if (n < 8 || n > BF_SHA256_HEX_LEN || strspn (prefix, "0123456789abcdef") != n)
        return bf_error_set (BF_EINVAL, "bad cache key '%.80s' (want 8 to 64 lowercase hex "
                             "characters)", prefix);
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT key FROM entries WHERE key >= ?1 AND substr(key, 1, ?2) = ?1 LIMIT 2");
    sqlite3_bind_text (st, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int (st, 2, (int) n);
    int found = 0;
    while (sqlite3_step (st) == SQLITE_ROW)
        if (found++ == 0)
            snprintf (out, BF_SHA256_HEX_LEN + 1, "%s", (const char *) sqlite3_column_text (st, 0));
    bf_db_done (st);
    if (found == 1)
        return BF_OK;
    return bf_error_set (found ? BF_EAMBIGUOUS : BF_ENOTFOUND, "cache key '%s' %s", prefix,
                         found ? "matches more than one entry" : "is not in the cache");
}

int
bf_cache_key_of_bitstream (bf_cache_t *self, char out[BF_SHA256_HEX_LEN + 1],
                           const char *bitstream)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT key FROM entries WHERE bitstream = ? AND outcome = 'succeeded' "
        "ORDER BY accessed_at DESC LIMIT 1");
    sqlite3_bind_text (st, 1, bitstream, -1, SQLITE_STATIC);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        snprintf (out, BF_SHA256_HEX_LEN + 1, "%s", (const char *) sqlite3_column_text (st, 0));
        rc = BF_OK;
    }
    bf_db_done (st);
    return rc;
}

/* ---------------------------------------------------------------------- */
/*  Pins                                                                    */

/*  Pins every digest and the key for owner, touching the objects. */
static int
s_pin_all (bf_cache_t *self, const char *owner, json_t *digests, const char *key)
{
    int rc = BF_OK;
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "INSERT INTO pins (owner, ref) VALUES (?, ?) ON CONFLICT DO NOTHING");
    sqlite3_stmt *touch = bf_db_stmt (self->db,
        "UPDATE objects SET accessed_at = max(accessed_at, ?) WHERE digest = ?");
    int64_t now = bf_now_ms ();
    size_t i;
    json_t *v;
    json_array_foreach (digests, i, v) {
        sqlite3_bind_text (st, 1, owner, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, json_string_value (v), -1, SQLITE_STATIC);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot pin: %s", sqlite3_errmsg (self->db));
        sqlite3_reset (st);
        sqlite3_bind_int64 (touch, 1, now);
        sqlite3_bind_text (touch, 2, json_string_value (v), -1, SQLITE_STATIC);
        sqlite3_step (touch);
        sqlite3_reset (touch);
    }
    if (key && rc == BF_OK) {
        sqlite3_bind_text (st, 1, owner, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, key, -1, SQLITE_STATIC);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot pin: %s", sqlite3_errmsg (self->db));
    }
    bf_db_done (st);
    bf_db_done (touch);
    return rc;
}

int
bf_cache_pin (bf_cache_t *self, const char *owner, json_t *digests, const char *key,
              json_t **missing_out)
{
    if (missing_out)
        *missing_out = NULL;
    int rc = bf_db_begin (self->db);
    if (rc != BF_OK)
        return rc;
    json_t *missing = json_array ();
    size_t i;
    json_t *v;
    json_array_foreach (digests, i, v) {
        const char *d = json_string_value (v);
        if (!d || !bf_cache_has_object (self, d))
            json_array_append (missing, v);
    }
    rc = json_array_size (missing) == 0 ? s_pin_all (self, owner, digests, key) : BF_ENOTFOUND;
    /* A miss pins nothing but is not a failure of the transaction. */
    int erc = bf_db_end (self->db, rc == BF_ENOTFOUND ? BF_OK : rc);
    if (erc != BF_OK)
        rc = erc;
    if (rc == BF_ENOTFOUND && missing_out)
        *missing_out = json_incref (missing);
    json_decref (missing);
    return rc;
}

int
bf_cache_unpin (bf_cache_t *self, const char *owner)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "DELETE FROM pins WHERE owner = ?");
    sqlite3_bind_text (st, 1, owner, -1, SQLITE_STATIC);
    int rc = sqlite3_step (st) == SQLITE_DONE ? BF_OK
             : bf_error_set (BF_EIO, "cannot unpin: %s", sqlite3_errmsg (self->db));
    bf_db_done (st);
    return rc;
}

json_t *
bf_cache_pin_owners (bf_cache_t *self)
{
    json_t *out = json_array ();
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT DISTINCT owner FROM pins");
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (out, json_string ((const char *) sqlite3_column_text (st, 0)));
    bf_db_done (st);
    return out;
}

/* ---------------------------------------------------------------------- */
/*  Usage                                                                   */

void
bf_cache_usage (bf_cache_t *self, int64_t *bytes, int64_t *objects)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT bytes, objects FROM usage WHERE id = 1");
    bool row = sqlite3_step (st) == SQLITE_ROW;
    if (bytes)
        *bytes = row ? sqlite3_column_int64 (st, 0) : 0;
    if (objects)
        *objects = row ? sqlite3_column_int64 (st, 1) : 0;
    bf_db_done (st);
}

uint64_t
bf_cache__max_size (bf_cache_t *self)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT value FROM settings WHERE name = 'max_size'");
    uint64_t v = sqlite3_step (st) == SQLITE_ROW
                 ? strtoull ((const char *) sqlite3_column_text (st, 0), NULL, 10) : 0;
    bf_db_done (st);
    return v;
}

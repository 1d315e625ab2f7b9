/*  bf_cache - see bf_cache.h. */
#include "bf_cache.h"
#include "bf_key.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_util.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define S_FORMAT        "bitfarm-cache 1\n"
#define S_OBJECT_MAX    ((size_t) 1 << 30)
#define S_PENDING_MAX   1024          /* batched touches before an automatic flush */
#define S_EVICT_BATCH   64

/*  Batched counters of one toolchain. */
typedef struct {
    int64_t hits, misses, corruptions;
} s_counts_t;

struct _bf_cache_t {
    char *dir;
    sqlite3 *db;
    int lock_fd;
    int holds;                   /* bf_cache_hold nesting */
    zhashx_t *touched_objects;   /* digest -> (void *) 1 */
    zhashx_t *touched_entries;   /* key -> int64_t * hits to add */
    zhashx_t *counts;            /* toolchain -> s_counts_t */
    size_t pending;
};

/* ---------------------------------------------------------------------- */

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

static char *
s_object_path (bf_cache_t *self, const char *digest)
{
    return xasprintf ("%s/objects/%.2s/%s", self->dir, digest, digest);
}

static int
s_lock (bf_cache_t *self, int op)
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
    int rc = s_lock (self, LOCK_SH);
    if (rc != BF_OK)
        self->holds = 0;
    return rc;
}

void
bf_cache_release (bf_cache_t *self)
{
    if (self->holds > 0 && --self->holds == 0)
        s_lock (self, LOCK_UN);
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
        rc = bf_file_write_atomic (fmt, S_FORMAT, strlen (S_FORMAT), 0644);
    else if (rc == BF_OK && strcmp (text, S_FORMAT) != 0)
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
        sqlite3_stmt *st = bf_db_prepare (self->db,
            "INSERT INTO settings (name, value) VALUES ('max_size', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
        char v[32];
        snprintf (v, sizeof v, "%llu", (unsigned long long) opts->max_size);
        sqlite3_bind_text (st, 1, v, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot record the cache's size cap: %s",
                               sqlite3_errmsg (self->db));
        sqlite3_finalize (st);
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
        sqlite3_close (self->db);
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

static s_counts_t *
s_counts (bf_cache_t *self, const char *toolchain)
{
    const char *tc = toolchain ? toolchain : "";
    s_counts_t *c = zhashx_lookup (self->counts, tc);
    if (!c) {
        c = xcalloc (1, sizeof *c);
        zhashx_insert (self->counts, tc, c);
    }
    return c;
}

static void
s_touch_object (bf_cache_t *self, const char *digest)
{
    if (zhashx_insert (self->touched_objects, digest, (void *) 1) == 0
        && ++self->pending >= S_PENDING_MAX)
        bf_cache_flush (self);
}

static void
s_touch_entry (bf_cache_t *self, const char *key, int64_t hits)
{
    int64_t *n = zhashx_lookup (self->touched_entries, key);
    if (!n) {
        n = xcalloc (1, sizeof *n);
        zhashx_insert (self->touched_entries, key, n);
        self->pending++;
    }
    *n += hits;
    if (self->pending >= S_PENDING_MAX)
        bf_cache_flush (self);
}

void
bf_cache_count (bf_cache_t *self, const char *key, const char *toolchain, bool hit)
{
    s_counts_t *c = s_counts (self, toolchain);
    if (hit) {
        c->hits++;
        if (key)
            s_touch_entry (self, key, 1);
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
    int rc = bf_db_exec (self->db, "BEGIN IMMEDIATE");
    if (rc != BF_OK)
        return rc;
    int64_t now = bf_now_ms ();
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "UPDATE objects SET accessed_at = max(accessed_at, ?) WHERE digest = ?");
    for (void *v = zhashx_first (self->touched_objects); v;
         v = zhashx_next (self->touched_objects)) {
        sqlite3_bind_int64 (st, 1, now);
        sqlite3_bind_text (st, 2, zhashx_cursor (self->touched_objects), -1, SQLITE_STATIC);
        sqlite3_step (st);
        sqlite3_reset (st);
    }
    sqlite3_finalize (st);
    st = bf_db_prepare (self->db,
        "UPDATE entries SET accessed_at = max(accessed_at, ?), hits = hits + ? WHERE key = ?");
    for (int64_t *n = zhashx_first (self->touched_entries); n;
         n = zhashx_next (self->touched_entries)) {
        sqlite3_bind_int64 (st, 1, now);
        sqlite3_bind_int64 (st, 2, *n);
        sqlite3_bind_text (st, 3, zhashx_cursor (self->touched_entries), -1, SQLITE_STATIC);
        sqlite3_step (st);
        sqlite3_reset (st);
    }
    sqlite3_finalize (st);
    st = bf_db_prepare (self->db,
        "INSERT INTO stats (toolchain, hits, misses, corruptions) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (toolchain) DO UPDATE SET hits = hits + excluded.hits, "
        "misses = misses + excluded.misses, corruptions = corruptions + excluded.corruptions");
    for (s_counts_t *c = zhashx_first (self->counts); c; c = zhashx_next (self->counts)) {
        sqlite3_bind_text (st, 1, zhashx_cursor (self->counts), -1, SQLITE_STATIC);
        sqlite3_bind_int64 (st, 2, c->hits);
        sqlite3_bind_int64 (st, 3, c->misses);
        sqlite3_bind_int64 (st, 4, c->corruptions);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot write cache statistics: %s",
                               sqlite3_errmsg (self->db));
        sqlite3_reset (st);
    }
    sqlite3_finalize (st);
    if (rc == BF_OK)
        rc = bf_db_exec (self->db, "COMMIT");
    if (rc != BF_OK) {
        bf_db_exec (self->db, "ROLLBACK");
        return rc;
    }
    zhashx_purge (self->touched_objects);
    zhashx_purge (self->touched_entries);
    zhashx_purge (self->counts);
    self->pending = 0;
    return BF_OK;
}

/* ---------------------------------------------------------------------- */
/*  Objects                                                                 */

static int64_t
s_object_size (bf_cache_t *self, const char *digest)
{
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT size FROM objects WHERE digest = ?");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    int64_t size = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : -1;
    sqlite3_finalize (st);
    return size;
}

bool
bf_cache_has_object (bf_cache_t *self, const char *digest)
{
    if (!bf_sha256_is_hex (digest) || s_object_size (self, digest) < 0)
        return false;
    char *path = s_object_path (self, digest);
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
        rc = bf_db_exec (self->db, "BEGIN IMMEDIATE");
    if (rc == BF_OK && any) {
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
    bf_cache_release (self);
    return rc;
}

int
bf_cache_put_object (bf_cache_t *self, const char *digest, const void *data, size_t len)
{
    return bf_cache_put_objects (self, 1, &digest, &data, &len);
}

/*  Deletes an object's row and every entry that names it, in the caller's
    transaction.  Returns the number of entries deleted; counts them as
    evictions when `evicted`. */
static int
s_drop_object_rows (bf_cache_t *self, const char *digest, bool evicted)
{
    if (evicted) {
        sqlite3_stmt *st = bf_db_prepare (self->db,
            "INSERT INTO stats (toolchain, evictions) SELECT toolchain, count(*) FROM entries "
            "WHERE ?1 IN (bitstream, report, log) GROUP BY toolchain "
            "ON CONFLICT (toolchain) DO UPDATE SET evictions = evictions + excluded.evictions");
        sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
        sqlite3_step (st);
        sqlite3_finalize (st);
    }
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "DELETE FROM entries WHERE bitstream = ?1 OR report = ?1 OR log = ?1");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_step (st);
    int n = sqlite3_changes (self->db);
    sqlite3_finalize (st);
    st = bf_db_prepare (self->db, "DELETE FROM objects WHERE digest = ?");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_step (st);
    sqlite3_finalize (st);
    return n;
}

/*  Drops an object's row and the entries naming it, in a transaction of
    its own (not an eviction: nothing is counted). */
static void
s_forget_object (bf_cache_t *self, const char *digest)
{
    if (bf_db_exec (self->db, "BEGIN IMMEDIATE") != BF_OK)
        return;
    s_drop_object_rows (self, digest, false);
    if (bf_db_exec (self->db, "COMMIT") != BF_OK)
        bf_db_exec (self->db, "ROLLBACK");
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
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT toolchain FROM entries WHERE ?1 IN (bitstream, report, log) LIMIT 1");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    char *tc = sqlite3_step (st) == SQLITE_ROW
               ? xstrdup ((const char *) sqlite3_column_text (st, 0)) : NULL;
    sqlite3_finalize (st);
    s_counts (self, tc)->corruptions++;
    self->pending++;
    free (tc);
    s_forget_object (self, digest);
}

/*  Reads an object and checks its size and digest; quarantines it if
    either is wrong.  With out == NULL the bytes are only checked. */
static int
s_read_verified (bf_cache_t *self, char **out, size_t *len_out, const char *digest)
{
    if (!bf_sha256_is_hex (digest))
        return bf_error_set (BF_ENOTFOUND, "bad object digest '%.70s'", digest);
    int64_t size = s_object_size (self, digest);
    if (size < 0)
        return bf_error_set (BF_ENOTFOUND, "object %.12s is not in the cache", digest);
    char *path = s_object_path (self, digest);
    char *data = NULL;
    size_t len = 0;
    int rc = bf_file_read (&data, &len, path, S_OBJECT_MAX);
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
        s_touch_object (self, digest);
        if (out) {
            *out = data;
            data = NULL;
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
    return s_read_verified (self, out, len_out, digest);
}

/* ---------------------------------------------------------------------- */
/*  Entries                                                                 */

static const char *s_entry_objects[] = { "bitstream", "report", "log" };

static void
s_bind_opt (sqlite3_stmt *st, int idx, json_t *entry, const char *field)
{
    const char *v = json_string_value (json_object_get (entry, field));
    if (v)
        sqlite3_bind_text (st, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null (st, idx);
}

static bool
s_disowned (bf_cache_t *self, const char *toolchain)
{
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT 1 FROM disowned WHERE toolchain = ?");
    sqlite3_bind_text (st, 1, toolchain, -1, SQLITE_STATIC);
    bool found = sqlite3_step (st) == SQLITE_ROW;
    sqlite3_finalize (st);
    return found;
}

int
bf_cache_put_entry (bf_cache_t *self, const char *key, json_t *entry)
{
    const char *outcome = json_string_value (json_object_get (entry, "outcome"));
    const char *toolchain = json_string_value (json_object_get (entry, "toolchain"));
    if (!bf_sha256_is_hex (key) || !outcome || !toolchain
        || !json_string_value (json_object_get (entry, "action"))
        || (strcmp (outcome, "succeeded") && strcmp (outcome, "failed")))
        return bf_error_set (BF_EINVAL, "bad cache entry for key '%.70s'", key);
    int rc = bf_cache_hold (self);
    if (rc != BF_OK)
        return rc;
    if ((rc = bf_db_exec (self->db, "BEGIN IMMEDIATE")) != BF_OK) {
        bf_cache_release (self);
        return rc;
    }
    for (int i = 0; i < 3 && rc == BF_OK; i++) {
        const char *d = json_string_value (json_object_get (entry, s_entry_objects[i]));
        if (d && !bf_cache_has_object (self, d))
            rc = bf_error_set (BF_EINVAL, "cache entry names missing %s object %.12s",
                               s_entry_objects[i], d);
    }
    if (rc == BF_OK && s_disowned (self, toolchain))
        rc = bf_error_set (BF_EINVAL, "toolchain %.12s is disowned (bitfarm cache "
                           "invalidate); its results are not cached", toolchain);
    char *manifest = json_dumps (json_object_get (entry, "manifest"), JSON_COMPACT | JSON_SORT_KEYS);
    if (rc == BF_OK) {
        sqlite3_stmt *st = bf_db_prepare (self->db,
            "INSERT INTO entries (key, action, toolchain, outcome, stage, error, bitstream, "
            "report, log, manifest, created_at, accessed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
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
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot record cache entry: %s",
                               sqlite3_errmsg (self->db));
        sqlite3_finalize (st);
    }
    if (rc == BF_OK)
        rc = bf_db_exec (self->db, "COMMIT");
    if (rc != BF_OK)
        bf_db_exec (self->db, "ROLLBACK");
    free (manifest);
    bf_cache_release (self);
    return rc;
}

int
bf_cache_put_result_objects (bf_cache_t *self, json_t *manifest, json_t *result, zmsg_t *blobs)
{
    int rc = bf_cache_hold (self);
    zframe_t *f = zmsg_first (blobs);
    for (int i = 0; i < 3 && rc == BF_OK; i++) {
        const char *d = json_string_value (json_object_get (result, s_entry_objects[i]));
        if (!d)
            continue;
        if (!f)
            rc = bf_error_set (BF_EPROTO, "no blob for the %s", s_entry_objects[i]);
        else if (i == 0)
            rc = bf_manifest_check_bitstream (manifest, zframe_size (f));
        if (rc == BF_OK)
            rc = bf_cache_put_object (self, d, zframe_data (f), zframe_size (f));
        f = zmsg_next (blobs);
    }
    bf_cache_release (self);
    return rc;
}

int
bf_cache_put_result_entry (bf_cache_t *self, const char *key, json_t *manifest,
                           const char *toolchain, bool ok, json_t *result)
{
    char action[BF_SHA256_HEX_LEN + 1];
    bf_key_action (action, manifest);
    json_t *entry = json_pack ("{s:s, s:s, s:s, s:O}", "action", action, "toolchain", toolchain,
                               "outcome", ok ? "succeeded" : "failed", "manifest", manifest);
    static const char *fields[] = { "stage", "error", "bitstream", "report", "log" };
    for (int i = 0; i < 5; i++)
        if (json_object_get (result, fields[i]))
            json_object_set (entry, fields[i], json_object_get (result, fields[i]));
    int rc = bf_cache_put_entry (self, key, entry);
    json_decref (entry);
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
bf_cache_get_entry (bf_cache_t *self, json_t **out, const char *key, bool peek)
{
    *out = NULL;
    if (!bf_sha256_is_hex (key))
        return bf_error_set (BF_ENOTFOUND, "bad cache key '%.70s'", key);
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT key, action, toolchain, outcome, stage, error, bitstream, report, log, "
        "manifest, created_at, hits, accessed_at FROM entries WHERE key = ?");
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step (st) != SQLITE_ROW) {
        sqlite3_finalize (st);
        return bf_error_set (BF_ENOTFOUND, "no cache entry %.12s", key);
    }
    static const char *cols[] = { "key", "action", "toolchain", "outcome", "stage", "error",
                                  "bitstream", "report", "log", "manifest", "created_at",
                                  "hits", "accessed_at" };
    json_t *e = json_object ();
    for (int i = 0; i < 13; i++)
        if (i != 9)
            s_set_col (e, cols[i], st, i);
    json_t *m = json_loads ((const char *) sqlite3_column_text (st, 9), 0, NULL);
    json_object_set_new (e, "manifest", m ? m : json_object ());
    sqlite3_finalize (st);
    if (!peek) {
        for (int i = 0; i < 3; i++) {
            const char *d = json_string_value (json_object_get (e, s_entry_objects[i]));
            if (d && s_read_verified (self, NULL, NULL, d) != BF_OK) {
                json_decref (e);
                return BF_ENOTFOUND;
            }
        }
        s_touch_entry (self, key, 0);
    }
    *out = e;
    return BF_OK;
}

int
bf_cache_resolve_key (bf_cache_t *self, char out[BF_SHA256_HEX_LEN + 1], const char *prefix)
{
    size_t n = strlen (prefix);
    if (n < 8 || n > BF_SHA256_HEX_LEN || strspn (prefix, "0123456789abcdef") != n)
        return bf_error_set (BF_EINVAL, "bad cache key '%.80s' (want 8 to 64 lowercase hex "
                             "characters)", prefix);
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT key FROM entries WHERE key >= ?1 AND substr(key, 1, ?2) = ?1 LIMIT 2");
    sqlite3_bind_text (st, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int (st, 2, (int) n);
    int found = 0;
    while (sqlite3_step (st) == SQLITE_ROW)
        if (found++ == 0)
            snprintf (out, BF_SHA256_HEX_LEN + 1, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_finalize (st);
    if (found == 1)
        return BF_OK;
    return bf_error_set (found ? BF_EAMBIGUOUS : BF_ENOTFOUND, "cache key '%s' %s", prefix,
                         found ? "matches more than one entry" : "is not in the cache");
}

/* ---------------------------------------------------------------------- */
/*  Pins                                                                    */

int
bf_cache_pin (bf_cache_t *self, const char *owner, json_t *digests, const char *key,
              json_t **missing_out)
{
    if (missing_out)
        *missing_out = NULL;
    int rc = bf_db_exec (self->db, "BEGIN IMMEDIATE");
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
    if (json_array_size (missing) == 0) {
        sqlite3_stmt *st = bf_db_prepare (self->db,
            "INSERT INTO pins (owner, ref) VALUES (?, ?) ON CONFLICT DO NOTHING");
        sqlite3_stmt *touch = bf_db_prepare (self->db,
            "UPDATE objects SET accessed_at = max(accessed_at, ?) WHERE digest = ?");
        int64_t now = bf_now_ms ();
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
        sqlite3_finalize (st);
        sqlite3_finalize (touch);
    }
    else
        rc = BF_ENOTFOUND;
    if (rc == BF_OK || rc == BF_ENOTFOUND) {
        int crc = bf_db_exec (self->db, "COMMIT");
        if (crc != BF_OK)
            rc = crc;
    }
    if (rc != BF_OK && rc != BF_ENOTFOUND)
        bf_db_exec (self->db, "ROLLBACK");
    if (rc == BF_ENOTFOUND && missing_out)
        *missing_out = json_incref (missing);
    json_decref (missing);
    return rc;
}

int
bf_cache_unpin (bf_cache_t *self, const char *owner)
{
    sqlite3_stmt *st = bf_db_prepare (self->db, "DELETE FROM pins WHERE owner = ?");
    sqlite3_bind_text (st, 1, owner, -1, SQLITE_STATIC);
    int rc = sqlite3_step (st) == SQLITE_DONE ? BF_OK
             : bf_error_set (BF_EIO, "cannot unpin: %s", sqlite3_errmsg (self->db));
    sqlite3_finalize (st);
    return rc;
}

json_t *
bf_cache_pin_owners (bf_cache_t *self)
{
    json_t *out = json_array ();
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT DISTINCT owner FROM pins");
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (out, json_string ((const char *) sqlite3_column_text (st, 0)));
    sqlite3_finalize (st);
    return out;
}

/* ---------------------------------------------------------------------- */
/*  Eviction                                                                */

void
bf_cache_usage (bf_cache_t *self, int64_t *bytes, int64_t *objects)
{
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT bytes, objects FROM usage WHERE id = 1");
    bool row = sqlite3_step (st) == SQLITE_ROW;
    if (bytes)
        *bytes = row ? sqlite3_column_int64 (st, 0) : 0;
    if (objects)
        *objects = row ? sqlite3_column_int64 (st, 1) : 0;
    sqlite3_finalize (st);
}

static uint64_t
s_max_size (bf_cache_t *self)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT value FROM settings WHERE name = 'max_size'");
    uint64_t v = sqlite3_step (st) == SQLITE_ROW
                 ? strtoull ((const char *) sqlite3_column_text (st, 0), NULL, 10) : 0;
    sqlite3_finalize (st);
    return v;
}

/*  The objects that pins protect: pinned digests, and the objects of
    pinned entries. */
#define S_UNPINNED \
    "NOT EXISTS (SELECT 1 FROM pins p WHERE p.ref = o.digest) " \
    "AND NOT EXISTS (SELECT 1 FROM pins p JOIN entries e ON e.key = p.ref " \
    "                WHERE o.digest IN (e.bitstream, e.report, e.log))"

int
bf_cache_evict (bf_cache_t *self, uint64_t target_bytes, int64_t older_than, json_t **report)
{
    bf_cache_flush (self);   /* recent accesses count */
    int64_t n_entries = 0, n_objects = 0, n_bytes = 0;
    int rc = BF_OK;
    /* Entries unused since older_than go first, whatever their objects. */
    if (older_than > 0) {
        rc = bf_db_exec (self->db, "BEGIN IMMEDIATE");
        if (rc == BF_OK) {
            sqlite3_stmt *st = bf_db_prepare (self->db,
                "INSERT INTO stats (toolchain, evictions) SELECT toolchain, count(*) "
                "FROM entries WHERE accessed_at < ?1 AND key NOT IN (SELECT ref FROM pins) "
                "GROUP BY toolchain ON CONFLICT (toolchain) DO UPDATE SET "
                "evictions = evictions + excluded.evictions");
            sqlite3_bind_int64 (st, 1, older_than);
            sqlite3_step (st);
            sqlite3_finalize (st);
            st = bf_db_prepare (self->db, "DELETE FROM entries WHERE accessed_at < ? "
                                "AND key NOT IN (SELECT ref FROM pins)");
            sqlite3_bind_int64 (st, 1, older_than);
            sqlite3_step (st);
            n_entries += sqlite3_changes (self->db);
            sqlite3_finalize (st);
            rc = bf_db_exec (self->db, "COMMIT");
            if (rc != BF_OK)
                bf_db_exec (self->db, "ROLLBACK");
        }
    }
    for (bool more = true; more && rc == BF_OK;) {
        int64_t bytes;
        bf_cache_usage (self, &bytes, NULL);
        bool over = (uint64_t) bytes > target_bytes;
        if (!over && older_than <= 0)
            break;
        if ((rc = s_lock (self, LOCK_EX)) != BF_OK)
            break;
        if ((rc = bf_db_exec (self->db, "BEGIN IMMEDIATE")) != BF_OK) {
            s_lock (self, LOCK_UN);
            break;
        }
        sqlite3_stmt *st = bf_db_prepare (self->db,
            "SELECT digest, size, accessed_at FROM objects o WHERE " S_UNPINNED
            " ORDER BY accessed_at LIMIT ?");
        sqlite3_bind_int (st, 1, S_EVICT_BATCH);
        zlistx_t *victims = zlistx_new ();
        zlistx_set_destructor (victims, (zlistx_destructor_fn *) zstr_free);
        int rows = 0;
        while (sqlite3_step (st) == SQLITE_ROW) {
            rows++;
            int64_t size = sqlite3_column_int64 (st, 1);
            int64_t at = sqlite3_column_int64 (st, 2);
            if (!over && at >= older_than) {
                more = false;
                break;
            }
            zlistx_add_end (victims, xstrdup ((const char *) sqlite3_column_text (st, 0)));
            bytes -= size;
            n_bytes += size;
            over = (uint64_t) bytes > target_bytes;
        }
        sqlite3_finalize (st);
        if (rows < S_EVICT_BATCH)
            more = false;
        for (char *d = zlistx_first (victims); d; d = zlistx_next (victims)) {
            n_entries += s_drop_object_rows (self, d, true);
            n_objects++;
        }
        rc = bf_db_exec (self->db, "COMMIT");
        if (rc != BF_OK)
            bf_db_exec (self->db, "ROLLBACK");
        else
            for (char *d = zlistx_first (victims); d; d = zlistx_next (victims)) {
                char *path = s_object_path (self, d);
                unlink (path);
                free (path);
            }
        s_lock (self, LOCK_UN);
        if (zlistx_size (victims) == 0)
            more = false;
        zlistx_destroy (&victims);
    }
    if (report)
        *report = json_pack ("{s:I, s:I, s:I}", "entries", (json_int_t) n_entries, "objects",
                             (json_int_t) n_objects, "bytes", (json_int_t) n_bytes);
    return rc;
}

int
bf_cache_maintain (bf_cache_t *self, int64_t *evicted)
{
    if (evicted)
        *evicted = 0;
    uint64_t cap = s_max_size (self);
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
                else if (!bf_sha256_is_hex (fe->d_name) || s_object_size (self, fe->d_name) < 0)
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

int
bf_cache_gc (bf_cache_t *self, int64_t temp_age_ms, json_t **report)
{
    bf_cache_flush (self);
    int rc = s_lock (self, LOCK_EX);
    if (rc != BF_OK)
        return rc;
    int64_t orphans = 0, temps = 0, freed = 0, missing = 0, dangling = 0;
    rc = s_gc_files (self, temp_age_ms, &orphans, &temps, &freed);
    if (rc == BF_OK)
        rc = bf_db_exec (self->db, "BEGIN IMMEDIATE");
    if (rc == BF_OK) {
        /* Rows whose file is gone. */
        zlistx_t *gone = zlistx_new ();
        zlistx_set_destructor (gone, (zlistx_destructor_fn *) zstr_free);
        sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT digest FROM objects");
        while (sqlite3_step (st) == SQLITE_ROW) {
            const char *d = (const char *) sqlite3_column_text (st, 0);
            char *path = s_object_path (self, d);
            if (access (path, F_OK) != 0)
                zlistx_add_end (gone, xstrdup (d));
            free (path);
        }
        sqlite3_finalize (st);
        for (char *d = zlistx_first (gone); d; d = zlistx_next (gone)) {
            dangling += s_drop_object_rows (self, d, false);
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
        if (rc == BF_OK)
            rc = bf_db_exec (self->db, "COMMIT");
        if (rc != BF_OK)
            bf_db_exec (self->db, "ROLLBACK");
    }
    s_lock (self, LOCK_UN);
    if (report)
        *report = json_pack ("{s:I, s:I, s:I, s:I, s:I}", "orphan_files", (json_int_t) orphans,
                             "missing_files", (json_int_t) missing, "dangling_entries",
                             (json_int_t) dangling, "temp_files", (json_int_t) temps,
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
    sqlite3_finalize (st);
    json_t *bad = json_array ();
    int64_t bytes = 0;
    for (char *d = zlistx_first (all); d; d = zlistx_next (all)) {
        int64_t size = s_object_size (self, d);
        if (size < 0)
            continue;   /* evicted meanwhile */
        if (s_read_verified (self, NULL, NULL, d) != BF_OK)
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
    sqlite3_finalize (st);
    if (found == 0 && n == BF_SHA256_HEX_LEN)
        full = xstrdup (toolchain), found = 1;   /* disown in advance */
    if (found != 1) {
        free (full);
        return bf_error_set (found ? BF_EAMBIGUOUS : BF_ENOTFOUND, "toolchain '%s' %s",
                             toolchain, found ? "is ambiguous" : "is unknown to this cache");
    }
    int rc = bf_db_exec (self->db, "BEGIN IMMEDIATE");
    int64_t deleted = 0;
    if (rc == BF_OK) {
        st = bf_db_prepare (self->db, "INSERT INTO disowned (toolchain, at) VALUES (?, ?) "
                            "ON CONFLICT DO NOTHING");
        sqlite3_bind_text (st, 1, full, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (st, 2, bf_now_ms ());
        sqlite3_step (st);
        sqlite3_finalize (st);
        st = bf_db_prepare (self->db, "DELETE FROM entries WHERE toolchain = ?");
        sqlite3_bind_text (st, 1, full, -1, SQLITE_STATIC);
        if (sqlite3_step (st) != SQLITE_DONE)
            rc = bf_error_set (BF_EIO, "cannot invalidate: %s", sqlite3_errmsg (self->db));
        deleted = sqlite3_changes (self->db);
        sqlite3_finalize (st);
        if (rc == BF_OK)
            rc = bf_db_exec (self->db, "COMMIT");
        if (rc != BF_OK)
            bf_db_exec (self->db, "ROLLBACK");
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
    int64_t hits = 0, misses = 0, evictions = 0, corruptions = 0, entries = 0;
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "WITH t AS (SELECT toolchain FROM stats UNION SELECT toolchain FROM entries) "
        "SELECT t.toolchain, "
        " (SELECT count(*) FROM entries e WHERE e.toolchain = t.toolchain), "
        " (SELECT coalesce(sum(o.size), 0) FROM entries e JOIN objects o "
        "    ON o.digest IN (e.bitstream, e.report, e.log) WHERE e.toolchain = t.toolchain), "
        " coalesce(s.hits, 0), coalesce(s.misses, 0), coalesce(s.evictions, 0), "
        " coalesce(s.corruptions, 0), "
        " EXISTS (SELECT 1 FROM disowned d WHERE d.toolchain = t.toolchain) "
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
        entries += sqlite3_column_int64 (st, 1);
        hits += sqlite3_column_int64 (st, 3);
        misses += sqlite3_column_int64 (st, 4);
        evictions += sqlite3_column_int64 (st, 5);
        corruptions += sqlite3_column_int64 (st, 6);
        json_array_append_new (tcs, t);
    }
    sqlite3_finalize (st);
    char *qdir = xasprintf ("%s/quarantine", self->dir);
    int64_t quarantined = s_count_dir (qdir);
    free (qdir);
    double rate = hits + misses > 0 ? (double) hits / (double) (hits + misses) : 0.0;
    return json_pack ("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:o}",
                      "dir", self->dir, "entries", (json_int_t) entries, "objects",
                      (json_int_t) objects, "bytes", (json_int_t) bytes, "max_size",
                      (json_int_t) s_max_size (self), "quarantined", (json_int_t) quarantined,
                      "hits", (json_int_t) hits, "misses", (json_int_t) misses, "hit_rate",
                      rate, "evictions", (json_int_t) evictions, "corruptions",
                      (json_int_t) corruptions, "toolchains", tcs);
}

json_t *
bf_cache_list (bf_cache_t *self, int limit)
{
    bf_cache_flush (self);
    json_t *out = json_array ();
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT key, toolchain, outcome, json_extract(manifest, '$.top'), "
        " json_extract(manifest, '$.device'), created_at, accessed_at, hits, "
        " (SELECT coalesce(sum(o.size), 0) FROM objects o "
        "   WHERE o.digest IN (e.bitstream, e.report, e.log)) "
        "FROM entries e ORDER BY accessed_at DESC, key LIMIT ?");
    sqlite3_bind_int (st, 1, limit);
    while (sqlite3_step (st) == SQLITE_ROW) {
        json_t *e = json_object ();
        static const char *cols[] = { "key", "toolchain", "outcome", "top", "device",
                                      "created_at", "accessed_at", "hits", "size" };
        for (int i = 0; i < 9; i++)
            s_set_col (e, cols[i], st, i);
        json_array_append_new (out, e);
    }
    sqlite3_finalize (st);
    return out;
}

/*  bf_db - see bf_db.h. */
#include "bf_db.h"
#include "bf_error.h"
#include "bf_log.h"
#include "bf_util.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  The connections of this thread that have a batch open
    (bf_db_batch_begin): in them bf_db_begin and bf_db_end are savepoints.
    A handle belongs to one thread (bf_db.h), so the list is too. */
#define S_BATCH_MAX 8
static _Thread_local sqlite3 *s_batch[S_BATCH_MAX];

static int
s_batch_slot (sqlite3 *db)
{
    for (int i = 0; i < S_BATCH_MAX; i++)
        if (s_batch[i] == db)
            return i;
    return -1;
}

/*  Statements kept prepared (bf_db_stmt): per thread, since a handle
    belongs to one thread.  Found by the SQL text's hash and text. */
#define S_STMT_MAX 96
typedef struct {
    sqlite3 *db;
    sqlite3_stmt *st;
    uint64_t hash;
    bool busy;                  /* handed out, not yet given back */
} s_kept_t;
static _Thread_local s_kept_t s_kept[S_STMT_MAX];
static _Thread_local int s_nkept;

static uint64_t
s_hash (const char *text)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *) text; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    return h;
}

sqlite3_stmt *
bf_db_stmt (sqlite3 *db, const char *sql)
{
    uint64_t h = s_hash (sql);
    for (int i = 0; i < s_nkept; i++) {
        s_kept_t *k = &s_kept[i];
        if (k->db == db && k->hash == h && !k->busy && strcmp (sqlite3_sql (k->st), sql) == 0) {
            k->busy = true;
            return k->st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        bf_err ("cannot prepare '%s': %s", sql, sqlite3_errmsg (db));
        abort ();
    }
    if (s_nkept < S_STMT_MAX)   /* else it is finalized when given back */
        s_kept[s_nkept++] = (s_kept_t) { db, st, h, true };
    return st;
}

void
bf_db_done (sqlite3_stmt *st)
{
    if (!st)
        return;
    for (int i = 0; i < s_nkept; i++)
        if (s_kept[i].st == st) {
            sqlite3_reset (st);
            sqlite3_clear_bindings (st);
            s_kept[i].busy = false;
            return;
        }
    sqlite3_finalize (st);
}

void
bf_db_close (sqlite3 *db)
{
    if (!db)
        return;
    for (int i = 0; i < s_nkept;)
        if (s_kept[i].db == db) {
            sqlite3_finalize (s_kept[i].st);
            s_kept[i] = s_kept[--s_nkept];
        }
        else
            i++;
    sqlite3_close (db);
}

/*  Runs one statement without parameters or rows, kept prepared. */
static int
s_exec_kept (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = bf_db_stmt (db, sql);
    int step = sqlite3_step (st);
    int rc = BF_OK;
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        rc = bf_error_set (BF_EIO, "database error: %s", sqlite3_errmsg (db));
    bf_db_done (st);
    return rc;
}

int
bf_db_exec (sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = bf_error_set (BF_EIO, "database error: %s", msg ? msg : sqlite3_errmsg (db));
        sqlite3_free (msg);
        return rc;
    }
    return BF_OK;
}

sqlite3_stmt *
bf_db_prepare (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK) {
        bf_err ("cannot prepare '%s': %s", sql, sqlite3_errmsg (db));
        abort ();
    }
    return st;
}

int
bf_db_open (sqlite3 **out, const char *path, const char *const *migrations)
{
    sqlite3 *db = NULL;
    int rc = BF_OK;
    *out = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                         | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = bf_error_set (BF_EIO, "cannot open database '%s': %s", path,
                           db ? sqlite3_errmsg (db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout (db, 10000);
    /* Switching a new database to WAL takes an exclusive lock, and SQLite
       does not always call the busy handler for it (several processes
       creating one database at once): retry for up to 10 s. */
    for (int tries = 0;; tries++) {
        rc = bf_db_exec (db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                             "PRAGMA foreign_keys=ON;");
        int code = sqlite3_errcode (db) & 0xff;
        if (rc == BF_OK || (code != SQLITE_BUSY && code != SQLITE_LOCKED) || tries >= 1000)
            break;
        usleep (10000);
    }
    if (rc != BF_OK)
        goto out;
    int known = 0;
    while (migrations[known])
        known++;
    if ((rc = bf_db_exec (db, "BEGIN IMMEDIATE")) != BF_OK)
        goto out;
    sqlite3_stmt *st = bf_db_prepare (db, "PRAGMA user_version");
    int version = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int (st, 0) : 0;
    sqlite3_finalize (st);
    if (version > known) {
        bf_db_exec (db, "ROLLBACK");
        rc = bf_error_set (BF_EIO, "database '%s' has schema version %d, newer than this "
                           "bitfarm (%d); upgrade bitfarm", path, version, known);
        goto out;
    }
    for (int i = version; i < known; i++) {
        if ((rc = bf_db_exec (db, migrations[i])) != BF_OK) {
            bf_db_exec (db, "ROLLBACK");
            goto out;
        }
        char *sql = sqlite3_mprintf ("PRAGMA user_version=%d", i + 1);
        rc = bf_db_exec (db, sql);
        sqlite3_free (sql);
        if (rc != BF_OK) {
            bf_db_exec (db, "ROLLBACK");
            goto out;
        }
    }
    if ((rc = bf_db_exec (db, "COMMIT")) != BF_OK)
        goto out;
    *out = db;
    db = NULL;   /* transferred */
out:
    if (db)
        sqlite3_close (db);
    return rc;
}

void
bf_db_bind_str (sqlite3_stmt *st, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text (st, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null (st, idx);
}

int
bf_db_step_changes (sqlite3 *db, sqlite3_stmt *st, int none_rc, const char *what)
{
    int step = sqlite3_step (st);
    int rc = step != SQLITE_DONE ? bf_error_set (BF_EIO, "cannot %s: %s", what,
                                                 sqlite3_errmsg (db))
             : sqlite3_changes (db) > 0 ? BF_OK : none_rc;
    bf_db_done (st);
    return rc;
}

int
bf_db_begin (sqlite3 *db)
{
    if (s_batch_slot (db) >= 0)
        return s_exec_kept (db, "SAVEPOINT bf_op");
    return s_exec_kept (db, "BEGIN IMMEDIATE");
}

int
bf_db_end (sqlite3 *db, int rc)
{
    if (s_batch_slot (db) >= 0) {
        if (rc == BF_OK && (rc = s_exec_kept (db, "RELEASE bf_op")) == BF_OK)
            return BF_OK;
        /* An error that ended the whole transaction (SQLITE_FULL, an I/O
           error) leaves no savepoint: then these fail, and so will the
           batch's commit (bf_db_batch_end). */
        sqlite3_exec (db, "ROLLBACK TO bf_op; RELEASE bf_op", NULL, NULL, NULL);
        return rc;
    }
    if (rc == BF_OK) {
        rc = s_exec_kept (db, "COMMIT");
        if (rc == BF_OK)
            return BF_OK;
    }
    if (!sqlite3_get_autocommit (db))
        s_exec_kept (db, "ROLLBACK");
    return rc;
}

int
bf_db_batch_begin (sqlite3 *db)
{
    int slot = s_batch_slot (NULL);
    assert (slot >= 0 && s_batch_slot (db) < 0);
    int rc = s_exec_kept (db, "BEGIN IMMEDIATE");
    if (rc == BF_OK)
        s_batch[slot] = db;
    return rc;
}

int
bf_db_batch_end (sqlite3 *db, bool commit)
{
    int slot = s_batch_slot (db);
    assert (slot >= 0);
    s_batch[slot] = NULL;
    if (sqlite3_get_autocommit (db))
        /* SQLite rolled the whole batch back after an error in it */
        return bf_error_set (BF_EIO, "database error: a batch was rolled back by an "
                             "earlier error: %s", sqlite3_errmsg (db));
    if (commit)
        return bf_db_end (db, BF_OK);
    s_exec_kept (db, "ROLLBACK");
    return BF_OK;
}

bool
bf_db_batch_open (sqlite3 *db)
{
    return s_batch_slot (db) >= 0;
}

char *
bf_db_column_dup (sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text (st, col);
    return t ? xstrdup ((const char *) t) : NULL;
}

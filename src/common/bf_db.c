/*  bf_db - see bf_db.h. */
#include "bf_db.h"
#include "bf_error.h"
#include "bf_log.h"
#include "bf_util.h"

#include <stdlib.h>
#include <unistd.h>

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
    sqlite3_finalize (st);
    if (step != SQLITE_DONE)
        return bf_error_set (BF_EIO, "cannot %s: %s", what, sqlite3_errmsg (db));
    return sqlite3_changes (db) > 0 ? BF_OK : none_rc;
}

int
bf_db_begin (sqlite3 *db)
{
    return bf_db_exec (db, "BEGIN IMMEDIATE");
}

int
bf_db_end (sqlite3 *db, int rc)
{
    if (rc == BF_OK) {
        rc = bf_db_exec (db, "COMMIT");
        if (rc == BF_OK)
            return BF_OK;
    }
    bf_db_exec (db, "ROLLBACK");
    return rc;
}

char *
bf_db_column_dup (sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text (st, col);
    return t ? xstrdup ((const char *) t) : NULL;
}

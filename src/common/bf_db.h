/*  bf_db - open a SQLite database and bring its schema up to date.

    Migrations are the SQL files under schema/<name>/NNN_*.sql, compiled in
    by scripts/embed-sql.  Migration i (0-based) takes the database from
    PRAGMA user_version i to i+1, in one transaction.  A database newer than
    this program knows is refused, never touched.
    Connections use WAL, synchronous=FULL (a commit is on disk before it is
    acknowledged), foreign keys on and a busy timeout, so several processes
    may share one file on a local disk (not NFS: SQLite's locking is unsafe
    there).
    Thread-safety: a sqlite3 handle from bf_db_open belongs to one thread.
*/
#ifndef BF_DB_H_INCLUDED
#define BF_DB_H_INCLUDED

#include <sqlite3.h>

extern const char *const bf_schema_jobs[];
extern const char *const bf_schema_cache[];

/*  Opens (creating) path and applies the migrations in the NULL-terminated
    array.  *out receives the handle; close it with sqlite3_close.  Returns
    BF_OK, or BF_EIO with a detail (including "database 'x' has schema
    version 7, newer than this bitfarm (2)"). */
int bf_db_open (sqlite3 **out, const char *path, const char *const *migrations);

/*  Executes SQL text with no results; returns BF_OK or BF_EIO with a detail. */
int bf_db_exec (sqlite3 *db, const char *sql);

/*  Starts a write transaction (BEGIN IMMEDIATE: the write lock is taken
    now, so a later statement cannot fail with SQLITE_BUSY half way).
    BF_OK or BF_EIO with a detail. */
int bf_db_begin (sqlite3 *db);

/*  Ends the transaction bf_db_begin started: COMMIT when rc is BF_OK
    (returning BF_EIO with a detail if the commit fails, after rolling
    back), else ROLLBACK; returns rc otherwise unchanged.  The usual
    ending of a `goto out;` block: `return bf_db_end (db, rc);`. */
int bf_db_end (sqlite3 *db, int rc);

/*  Prepares a statement; logs and aborts on failure, because every
    statement is a constant of this program (a programming error). */
sqlite3_stmt *bf_db_prepare (sqlite3 *db, const char *sql);

/*  Steps a statement that changes rows and finalizes it.  BF_OK when it
    changed at least one row, none_rc when it changed none, BF_EIO with a
    detail ("cannot WHAT: ...") on error. */
int bf_db_step_changes (sqlite3 *db, sqlite3_stmt *st, int none_rc, const char *what);

/*  A copy of a text column (caller frees), or NULL for SQL NULL. */
char *bf_db_column_dup (sqlite3_stmt *st, int col);

/*  Binds text (copied, SQLITE_TRANSIENT) to parameter idx, or NULL when
    v is NULL. */
void bf_db_bind_str (sqlite3_stmt *st, int idx, const char *v);

#endif

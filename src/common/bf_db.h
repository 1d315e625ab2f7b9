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
    Group commit: see bf_db_batch_begin.
*/
#ifndef BF_DB_H_INCLUDED
#define BF_DB_H_INCLUDED

#include <sqlite3.h>
#include <stdbool.h>

extern const char *const bf_schema_jobs[];
extern const char *const bf_schema_cache[];

/*  Opens (creating) path and applies the migrations in the NULL-terminated
    array.  *out receives the handle; close it with bf_db_close.  Returns
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

/*  Group commit (the broker's loop, bf_broker.c): bf_db_batch_begin
    opens one write transaction (BEGIN IMMEDIATE) that every later write
    on db from this thread joins, until bf_db_batch_end.  Inside it,
    bf_db_begin/bf_db_end make a savepoint and release it (or roll back
    to it, on an error: one failed operation undoes only itself), and
    statements outside them simply join the batch.  Nothing in the batch
    is durable until bf_db_batch_end (db, true) returns BF_OK: its COMMIT
    is the batch's one fsync, so whoever acknowledges a change made in a
    batch must wait for it.  bf_db_batch_end (db, false) rolls back.
    bf_db_batch_end returns BF_EIO with a detail when the commit fails,
    or when an error inside the batch made SQLite roll all of it back;
    the batch is over either way.  At most 8 batches per thread, one per
    handle (programming errors: assert). */
int bf_db_batch_begin (sqlite3 *db);
int bf_db_batch_end (sqlite3 *db, bool commit);
/*  Whether db has a batch open on this thread. */
bool bf_db_batch_open (sqlite3 *db);

/*  Prepares a statement; logs and aborts on failure, because every
    statement is a constant of this program (a programming error). */
sqlite3_stmt *bf_db_prepare (sqlite3 *db, const char *sql);

/*  A statement kept prepared for db (SQLITE_PREPARE_PERSISTENT) and
    reused by later calls with the same SQL text on this thread: for the
    statements the broker runs per message.  Give it back with
    bf_db_done (never sqlite3_finalize); a statement still handed out is
    not handed out twice (a nested use gets a new one).  Aborts, as
    bf_db_prepare, on SQL that does not prepare. */
sqlite3_stmt *bf_db_stmt (sqlite3 *db, const char *sql);

/*  Gives back a statement from bf_db_stmt (reset, its bindings cleared),
    or finalizes one from bf_db_prepare.  NULL is fine. */
void bf_db_done (sqlite3_stmt *st);

/*  Closes a handle from bf_db_open with the statements kept for it
    (bf_db_stmt; call it on the thread that used them).  NULL is fine. */
void bf_db_close (sqlite3 *db);

/*  Steps a statement that changes rows and gives it back (bf_db_done).  BF_OK when it
    changed at least one row, none_rc when it changed none, BF_EIO with a
    detail ("cannot WHAT: ...") on error. */
int bf_db_step_changes (sqlite3 *db, sqlite3_stmt *st, int none_rc, const char *what);

/*  A copy of a text column (caller frees), or NULL for SQL NULL. */
char *bf_db_column_dup (sqlite3_stmt *st, int col);

/*  Binds text (copied, SQLITE_TRANSIENT) to parameter idx, or NULL when
    v is NULL. */
void bf_db_bind_str (sqlite3_stmt *st, int idx, const char *v);

#endif

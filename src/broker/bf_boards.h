/*  bf_boards - the broker's durable board table (schema/jobs/003): what
    each worker declared, board health, and reservations (leases).

    A board's state, as `bitfarm boards` shows it, is derived when it is
    read, in this order:
        maintenance | error   its health, set by an operator or by repeated
                              infrastructure failures; takes no jobs
        offline               its worker is not connected
        busy                  a program job for it is running (bf_jobs)
        reserved              a lease is held (reserved_by, until)
        idle
    Reservations follow labgrid's "reserve/acquire" and Cloud_FPGA's
    session TTL: a lease has a token (128 random bits, shown once to the
    holder; only its SHA-256 is stored), an end time and a length, and is
    held by the key that made it: the token works only with that key
    (release, and program jobs that carry it).  Using the board with the
    token renews the lease; expiry always frees it; only the token and
    the key together release it, in one UPDATE ... WHERE token_hash = ?
    AND reserved_key IS ?.

    Times are ms since the epoch.  Thread-safety: one thread (the broker
    loop), on a connection of its own to the jobs database.
*/
#ifndef BF_BOARDS_H_INCLUDED
#define BF_BOARDS_H_INCLUDED

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define BF_TOKEN_HEX_LEN 32

typedef struct _bf_boards_t bf_boards_t;

/*  A board's health: in service, or out of it after repeated
    infrastructure failures, or by an operator. */
typedef enum { BF_HEALTH_OK = 0, BF_HEALTH_ERROR, BF_HEALTH_MAINTENANCE } bf_health_t;

/*  "ok", "error", "maintenance", and back (false for another name). */
const char *bf_health_name (bf_health_t health);
bool bf_health_parse (bf_health_t *out, const char *name);

/*  One row of the board table.  Strings are owned (NULL: none). */
typedef struct {
    char *name, *worker, *family, *device, *package, *cable;
    bool is_virtual;
    bf_health_t health;
    char *health_reason;
    int failures;               /* infrastructure failures in a row */
    char *reserved_by;          /* the lease's label (`reserve --by`), for people; not an
                                   identity: the holder is reserved_key */
    int64_t reserved_until;     /* ms; 0: no lease */
    int64_t lease_ms;           /* the lease's length */
    char *last_job;
    char *token_hash;           /* the lease token's SHA-256: internal, never to a client */
    char *reserved_key;         /* the holder: the Z85 key that reserved it (NULL: a plain
                                   peer); internal, never to a client */
    char *reserved_key_name;    /* that key's name, for people */
} bf_board_row_t;

/*  Who takes a lease: the key (NULL on a plain broker) is the holder;
    `by` is only a label for people.  Strings are borrowed. */
typedef struct {
    const char *key, *key_name;
    const char *by;
} bf_board_holder_t;

/*  Frees the contents of a row (git's *_release). */
void bf_board_row_release (bf_board_row_t *row);

/*  Frees an array of n rows from bf_boards_all. */
void bf_board_rows_free (bf_board_row_t *rows, size_t n);

/*  Opens the boards table in the jobs database at path (the file
    bf_jobs_open migrates; the table is in schema/jobs), on a connection of
    its own.  BF_OK, or BF_EIO with a detail. */
int bf_boards_open (bf_boards_t **out, const char *path);
/*  The same table on db, a handle bf_jobs_db lent (the broker's one
    connection to its jobs database, so that its writes join the jobs'
    group commit: bf_jobs_batch_begin).  db stays the lender's: it must
    outlive the result, which does not close it. */
bf_boards_t *bf_boards_open_on (sqlite3 *db);
void bf_boards_destroy (bf_boards_t **self_p);

/*  Records (or updates) a board a worker declared: `board` is READY's
    {"name", "family", "device", "package", "cable", "virtual"}, already
    checked.  Health and reservation are kept.  BF_OK or BF_EIO. */
int bf_boards_declare (bf_boards_t *self, const char *worker, json_t *board);

/*  Reads the board's row into *out (release it).  BF_OK, or BF_ENOTFOUND
    with a detail when there is no such board. */
int bf_boards_get (bf_boards_t *self, bf_board_row_t *out, const char *name);

/*  Every board, by name: a new array of *n_out rows (bf_board_rows_free),
    NULL when there are none. */
bf_board_row_t *bf_boards_all (bf_boards_t *self, size_t *n_out);

/*  True when the board holds a lease that has not ended at `now`. */
bool bf_boards_reserved (const bf_board_row_t *board, int64_t now);

/*  Takes a lease on a board that has no live lease and is healthy: held
    by holder->key, labelled holder->by, until now + lease_ms.  BF_OK;
    BF_EBUSY with a detail naming the holder's key and label and the end,
    or the health. */
int bf_boards_reserve (bf_boards_t *self, const char *name, const bf_board_holder_t *holder,
                       const char *token_hash, int64_t lease_ms, int64_t now);

/*  True when the board's live lease (at now) is held with token_hash by
    key (NULL: a plain peer, for a lease a plain peer took). */
bool bf_boards_holds (const bf_board_row_t *board, const char *token_hash, const char *key,
                      int64_t now);

/*  BF_OK when the board's live lease is held with token_hash by key (as
    bf_boards_holds); else BF_ENOTFOUND with a detail that does not say
    whether the token or the key is wrong (or no such board). */
int bf_boards_check_held (bf_boards_t *self, const char *name, const char *token_hash,
                          const char *key);

/*  Ends the lease held with token_hash by key (NULL: a plain peer).
    BF_OK, or BF_ENOTFOUND when they hold no lease on the board (wrong
    token, another key's, expired, released). */
int bf_boards_release (bf_boards_t *self, const char *name, const char *token_hash,
                       const char *key);

/*  Pushes the lease held with token_hash to at least now + its length.
    BF_OK, or BF_ENOTFOUND when that token holds no live lease. */
int bf_boards_renew (bf_boards_t *self, const char *name, const char *token_hash, int64_t now);

/*  Ends every lease whose time is up; returns a new array of
    {"name", "reserved_by"} for those ended. */
json_t *bf_boards_expire (bf_boards_t *self, int64_t now);

/*  Sets health to "ok" (clearing the failure count), "error" or
    "maintenance" with a reason.  BF_OK or BF_ENOTFOUND. */
int bf_boards_set_health (bf_boards_t *self, const char *name, const char *health,
                          const char *reason);

/*  Records the outcome of a program job on the board: last_job = job;
    an infrastructure failure adds one to the consecutive-failure count
    and, at `threshold`, sets health "error" with the reason (*error_out
    true); anything else resets the count. */
int bf_boards_outcome (bf_boards_t *self, const char *name, const char *job, bool infra,
                       const char *reason, int threshold, bool *error_out);

#endif

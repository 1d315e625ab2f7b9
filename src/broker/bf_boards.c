/*  bf_boards - see bf_boards.h. */
#include "bf_boards.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct _bf_boards_t {
    sqlite3 *db;
    bool borrowed;              /* bf_boards_open_on: the jobs database's handle */
};

#define S_COLS "name, worker, family, device, package, cable, virtual, health, " \
               "health_reason, failures, reserved_by, reserved_until, lease_ms, last_job, " \
               "token_hash, reserved_key, reserved_key_name"

int
bf_boards_open (bf_boards_t **out, const char *path)
{
    *out = NULL;
    bf_boards_t *self = xcalloc (1, sizeof *self);
    int rc = bf_db_open (&self->db, path, bf_schema_jobs);
    if (rc != BF_OK) {
        free (self);
        return rc;
    }
    *out = self;
    self = NULL;   /* transferred */
    return BF_OK;
}

bf_boards_t *
bf_boards_open_on (sqlite3 *db)
{
    bf_boards_t *self = xcalloc (1, sizeof *self);
    self->db = db;
    self->borrowed = true;
    return self;
}

void
bf_boards_destroy (bf_boards_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if (!(*self_p)->borrowed)
        bf_db_close ((*self_p)->db);
    free (*self_p);
    *self_p = NULL;
}

static int
s_changed (bf_boards_t *self, sqlite3_stmt *st, int none)
{
    return bf_db_step_changes (self->db, st, none, "update the boards table");
}

static const char *const s_healths[] = { [BF_HEALTH_OK] = "ok", [BF_HEALTH_ERROR] = "error",
                                          [BF_HEALTH_MAINTENANCE] = "maintenance" };

const char *
bf_health_name (bf_health_t health)
{
    return (size_t) health < sizeof s_healths / sizeof s_healths[0] ? s_healths[health] : "ok";
}

bool
bf_health_parse (bf_health_t *out, const char *name)
{
    for (size_t i = 0; name && i < sizeof s_healths / sizeof s_healths[0]; i++)
        if (strcmp (s_healths[i], name) == 0) {
            *out = (bf_health_t) i;
            return true;
        }
    return false;
}

/*  One row of S_COLS into a record. */
static void
s_row (bf_board_row_t *b, sqlite3_stmt *st)
{
    memset (b, 0, sizeof *b);
    b->name = bf_db_column_dup (st, 0);
    b->worker = bf_db_column_dup (st, 1);
    b->family = bf_db_column_dup (st, 2);
    b->device = bf_db_column_dup (st, 3);
    b->package = bf_db_column_dup (st, 4);
    b->cable = bf_db_column_dup (st, 5);
    b->is_virtual = sqlite3_column_int (st, 6) != 0;
    bf_health_parse (&b->health, (const char *) sqlite3_column_text (st, 7));
    b->health_reason = bf_db_column_dup (st, 8);
    b->failures = sqlite3_column_int (st, 9);
    b->reserved_by = bf_db_column_dup (st, 10);
    b->reserved_until = sqlite3_column_int64 (st, 11);
    b->lease_ms = sqlite3_column_int64 (st, 12);
    b->last_job = bf_db_column_dup (st, 13);
    b->token_hash = bf_db_column_dup (st, 14);
    b->reserved_key = bf_db_column_dup (st, 15);
    b->reserved_key_name = bf_db_column_dup (st, 16);
}

void
bf_board_row_release (bf_board_row_t *b)
{
    char **strs[] = { &b->name, &b->worker, &b->family, &b->device, &b->package, &b->cable,
                      &b->health_reason, &b->reserved_by, &b->last_job, &b->token_hash,
                      &b->reserved_key, &b->reserved_key_name };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free (*strs[i]);
        *strs[i] = NULL;
    }
}

void
bf_board_rows_free (bf_board_row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bf_board_row_release (&rows[i]);
    free (rows);
}

int
bf_boards_declare (bf_boards_t *self, const char *worker, json_t *b)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "INSERT INTO boards (name, worker, family, device, package, cable, virtual, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (name) DO UPDATE SET "
        "worker = ?2, family = ?3, device = ?4, package = ?5, cable = ?6, virtual = ?7, "
        "updated_at = ?8");
    bf_db_bind_str (st, 1, json_string_value (json_object_get (b, "name")));
    bf_db_bind_str (st, 2, worker);
    bf_db_bind_str (st, 3, json_string_value (json_object_get (b, "family")));
    bf_db_bind_str (st, 4, json_string_value (json_object_get (b, "device")));
    bf_db_bind_str (st, 5, json_string_value (json_object_get (b, "package")));
    bf_db_bind_str (st, 6, json_string_value (json_object_get (b, "cable")));
    sqlite3_bind_int (st, 7, json_is_true (json_object_get (b, "virtual")));
    sqlite3_bind_int64 (st, 8, bf_now_ms ());
    return s_changed (self, st, BF_OK);
}

int
bf_boards_get (bf_boards_t *self, bf_board_row_t *out, const char *name)
{
    memset (out, 0, sizeof *out);
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT " S_COLS " FROM boards WHERE name = ?");
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        s_row (out, st);
        rc = BF_OK;
    }
    bf_db_done (st);
    if (rc != BF_OK)
        bf_error_set (BF_ENOTFOUND, "no board named '%.40s' (see `bitfarm boards`)", name);
    return rc;
}

bf_board_row_t *
bf_boards_all (bf_boards_t *self, size_t *n_out)
{
    sqlite3_stmt *st = bf_db_stmt (self->db, "SELECT " S_COLS " FROM boards ORDER BY name");
    bf_board_row_t *rows = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap * 2 + 8;
            rows = xrealloc (rows, cap * sizeof *rows);
        }
        s_row (&rows[n++], st);
    }
    bf_db_done (st);
    *n_out = n;
    return rows;
}

bool
bf_boards_reserved (const bf_board_row_t *board, int64_t now)
{
    return board->token_hash && board->reserved_until > now;
}

/*  "by LABEL", or "by key 'NAME' (label 'LABEL')" when a key holds it. */
static char *
s_holder (const bf_board_row_t *b)
{
    const char *by = b->reserved_by ? b->reserved_by : "?";
    if (b->reserved_key_name)
        return xasprintf ("by key '%s' (label '%s')", b->reserved_key_name, by);
    return xasprintf ("by %s", by);
}

int
bf_boards_reserve (bf_boards_t *self, const char *name, const bf_board_holder_t *holder,
                   const char *token_hash, int64_t lease_ms, int64_t now)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE boards SET reserved_by = ?1, token_hash = ?2, reserved_until = ?3 + ?4, "
        "lease_ms = ?4, updated_at = ?3, reserved_key = ?6, reserved_key_name = ?7 "
        "WHERE name = ?5 AND health = 'ok' "
        "AND (token_hash IS NULL OR reserved_until <= ?3)");
    bf_db_bind_str (st, 1, holder->by);
    bf_db_bind_str (st, 2, token_hash);
    sqlite3_bind_int64 (st, 3, now);
    sqlite3_bind_int64 (st, 4, lease_ms);
    sqlite3_bind_text (st, 5, name, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 6, holder->key);
    bf_db_bind_str (st, 7, holder->key ? holder->key_name : NULL);
    int rc = s_changed (self, st, BF_EBUSY);
    if (rc != BF_EBUSY)
        return rc;
    bf_board_row_t b;
    if (bf_boards_get (self, &b, name) != BF_OK)
        return BF_ENOTFOUND;
    if (b.health != BF_HEALTH_OK)
        rc = bf_error_set (BF_EBUSY, "board '%s' is in %s (%s); an operator enables it with "
                           "`bitfarm board %s --enable`", name, bf_health_name (b.health),
                           b.health_reason ? b.health_reason : "no reason given", name);
    else {
        char when[40];
        bf_time_iso (when, sizeof when, b.reserved_until);
        char *who = s_holder (&b);
        rc = bf_error_set (BF_EBUSY, "board '%s' is reserved %s until %s", name, who, when);
        free (who);
    }
    bf_board_row_release (&b);
    return rc;
}

/*  The one refusal for a token that does not hold the board's lease
    together with this key: it does not say which of the two is wrong. */
static int
s_not_held (const char *name)
{
    return bf_error_set (BF_ENOTFOUND, "this token holds no reservation of board '%.40s' for "
                         "this key (wrong token, another key's, released, or expired)", name);
}

bool
bf_boards_holds (const bf_board_row_t *board, const char *token_hash, const char *key,
                 int64_t now)
{
    return bf_boards_reserved (board, now) && token_hash
           && strcmp (board->token_hash, token_hash) == 0
           && (key ? board->reserved_key && strcmp (board->reserved_key, key) == 0
                   : !board->reserved_key);
}

int
bf_boards_check_held (bf_boards_t *self, const char *name, const char *token_hash,
                      const char *key)
{
    bf_board_row_t b;
    int rc = bf_boards_get (self, &b, name);
    if (rc != BF_OK)
        return rc;
    if (!bf_boards_holds (&b, token_hash, key, bf_now_ms ()))
        rc = s_not_held (name);
    bf_board_row_release (&b);
    return rc;
}

int
bf_boards_release (bf_boards_t *self, const char *name, const char *token_hash,
                   const char *key)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE boards SET reserved_by = NULL, token_hash = NULL, reserved_until = NULL, "
        "lease_ms = NULL, reserved_key = NULL, reserved_key_name = NULL, updated_at = ?1 "
        "WHERE name = ?2 AND token_hash = ?3 AND reserved_until > ?1 AND reserved_key IS ?4");
    sqlite3_bind_int64 (st, 1, bf_now_ms ());
    sqlite3_bind_text (st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, token_hash, -1, SQLITE_STATIC);
    bf_db_bind_str (st, 4, key);
    int rc = s_changed (self, st, BF_ENOTFOUND);
    if (rc == BF_ENOTFOUND)
        s_not_held (name);
    return rc;
}

int
bf_boards_renew (bf_boards_t *self, const char *name, const char *token_hash, int64_t now)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE boards SET reserved_until = MAX(reserved_until, ?1 + lease_ms) "
        "WHERE name = ?2 AND token_hash = ?3 AND reserved_until > ?1");
    sqlite3_bind_int64 (st, 1, now);
    sqlite3_bind_text (st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, token_hash, -1, SQLITE_STATIC);
    return s_changed (self, st, BF_ENOTFOUND);
}

json_t *
bf_boards_expire (bf_boards_t *self, int64_t now)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "SELECT name, reserved_by FROM boards WHERE token_hash IS NOT NULL "
        "AND reserved_until <= ?");
    sqlite3_bind_int64 (st, 1, now);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, json_pack ("{s:s, s:s?}",
                                               "name", (const char *) sqlite3_column_text (st, 0),
                                               "reserved_by",
                                               (const char *) sqlite3_column_text (st, 1)));
    bf_db_done (st);
    if (json_array_size (arr) > 0) {
        st = bf_db_stmt (self->db,
            "UPDATE boards SET reserved_by = NULL, token_hash = NULL, reserved_until = NULL, "
            "lease_ms = NULL, reserved_key = NULL, reserved_key_name = NULL, updated_at = ?1 "
            "WHERE token_hash IS NOT NULL "
            "AND reserved_until <= ?1");
        sqlite3_bind_int64 (st, 1, now);
        s_changed (self, st, BF_OK);
    }
    return arr;
}

int
bf_boards_set_health (bf_boards_t *self, const char *name, const char *health,
                      const char *reason)
{
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE boards SET health = ?1, health_reason = ?2, "
        "failures = CASE WHEN ?1 = 'ok' THEN 0 ELSE failures END, updated_at = ?3 "
        "WHERE name = ?4");
    bf_db_bind_str (st, 1, health);
    bf_db_bind_str (st, 2, strcmp (health, "ok") == 0 ? NULL : reason);
    sqlite3_bind_int64 (st, 3, bf_now_ms ());
    sqlite3_bind_text (st, 4, name, -1, SQLITE_STATIC);
    int rc = s_changed (self, st, BF_ENOTFOUND);
    if (rc == BF_ENOTFOUND)
        bf_error_set (rc, "no board named '%.40s' (see `bitfarm boards`)", name);
    return rc;
}

int
bf_boards_outcome (bf_boards_t *self, const char *name, const char *job, bool infra,
                   const char *reason, int threshold, bool *error_out)
{
    *error_out = false;
    sqlite3_stmt *st = bf_db_stmt (self->db,
        "UPDATE boards SET last_job = ?1, failures = CASE WHEN ?2 THEN failures + 1 ELSE 0 END, "
        "updated_at = ?3 WHERE name = ?4");
    bf_db_bind_str (st, 1, job);
    sqlite3_bind_int (st, 2, infra);
    sqlite3_bind_int64 (st, 3, bf_now_ms ());
    sqlite3_bind_text (st, 4, name, -1, SQLITE_STATIC);
    int rc = s_changed (self, st, BF_ENOTFOUND);
    if (rc != BF_OK || !infra)
        return rc;
    st = bf_db_stmt (self->db,
        "UPDATE boards SET health = 'error', health_reason = ?1 WHERE name = ?2 "
        "AND health = 'ok' AND failures >= ?3");
    char *why = xasprintf ("%d infrastructure failures in a row; last: %s", threshold,
                           reason ? reason : "?");
    bf_db_bind_str (st, 1, why);
    free (why);
    sqlite3_bind_text (st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int (st, 3, threshold);
    rc = s_changed (self, st, BF_ENOTFOUND);
    *error_out = rc == BF_OK;
    return rc == BF_ENOTFOUND ? BF_OK : rc;
}

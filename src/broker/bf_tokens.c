/*  bf_tokens - bearer tokens of the HTTP API; see bf_tokens.h. */
#include "bf_tokens.h"
#include "../common/bf_db.h"
#include "../common/bf_error.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct _bf_tokens_t {
    sqlite3 *db;
    bool borrowed;              /* bf_tokens_open_on: the jobs database's handle */
};

int
bf_tokens_open (bf_tokens_t **out, const char *path)
{
    *out = NULL;
    bf_tokens_t *self = xcalloc (1, sizeof *self);
    int rc = bf_db_open (&self->db, path, bf_schema_jobs);
    if (rc != BF_OK) {
        free (self);
        return rc;
    }
    *out = self;
    self = NULL;   /* transferred */
    return BF_OK;
}

bf_tokens_t *
bf_tokens_open_on (sqlite3 *db)
{
    bf_tokens_t *self = xcalloc (1, sizeof *self);
    self->db = db;
    self->borrowed = true;
    return self;
}

void
bf_tokens_destroy (bf_tokens_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if (!(*self_p)->borrowed)
        bf_db_close ((*self_p)->db);
    free (*self_p);
    *self_p = NULL;
}

bool
bf_tokens_is_token (const char *text)
{
    size_t plen = strlen (BF_TOKENS_PREFIX);
    return text && strlen (text) == BF_TOKENS_LEN && strncmp (text, BF_TOKENS_PREFIX, plen) == 0
           && strspn (text + plen, "0123456789abcdef") == BF_TOKENS_LEN - plen;
}

static json_t *
s_row_json (sqlite3_stmt *st)
{
    return json_pack ("{s:s, s:s, s:s, s:I, s:s}",
                      "id", (const char *) sqlite3_column_text (st, 0),
                      "role", (const char *) sqlite3_column_text (st, 1),
                      "name", (const char *) sqlite3_column_text (st, 2),
                      "created_at", (json_int_t) sqlite3_column_int64 (st, 3),
                      "created_by", (const char *) sqlite3_column_text (st, 4));
}

int
bf_tokens_create (bf_tokens_t *self, char *token_out, json_t **row_out, const char *role,
                  const char *name, const char *key, const char *by)
{
    if (row_out)
        *row_out = NULL;
    if (!role || (strcmp (role, "client") && strcmp (role, "admin")))
        return bf_error_set (BF_EINVAL, "invalid token role '%.32s' (want client or admin)",
                             role ? role : "");
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT count (*) FROM http_tokens");
    int64_t count = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
    bf_db_done (st);
    if (count >= BF_TOKENS_MAX)
        return bf_error_set (BF_ETOOBIG, "the broker already keeps %d tokens: revoke some "
                             "(bitfarm token revoke ID)", BF_TOKENS_MAX);
    char hex[41], digest[BF_SHA256_HEX_LEN + 1];
    if (bf_random_hex (hex, 20) != BF_OK)
        return bf_error_set (BF_EIO, "cannot read random bytes for a token");
    snprintf (token_out, BF_TOKENS_LEN + 1, "%s%s", BF_TOKENS_PREFIX, hex);
    bf_sha256_hex (digest, token_out, strlen (token_out));
    char id[BF_TOKENS_ID_LEN + 1];
    memcpy (id, digest, BF_TOKENS_ID_LEN);
    id[BF_TOKENS_ID_LEN] = '\0';
    int64_t now = bf_now_ms ();
    st = bf_db_prepare (self->db, "INSERT INTO http_tokens (sha256, id, role, name, key, "
                        "created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, role, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 4, name, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 5, key ? key : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 6, now);
    sqlite3_bind_text (st, 7, by, -1, SQLITE_STATIC);
    int src = sqlite3_step (st);
    bf_db_done (st);
    if (src != SQLITE_DONE) {
        token_out[0] = '\0';
        return bf_error_set (BF_EIO, "cannot store a token: %s", sqlite3_errmsg (self->db));
    }
    if (row_out)
        *row_out = json_pack ("{s:s, s:s, s:s, s:I, s:s}", "id", id, "role", role, "name",
                              name, "created_at", (json_int_t) now, "created_by", by);
    return BF_OK;
}

int
bf_tokens_lookup (bf_tokens_t *self, bf_token_row_t *out, const char *sha256_hex)
{
    memset (out, 0, sizeof *out);
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT id, role, name, created_at, "
                                      "created_by, key FROM http_tokens WHERE sha256 = ?1");
    sqlite3_bind_text (st, 1, sha256_hex, -1, SQLITE_STATIC);
    int rc = BF_ENOTFOUND;
    if (sqlite3_step (st) == SQLITE_ROW) {
        snprintf (out->id, sizeof out->id, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (out->role, sizeof out->role, "%s", (const char *) sqlite3_column_text (st, 1));
        out->name = xstrdup ((const char *) sqlite3_column_text (st, 2));
        out->created_at = sqlite3_column_int64 (st, 3);
        out->created_by = xstrdup ((const char *) sqlite3_column_text (st, 4));
        out->key = xstrdup ((const char *) sqlite3_column_text (st, 5));
        rc = BF_OK;
    }
    bf_db_done (st);
    return rc;
}

void
bf_token_row_release (bf_token_row_t *row)
{
    if (!row)
        return;
    free (row->name);
    free (row->key);
    free (row->created_by);
    memset (row, 0, sizeof *row);
}

json_t *
bf_tokens_list (bf_tokens_t *self)
{
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT id, role, name, created_at, "
                                      "created_by FROM http_tokens ORDER BY created_at, id");
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (arr, s_row_json (st));
    bf_db_done (st);
    return arr;
}

int
bf_tokens_revoke (bf_tokens_t *self, char *id_out, const char *prefix)
{
    size_t n = prefix ? strlen (prefix) : 0;
    if (n < 4 || n > BF_TOKENS_ID_LEN || strspn (prefix, "0123456789abcdef") != n)
        return bf_error_set (BF_EINVAL, "bad token id '%.32s' (want 4 to 12 lowercase hex "
                             "characters, as `bitfarm token ls` shows)", prefix ? prefix : "");
    sqlite3_stmt *st = bf_db_prepare (self->db, "SELECT id FROM http_tokens WHERE "
                                      "substr (id, 1, length (?1)) = ?1 LIMIT 2");
    sqlite3_bind_text (st, 1, prefix, -1, SQLITE_STATIC);
    int found = 0;
    while (sqlite3_step (st) == SQLITE_ROW && found < 2) {
        if (found++ == 0)
            snprintf (id_out, BF_TOKENS_ID_LEN + 1, "%s",
                      (const char *) sqlite3_column_text (st, 0));
    }
    bf_db_done (st);
    if (found == 0)
        return bf_error_set (BF_ENOTFOUND, "no token '%s'", prefix);
    if (found > 1)
        return bf_error_set (BF_EAMBIGUOUS, "token id '%s' is ambiguous", prefix);
    st = bf_db_prepare (self->db, "DELETE FROM http_tokens WHERE id = ?1");
    sqlite3_bind_text (st, 1, id_out, -1, SQLITE_STATIC);
    int src = sqlite3_step (st);
    bf_db_done (st);
    if (src != SQLITE_DONE)
        return bf_error_set (BF_EIO, "cannot revoke token '%s': %s", id_out,
                             sqlite3_errmsg (self->db));
    return BF_OK;
}

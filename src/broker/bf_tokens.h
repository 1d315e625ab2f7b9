/*  bf_tokens - bearer tokens of the broker's HTTP API (docs/http.md,
    "Access"): table http_tokens of the jobs database
    (schema/jobs/011_http_tokens.sql).

    A token is "bft_" and 40 lowercase hex characters (160 random bits).
    It is returned once, by bf_tokens_create; only its SHA-256 is stored.
    Its id, the first 12 hex characters of that digest, names it in lists
    and for revocation.  A token stands for a client key (its name, and on
    a CURVE broker its public key) with a role: "client" (the key's own
    view, as over ZeroMQ) or "admin" (everything).

    Thread-safety: one thread (the broker loop), on a connection of its own
    to the jobs database.
*/
#ifndef BF_TOKENS_H_INCLUDED
#define BF_TOKENS_H_INCLUDED

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>

#define BF_TOKENS_PREFIX  "bft_"
#define BF_TOKENS_LEN     44          /* "bft_" + 40 hex */
#define BF_TOKENS_ID_LEN  12
#define BF_TOKENS_MAX     1024        /* tokens a broker keeps */

typedef struct _bf_tokens_t bf_tokens_t;

/*  One token as stored, without its digest.  Strings are owned. */
typedef struct {
    char id[BF_TOKENS_ID_LEN + 1];
    char role[8];                     /* "client" or "admin" */
    char *name, *key, *created_by;
    int64_t created_at;               /* ms since the epoch */
} bf_token_row_t;

/*  Opens the table in the jobs database at path (applying migrations).
    BF_OK with *out set, or BF_EIO with a detail. */
int bf_tokens_open (bf_tokens_t **out, const char *path);
/*  The same table on db, a handle bf_jobs_db lent (the broker's one
    connection to its jobs database, so that its writes join the jobs'
    group commit: bf_jobs_batch_begin).  db stays the lender's: it must
    outlive the result, which does not close it. */
bf_tokens_t *bf_tokens_open_on (sqlite3 *db);
void bf_tokens_destroy (bf_tokens_t **self_p);

/*  True when text has the shape of a token (it may still be unknown). */
bool bf_tokens_is_token (const char *text);

/*  Creates a token for key `name` (Z85 `key`, "" on a plain broker) with
    role "client" or "admin", made by `by`.  token_out receives the token
    (BF_TOKENS_LEN + 1 bytes); *row_out (may be NULL) a new JSON object
    {id, role, name, created_at, created_by}.  BF_OK, BF_EINVAL (a bad
    role), BF_ETOOBIG (BF_TOKENS_MAX tokens exist) or BF_EIO, with a
    detail. */
int bf_tokens_create (bf_tokens_t *self, char *token_out, json_t **row_out, const char *role,
                      const char *name, const char *key, const char *by);

/*  The token whose SHA-256 is sha256_hex: BF_OK with *out filled (release
    it with bf_token_row_release), or BF_ENOTFOUND. */
int bf_tokens_lookup (bf_tokens_t *self, bf_token_row_t *out, const char *sha256_hex);
void bf_token_row_release (bf_token_row_t *row);

/*  Every token, oldest first: a new array of {id, role, name,
    created_at, created_by}. */
json_t *bf_tokens_list (bf_tokens_t *self);

/*  Revokes the token with this id (the full 12 characters, or a unique
    prefix of at least 4).  BF_OK with id_out (BF_TOKENS_ID_LEN + 1) set,
    or BF_ENOTFOUND / BF_EAMBIGUOUS / BF_EINVAL with a detail. */
int bf_tokens_revoke (bf_tokens_t *self, char *id_out, const char *prefix);

#endif

/*  bf_broker_boards - board and program commands: PROGRAM, BOARDS,
    BOARD, RESERVE, RELEASE, and the checks a program job passes before it
    is created.  See docs/protocol.md section 9.
*/
#include "bf_broker_int.h"
#include "../cache/bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_report.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/*  Checks that a bitstream of `size` bytes fits the board's device, and
    (when manifest is given) that the design was built for that device.
    BF_OK, or BF_EINVAL with a one-line detail. */
int
bf_broker_board_accepts (const bf_board_row_t *board, uint64_t size, const bf_manifest_t *m)
{
    const char *name = board->name;
    const char *dev = board->device;
    const char *mdev = m ? m->device->name : NULL;
    if (mdev && strcmp (mdev, dev) != 0)
        return bf_error_set (BF_EINVAL, "board '%s' holds an %s; the design is built for "
                             "an %s", name, dev, mdev);
    uint64_t want = 0;
    if (bf_manifest_device (dev, &want) && want && size && size != want)
        return bf_error_set (BF_EINVAL, "the bitstream is %llu bytes; board '%s' holds an %s, "
                             "whose bitstream is %llu bytes", (unsigned long long) size, name,
                             dev, (unsigned long long) want);
    return BF_OK;
}

/*  bf_body_str for free text a person reads back (a holder's name, a
    reason): also refuses control characters, so none reaches a terminal. */
static int
s_body_text (const char **out, json_t *body, const char *key, size_t max_len, bool required)
{
    int rc = bf_body_str (out, body, key, max_len, required);
    if (rc != BF_OK || !*out)
        return rc;
    for (const char *p = *out; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            return bf_error_set (BF_EINVAL, "field '%s' has a control character", key);
    return BF_OK;
}

/*  The "token" field (a reservation token) as its SHA-256 into hash_out,
    or NULL when absent.  *bad is set on a malformed token. */
static const char *
s_token_hash (char *hash_out, json_t *body, bool *bad)
{
    const char *token = NULL;
    *bad = false;
    if (bf_body_str (&token, body, "token", BF_TOKEN_HEX_LEN, false) == BF_EINVAL
        || (token && (strlen (token) != BF_TOKEN_HEX_LEN
                      || strspn (token, "0123456789abcdef") != BF_TOKEN_HEX_LEN))) {
        *bad = true;
        bf_error_set (BF_EINVAL, "field 'token' must be a reservation token (%d hex "
                      "characters, from `bitfarm reserve`)", BF_TOKEN_HEX_LEN);
        return NULL;
    }
    if (!token)
        return NULL;
    bf_sha256_hex (hash_out, token, strlen (token));
    return hash_out;
}

/*  The current peer's key, NULL on a plain broker: a reservation's holder. */
static const char *
s_peer_key (bf_broker_t *self)
{
    return self->peer_key[0] ? self->peer_key : NULL;
}

/*  Creates a program job (id preset by the caller, its bitstream already
    pinned under that id when known).  BF_OK or an error with a detail. */
int
bf_broker_create_program (bf_broker_t *self, const char *id, const char *board,
                          const char *bitstream, uint64_t size, const char *after,
                          const char *token_hash, int priority, int64_t timeout_ms)
{
    /* Program jobs never coalesce (bf_jobs_create); the action, which the
       table requires, is just a digest naming this job. */
    char action[BF_SHA256_HEX_LEN + 1];
    char *seed = xasprintf ("program %s", id);
    bf_sha256_hex (action, seed, strlen (seed));
    free (seed);
    json_t *manifest = json_pack ("{s:s, s:s}", "flow", "program", "board", board);
    char leader[BF_JOB_ID_LEN + 1];
    bf_job_spec_t spec = { .id = id, .manifest = manifest, .action = action,
                           .priority = priority, .timeout_ms = timeout_ms,
                           .max_attempts = self->cfg.max_attempts, .board = board,
                           .after = after, .bitstream = bitstream, .bitstream_size = size,
                           .token_hash = token_hash };
    bf_broker_set_owner (self, &spec);
    char out[BF_JOB_ID_LEN + 1];
    int rc = bf_jobs_create (self->jobs, out, leader, &spec);
    json_decref (manifest);
    if (rc == BF_OK) {
        bf_info ("job %s queued: program board '%s'%s%s", id, board,
                 after ? " after build job " : "", after ? after : "");
        self->dispatch_needed = true;
    }
    return rc;
}

/*  The program options of a request: board (required), token, priority,
    timeout.  Replies with an error and returns NULL when one is bad; else
    returns the board's row (new; bf_board_rows_free (row, 1)). */
bf_board_row_t *
bf_broker_program_opts (bf_broker_t *self, zframe_t *rid, json_t *opts, char *hash, const char **th,
                        int64_t *priority, int64_t *timeout_ms)
{
    const char *name;
    bool bad;
    *priority = 0;
    *timeout_ms = self->cfg.program_timeout_ms;
    bf_board_row_t *board = xcalloc (1, sizeof *board);
    if (bf_body_str (&name, opts, "board", 64, true) != BF_OK
        || (*th = s_token_hash (hash, opts, &bad), bad)
        || bf_body_int (priority, opts, "priority", -1000, 1000, false) == BF_EINVAL
        || bf_body_int (timeout_ms, opts, "timeout_ms", 1000, self->cfg.job_timeout_max_ms,
                        false) == BF_EINVAL
        || bf_boards_get (self->boards, board, name) != BF_OK
        /* A token is used only by the key that reserved the board. */
        || (*th && bf_boards_check_held (self->boards, name, *th, s_peer_key (self)) != BF_OK)) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        bf_board_rows_free (board, 1);
        return NULL;
    }
    return board;
}

/*  PROGRAM {"board", "source", "token"?, "priority"?, "timeout_ms"?}: a
    job that loads a bitstream into a board.  source is {"ref": JOB|KEY}
    (a finished build's job id, or a cache key, full or prefix, among the
    jobs and entries the peer may see) or {"sha256", "size", "proof"?} of a
    bitstream uploaded first (NEED lists it when the broker lacks it, or
    when this key has not proven it holds it). */
void
bf_broker_client_program (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    char hash[BF_SHA256_HEX_LEN + 1], id[BF_JOB_ID_LEN + 1], full[BF_JOB_ID_LEN + 1];
    const char *th = NULL, *ref = NULL, *digest = NULL;
    int64_t priority, timeout_ms, size = 0;
    bf_board_row_t *board = bf_broker_program_opts (self, rid, msg->body, hash, &th, &priority,
                                                    &timeout_ms);
    if (!board)
        return;
    json_t *src = json_object_get (msg->body, "source"), *entry = NULL;
    bf_job_t *job = NULL;
    bf_manifest_t m;
    bf_manifest_init (&m);
    bool known = false;   /* m holds the design's manifest */
    char bits[BF_SHA256_HEX_LEN + 1] = "";
    if (!json_is_object (src)
        || bf_body_str (&ref, src, "ref", BF_SHA256_HEX_LEN, false) == BF_EINVAL
        || bf_body_str (&digest, src, "sha256", BF_SHA256_HEX_LEN, false) == BF_EINVAL
        || (!ref && (!digest || !bf_sha256_is_hex (digest)
                     || bf_body_int (&size, src, "size", 1, BF_MAX_FILE_SIZE, true) != BF_OK))) {
        bf_broker_error (self, rid, "field 'source' must be {\"ref\": JOB or CACHE_KEY} or "
                         "{\"sha256\", \"size\"} of an uploaded bitstream");
        goto out;
    }
    if (ref) {
        char key[BF_SHA256_HEX_LEN + 1];
        if (strlen (ref) <= BF_JOB_ID_LEN
            && bf_jobs_resolve_owned (self->jobs, full, ref, bf_broker_view (self)) == BF_OK) {
            bf_jobs_get (self->jobs, &job, full, true);
            const char *b = job->bitstream;
            if (job->state != BF_JOB_SUCCEEDED || !b) {
                bf_broker_error (self, rid, "job %s is %s; only a succeeded build has a bitstream "
                                 "to program", full,
                                 bf_job_state_name (job->state));
                goto out;
            }
            snprintf (bits, sizeof bits, "%s", b);
            known = bf_broker_job_manifest (&m, job) == BF_OK;
        }
        else if (bf_broker_entry_key (self, key, ref) == BF_OK
                 && bf_cache_get_entry (self->cache, &entry, key, true) == BF_OK
                 && json_is_string (json_object_get (entry, "bitstream"))) {
            snprintf (bits, sizeof bits, "%s",
                      json_string_value (json_object_get (entry, "bitstream")));
            known = bf_manifest_decode (&m, json_object_get (entry, "manifest")) == BF_OK;
        }
        else {
            bf_broker_error (self, rid, "'%.64s' is neither a finished build's job id nor a cache "
                             "key with a bitstream", ref);
            goto out;
        }
        char *data = NULL;
        size_t len = 0;
        if (bf_cache_get_object (self->cache, &data, &len, bits) != BF_OK) {
            bf_broker_error (self, rid, "the bitstream %.12s is no longer in the cache; build it "
                             "again", bits);
            goto out;
        }
        free (data);
        size = (int64_t) len;
    }
    else {
        snprintf (bits, sizeof bits, "%s", digest);
        int64_t stored = bf_cache_object_size (self->cache, bits);
        if (stored >= 0 && stored != size) {
            bf_broker_error (self, rid, "bitstream %.12s declares %lld bytes, but the stored "
                             "object holds %lld", bits, (long long) size, (long long) stored);
            goto out;
        }
    }
    if (bf_broker_board_accepts (board, (uint64_t) size, known ? &m : NULL) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        goto out;
    }
    if (bf_random_hex (id, BF_JOB_ID_LEN / 2) != BF_OK) {
        bf_broker_error (self, rid, "no random source for a job id");
        goto out;
    }
    json_t *pins = json_pack ("[s]", bits), *missing = NULL;
    if (!ref) {
        /* A digest alone is no bitstream: upload it, or prove it. */
        json_t *proofs = json_pack ("{s:o?}", bits, json_incref (json_object_get (src, "proof")));
        missing = bf_broker_unproven (self, pins, proofs);
        json_decref (proofs);
        if (json_array_size (missing) == 0) {
            json_decref (missing);
            missing = NULL;
        }
    }
    /* Unproven, or not stored: NEED (and the upload it allows). */
    int prc = missing ? BF_ENOTFOUND : bf_cache_pin (self->cache, id, pins, NULL, &missing);
    json_decref (pins);
    if (prc == BF_ENOTFOUND) {
        /* Only what NEED lists may be uploaded (bf_uploads.h). */
        json_t *sizes = json_pack ("{s:I}", bits, (json_int_t) size);
        bf_broker_need (self, rid, missing, sizes);
        json_decref (sizes);
        goto out;
    }
    json_decref (missing);
    if (prc != BF_OK
        || bf_broker_create_program (self, id, board->name, bits, (uint64_t) size, NULL, th,
                                     (int) priority, timeout_ms) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        bf_cache_unpin (self->cache, id);
        goto out;
    }
    json_t *taken = json_pack ("[s]", bits);
    bf_uploads_taken (self->uploads, bf_broker_upload_client (self, NULL), taken);
    json_decref (taken);
    bf_broker_reply_job (self, rid, id, NULL);
out:
    bf_manifest_release (&m);
    json_decref (entry);
    bf_job_free (job);
    bf_board_rows_free (board, 1);
}

/*  A board row as clients see it (the BOARDS object of docs/protocol.md
    section 9): the derived state, the holder's key name, no token hash
    or key; the ids of other owners' jobs are null for a non-admin. */
json_t *
bf_broker_board_view (bf_broker_t *self, const bf_board_row_t *b)
{
    int64_t now = bf_now_ms ();
    char busy[BF_JOB_ID_LEN + 1];
    bf_broker_worker_t *w = bf_broker_board_owner (self, b->name);
    bool reserved = bf_boards_reserved (b, now);
    const char *state = b->health != BF_HEALTH_OK ? bf_health_name (b->health)
                        : !w ? "offline"
                        : bf_jobs_board_job (self->jobs, busy, b->name) == BF_OK ? "busy"
                        : reserved ? "reserved" : "idle";
    char when[40];
    json_t *o = json_pack ("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:s, s:s?, s:i, s:s?, "
                           "s:s?, s:s, s:s?}",
                           "name", b->name, "worker", b->worker, "family", b->family,
                           "device", b->device, "package", b->package, "cable", b->cable,
                           "virtual", b->is_virtual, "health", bf_health_name (b->health),
                           "health_reason", b->health_reason, "failures", b->failures,
                           "reserved_by", reserved ? b->reserved_by : NULL,
                           "reserved_until", reserved ? bf_time_iso (when, sizeof when,
                                                                     b->reserved_until) : NULL,
                           "state", state, "last_job",
                           b->last_job && bf_broker_job_visible (self, b->last_job)
                           ? b->last_job : NULL);
    json_object_set_new (o, "job", strcmp (state, "busy") == 0
                         && bf_broker_job_visible (self, busy) ? json_string (busy) : json_null ());
    json_object_set_new (o, "holder", reserved && b->reserved_key_name
                         ? json_string (b->reserved_key_name) : json_null ());
    return o;
}

/*  RESERVE {"board" | "device", "ttl_ms", "by"}: a lease on a board, with a
    fresh token, held by the asking key ("by" is a label).  Replies
    {"board", "token", "reserved_by", "holder", "reserved_until", "ttl_ms"},
    or ERROR {"error", "busy": true} when none is free now. */
void
bf_broker_client_reserve (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *name = NULL, *device = NULL, *by = NULL;
    int64_t ttl = 15 * 60 * 1000;
    if (bf_body_str (&name, msg->body, "board", 64, false) == BF_EINVAL
        || bf_body_str (&device, msg->body, "device", 16, false) == BF_EINVAL
        || s_body_text (&by, msg->body, "by", 64, true) != BF_OK
        || bf_body_int (&ttl, msg->body, "ttl_ms", 1000, 24 * 3600 * 1000, false) == BF_EINVAL
        || (!name == !device
            && bf_error_set (BF_EINVAL, "give exactly one of 'board' and 'device'"))) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    char token[BF_TOKEN_HEX_LEN + 1], hash[BF_SHA256_HEX_LEN + 1];
    if (bf_random_hex (token, BF_TOKEN_HEX_LEN / 2) != BF_OK) {
        bf_broker_error (self, rid, "no random source for a token");
        return;
    }
    bf_sha256_hex (hash, token, strlen (token));
    int64_t now = bf_now_ms ();
    size_t n = 0;
    bf_board_row_t *all = bf_boards_all (self->boards, &n);
    int rc = BF_ENOTFOUND, candidates = 0;
    char *why = NULL;
    const char *got = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *bn = all[i].name;
        if (name ? strcmp (bn, name) != 0 : strcmp (all[i].device, device) != 0)
            continue;
        candidates++;
        if (!name && !bf_broker_board_owner (self, bn))
            continue;                               /* by device: only boards online now */
        bf_board_holder_t holder = { .key = s_peer_key (self), .key_name = self->peer_name,
                                     .by = by };
        rc = bf_boards_reserve (self->boards, bn, &holder, hash, ttl, now);
        if (rc == BF_OK) {
            got = bn;
            break;
        }
        free (why);
        why = xstrdup (bf_error_last ());
    }
    if (got) {
        bf_board_row_t row;
        bf_boards_get (self->boards, &row, got);
        json_t *v = bf_broker_board_view (self, &row);
        json_t *body = json_pack ("{s:s, s:s, s:s, s:O, s:O, s:I}", "board", got, "token", token,
                                  "reserved_by", by, "holder", json_object_get (v, "holder"),
                                  "reserved_until",
                                  json_object_get (v, "reserved_until"), "ttl_ms",
                                  (json_int_t) ttl);
        bf_info ("board '%s' reserved by key '%s' (label '%s') for %lld ms", got,
                 self->peer_name, by, (long long) ttl);
        bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
        json_decref (body);
        json_decref (v);
        bf_board_row_release (&row);
    }
    else {
        char *text = candidates == 0
                     ? (name ? xasprintf ("no board named '%.40s' (see `bitfarm boards`)", name)
                             : xasprintf ("no board holds an %.16s", device))
                     : why ? xstrdup (why)
                     : xasprintf ("no board with an %.16s is online", device);
        json_t *body = json_pack ("{s:s, s:b, s:s}", "error", text, "busy", candidates > 0,
                                  "class", candidates > 0 ? "busy" : "usage");
        bf_broker_reply (self, rid, BF_PROTO_CLIENT, "ERROR", body, NULL);
        json_decref (body);
        free (text);
    }
    free (why);
    bf_board_rows_free (all, n);
}

/*  RELEASE {"board", "token"}: ends the lease, if that token holds it and
    the asking key is the one that reserved it. */
void
bf_broker_client_release (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *name;
    char hash[BF_SHA256_HEX_LEN + 1];
    bool bad;
    const char *th = s_token_hash (hash, msg->body, &bad);
    if (bf_body_str (&name, msg->body, "board", 64, true) != BF_OK || bad
        || (!th && bf_error_set (BF_EINVAL, "field 'token' is required"))
        || bf_boards_release (self->boards, name, th, s_peer_key (self)) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    bf_info ("board '%s' released", name);
    self->dispatch_needed = true;
    json_t *body = json_pack ("{s:s, s:b}", "board", name, "released", 1);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}

/*  BOARD {"board", "health": "ok" | "maintenance", "reason"?}: an
    operator (an admin key: the command table) enables a board (clearing
    error) or takes it out of service. */
void
bf_broker_client_board (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *name, *health, *reason = NULL;
    if (bf_body_str (&name, msg->body, "board", 64, true) != BF_OK
        || bf_body_str (&health, msg->body, "health", 16, true) != BF_OK
        || s_body_text (&reason, msg->body, "reason", 200, false) == BF_EINVAL
        || ((strcmp (health, "ok") && strcmp (health, "maintenance"))
            && bf_error_set (BF_EINVAL, "field 'health' must be ok or maintenance, not '%.20s'",
                             health))
        || bf_boards_set_health (self->boards, name, health,
                                 reason ? reason : "set by an operator") != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    bf_info ("board '%s' set to %s%s%s", name, health, reason ? ": " : "", reason ? reason : "");
    self->dispatch_needed = true;
    bf_board_row_t row;
    bf_boards_get (self->boards, &row, name);
    json_t *v = bf_broker_board_view (self, &row);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", v, NULL);
    json_decref (v);
    bf_board_row_release (&row);
}

void
bf_broker_client_boards (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    size_t n = 0;
    bf_board_row_t *all = bf_boards_all (self->boards, &n);
    json_t *arr = json_array ();
    for (size_t i = 0; i < n; i++)
        json_array_append_new (arr, bf_broker_board_view (self, &all[i]));
    json_t *body = json_pack ("{s:o}", "boards", arr);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
    bf_board_rows_free (all, n);
}

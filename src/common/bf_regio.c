/*  bf_regio - see bf_regio.h. */
#include "bf_regio.h"
#include "bf_error.h"
#include "bf_util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_kinds[] = { "read", "write", "poll", "ident" };

const char *
bf_regio_kind_name (bf_regio_kind_t kind)
{
    return (unsigned) kind < 4 ? s_kinds[kind] : "?";
}

void
bf_regio_batch_init (bf_regio_batch_t *b)
{
    memset (b, 0, sizeof *b);
}

void
bf_regio_batch_release (bf_regio_batch_t *b)
{
    for (size_t i = 0; b && i < b->n; i++)
        free (b->ops[i].words);
    if (b)
        free (b->ops);
    bf_regio_batch_init (b);
}

bool
bf_regio_class_valid (const char *name)
{
    return name && (strcmp (name, BF_REGIO_CLASS_USAGE) == 0
                    || strcmp (name, BF_REGIO_CLASS_DESIGN) == 0
                    || strcmp (name, BF_REGIO_CLASS_INFRA) == 0);
}

int
bf_regio_check_addr (int64_t addr, int64_t count, bool fixed, const char *what)
{
    if (addr < 0)
        return bf_error_set (BF_EINVAL, "address %" PRId64 " is negative", addr);
    if (addr > (int64_t) UINT32_MAX)
        return bf_error_set (BF_EINVAL, "address 0x%" PRIx64 " is out of range (the bus has "
                             "32-bit addresses)", addr);
    if (addr % 4 != 0)
        return bf_error_set (BF_EINVAL, "address 0x%" PRIx64 " is not 4-byte aligned", addr);
    if (count < 1 || count > BF_REGIO_OP_WORDS_MAX)
        return bf_error_set (BF_EINVAL, "count %" PRId64 " is out of range (1..%d words per "
                             "operation)", count, BF_REGIO_OP_WORDS_MAX);
    if (!fixed && addr + 4 * count - 1 > (int64_t) UINT32_MAX)
        return bf_error_set (BF_EINVAL, "a %s of %" PRId64 " words at 0x%" PRIx64 " passes the "
                             "end of the address space", what, count, addr);
    return BF_OK;
}

static bf_regio_op_t *
s_push (bf_regio_batch_t *b, bf_regio_kind_t kind, uint32_t addr, uint32_t count)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->ops = xrealloc (b->ops, b->cap * sizeof *b->ops);
    }
    bf_regio_op_t *op = &b->ops[b->n++];
    memset (op, 0, sizeof *op);
    op->kind = kind;
    op->addr = addr;
    op->count = count;
    if (kind == BF_REGIO_READ || kind == BF_REGIO_WRITE)
        b->words += count;
    return op;
}

static int
s_room (const bf_regio_batch_t *b, int64_t words)
{
    if (b->n >= BF_REGIO_OPS_MAX)
        return bf_error_set (BF_ETOOBIG, "more than %d operations in one request",
                             BF_REGIO_OPS_MAX);
    if ((int64_t) b->words + words > BF_REGIO_WORDS_MAX)
        return bf_error_set (BF_ETOOBIG, "more than %d words in one request (reads and writes "
                             "together)", BF_REGIO_WORDS_MAX);
    return BF_OK;
}

int
bf_regio_add_read (bf_regio_batch_t *b, int64_t addr, int64_t count, bool fixed)
{
    int rc = bf_regio_check_addr (addr, count, fixed, "read");
    if (rc == BF_OK)
        rc = s_room (b, count);
    if (rc != BF_OK)
        return rc;
    bf_regio_op_t *op = s_push (b, BF_REGIO_READ, (uint32_t) addr, (uint32_t) count);
    op->fixed = fixed;
    return BF_OK;
}

int
bf_regio_add_write (bf_regio_batch_t *b, int64_t addr, const uint32_t *words, int64_t count,
                    bool fixed)
{
    int rc = bf_regio_check_addr (addr, count, fixed, "write");
    if (rc == BF_OK)
        rc = s_room (b, count);
    if (rc != BF_OK)
        return rc;
    bf_regio_op_t *op = s_push (b, BF_REGIO_WRITE, (uint32_t) addr, (uint32_t) count);
    op->fixed = fixed;
    op->words = xmalloc ((size_t) count * sizeof (uint32_t));
    memcpy (op->words, words, (size_t) count * sizeof (uint32_t));
    return BF_OK;
}

int
bf_regio_add_poll (bf_regio_batch_t *b, int64_t addr, uint32_t mask, uint32_t value,
                   int64_t timeout_ms)
{
    int rc = bf_regio_check_addr (addr, 1, true, "poll");
    if (rc == BF_OK && (timeout_ms < 1 || timeout_ms > BF_REGIO_POLL_MAX_MS))
        rc = bf_error_set (BF_EINVAL, "poll timeout %" PRId64 " ms is out of range (1..%d ms)",
                           timeout_ms, BF_REGIO_POLL_MAX_MS);
    if (rc == BF_OK && (value & ~mask))
        rc = bf_error_set (BF_EINVAL, "poll value 0x%08" PRIx32 " has bits outside mask 0x%08"
                           PRIx32 ": it can never match", value, mask);
    if (rc == BF_OK)
        rc = s_room (b, 0);
    if (rc != BF_OK)
        return rc;
    bf_regio_op_t *op = s_push (b, BF_REGIO_POLL, (uint32_t) addr, 1);
    op->mask = mask;
    op->value = value;
    op->timeout_ms = (uint32_t) timeout_ms;
    return BF_OK;
}

int
bf_regio_add_ident (bf_regio_batch_t *b)
{
    int rc = s_room (b, 0);
    if (rc == BF_OK)
        s_push (b, BF_REGIO_IDENT, 0, 1);
    return rc;
}

/*  Words to and from big-endian bytes. */
static zframe_t *
s_words_frame (const uint32_t *w, size_t n)
{
    zframe_t *f = zframe_new (NULL, n * 4);
    uint8_t *p = zframe_data (f);
    for (size_t i = 0; i < n; i++)
        bf_be32_put (p + 4 * i, w[i]);
    return f;
}

static void
s_frame_words (uint32_t *w, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w[i] = bf_be32_get (p + 4 * i);
}

void
bf_regio_encode_request (json_t **ops_out, zmsg_t **blobs_out, const bf_regio_batch_t *b)
{
    json_t *ops = json_array ();
    zmsg_t *blobs = zmsg_new ();
    for (size_t i = 0; i < b->n; i++) {
        const bf_regio_op_t *op = &b->ops[i];
        json_t *o = json_pack ("{s:s}", "op", bf_regio_kind_name (op->kind));
        if (op->kind != BF_REGIO_IDENT)
            json_object_set_new (o, "addr", json_integer (op->addr));
        if (op->kind == BF_REGIO_READ || op->kind == BF_REGIO_WRITE) {
            json_object_set_new (o, "count", json_integer (op->count));
            if (op->fixed)
                json_object_set_new (o, "fixed", json_true ());
        }
        if (op->kind == BF_REGIO_WRITE) {
            zframe_t *f = s_words_frame (op->words, op->count);
            zmsg_append (blobs, &f);
        }
        if (op->kind == BF_REGIO_POLL) {
            json_object_set_new (o, "mask", json_integer (op->mask));
            json_object_set_new (o, "value", json_integer (op->value));
            json_object_set_new (o, "timeout_ms", json_integer (op->timeout_ms));
        }
        json_array_append_new (ops, o);
    }
    *ops_out = ops;
    *blobs_out = blobs;
}

/*  An integer field of o in [min, max] into *out; false when missing or
    out of range. */
static bool
s_int (int64_t *out, json_t *o, const char *key, int64_t min, int64_t max)
{
    json_t *v = json_object_get (o, key);
    if (!json_is_integer (v) || json_integer_value (v) < min || json_integer_value (v) > max)
        return false;
    *out = json_integer_value (v);
    return true;
}

/*  A u32 field (0..2^32-1), or an error naming it. */
static int
s_u32 (uint32_t *out, json_t *o, const char *key, size_t i)
{
    int64_t v;
    if (!s_int (&v, o, key, 0, UINT32_MAX))
        return bf_error_set (BF_EINVAL, "ops[%zu]: '%s' must be an integer 0..4294967295", i,
                             key);
    *out = (uint32_t) v;
    return BF_OK;
}

int
bf_regio_decode_request (bf_regio_batch_t *out, json_t *ops, zmsg_t *blobs)
{
    bf_regio_batch_init (out);
    int rc = BF_OK;
    if (!json_is_array (ops) || json_array_size (ops) == 0)
        return bf_error_set (BF_EINVAL, "field 'ops' must be a non-empty array of operations");
    if (json_array_size (ops) > BF_REGIO_OPS_MAX)
        return bf_error_set (BF_ETOOBIG, "%zu operations in one request, limit %d",
                             json_array_size (ops), BF_REGIO_OPS_MAX);
    zframe_t *blob = blobs ? zmsg_first (blobs) : NULL;
    size_t i;
    json_t *o;
    json_array_foreach (ops, i, o) {
        const char *name = json_string_value (json_object_get (o, "op"));
        int kind = -1;
        for (int k = 0; name && k < 4; k++)
            if (strcmp (name, s_kinds[k]) == 0)
                kind = k;
        if (!json_is_object (o) || kind < 0) {
            rc = bf_error_set (BF_EINVAL, "ops[%zu]: 'op' must be read, write, poll or ident",
                               i);
            goto out;
        }
        json_t *fx = json_object_get (o, "fixed");
        if (fx && !json_is_boolean (fx)) {
            rc = bf_error_set (BF_EINVAL, "ops[%zu]: 'fixed' must be true or false", i);
            goto out;
        }
        bool fixed = json_is_true (fx);
        int64_t addr = 0, count = 0;
        json_t *av = json_object_get (o, "addr"), *cv = json_object_get (o, "count");
        if (kind != BF_REGIO_IDENT && !json_is_integer (av)) {
            rc = bf_error_set (BF_EINVAL, "ops[%zu]: 'addr' must be an integer", i);
            goto out;
        }
        addr = json_integer_value (av);
        if (kind == BF_REGIO_READ || kind == BF_REGIO_WRITE) {
            if (!json_is_integer (cv)) {
                rc = bf_error_set (BF_EINVAL, "ops[%zu]: 'count' must be an integer", i);
                goto out;
            }
            count = json_integer_value (cv);
        }
        if (kind == BF_REGIO_READ)
            rc = bf_regio_add_read (out, addr, count, fixed);
        else if (kind == BF_REGIO_WRITE) {
            /* the count is checked before the blob's size is */
            rc = bf_regio_check_addr (addr, count, fixed, "write");
            if (rc == BF_OK && (!blob || zframe_size (blob) != (size_t) count * 4))
                rc = bf_error_set (BF_EINVAL, "a write of %" PRId64 " words needs a "
                                   "blob of %" PRId64 " bytes (got %s%zu)", count, count * 4,
                                   blob ? "" : "none, ", blob ? zframe_size (blob) : 0);
            if (rc == BF_OK) {
                uint32_t *w = xmalloc ((size_t) count * 4);
                s_frame_words (w, zframe_data (blob), (size_t) count);
                rc = bf_regio_add_write (out, addr, w, count, fixed);
                free (w);
                blob = zmsg_next (blobs);
            }
        }
        else if (kind == BF_REGIO_POLL) {
            uint32_t mask = 0, value = 0;
            int64_t tmo = 0;
            if ((rc = s_u32 (&mask, o, "mask", i)) != BF_OK
                || (rc = s_u32 (&value, o, "value", i)) != BF_OK)
                goto out;
            if (!s_int (&tmo, o, "timeout_ms", INT64_MIN, INT64_MAX)) {
                rc = bf_error_set (BF_EINVAL, "ops[%zu]: 'timeout_ms' must be an integer", i);
                goto out;
            }
            rc = bf_regio_add_poll (out, addr, mask, value, tmo);
        }
        else
            rc = bf_regio_add_ident (out);
        if (rc != BF_OK) {
            rc = bf_error_set (rc, "ops[%zu]: %s", i, bf_error_last ());
            goto out;
        }
    }
    size_t writes = 0;
    for (size_t k = 0; k < out->n; k++)
        writes += out->ops[k].kind == BF_REGIO_WRITE;
    if (blob)
        rc = bf_error_set (BF_EINVAL, "%zu blobs for the %zu write(s) of the request",
                           zmsg_size (blobs), writes);
out:
    if (rc != BF_OK)
        bf_regio_batch_release (out);
    return rc;
}

void
bf_regio_encode_results (json_t **results_out, zmsg_t **blobs_out, const bf_regio_batch_t *b)
{
    json_t *res = json_array ();
    zmsg_t *blobs = zmsg_new ();
    for (size_t i = 0; i < b->n; i++) {
        const bf_regio_op_t *op = &b->ops[i];
        json_t *o = json_pack ("{s:s}", "op", bf_regio_kind_name (op->kind));
        if (op->kind == BF_REGIO_READ) {
            zframe_t *f = s_words_frame (op->words, op->count);
            zmsg_append (blobs, &f);
        }
        else if (op->kind == BF_REGIO_POLL) {
            json_object_set_new (o, "value", json_integer (op->got));
            json_object_set_new (o, "polls", json_integer (op->polls));
            json_object_set_new (o, "ms", json_integer (op->ms));
        }
        else if (op->kind == BF_REGIO_IDENT) {
            json_object_set_new (o, "magic", json_integer (op->magic));
            json_object_set_new (o, "version", json_integer (op->version));
            json_object_set_new (o, "user_id", json_integer (op->user_id));
            json_object_set_new (o, "status", json_integer (op->status));
        }
        json_array_append_new (res, o);
    }
    *results_out = res;
    *blobs_out = blobs;
}

int
bf_regio_decode_results (bf_regio_batch_t *b, json_t *results, zmsg_t *blobs)
{
    if (!json_is_array (results) || json_array_size (results) != b->n)
        return bf_error_set (BF_EPROTO, "'results' must be an array of %zu results, one per "
                             "operation", b->n);
    zframe_t *blob = blobs ? zmsg_first (blobs) : NULL;
    for (size_t i = 0; i < b->n; i++) {
        bf_regio_op_t *op = &b->ops[i];
        json_t *o = json_array_get (results, i);
        const char *name = json_string_value (json_object_get (o, "op"));
        if (!name || strcmp (name, bf_regio_kind_name (op->kind)) != 0)
            return bf_error_set (BF_EPROTO, "results[%zu] is not the %s the request asked for",
                                 i, bf_regio_kind_name (op->kind));
        int64_t v[4];
        if (op->kind == BF_REGIO_READ) {
            if (!blob || zframe_size (blob) != (size_t) op->count * 4)
                return bf_error_set (BF_EPROTO, "results[%zu]: a read of %u words needs a blob "
                                     "of %u bytes (got %s%zu)", i, op->count, op->count * 4,
                                     blob ? "" : "none, ", blob ? zframe_size (blob) : 0);
            free (op->words);
            op->words = xmalloc ((size_t) op->count * 4);
            s_frame_words (op->words, zframe_data (blob), op->count);
            blob = zmsg_next (blobs);
        }
        else if (op->kind == BF_REGIO_POLL) {
            if (!s_int (&v[0], o, "value", 0, UINT32_MAX)
                || !s_int (&v[1], o, "polls", 1, UINT32_MAX)
                || !s_int (&v[2], o, "ms", 0, BF_REGIO_TIMEOUT_MAX_MS)
                || ((uint32_t) v[0] & op->mask) != op->value)
                return bf_error_set (BF_EPROTO, "results[%zu]: a poll's value, polls and ms "
                                     "must be in range, and the value must match", i);
            op->got = (uint32_t) v[0];
            op->polls = (uint32_t) v[1];
            op->ms = (uint32_t) v[2];
        }
        else if (op->kind == BF_REGIO_IDENT) {
            if (!s_int (&v[0], o, "magic", 0, UINT32_MAX)
                || !s_int (&v[1], o, "version", 0, UINT32_MAX)
                || !s_int (&v[2], o, "user_id", 0, UINT32_MAX)
                || !s_int (&v[3], o, "status", 0, 255))
                return bf_error_set (BF_EPROTO, "results[%zu]: an ident's magic, version, "
                                     "user_id and status must be in range", i);
            op->magic = (uint32_t) v[0];
            op->version = (uint32_t) v[1];
            op->user_id = (uint32_t) v[2];
            op->status = (uint8_t) v[3];
        }
    }
    if (blob)
        return bf_error_set (BF_EPROTO, "more blobs than the reads of the request");
    return BF_OK;
}

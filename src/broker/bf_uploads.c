/*  bf_uploads - see bf_uploads.h. */
#include "bf_uploads.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t size;               /* declared bytes */
    int64_t expires_at;         /* monotonic ms */
    bool stored;                /* uploaded */
} s_record_t;

typedef struct {
    zhashx_t *records;          /* digest -> s_record_t */
    int64_t bytes;              /* sum of the records' sizes */
} s_client_t;

struct _bf_uploads_t {
    zhashx_t *clients;          /* client -> s_client_t */
    int64_t quota, grace_ms;
};

static void
s_client_destroy (void **item)
{
    s_client_t *c = *item;
    if (c) {
        zhashx_destroy (&c->records);
        free (c);
    }
    *item = NULL;
}

static void
s_record_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

bf_uploads_t *
bf_uploads_new (int64_t quota, int64_t grace_ms)
{
    bf_uploads_t *self = xcalloc (1, sizeof *self);
    self->clients = zhashx_new ();
    zhashx_set_destructor (self->clients, s_client_destroy);
    self->quota = quota > 0 ? quota : BF_UPLOADS_QUOTA_DEFAULT;
    self->grace_ms = grace_ms > 0 ? grace_ms : BF_UPLOADS_GRACE_DEFAULT;
    return self;
}

void
bf_uploads_destroy (bf_uploads_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->clients);
    free (*self_p);
    *self_p = NULL;
}

static s_client_t *
s_client (bf_uploads_t *self, const char *client, bool create)
{
    s_client_t *c = zhashx_lookup (self->clients, client);
    if (!c && create) {
        c = xcalloc (1, sizeof *c);
        c->records = zhashx_new ();
        zhashx_set_destructor (c->records, s_record_destroy);
        zhashx_insert (self->clients, client, c);
    }
    return c;
}

int
bf_uploads_expect (bf_uploads_t *self, const char *client, const char *client_name,
                   json_t *missing, json_t *sizes, int64_t now)
{
    s_client_t *c = s_client (self, client, true);
    int64_t add = 0;
    size_t fresh = 0, i;
    json_t *v;
    json_array_foreach (missing, i, v) {
        const char *d = json_string_value (v);
        if (!d || zhashx_lookup (c->records, d))
            continue;
        json_int_t size = json_integer_value (json_object_get (sizes, d));
        add += size > 0 ? size : 0;
        fresh++;
    }
    if (c->bytes + add > self->quota
        || zhashx_size (c->records) + fresh > BF_UPLOADS_RECORDS_MAX)
        return bf_error_set (BF_ETOOBIG, "upload quota of key '%s' exceeded: %lld bytes in "
                             "%zu file(s) pending or not yet used by a job, %lld more asked, "
                             "limit %lld bytes and %d files (broker --upload-quota; pending "
                             "uploads expire after --upload-grace)", client_name,
                             (long long) c->bytes, zhashx_size (c->records), (long long) add,
                             (long long) self->quota, BF_UPLOADS_RECORDS_MAX);
    json_array_foreach (missing, i, v) {
        const char *d = json_string_value (v);
        if (!d)
            continue;
        s_record_t *r = zhashx_lookup (c->records, d);
        if (!r) {
            r = xcalloc (1, sizeof *r);
            json_int_t size = json_integer_value (json_object_get (sizes, d));
            r->size = size > 0 ? size : 0;
            c->bytes += r->size;
            zhashx_insert (c->records, d, r);
        }
        r->expires_at = now + self->grace_ms;
    }
    return BF_OK;
}

int
bf_uploads_check (bf_uploads_t *self, const char *client, const char *digest, size_t len)
{
    s_client_t *c = s_client (self, client, false);
    s_record_t *r = c ? zhashx_lookup (c->records, digest) : NULL;
    if (!r)
        return bf_error_set (BF_EACCES, "upload of %.64s was not asked for: the broker stores "
                             "only inputs that a SUBMIT or PROGRAM of this key was told it "
                             "needs (NEED)", digest);
    if ((int64_t) len != r->size)
        return bf_error_set (BF_EINVAL, "upload of %.64s is %zu bytes, but the manifest "
                             "declared %lld", digest, len, (long long) r->size);
    return BF_OK;
}

void
bf_uploads_stored (bf_uploads_t *self, const char *client, const char *digest)
{
    s_client_t *c = s_client (self, client, false);
    s_record_t *r = c ? zhashx_lookup (c->records, digest) : NULL;
    if (r)
        r->stored = true;
}

void
bf_uploads_taken (bf_uploads_t *self, const char *client, json_t *digests)
{
    s_client_t *c = s_client (self, client, false);
    if (!c)
        return;
    size_t i;
    json_t *v;
    json_array_foreach (digests, i, v) {
        const char *d = json_string_value (v);
        s_record_t *r = d ? zhashx_lookup (c->records, d) : NULL;
        if (r) {
            c->bytes -= r->size;
            zhashx_delete (c->records, d);
        }
    }
}

json_t *
bf_uploads_expire (bf_uploads_t *self, int64_t now)
{
    json_t *gone = json_array (), *empty = json_array ();
    for (s_client_t *c = zhashx_first (self->clients); c; c = zhashx_next (self->clients)) {
        json_t *ended = json_array ();
        for (s_record_t *r = zhashx_first (c->records); r; r = zhashx_next (c->records))
            if (now >= r->expires_at) {
                const char *d = zhashx_cursor (c->records);
                json_array_append_new (ended, json_string (d));
                if (r->stored)
                    json_array_append_new (gone, json_string (d));
            }
        size_t i;
        json_t *v;
        json_array_foreach (ended, i, v) {
            s_record_t *r = zhashx_lookup (c->records, json_string_value (v));
            c->bytes -= r->size;
            zhashx_delete (c->records, json_string_value (v));
        }
        json_decref (ended);
        if (zhashx_size (c->records) == 0)
            json_array_append_new (empty, json_string (zhashx_cursor (self->clients)));
    }
    size_t i;
    json_t *v;
    json_array_foreach (empty, i, v)
        zhashx_delete (self->clients, json_string_value (v));
    json_decref (empty);
    return gone;
}

int64_t
bf_uploads_bytes (bf_uploads_t *self, const char *client)
{
    s_client_t *c = s_client (self, client, false);
    return c ? c->bytes : 0;
}

/*  bf_broker_tenants - who may see what, on a shared CURVE broker
    (docs/security.md, "Tenants"): a non-admin client key sees only its own
    jobs, only the cache entries of its own jobs, and gets a job only for
    inputs it proved it holds (bf_proof.h).  An admin key, and every peer
    of a plain broker, sees everything.
*/
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_proof.h"
#include "../common/bf_util.h"

#include <stdlib.h>
#include <string.h>

/*  The proven set holds "KEY:DIGEST" strings; when it is full it is
    emptied (a client then proves again: it sends its proofs each time). */
#define S_PROVEN_MAX 65536

const char *
bf_broker_view (bf_broker_t *self)
{
    if (!self->auth || (self->peer_roles & BF_AUTH_ADMIN))
        return NULL;
    return self->peer_key;      /* "" (no key): owns nothing, sees nothing */
}

static char *
s_proven_key (bf_broker_t *self, const char *digest)
{
    return xasprintf ("%s:%s", self->peer_key, digest);
}

void
bf_broker_proven (bf_broker_t *self, const char *digest)
{
    if (!bf_broker_view (self) || !digest)
        return;
    if (!self->proven) {
        self->proven = zhashx_new ();
        zhashx_set_destructor (self->proven, NULL);
    }
    if (zhashx_size (self->proven) >= S_PROVEN_MAX)
        zhashx_purge (self->proven);
    char *k = s_proven_key (self, digest);
    zhashx_update (self->proven, k, (void *) "");
    free (k);
}

static bool
s_is_proven (bf_broker_t *self, const char *digest)
{
    if (!self->proven)
        return false;
    char *k = s_proven_key (self, digest);
    bool yes = zhashx_lookup (self->proven, k) != NULL;
    free (k);
    return yes;
}

json_t *
bf_broker_unproven (bf_broker_t *self, json_t *digests, json_t *proofs)
{
    json_t *out = json_array ();
    if (!bf_broker_view (self))
        return out;
    size_t i;
    json_t *v;
    json_array_foreach (digests, i, v) {
        const char *digest = json_string_value (v);
        if (!digest || s_is_proven (self, digest))
            continue;
        const char *proof = json_string_value (json_object_get (proofs, digest));
        char *data = NULL;
        size_t len = 0;
        if (proof && bf_cache_get_object (self->cache, &data, &len, digest) == BF_OK
            && bf_proof_check (proof, self->peer_key, data, len))
            bf_broker_proven (self, digest);
        else
            json_array_append_new (out, json_string (digest));
        free (data);
    }
    if (json_array_size (out) > 0)
        bf_debug ("key '%s' must upload %zu input(s) it has not proven it holds",
                  self->peer_name, json_array_size (out));
    return out;
}

int
bf_broker_entry_key (bf_broker_t *self, char *key_out, const char *prefix)
{
    const char *view = bf_broker_view (self);
    int rc = bf_cache_resolve_key (self->cache, key_out, prefix);
    if (!view || rc == BF_EINVAL)
        return rc;
    /* Within the view: the cache keys of this key's own jobs.  The
       messages are the cache's, so that nothing tells another key's entry
       from no entry. */
    rc = bf_jobs_owner_key (self->jobs, key_out, prefix, view);
    json_t *entry = NULL;
    if (rc == BF_OK && bf_cache_get_entry (self->cache, &entry, key_out, true) != BF_OK)
        rc = BF_ENOTFOUND;
    json_decref (entry);
    if (rc != BF_OK)
        return bf_error_set (rc, "cache key '%s' %s", prefix, rc == BF_EAMBIGUOUS
                             ? "matches more than one entry" : "is not in the cache");
    return BF_OK;
}

bool
bf_broker_job_visible (bf_broker_t *self, const char *id)
{
    const char *view = bf_broker_view (self);
    char full[BF_JOB_ID_LEN + 1];
    return !view || (id && bf_jobs_resolve_owned (self->jobs, full, id, view) == BF_OK
                     && strcmp (full, id) == 0);
}

static bool
s_hex (char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*  The string field `name` of obj with every job id (a run of exactly
    BF_JOB_ID_LEN lowercase hex characters) the peer may not see replaced
    by "(another key's job)". */
static void
s_mask_text (bf_broker_t *self, json_t *obj, const char *name)
{
    const char *text = json_string_value (json_object_get (obj, name));
    if (!text)
        return;
    char *out = xmalloc (strlen (text) * 2 + 1), *o = out;
    bool changed = false;
    for (const char *p = text; *p;) {
        size_t n = 0;
        while (s_hex (p[n]))
            n++;
        if (n == 0) {
            *o++ = *p++;
            continue;
        }
        char id[BF_JOB_ID_LEN + 1];
        if (n == BF_JOB_ID_LEN && (p == text || !s_hex (p[-1]))) {
            memcpy (id, p, n);
            id[n] = '\0';
            if (!bf_broker_job_visible (self, id)) {
                static const char other[] = "(another key's job)";
                memcpy (o, other, sizeof other - 1);
                o += sizeof other - 1;
                p += n;
                changed = true;
                continue;
            }
        }
        memcpy (o, p, n);
        o += n;
        p += n;
    }
    *o = '\0';
    if (changed)
        json_object_set_new (obj, name, json_string (out));
    free (out);
}

void
bf_broker_mask_job (bf_broker_t *self, json_t *job)
{
    if (!bf_broker_view (self))
        return;
    const char *leader = json_string_value (json_object_get (job, "follows"));
    if (leader && !bf_broker_job_visible (self, leader))
        json_object_set_new (job, "follows", json_null ());
    s_mask_text (self, job, "error");
    s_mask_text (self, job, "waiting_for");
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get (job, "events"), i, e)
        s_mask_text (self, e, "reason");
}

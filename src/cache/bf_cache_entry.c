/*  bf_cache_entry - see bf_cache_entry.h. */
#include "bf_cache_entry.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdlib.h>
#include <string.h>

const char *const bf_cache_entry_object_names[BF_CACHE_ENTRY_OBJECTS] = {
    "bitstream", "report", "log"
};

char **
bf_cache_entry_object (bf_cache_entry_t *e, int i)
{
    char **fields[BF_CACHE_ENTRY_OBJECTS] = { &e->bitstream, &e->report, &e->log };
    return fields[i];
}

void
bf_cache_entry_init (bf_cache_entry_t *e)
{
    memset (e, 0, sizeof *e);
}

void
bf_cache_entry_release (bf_cache_entry_t *e)
{
    free (e->key);
    free (e->action);
    free (e->toolchain);
    free (e->stage);
    free (e->error);
    free (e->bitstream);
    free (e->report);
    free (e->log);
    json_decref (e->manifest);
    bf_cache_entry_init (e);
}

const char *
bf_cache_outcome_name (bf_cache_outcome_t outcome)
{
    return outcome == BF_CACHE_SUCCEEDED ? "succeeded" : "failed";
}

int
bf_cache_outcome_parse (bf_cache_outcome_t *out, const char *name)
{
    if (name && strcmp (name, "succeeded") == 0)
        *out = BF_CACHE_SUCCEEDED;
    else if (name && strcmp (name, "failed") == 0)
        *out = BF_CACHE_FAILED;
    else
        return bf_error_set (BF_EINVAL, "bad cache entry outcome '%.40s' (want 'succeeded' "
                             "or 'failed')", name ? name : "");
    return BF_OK;
}

/*  A copy of json[field] when it is a string, else NULL. */
static char *
s_str (json_t *json, const char *field)
{
    const char *v = json_string_value (json_object_get (json, field));
    return v ? xstrdup (v) : NULL;
}

static int64_t
s_int (json_t *json, const char *field)
{
    return (int64_t) json_integer_value (json_object_get (json, field));
}

int
bf_cache_entry_from_json (bf_cache_entry_t *out, json_t *json)
{
    bf_cache_entry_init (out);
    int rc = BF_OK;
    if (!json_is_object (json)) {
        rc = bf_error_set (BF_EINVAL, "a cache entry must be a JSON object");
        goto out;
    }
    out->key = s_str (json, "key");
    out->action = s_str (json, "action");
    out->toolchain = s_str (json, "toolchain");
    out->stage = s_str (json, "stage");
    out->error = s_str (json, "error");
    for (int i = 0; i < BF_CACHE_ENTRY_OBJECTS; i++)
        *bf_cache_entry_object (out, i) = s_str (json, bf_cache_entry_object_names[i]);
    out->manifest = json_incref (json_object_get (json, "manifest"));
    out->created_at = s_int (json, "created_at");
    out->accessed_at = s_int (json, "accessed_at");
    out->hits = s_int (json, "hits");
    out->build_ms = s_int (json, "build_ms");
    if (!out->action || !out->toolchain) {
        rc = bf_error_set (BF_EINVAL, "cache entry field '%s' must be a string",
                           out->action ? "toolchain" : "action");
        goto out;
    }
    rc = bf_cache_outcome_parse (&out->outcome,
                                 json_string_value (json_object_get (json, "outcome")));
out:
    return rc;
}

static void
s_set_str (json_t *json, const char *field, const char *v)
{
    if (v)
        json_object_set_new (json, field, json_string (v));
}

json_t *
bf_cache_entry_to_json (const bf_cache_entry_t *e)
{
    json_t *json = json_object ();
    s_set_str (json, "key", e->key);
    s_set_str (json, "action", e->action);
    s_set_str (json, "toolchain", e->toolchain);
    s_set_str (json, "outcome", bf_cache_outcome_name (e->outcome));
    s_set_str (json, "stage", e->stage);
    s_set_str (json, "error", e->error);
    s_set_str (json, "bitstream", e->bitstream);
    s_set_str (json, "report", e->report);
    s_set_str (json, "log", e->log);
    json_object_set_new (json, "created_at", json_integer (e->created_at));
    json_object_set_new (json, "hits", json_integer (e->hits));
    json_object_set_new (json, "accessed_at", json_integer (e->accessed_at));
    json_object_set_new (json, "build_ms", json_integer (e->build_ms));
    json_object_set_new (json, "manifest", e->manifest ? json_incref (e->manifest) : json_object ());
    return json;
}

/*  bf_broker_cache - the cache commands over the wire, for people and CI
    jobs with no shell on the broker's host (docs/protocol.md 5.x):
        CACHESTATS   any client: aggregate numbers only (the cache's
                     counters overall and per toolchain; hits, builds and
                     the build time saved in a window, per tag and per
                     repository)
        CACHELS      any client: the entries in its view (a non-admin key:
                     those of its own jobs, docs/security.md "Tenants")
        CACHESHOW    any client: one entry in its view, with its report's
                     summary
        CACHEVERIFY, CACHEGC, CACHEEVICT, CACHEINVALIDATE
                     admins only (S_ADMIN in the command table): what
                     `bitfarm cache verify|gc|evict|invalidate --cache-dir`
                     does on the broker's own cache.
    Each runs on the broker's thread, on its bf_cache_t; verify re-reads
    every object, so it holds the loop for as long as that takes.
*/
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_report.h"
#include "../common/bf_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_LS_MAX 10000          /* entries one CACHELS may ask for */

static void
s_reply (bf_broker_t *self, zframe_t *rid, json_t *body)
{
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}

/*  CACHESTATS {"window_ms"?}: bf_cache_stats without the directory, and
    under "window" bf_jobs_cache_stats for the jobs submitted in the last
    window_ms (absent or 0: all the history the broker keeps). */
void
bf_broker_client_cache_stats (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    int64_t window = 0;
    if (bf_body_int (&window, msg->body, "window_ms", 0, INT64_MAX / 2, false) == BF_EINVAL) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    json_t *body = bf_cache_stats (self->cache);
    if (!body) {
        bf_broker_error (self, rid, "cannot read the cache's statistics: %s", bf_error_last ());
        return;
    }
    json_object_del (body, "dir");    /* the broker's host layout is not the client's business */
    int64_t since = window ? bf_now_ms () - window : 0;
    const char *view = bf_broker_view (self);
    json_t *w = bf_jobs_cache_stats (self->jobs, since, view);
    json_object_set_new (w, "window_ms", json_integer (window));
    if (json_object_get (w, "repositories"))
        json_object_set_new (w, "repositories_of", json_string (view ? "this key's jobs"
                                                                     : "every job"));
    json_object_set_new (body, "window", w);
    s_reply (self, rid, body);
}

/*  CACHELS {"limit"?}: {"entries": [as bf_cache_list]}, in the peer's view. */
void
bf_broker_client_cache_ls (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    int64_t limit = 20;
    if (bf_body_int (&limit, msg->body, "limit", 1, S_LS_MAX, false) == BF_EINVAL) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    const char *view = bf_broker_view (self);
    json_t *list;
    if (view) {
        json_t *keys = bf_jobs_owner_keys (self->jobs, view);
        list = bf_cache_list_keys (self->cache, (int) limit, keys);
        json_decref (keys);
    }
    else
        list = bf_cache_list (self->cache, (int) limit);
    s_reply (self, rid, json_pack ("{s:o}", "entries", list));
}

/*  CACHESHOW {"key"}: the entry (ENTRY's answer, with its "sources"),
    and "report_summary" (bf_report.h) when its report is in the cache. */
void
bf_broker_client_cache_show (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *prefix;
    char key[BF_SHA256_HEX_LEN + 1];
    json_t *entry = NULL;
    if (bf_body_str (&prefix, msg->body, "key", BF_SHA256_HEX_LEN, true) != BF_OK
        || bf_broker_entry_key (self, key, prefix) != BF_OK
        || bf_cache_get_entry (self->cache, &entry, key, true) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    const char *report = json_string_value (json_object_get (entry, "report"));
    char *text = NULL;
    size_t len = 0;
    if (report && bf_cache_get_object (self->cache, &text, &len, report) == BF_OK) {
        json_t *summary = bf_report_summary (text, len);
        if (summary)
            json_object_set_new (entry, "report_summary", summary);
    }
    free (text);
    /* Which commits it was built from: the viewer's jobs with this key. */
    json_object_set_new (entry, "sources", bf_jobs_key_sources (self->jobs, key,
                                                                bf_broker_view (self), 20));
    s_reply (self, rid, entry);
}

/*  An admin's maintenance command: logged with who asked. */
static void
s_done (bf_broker_t *self, zframe_t *rid, const char *what, int rc, json_t *report)
{
    if (rc != BF_OK) {
        bf_warn ("cache %s for key '%s' failed: %s", what, self->peer_name, bf_error_last ());
        bf_broker_error (self, rid, "%s", bf_error_last ());
        json_decref (report);
        return;
    }
    bf_info ("cache %s by %s", what, self->peer_key[0] ? self->peer_name : "a plain peer");
    s_reply (self, rid, report ? report : json_object ());
}

/*  CACHEVERIFY {}: {"objects", "bytes", "corrupt": [digest, ...]} */
void
bf_broker_client_cache_verify (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    json_t *report = NULL;
    int rc = bf_cache_verify (self->cache, &report);
    s_done (self, rid, "verify", rc, report);
}

/*  CACHEGC {}: bf_cache_gc with the usual grace (BF_CACHE_TEMP_AGE_MS), so
    the uploads of a submit in flight stay. */
void
bf_broker_client_cache_gc (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    json_t *report = NULL;
    int rc = bf_cache_gc (self->cache, BF_CACHE_TEMP_AGE_MS, &report);
    s_done (self, rid, "gc", rc, report);
}

/*  CACHEEVICT {"older_than_ms"?, "max_size"?} (at least one, > 0):
    {"entries", "objects", "bytes"}.  Pinned objects (live jobs) stay. */
void
bf_broker_client_cache_evict (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    int64_t older = 0, max_size = 0;
    if (bf_body_int (&older, msg->body, "older_than_ms", 0, INT64_MAX / 2, false) == BF_EINVAL
        || bf_body_int (&max_size, msg->body, "max_size", 0, INT64_MAX, false) == BF_EINVAL) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    if (!older && !max_size) {
        bf_broker_error (self, rid, "CACHEEVICT needs 'older_than_ms' or 'max_size'");
        return;
    }
    json_t *report = NULL;
    int rc = bf_cache_evict (self->cache, max_size ? (uint64_t) max_size : UINT64_MAX,
                             older ? bf_now_ms () - older : 0, &report);
    s_done (self, rid, "evict", rc, report);
}

/*  CACHEINVALIDATE {"toolchain"}: {"toolchain", "entries"} */
void
bf_broker_client_cache_invalidate (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *toolchain;
    if (bf_body_str (&toolchain, msg->body, "toolchain", BF_SHA256_HEX_LEN, true) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    json_t *report = NULL;
    int rc = bf_cache_invalidate (self->cache, toolchain, &report);
    s_done (self, rid, "invalidate", rc, report);
}

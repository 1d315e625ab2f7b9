/*  bf_broker_toolchain - which toolchain the farm's cache keys are computed
    for, and the admin commands over worker identities: TOOLCHAINS (list,
    with the default and why), SETTOOLCHAIN (an admin's choice) and
    RELEASENAME (free a worker name for another key).  The rule is in
    bf_broker_int.h (bf_broker_toolchain_default) and docs/security.md. */
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ADMIN_SETTING "default_toolchain"
#define S_AUTO_SETTING  "auto_toolchain"

/*  The identity most connected workers report, ties to the one first
    seen (its place in bf_jobs_toolchains, oldest first), into out; and
    how many workers report it.  0 when no worker is connected. */
static size_t
s_majority (bf_broker_t *self, char *out, json_t *known)
{
    size_t n = zhashx_size (self->workers), ndistinct = 0;
    if (n == 0)
        return 0;
    const char **ids = xcalloc (n, sizeof *ids);
    size_t *counts = xcalloc (n, sizeof *counts);
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w; w = zhashx_next (self->workers)) {
        size_t k = 0;
        while (k < ndistinct && strcmp (ids[k], w->toolchain) != 0)
            k++;
        if (k == ndistinct)
            ids[ndistinct++] = w->toolchain;
        counts[k]++;
    }
    size_t best = 0, best_rank = SIZE_MAX;
    for (size_t k = 0; k < ndistinct; k++) {
        size_t rank = SIZE_MAX, i;
        json_t *t;
        json_array_foreach (known, i, t)
            if (rank == SIZE_MAX
                && strcmp (json_string_value (json_object_get (t, "id")), ids[k]) == 0)
                rank = i;
        if (counts[k] > best || (counts[k] == best && rank < best_rank)) {
            best = counts[k];
            best_rank = rank;
            snprintf (out, BF_SHA256_HEX_LEN + 1, "%s", ids[k]);
        }
    }
    free (ids);
    free (counts);
    return best;
}

int
bf_broker_toolchain_default (bf_broker_t *self, char *out)
{
    if (bf_jobs_setting_get (self->jobs, out, BF_SHA256_HEX_LEN + 1, S_ADMIN_SETTING) == BF_OK)
        return BF_OK;
    json_t *known = bf_jobs_toolchains (self->jobs);
    char pick[BF_SHA256_HEX_LEN + 1];
    size_t n = s_majority (self, pick, known);
    json_decref (known);
    if (n > 0) {
        char last[BF_SHA256_HEX_LEN + 1] = "";
        bf_jobs_setting_get (self->jobs, last, sizeof last, S_AUTO_SETTING);
        if (strcmp (last, pick) != 0) {
            bf_info ("default toolchain is now %.12s: %zu connected worker(s) report it", pick, n);
            bf_jobs_setting_set (self->jobs, S_AUTO_SETTING, pick);
        }
        snprintf (out, BF_SHA256_HEX_LEN + 1, "%s", pick);
        return BF_OK;
    }
    return bf_jobs_setting_get (self->jobs, out, BF_SHA256_HEX_LEN + 1, S_AUTO_SETTING);
}

/*  TOOLCHAINS {}: every identity seen, how many connected workers report
    it, and the default with the rule that chose it. */
void
bf_broker_client_toolchains (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    json_t *known = bf_jobs_toolchains (self->jobs);
    char def[BF_SHA256_HEX_LEN + 1] = "", admin[BF_SHA256_HEX_LEN + 1] = "";
    bool by_admin = bf_jobs_setting_get (self->jobs, admin, sizeof admin, S_ADMIN_SETTING)
                    == BF_OK;
    bool have = bf_broker_toolchain_default (self, def) == BF_OK;
    size_t i;
    json_t *t;
    json_array_foreach (known, i, t) {
        const char *id = json_string_value (json_object_get (t, "id"));
        int count = 0;
        for (bf_broker_worker_t *w = zhashx_first (self->workers); w;
             w = zhashx_next (self->workers))
            count += strcmp (w->toolchain, id) == 0;
        json_object_set_new (t, "workers", json_integer (count));
        json_object_set_new (t, "default", json_boolean (have && strcmp (def, id) == 0));
    }
    json_t *body = json_pack ("{s:o, s:s}", "toolchains", known, "rule",
                              by_admin ? "admin" : zhashx_size (self->workers) ? "workers"
                                                                             : "last");
    if (have)
        json_object_set_new (body, "default", json_string (def));
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}

/*  SETTOOLCHAIN {"toolchain": ID-PREFIX | "auto"}: an admin chooses the
    default (an identity a worker has reported), or gives the choice back
    to the workers' majority. */
void
bf_broker_client_set_toolchain (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *want;
    char id[BF_SHA256_HEX_LEN + 1];
    if (bf_body_str (&want, msg->body, "toolchain", 64, true) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    if (strcmp (want, "auto") == 0) {
        if (bf_jobs_setting_set (self->jobs, S_ADMIN_SETTING, NULL) != BF_OK) {
            bf_broker_error (self, rid, "%s", bf_error_last ());
            return;
        }
        bf_info ("key '%s' gave the default toolchain back to the workers' majority",
                 self->peer_name);
    }
    else if (bf_jobs_toolchain_resolve (self->jobs, id, want) != BF_OK
             || bf_jobs_setting_set (self->jobs, S_ADMIN_SETTING, id) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    else
        bf_info ("key '%s' made %.12s the default toolchain", self->peer_name, id);
    bf_broker_client_toolchains (self, rid, msg);
}

/*  RELEASENAME {"name"}: an admin frees a worker name, so that another
    key may register under it (a worker's key was replaced). */
void
bf_broker_client_release_name (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    const char *name;
    if (bf_body_str (&name, msg->body, "name", BF_BROKER_WORKER_NAME, true) != BF_OK
        || bf_jobs_worker_release (self->jobs, name) != BF_OK) {
        bf_broker_error (self, rid, "%s", bf_error_last ());
        return;
    }
    bf_info ("key '%s' released worker name '%s'", self->peer_name, name);
    json_t *body = json_pack ("{s:s}", "released", name);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
}

/*  cmd_cache - the cache commands (cache stats, ls, show, verify, gc,
    evict, invalidate): on a cache directory, without a broker. */
#include "bf_cli.h"
#include "../common/bf_error.h"
#include "../common/bf_provenance.h"
#include "../common/bf_report.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_human_bytes (char *buf, size_t size, int64_t n)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double) n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf (buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static const char *
s_time_of (char *buf, size_t size, json_t *obj, const char *field)
{
    json_t *v = json_object_get (obj, field);
    return json_is_integer (v) ? bf_time_iso (buf, size, json_integer_value (v)) : "-";
}

/*  cache stats: entries, bytes, hits, misses, ...; overall and per toolchain */
static int
s_stats (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    int rc = BFX_OK;
    json_t *out = NULL;
    char b1[32];
    char b2[32];
    out = bf_cache_stats (cache);
    if (out && !a->json) {
        int64_t max = json_integer_value (json_object_get (out, "max_size"));
        s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
        s_human_bytes (b2, sizeof b2, max);
        printf ("cache directory  %s\n", bf_cli_str (out, "dir"));
        printf ("entries          %lld\n",
                (long long) json_integer_value (json_object_get (out, "entries")));
        printf ("objects          %lld, %s of %s\n",
                (long long) json_integer_value (json_object_get (out, "objects")), b1,
                max ? b2 : "no cap");
        printf ("hits             %lld\nmisses           %lld\nhit rate         %.1f %%\n",
                (long long) json_integer_value (json_object_get (out, "hits")),
                (long long) json_integer_value (json_object_get (out, "misses")),
                100 * json_real_value (json_object_get (out, "hit_rate")));
        printf ("evictions        %lld\ncorruptions      %lld (%lld file(s) in quarantine/)\n",
                (long long) json_integer_value (json_object_get (out, "evictions")),
                (long long) json_integer_value (json_object_get (out, "corruptions")),
                (long long) json_integer_value (json_object_get (out, "quarantined")));
        printf ("\n%-12s  %7s  %10s  %7s  %7s  %9s  %11s\n", "TOOLCHAIN", "ENTRIES", "BYTES",
                "HITS", "MISSES", "EVICTIONS", "CORRUPTIONS");
        size_t i;
        json_t *t;
        json_array_foreach (json_object_get (out, "toolchains"), i, t) {
            s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (t, "bytes")));
            const char *name = bf_cli_str (t, "toolchain");
            printf ("%-12.12s  %7lld  %10s  %7lld  %7lld  %9lld  %11lld%s\n",
                    *name ? name : "(none)",
                    (long long) json_integer_value (json_object_get (t, "entries")), b1,
                    (long long) json_integer_value (json_object_get (t, "hits")),
                    (long long) json_integer_value (json_object_get (t, "misses")),
                    (long long) json_integer_value (json_object_get (t, "evictions")),
                    (long long) json_integer_value (json_object_get (t, "corruptions")),
                    json_is_true (json_object_get (t, "disowned")) ? "  disowned" : "");
        }
    }
    *outp = out;
    return rc;
}

/*  cache ls: the N most recently used entries */
static int
s_ls (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    int rc = BFX_OK;
    json_t *out = NULL;
    char b1[32];
    char t1[40];
    out = bf_cache_list (cache, a->limit);
    if (!a->json) {
        printf ("%-16s  %-9s  %-16s  %-6s  %-12s  %5s  %10s  %s\n", "KEY", "OUTCOME", "TOP",
                "DEVICE", "TOOLCHAIN", "HITS", "SIZE", "LAST USED");
        size_t i;
        json_t *e;
        json_array_foreach (out, i, e) {
            s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (e, "size")));
            printf ("%-16.16s  %-9s  %-16.16s  %-6s  %-12.12s  %5lld  %10s  %s\n",
                    bf_cli_str (e, "key"), bf_cli_str (e, "outcome"), bf_cli_str (e, "top"),
                    bf_cli_str (e, "device"), bf_cli_str (e, "toolchain"),
                    (long long) json_integer_value (json_object_get (e, "hits")), b1,
                    s_time_of (t1, sizeof t1, e, "accessed_at"));
        }
    }
    *outp = out;
    return rc;
}

/*  cache show: one entry, with its report summary */
/*  Submit from git: the commits the entry was built from, as the job
    table of the broker in use ($BITFARM_BROKER, or the local farm if it
    runs) knows them: ENTRY's "sources".  Nothing when there is none. */
static void
s_show_sources (const bf_cli_args_t *a, json_t *out, const char *key)
{
    bf_client_t *client = bf_cli_open_existing (a);
    json_t *body = json_pack ("{s:s}", "key", key);
    bf_msg_t *reply = NULL;
    if (client && bf_client_request (client, &reply, "ENTRY", body, NULL) == BF_OK
        && json_is_array (json_object_get (reply->body, "sources")))
        json_object_set (out, "sources", json_object_get (reply->body, "sources"));
    bf_error_clear ();
    bf_msg_destroy (&reply);
    json_decref (body);
    bf_client_destroy (&client);
}

static int
s_show (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    int rc = BFX_OK;
    json_t *out = NULL;
    char t1[40];
    char t2[40];
    char key[BF_SHA256_HEX_LEN + 1];
    if (bf_cache_resolve_key (cache, key, BF_CLI_ARG (a)) != BF_OK
        || bf_cache_get_entry (cache, &out, key, true) != BF_OK)
        rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    else {
        char *report = NULL;
        size_t rlen = 0;
        const char *rd = bf_cli_str (out, "report");
        if (json_is_string (json_object_get (out, "report"))
            && bf_cache_get_object (cache, &report, &rlen, rd) == BF_OK) {
            json_t *summary = bf_report_summary (report, rlen);
            if (summary)
                json_object_set_new (out, "report_summary", summary);
        }
        s_show_sources (a, out, key);
        if (!a->json) {
            json_t *m = json_object_get (out, "manifest");
            printf ("key        %s\naction     %s\ntoolchain  %s\n", key,
                    bf_cli_str (out, "action"), bf_cli_str (out, "toolchain"));
            printf ("outcome    %s", bf_cli_str (out, "outcome"));
            if (json_is_string (json_object_get (out, "stage"))
                && strcmp (bf_cli_str (out, "outcome"), "failed") == 0)
                printf (" in %s: %s", bf_cli_text (out, "stage"), bf_cli_text (out, "error"));
            printf ("\nbuilt      %s\nlast used  %s\nhits       %lld\n",
                    s_time_of (t1, sizeof t1, out, "created_at"),
                    s_time_of (t2, sizeof t2, out, "accessed_at"),
                    (long long) json_integer_value (json_object_get (out, "hits")));
            printf ("design     top %s, %s-%s, seed %lld, flow %s\n", bf_cli_str (m, "top"),
                    bf_cli_str (m, "device"), bf_cli_str (m, "package"),
                    (long long) json_integer_value (json_object_get (m, "seed")),
                    bf_cli_str (m, "flow"));
            static const char *objs[] = { "bitstream", "report", "log" };
            for (int i = 0; i < 3; i++)
                if (json_is_string (json_object_get (out, objs[i])))
                    printf ("%-10s %s\n", objs[i], bf_cli_str (out, objs[i]));
            char *text = json_dumps (m, JSON_INDENT (2) | JSON_SORT_KEYS);
            printf ("manifest %s\n", text);
            free (text);
            size_t i;
            json_t *src;
            json_array_foreach (json_object_get (out, "sources"), i, src) {
                char line[1024], shown[4096];
                bf_provenance_line (line, sizeof line, json_object_get (src, "provenance"));
                bf_cli_escape (shown, sizeof shown, line, strlen (line), false);
                printf ("source     %s, job %.12s\n", shown, bf_cli_str (src, "job"));
            }
            if (json_object_get (out, "report_summary")) {
                printf ("report:\n");
                bf_cli_print_summary (json_object_get (out, "report_summary"));
            }
        }
        free (report);
    }
    *outp = out;
    return rc;
}

/*  cache verify: re-hash every object; exit 1 when one is corrupt */
static int
s_verify (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    int rc = BFX_OK;
    json_t *out = NULL;
    char b1[32];
    if (bf_cache_verify (cache, &out) != BF_OK)
        rc = bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
    else {
        size_t bad = json_array_size (json_object_get (out, "corrupt"));
        if (!a->json) {
            s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
            printf ("verified %lld object(s), %s intact; %zu corrupt%s\n",
                    (long long) json_integer_value (json_object_get (out, "objects")), b1,
                    bad, bad ? " (moved to quarantine/):" : "");
            size_t i;
            json_t *d;
            json_array_foreach (json_object_get (out, "corrupt"), i, d)
                printf ("  %s\n", json_string_value (d));
        }
        if (bad)
            rc = 1;
    }
    *outp = out;
    return rc;
}

/*  cache gc: orphan files, rows without files, stale temp files */
static int
s_gc (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    int rc = BFX_OK;
    json_t *out = NULL;
    char b1[32];
    if (bf_cache_gc (cache, BF_CACHE_TEMP_AGE_MS, &out) != BF_OK)
        rc = bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
    else if (!a->json) {
        s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes_freed")));
        printf ("removed %lld orphan file(s), %lld stale temp file(s) (%s), %lld row(s) "
                "without a file, %lld dangling entr(ies)\n",
                (long long) json_integer_value (json_object_get (out, "orphan_files")),
                (long long) json_integer_value (json_object_get (out, "temp_files")), b1,
                (long long) json_integer_value (json_object_get (out, "missing_files")),
                (long long) json_integer_value (json_object_get (out, "dangling_entries")));
    }
    *outp = out;
    return rc;
}

/*  cache evict: unused entries older than --older-than, or down to --max-size */
static int
s_evict (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    int rc = BFX_OK;
    json_t *out = NULL;
    char b1[32];
    int64_t cutoff = a->older_than_ms ? bf_now_ms () - a->older_than_ms : 0;
    uint64_t target = a->max_size ? (uint64_t) a->max_size : UINT64_MAX;
    if (bf_cache_evict (cache, target, cutoff, &out) != BF_OK)
        rc = bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
    else if (!a->json) {
        s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
        printf ("evicted %lld entr(ies) and %lld object(s), %s\n",
                (long long) json_integer_value (json_object_get (out, "entries")),
                (long long) json_integer_value (json_object_get (out, "objects")), b1);
    }
    *outp = out;
    return rc;
}

/*  cache invalidate: disown --toolchain ID: drop its entries, refuse new ones */
static int
s_invalidate (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    int rc = BFX_OK;
    json_t *out = NULL;
    if (bf_cache_invalidate (cache, a->toolchain, &out) != BF_OK)
        rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    else if (!a->json)
        printf ("toolchain %s disowned: %lld entr(ies) dropped; its results will not be "
                "cached\n", bf_cli_str (out, "toolchain"),
                (long long) json_integer_value (json_object_get (out, "entries")));
    *outp = out;
    return rc;
}

/*  Opens the cache, runs fn, prints what it returns with --json. */
static int
s_run (bf_cli_args_t *a, int (*fn) (const bf_cli_args_t *, bf_cache_t *, json_t **))
{
    bf_cache_t *cache = NULL;
    int rc = bf_cli_open_cache (&cache, a);
    if (rc != BFX_OK)
        return rc;
    json_t *out = NULL;
    rc = fn (a, cache, &out);
    if (out && a->json)
        bf_cli_print_json (out);
    json_decref (out);
    bf_cache_destroy (&cache);
    return rc;
}

/*  cache, with no subcommand or an unknown one */
int
bf_cmd_cache (bf_cli_args_t *a)
{
    return bf_cli_fail (BFX_USAGE, "cache needs one of stats, ls, show KEY, verify, gc, evict, "
                        "invalidate (got '%s')", BF_CLI_ARG (a) ? BF_CLI_ARG (a) : "");
}

int
bf_cmd_cache_stats (bf_cli_args_t *a)
{
    return s_run (a, s_stats);
}

int
bf_cmd_cache_ls (bf_cli_args_t *a)
{
    return s_run (a, s_ls);
}

int
bf_cmd_cache_show (bf_cli_args_t *a)
{
    if (!BF_CLI_ARG (a))
        return bf_cli_fail (BFX_USAGE, "cache show needs a cache key");
    return s_run (a, s_show);
}

int
bf_cmd_cache_verify (bf_cli_args_t *a)
{
    return s_run (a, s_verify);
}

int
bf_cmd_cache_gc (bf_cli_args_t *a)
{
    return s_run (a, s_gc);
}

int
bf_cmd_cache_evict (bf_cli_args_t *a)
{
    if (!a->older_than_ms && !a->max_size)
        return bf_cli_fail (BFX_USAGE, "cache evict needs --older-than DURATION or "
                            "--max-size SIZE");
    return s_run (a, s_evict);
}

int
bf_cmd_cache_invalidate (bf_cli_args_t *a)
{
    if (!a->toolchain)
        return bf_cli_fail (BFX_USAGE, "cache invalidate needs --toolchain ID");
    return s_run (a, s_invalidate);
}

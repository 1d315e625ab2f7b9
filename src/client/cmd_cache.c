/*  cmd_cache - the cache commands (cache stats, ls, show, verify, gc,
    evict, invalidate): over the wire against the broker (CACHESTATS,
    CACHELS, ..., docs/protocol.md), or with --cache-dir on a cache
    directory, without a broker.  Each subcommand is one row of s_subs:
    how to ask the broker, how to do it locally, how to print the answer
    (the same JSON either way). */
#include "bf_cli.h"
#include "../common/bf_error.h"
#include "../common/bf_provenance.h"
#include "../common/bf_report.h"
#include "../common/bf_util.h"

#include "bf_localfarm.h"

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

/*  A duration in ms as people read it: "1 h 02 min", "3 min 20 s", "12 s". */
static void
s_human_ms (char *buf, size_t size, int64_t ms)
{
    int64_t s = ms / 1000;
    if (s >= 3600)
        snprintf (buf, size, "%lld h %02lld min", (long long) (s / 3600),
                  (long long) (s % 3600 / 60));
    else if (s >= 60)
        snprintf (buf, size, "%lld min %02lld s", (long long) (s / 60), (long long) (s % 60));
    else
        snprintf (buf, size, "%.1f s", (double) ms / 1000);
}

static long long
s_int (json_t *obj, const char *field)
{
    return (long long) json_integer_value (json_object_get (obj, field));
}

/*  The per tag or per repository rows of a CACHESTATS window. */
static void
s_print_groups (json_t *rows, const char *title, const char *field)
{
    char b1[32], b2[32];
    printf ("\n%-32s  %6s  %6s  %8s  %14s  %14s\n", title, "BUILDS", "HITS", "HIT RATE",
            "SAVED", "BUILD TIME");
    size_t i;
    json_t *r;
    json_array_foreach (rows, i, r) {
        const char *name = bf_cli_text (r, field);
        s_human_ms (b1, sizeof b1, s_int (r, "saved_ms"));
        s_human_ms (b2, sizeof b2, s_int (r, "build_ms"));
        printf ("%-32.32s  %6lld  %6lld  %6.1f %%  %14s  %14s\n",
                *name && strcmp (name, "-") ? name : "(none)", s_int (r, "builds"),
                s_int (r, "hits"), 100 * json_real_value (json_object_get (r, "hit_rate")), b1,
                b2);
    }
}

/*  cache stats: entries, bytes, hits, misses, ...; overall and per
    toolchain; from a broker also the window, per tag and per repository */
static int
s_print_stats (const bf_cli_args_t *a, json_t *out)
{
    (void) a;
    char b1[32];
    char b2[32];
    int64_t max = json_integer_value (json_object_get (out, "max_size"));
    s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
    s_human_bytes (b2, sizeof b2, max);
    if (json_is_string (json_object_get (out, "dir")))
        printf ("cache directory  %s\n", bf_cli_str (out, "dir"));
    else
        printf ("cache            the broker's\n");
    printf ("entries          %lld\n", s_int (out, "entries"));
    printf ("objects          %lld, %s of %s\n", s_int (out, "objects"), b1, max ? b2 : "no cap");
    printf ("hits             %lld\nmisses           %lld\nhit rate         %.1f %%\n",
            s_int (out, "hits"), s_int (out, "misses"),
            100 * json_real_value (json_object_get (out, "hit_rate")));
    printf ("evictions        %lld\ncorruptions      %lld (%lld file(s) in quarantine/)\n",
            s_int (out, "evictions"), s_int (out, "corruptions"), s_int (out, "quarantined"));
    s_human_ms (b1, sizeof b1, s_int (out, "saved_ms"));
    printf ("build time saved %s (%.1f min)\n", b1,
            (double) s_int (out, "saved_ms") / 60000);
    printf ("\n%-12s  %7s  %10s  %7s  %7s  %9s  %11s  %14s\n", "TOOLCHAIN", "ENTRIES", "BYTES",
            "HITS", "MISSES", "EVICTIONS", "CORRUPTIONS", "SAVED");
    size_t i;
    json_t *t;
    json_array_foreach (json_object_get (out, "toolchains"), i, t) {
        s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (t, "bytes")));
        s_human_ms (b2, sizeof b2, s_int (t, "saved_ms"));
        const char *name = bf_cli_str (t, "toolchain");
        printf ("%-12.12s  %7lld  %10s  %7lld  %7lld  %9lld  %11lld  %14s%s\n",
                *name ? name : "(none)", s_int (t, "entries"), b1, s_int (t, "hits"),
                s_int (t, "misses"), s_int (t, "evictions"), s_int (t, "corruptions"), b2,
                json_is_true (json_object_get (t, "disowned")) ? "  disowned" : "");
    }
    json_t *w = json_object_get (out, "window");
    if (w) {
        char t1[40];
        int64_t since = json_integer_value (json_object_get (w, "since"));
        s_human_ms (b1, sizeof b1, s_int (w, "saved_ms"));
        printf ("\njobs %s%s: %lld build(s), %lld hit(s) (%.1f %%), %s of build time saved "
                "(%.1f min)\n", since ? "since " : "in the broker's history",
                since ? bf_time_iso (t1, sizeof t1, since) : "", s_int (w, "builds"),
                s_int (w, "hits"), 100 * json_real_value (json_object_get (w, "hit_rate")), b1,
                (double) s_int (w, "saved_ms") / 60000);
        s_print_groups (json_object_get (w, "tags"), "TAG", "tag");
        if (json_object_get (w, "repositories"))
            s_print_groups (json_object_get (w, "repositories"), "REPOSITORY", "repository");
    }
    return BFX_OK;
}

static int
s_local_stats (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    (void) a;
    *outp = bf_cache_stats (cache);
    return *outp ? BFX_OK : bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
}

static json_t *
s_body_stats (const bf_cli_args_t *a)
{
    return json_pack ("{s:I}", "window_ms", (json_int_t) a->since_ms);
}

/*  cache ls: the N most recently used entries */
static int
s_print_ls (const bf_cli_args_t *a, json_t *out)
{
    (void) a;
    char b1[32];
    char t1[40];
    printf ("%-16s  %-9s  %-16s  %-6s  %-12s  %5s  %10s  %s\n", "KEY", "OUTCOME", "TOP",
            "DEVICE", "TOOLCHAIN", "HITS", "SIZE", "LAST USED");
    size_t i;
    json_t *e;
    json_array_foreach (out, i, e) {
        s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (e, "size")));
        printf ("%-16.16s  %-9s  %-16.16s  %-6s  %-12.12s  %5lld  %10s  %s\n",
                bf_cli_str (e, "key"), bf_cli_str (e, "outcome"), bf_cli_text (e, "top"),
                bf_cli_str (e, "device"), bf_cli_str (e, "toolchain"), s_int (e, "hits"), b1,
                s_time_of (t1, sizeof t1, e, "accessed_at"));
    }
    return BFX_OK;
}

static int
s_local_ls (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    *outp = bf_cache_list (cache, a->limit);
    return BFX_OK;
}

static json_t *
s_body_ls (const bf_cli_args_t *a)
{
    return json_pack ("{s:i}", "limit", a->limit);
}

/*  cache show: one entry, with its report summary and the git commits
    it was built from.  With --cache-dir, those come from the job table
    of the broker in use ($BITFARM_BROKER, or the local farm if it runs):
    ENTRY's "sources".  Nothing when there is none. */
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
s_print_show (const bf_cli_args_t *a, json_t *out)
{
    (void) a;
    char t1[40];
    char t2[40];
    char b1[32];
    json_t *m = json_object_get (out, "manifest");
    printf ("key        %s\naction     %s\ntoolchain  %s\n", bf_cli_str (out, "key"),
            bf_cli_str (out, "action"), bf_cli_str (out, "toolchain"));
    printf ("outcome    %s", bf_cli_str (out, "outcome"));
    if (json_is_string (json_object_get (out, "stage"))
        && strcmp (bf_cli_str (out, "outcome"), "failed") == 0)
        printf (" in %s: %s", bf_cli_text (out, "stage"), bf_cli_text (out, "error"));
    s_human_ms (b1, sizeof b1, s_int (out, "build_ms"));
    printf ("\nbuilt      %s (in %s)\nlast used  %s\nhits       %lld\n",
            s_time_of (t1, sizeof t1, out, "created_at"),
            s_int (out, "build_ms") ? b1 : "an unknown time",
            s_time_of (t2, sizeof t2, out, "accessed_at"), s_int (out, "hits"));
    printf ("design     top %s, %s-%s, seed %lld, flow %s\n", bf_cli_text (m, "top"),
            bf_cli_str (m, "device"), bf_cli_str (m, "package"), s_int (m, "seed"),
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
    return BFX_OK;
}

static int
s_local_show (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    char key[BF_SHA256_HEX_LEN + 1];
    if (bf_cache_resolve_key (cache, key, BF_CLI_ARG (a)) != BF_OK
        || bf_cache_get_entry (cache, outp, key, true) != BF_OK)
        return bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    char *report = NULL;
    size_t rlen = 0;
    const char *rd = bf_cli_str (*outp, "report");
    if (json_is_string (json_object_get (*outp, "report"))
        && bf_cache_get_object (cache, &report, &rlen, rd) == BF_OK) {
        json_t *summary = bf_report_summary (report, rlen);
        if (summary)
            json_object_set_new (*outp, "report_summary", summary);
    }
    free (report);
    s_show_sources (a, *outp, key);
    return BFX_OK;
}

static json_t *
s_body_show (const bf_cli_args_t *a)
{
    return json_pack ("{s:s}", "key", BF_CLI_ARG (a));
}

/*  cache verify: re-hash every object; exit 1 when one is corrupt */
static int
s_print_verify (const bf_cli_args_t *a, json_t *out)
{
    char b1[32];
    size_t bad = json_array_size (json_object_get (out, "corrupt"));
    if (!a->json) {
        s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
        printf ("verified %lld object(s), %s intact; %zu corrupt%s\n", s_int (out, "objects"),
                b1, bad, bad ? " (moved to quarantine/):" : "");
        size_t i;
        json_t *d;
        json_array_foreach (json_object_get (out, "corrupt"), i, d)
            printf ("  %s\n", json_string_value (d));
    }
    return bad ? 1 : BFX_OK;
}

static int
s_local_verify (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    (void) a;
    return bf_cache_verify (cache, outp) == BF_OK
           ? BFX_OK : bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
}

/*  cache gc: orphan files, rows without files, stale temp files */
static int
s_print_gc (const bf_cli_args_t *a, json_t *out)
{
    (void) a;
    char b1[32];
    s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes_freed")));
    printf ("removed %lld orphan file(s), %lld stale temp file(s) (%s), %lld row(s) "
            "without a file, %lld dangling entr(ies)\n", s_int (out, "orphan_files"),
            s_int (out, "temp_files"), b1, s_int (out, "missing_files"),
            s_int (out, "dangling_entries"));
    return BFX_OK;
}

static int
s_local_gc (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    (void) a;
    return bf_cache_gc (cache, BF_CACHE_TEMP_AGE_MS, outp) == BF_OK
           ? BFX_OK : bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
}

/*  cache evict: unused entries older than --older-than, or down to --max-size */
static int
s_print_evict (const bf_cli_args_t *a, json_t *out)
{
    (void) a;
    char b1[32];
    s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
    printf ("evicted %lld entr(ies) and %lld object(s), %s\n", s_int (out, "entries"),
            s_int (out, "objects"), b1);
    return BFX_OK;
}

static int
s_local_evict (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    int64_t cutoff = a->older_than_ms ? bf_now_ms () - a->older_than_ms : 0;
    uint64_t target = a->max_size ? (uint64_t) a->max_size : UINT64_MAX;
    return bf_cache_evict (cache, target, cutoff, outp) == BF_OK
           ? BFX_OK : bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
}

static json_t *
s_body_evict (const bf_cli_args_t *a)
{
    return json_pack ("{s:I, s:I}", "older_than_ms", (json_int_t) a->older_than_ms,
                      "max_size", (json_int_t) a->max_size);
}

/*  cache invalidate: disown --toolchain ID: drop its entries, refuse new ones */
static int
s_print_invalidate (const bf_cli_args_t *a, json_t *out)
{
    (void) a;
    printf ("toolchain %s disowned: %lld entr(ies) dropped; its results will not be "
            "cached\n", bf_cli_str (out, "toolchain"), s_int (out, "entries"));
    return BFX_OK;
}

static int
s_local_invalidate (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp)
{
    return bf_cache_invalidate (cache, a->toolchain, outp) == BF_OK
           ? BFX_OK : bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
}

static json_t *
s_body_invalidate (const bf_cli_args_t *a)
{
    return json_pack ("{s:s}", "toolchain", a->toolchain);
}

/*  One subcommand: the broker's command and its request body (NULL: {}),
    the field of the reply that is the answer (NULL: the whole body), the
    local way on a bf_cache_t, and the printer (which returns the exit
    status of a good answer: verify's 1 for corruption, when called with
    --json too). */
typedef struct {
    const char *command;
    json_t *(*body) (const bf_cli_args_t *a);
    const char *field;
    int (*local) (const bf_cli_args_t *a, bf_cache_t *cache, json_t **outp);
    int (*print) (const bf_cli_args_t *a, json_t *out);
    bool print_json;            /* print runs with --json too (for its exit status) */
} s_sub_t;

static const s_sub_t s_sub_stats = { "CACHESTATS", s_body_stats, NULL, s_local_stats,
                                     s_print_stats, false };
static const s_sub_t s_sub_ls = { "CACHELS", s_body_ls, "entries", s_local_ls, s_print_ls,
                                  false };
static const s_sub_t s_sub_show = { "CACHESHOW", s_body_show, NULL, s_local_show, s_print_show,
                                    false };
static const s_sub_t s_sub_verify = { "CACHEVERIFY", NULL, NULL, s_local_verify,
                                      s_print_verify, true };
static const s_sub_t s_sub_gc = { "CACHEGC", NULL, NULL, s_local_gc, s_print_gc, false };
static const s_sub_t s_sub_evict = { "CACHEEVICT", s_body_evict, NULL, s_local_evict,
                                     s_print_evict, false };
static const s_sub_t s_sub_invalidate = { "CACHEINVALIDATE", s_body_invalidate, NULL,
                                          s_local_invalidate, s_print_invalidate, false };

/*  Asks the broker: BFX_OK with *outp, or the exit status, said (2 for
    the broker's refusal, e.g. a client key asking for gc; 3 when it does
    not answer). */
static int
s_remote (const bf_cli_args_t *a, const s_sub_t *sub, json_t **outp)
{
    bf_client_t *client = NULL;
    bf_msg_t *reply = NULL;
    int rc = bf_cli_open (&client, a);
    if (rc != BFX_OK)
        return rc;
    json_t *body = sub->body ? sub->body (a) : json_object ();
    int brc = bf_client_request (client, &reply, sub->command, body, NULL);
    json_decref (body);
    if (brc != BF_OK)
        rc = bf_cli_fail (bf_cli_request_exit (brc), "%s", bf_error_last ());
    else {
        json_t *v = sub->field ? json_object_get (reply->body, sub->field) : reply->body;
        *outp = json_incref (v);
        if (!v)
            rc = bf_cli_fail (BFX_INFRA, "the broker's answer to %s has no '%s'", sub->command,
                              sub->field);
    }
    bf_msg_destroy (&reply);
    bf_client_destroy (&client);
    return rc;
}

/*  Over the wire unless --cache-dir, or no broker is configured and the
    local farm is not running (then its cache directory, as before). */
static int
s_run (bf_cli_args_t *a, const s_sub_t *sub)
{
    const char *endpoint = a->broker && *a->broker ? a->broker : getenv ("BITFARM_BROKER");
    bool remote = !a->cache_dir && ((endpoint && *endpoint) || bf_localfarm_running ());
    if (!remote && a->since_ms)
        return bf_cli_fail (BFX_USAGE, "--since needs a broker: a cache directory keeps no "
                            "job history (drop --cache-dir)");
    json_t *out = NULL;
    int rc;
    if (remote)
        rc = s_remote (a, sub, &out);
    else {
        bf_cache_t *cache = NULL;
        rc = bf_cli_open_cache (&cache, a);
        if (rc == BFX_OK)
            rc = sub->local (a, cache, &out);
        bf_cache_destroy (&cache);
    }
    if (rc == BFX_OK && out) {
        if (a->json)
            bf_cli_print_json (out);
        if (!a->json || sub->print_json)
            rc = sub->print (a, out);
    }
    json_decref (out);
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
    return s_run (a, &s_sub_stats);
}

int
bf_cmd_cache_ls (bf_cli_args_t *a)
{
    return s_run (a, &s_sub_ls);
}

int
bf_cmd_cache_show (bf_cli_args_t *a)
{
    if (!BF_CLI_ARG (a))
        return bf_cli_fail (BFX_USAGE, "cache show needs a cache key");
    return s_run (a, &s_sub_show);
}

int
bf_cmd_cache_verify (bf_cli_args_t *a)
{
    return s_run (a, &s_sub_verify);
}

int
bf_cmd_cache_gc (bf_cli_args_t *a)
{
    return s_run (a, &s_sub_gc);
}

int
bf_cmd_cache_evict (bf_cli_args_t *a)
{
    if (!a->older_than_ms && !a->max_size)
        return bf_cli_fail (BFX_USAGE, "cache evict needs --older-than DURATION or "
                            "--max-size SIZE");
    return s_run (a, &s_sub_evict);
}

int
bf_cmd_cache_invalidate (bf_cli_args_t *a)
{
    if (!a->toolchain)
        return bf_cli_fail (BFX_USAGE, "cache invalidate needs --toolchain ID");
    return s_run (a, &s_sub_invalidate);
}

/*  bf_metrics - the broker's numbers for the HTTP API (docs/http.md):
    METRICS, the Prometheus text format 0.0.4 for /metrics, and FARM, the
    dashboard's summary for /api/v1/farm.  Both run on the broker loop,
    from its own state: the job table (counts and histograms over the
    history it keeps, --keep-jobs), the cache's counters (as
    CACHESTATS), the worker registry and the boards.

    The counters bitfarm_jobs_total and bitfarm_jobs_failed_total count
    the jobs the broker keeps: they fall when old jobs are removed
    (--keep-jobs), which Prometheus's rate() reads as a counter reset.
    The histograms only grow.  Both are read from tables that triggers
    keep (schema/jobs/012_history.sql), never counted over the history.
*/
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The same as job_hist_bounds (schema/jobs/012_history.sql): the
   histograms are counted in the database as jobs run, at these bounds. */
static const double s_bounds[] = { 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600 };
#define S_NBOUNDS (sizeof s_bounds / sizeof s_bounds[0])

static const char *const s_states[] = { "queued", "running", "succeeded", "failed",
                                        "cancelled", "timed_out" };
static const char *const s_classes[] = { "design", "bitstream", "infrastructure", "timeout",
                                         "cancelled" };

static json_int_t
s_int (json_t *o, const char *key)
{
    return json_integer_value (json_object_get (o, key));
}

/*  Boards by the state clients see: {state: n}. */
static json_t *
s_boards (bf_broker_t *self)
{
    size_t n = 0;
    bf_board_row_t *all = bf_boards_all (self->boards, &n);
    json_t *out = json_object ();
    for (size_t i = 0; i < n; i++) {
        json_t *v = bf_broker_board_view (self, &all[i]);
        const char *st = json_string_value (json_object_get (v, "state"));
        if (st)
            json_object_set_new (out, st, json_integer (s_int (out, st) + 1));
        json_decref (v);
    }
    bf_board_rows_free (all, n);
    return out;
}

static void
s_slots (bf_broker_t *self, int64_t *workers, int64_t *slots, int64_t *busy)
{
    *workers = *slots = *busy = 0;
    for (bf_broker_worker_t *w = zhashx_first (self->workers); w;
         w = zhashx_next (self->workers)) {
        (*workers)++;
        *slots += w->slots;
        *busy += (int64_t) w->nleases;
    }
}

/*  FARM {}: {"queued", "running", "workers", "slots", "slots_busy",
    "boards": {state: n}, "cache": {"hits", "misses", "hit_rate",
    "minutes_saved"}, "version"}; queued and running count the jobs in
    the asker's view. */
void
bf_broker_client_farm (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    json_t *states = bf_jobs_count_live (self->jobs, bf_broker_view (self));
    json_t *cache = bf_cache_stats (self->cache);
    int64_t workers, slots, busy;
    s_slots (self, &workers, &slots, &busy);
    json_t *body = json_pack ("{s:I, s:I, s:I, s:I, s:I, s:o, s:s}",
        "queued", s_int (states, "queued"), "running", s_int (states, "running"),
        "workers", (json_int_t) workers, "slots", (json_int_t) slots,
        "slots_busy", (json_int_t) busy, "boards", s_boards (self),
        "version", BF_BROKER_VERSION);
    json_object_set_new (body, "cache", json_pack ("{s:I, s:I, s:f, s:f}",
        "hits", s_int (cache, "hits"), "misses", s_int (cache, "misses"),
        "hit_rate", json_number_value (json_object_get (cache, "hit_rate")),
        "minutes_saved", (double) s_int (cache, "saved_ms") / 60000.0));
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, NULL);
    json_decref (body);
    json_decref (states);
    json_decref (cache);
}

/* ---------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
} s_text_t;

static void __attribute__ ((format (printf, 2, 3)))
s_printf (s_text_t *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start (ap, fmt);
        int n = vsnprintf (t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end (ap);
        if (n >= 0 && (size_t) n < t->cap - t->len) {
            t->len += (size_t) n;
            return;
        }
        t->cap = t->cap * 2 + (size_t) (n > 0 ? n : 0) + 256;
        t->buf = xrealloc (t->buf, t->cap);
    }
}

static void
s_head (s_text_t *t, const char *name, const char *type, const char *help)
{
    s_printf (t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
s_gauge (s_text_t *t, const char *name, const char *type, const char *help, double v)
{
    s_head (t, name, type, help);
    s_printf (t, "%s %.17g\n", name, v);
}

/*  A histogram h ({"count", "sum", "buckets"}) with labels ("" or
    `stage="synth",`). */
static void
s_histogram (s_text_t *t, const char *name, const char *labels, json_t *h)
{
    json_t *b = json_object_get (h, "buckets");
    for (size_t i = 0; i < S_NBOUNDS; i++)
        s_printf (t, "%s_bucket{%sle=\"%g\"} %lld\n", name, labels, s_bounds[i],
                  (long long) json_integer_value (json_array_get (b, i)));
    s_printf (t, "%s_bucket{%sle=\"+Inf\"} %lld\n", name, labels,
              (long long) s_int (h, "count"));
    size_t n = strlen (labels);
    s_printf (t, "%s_sum%s%.*s%s %.17g\n", name, n ? "{" : "", (int) (n ? n - 1 : 0), labels,
              n ? "}" : "", json_number_value (json_object_get (h, "sum")));
    s_printf (t, "%s_count%s%.*s%s %lld\n", name, n ? "{" : "", (int) (n ? n - 1 : 0), labels,
              n ? "}" : "", (long long) s_int (h, "count"));
}

static double
s_file_bytes (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? (double) st.st_size : 0;
}

/*  METRICS {}: OK {"size"} + the text. */
void
bf_broker_client_metrics (bf_broker_t *self, zframe_t *rid, bf_msg_t *msg)
{
    (void) msg;
    s_text_t t = { xmalloc (8192), 0, 8192 };
    json_t *states = bf_jobs_count_states (self->jobs, NULL);
    json_t *fails = bf_jobs_count_failures (self->jobs);
    json_t *hist = bf_jobs_histograms (self->jobs, s_bounds, S_NBOUNDS);
    json_t *cache = bf_cache_stats (self->cache);
    if (!cache)
        cache = json_object ();

    s_head (&t, "bitfarm_build_info", "gauge", "The broker's version.");
    s_printf (&t, "bitfarm_build_info{version=\"%s\"} 1\n", BF_BROKER_VERSION);
    s_head (&t, "bitfarm_jobs_total", "counter", "Jobs the broker keeps (--job-history), by "
            "state.");
    for (size_t i = 0; i < sizeof s_states / sizeof s_states[0]; i++)
        s_printf (&t, "bitfarm_jobs_total{state=\"%s\"} %lld\n", s_states[i],
                  (long long) s_int (states, s_states[i]));
    s_head (&t, "bitfarm_jobs_failed_total", "counter", "Finished jobs that did not succeed, "
            "by failure class.");
    for (size_t i = 0; i < sizeof s_classes / sizeof s_classes[0]; i++)
        s_printf (&t, "bitfarm_jobs_failed_total{failure_class=\"%s\"} %lld\n", s_classes[i],
                  (long long) s_int (fails, s_classes[i]));
    s_gauge (&t, "bitfarm_queue_depth", "gauge", "Jobs queued now.",
             (double) s_int (states, "queued"));
    s_gauge (&t, "bitfarm_jobs_running", "gauge", "Jobs running now.",
             (double) s_int (states, "running"));
    s_head (&t, "bitfarm_queue_wait_seconds", "histogram", "Time from submission to "
            "dispatch of the jobs that started.");
    s_histogram (&t, "bitfarm_queue_wait_seconds", "", json_object_get (hist, "queue_wait"));
    s_head (&t, "bitfarm_build_duration_seconds", "histogram", "How long each stage of a "
            "build took (synth, pnr, pack), from the jobs' stage events.");
    const char *stage;
    json_t *h;
    json_object_foreach (json_object_get (hist, "stages"), stage, h) {
        char labels[64];
        snprintf (labels, sizeof labels, "stage=\"%s\",", stage);
        s_histogram (&t, "bitfarm_build_duration_seconds", labels, h);
    }
    s_gauge (&t, "bitfarm_cache_hits_total", "counter", "Cache lookups that hit.",
             (double) s_int (cache, "hits"));
    s_gauge (&t, "bitfarm_cache_misses_total", "counter", "Cache lookups that missed.",
             (double) s_int (cache, "misses"));
    s_gauge (&t, "bitfarm_cache_bytes", "gauge", "Bytes the cache's objects take.",
             (double) s_int (cache, "bytes"));
    s_gauge (&t, "bitfarm_cache_entries", "gauge", "Entries in the cache.",
             (double) s_int (cache, "entries"));
    s_gauge (&t, "bitfarm_cache_max_bytes", "gauge", "The cache's cap (0: none).",
             (double) s_int (cache, "max_size"));
    s_gauge (&t, "bitfarm_cache_evictions_total", "counter", "Entries evicted.",
             (double) s_int (cache, "evictions"));
    s_gauge (&t, "bitfarm_cache_corruptions_total", "counter", "Objects found corrupt and "
             "quarantined.", (double) s_int (cache, "corruptions"));
    s_gauge (&t, "bitfarm_cache_seconds_saved_total", "counter", "Build time the cache hits "
             "avoided.", (double) s_int (cache, "saved_ms") / 1000.0);
    int64_t workers, slots, busy;
    s_slots (self, &workers, &slots, &busy);
    s_gauge (&t, "bitfarm_workers_connected", "gauge", "Workers registered now.",
             (double) workers);
    s_gauge (&t, "bitfarm_worker_slots", "gauge", "Build slots of the connected workers.",
             (double) slots);
    s_gauge (&t, "bitfarm_worker_slots_busy", "gauge", "Slots holding a job.", (double) busy);
    json_t *boards = s_boards (self);
    s_head (&t, "bitfarm_boards", "gauge", "Boards by state.");
    static const char *const bstates[] = { "idle", "busy", "reserved", "offline", "error",
                                           "maintenance" };
    for (size_t i = 0; i < sizeof bstates / sizeof bstates[0]; i++)
        s_printf (&t, "bitfarm_boards{state=\"%s\"} %lld\n", bstates[i],
                  (long long) s_int (boards, bstates[i]));
    json_decref (boards);
    long pages = 0, rss = 0;
    FILE *f = fopen ("/proc/self/statm", "re");
    if (f) {
        if (fscanf (f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose (f);
    }
    s_gauge (&t, "bitfarm_broker_resident_memory_bytes", "gauge", "The broker's resident "
             "memory (/proc/self/statm).", (double) rss * (double) sysconf (_SC_PAGESIZE));
    char *db = xasprintf ("%s/jobs.db", self->state_dir), *wal = xasprintf ("%s-wal", db);
    s_gauge (&t, "bitfarm_database_bytes", "gauge", "Size of the job database (jobs.db and "
             "its WAL).", s_file_bytes (db) + s_file_bytes (wal));
    free (db);
    free (wal);

    zmsg_t *blobs = zmsg_new ();
    zmsg_addmem (blobs, t.buf, t.len);
    json_t *body = json_pack ("{s:I}", "size", (json_int_t) t.len);
    bf_broker_reply (self, rid, BF_PROTO_CLIENT, "OK", body, &blobs);
    json_decref (body);
    free (t.buf);
    json_decref (states);
    json_decref (fails);
    json_decref (hist);
    json_decref (cache);
}

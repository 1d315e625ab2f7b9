/*  bench_hits - cache hits served per second by the broker (issue 20,
    goal 3), from many concurrent in-process clients, against the same
    clients asking the smallest question (a job's STATUS) in the same run.

      baseline    CLIENTS threads, each with its own libbitfarm farm handle,
                  each refreshing the status of one finished job REQS times
                  (bitfarm_job_refresh: one STATUS round trip).
      hits        the same threads each submitting the design that job
                  built REQS times (bitfarm_submit: hash the inputs, SUBMIT,
                  the broker finds the cache entry and records a succeeded
                  job, durably, before it answers).

    Prints requests/s and the p50/p99 of one request for both, the hits'
    rate as a ratio of the baseline's, and the goal (20k hits/s).

    usage: bench_hits BROKER_ENDPOINT CLIENTS REQS DIR
      DIR holds the design file (top.v), built first (noop flow, seed 0)
      on a worker the caller started. */
#include <bitfarm.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_CLIENTS_MAX 256
#define S_REQS_MAX 1000000

static const char *s_endpoint;
static long s_reqs;
static char s_top[4096];
static const char *s_dir;        /* the design's root */
static double *s_lat;           /* [client * s_reqs + i]: seconds */
static atomic_int s_failed;
static bool s_hits;             /* the run: hits, else the baseline */

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double
s_pct (const double *v, long n, double p)
{
    long i = (long) (p / 100.0 * (double) (n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void
s_fail (const char *what)
{
    const bitfarm_error *e = bitfarm_error_last ();
    fprintf (stderr, "bench_hits: %s: %s\n", what, e ? e->message : "?");
    atomic_store (&s_failed, 1);
}

static int
s_design (bitfarm_design **out)
{
    if (bitfarm_design_new (out, "top", "hx1k", "tq144") != BITFARM_OK
        || bitfarm_design_set (*out, "root", s_dir) != BITFARM_OK
        || bitfarm_design_add_file (*out, s_top) != BITFARM_OK
        || bitfarm_design_set (*out, "flow", "noop") != BITFARM_OK
        || bitfarm_design_set (*out, "delay", "0") != BITFARM_OK
        || bitfarm_design_set (*out, "seed", "0") != BITFARM_OK) {
        s_fail ("cannot make the design");
        return -1;
    }
    return 0;
}

static void *
s_client (void *arg)
{
    long c = (long) (intptr_t) arg;
    bitfarm_farm *farm = NULL;
    bitfarm_design *design = NULL;
    bitfarm_job *first = NULL;
    if (bitfarm_farm_open (&farm, s_endpoint) != BITFARM_OK
        || bitfarm_farm_set_timeout (farm, 60000) != BITFARM_OK) {
        s_fail ("cannot open the farm");
        goto out;
    }
    if (s_design (&design) != 0)
        goto out;
    if (bitfarm_submit (farm, design, NULL, &first) != BITFARM_OK) {
        s_fail ("submit");
        goto out;
    }
    if (bitfarm_job_state (first) != BITFARM_SUCCEEDED) {
        fprintf (stderr, "bench_hits: the design is not in the cache (job %s is %s)\n",
                 bitfarm_job_id (first), bitfarm_state_name (bitfarm_job_state (first)));
        atomic_store (&s_failed, 1);
        goto out;
    }
    for (long i = 0; i < s_reqs; i++) {
        double t0 = s_now ();
        if (s_hits) {
            bitfarm_job *job = NULL;
            int rc = bitfarm_submit (farm, design, NULL, &job);
            bool hit = rc == BITFARM_OK && bitfarm_job_state (job) == BITFARM_SUCCEEDED
                       && bitfarm_job_get_int (job, "cache_hit", 0) == 1;
            bitfarm_job_free (&job);
            if (!hit) {
                s_fail (rc == BITFARM_OK ? "submit was not a cache hit" : "submit");
                goto out;
            }
        }
        else if (bitfarm_job_refresh (first) != BITFARM_OK) {
            s_fail ("status");
            goto out;
        }
        s_lat[c * s_reqs + i] = s_now () - t0;
    }
out:
    bitfarm_job_free (&first);
    bitfarm_design_free (&design);
    bitfarm_farm_close (&farm);
    return NULL;
}

/*  Builds the design once (the noop flow: no tools), so that every later
    submit of it is a cache hit. */
static int
s_warm (void)
{
    bitfarm_farm *farm = NULL;
    bitfarm_design *design = NULL;
    bitfarm_job *job = NULL;
    int rc = -1;
    if (bitfarm_farm_open (&farm, s_endpoint) != BITFARM_OK || s_design (&design) != 0)
        goto out;
    if (bitfarm_submit (farm, design, NULL, &job) != BITFARM_OK
        || bitfarm_job_wait (job, 60000, NULL, NULL) != BITFARM_OK) {
        s_fail ("the first build");
        goto out;
    }
    rc = 0;
out:
    bitfarm_job_free (&job);
    bitfarm_design_free (&design);
    bitfarm_farm_close (&farm);
    return rc;
}

typedef struct {
    double per_s, p50, p99;
} s_figures_t;

static int
s_run (s_figures_t *out, int clients)
{
    pthread_t th[S_CLIENTS_MAX];
    long total = (long) clients * s_reqs;
    double t0 = s_now ();
    for (int c = 0; c < clients; c++)
        pthread_create (&th[c], NULL, s_client, (void *) (intptr_t) c);
    for (int c = 0; c < clients; c++)
        pthread_join (th[c], NULL);
    double t = s_now () - t0;
    if (atomic_load (&s_failed))
        return -1;
    qsort (s_lat, (size_t) total, sizeof *s_lat, s_cmp);
    out->per_s = (double) total / t;
    out->p50 = s_pct (s_lat, total, 50) * 1e3;
    out->p99 = s_pct (s_lat, total, 99) * 1e3;
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc != 5) {
        fprintf (stderr, "usage: bench_hits BROKER_ENDPOINT CLIENTS REQS DIR\n");
        return 2;
    }
    s_endpoint = argv[1];
    int clients = atoi (argv[2]);
    s_reqs = atol (argv[3]);
    if (clients < 1 || clients > S_CLIENTS_MAX || s_reqs < 1 || s_reqs > S_REQS_MAX) {
        fprintf (stderr, "bench_hits: clients 1..%d, requests 1..%d\n", S_CLIENTS_MAX,
                 S_REQS_MAX);
        return 2;
    }
    s_dir = argv[argc - 1];
    snprintf (s_top, sizeof s_top, "%s/top.v", argv[4]);
    s_lat = calloc ((size_t) clients * (size_t) s_reqs, sizeof *s_lat);
    s_figures_t base, hits;
    if (s_warm () != 0)
        return 1;
    s_hits = false;
    if (s_run (&base, clients) != 0)
        return 1;
    s_hits = true;
    if (s_run (&hits, clients) != 0)
        return 1;
    printf ("cache hits from %d concurrent clients, %ld requests each:\n", clients, s_reqs);
    printf ("%-34s %9.0f req/s    p50 %6.2f ms  p99 %6.2f ms\n", "baseline: STATUS round trip",
            base.per_s, base.p50, base.p99);
    printf ("%-34s %9.0f hits/s   p50 %6.2f ms  p99 %6.2f ms   x%.2f of baseline "
            "(goal 20000 hits/s: %s)\n", "submit, cache hit", hits.per_s, hits.p50, hits.p99,
            hits.per_s / base.per_s, hits.per_s >= 20000 ? "met" : "not met");
    free (s_lat);
    return 0;
}

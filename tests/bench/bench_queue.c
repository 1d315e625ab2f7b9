/*  bench_queue - durable queue throughput (issue 20, goal 2): noop jobs
    submitted -> dispatched -> done through a real broker and its workers,
    against beanstalkd (its binlog fsync'd on every write, -f 0) doing
    put -> reserve -> delete, with the same clients and workers, in the
    same run.

      bitfarm     CLIENTS threads, each an in-process client with its own
                  libbitfarm farm handle, each submitting JOBS unique noop
                  jobs (unique seeds: no cache hits, no coalescing) one at
                  a time, then waiting for every one of them to end; the
                  workers are the bitfarm-worker processes the caller
                  started (their slots are the in-flight work).
      beanstalkd  CLIENTS threads each putting JOBS jobs one at a time
                  (put waits for INSERTED, which -f 0 sends after the
                  binlog's fsync), and WORKERS threads each reserving and
                  deleting (DELETED after its fsync) until all are gone.
                  Plain sockets, written here in C as the bitfarm side is,
                  so neither pays for a slower client.

    Prints, for each side, N clients, the workers, jobs/s and the p50/p99
    of one submit (put) round trip, then bitfarm's jobs/s as a ratio of
    beanstalkd's.

    usage: bench_queue BROKER_ENDPOINT BEANSTALKD_PORT CLIENTS JOBS WORKERS DIR
      DIR holds the design file (top.v) the jobs submit. */
#include <bitfarm.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_CLIENTS_MAX 256
#define S_JOBS_MAX 100000

static const char *s_endpoint;
static int s_port;
static long s_jobs;              /* per client */
static char s_top[4096];
static const char *s_dir;        /* the design's root */
static double *s_lat;            /* [client * s_jobs + j]: seconds */
static atomic_long s_deleted;
static atomic_int s_failed;
static _Atomic double s_end;      /* when the last job was deleted (beanstalkd) */

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

/*  The p-th percentile (0..100) of n sorted samples. */
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
    fprintf (stderr, "bench_queue: %s: %s\n", what, e ? e->message : "?");
    atomic_store (&s_failed, 1);
}

/* ---------------------------------------------------------------------- */
/*  bitfarm */

static void *
s_bitfarm_client (void *arg)
{
    long c = (long) (intptr_t) arg;
    bitfarm_farm *farm = NULL;
    bitfarm_design *design = NULL;
    bitfarm_job **jobs = calloc ((size_t) s_jobs, sizeof *jobs);
    if (bitfarm_farm_open (&farm, s_endpoint) != BITFARM_OK
        || bitfarm_farm_set_timeout (farm, 60000) != BITFARM_OK) {
        s_fail ("cannot open the farm");
        goto out;
    }
    if (bitfarm_design_new (&design, "top", "hx1k", "tq144") != BITFARM_OK
        || bitfarm_design_set (design, "root", s_dir) != BITFARM_OK
        || bitfarm_design_add_file (design, s_top) != BITFARM_OK
        || bitfarm_design_set (design, "flow", "noop") != BITFARM_OK
        || bitfarm_design_set (design, "delay", "0") != BITFARM_OK) {
        s_fail ("cannot make the design");
        goto out;
    }
    for (long j = 0; j < s_jobs; j++) {
        char seed[32];
        /* unique per job and per run of the bench (the state is fresh) */
        snprintf (seed, sizeof seed, "%ld", 1 + c * s_jobs + j);
        bitfarm_design_set (design, "seed", seed);
        double t0 = s_now ();
        if (bitfarm_submit (farm, design, NULL, &jobs[j]) != BITFARM_OK) {
            s_fail ("submit");
            goto out;
        }
        s_lat[c * s_jobs + j] = s_now () - t0;
    }
    for (long j = 0; j < s_jobs; j++)
        if (bitfarm_job_wait (jobs[j], 120000, NULL, NULL) != BITFARM_OK) {
            s_fail ("wait");
            goto out;
        }
out:
    for (long j = 0; j < s_jobs; j++)
        bitfarm_job_free (&jobs[j]);
    free (jobs);
    bitfarm_design_free (&design);
    bitfarm_farm_close (&farm);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/*  beanstalkd: its text protocol over TCP (doc/protocol.txt) */

static int
s_connect (void)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) s_port) };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a) != 0) {
        fprintf (stderr, "bench_queue: cannot connect to beanstalkd on port %d: %s\n", s_port,
                 strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return fd;
}

/*  Sends cmd and reads one reply line (up to "\r\n") into line; for a
    RESERVED reply, also reads its body.  0, or -1 on a broken connection. */
static int
s_request (int fd, const char *cmd, size_t len, char *line, size_t size)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = write (fd, cmd + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t) n;
    }
    size_t have = 0;
    for (;;) {
        ssize_t n = read (fd, line + have, size - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        have += (size_t) n;
        line[have] = '\0';
        char *eol = strstr (line, "\r\n");
        if (!eol)
            continue;
        unsigned long long id;
        size_t bytes;
        if (sscanf (line, "RESERVED %llu %zu", &id, &bytes) == 2
            && have < (size_t) (eol - line) + 2 + bytes + 2)
            continue;   /* the body is still coming (it is small) */
        return 0;
    }
}

static void *
s_bean_client (void *arg)
{
    long c = (long) (intptr_t) arg;
    int fd = s_connect ();
    if (fd < 0) {
        atomic_store (&s_failed, 1);
        return NULL;
    }
    char line[256];
    for (long j = 0; j < s_jobs; j++) {
        char cmd[128];
        char body[32];
        int blen = snprintf (body, sizeof body, "%ld", 1 + c * s_jobs + j);
        int len = snprintf (cmd, sizeof cmd, "put 0 0 60 %d\r\n%s\r\n", blen, body);
        double t0 = s_now ();
        if (s_request (fd, cmd, (size_t) len, line, sizeof line) != 0
            || strncmp (line, "INSERTED ", 9) != 0) {
            fprintf (stderr, "bench_queue: beanstalkd put: %s\n", line);
            atomic_store (&s_failed, 1);
            break;
        }
        s_lat[c * s_jobs + j] = s_now () - t0;
    }
    close (fd);
    return NULL;
}

static void *
s_bean_worker (void *arg)
{
    long total = (long) (intptr_t) arg;
    int fd = s_connect ();
    if (fd < 0) {
        atomic_store (&s_failed, 1);
        return NULL;
    }
    char line[256];
    while (atomic_load (&s_deleted) < total && !atomic_load (&s_failed)) {
        static const char reserve[] = "reserve-with-timeout 1\r\n";
        if (s_request (fd, reserve, sizeof reserve - 1, line, sizeof line) != 0)
            break;
        unsigned long long id;
        if (strncmp (line, "TIMED_OUT", 9) == 0)
            continue;
        if (sscanf (line, "RESERVED %llu", &id) != 1) {
            fprintf (stderr, "bench_queue: beanstalkd reserve: %s\n", line);
            atomic_store (&s_failed, 1);
            break;
        }
        char cmd[64];
        int len = snprintf (cmd, sizeof cmd, "delete %llu\r\n", id);
        if (s_request (fd, cmd, (size_t) len, line, sizeof line) != 0
            || strncmp (line, "DELETED", 7) != 0) {
            fprintf (stderr, "bench_queue: beanstalkd delete: %s\n", line);
            atomic_store (&s_failed, 1);
            break;
        }
        if (atomic_fetch_add (&s_deleted, 1) + 1 == total)
            atomic_store (&s_end, s_now ());
    }
    close (fd);
    return NULL;
}

/* ---------------------------------------------------------------------- */

typedef struct {
    double jobs_s, p50, p99;
} s_figures_t;

static int
s_run (s_figures_t *out, int clients, int workers, bool bean)
{
    pthread_t th[S_CLIENTS_MAX * 2];
    long total = (long) clients * s_jobs;
    atomic_store (&s_deleted, 0);
    double t0 = s_now ();
    for (int c = 0; c < clients; c++)
        pthread_create (&th[c], NULL, bean ? s_bean_client : s_bitfarm_client,
                        (void *) (intptr_t) c);
    for (int w = 0; bean && w < workers; w++)
        pthread_create (&th[clients + w], NULL, s_bean_worker, (void *) (intptr_t) total);
    for (int i = 0; i < clients + (bean ? workers : 0); i++)
        pthread_join (th[i], NULL);
    /* beanstalkd: until the last delete (the other workers then wait out
       their reserve-with-timeout) */
    double t = (bean ? atomic_load (&s_end) : s_now ()) - t0;
    if (atomic_load (&s_failed))
        return -1;
    qsort (s_lat, (size_t) total, sizeof *s_lat, s_cmp);
    out->jobs_s = (double) total / t;
    out->p50 = s_pct (s_lat, total, 50) * 1e3;
    out->p99 = s_pct (s_lat, total, 99) * 1e3;
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc != 7) {
        fprintf (stderr, "usage: bench_queue BROKER_ENDPOINT BEANSTALKD_PORT CLIENTS JOBS "
                 "WORKERS DIR\n");
        return 2;
    }
    s_endpoint = argv[1];
    s_port = atoi (argv[2]);
    int clients = atoi (argv[3]);
    s_jobs = atol (argv[4]);
    int workers = atoi (argv[5]);
    if (clients < 1 || clients > S_CLIENTS_MAX || s_jobs < 1 || s_jobs > S_JOBS_MAX
        || workers < 1 || workers > S_CLIENTS_MAX || s_port < 1 || s_port > 65535) {
        fprintf (stderr, "bench_queue: clients 1..%d, jobs 1..%d, workers 1..%d\n",
                 S_CLIENTS_MAX, S_JOBS_MAX, S_CLIENTS_MAX);
        return 2;
    }
    s_dir = argv[argc - 1];
    snprintf (s_top, sizeof s_top, "%s/top.v", argv[6]);
    s_lat = calloc ((size_t) clients * (size_t) s_jobs, sizeof *s_lat);
    s_figures_t bean = { 1, 0, 0 }, farm;
    /* BQ_ONLY=bitfarm: only the bitfarm side (for profiling the broker) */
    const char *only = getenv ("BQ_ONLY");
    bool both = !only || strcmp (only, "bitfarm") != 0;
    if ((both && s_run (&bean, clients, workers, true) != 0)
        || s_run (&farm, clients, workers, false) != 0)
        return 1;
    long total = (long) clients * s_jobs;
    printf ("noop jobs submitted -> done, %d clients, %d workers x 1 slot, %ld jobs, every "
            "acknowledged change fsync'd:\n", clients, workers, total);
    printf ("%-34s %9.0f jobs/s   submit p50 %6.2f ms  p99 %6.2f ms\n",
            "baseline: beanstalkd -f 0", bean.jobs_s, bean.p50, bean.p99);
    printf ("%-34s %9.0f jobs/s   submit p50 %6.2f ms  p99 %6.2f ms   x%.2f of beanstalkd "
            "(goal x3.00)\n", "bitfarm broker", farm.jobs_s, farm.p50, farm.p99,
            farm.jobs_s / bean.jobs_s);
    free (s_lat);
    return 0;
}

/*  bench_history - the broker with a long job history (issue 20, make
    bench section 70-history).  Subcommands:

      gen DB N       adds N finished jobs to the job database DB (which
                     holds a few real jobs, built by a real broker and
                     worker: the templates).  Each new job is a copy of a
                     template's rows made by SQL in the real schema (its
                     jobs row with the real manifest, its events, its
                     attempts), with a new random id, the next seq, and its
                     times moved so that the copies finished one after the
                     other over the last 30 days.  Transactions of 20,000
                     jobs with synchronous=OFF, and the triggers of
                     /metrics' counts dropped meanwhile (then job_counts
                     recomputed and the triggers made again): a bench
                     fixture, not the broker's durability.
      ids DB K       prints K job ids picked at random (uniform over rowid).
      status EP IDS  asks the broker at EP the status of every id in the
                     file IDS through libbitfarm (bitfarm_job_open: one
                     STATUS, in-process, timed around the call), after one
                     warm-up round; prints "p50 p99 max" in microseconds.
      retain DB      times retention on DB as the broker does it: 16
                     batches (bf_jobs_retain of 64 jobs, one transaction
                     each, synchronous=FULL) with keep = the newest half;
                     prints "total-ms jobs-removed longest-batch-ms".

    usage: bench_history gen|ids|status|retain ... */
#include "../../include/bitfarm.h"
#include "../../src/broker/bf_jobs.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_TXN 20000
#define S_SPAN_MS (30LL * 86400000 - 3600000)   /* the copies finish within 30 days */

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static uint64_t s_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static void
s_die (sqlite3 *db, const char *what)
{
    fprintf (stderr, "bench_history: %s: %s\n", what, db ? sqlite3_errmsg (db) : "");
    exit (1);
}

static void
s_exec (sqlite3 *db, const char *sql)
{
    if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
        s_die (db, sql);
}

static sqlite3_stmt *
s_prep (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
        s_die (db, sql);
    return st;
}

/*  "INSERT INTO t (cols) SELECT exprs FROM t WHERE <key> = ?3": each
    column copied, but `key` (the job id) becomes ?1 and the time columns
    are moved by ?2 ms; columns in `skip` are left to their defaults. */
static char *
s_copy_sql (sqlite3 *db, const char *table, const char *key, const char *const *times,
            const char *skip, const char *order)
{
    char sql[128];
    snprintf (sql, sizeof sql, "PRAGMA table_info (%s)", table);
    sqlite3_stmt *st = s_prep (db, sql);
    char cols[4096] = "", exprs[4096] = "";
    while (sqlite3_step (st) == SQLITE_ROW) {
        const char *c = (const char *) sqlite3_column_text (st, 1);
        if (skip && strcmp (c, skip) == 0)
            continue;
        char e[160];
        if (strcmp (c, key) == 0)
            snprintf (e, sizeof e, "?1");
        else if (strcmp (table, "jobs") == 0 && strcmp (c, "seq") == 0)
            snprintf (e, sizeof e, "?4");
        else {
            snprintf (e, sizeof e, "%s", c);
            for (int i = 0; times[i]; i++)
                if (strcmp (c, times[i]) == 0)
                    snprintf (e, sizeof e, "%s + ?2", c);
        }
        size_t lc = strlen (cols), le = strlen (exprs);
        snprintf (cols + lc, sizeof cols - lc, "%s%s", lc ? ", " : "", c);
        snprintf (exprs + le, sizeof exprs - le, "%s%s", le ? ", " : "", e);
    }
    sqlite3_finalize (st);
    return xasprintf ("INSERT INTO %s (%s) SELECT %s FROM %s WHERE %s = ?3%s", table, cols,
                      exprs, table, key, order);
}

static int
s_gen (const char *path, long n)
{
    bf_jobs_t *jobs = NULL;
    if (bf_jobs_open (&jobs, path) != BF_OK) {    /* the real schema, migrated */
        fprintf (stderr, "bench_history: %s\n", bf_error_last ());
        return 1;
    }
    bf_jobs_destroy (&jobs);
    sqlite3 *db = NULL;
    if (sqlite3_open (path, &db) != SQLITE_OK)
        s_die (db, path);
    /* No journal while the copies go in (a fixture: a crash here means
       running the bench again), WAL again after, as the broker has it. */
    s_exec (db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144");
    /* The triggers that keep /metrics' numbers (012_history.sql) are
       dropped while the copies go in, and made again after, with the
       counts of job_counts recomputed as the migration seeds them (the
       histograms, which count what ran on this broker, stay as they are:
       the copies never ran). */
    char *triggers[16];
    int ntrig = 0;
    sqlite3_stmt *tq = s_prep (db, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'");
    while (ntrig < 16 && sqlite3_step (tq) == SQLITE_ROW) {
        char *drop = xasprintf ("DROP TRIGGER %s", (const char *) sqlite3_column_text (tq, 0));
        triggers[ntrig++] = xstrdup ((const char *) sqlite3_column_text (tq, 1));
        s_exec (db, drop);
        free (drop);
    }
    sqlite3_finalize (tq);
    /* The templates: the finished jobs already there. */
    sqlite3_stmt *st = s_prep (db, "SELECT id, finished_at FROM jobs WHERE finished_at IS NOT "
                               "NULL AND state NOT IN ('queued', 'running') ORDER BY seq");
    char tid[16][BF_JOB_ID_LEN + 1];
    int64_t tfin[16];
    int nt = 0;
    while (nt < 16 && sqlite3_step (st) == SQLITE_ROW) {
        snprintf (tid[nt], sizeof tid[nt], "%s", (const char *) sqlite3_column_text (st, 0));
        tfin[nt++] = sqlite3_column_int64 (st, 1);
    }
    sqlite3_finalize (st);
    if (nt == 0) {
        fprintf (stderr, "bench_history: no finished job in '%s' to copy\n", path);
        return 1;
    }
    st = s_prep (db, "SELECT IFNULL (MAX (seq), 0) FROM jobs");
    sqlite3_step (st);
    int64_t seq = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    static const char *const jtimes[] = { "submitted_at", "started_at", "finished_at", NULL };
    static const char *const etimes[] = { "at", NULL };
    static const char *const atimes[] = { "dispatched_at", NULL };
    char *jsql = s_copy_sql (db, "jobs", "id", jtimes, NULL, "");
    char *esql = s_copy_sql (db, "events", "job", etimes, "id", " ORDER BY id");
    char *asql = s_copy_sql (db, "attempts", "job", atimes, NULL, "");
    sqlite3_stmt *sj = s_prep (db, jsql), *se = s_prep (db, esql), *sa = s_prep (db, asql);
    free (jsql);
    free (esql);
    free (asql);
    int64_t now = bf_now_ms (), first = now - S_SPAN_MS - 3600000;
    s_rng ^= (uint64_t) now;
    double t0 = s_now ();
    s_exec (db, "BEGIN");
    for (long i = 0; i < n; i++) {
        int t = (int) (i % nt);
        char id[BF_JOB_ID_LEN + 1];
        uint64_t a = s_rand (), b = s_rand ();
        snprintf (id, sizeof id, "%016llx%016llx", (unsigned long long) a,
                  (unsigned long long) b);
        int64_t fin = first + (int64_t) ((double) S_SPAN_MS * (double) i / (double) n);
        int64_t shift = fin - tfin[t];
        sqlite3_stmt *sts[3] = { sj, se, sa };
        for (int k = 0; k < 3; k++) {
            sqlite3_bind_text (sts[k], 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (sts[k], 2, shift);
            sqlite3_bind_text (sts[k], 3, tid[t], -1, SQLITE_STATIC);
            if (k == 0)
                sqlite3_bind_int64 (sts[k], 4, ++seq);
            if (sqlite3_step (sts[k]) != SQLITE_DONE)
                s_die (db, "copy a job");
            sqlite3_reset (sts[k]);
        }
        if ((i + 1) % S_TXN == 0)
            s_exec (db, "COMMIT; BEGIN");
    }
    s_exec (db, "COMMIT");
    s_exec (db, "BEGIN; DELETE FROM job_counts; INSERT INTO job_counts SELECT state, "
                "IFNULL (failure_class, ''), IFNULL (owner, ''), count (*) FROM jobs "
                "GROUP BY 1, 2, 3");
    for (int i = 0; i < ntrig; i++) {
        s_exec (db, triggers[i]);
        free (triggers[i]);
    }
    s_exec (db, "COMMIT");
    sqlite3_finalize (sj);
    sqlite3_finalize (se);
    sqlite3_finalize (sa);
    s_exec (db, "PRAGMA journal_mode=WAL");
    sqlite3_close (db);
    fprintf (stderr, "bench_history: %ld jobs copied from %d real ones in %.1f s\n", n, nt,
             s_now () - t0);
    return 0;
}

static int
s_ids (const char *path, long k)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        s_die (db, path);
    sqlite3_stmt *st = s_prep (db, "SELECT MAX (rowid) FROM jobs");
    sqlite3_step (st);
    int64_t max = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    st = s_prep (db, "SELECT id FROM jobs WHERE rowid >= ? ORDER BY rowid LIMIT 1");
    s_rng ^= (uint64_t) bf_now_ms ();
    for (long i = 0; i < k && max > 0; i++) {
        sqlite3_bind_int64 (st, 1, 1 + (int64_t) (s_rand () % (uint64_t) max));
        if (sqlite3_step (st) == SQLITE_ROW)
            printf ("%s\n", (const char *) sqlite3_column_text (st, 0));
        sqlite3_reset (st);
    }
    sqlite3_finalize (st);
    sqlite3_close (db);
    return 0;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static int
s_status (const char *ep, const char *idfile)
{
    FILE *f = fopen (idfile, "r");
    if (!f) {
        perror (idfile);
        return 1;
    }
    char line[128];
    char (*ids)[BF_JOB_ID_LEN + 1] = NULL;
    size_t n = 0, cap = 0;
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\n")] = '\0';
        if (strlen (line) != BF_JOB_ID_LEN)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            ids = realloc (ids, cap * sizeof *ids);
        }
        snprintf (ids[n++], BF_JOB_ID_LEN + 1, "%s", line);
    }
    fclose (f);
    bitfarm_farm *farm = NULL;
    if (n == 0 || bitfarm_farm_open (&farm, ep) != BITFARM_OK) {
        fprintf (stderr, "bench_history: no ids, or cannot open the farm: %s\n",
                 bitfarm_error_last ()->message);
        return 1;
    }
    double *us = calloc (n, sizeof *us);
    for (int round = 0; round < 2; round++)       /* a warm-up round, then the timed one */
        for (size_t i = 0; i < n; i++) {
            bitfarm_job *job = NULL;
            double t0 = s_now ();
            int rc = bitfarm_job_open (farm, ids[i], &job);
            double t1 = s_now ();
            if (rc != BITFARM_OK) {
                fprintf (stderr, "bench_history: status %s: %s\n", ids[i],
                         bitfarm_error_last ()->message);
                return 1;
            }
            bitfarm_job_free (&job);
            us[i] = (t1 - t0) * 1e6;
        }
    qsort (us, n, sizeof *us, s_cmp);
    printf ("%.1f %.1f %.1f\n", us[n / 2], us[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
            us[n - 1]);
    free (us);
    free (ids);
    bitfarm_farm_close (&farm);
    return 0;
}

static int
s_retain (const char *path)
{
    bf_jobs_t *jobs = NULL;
    if (bf_jobs_open (&jobs, path) != BF_OK) {
        fprintf (stderr, "bench_history: %s\n", bf_error_last ());
        return 1;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        s_die (db, path);
    sqlite3_stmt *st = s_prep (db, "SELECT count (*) FROM jobs");
    sqlite3_step (st);
    int64_t total = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    sqlite3_close (db);
    bf_jobs_keep_t keep = { .max_count = total / 2 > 0 ? total / 2 : 1 };
    double worst = 0, t0 = s_now ();
    size_t removed = 0;
    for (int b = 0; b < 16; b++) {                /* 16 batches as the broker's ticks run them */
        json_t *ids = NULL;
        double b0 = s_now ();
        if (bf_jobs_retain (jobs, &ids, &keep, bf_now_ms (), 64) != BF_OK) {
            fprintf (stderr, "bench_history: %s\n", bf_error_last ());
            return 1;
        }
        double ms = (s_now () - b0) * 1000;
        worst = ms > worst ? ms : worst;
        removed += json_array_size (ids);
        json_decref (ids);
    }
    printf ("%.2f %zu %.2f\n", (s_now () - t0) * 1000, removed, worst);
    bf_jobs_destroy (&jobs);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc == 4 && strcmp (argv[1], "gen") == 0)
        return s_gen (argv[2], atol (argv[3]));
    if (argc == 4 && strcmp (argv[1], "ids") == 0)
        return s_ids (argv[2], atol (argv[3]));
    if (argc == 4 && strcmp (argv[1], "status") == 0)
        return s_status (argv[2], argv[3]);
    if (argc == 3 && strcmp (argv[1], "retain") == 0)
        return s_retain (argv[2]);
    fprintf (stderr, "usage: bench_history gen DB N | ids DB K | status ENDPOINT IDFILE | "
             "retain DB\n");
    return 2;
}

/*  bench_cache - cache and hashing speed, each as a ratio against a
    baseline measured in the same run (these machines are noisy; absolute
    times only mean something next to their baseline).

      lookup     bf_cache_get_entry with 100,000 entries in the index, as an
                 index lookup (peek) and as a full hit (every object of the
                 entry read and re-hashed), against a bare SQLite
                 primary-key SELECT on the same table.
      hashing    bf_sha256_hex and bf_sha256_file over 64 MiB, against
                 OpenSSL's EVP_Digest (SHA-256) on the same bytes.

    usage: bench_cache DIR   (DIR: an empty scratch directory) */
#include "../../src/cache/bf_cache.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_sha256.h"
#include "../../src/common/bf_util.h"

#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 100k entries and 64 MiB; BENCH_SIZE=tiny (make test) 1,000 and 1 MiB */
static long S_ENTRIES = 100000;
static size_t S_HASH_BYTES = (size_t) 64 << 20;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
s_key (char out[65], long i)
{
    char name[32];
    snprintf (name, sizeof name, "entry-%ld", i);
    bf_sha256_hex (out, name, strlen (name));
}

static void
s_row (const char *what, double t, double base, long n, const char *unit)
{
    printf ("%-44s %10.2f %s   x%.2f of baseline\n", what, t / (double) n * 1e6, unit,
            t / base);
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: bench_cache DIR\n");
        return 2;
    }
    const char *bench_size = getenv ("BENCH_SIZE");
    if (bench_size && strcmp (bench_size, "tiny") == 0) {
        S_ENTRIES = 1000;
        S_HASH_BYTES = (size_t) 1 << 20;
    }
    bf_cache_t *cache = NULL;
    if (bf_cache_open (&cache, argv[1], NULL) != BF_OK) {
        fprintf (stderr, "bench_cache: %s\n", bf_error_last ());
        return 1;
    }
    /* Three real objects shared by every entry: a up5k-sized bitstream, a
       report and a log. */
    static char bits[104090], report[4000], log[30000];
    for (size_t i = 0; i < sizeof bits; i++)
        bits[i] = (char) (i * 31);
    memset (report, 'r', sizeof report);
    memset (log, 'l', sizeof log);
    char bd[65], rd[65], ld[65];
    bf_sha256_hex (bd, bits, sizeof bits);
    bf_sha256_hex (rd, report, sizeof report);
    bf_sha256_hex (ld, log, sizeof log);
    bf_cache_put_object (cache, bd, bits, sizeof bits);
    bf_cache_put_object (cache, rd, report, sizeof report);
    bf_cache_put_object (cache, ld, log, sizeof log);
    /* 100k entries, written straight into the index in one transaction. */
    sqlite3 *db = NULL;
    char *path = xasprintf ("%s/index.db", argv[1]);
    sqlite3_open (path, &db);
    free (path);
    sqlite3_exec (db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2 (db, "INSERT INTO entries (key, action, toolchain, outcome, bitstream, "
                        "report, log, manifest, created_at, accessed_at) "
                        "VALUES (?, ?, 'tc', 'succeeded', ?, ?, ?, '{\"top\":\"top\"}', 0, 0)",
                        -1, &st, NULL);
    for (long i = 0; i < S_ENTRIES; i++) {
        char key[65];
        s_key (key, i);
        sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 3, bd, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 4, rd, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 5, ld, -1, SQLITE_STATIC);
        sqlite3_step (st);
        sqlite3_reset (st);
    }
    sqlite3_finalize (st);
    sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);

    printf ("cache lookups, %ld entries in the index:\n", S_ENTRIES);
    const long n = 20000, nfull = 2000;
    srand (42);
    double t0 = s_now ();
    for (long i = 0; i < n; i++) {
        char key[65];
        s_key (key, rand () % S_ENTRIES);
        sqlite3_prepare_v2 (db, "SELECT * FROM entries WHERE key = ?", -1, &st, NULL);
        sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (st) != SQLITE_ROW)
            return fprintf (stderr, "bench_cache: lost entry\n"), 1;
        sqlite3_finalize (st);
    }
    double base = s_now () - t0;
    printf ("%-44s %10.2f us/op\n", "baseline: bare SQLite SELECT by key", base / (double) n * 1e6);
    t0 = s_now ();
    for (long i = 0; i < n; i++) {
        char key[65];
        s_key (key, rand () % S_ENTRIES);
        json_t *e = NULL;
        if (bf_cache_get_entry (cache, &e, key, true) != BF_OK)
            return fprintf (stderr, "bench_cache: %s\n", bf_error_last ()), 1;
        json_decref (e);
    }
    s_row ("bf_cache_get_entry, index only (peek)", s_now () - t0, base, n, "us/op");
    t0 = s_now ();
    for (long i = 0; i < nfull; i++) {
        char key[65];
        s_key (key, rand () % S_ENTRIES);
        json_t *e = NULL;
        if (bf_cache_get_entry (cache, &e, key, false) != BF_OK)
            return fprintf (stderr, "bench_cache: %s\n", bf_error_last ()), 1;
        json_decref (e);
    }
    double full = s_now () - t0;
    printf ("%-44s %10.2f us/op   x%.2f of baseline (reads and re-hashes 138 kB)\n",
            "bf_cache_get_entry, verified hit", full / (double) nfull * 1e6,
            (full / (double) nfull) / (base / (double) n));
    sqlite3_close (db);
    bf_cache_destroy (&cache);

    printf ("\nSHA-256 over %zu MiB:\n", S_HASH_BYTES >> 20);
    unsigned char *buf = xmalloc (S_HASH_BYTES);
    for (size_t i = 0; i < S_HASH_BYTES; i++)
        buf[i] = (unsigned char) (i * 7 + (i >> 12));
    unsigned char md[32];
    unsigned int mdlen = 0;
    t0 = s_now ();
    EVP_Digest (buf, S_HASH_BYTES, md, &mdlen, EVP_sha256 (), NULL);
    base = s_now () - t0;
    double mib = (double) (S_HASH_BYTES >> 20);
    printf ("%-44s %10.1f MiB/s\n", "baseline: OpenSSL EVP_Digest", mib / base);
    char hex[65];
    t0 = s_now ();
    bf_sha256_hex (hex, buf, S_HASH_BYTES);
    double t = s_now () - t0;
    printf ("%-44s %10.1f MiB/s   x%.2f of baseline speed\n", "bf_sha256_hex", mib / t, base / t);
    char *file = xasprintf ("%s/hash.bin", argv[1]);
    bf_file_write_atomic (file, buf, S_HASH_BYTES, 0644);
    uint64_t size = 0;
    t0 = s_now ();
    bf_sha256_file (hex, &size, file);
    t = s_now () - t0;
    printf ("%-44s %10.1f MiB/s   x%.2f of baseline speed\n", "bf_sha256_file (page cache)",
            mib / t, base / t);
    free (file);
    free (buf);
    return 0;
}

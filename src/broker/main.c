/*  bitfarm-broker - the bitfarm broker daemon.  See --help. */
#include "bf_broker.h"
#include "bf_jobs.h"
#include "../common/bf_config.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_opt.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_head[] =
    "usage: bitfarm-broker --listen ENDPOINT --state-dir DIR [options]\n"
    "\n"
    "The bitfarm broker: accepts jobs from clients, keeps them in SQLite,\n"
    "dispatches them to workers and keeps the farm's bitstream cache.\n"
    "\n";

static const char s_tail[] =
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 when the broker cannot start or\n"
    "cannot commit a batch (nothing of it was acknowledged; a restart resumes\n"
    "from what is on disk: docs/protocol.md 7), 2 for a usage error.\n";

static int
s_check_salt (const char *option, const char *value)
{
    if (!*value || strlen (value) > 64
        || strspn (value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
           != strlen (value))
        return bf_error_set (BF_EINVAL, "invalid value '%.80s' for %s (want 1..64 of "
                             "A-Za-z0-9._-)", value, option);
    return BF_OK;
}

static int
s_check_keep (const char *option, const char *value)
{
    bf_jobs_keep_t keep;
    return bf_jobs_keep_parse (&keep, option, value);
}

#define S_OFF(field) offsetof (bf_broker_config_t, field)
static const bf_config_opt_t s_opts[] = {
    { "listen", BF_CFG_STR, S_OFF (listen), 0, 0, "ENDPOINT",
      "ZeroMQ endpoint to bind: tcp://HOST:PORT or ipc://PATH.\n"
      "A tcp address that is not loopback needs CURVE (--cert\n"
      "and --keys) or --insecure", NULL },
    { "cert", BF_CFG_STR, S_OFF (cert_path), 0, 0, "FILE",
      "the broker's secret key (NAME.key_secret from\n"
      "`bitfarm keygen --role broker NAME`); turns on CURVE", NULL },
    { "keys", BF_CFG_STR, S_OFF (keys_dir), 0, 0, "DIR",
      "allow-lists of public keys: DIR/workers, DIR/clients and\n"
      "DIR/admins (created if missing).  Add or remove a NAME.key\n"
      "file to allow or revoke a key; no restart is needed", NULL },
    { "insecure", BF_CFG_FLAG, S_OFF (insecure), 0, 0, NULL,
      "serve a non-loopback tcp address without CURVE (warned\n"
      "about at every start)", NULL },
    { "state-dir", BF_CFG_STR, S_OFF (state_dir), 0, 0, "DIR",
      "jobs.db, cache/ and logs/ live here (created if missing)", NULL },
    { "job-timeout", BF_CFG_MS64, S_OFF (job_timeout_ms), 1000, 7LL * 86400000, "DURATION",
      "a job's wall-clock limit when its submit names none\n(default 1h; 1s..7d)", NULL },
    { "job-timeout-max", BF_CFG_MS64, S_OFF (job_timeout_max_ms), 1000, 30LL * 86400000,
      "DURATION", "the most a submit may ask for (default 24h; 1s..30d)", NULL },
    { "max-attempts", BF_CFG_INT, S_OFF (max_attempts), 1, 100, "N",
      "attempts before an infrastructure failure is final\n(default 3; 1..100)", NULL },
    { "retry-backoff", BF_CFG_MS64, S_OFF (retry_backoff_ms), 10, 60000, "DURATION",
      "back-off before the first retry, doubled per attempt,\n"
      "with jitter, at most 60s (default 1s; 10ms..60s)", NULL },
    { "program-timeout", BF_CFG_MS64, S_OFF (program_timeout_ms), 1000, 86400000, "DURATION",
      "a program job's wall-clock limit when its request\nnames none (default 2m; 1s..1d)",
      NULL },
    { "board-failures", BF_CFG_INT, S_OFF (board_failures), 1, 1000, "N",
      "infrastructure failures in a row that put a board in\n"
      "error, until `bitfarm board NAME --enable` (default 3)", NULL },
    { "keep-jobs", BF_CFG_CHECK, S_OFF (keep_jobs), 0, 0, "DURATION|COUNT",
      "which finished jobs are kept (status, events, logs):\n"
      "those that finished within DURATION (e.g. 30d, 12h;\n"
      "1s..3650d), the newest COUNT (e.g. 100000), or all.\n"
      "Older ones are removed with their events, attempts and\n"
      "live logs, in small batches; never a queued or running\n"
      "job, nor one a live job refers to; never cache entries\n"
      "(default 30d)", s_check_keep },
    { "job-history", BF_CFG_MS64, S_OFF (job_history_ms), 1000, 3650LL * 86400000,
      "DURATION", "the old name of --keep-jobs DURATION (1s..3650d);\n"
      "--keep-jobs wins when both are given", NULL },
    { "cache-max-size", BF_CFG_SIZE, S_OFF (cache.max_size), 1 << 20, INT64_MAX / 2, "SIZE",
      "cap on the cache (STATE/cache), e.g. 512M, 10G; least\n"
      "recently used entries are evicted in the background\n"
      "from 90% of the cap down to 80% (default: no cap)", NULL },
    { "cache-salt", BF_CFG_CHECK, S_OFF (cache_salt), 0, 0, "TEXT",
      "mixed into every cache key (1..64 of A-Za-z0-9._-); a new\n"
      "salt disowns every entry at once, e.g. after a broken\n"
      "toolchain (default: none)", s_check_salt },
    { "cache-force-network-fs", BF_CFG_FLAG, S_OFF (cache.force_network_fs), 0, 0, NULL,
      "open the cache even on a network filesystem (NFS,\n"
      "CIFS, ...), where SQLite's locking can corrupt it", NULL },
    { "upload-quota", BF_CFG_SIZE, S_OFF (upload_quota), 1 << 20, INT64_MAX / 2, "SIZE",
      "bytes one client key may have asked for (NEED) or\n"
      "uploaded but not yet used by a job (default 256M)", NULL },
    { "upload-grace", BF_CFG_MS64, S_OFF (upload_grace_ms), 1000, 7LL * 86400000, "DURATION",
      "how long an asked-for upload waits for its SUBMIT; an\n"
      "upload no job took is deleted after it (default 1h)", NULL },
    /* the HTTP API (bf_http.h, docs/http.md; issue 19) */
    { "http", BF_CFG_STR, S_OFF (http_addr), 0, 0, "ADDR:PORT",
      "serve the JSON API (/api/v1/), /metrics and the dashboard\n"
      "over HTTP, e.g. 127.0.0.1:8080 (PORT 0: any free port;\n"
      "default: off).  On loopback, requests without a token\n"
      "have admin access; elsewhere a bearer token is needed\n"
      "(bitfarm token create), and TLS or --insecure", NULL },
    { "http-any-port", BF_CFG_FLAG, S_OFF (http_port_fallback), 0, 0, NULL,
      "with --http: when PORT is taken, any free port", NULL },
    { "http-root", BF_CFG_STR, S_OFF (http_root), 0, 0, "DIR",
      "static files served at / (default: the data directory's\n"
      "dashboard/)", NULL },
    { "http-cert", BF_CFG_STR, S_OFF (http_cert), 0, 0, "FILE",
      "TLS certificate (PEM, chain first) for --http", NULL },
    { "http-key", BF_CFG_STR, S_OFF (http_key), 0, 0, "FILE",
      "TLS private key (PEM) for --http-cert", NULL },
    { "http-require-token", BF_CFG_FLAG, S_OFF (http_require_token), 0, 0, NULL,
      "a bearer token even on loopback", NULL },
    { "metrics-public", BF_CFG_FLAG, S_OFF (metrics_public), 0, 0, NULL,
      "serve /metrics without a token", NULL },
    { "http-url-file", BF_CFG_STR, S_OFF (http_url_file), 0, 0, "FILE",
      "write the URL served to FILE (removed at exit)", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

int
main (int argc, char **argv)
{
    bf_broker_config_t cfg = { .job_timeout_ms = 3600 * 1000,
                               .job_history_ms = 30LL * 86400000,
                               .job_timeout_max_ms = 86400 * 1000, .max_attempts = 3,
                               .retry_backoff_ms = 1000 };
    bf_daemon_opts_t common = { .heartbeat_ms = 1000, .liveness = 3,
                                .log_level = BF_LOG_INFO,
                                .job_log_max = BF_JOB_LOG_MAX_DEFAULT };
    const bf_config_table_t tables[] = { { s_opts, &cfg },
                                         { bf_config_daemon_common, &common } };
    int first = 0;
    int rc = bf_config_main (tables, 2, argc, argv, "bitfarm-broker", "bitfarm-broker 0.1.0",
                             s_head, s_tail, &first);
    if (rc >= 0)
        return rc;
    cfg.heartbeat_ms = common.heartbeat_ms;
    cfg.liveness = common.liveness;
    cfg.job_log_max = (uint64_t) common.job_log_max;
    if (cfg.job_timeout_max_ms < cfg.job_timeout_ms) {
        fprintf (stderr, "bitfarm-broker: --job-timeout (%lld ms) is above --job-timeout-max "
                 "(%lld ms)\n", (long long) cfg.job_timeout_ms, (long long) cfg.job_timeout_max_ms);
        return 2;
    }
    if (!cfg.listen || !cfg.state_dir || first < argc) {
        fprintf (stderr, "bitfarm-broker: --listen and --state-dir are required\n");
        fputs (s_head, stderr);
        bf_config_usage (stderr, tables, 2);
        return 2;
    }
    if (!cfg.http_cert != !cfg.http_key) {
        fprintf (stderr, "bitfarm-broker: --http-cert and --http-key go together\n");
        return 2;
    }
    if (!cfg.cert_path != !cfg.keys_dir) {
        fprintf (stderr, "bitfarm-broker: --cert and --keys go together (CURVE needs the "
                 "broker's key and the allow-lists)\n");
        return 2;
    }
    if (bf_opt_daemon_init ("broker", common.log_level, common.log_file) != BF_OK) {
        fprintf (stderr, "bitfarm-broker: %s\n", bf_error_last ());
        return 1;
    }
    bf_config_log (tables, 2);
    bf_broker_t *broker = NULL;
    if (bf_broker_new (&broker, &cfg) != BF_OK) {
        bf_err ("%s", bf_error_last ());
        fprintf (stderr, "bitfarm-broker: %s\n", bf_error_last ());
        return 1;
    }
    if (common.pid_file && bf_opt_write_pidfile (common.pid_file) != BF_OK)
        bf_warn ("%s", bf_error_last ());
    /* A batch that cannot commit stops the broker (exit 1): its memory may
       say more than its disk, and a restart (Restart=on-failure) resumes
       from what is durable. */
    rc = bf_broker_run (broker);
    bf_broker_destroy (&broker);
    if (common.pid_file)
        remove (common.pid_file);
    return rc == BF_OK ? 0 : 1;
}

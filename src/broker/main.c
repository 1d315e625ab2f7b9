/*  bitfarm-broker - the bitfarm broker daemon.  See --help. */
#include "bf_broker.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_opt.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char s_usage[] =
    "usage: bitfarm-broker --listen ENDPOINT --state-dir DIR [options]\n"
    "\n"
    "The bitfarm broker: accepts jobs from clients, keeps them in SQLite,\n"
    "dispatches them to workers and keeps the farm's bitstream cache.\n"
    "\n"
    "  --listen ENDPOINT     ZeroMQ endpoint to bind: tcp://HOST:PORT or ipc://PATH.\n"
    "                        A tcp address that is not loopback needs CURVE (--cert\n"
    "                        and --keys) or --insecure\n"
    "  --cert FILE           the broker's secret key (NAME.key_secret from\n"
    "                        `bitfarm keygen --role broker NAME`); turns on CURVE\n"
    "  --keys DIR            allow-lists of public keys: DIR/workers, DIR/clients and\n"
    "                        DIR/admins (created if missing).  Add or remove a NAME.key\n"
    "                        file to allow or revoke a key; no restart is needed\n"
    "  --insecure            serve a non-loopback tcp address without CURVE (warned\n"
    "                        about at every start)\n"
    "  --state-dir DIR       jobs.db, cache/ and logs/ live here (created if missing)\n"
    "  --heartbeat DURATION  heartbeat interval (default 1s; 10ms..60s)\n"
    "  --liveness N          heartbeats missed before a worker is lost (default 3; 1..100)\n"
    "  --job-timeout DURATION  a job's wall-clock limit when its submit names none\n"
    "                        (default 1h; 1s..7d)\n"
    "  --job-timeout-max DURATION  the most a submit may ask for (default 24h; 1s..30d)\n"
    "  --max-attempts N      attempts before an infrastructure failure is final\n"
    "                        (default 3; 1..100)\n"
    "  --retry-backoff DURATION  back-off before the first retry, doubled per attempt,\n"
    "                        with jitter, at most 60s (default 1s; 10ms..60s)\n"
    "  --program-timeout DURATION  a program job's wall-clock limit when its request\n"
    "                        names none (default 2m; 1s..1d)\n"
    "  --board-failures N    infrastructure failures in a row that put a board in\n"
    "                        error, until `bitfarm board NAME --enable` (default 3)\n"
    "  --cache-max-size SIZE  cap on the cache (STATE/cache), e.g. 512M, 10G; least\n"
    "                        recently used entries are evicted in the background\n"
    "                        from 90% of the cap down to 80% (default: no cap)\n"
    "  --cache-salt TEXT     mixed into every cache key (1..64 of A-Za-z0-9._-); a new\n"
    "                        salt disowns every entry at once, e.g. after a broken\n"
    "                        toolchain (default: none)\n"
    "  --cache-force-network-fs  open the cache even on a network filesystem (NFS,\n"
    "                        CIFS, ...), where SQLite's locking can corrupt it\n"
    "  --pid-file PATH       write the process id here\n"
    "  --log-file PATH       append the log here instead of stderr\n"
    "  --log-level LEVEL     debug, info (default), warn or error\n"
    "  --version             print the version and exit\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 when the broker cannot start,\n"
    "2 for a usage error.\n";

int
main (int argc, char **argv)
{
    bf_broker_config_t cfg = { .heartbeat_ms = 1000, .liveness = 3,
                               .job_timeout_ms = 3600 * 1000,
                               .job_timeout_max_ms = 86400 * 1000, .max_attempts = 3,
                               .retry_backoff_ms = 1000 };
    const char *pid_file = NULL, *log_file = NULL;
    bf_log_level_t level = BF_LOG_INFO;
    static const struct option opts[] = {
        { "program-timeout", required_argument, 0, 'P' },
        { "board-failures", required_argument, 0, 'Q' },
        { "listen", required_argument, 0, 'l' },   { "state-dir", required_argument, 0, 's' },
        { "cert", required_argument, 0, 'c' },     { "keys", required_argument, 0, 'k' },
        { "insecure", no_argument, 0, 'I' },
        { "heartbeat", required_argument, 0, 'H' }, { "liveness", required_argument, 0, 'L' },
        { "job-timeout", required_argument, 0, 'T' }, { "pid-file", required_argument, 0, 'p' },
        { "job-timeout-max", required_argument, 0, 'M' },
        { "max-attempts", required_argument, 0, 'A' },
        { "retry-backoff", required_argument, 0, 'B' },
        { "cache-max-size", required_argument, 0, 'C' },
        { "cache-force-network-fs", no_argument, 0, 'N' },
        { "cache-salt", required_argument, 0, 'S' },
        { "log-file", required_argument, 0, 'f' }, { "log-level", required_argument, 0, 'v' },
        { "version", no_argument, 0, 'V' },        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 }
    };
    int c;
    int64_t n;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        int rc = BF_OK;
        switch (c) {
            case 'l': cfg.listen = optarg; break;
            case 'c': cfg.cert_path = optarg; break;
            case 'k': cfg.keys_dir = optarg; break;
            case 'I': cfg.insecure = true; break;
            case 's': cfg.state_dir = optarg; break;
            case 'H':
                rc = bf_opt_duration_ms (&n, "--heartbeat", optarg, 10, 60000);
                cfg.heartbeat_ms = (int) n;
                break;
            case 'L':
                rc = bf_opt_int (&n, "--liveness", optarg, 1, 100);
                cfg.liveness = (int) n;
                break;
            case 'T':
                rc = bf_opt_duration_ms (&cfg.job_timeout_ms, "--job-timeout", optarg, 1000,
                                         7LL * 86400000);
                break;
            case 'M':
                rc = bf_opt_duration_ms (&cfg.job_timeout_max_ms, "--job-timeout-max", optarg,
                                         1000, 30LL * 86400000);
                break;
            case 'P':
                rc = bf_opt_duration_ms (&cfg.program_timeout_ms, "--program-timeout", optarg,
                                         1000, 86400000);
                break;
            case 'Q':
                rc = bf_opt_int (&n, "--board-failures", optarg, 1, 1000);
                cfg.board_failures = (int) n;
                break;
            case 'A':
                rc = bf_opt_int (&n, "--max-attempts", optarg, 1, 100);
                cfg.max_attempts = (int) n;
                break;
            case 'B':
                rc = bf_opt_duration_ms (&cfg.retry_backoff_ms, "--retry-backoff", optarg, 10,
                                         60000);
                break;
            case 'C':
                rc = bf_opt_size (&n, "--cache-max-size", optarg, 1 << 20, INT64_MAX / 2);
                cfg.cache.max_size = (uint64_t) n;
                break;
            case 'N': cfg.cache.force_network_fs = true; break;
            case 'S':
                if (!*optarg || strlen (optarg) > 64
                    || strspn (optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789._-") != strlen (optarg))
                    rc = bf_error_set (BF_EINVAL, "invalid value '%.80s' for --cache-salt (want "
                                       "1..64 of A-Za-z0-9._-)", optarg);
                cfg.cache_salt = optarg;
                break;
            case 'p': pid_file = optarg; break;
            case 'f': log_file = optarg; break;
            case 'v': rc = bf_log_parse_level (optarg, &level); break;
            case 'V': puts ("bitfarm-broker 0.1.0"); return 0;
            case 'h': fputs (s_usage, stdout); return 0;
            default: fputs (s_usage, stderr); return 2;
        }
        if (rc != BF_OK) {
            fprintf (stderr, "bitfarm-broker: %s\n", bf_error_last ());
            return 2;
        }
    }
    if (cfg.job_timeout_max_ms < cfg.job_timeout_ms) {
        fprintf (stderr, "bitfarm-broker: --job-timeout (%lld ms) is above --job-timeout-max "
                 "(%lld ms)\n", (long long) cfg.job_timeout_ms, (long long) cfg.job_timeout_max_ms);
        return 2;
    }
    if (!cfg.listen || !cfg.state_dir || optind < argc) {
        fprintf (stderr, "bitfarm-broker: --listen and --state-dir are required\n%s", s_usage);
        return 2;
    }
    if (!cfg.cert_path != !cfg.keys_dir) {
        fprintf (stderr, "bitfarm-broker: --cert and --keys go together (CURVE needs the "
                 "broker's key and the allow-lists)\n");
        return 2;
    }
    if (bf_opt_daemon_init ("broker", level, log_file) != BF_OK) {
        fprintf (stderr, "bitfarm-broker: %s\n", bf_error_last ());
        return 1;
    }
    bf_broker_t *broker = NULL;
    if (bf_broker_new (&broker, &cfg) != BF_OK) {
        bf_err ("%s", bf_error_last ());
        fprintf (stderr, "bitfarm-broker: %s\n", bf_error_last ());
        return 1;
    }
    if (pid_file && bf_opt_write_pidfile (pid_file) != BF_OK)
        bf_warn ("%s", bf_error_last ());
    bf_broker_run (broker);
    bf_broker_destroy (&broker);
    if (pid_file)
        remove (pid_file);
    return 0;
}

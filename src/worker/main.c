/*  bitfarm-worker - the bitfarm worker daemon.  See --help. */
#include "bf_worker.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_opt.h"
#include "../common/bf_proto.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>

static const char s_usage[] =
    "usage: bitfarm-worker --broker ENDPOINT --work-dir DIR [options]\n"
    "\n"
    "A bitfarm worker: registers with the broker and runs iCE40 builds\n"
    "(yosys -> nextpnr-ice40 -> icepack) in fresh job directories, and, with\n"
    "--config, programs its boards with openFPGALoader (one job per board).\n"
    "\n"
    "  --broker ENDPOINT     the broker's ZeroMQ endpoint (tcp://HOST:PORT, ipc://PATH)\n"
    "  --work-dir DIR        job directories and the toolchain memo (created)\n"
    "  --slots N             jobs run at once (default 1; 1..64)\n"
    "  --name NAME           name shown by `bitfarm workers` (default HOST:PID)\n"
    "  --heartbeat DURATION  heartbeat interval (default 1s; 10ms..60s)\n"
    "  --liveness N          heartbeats missed before the broker is presumed lost (default 3)\n"
    "  --tag TAG             a tag jobs can require with `submit --tag` (repeatable;\n"
    "                        up to 16 of 1..32 characters of a-z 0-9 _ . -)\n"
    "  --config FILE         JSON file declaring this worker's boards (docs/boards.md);\n"
    "                        checked at start-up: a bad entry is an error naming it\n"
    "  --cert FILE           this worker's secret key (NAME.key_secret from\n"
    "                        `bitfarm keygen --role worker NAME`): talk CURVE\n"
    "  --broker-key FILE     the broker's public key (its NAME.key); with --cert\n"
    "  --tools DIR           run yosys, yosys-abc, nextpnr-ice40 and icepack from DIR\n"
    "                        instead of PATH: another toolchain, with its own identity\n"
    "                        (jobs pin it with `submit --toolchain ID`)\n"
    "  --no-sandbox          run yosys, nextpnr and icepack without bubblewrap\n"
    "                        (`bitfarm workers` shows the worker as unsandboxed).\n"
    "                        Without it the worker refuses to start when bubblewrap\n"
    "                        is missing or cannot create namespaces\n"
    "  --limit-cpu DURATION  CPU time per tool run (default 1h)\n"
    "  --limit-memory SIZE   address space per tool run (default 8G)\n"
    "  --limit-file-size SIZE  largest file a tool may write (default 1G)\n"
    "  --limit-procs N       processes and threads of the worker's user while a tool\n"
    "                        runs (default 1024; not enforced for root)\n"
    "  --keep-jobs           keep job directories after each job, for debugging\n"
    "  --cache-dir DIR       the local (L1) cache of inputs and results\n"
    "                        (default WORK-DIR/cache; must be on a local disk)\n"
    "  --cache-max-size SIZE cap on the local cache, e.g. 512M, 10G (default 1G)\n"
    "  --cache-force-network-fs  open the local cache even on a network filesystem\n"
    "  --pid-file PATH       write the process id here\n"
    "  --log-file PATH       append the log here instead of stderr\n"
    "  --log-level LEVEL     debug, info (default), warn or error\n"
    "  --version             print the version and exit\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "SIGTERM or SIGINT drains the worker: it takes no new jobs, finishes the\n"
    "running ones, hands in their results and exits.  A second signal stops it\n"
    "at once; the broker retries the builds it killed.\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 when the worker cannot start\n"
    "(for example a missing tool or no sandbox) or the broker refused its key,\n"
    "2 for a usage error.\n";

int
main (int argc, char **argv)
{
    bf_worker_config_t cfg = { .slots = 1, .heartbeat_ms = 1000, .liveness = 3 };
    const char *pid_file = NULL, *log_file = NULL;
    bf_log_level_t level = BF_LOG_INFO;
    static const struct option opts[] = {
        { "broker", required_argument, 0, 'b' },    { "work-dir", required_argument, 0, 'w' },
        { "cache-dir", required_argument, 0, 'c' },
        { "cache-max-size", required_argument, 0, 'C' },
        { "cache-force-network-fs", no_argument, 0, 'F' },
        { "slots", required_argument, 0, 'n' },     { "name", required_argument, 0, 'N' },
        { "heartbeat", required_argument, 0, 'H' }, { "liveness", required_argument, 0, 'L' },
        { "keep-jobs", no_argument, 0, 'k' },       { "pid-file", required_argument, 0, 'p' },
        { "tag", required_argument, 0, 't' },      { "config", required_argument, 0, 'K' },
        { "log-file", required_argument, 0, 'f' },  { "log-level", required_argument, 0, 'v' },
        { "cert", required_argument, 0, 'X' },      { "broker-key", required_argument, 0, 'Y' },
        { "no-sandbox", no_argument, 0, 'S' },      { "limit-cpu", required_argument, 0, '1' },
        { "tools", required_argument, 0, 'T' },
        { "limit-memory", required_argument, 0, '2' },
        { "limit-file-size", required_argument, 0, '3' },
        { "limit-procs", required_argument, 0, '4' },
        { "version", no_argument, 0, 'V' },         { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 }
    };
    const char *tags[BF_TAGS_MAX + 1] = { 0 };
    int ntags = 0;
    int c;
    int64_t n;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        int rc = BF_OK;
        switch (c) {
            case 'b': cfg.broker = optarg; break;
            case 'w': cfg.work_dir = optarg; break;
            case 'n':
                rc = bf_opt_int (&n, "--slots", optarg, 1, 64);
                cfg.slots = (int) n;
                break;
            case 'N':
                if (strlen (optarg) == 0 || strlen (optarg) > 64)
                    rc = bf_error_set (BF_EINVAL, "invalid value '%.80s' for --name (1..64 bytes)", optarg);
                cfg.name = optarg;
                break;
            case 'H':
                rc = bf_opt_duration_ms (&n, "--heartbeat", optarg, 10, 60000);
                cfg.heartbeat_ms = (int) n;
                break;
            case 'L':
                rc = bf_opt_int (&n, "--liveness", optarg, 1, 100);
                cfg.liveness = (int) n;
                break;
            case 'k': cfg.keep_jobs = true; break;
            case 'X': cfg.cert_path = optarg; break;
            case 'Y': cfg.broker_key_path = optarg; break;
            case 'S': cfg.no_sandbox = true; break;
            case 'T': cfg.tools_dir = optarg; break;
            case '1':
                rc = bf_opt_duration_ms (&n, "--limit-cpu", optarg, 1000, 7LL * 86400000);
                cfg.limits.cpu_s = n / 1000;
                break;
            case '2':
                rc = bf_opt_size (&cfg.limits.as_bytes, "--limit-memory", optarg, 64 << 20,
                                  INT64_MAX / 2);
                break;
            case '3':
                rc = bf_opt_size (&cfg.limits.fsize_bytes, "--limit-file-size", optarg, 1 << 20,
                                  INT64_MAX / 2);
                break;
            case '4':
                rc = bf_opt_int (&cfg.limits.nproc, "--limit-procs", optarg, 16, 1000000);
                break;
            case 'K': cfg.config_file = optarg; break;
            case 'c': cfg.cache_dir = optarg; break;
            case 'C':
                rc = bf_opt_size (&n, "--cache-max-size", optarg, 1 << 20, INT64_MAX / 2);
                cfg.cache.max_size = (uint64_t) n;
                break;
            case 'F': cfg.cache.force_network_fs = true; break;
            case 't': rc = bf_opt_tag (tags, &ntags, optarg); break;
            case 'p': pid_file = optarg; break;
            case 'f': log_file = optarg; break;
            case 'v': rc = bf_log_parse_level (optarg, &level); break;
            case 'V': puts ("bitfarm-worker 0.1.0"); return 0;
            case 'h': fputs (s_usage, stdout); return 0;
            default: fputs (s_usage, stderr); return 2;
        }
        if (rc != BF_OK) {
            fprintf (stderr, "bitfarm-worker: %s\n", bf_error_last ());
            return 2;
        }
    }
    if (!cfg.broker || !cfg.work_dir || optind < argc) {
        fprintf (stderr, "bitfarm-worker: --broker and --work-dir are required\n%s", s_usage);
        return 2;
    }
    if (!cfg.cert_path != !cfg.broker_key_path) {
        fprintf (stderr, "bitfarm-worker: --cert and --broker-key go together\n");
        return 2;
    }
    if (bf_opt_daemon_init ("worker", level, log_file) != BF_OK) {
        fprintf (stderr, "bitfarm-worker: %s\n", bf_error_last ());
        return 1;
    }
    cfg.tags = tags;
    zsys_handler_set (bf_worker_signal);
    bf_worker_t *worker = NULL;
    if (bf_worker_new (&worker, &cfg) != BF_OK) {
        bf_err ("%s", bf_error_last ());
        if (log_file)
            fprintf (stderr, "bitfarm-worker: %s\n", bf_error_last ());
        return 1;
    }
    if (pid_file && bf_opt_write_pidfile (pid_file) != BF_OK)
        bf_warn ("%s", bf_error_last ());
    if (cfg.no_sandbox)
        bf_warn ("UNSANDBOXED (--no-sandbox): build tools run with this worker's rights and "
                 "can read its keys, its cache and the host");
    if (!cfg.cert_path && !bf_endpoint_is_local (cfg.broker))
        bf_warn ("INSECURE: talking to '%s' without CURVE: designs and bitstreams cross the "
                 "network in the clear", cfg.broker);
    int rc = bf_worker_run (worker);
    bf_worker_destroy (&worker);
    if (pid_file)
        remove (pid_file);
    if (rc != BF_OK) {
        if (log_file)
            fprintf (stderr, "bitfarm-worker: %s\n", bf_error_last ());
        return 1;
    }
    return 0;
}

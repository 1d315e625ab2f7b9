/*  bitfarm-worker - the bitfarm worker daemon.  See --help. */
#include "bf_worker.h"
#include "../common/bf_config.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_opt.h"
#include "../common/bf_proto.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

static const char s_head[] =
    "usage: bitfarm-worker --broker ENDPOINT --work-dir DIR [options]\n"
    "\n"
    "A bitfarm worker: registers with the broker and runs iCE40 builds\n"
    "(yosys -> nextpnr-ice40 -> icepack) in fresh job directories, and, with\n"
    "--config, programs its boards with openFPGALoader (one job per board).\n"
    "\n";

static const char s_tail[] =
    "\n"
    "SIGTERM or SIGINT drains the worker: it takes no new jobs, finishes the\n"
    "running ones, hands in their results and exits.  A second signal stops it\n"
    "at once; the broker retries the builds it killed.\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 when the worker cannot start\n"
    "(for example a missing tool or no sandbox) or the broker refused its key,\n"
    "2 for a usage error.\n";

static int
s_check_name (const char *option, const char *value)
{
    if (strlen (value) == 0 || strlen (value) > 64)
        return bf_error_set (BF_EINVAL, "invalid value '%.80s' for %s (1..64 bytes)", value,
                             option);
    return BF_OK;
}

/*  What the worker's table fills besides bf_worker_config_t. */
typedef struct {
    const char *tags[BF_TAGS_MAX + 1];
} s_extra_t;

#define S_OFF(field) offsetof (bf_worker_config_t, field)
static const bf_config_opt_t s_opts[] = {
    { "broker", BF_CFG_STR, S_OFF (broker), 0, 0, "ENDPOINT",
      "the broker's ZeroMQ endpoint (tcp://HOST:PORT, ipc://PATH)", NULL },
    { "work-dir", BF_CFG_STR, S_OFF (work_dir), 0, 0, "DIR",
      "job directories and the toolchain memo (created)", NULL },
    { "slots", BF_CFG_INT, S_OFF (slots), 1, 64, "N", "jobs run at once (default 1; 1..64)",
      NULL },
    { "name", BF_CFG_CHECK, S_OFF (name), 0, 0, "NAME",
      "name shown by `bitfarm workers` (default HOST:PID)", s_check_name },
    { "config", BF_CFG_STR, S_OFF (config_file), 0, 0, "FILE",
      "JSON file declaring this worker's boards (docs/boards.md);\n"
      "checked at start-up: a bad entry is an error naming it", NULL },
    { "cert", BF_CFG_STR, S_OFF (cert_path), 0, 0, "FILE",
      "this worker's secret key (NAME.key_secret from\n"
      "`bitfarm keygen --role worker NAME`): talk CURVE", NULL },
    { "broker-key", BF_CFG_STR, S_OFF (broker_key_path), 0, 0, "FILE",
      "the broker's public key (its NAME.key); with --cert", NULL },
    { "tools", BF_CFG_STR, S_OFF (tools_dir), 0, 0, "DIR",
      "run yosys, yosys-abc, nextpnr-ice40 and icepack from DIR\n"
      "instead of PATH: another toolchain, with its own identity\n"
      "(jobs pin it with `submit --toolchain ID`)", NULL },
    { "no-sandbox", BF_CFG_FLAG, S_OFF (no_sandbox), 0, 0, NULL,
      "run yosys, nextpnr and icepack without bubblewrap\n"
      "(`bitfarm workers` shows the worker as unsandboxed).\n"
      "Without it the worker refuses to start when bubblewrap\n"
      "is missing or cannot create namespaces", NULL },
    { "limit-cpu", BF_CFG_SECONDS, S_OFF (limits.cpu_s), 1000, 7LL * 86400000, "DURATION",
      "CPU time per tool run (default 1h)", NULL },
    { "limit-memory", BF_CFG_SIZE, S_OFF (limits.as_bytes), 64 << 20, INT64_MAX / 2, "SIZE",
      "address space per tool run (default 8G)", NULL },
    { "limit-file-size", BF_CFG_SIZE, S_OFF (limits.fsize_bytes), 1 << 20, INT64_MAX / 2,
      "SIZE", "largest file a tool may write (default 1G)", NULL },
    { "limit-procs", BF_CFG_INT64, S_OFF (limits.nproc), 16, 1000000, "N",
      "processes and threads of the tools' user while a tool runs\n"
      "(default 1024; a root worker's tools run as uid 65534)", NULL },
    { "keep-jobs", BF_CFG_FLAG, S_OFF (keep_jobs), 0, 0, NULL,
      "keep job directories after each job, for debugging", NULL },
    { "cache-dir", BF_CFG_STR, S_OFF (cache_dir), 0, 0, "DIR",
      "the local (L1) cache of inputs and results\n"
      "(default WORK-DIR/cache; must be on a local disk)", NULL },
    { "cache-max-size", BF_CFG_SIZE, S_OFF (cache.max_size), 1 << 20, INT64_MAX / 2, "SIZE",
      "cap on the local cache, e.g. 512M, 10G (default 1G)", NULL },
    { "cache-force-network-fs", BF_CFG_FLAG, S_OFF (cache.force_network_fs), 0, 0, NULL,
      "open the local cache even on a network filesystem", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const bf_config_opt_t s_tag_opts[] = {
    { "tag", BF_CFG_TAG, offsetof (s_extra_t, tags), 0, 0, "TAG",
      "a tag jobs can require with `submit --tag` (repeatable;\n"
      "up to 16 of 1..32 characters of a-z 0-9 _ . -)", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

int
main (int argc, char **argv)
{
    bf_worker_config_t cfg = { .slots = 1 };
    bf_daemon_opts_t common = { .heartbeat_ms = 1000, .liveness = 3,
                                .log_level = BF_LOG_INFO,
                                .job_log_max = BF_JOB_LOG_MAX_DEFAULT };
    s_extra_t extra = { { 0 } };
    const bf_config_table_t tables[] = { { s_opts, &cfg }, { s_tag_opts, &extra },
                                         { bf_config_daemon_common, &common } };
    int first = 0;
    int prc = bf_config_main (tables, 3, argc, argv, "bitfarm-worker", "bitfarm-worker 0.1.0",
                              s_head, s_tail, &first);
    if (prc >= 0)
        return prc;
    cfg.heartbeat_ms = common.heartbeat_ms;
    cfg.liveness = common.liveness;
    cfg.job_log_max = (uint64_t) common.job_log_max;
    const char *pid_file = common.pid_file, *log_file = common.log_file;
    int level = common.log_level;
    if (!cfg.broker || !cfg.work_dir || first < argc) {
        fprintf (stderr, "bitfarm-worker: --broker and --work-dir are required\n");
        fputs (s_head, stderr);
        bf_config_usage (stderr, tables, 3);
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
    cfg.tags = extra.tags;
    bf_config_log (tables, 3);
    zsys_handler_set (bf_worker_signal);
    bf_worker_t *worker = NULL;
    if (bf_worker_new (&worker, &cfg) != BF_OK) {
        bf_err ("%s", bf_error_last ());
        if (log_file)
            fprintf (stderr, "bitfarm-worker: %s\n", bf_error_last ());
        return 1;
    }
    /* The warnings come before the pid file: whoever waits for the pid
       file (the local farm) then finds them in the log. */
    if (cfg.no_sandbox)
        bf_warn ("UNSANDBOXED (--no-sandbox): build tools run with this worker's rights and "
                 "can read its keys, its cache and the host");
    if (!cfg.cert_path && !bf_endpoint_is_local (cfg.broker))
        bf_warn ("INSECURE: talking to '%s' without CURVE: designs and bitstreams cross the "
                 "network in the clear", cfg.broker);
    if (pid_file && bf_opt_write_pidfile (pid_file) != BF_OK)
        bf_warn ("%s", bf_error_last ());
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

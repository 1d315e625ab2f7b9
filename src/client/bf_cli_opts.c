/*  bf_cli_opts - the options of bitfarm's command line: their table (name,
    letter, argument, help) and what each sets in the parsed record
    (bf_cli_apply).  One meaning per option name, shared by the command
    line (main.c), the project file's keys (bf_target.c) and the client
    library's design options (bitfarm_design_set, src/lib): all three
    check a value the same way.  Declared in bf_cli.h and bf_cli_table.h. */
#include "bf_cli.h"
#include "bf_cli_table.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const s_option_t bf_cli_options[BF_O_COUNT] = {
    [BF_O_BROKER] = { "broker", 0, "ENDPOINT", "broker to use (default $BITFARM_BROKER; if "
                      "unset, the per-user local farm, started on first use)" },
    [BF_O_REQUEST_TIMEOUT] = { "request-timeout", 0, "DURATION", "how long to wait for each "
                               "answer from the broker (default 5s)" },
    [BF_O_CERT] = { "cert", 0, "FILE", "this client's secret key (NAME.key_secret) for a CURVE "
                    "broker (default $BITFARM_CERT)" },
    [BF_O_BROKER_KEY] = { "broker-key", 0, "FILE", "the broker's public key (its NAME.key) "
                          "(default $BITFARM_BROKER_KEY); needed with --cert" },
    [BF_O_JSON] = { "json", 0, NULL, "machine-readable output" },
    [BF_O_HELP] = { "help", 'h', NULL, "this help" },
    [BF_O_VERSION] = { "version", 0, NULL, "the version" },
    [BF_O_TOP] = { "top", 0, "NAME", "top module (required)" },
    [BF_O_DEVICE] = { "device", 0, "DEV", "iCE40 device, a nextpnr-ice40 flag: lp384 lp1k lp4k "
                      "lp8k hx1k hx4k hx8k up3k up5k u1k u2k u4k (required)" },
    [BF_O_PACKAGE] = { "package", 0, "PKG", "package as nextpnr names it: sg48, tq144, ct256, "
                       "tq144:4k (with --device hx8k), ... (default: nextpnr's)" },
    [BF_O_PCF] = { "pcf", 0, "FILE", "pin constraints" },
    [BF_O_FREQ] = { "freq", 0, "MHZ", "nextpnr --freq: target clock frequency (at most 3 "
                    "decimals)" },
    [BF_O_SEED] = { "seed", 0, "N", "nextpnr --seed (default: none, nextpnr's own default)" },
    [BF_O_DEFINE] = { NULL, 'D', "NAME[=VALUE]", "Verilog define (repeatable)" },
    [BF_O_INCLUDE] = { NULL, 'I', "DIR", "include directory (repeatable)" },
    [BF_O_PARAM] = { "param", 0, "NAME=VALUE", "top-level parameter, set before yosys "
                     "elaborates (repeatable); a value that is not a Verilog number (42, 8'hff) "
                     "is a string" },
    [BF_O_SYNTH_OPT] = { "synth-opt", 0, "OPT", "pass OPT to synth_ice40: -dsp, -abc9, "
                         "'-dffe_min_ce_use 4', ... (repeatable; allowed options: "
                         "docs/flows.md)" },
    [BF_O_PNR_OPT] = { "pnr-opt", 0, "OPT", "pass OPT to nextpnr-ice40: '--placer heap', "
                       "--timing-allow-fail, ... (repeatable; docs/flows.md)" },
    [BF_O_FLOW] = { "flow", 0, "FLOW", "ice40 (the default), or noop: the diagnostic flow, no "
                    "tools, a deterministic result" },
    [BF_O_DELAY] = { "delay", 0, "DURATION", "with --flow noop: how long the job takes" },
    [BF_O_ROOT] = { "root", 0, "DIR", "the design's tree: every file given must lie in it, and "
                    "only files in it that the sources use are sent (default: the current "
                    "directory, or the deepest directory holding every file given)" },
    [BF_O_DRY_RUN] = { "dry-run", 'n', NULL, "list the files that would be sent (paths as the "
                       "worker sees them, sizes) and send nothing" },
    [BF_O_TOOLCHAIN] = { "toolchain", 0, "ID", "build only on workers with this toolchain (an "
                         "identity prefix of 8 or more hex characters, see `bitfarm workers`)" },
    [BF_O_PRIORITY] = { "priority", 0, "N", "-1000..1000, higher runs first (default 0)" },
    [BF_O_TIMEOUT] = { "timeout", 0, "DURATION", "wall-clock limit of each attempt (default: "
                       "the broker's, normally 1h); the job ends timed_out when it is reached" },
    [BF_O_TAG] = { "tag", 0, "TAG", "run only on workers started with --tag TAG (repeatable)" },
    [BF_O_PROGRAM] = { "program", 0, "BOARD", "after the build, load the bitstream into BOARD "
                       "(a second job, whose id is printed; on a cache hit it runs at once)" },
    [BF_O_TOKEN] = { "token", 0, "TOKEN", "a reservation token for the board (default "
                     "$BITFARM_TOKEN)" },
    [BF_O_WAIT] = { "wait", 0, NULL, "wait for the job to end, showing progress; exit with its "
                    "status (see `bitfarm --help`)" },
    [BF_O_OUTPUT] = { "output", 'o', "FILE", "with --wait: write the bitstream to FILE" },
    [BF_O_DIFF] = { "diff", 0, "KEY", "which inputs differ from that cache entry (exit 0 when "
                    "none, 1 when some)" },
    [BF_O_CACHE_DIR] = { "cache-dir", 0, "DIR", "work on this cache directory, without a "
                         "broker (STATE/cache on the broker's host; the local farm's is "
                         "~/.cache/bitfarm/state/cache)" },
    [BF_O_EVENTS] = { "events", 0, NULL, "the job's history: attempts, workers, retries and "
                      "their reasons" },
    [BF_O_FOLLOW] = { "follow", 'f', NULL, "keep printing the log as it grows, until the job "
                      "ends" },
    [BF_O_REPORT] = { "report", 0, NULL, "nextpnr's JSON report instead of the bitstream" },
    [BF_O_LOG] = { "log", 0, NULL, "the build log instead of the bitstream" },
    [BF_O_LIMIT] = { NULL, 'n', "N", "how many (default 20)" },
    [BF_O_OLDER_THAN] = { "older-than", 0, "DURATION", "evict the entries not used for "
                          "DURATION (30d, 12h)" },
    [BF_O_MAX_SIZE] = { "max-size", 0, "SIZE", "evict the least recently used entries until "
                        "the cache holds at most SIZE (5G, 500M)" },
    [BF_O_BOARD] = { "board", 0, "NAME", "the board to load" },
    [BF_O_FOR] = { "for", 0, "DURATION", "the lease's length (default 15m, at most 24h)" },
    [BF_O_BY] = { "by", 0, "WHO", "a label for people, as `bitfarm boards` shows beside "
                  "the holder's key (default USER@HOST)" },
    [BF_O_ENABLE] = { "enable", 0, NULL, "back in service (clears an error)" },
    [BF_O_MAINTENANCE] = { "maintenance", 0, NULL, "out of service" },
    [BF_O_REASON] = { "reason", 0, "TEXT", "why, as `bitfarm boards` shows" },
    [BF_O_ROLE] = { "role", 0, "ROLE", "broker, worker or client (required)" },
    [BF_O_KEY] = { "key", 0, "NAME", "the client key (its name, KEYS/clients/NAME.key) the "
                   "token stands for" },
    [BF_O_DIR] = { "dir", 0, "DIR", "where to write the key pair (default: the current "
                   "directory)" },
    [BF_O_DEFAULT] = { "default", 0, "ID|auto", "make toolchain ID (8 or more hex characters) "
                       "the farm's default, or give the choice back to the workers (admin)" },
    [BF_O_RELEASE] = { "release", 0, "NAME", "free worker name NAME for another key, e.g. "
                       "after a worker's key was replaced (admin)" },
    /* submit from git (issue 16) */
    [BF_O_REV] = { "rev", 0, "REV", "build this commit, tag or branch from the git object "
                   "database: no checkout, the working tree is ignored" },
    [BF_O_GIT_DIR] = { "git-dir", 0, "DIR", "the repository (may be bare; default: the one "
                       "the current directory lies in)" },
    /* cache stats over the wire (issue 16, r16-stats) */
    [BF_O_SINCE] = { "since", 0, "DURATION", "cache stats: the builds, hits and build time "
                     "saved of the jobs submitted in the last DURATION (7d, 12h; default: "
                     "all the history the broker keeps)" },
    /* the project file (issue 16, r16-project) */
    [BF_O_TARGET] = { "target", 't', "NAME", "build this target of bitfarm.ini (repeatable)" },
    [BF_O_ALL] = { "all", 0, NULL, "build every target of bitfarm.ini: submit them all, then "
                   "(with --wait) wait for them all; the exit status is the largest of theirs" },
    [BF_O_JUNIT] = { "junit", 0, "FILE", "with --wait: write a JUnit XML report, one test case "
                     "per target" },
    [BF_O_ARTIFACTS] = { "artifacts", 0, "DIR", "with --wait: write each target's bitstream, "
                         "nextpnr report and log to DIR/TARGET.bin, .report.json, .log" },
    /* issue 16: containers and chroots */
    [BF_O_NO_SANDBOX] = { "no-sandbox", 0, NULL, "build without bubblewrap, where it cannot "
                          "run (a container or chroot without user namespaces); until "
                          "`farm stop`" },
    /* register I/O (issue 17) */
    [BF_O_REGIO] = { "regio", 0, "PROFILE", "the top is a Wishbone B4 slave: wrap it with "
                     "bitfarm's UARTBone bridge and PROFILE's clock and UART pins (icebreaker, "
                     "icestick; docs/regio.md)" },
    [BF_O_FIXED] = { "fixed", 0, NULL, "one register COUNT times (a FIFO), not COUNT registers "
                     "from ADDR on" },
    [BF_O_MASK] = { "mask", 0, "M", "the bits of the register to compare (default 0xffffffff)" },
    [BF_O_VALUE] = { "value", 0, "V", "what those bits must be" },
    [BF_O_FILE] = { "file", 0, "FILE", "the words to write: numbers (42, 0x2a) separated by "
                    "white space, '#' starts a comment" },
};

static void
s_push (const char ***list, int *n, const char *v)
{
    *list = xrealloc (*list, (size_t) (*n + 1) * sizeof **list);
    (*list)[(*n)++] = v;
}

int
bf_cli_option_named (const char *name)
{
    for (int o = 0; o < BF_O_COUNT; o++)
        if (bf_cli_options[o].name && strcmp (bf_cli_options[o].name, name) == 0)
            return o;
    return -1;
}

const char *
bf_cli_option_name (int o)
{
    return o >= 0 && o < BF_O_COUNT ? bf_cli_options[o].name : NULL;
}

void
bf_cli_args_release (bf_cli_args_t *a)
{
    free (a->design.defines);
    free (a->design.includes);
    free (a->design.params);
    free (a->design.synth_opts);
    free (a->design.pnr_opts);
    free (a->targets);
    a->design.defines = a->design.includes = a->design.params = NULL;
    a->design.synth_opts = a->design.pnr_opts = a->targets = NULL;
    a->design.ndefines = a->design.nincludes = a->design.nparams = 0;
    a->design.nsynth_opts = a->design.npnr_opts = a->ntargets = 0;
}

int
bf_cli_apply (bf_cli_args_t *a, int o, const char *v)
{
    int64_t n;
    int rc = BF_OK;
    switch (o) {
        case BF_O_BROKER: a->broker = v; break;
        case BF_O_REQUEST_TIMEOUT:
            rc = bf_opt_duration_ms (&n, "--request-timeout", v, 10, 3600000);
            a->timeout_ms = (int) n;
            break;
        case BF_O_TIMEOUT:
            rc = bf_opt_duration_ms (&a->submit.timeout_ms, "--timeout", v, 1000,
                                     30LL * 86400000);
            break;
        case BF_O_TAG: rc = bf_opt_tag (a->tags, &a->ntags, v); break;
        case BF_O_FLOW:
            if (strcmp (v, "ice40") != 0 && strcmp (v, "noop") != 0)
                rc = bf_error_set (BF_EINVAL, "invalid value '%.80s' for --flow (want ice40 "
                                   "or noop)", v);
            a->design.flow = v;
            break;
        case BF_O_DELAY:
            rc = bf_opt_duration_ms (&a->design.delay_ms, "--delay", v, 0, BF_NOOP_DELAY_MAX);
            break;
        case BF_O_EVENTS: a->events = true; break;
        case BF_O_CACHE_DIR: a->cache_dir = v; break;
        case BF_O_TOOLCHAIN: a->toolchain = v; break;
        case BF_O_DIFF: a->diff = v; break;
        case BF_O_OLDER_THAN:
            rc = bf_opt_duration_ms (&a->older_than_ms, "--older-than", v, 0,
                                     3650LL * 86400000);
            if (rc == BF_OK && a->older_than_ms == 0)
                a->older_than_ms = 1;   /* "0s": everything not used from now on */
            break;
        case BF_O_MAX_SIZE:
            rc = bf_opt_size (&a->max_size, "--max-size", v, 0, INT64_MAX / 2);
            break;
        case BF_O_BOARD: a->board = v; break;
        case BF_O_TOKEN: a->token = v; break;
        case BF_O_PROGRAM: a->submit.program_board = v; break;
        case BF_O_FOR: rc = bf_opt_duration_ms (&a->lease_ms, "--for", v, 1000, 86400000); break;
        case BF_O_BY: a->by = v; break;
        case BF_O_CERT: a->cert = v; break;
        case BF_O_BROKER_KEY: a->broker_key = v; break;
        case BF_O_ROLE: a->role = v; break;
        case BF_O_DIR: a->dir = v; break;
        case BF_O_ENABLE: a->health = "ok"; break;
        case BF_O_MAINTENANCE: a->health = "maintenance"; break;
        case BF_O_REASON: a->reason = v; break;
        case BF_O_DEFAULT: a->set_default = v; break;
        case BF_O_RELEASE: a->release_name = v; break;
        case BF_O_REV: a->rev = v; break;         /* submit from git (issue 16) */
        case BF_O_GIT_DIR: a->git_dir = v; break;
        case BF_O_SINCE:   /* r16-stats */
            rc = bf_opt_duration_ms (&a->since_ms, "--since", v, 1000, 3650LL * 86400000);
            break;
        case BF_O_TARGET: s_push (&a->targets, &a->ntargets, v); break;
        case BF_O_ALL: a->all = true; break;
        case BF_O_JUNIT: a->junit = v; break;
        case BF_O_ARTIFACTS: a->artifacts = v; break;
        case BF_O_NO_SANDBOX: a->no_sandbox = true; break;   /* issue 16 */
        case BF_O_REGIO: a->regio = v; break;                /* issue 17 */
        case BF_O_FIXED: a->fixed = true; break;             /* issue 17 */
        case BF_O_MASK: a->mask = v; break;
        case BF_O_VALUE: a->value = v; break;
        case BF_O_FILE: a->file = v; break;
        case BF_O_KEY: a->key = v; break;                     /* issue 19 */
        case BF_O_JSON: a->json = true; break;
        case BF_O_WAIT: a->wait = true; break;
        case BF_O_FOLLOW: a->follow = true; break;
        case BF_O_DRY_RUN: a->dry_run = true; break;
        case BF_O_ROOT: a->design.root = v; break;
        case BF_O_OUTPUT: a->output = v; break;
        case BF_O_REPORT: a->what = "report"; break;
        case BF_O_LOG: a->what = "log"; break;
        case BF_O_TOP: a->design.top = v; break;
        case BF_O_DEVICE: a->design.device = v; break;
        case BF_O_PACKAGE: a->design.package = v; break;
        case BF_O_PCF: a->design.pcf = v; break;
        case BF_O_FREQ: a->design.freq_mhz = v; break;
        case BF_O_SEED: rc = bf_opt_int (&a->design.seed, "--seed", v, 0, 2147483647); break;
        case BF_O_DEFINE: s_push (&a->design.defines, &a->design.ndefines, v); break;
        case BF_O_INCLUDE: s_push (&a->design.includes, &a->design.nincludes, v); break;
        case BF_O_PARAM: s_push (&a->design.params, &a->design.nparams, v); break;
        case BF_O_SYNTH_OPT: s_push (&a->design.synth_opts, &a->design.nsynth_opts, v); break;
        case BF_O_PNR_OPT: s_push (&a->design.pnr_opts, &a->design.npnr_opts, v); break;
        case BF_O_PRIORITY:
            rc = bf_opt_int (&n, "--priority", v, -1000, 1000);
            a->submit.priority = (int) n;
            break;
        case BF_O_LIMIT:
            rc = bf_opt_int (&n, "-n", v, 1, 10000);
            a->limit = (int) n;
            break;
        default: break;
    }
    return rc;
}

const char *
bf_cli_option_help (int o, const s_optdoc_t *docs)
{
    for (const s_optdoc_t *d = docs; d && d->opt >= 0; d++)
        if (d->opt == o)
            return d->help;
    return bf_cli_options[o].help;
}

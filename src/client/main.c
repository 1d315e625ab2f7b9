/*  bitfarm - the bitfarm command-line client (also installed as `submit`).

    One table of commands (after git's cmd_struct in git.c): each names its
    handler (cmd_*.c), the options it takes, a one-line summary and its
    help.  The usage (`bitfarm --help`), each command's help (`bitfarm help
    COMMAND`, `bitfarm COMMAND --help`) and the refusal of an option a
    command does not take all come from it, and from the one table of
    options below. */
#include "bf_cli.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_util.h"

#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_VERSION "bitfarm 0.1.0"

/* ---------------------------------------------------------------------- */
/*  The options                                                             */

typedef struct {
    const char *name;    /* long name without "--", or NULL */
    char shortc;         /* short option, or 0 */
    const char *arg;     /* the value's name, or NULL: a flag */
    const char *help;    /* the meaning every command gives it, unless its own docs say */
} s_option_t;

static const s_option_t s_options[BF_O_COUNT] = {
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
    [BF_O_CACHE_DIR] = { "cache-dir", 0, "DIR", "the cache (default: the local farm's, "
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
    [BF_O_DIR] = { "dir", 0, "DIR", "where to write the key pair (default: the current "
                   "directory)" },
    [BF_O_DEFAULT] = { "default", 0, "ID|auto", "make toolchain ID (8 or more hex characters) "
                       "the farm's default, or give the choice back to the workers (admin)" },
    [BF_O_RELEASE] = { "release", 0, "NAME", "free worker name NAME for another key, e.g. "
                       "after a worker's key was replaced (admin)" },
};

/*  Options every command takes; those of the commands that ask a broker. */
#define S_ALWAYS (BF_O (BF_O_HELP) | BF_O (BF_O_VERSION))
#define S_BROKER (BF_O (BF_O_BROKER) | BF_O (BF_O_REQUEST_TIMEOUT) | BF_O (BF_O_CERT) \
                  | BF_O (BF_O_BROKER_KEY) | BF_O (BF_O_JSON))
#define S_DESIGN (BF_O (BF_O_TOP) | BF_O (BF_O_DEVICE) | BF_O (BF_O_PACKAGE) | BF_O (BF_O_PCF) \
                  | BF_O (BF_O_FREQ) | BF_O (BF_O_SEED) | BF_O (BF_O_DEFINE)                \
                  | BF_O (BF_O_INCLUDE) | BF_O (BF_O_PARAM) | BF_O (BF_O_SYNTH_OPT)         \
                  | BF_O (BF_O_PNR_OPT) | BF_O (BF_O_FLOW) | BF_O (BF_O_DELAY)             \
                  | BF_O (BF_O_ROOT))
#define S_RUN (BF_O (BF_O_TOOLCHAIN) | BF_O (BF_O_PRIORITY) | BF_O (BF_O_TIMEOUT)          \
               | BF_O (BF_O_TAG) | BF_O (BF_O_PROGRAM) | BF_O (BF_O_TOKEN) | BF_O (BF_O_WAIT) \
               | BF_O (BF_O_OUTPUT))
#define S_CACHE (BF_O (BF_O_CACHE_DIR) | BF_O (BF_O_JSON))

/*  A command's own meaning of an option, for its help. */
typedef struct {
    int opt;             /* BF_O_*; -1 ends a list */
    const char *help;
} s_optdoc_t;

#define S_DOCS(...) ((const s_optdoc_t[]) { __VA_ARGS__, { -1, NULL } })

/* ---------------------------------------------------------------------- */
/*  The commands                                                            */

typedef struct s_cmd {
    const char *name;
    int (*fn) (bf_cli_args_t *a);   /* a group: called when no subcommand matches */
    uint64_t opts;                  /* the options it takes (BF_O bits), besides S_ALWAYS */
    const char *synopsis;           /* its operands and main options */
    const char *summary;            /* one line, for `bitfarm --help` */
    const char *help;               /* more, for `bitfarm help NAME`; or NULL */
    const s_optdoc_t *docs;         /* its own meaning of some options; or NULL */
    const struct s_cmd *subs;       /* a group's subcommands, ended by a NULL name; or NULL */
    unsigned flags;                 /* S_NOZSYS */
} s_cmd_t;

#define S_NOZSYS 1u   /* runs without the CZMQ runtime (zsys_init) */

static const s_cmd_t s_cache_cmds[] = {
    { "stats", bf_cmd_cache_stats, S_CACHE, "",
      "entries, bytes, cap, hits, misses, hit rate, evictions, corruptions; overall and per "
      "toolchain", NULL, NULL, NULL, 0 },
    { "ls", bf_cmd_cache_ls, S_CACHE | BF_O (BF_O_LIMIT), "[-n N]",
      "the N most recently used entries (default 20)", NULL, NULL, NULL, 0 },
    { "show", bf_cmd_cache_show, S_CACHE, "KEY",
      "an entry: manifest, options, toolchain, report summary, when built, hits (KEY: 8 or "
      "more hex characters)", NULL, NULL, NULL, 0 },
    { "verify", bf_cmd_cache_verify, S_CACHE, "",
      "re-hash every object; quarantine and list the bad ones (exit 1 if any)", NULL, NULL,
      NULL, 0 },
    { "gc", bf_cmd_cache_gc, S_CACHE, "",
      "remove orphan files, rows without files, temp files older than 1h", NULL, NULL, NULL,
      0 },
    { "evict", bf_cmd_cache_evict, S_CACHE | BF_O (BF_O_OLDER_THAN) | BF_O (BF_O_MAX_SIZE),
      "--older-than DURATION | --max-size SIZE", "evict unused entries", NULL, NULL, NULL, 0 },
    { "invalidate", bf_cmd_cache_invalidate, S_CACHE | BF_O (BF_O_TOOLCHAIN), "--toolchain ID",
      "disown a toolchain: drop its entries and refuse new ones (ID: 8 or more hex "
      "characters)", NULL, NULL, NULL, 0 },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 }
};

static const s_cmd_t s_farm_cmds[] = {
    { "start", bf_cmd_farm_start, 0, "", "start the local farm unless it runs", NULL, NULL,
      NULL, 0 },
    { "stop", bf_cmd_farm_stop, 0, "", "stop it", NULL, NULL, NULL, 0 },
    { "status", bf_cmd_farm_status, BF_O (BF_O_JSON), "",
      "whether it runs (exit 0) or not (exit 3)", NULL, NULL, NULL, 0 },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 }
};

static const s_cmd_t s_commands[] = {
    { "submit", bf_cmd_submit, S_BROKER | S_DESIGN | S_RUN | BF_O (BF_O_DRY_RUN),
      "[options] FILES...",
      "send a design; prints the job id",
      "`submit ...` is `bitfarm submit ...`.\n"
      "FILES: .v (Verilog) and .sv (SystemVerilog) are read in the order given; other\n"
      "files ($readmemh data, `include files) are uploaded alongside.  The files the\n"
      "sources use -- `include \"..\", $readmemh(\"..\"), a string given to a parameter\n"
      "that a $readmem reads or whose name says FILE (INIT_FILE = \"..\"), a string\n"
      "--param -- are added when they lie in the design's tree (--root), outside\n"
      "dot-directories; comments and other strings never count.  -n lists what\n"
      "would be sent.  The farm runs exactly the commands `bitfarm explain` prints,\n"
      "with these flags and no others.\n", NULL, NULL, 0 },
    { "status", bf_cmd_status, S_BROKER | BF_O (BF_O_EVENTS), "JOB [--events]",
      "state, stage, attempt, worker, times, cache hit, error; --events: the job's history",
      "A job id may be shortened to any unique prefix of at least 4 characters.\n", NULL, NULL,
      0 },
    { "wait", bf_cmd_wait, S_BROKER, "JOB", "block until the job ends, showing progress",
      "The exit status is the job's (see `bitfarm --help`).\n", NULL, NULL, 0 },
    { "logs", bf_cmd_logs, S_BROKER | BF_O (BF_O_FOLLOW), "JOB [--follow]", "the tools' logs",
      NULL, NULL, NULL, 0 },
    { "fetch", bf_cmd_fetch, S_BROKER | BF_O (BF_O_OUTPUT) | BF_O (BF_O_REPORT)
      | BF_O (BF_O_LOG), "JOB -o FILE [--report|--log]",
      "the bitstream (or nextpnr's JSON report, or the log)",
      "With --json, -o FILE is needed: the JSON (path, size, sha256) goes to stdout.\n",
      S_DOCS ({ BF_O_OUTPUT, "write to FILE (default: stdout, but a bitstream not to a "
                "terminal)" }), NULL, 0 },
    { "cancel", bf_cmd_cancel, S_BROKER, "JOB", "cancel a queued or running job", NULL, NULL,
      NULL, 0 },
    { "jobs", bf_cmd_jobs, S_BROKER | BF_O (BF_O_LIMIT), "[-n N]", "the most recent jobs", NULL,
      S_DOCS ({ BF_O_LIMIT, "the N most recent jobs (default 20)" }), NULL, 0 },
    { "workers", bf_cmd_workers, S_BROKER | BF_O (BF_O_RELEASE), "[--release NAME]",
      "the connected workers, their toolchains and tool versions",
      "UNSANDBOXED marks a worker that builds without bubblewrap (--no-sandbox).\n"
      "A worker name belongs to the key that first registered it, across restarts;\n"
      "--release NAME (admin) lets another key take it.\n", NULL, NULL, 0 },
    { "toolchains", bf_cmd_toolchains, S_BROKER | BF_O (BF_O_DEFAULT), "[--default ID|auto]",
      "every toolchain identity seen, its workers, and the farm's default",
      "The default is what unpinned submits compute their cache key for: an admin's\n"
      "choice (--default ID), else the identity most connected workers report, ties\n"
      "to the one first seen; with no worker connected, the last one so chosen\n"
      "(docs/security.md).  --default auto gives the choice back to the workers.\n", NULL,
      NULL, 0 },
    { "explain", bf_cmd_explain, S_BROKER | S_DESIGN | S_RUN | BF_O (BF_O_DIFF)
      | BF_O (BF_O_CACHE_DIR), "[submit options] FILES... [--diff KEY]",
      "the exact commands, manifest, action digest and cache key; submits nothing",
      "It takes submit's options, so a submit's command line can be explained as it is.\n"
      "--diff KEY asks the broker for the entry (or reads --cache-dir) and prints one line\n"
      "per input that differs; exit 0 when none does, 1 when some do.\n",
      S_DOCS ({ BF_O_TOOLCHAIN, "the toolchain to compute the key for, all 64 hex characters "
                "(default: the broker's latest, else the one on this machine)" },
              { BF_O_CACHE_DIR, "with --diff: read the entry from this cache, not from the "
                "broker" }), NULL, 0 },
    { "cache", bf_cmd_cache, 0, "SUBCOMMAND [options]",
      "the bitstream cache: stats, ls, show, verify, gc, evict, invalidate",
      "These work on a cache directory, without a broker: run them where the broker\n"
      "runs, with --cache-dir STATE/cache.\n",
      S_DOCS ({ BF_O_LIMIT, "cache ls: the N most recently used entries (default 20)" },
              { BF_O_TOOLCHAIN, "cache invalidate: the toolchain to disown (8 or more hex "
                "characters)" }), s_cache_cmds, 0 },
    { "program", bf_cmd_program, S_BROKER | BF_O (BF_O_BOARD) | BF_O (BF_O_WAIT)
      | BF_O (BF_O_PRIORITY) | BF_O (BF_O_TIMEOUT) | BF_O (BF_O_TOKEN),
      "--board NAME JOB|KEY|FILE.bin",
      "load a finished build's bitstream, a cache entry's, or a file into a board; prints "
      "the job id", NULL, NULL, NULL, 0 },
    { "boards", bf_cmd_boards, S_BROKER, "",
      "every board: device, worker, state, last job",
      "States: idle, busy, reserved (by whom, until when), error, maintenance, offline.\n",
      NULL, NULL, 0 },
    { "board", bf_cmd_board, S_BROKER | BF_O (BF_O_ENABLE) | BF_O (BF_O_MAINTENANCE)
      | BF_O (BF_O_REASON), "NAME --enable | --maintenance [--reason TEXT]",
      "put a board back in service (clears error) or take it out (admin keys only)", NULL,
      NULL, NULL, 0 },
    { "reserve", bf_cmd_reserve, S_BROKER | BF_O (BF_O_DEVICE) | BF_O (BF_O_FOR)
      | BF_O (BF_O_WAIT) | BF_O (BF_O_BY) | BF_O (BF_O_TIMEOUT),
      "NAME | --device DEV [--for DURATION] [--wait] [--by WHO]",
      "a lease on a board; prints the token",
      "Jobs with --token TOKEN may use the board, others wait; using it renews the\n"
      "lease; expiry frees the board.  The lease is held by this key: the token\n"
      "works only from it.\n",
      S_DOCS ({ BF_O_DEVICE, "any board of this device" },
              { BF_O_WAIT, "while the board is busy or reserved, keep trying" },
              { BF_O_TIMEOUT, "with --wait: give up after DURATION" }), NULL, 0 },
    { "release", bf_cmd_release, S_BROKER | BF_O (BF_O_TOKEN), "NAME --token TOKEN",
      "end the lease (only its token, from the key that reserved it, can)", NULL,
      S_DOCS ({ BF_O_TOKEN, "the token reserve printed (default $BITFARM_TOKEN)" }), NULL, 0 },
    { "farm", bf_cmd_farm, 0, "start|stop|status", "the per-user local farm",
      "Its state is under $XDG_CACHE_HOME/bitfarm; submit starts it on first use when\n"
      "no broker is given.\n", S_DOCS ({ BF_O_JSON, "farm status: machine-readable output" }),
      s_farm_cmds, 0 },
    { "keygen", bf_cmd_keygen, BF_O (BF_O_ROLE) | BF_O (BF_O_DIR),
      "--role broker|worker|client NAME [--dir DIR]", "a CURVE key pair",
      "Writes DIR/NAME.key (public) and DIR/NAME.key_secret (mode 0600).  Put NAME.key\n"
      "in the broker's KEYS/workers, KEYS/clients or KEYS/admins to allow it\n"
      "(docs/security.md).\n", NULL, NULL, S_NOZSYS },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 }
};

static const char s_exit_status[] =
    "Exit status:\n"
    "  0  success\n"
    "  1  design failure: the tools rejected the design (syntax, capacity, pins, timing);\n"
    "     or bitstream failure: the board rejected the bitstream (IDCODE, CRC, DONE low)\n"
    "  2  usage error: bad options or unreadable input files; or not allowed: another\n"
    "     key's job (cancel, logs)\n"
    "  3  infrastructure failure: broker unreachable or refusing this key, or the job\n"
    "     failed for a reason outside the design (worker lost, tool killed) on every\n"
    "     attempt\n"
    "  4  the job timed out\n"
    "  5  the job was cancelled\n";

static const s_cmd_t *
s_find (const s_cmd_t *table, const char *name)
{
    for (const s_cmd_t *c = table; name && c->name; c++)
        if (strcmp (c->name, name) == 0)
            return c;
    return NULL;
}

/*  The options a command takes; a group's: those of any of its subcommands. */
static uint64_t
s_opts_of (const s_cmd_t *cmd)
{
    uint64_t opts = cmd->opts | S_ALWAYS;
    for (const s_cmd_t *s = cmd->subs; s && s->name; s++)
        opts |= s->opts;
    return opts;
}

/* ---------------------------------------------------------------------- */
/*  Help, generated from the tables                                         */

#define S_WIDTH 80

/*  Prints text at column indent (on the next line when the cursor, at
    column col, is past indent - 2), wrapped at S_WIDTH; ends the line. */
static void
s_wrap (FILE *f, int col, int indent, const char *text)
{
    if (col > 0 && col + 2 > indent) {
        fprintf (f, "\n%*s", indent, "");
        col = indent;
    }
    else
        col += fprintf (f, "%*s", indent - col, "");
    bool first = true;
    for (const char *p = text; *p;) {
        int w = (int) strcspn (p, " ");
        if (!first && col + 1 + w > S_WIDTH) {
            fprintf (f, "\n%*s", indent, "");
            col = indent;
        }
        else if (!first)
            col += fprintf (f, " ");
        col += fprintf (f, "%.*s", w, p);
        first = false;
        p += w;
        p += strspn (p, " ");
    }
    fputc ('\n', f);
}

static void
s_help_option (FILE *f, int o, const s_optdoc_t *docs)
{
    const s_option_t *opt = &s_options[o];
    const char *help = opt->help;
    for (const s_optdoc_t *d = docs; d && d->opt >= 0; d++)
        if (d->opt == o)
            help = d->help;
    int col = fprintf (f, "  ");
    if (opt->shortc)
        col += fprintf (f, "-%c%s", opt->shortc, opt->name ? ", " : "");
    if (opt->name)
        col += fprintf (f, "--%s", opt->name);
    if (opt->arg)
        col += fprintf (f, " %s", opt->arg);
    s_wrap (f, col, 22, help);
}

/*  One line of a command list: "  NAME SYNOPSIS  summary". */
static void
s_help_line (FILE *f, const char *group, const s_cmd_t *c)
{
    int col = fprintf (f, "  %s%s%s%s%s", group ? group : "", group ? " " : "", c->name,
                       *c->synopsis ? " " : "", c->synopsis);
    s_wrap (f, col, 29, c->summary);
}

/*  `bitfarm --help` */
static void
s_usage (FILE *f)
{
    fputs ("usage: bitfarm COMMAND [options]      (`submit ...` = `bitfarm submit ...`)\n\n"
           "Commands:\n", f);
    for (const s_cmd_t *c = s_commands; c->name; c++) {
        if (!c->subs)
            s_help_line (f, NULL, c);
        for (const s_cmd_t *s = c->subs; s && s->name; s++)
            s_help_line (f, c->name, s);
    }
    fputs ("\nCommon options (of every command that asks a broker):\n", f);
    for (int o = 0; o < BF_O_COUNT; o++)
        if (S_BROKER & BF_O (o))
            s_help_option (f, o, NULL);
    fprintf (f, "\n%s\n"
             "`bitfarm help COMMAND` or `bitfarm COMMAND --help`: the command's options.\n",
             s_exit_status);
}

/*  `bitfarm help COMMAND` */
static void
s_help (FILE *f, const s_cmd_t *cmd)
{
    fprintf (f, "usage: bitfarm %s%s%s\n\n", cmd->name, *cmd->synopsis ? " " : "",
             cmd->synopsis);
    s_wrap (f, 0, 0, cmd->summary);
    if (cmd->subs) {
        fputs ("\nSubcommands:\n", f);
        for (const s_cmd_t *s = cmd->subs; s->name; s++)
            s_help_line (f, cmd->name, s);
    }
    uint64_t opts = s_opts_of (cmd) & ~S_ALWAYS;
    static const char *heads[] = { "\nOptions:\n", "\nCommon options:\n" };
    const uint64_t sets[] = { opts & ~S_BROKER, opts & S_BROKER };
    for (int i = 0; i < 2; i++) {
        if (sets[i])
            fputs (heads[i], f);
        for (int o = 0; o < BF_O_COUNT; o++)
            if (sets[i] & BF_O (o))
                s_help_option (f, o, cmd->docs);
    }
    if (cmd->help)
        fprintf (f, "\n%s", cmd->help);
}

/* ---------------------------------------------------------------------- */
/*  Parsing                                                                 */

static void
s_push (const char ***list, int *n, const char *v)
{
    *list = xrealloc (*list, (size_t) (*n + 1) * sizeof **list);
    (*list)[(*n)++] = v;
}

/*  Sets the option's value in a: BF_OK or an error with a detail. */
static int
s_apply (bf_cli_args_t *a, int o, const char *v)
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

/*  One option as given: which, its value, how it was spelt ("--seed", "-n"). */
typedef struct {
    int opt;
    const char *value;
    char spelling[24];
} s_given_t;

/*  Reads the options from argv[optind] on (getopt_long, GNU permutation:
    the operands end up from the new optind on) into given[].  --help and
    --version print what they ask for and give -2.  Returns the number of
    options, or -1 for an unknown one or a missing value, said. */
/*  The option that the short letter c means for a command taking opts:
    one it takes, else the first with that letter (-n is submit's
    --dry-run but the -n N of jobs and cache ls).  -1 for none. */
static int
s_short (char c, uint64_t opts)
{
    int first = -1;
    for (int o = 0; o < BF_O_COUNT; o++)
        if (s_options[o].shortc == c) {
            if (opts & BF_O (o))
                return o;
            if (first < 0)
                first = o;
        }
    return first;
}

static int
s_getopt (s_given_t *given, int argc, char **argv, const s_cmd_t *cmd)
{
    struct option longs[BF_O_COUNT + 1];
    char shorts[2 * BF_O_COUNT + 1];
    int nl = 0, ns = 0;
    uint64_t takes = s_opts_of (cmd);
    for (int o = 0; o < BF_O_COUNT; o++) {
        const s_option_t *opt = &s_options[o];
        if (opt->name)
            longs[nl++] = (struct option) { opt->name, opt->arg ? required_argument : no_argument,
                                            NULL, 256 + o };
        if (opt->shortc && s_short (opt->shortc, takes) == o) {
            shorts[ns++] = opt->shortc;
            if (opt->arg)
                shorts[ns++] = ':';
        }
    }
    longs[nl] = (struct option) { 0, 0, 0, 0 };
    shorts[ns] = '\0';
    int c, n = 0;
    opterr = 0;
    while ((c = getopt_long (argc, argv, shorts, longs, NULL)) != -1) {
        int o = c >= 256 ? c - 256 : c != '?' ? s_short ((char) c, takes) : -1;
        if (o < 0) {
            bf_cli_fail (BFX_USAGE, "unknown option or missing value '%s' for '%s' (see "
                         "bitfarm --help)", argv[optind - 1], cmd->name);
            return -1;
        }
        if (o == BF_O_HELP || o == BF_O_VERSION) {
            if (o == BF_O_HELP)
                s_help (stdout, cmd);
            else
                puts (S_VERSION);
            return -2;
        }
        given[n].opt = o;
        given[n].value = optarg;
        if (c >= 256)
            snprintf (given[n].spelling, sizeof given[n].spelling, "--%s", s_options[o].name);
        else
            snprintf (given[n].spelling, sizeof given[n].spelling, "-%c", c);
        n++;
    }
    return n;
}

/*  Parses and checks the command line of cmd into a (its operands from
    argv[first + 1] on): BFX_OK or BFX_USAGE, said.  *run is the command
    or subcommand to run, or NULL when the help or version was asked for
    (and printed). */
static int
s_parse (bf_cli_args_t *a, const s_cmd_t **run, const s_cmd_t *cmd, int argc, char **argv,
         int first)
{
    s_given_t *given = xcalloc ((size_t) argc, sizeof *given);
    optind = first + 1;
    int n = s_getopt (given, argc, argv, cmd);
    int rc = n == -1 ? BFX_USAGE : BFX_OK;
    if (n == -2) {
        free (given);
        *run = NULL;
        return BFX_OK;
    }
    const s_cmd_t *sub = cmd->subs && optind < argc ? s_find (cmd->subs, argv[optind]) : NULL;
    uint64_t opts = sub ? sub->opts | S_ALWAYS : s_opts_of (cmd);
    for (int i = 0; rc == BFX_OK && i < n; i++)
        if (!(opts & BF_O (given[i].opt)))
            rc = bf_cli_fail (BFX_USAGE, "option '%s' does not apply to '%s%s%s' (see bitfarm "
                              "help %s)", given[i].spelling, cmd->name, sub ? " " : "",
                              sub ? sub->name : "", cmd->name);
    for (int i = 0; rc == BFX_OK && i < n; i++)
        if (s_apply (a, given[i].opt, given[i].value) != BF_OK)
            rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    free (given);
    if (rc != BFX_OK)
        return rc;
    a->cmd = cmd->name;
    a->sub = sub ? sub->name : NULL;
    a->args = argv + optind + (sub ? 1 : 0);
    a->nargs = argc - optind - (sub ? 1 : 0);
    *run = sub ? sub : cmd;
    if (a->design.delay_ms > 0 && !(a->design.flow && strcmp (a->design.flow, "noop") == 0))
        return bf_cli_fail (BFX_USAGE, "--delay needs --flow noop");
    if (!a->token)
        a->token = getenv ("BITFARM_TOKEN");
    if (a->token && !*a->token)
        a->token = NULL;
    a->submit.token = a->token;
    if (!a->cert)
        a->cert = getenv ("BITFARM_CERT");
    if (!a->broker_key)
        a->broker_key = getenv ("BITFARM_BROKER_KEY");
    if (a->cert && !*a->cert)
        a->cert = NULL;
    if (a->cert && (!a->broker_key || !*a->broker_key))
        return bf_cli_fail (BFX_USAGE, "--cert needs --broker-key (or $BITFARM_BROKER_KEY): "
                            "the broker's public key");
    return BFX_OK;
}

int
main (int argc, char **argv)
{
    const char *name;
    int first;
    if (strcmp (basename (argv[0]), "submit") == 0) {
        name = "submit";
        first = 0;
    }
    else {
        if (argc < 2)
            return s_usage (stderr), BFX_USAGE;
        name = argv[1];
        first = 1;
    }
    if (first && strcmp (name, "help") == 0 && argc > 2) {
        const s_cmd_t *cmd = s_find (s_commands, argv[2]);
        if (!cmd)
            return bf_cli_fail (BFX_USAGE, "unknown command '%s' (see bitfarm --help)", argv[2]);
        return s_help (stdout, cmd), BFX_OK;
    }
    if (strcmp (name, "-h") == 0 || strcmp (name, "--help") == 0 || strcmp (name, "help") == 0)
        return s_usage (stdout), BFX_OK;
    if (strcmp (name, "--version") == 0 || strcmp (name, "version") == 0)
        return puts (S_VERSION), BFX_OK;
    const s_cmd_t *cmd = s_find (s_commands, name);
    if (!cmd)
        return bf_cli_fail (BFX_USAGE, "unknown command '%s' (see bitfarm --help)", name);

    bf_cli_args_t a = { .timeout_ms = 5000, .limit = 20, .design = { .seed = -1 } };
    const s_cmd_t *run = NULL;
    int rc = s_parse (&a, &run, cmd, argc, argv, first);
    if (rc == BFX_OK && run) {
        if (!(cmd->flags & S_NOZSYS)) {
            zsys_init ();
            zsys_set_logstream (NULL);
        }
        rc = run->fn (&a);
    }
    free (a.design.defines);
    free (a.design.includes);
    free (a.design.params);
    free (a.design.synth_opts);
    free (a.design.pnr_opts);
    return rc;
}

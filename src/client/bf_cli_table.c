/*  bf_cli_table - the CLI's options and commands (see bf_cli_table.h). */
#include "bf_cli_table.h"

#include <stddef.h>

/* ---------------------------------------------------------------------- */
/*  The options                                                             */


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



/* ---------------------------------------------------------------------- */
/*  The commands                                                            */


static const s_cmd_t s_cache_cmds[] = {
    { "stats", bf_cmd_cache_stats, S_CACHE | S_BROKER | BF_O (BF_O_SINCE), "[--since DURATION]",
      "entries, bytes, cap, hits, misses, hit rate, evictions, corruptions, build time saved; "
      "overall and per toolchain; from a broker also per tag and per repository",
      NULL, NULL, NULL, 0 },
    { "ls", bf_cmd_cache_ls, S_CACHE | S_BROKER | BF_O (BF_O_LIMIT), "[-n N]",
      "the N most recently used entries (default 20)", NULL, NULL, NULL, 0 },
    { "show", bf_cmd_cache_show, S_CACHE | S_BROKER, "KEY",
      "an entry: manifest, options, toolchain, report summary, when built, hits, and the git "
      "commits it was built from (KEY: 8 or more hex characters)", NULL, NULL, NULL, 0 },
    { "verify", bf_cmd_cache_verify, S_CACHE | S_BROKER, "",
     "re-hash every object; quarantine and list the bad ones (exit 1 if any)", NULL, NULL,
      NULL, 0 },
    { "gc", bf_cmd_cache_gc, S_CACHE | S_BROKER, "",
      "remove orphan files, rows without files, temp files older than 1h", NULL, NULL, NULL,
      0 },
    { "evict", bf_cmd_cache_evict, S_CACHE | S_BROKER | BF_O (BF_O_OLDER_THAN) | BF_O (BF_O_MAX_SIZE),
      "--older-than DURATION | --max-size SIZE", "evict unused entries", NULL, NULL, NULL, 0 },
    { "invalidate", bf_cmd_cache_invalidate, S_CACHE | S_BROKER | BF_O (BF_O_TOOLCHAIN), "--toolchain ID",
      "disown a toolchain: drop its entries and refuse new ones (ID: 8 or more hex "
      "characters)", NULL, NULL, NULL, 0 },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 }
};

static const s_cmd_t s_farm_cmds[] = {
    { "start", bf_cmd_farm_start, BF_O (BF_O_NO_SANDBOX), "[--no-sandbox]",
      "start the local farm unless it runs", NULL, NULL, NULL, 0 },
    { "stop", bf_cmd_farm_stop, 0, "", "stop it", NULL, NULL, NULL, 0 },
    { "status", bf_cmd_farm_status, BF_O (BF_O_JSON), "",
      "whether it runs (exit 0) or not (exit 3)", NULL, NULL, NULL, 0 },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 }
};

const s_cmd_t bf_cli_commands[] = {
    { "submit", bf_cmd_submit, S_BROKER | S_DESIGN | S_RUN | BF_O (BF_O_DRY_RUN) | S_GIT
      | S_PROJECT, "[options] FILES... | [-t NAME | --all] [options]",
      "send a design; prints the job id",
      "`submit ...` is `bitfarm submit ...`.\n"
      "FILES: .v (Verilog) and .sv (SystemVerilog) are read in the order given; other\n"
      "files ($readmemh data, `include files) are uploaded alongside.  The files the\n"
      "sources use -- `include \"..\", $readmemh(\"..\"), a string given to a parameter\n"
      "that a $readmem reads or whose name says FILE (INIT_FILE = \"..\"), a string\n"
      "--param -- are added when they lie in the design's tree (--root), outside\n"
      "dot-directories; comments and other strings never count.  -n lists what\n"
      "would be sent.  The farm runs exactly the commands `bitfarm explain` prints,\n"
      "with these flags and no others.\n"
      "Inside a git work tree (and --root, if given, in it) git defines the tree:\n"
      "its top is the root (or --root), the FILES must be tracked, a used file is\n"
      "sent when tracked or not ignored, never one under .git; the job records the\n"
      "commit, dirty files, branches, tags, remote and submodules.  --rev REV builds\n"
      "a commit, tag or branch from the object database (no checkout; --git-dir DIR\n"
      "for a bare repository).\n"
      "BITFARM_NO_GIT=1: plain directories even inside a work tree.\n"
      "Without FILES, submit builds targets of the project file: the nearest\n"
      "bitfarm.ini in the current directory or above (docs/project.md).  No -t:\n"
      "the default target ([bitfarm] default = NAME, else the first); -t NAME:\n"
      "that one; --all: every one.  Options on the command line override the\n"
      "file's.  --json output: docs/json.md.\n", NULL, NULL, 0 },
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
    { "jobs", bf_cmd_jobs, S_BROKER | BF_O (BF_O_LIMIT) | S_GIT, "[-n N] [--rev REV]",
      "the most recent jobs", NULL,
      S_DOCS ({ BF_O_LIMIT, "the N most recent jobs (default 20)" },
              { BF_O_REV, "only the builds of this commit (REV: a commit, tag or branch of "
                "the repository here, or a commit id)" }), NULL, 0 },
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
    { "explain", bf_cmd_explain, S_BROKER | S_DESIGN | S_RUN | BF_O (BF_O_DIFF) | S_GIT
      | BF_O (BF_O_CACHE_DIR) | BF_O (BF_O_TARGET),
      "[submit options] FILES... [--diff KEY] | -t NAME",
      "the exact commands, manifest, action digest and cache key; submits nothing",
      "It takes submit's options, so a submit's command line can be explained as it is.\n"
      "--diff KEY asks the broker for the entry (or reads --cache-dir) and prints one line\n"
      "per input that differs; exit 0 when none does, 1 when some do.\n"
      "Without FILES, or with -t NAME, it first shows how a target of bitfarm.ini\n"
      "resolves: each key, its line, and the submit command line it amounts to.\n",
      S_DOCS ({ BF_O_TOOLCHAIN, "the toolchain to compute the key for, all 64 hex characters "
                "(default: the broker's latest, else the one on this machine)" },
              { BF_O_CACHE_DIR, "with --diff: read the entry from this cache, not from the "
                "broker" }), NULL, 0 },
    { "cache", bf_cmd_cache, 0, "SUBCOMMAND [options]",
      "the bitstream cache: stats, ls, show, verify, gc, evict, invalidate",
      "They ask the broker (--broker, $BITFARM_BROKER, or the local farm; with neither\n"
      "running they read the local farm's cache directory).  Any client key may read\n"
      "stats; ls and show list only the entries of its own jobs (admins: all);\n"
      "verify, gc, evict and invalidate need an admin key.  --cache-dir DIR works on\n"
      "a cache directory instead, without a broker (run it where the broker runs,\n"
      "with --cache-dir STATE/cache).  Build time saved: the build time of the entries\n"
      "the hits found (each entry records how long its build took).\n",
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
    /* register I/O on a reserved board (cmd_regio.c; issue 17) */
    { "read", bf_cmd_read, S_BROKER | BF_O (BF_O_TOKEN) | BF_O (BF_O_FIXED),
      "BOARD ADDR [COUNT] [--fixed] [--json]",
      "read COUNT 32-bit registers of the design from byte address ADDR; one per line",
      "The register commands talk to the design on a reserved board through its\n"
      "UARTBone bridge (gateware/bf_uartbone.v, or LiteX's): ADDR is a byte address,\n"
      "4-byte aligned, below 2^32; COUNT 1..4096 words (default 1).  They need the\n"
      "reservation's token (--token, or $BITFARM_TOKEN, as `bitfarm session` sets it);\n"
      "each use renews the lease.  Exit 1: the design did not answer (bridge timeout,\n"
      "bus error, poll timeout); 2: refused (no reservation, another key's token,\n"
      "a bad address); 3: the farm (board offline, busy programming).\n"
      "--request-timeout is also the request's time on the worker (0.1s..30s;\n"
      "default 10s, and the polls' timeouts).\n",
      S_DOCS ({ BF_O_TOKEN, "the reservation's token (default $BITFARM_TOKEN)" }), NULL, 0 },
    { "write", bf_cmd_write, S_BROKER | BF_O (BF_O_TOKEN) | BF_O (BF_O_FIXED) | BF_O (BF_O_FILE),
      "BOARD ADDR VALUE... | --file FILE [--fixed]",
      "write 32-bit words to the design's registers from byte address ADDR",
      "UARTBone does not acknowledge writes: follow with `bitfarm ident BOARD` to\n"
      "learn whether the bus took them (its status).  See `bitfarm help read`.\n",
      S_DOCS ({ BF_O_FIXED, "every word to the one register at ADDR (a FIFO)" },
              { BF_O_TOKEN, "the reservation's token (default $BITFARM_TOKEN)" }), NULL, 0 },
    { "poll", bf_cmd_poll, S_BROKER | BF_O (BF_O_TOKEN) | BF_O (BF_O_MASK) | BF_O (BF_O_VALUE)
      | BF_O (BF_O_TIMEOUT), "BOARD ADDR [--mask M] --value V [--timeout DURATION]",
      "wait until (register & M) == V, reading it on the worker; prints the value",
      "Exit 1 when the time is up, naming the last value read.\n",
      S_DOCS ({ BF_O_TIMEOUT, "give up after DURATION (default 1s, at most 10s)" },
              { BF_O_TOKEN, "the reservation's token (default $BITFARM_TOKEN)" }), NULL, 0 },
    { "ident", bf_cmd_ident, S_BROKER | BF_O (BF_O_TOKEN), "BOARD [--json]",
      "the bridge's identity (magic, version, the design's user id) and the status of the "
      "accesses since the last ident (a write barrier)", NULL,
      S_DOCS ({ BF_O_TOKEN, "the reservation's token (default $BITFARM_TOKEN)" }), NULL, 0 },
    { "session", bf_cmd_session, S_BROKER | BF_O (BF_O_DEVICE) | BF_O (BF_O_FOR)
      | BF_O (BF_O_PROGRAM) | BF_O (BF_O_BY) | BF_O (BF_O_PRIORITY) | BF_O (BF_O_TIMEOUT),
      "BOARD | --device DEV [--for DURATION] [--program JOB|KEY|FILE] -- COMMAND...",
      "reserve a board, program it if asked, run COMMAND with BITFARM_BOARD and "
      "BITFARM_TOKEN set, then release it; exits with COMMAND's status",
      "The board is released whatever COMMAND does: when it fails, and on SIGINT,\n"
      "SIGTERM and SIGHUP (passed on to COMMAND first).  COMMAND also gets\n"
      "BITFARM_BROKER (and BITFARM_CERT, BITFARM_BROKER_KEY) when they were given as\n"
      "options.  A load that fails ends the session with its status, before COMMAND;\n"
      "a signal during the load ends it once the load is over (128 + the signal).\n",
      S_DOCS ({ BF_O_DEVICE, "any online board of this device" },
              { BF_O_FOR, "the lease's length (default 15m); register I/O renews it" },
              { BF_O_PROGRAM, "first load this into the board: a finished build's job id, a "
                "cache key, or a .bin file; wait for the load" },
              { BF_O_TIMEOUT, "with --program: the load's time limit" }), NULL, 0 },
    { "farm", bf_cmd_farm, 0, "start|stop|status", "the per-user local farm",
      "Its state is under $XDG_CACHE_HOME/bitfarm; submit starts it on first use when\n"
      "no broker is given.  Its worker sandboxes the tools with bubblewrap; where that\n"
      "cannot run (a container or chroot without user namespaces), `farm start\n"
      "--no-sandbox`, or BITFARM_NO_SANDBOX=1 in the environment, starts it unconfined,\n"
      "with a warning: it builds only your own designs.  A daemon that dies at start\n"
      "is reported at once, with the last line of its log.\n", S_DOCS ({ BF_O_JSON, "farm status: machine-readable output" }),
      s_farm_cmds, 0 },
    { "keygen", bf_cmd_keygen, BF_O (BF_O_ROLE) | BF_O (BF_O_DIR),
      "--role broker|worker|client NAME [--dir DIR]", "a CURVE key pair",
      "Writes DIR/NAME.key (public) and DIR/NAME.key_secret (mode 0600).  Put NAME.key\n"
      "in the broker's KEYS/workers, KEYS/clients or KEYS/admins to allow it\n"
      "(docs/security.md).\n", NULL, NULL, S_NOZSYS },
    /* the project file (issue 16, r16-project) */
    { "init", bf_cmd_init, S_DESIGN | (S_RUN & ~BF_O (BF_O_TOKEN)) | BF_O (BF_O_TARGET),
      "[-t NAME] [submit options] FILES...",
      "write a starting bitfarm.ini from these flags (never overwrites one)",
      "The target is called NAME (default: the --top module).  Source globs and\n"
      "paths are written relative to the current directory, where bitfarm.ini\n"
      "goes (docs/project.md).\n",
      S_DOCS ({ BF_O_TARGET, "the target's name (default: the top module)" }), NULL, S_NOZSYS },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 }
};

const char bf_cli_exit_status[] =
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

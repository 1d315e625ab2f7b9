/*  bf_cli_table - the CLI's commands (see bf_cli_table.h; the options are
    bf_cli_opts.c). */
#include "bf_cli_table.h"

#include <stddef.h>

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
      "whether it runs (exit 0) or not (exit 3), and the URL of its HTTP API", NULL, NULL,
      NULL, 0 },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 }
};

static const s_cmd_t s_token_cmds[] = {
    { "create", bf_cmd_token_create, S_BROKER | BF_O (BF_O_ROLE) | BF_O (BF_O_KEY),
      "--role client|admin --key NAME",
      "a bearer token for the HTTP API, printed once (admin keys only)", NULL,
      S_DOCS ({ BF_O_ROLE, "client (the key's own jobs, as over ZeroMQ) or admin (every "
                           "job)" }), NULL, 0 },
    { "ls", bf_cmd_token_ls, S_BROKER, "", "the tokens: id, role, key, created (admin keys "
      "only)", NULL, NULL, NULL, 0 },
    { "revoke", bf_cmd_token_revoke, S_BROKER, "ID", "revoke a token at once (admin keys "
      "only)", NULL, NULL, NULL, 0 },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 }
};

const s_cmd_t bf_cli_commands[] = {
    { "submit", bf_cmd_submit, S_SUBMIT_OPTS, "[options] FILES... | [-t NAME | --all] [options]",
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
      "file's.  --json output: docs/json.md.\n"
      "`submit` sends a plain submit itself (no ZeroMQ library: a cache hit in a few\n"
      "ms) and runs `bitfarm submit` for the rest: git, CURVE, the local farm,\n"
      "--wait, -n, a project, a miss that needs uploads.  BITFARM_SUBMIT_FULL=1:\n"
      "always `bitfarm`; BITFARM_SUBMIT_TIMES=1: which path ran, and its phases (ms),\n"
      "on stderr.\n", NULL, NULL, 0 },
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
      "is reported at once, with the last line of its log.  Its broker serves the HTTP\n"
      "API and dashboard (docs/http.md) on 127.0.0.1:8080, or any free port when that\n"
      "is taken (the URL: farm status, $XDG_CACHE_HOME/bitfarm/http.url);\n"
      "BITFARM_LOCAL_HTTP=ADDR:PORT or off, when it starts, chooses another or none.\n",
      S_DOCS ({ BF_O_JSON, "farm status: machine-readable output" }),
      s_farm_cmds, 0 },
    { "token", bf_cmd_token, 0, "create|ls|revoke [options]",
      "bearer tokens of the broker's HTTP API (docs/http.md)",
      "A token stands for a client key, with the role client (that key's view: its\n"
      "own jobs) or admin; only its SHA-256 is kept by the broker.  HTTP requests\n"
      "send it as 'Authorization: Bearer TOKEN'.\n",
      S_DOCS ({ BF_O_ROLE, "token create: client (the key's own jobs, as over ZeroMQ) or "
                           "admin (every job)" }), s_token_cmds, 0 },
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

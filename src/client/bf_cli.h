/*  bf_cli - the bitfarm command-line client's internals (linked into
    bin/bitfarm only, not part of the client library): the exit statuses,
    the options, the parsed command line every command reads, the helpers
    the commands share (bf_cli.c) and the commands themselves.

    main.c holds the table of commands (after git's cmd_struct in git.c)
    and of options, parses the command line, refuses an option a command
    does not take, generates the help and dispatches; each cmd_*.c file
    holds one group of commands (after git's builtin/ files).  A command
    returns its exit status (BFX_*); it reads its operands from args and
    everything else from the record, filled in before it runs.
*/
#ifndef BF_CLI_H_INCLUDED
#define BF_CLI_H_INCLUDED

#include "bf_client.h"
#include "bf_design.h"
#include "bf_git.h"
#include "../cache/bf_cache.h"
#include "../common/bf_opt.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes; CI scripts depend on them (README, `bitfarm --help`). */
enum {
    BFX_OK = 0,          /* the job succeeded */
    BFX_DESIGN = 1,      /* the design failed: the tools rejected it (the user's fault) */
    BFX_USAGE = 2,       /* bad command line or input files */
    BFX_INFRA = 3,       /* the farm failed: broker unreachable, worker lost, ... */
    BFX_TIMEOUT = 4,     /* the job hit its time limit */
    BFX_CANCELLED = 5,   /* the job was cancelled */
};

/*  The version of the --json output of submit, status and wait (its
    "schema" field; docs/json.md says what changes it). */
#define BF_CLI_JSON_SCHEMA 1

/*  Every option of the CLI, one bit each in a command's set (BF_CLI_OPTS).
    Their names, arguments and help are the table in main.c. */
typedef enum {
    BF_O_BROKER, BF_O_REQUEST_TIMEOUT, BF_O_CERT, BF_O_BROKER_KEY, BF_O_JSON, BF_O_HELP,
    BF_O_VERSION,
    /* the design (submit, explain) */
    BF_O_TOP, BF_O_DEVICE, BF_O_PACKAGE, BF_O_PCF, BF_O_FREQ, BF_O_SEED, BF_O_DEFINE,
    BF_O_INCLUDE, BF_O_PARAM, BF_O_SYNTH_OPT, BF_O_PNR_OPT, BF_O_FLOW, BF_O_DELAY, BF_O_ROOT,
    BF_O_DRY_RUN,
    /* how a job runs */
    BF_O_TOOLCHAIN, BF_O_PRIORITY, BF_O_TIMEOUT, BF_O_TAG, BF_O_PROGRAM, BF_O_TOKEN,
    BF_O_WAIT, BF_O_OUTPUT,
    /* jobs, cache, boards, keys */
    BF_O_DIFF, BF_O_CACHE_DIR, BF_O_EVENTS, BF_O_FOLLOW, BF_O_REPORT, BF_O_LOG, BF_O_LIMIT,
    BF_O_OLDER_THAN, BF_O_MAX_SIZE, BF_O_BOARD, BF_O_FOR, BF_O_BY, BF_O_ENABLE,
    BF_O_MAINTENANCE, BF_O_REASON, BF_O_ROLE, BF_O_DIR,
    /* admin */
    BF_O_DEFAULT, BF_O_RELEASE,
    /* submit from git (issue 16) */
    BF_O_REV, BF_O_GIT_DIR,
    /* cache stats over the wire (issue 16, r16-stats) */
    BF_O_SINCE,
    /* the project file (issue 16, r16-project: cmd_project.c) */
    BF_O_TARGET, BF_O_ALL, BF_O_JUNIT, BF_O_ARTIFACTS,
    /* the local farm (issue 16, containers and chroots) */
    BF_O_NO_SANDBOX,
    /* register I/O (issue 17) */
    BF_O_REGIO,
    /* register I/O (issue 17: cmd_regio.c) */
    BF_O_FIXED, BF_O_MASK, BF_O_VALUE, BF_O_FILE,
    /* the HTTP API's tokens (issue 19: token create --key NAME) */
    BF_O_KEY,
    BF_O_COUNT
} bf_cli_opt_t;

#define BF_O(o) (UINT64_C (1) << (o))
_Static_assert (BF_O_COUNT <= 64, "an option set is the bits of a uint64_t");

/*  One option as given on the command line: which, its value (or NULL),
    how it was spelt ("--seed", "-n"). */
typedef struct {
    int opt;
    const char *value;
    char spelling[24];
} bf_cli_given_t;

/*  The parsed command line.  Strings point into argv. */
typedef struct {
    const char *cmd;             /* the command: "status", "cache", ... */
    const char *sub;             /* its subcommand ("stats"), or NULL */
    char **args;                 /* the operands after the command (and subcommand) */
    int nargs;
    const char *broker;
    int timeout_ms;              /* --request-timeout */
    bool json;
    bool wait;
    bool follow;
    bool dry_run;                /* submit -n */
    const char *output;
    const char *what;            /* fetch --report / --log */
    int limit;                   /* -n */
    bool events;
    const char *cache_dir;
    const char *toolchain;
    const char *diff;
    int64_t older_than_ms;
    int64_t max_size;
    bf_submit_opts_t submit;
    const char *tags[BF_TAGS_MAX + 1];   /* NULL-terminated */
    int ntags;
    bf_design_opts_t design;
    const char *board;           /* program --board */
    const char *token;           /* --token, else $BITFARM_TOKEN */
    int64_t lease_ms;            /* reserve --for */
    const char *by;              /* reserve --by */
    const char *health;          /* board --enable (ok) / --maintenance */
    const char *cert;            /* --cert, else $BITFARM_CERT */
    const char *broker_key;      /* --broker-key, else $BITFARM_BROKER_KEY */
    const char *role;            /* keygen --role */
    const char *dir;             /* keygen --dir */
    const char *reason;
    const char *set_default;     /* toolchains --default ID|auto */
    const char *release_name;    /* workers --release NAME */
    /* submit from git (issue 16) */
    const char *rev;             /* submit/explain/jobs --rev REV */
    const char *git_dir;         /* --git-dir DIR */
    int64_t since_ms;            /* cache stats --since: the window, ms; 0 = all (r16-stats) */
    /* the project file (cmd_project.c) */
    const char **targets;        /* -t NAME (repeatable) */
    int ntargets;
    bool all;                    /* --all */
    const char *junit;           /* --junit FILE */
    const char *artifacts;       /* --artifacts DIR */
    const bf_cli_given_t *given; /* every option as given, in order (main's) */
    int ngiven;
    bool no_sandbox;             /* farm start --no-sandbox (issue 16) */
    const char *regio;           /* submit --regio PROFILE (bf_regio.h) */
    /* register I/O (cmd_regio.c; issue 17) */
    bool fixed;                  /* read/write --fixed */
    const char *mask, *value;    /* poll --mask, --value */
    const char *file;            /* write --file */
    const char *key;             /* token create --key NAME (issue 19) */
} bf_cli_args_t;

/*  The first operand, or NULL. */
#define BF_CLI_ARG(a) ((a)->nargs > 0 ? (a)->args[0] : NULL)

/* ---------------------------------------------------------------------- */
/*  Helpers shared by the commands (bf_cli.c)                               */

/*  Sets option o (BF_O_*) in a from value v (NULL for a flag; the string
    is borrowed and must outlive a), as the command line does: BF_OK, or an
    error with a one-line detail (an invalid value).  main.c. */
int bf_cli_apply (bf_cli_args_t *a, int o, const char *v);

/*  Frees what bf_cli_apply allocated in a (the repeatable options' lists)
    and sets them empty.  main.c. */
void bf_cli_args_release (bf_cli_args_t *a);

/*  The option whose long name is name, else -1; the long name of option
    o, or NULL (static).  main.c. */
int bf_cli_option_named (const char *name);
const char *bf_cli_option_name (int o);

/*  Prints "bitfarm: MESSAGE" on stderr, escaped as bf_cli_text; returns
    code. */
int bf_cli_fail (int code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  The exit status for a request that failed with rc (a bf_client code):
    2 (BFX_USAGE) when the broker answered with a refusal (ERROR: an
    unknown job, another key's job, a bad request), 3 (BFX_INFRA) when it
    did not answer, refused this key at the handshake, or the reply was
    broken. */
int bf_cli_request_exit (int rc);

/*  Connects to --broker, $BITFARM_BROKER or the local farm (started if
    need be), with --cert.  BFX_OK with *client, or the exit status, said. */
int bf_cli_open (bf_client_t **client, const bf_cli_args_t *a);

/*  A broker to ask without starting one: --broker, $BITFARM_BROKER, or the
    local farm if it runs.  NULL when there is none. */
bf_client_t *bf_cli_open_existing (const bf_cli_args_t *a);

/*  Opens --cache-dir, else the local farm's cache: BFX_OK with *cache, or
    the exit status, said (no cache there, or not a bitfarm cache). */
int bf_cli_open_cache (bf_cache_t **cache, const bf_cli_args_t *a);

/*  A string field of obj, or "-" (borrowed). */
const char *bf_cli_str (json_t *obj, const char *key);

/*  A string field of obj as it may be shown on a terminal, or "-": C0 and
    C1 control characters, DEL and bytes that are not UTF-8 become \xNN, so
    text from a design or a tool ($display output in an error) cannot send
    escape sequences.  For every field a person reads (error, reason,
    waiting_for, stage, worker, ...).  The string lives in one of 16
    static buffers, reused in turn: valid for the next 15 calls; not
    thread-safe (the CLI has one thread). */
const char *bf_cli_text (json_t *obj, const char *key);

/*  Escapes len bytes of src as bf_cli_text does (with lines, newlines and
    tabs stay) into dst, NUL-terminated, at most dstlen - 1 bytes (4 bytes
    per input byte always fit).  Returns the length written. */
size_t bf_cli_escape (char *dst, size_t dstlen, const char *src, size_t len, bool lines);

/*  Writes a log to fd: raw when fd is not a terminal (a file or a pipe
    gets the bytes as the tools wrote them), escaped as bf_cli_escape with
    lines when it is. */
void bf_cli_write_text (int fd, const char *data, size_t len);

/*  Prints j indented, keys sorted. */
void bf_cli_print_json (json_t *j);

/*  Prints a report summary (bf_report.h): utilisation and each clock. */
void bf_cli_print_summary (json_t *summary);

/*  Polls until the job is final, printing stage changes on stderr unless
    quiet.  Returns the exit status for the job's end, with the job in
    *final (the caller's). */
int bf_cli_wait (bf_client_t *client, const char *id, json_t **final, bool quiet);

/*  Fetches a job's "bitstream", "report" or "log" to path ("-" or NULL:
    stdout, but not a bitstream to a terminal).  Returns an exit status. */
int bf_cli_fetch_to (bf_client_t *client, const char *id, const char *what, const char *path);

/* ---------------------------------------------------------------------- */
/*  The commands (cmd_*.c)                                                  */

int bf_cmd_submit (bf_cli_args_t *a);
int bf_cmd_explain (bf_cli_args_t *a);
/*  submit or explain of the files in a->args, with a's options, as
    without a project file (cmd_submit.c).  git: the view of the tree
    to use (borrowed), or NULL to open one as a says (bf_cli_git_open). */
int bf_cli_submit_files (bf_cli_args_t *a, bool explain, bf_git_t *git);

/*  The project file (cmd_project.c): submit or explain with no files, -t
    or --all (the targets of bitfarm.ini), and init. */
int bf_cli_project (bf_cli_args_t *a, bool explain);
int bf_cmd_init (bf_cli_args_t *a);

int bf_cmd_status (bf_cli_args_t *a);
int bf_cmd_wait (bf_cli_args_t *a);
int bf_cmd_logs (bf_cli_args_t *a);
int bf_cmd_fetch (bf_cli_args_t *a);
int bf_cmd_cancel (bf_cli_args_t *a);
int bf_cmd_jobs (bf_cli_args_t *a);
int bf_cmd_workers (bf_cli_args_t *a);
int bf_cmd_toolchains (bf_cli_args_t *a);

int bf_cmd_cache (bf_cli_args_t *a);   /* no or an unknown subcommand */
int bf_cmd_cache_stats (bf_cli_args_t *a);
int bf_cmd_cache_ls (bf_cli_args_t *a);
int bf_cmd_cache_show (bf_cli_args_t *a);
int bf_cmd_cache_verify (bf_cli_args_t *a);
int bf_cmd_cache_gc (bf_cli_args_t *a);
int bf_cmd_cache_evict (bf_cli_args_t *a);
int bf_cmd_cache_invalidate (bf_cli_args_t *a);

int bf_cmd_boards (bf_cli_args_t *a);
int bf_cmd_board (bf_cli_args_t *a);
int bf_cmd_program (bf_cli_args_t *a);
int bf_cmd_reserve (bf_cli_args_t *a);
int bf_cmd_release (bf_cli_args_t *a);

/*  register I/O on a reserved board (cmd_regio.c) */
int bf_cmd_read (bf_cli_args_t *a);
int bf_cmd_write (bf_cli_args_t *a);
int bf_cmd_poll (bf_cli_args_t *a);
int bf_cmd_ident (bf_cli_args_t *a);
int bf_cmd_session (bf_cli_args_t *a);

int bf_cmd_farm (bf_cli_args_t *a);    /* no or an unknown subcommand */
int bf_cmd_farm_start (bf_cli_args_t *a);
int bf_cmd_farm_stop (bf_cli_args_t *a);
int bf_cmd_farm_status (bf_cli_args_t *a);
int bf_cmd_keygen (bf_cli_args_t *a);
/*  token create|ls|revoke: the HTTP API's bearer tokens (issue 19) */
int bf_cmd_token (bf_cli_args_t *a);
int bf_cmd_token_create (bf_cli_args_t *a);
int bf_cmd_token_ls (bf_cli_args_t *a);
int bf_cmd_token_revoke (bf_cli_args_t *a);

#endif

/*  bitfarm - the bitfarm command-line client (also installed as `submit`).
    See `bitfarm --help`. */
#include "bf_client.h"
#include "bf_design.h"
#include "bf_explain.h"
#include "../common/bf_flowcmd.h"
#include "../common/bf_report.h"
#include "bf_localfarm.h"
#include "../cache/bf_cache.h"
#include "../cache/bf_key.h"
#include "../common/bf_toolchain.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_opt.h"
#include "../common/bf_proto.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"

#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

/* Exit codes; CI scripts depend on them (README, `bitfarm --help`). */
enum {
    BFX_OK = 0,          /* the job succeeded */
    BFX_DESIGN = 1,      /* the design failed: the tools rejected it (the user's fault) */
    BFX_USAGE = 2,       /* bad command line or input files */
    BFX_INFRA = 3,       /* the farm failed: broker unreachable, worker lost, ... */
    BFX_TIMEOUT = 4,     /* the job hit its time limit */
    BFX_CANCELLED = 5,   /* the job was cancelled */
};

static const char s_usage[] =
    "usage: bitfarm COMMAND [options]      (`submit ...` = `bitfarm submit ...`)\n"
    "\n"
    "Commands:\n"
    "  submit [options] FILES...  send a design; prints the job id\n"
    "  status JOB [--events] [--json]  state, stage, attempt, worker, times, cache hit,\n"
    "                             error; --events: the job's history (attempts, workers,\n"
    "                             retries and their reasons)\n"
    "  wait JOB [--json]          block until the job ends, showing progress\n"
    "  logs JOB [--follow]        the tools' logs\n"
    "  fetch JOB -o FILE [--report|--log]   the bitstream (or nextpnr's JSON report, or log)\n"
    "  cancel JOB                 cancel a queued or running job\n"
    "  jobs [-n N] [--json]       the most recent jobs\n"
    "  workers [--json]           the connected workers; UNSANDBOXED marks one that\n"
    "                             builds without bubblewrap (--no-sandbox)\n"
    "  explain [submit options] FILES... [--diff KEY]  print the canonical manifest, the\n"
    "                             action digest and the cache key; submit nothing.\n"
    "                             --diff KEY: which inputs differ from that cache entry\n"
    "                             (exit 0 when none, 1 when some)\n"
    "  cache stats|ls|show KEY|verify|gc|evict|invalidate   the bitstream cache (below)\n"
    "  program --board NAME JOB|KEY|FILE.bin  load a finished build's bitstream, a cache\n"
    "                             entry's, or a file into a board; prints the job id\n"
    "  boards [--json]            every board: device, worker, state (idle, busy,\n"
    "                             reserved by whom until when, error, maintenance,\n"
    "                             offline), last job\n"
    "  board NAME --enable | --maintenance [--reason TEXT]  put a board back in\n"
    "                             service (clears error) or take it out\n"
    "  reserve NAME | --device DEV [--for DURATION] [--wait] [--by WHO]  a lease on a\n"
    "                             board (default 15m); prints the token.  Jobs with\n"
    "                             --token TOKEN may use it, others wait; using it renews\n"
    "                             the lease; expiry frees the board\n"
    "  release NAME --token TOKEN  end the lease (only its token can)\n"
    "  farm start|stop|status     the per-user local farm\n"
    "  keygen --role broker|worker|client NAME [--dir DIR]  a CURVE key pair:\n"
    "                             DIR/NAME.key (public) and DIR/NAME.key_secret (mode\n"
    "                             0600); DIR defaults to the current directory.  Put\n"
    "                             NAME.key in the broker's KEYS/workers, KEYS/clients or\n"
    "                             KEYS/admins to allow it (docs/security.md)"
    "\n"
    "Submit options:\n"
    "  --top NAME          top module (required)\n"
    "  --device DEV        iCE40 device, a nextpnr-ice40 flag: lp384 lp1k lp4k lp8k\n"
    "                      hx1k hx4k hx8k up3k up5k u1k u2k u4k (required)\n"
    "  --package PKG       package as nextpnr names it: sg48, tq144, ct256,\n"
    "                      tq144:4k (with --device hx8k), ... (default: nextpnr's)\n"
    "  --pcf FILE          pin constraints\n"
    "  --freq MHZ          nextpnr --freq: target clock frequency (at most 3 decimals)\n"
    "  --seed N            nextpnr --seed (default: none, nextpnr's own default)\n"
    "  -D NAME[=VALUE]     Verilog define (repeatable)\n"
    "  -I DIR              include directory (repeatable)\n"
    "  --param NAME=VALUE  top-level parameter, set before yosys elaborates (repeatable);\n"
    "                      a value that is not a Verilog number (42, 8'hff) is a string\n"
    "  --synth-opt OPT     pass OPT to synth_ice40: -dsp, -abc9, '-dffe_min_ce_use 4',\n"
    "                      ... (repeatable; allowed options: docs/flows.md)\n"
    "  --pnr-opt OPT       pass OPT to nextpnr-ice40: '--placer heap',\n"
    "                      --timing-allow-fail, ... (repeatable; docs/flows.md)\n"
    "  --toolchain ID      build only on workers with this toolchain (an identity\n"
    "                      prefix of 8 or more hex characters, see `bitfarm workers`)\n"
    "  --priority N        -1000..1000, higher runs first (default 0)\n"
    "  --timeout DURATION  wall-clock limit of each attempt (default: the broker's,\n"
    "                      normally 1h); the job ends timed_out when it is reached\n"
    "  --tag TAG           run only on workers started with --tag TAG (repeatable)\n"
    "  --flow noop         the diagnostic flow: no tools, a deterministic result\n"
    "  --delay DURATION    with --flow noop: how long the job takes\n"
    "  --program BOARD     after the build, load the bitstream into BOARD (a second\n"
    "                      job, whose id is printed; on a cache hit it runs at once)\n"
    "  --token TOKEN       a reservation token for the board (default $BITFARM_TOKEN)\n"
    "  --wait              wait for the job to end; exit status as below\n"
    "  -o FILE             with --wait: write the bitstream to FILE\n"
    "  FILES: .v (Verilog) and .sv (SystemVerilog) are read in the order given;\n"
    "  other files ($readmemh data, `include files) are uploaded alongside. Files\n"
    "  the sources name in string literals ($readmemh(\"..\"), `include \"..\",\n"
    "  INIT_FILE = \"..\") or string parameters (--param memfile=fw.hex) are added\n"
    "  automatically when they exist in the tree.  The farm runs exactly the\n"
    "  commands `bitfarm explain` prints, with these flags and no others.\n"
    "\n"
    "Cache commands (on a cache directory; run them where the broker runs):\n"
    "  cache stats          entries, bytes, cap, hits, misses, hit rate, evictions,\n"
    "                       corruptions; overall and per toolchain\n"
    "  cache ls [-n N]      the N most recently used entries (default 20)\n"
    "  cache show KEY       an entry: manifest, options, toolchain, report summary,\n"
    "                       when built, hits (KEY: 8 or more hex characters)\n"
    "  cache verify         re-hash every object; quarantine and list the bad ones\n"
    "  cache gc             remove orphan files, rows without files, temp files > 1h\n"
    "  cache evict --older-than DURATION | --max-size SIZE   evict unused entries\n"
    "  cache invalidate --toolchain ID   disown a toolchain: drop its entries and\n"
    "                       refuse new ones (ID: 8 or more hex characters)\n"
    "  --cache-dir DIR      the cache (default: the local farm's, ~/.cache/bitfarm/state/cache)\n"
    "  --toolchain ID       explain: the toolchain to compute the key for, all 64 hex\n"
    "                       characters (default: the broker's latest, else the one on\n"
    "                       this machine)\n"
    "\n"
    "Common options:\n"
    "  --broker ENDPOINT   broker to use (default $BITFARM_BROKER; if unset, the\n"
    "                      per-user local farm, started on first use)\n"
    "  --cert FILE         this client's secret key (NAME.key_secret) for a CURVE\n"
    "                      broker (default $BITFARM_CERT)\n"
    "  --broker-key FILE   the broker's public key (its NAME.key) (default\n"
    "                      $BITFARM_BROKER_KEY); needed with --cert\n"
    "  --request-timeout DURATION  how long to wait for each answer from the broker\n"
    "                      (default 5s)\n"
    "  --json              machine-readable output\n"
    "\n"
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

typedef struct {
    const char *broker;
    int timeout_ms;
    bool json;
    bool wait;
    bool follow;
    const char *output;
    const char *what;
    int limit;
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
} s_args_t;

/* ---------------------------------------------------------------------- */

static int
s_fail (int code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_fail (int code, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("bitfarm: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    return code;
}

static int
s_open (bf_client_t **client, const s_args_t *a)
{
    const char *endpoint = a->broker;
    if (!endpoint || !*endpoint)
        endpoint = getenv ("BITFARM_BROKER");
    char *local = NULL;
    if (!endpoint || !*endpoint) {
        if (bf_localfarm_ensure (&local, NULL) != BF_OK)
            return s_fail (BFX_INFRA, "%s", bf_error_last ());
        endpoint = local;
    }
    int rc = bf_client_new (client, endpoint, a->timeout_ms);
    free (local);
    if (rc == BF_OK && a->cert && (rc = bf_client_curve (*client, a->cert, a->broker_key)) != BF_OK)
        bf_client_destroy (client);
    if (rc != BF_OK)
        return s_fail (BFX_USAGE, "%s", bf_error_last ());
    return BFX_OK;
}

static const char *
s_str (json_t *job, const char *key)
{
    const char *v = json_string_value (json_object_get (job, key));
    return v ? v : "-";
}

static int
s_exit_for (json_t *job)
{
    const char *state = s_str (job, "state");
    if (strcmp (state, "succeeded") == 0)
        return BFX_OK;
    if (strcmp (state, "timed_out") == 0)
        return BFX_TIMEOUT;
    if (strcmp (state, "cancelled") == 0)
        return BFX_CANCELLED;
    if (strcmp (s_str (job, "failure_class"), "design") == 0
        || strcmp (s_str (job, "failure_class"), "bitstream") == 0)
        return BFX_DESIGN;
    return BFX_INFRA;
}

static bool
s_final (json_t *job)
{
    const char *state = s_str (job, "state");
    return strcmp (state, "queued") != 0 && strcmp (state, "running") != 0;
}

static void
s_print_json (json_t *j)
{
    char *text = json_dumps (j, JSON_INDENT (2) | JSON_SORT_KEYS);
    puts (text);
    free (text);
}

/*  The report summary (bf_report.h): utilisation and each clock. */
static void
s_print_summary (json_t *summary)
{
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get (summary, "utilization"), k, v)
        printf ("%-10s %lld / %lld\n", k,
                (long long) json_integer_value (json_object_get (v, "used")),
                (long long) json_integer_value (json_object_get (v, "available")));
    size_t i;
    json_array_foreach (json_object_get (summary, "clocks"), i, v) {
        double got = json_number_value (json_object_get (v, "achieved_mhz"));
        double want = json_number_value (json_object_get (v, "target_mhz"));
        printf ("clock      %s: %.2f MHz achieved, %.2f MHz target%s\n", s_str (v, "net"), got,
                want, got < want ? " (FAILED)" : "");
    }
}

static void
s_print_status (json_t *job)
{
    printf ("job        %s\n", s_str (job, "id"));
    printf ("state      %s", s_str (job, "state"));
    if (json_is_string (json_object_get (job, "failure_class")))
        printf (" (%s failure)", s_str (job, "failure_class"));
    printf ("\nstage      %s\n", s_str (job, "stage"));
    printf ("attempt    %lld of %lld\n",
            (long long) json_integer_value (json_object_get (job, "attempt")),
            (long long) json_integer_value (json_object_get (job, "max_attempts")));
    printf ("worker     %s\n", s_str (job, "worker"));
    if (strcmp (s_str (job, "kind"), "program") == 0) {
        printf ("board      %s%s\n", s_str (job, "board"),
                json_is_true (json_object_get (job, "reservation")) ? " (with a reservation token)"
                                                                   : "");
        if (json_is_string (json_object_get (job, "after")))
            printf ("after      build job %s\n", s_str (job, "after"));
    }
    if (strcmp (s_str (job, "kind"), "program") != 0)
        printf ("cache      %s, key %s\n",
                json_is_true (json_object_get (job, "cache_hit")) ? "hit" : "miss",
                s_str (job, "cache_key"));
    printf ("bitstream  %s\n", s_str (job, "bitstream_sha256"));
    if (json_is_string (json_object_get (job, "follows")))
        printf ("follows    %s (an identical build; shares its result)\n", s_str (job, "follows"));
    if (json_is_string (json_object_get (job, "waiting_for")))
        printf ("waiting    %s\n", s_str (job, "waiting_for"));
    if (json_array_size (json_object_get (job, "tags")) > 0) {
        printf ("tags      ");
        size_t i;
        json_t *t;
        json_array_foreach (json_object_get (job, "tags"), i, t)
            printf (" %s", json_string_value (t));
        putchar ('\n');
    }
    printf ("timeout    %lld ms\n", (long long) json_integer_value (json_object_get (job, "timeout_ms")));
    s_print_summary (json_object_get (job, "report"));
    if (json_is_string (json_object_get (job, "error")))
        printf ("error      %s\n", s_str (job, "error"));
    printf ("submitted  %s\nstarted    %s\nfinished   %s\n", s_str (job, "submitted_at"),
            s_str (job, "started_at"), s_str (job, "finished_at"));
    json_t *events = json_object_get (job, "events");
    if (json_is_array (events)) {
        printf ("events:\n");
        size_t i;
        json_t *e;
        json_array_foreach (events, i, e) {
            printf ("  %s  %-10s  attempt %lld", s_str (e, "at"), s_str (e, "event"),
                    (long long) json_integer_value (json_object_get (e, "attempt")));
            if (json_is_string (json_object_get (e, "worker")))
                printf ("  worker %s", s_str (e, "worker"));
            if (json_is_string (json_object_get (e, "reason")))
                printf ("  (%s)", s_str (e, "reason"));
            putchar ('\n');
        }
    }
}

/*  How long `wait` keeps asking a broker that does not answer (it may be
    restarting) before it gives up with exit status 3. */
#define S_WAIT_SILENCE_MS 60000

/*  Polls until the job is final, printing stage changes on stderr.
    Returns the exit code for the job's end, with the job in *final. */
static int
s_wait (bf_client_t *client, const char *id, json_t **final, bool quiet)
{
    char last[512] = "";
    int delay = 20;
    int64_t answered_at = bf_mono_ms ();
    bool warned = false;
    for (;;) {
        json_t *job = NULL;
        int src = bf_client_status (client, &job, id, false);
        if (src == BF_ETIMEDOUT && !zsys_interrupted
            && bf_mono_ms () - answered_at < S_WAIT_SILENCE_MS) {
            /* The broker may be restarting: the job is safe in its
               database, so keep asking for a while. */
            if (!quiet && !warned)
                fprintf (stderr, "%.12s: the broker is not answering; still waiting\n", id);
            warned = true;
            continue;
        }
        if (src != BF_OK)
            return s_fail (BFX_INFRA, "%s", bf_error_last ());
        answered_at = bf_mono_ms ();
        warned = false;
        char now[512];
        snprintf (now, sizeof now, "%s %s %s %lld %s", s_str (job, "state"), s_str (job, "stage"),
                  s_str (job, "worker"),
                  (long long) json_integer_value (json_object_get (job, "attempt")),
                  s_str (job, "waiting_for"));
        if (!quiet && strcmp (now, last) != 0) {
            if (strcmp (s_str (job, "state"), "running") == 0)
                fprintf (stderr, "%.12s: running, stage %s, on worker %s (attempt %lld)\n",
                         s_str (job, "id"), s_str (job, "stage"), s_str (job, "worker"),
                         (long long) json_integer_value (json_object_get (job, "attempt")));
            else if (!s_final (job))
                fprintf (stderr, "%.12s: %s%s%s\n", s_str (job, "id"), s_str (job, "state"),
                         json_is_string (json_object_get (job, "waiting_for")) ? ": " : "",
                         json_is_string (json_object_get (job, "waiting_for"))
                             ? s_str (job, "waiting_for") : "");
            snprintf (last, sizeof last, "%s", now);
        }
        if (s_final (job)) {
            if (!quiet) {
                fprintf (stderr, "%.12s: %s%s", s_str (job, "id"), s_str (job, "state"),
                         json_is_true (json_object_get (job, "cache_hit")) ? " (cache hit)" : "");
                if (json_is_string (json_object_get (job, "error")))
                    fprintf (stderr, " [%s] %s", s_str (job, "failure_class"), s_str (job, "error"));
                fputc ('\n', stderr);
            }
            *final = job;
            return s_exit_for (job);
        }
        json_decref (job);
        struct timespec ts = { 0, (long) delay * 1000000 };
        nanosleep (&ts, NULL);
        if (delay < 250)
            delay *= 2;
    }
}

static int
s_fetch_to (bf_client_t *client, const char *id, const char *what, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (bf_client_fetch (client, &data, &len, id, what) != BF_OK)
        return s_fail (BFX_INFRA, "%s", bf_error_last ());
    int rc = BFX_OK;
    if (!path || strcmp (path, "-") == 0) {
        if (strcmp (what, "bitstream") == 0 && isatty (STDOUT_FILENO))
            rc = s_fail (BFX_USAGE, "not writing a bitstream to a terminal; use -o FILE");
        else if (bf_write_all (STDOUT_FILENO, data, len) < 0)
            rc = s_fail (BFX_INFRA, "cannot write to stdout");
    }
    else if (bf_file_write_atomic (path, data, len, 0644) != BF_OK)
        rc = s_fail (BFX_USAGE, "%s", bf_error_last ());
    free (data);
    return rc;
}

/* ---------------------------------------------------------------------- */
/*  Commands                                                                */

/*  keygen --role ROLE NAME [--dir DIR] */
static int
s_cmd_keygen (const s_args_t *a, const char *name, int nargs)
{
    if (!a->role || !name || nargs != 1)
        return s_fail (BFX_USAGE, "usage: bitfarm keygen --role broker|worker|client NAME "
                       "[--dir DIR]");
    const char *dir = a->dir ? a->dir : ".";
    char key[BF_CURVE_KEY_LEN + 1];
    if (bf_curve_keygen (dir, name, a->role, key) != BF_OK)
        return s_fail (BFX_USAGE, "%s", bf_error_last ());
    const char *hint = strcmp (a->role, "broker") == 0
                       ? "give %s.key to workers and clients (--broker-key)"
                       : strcmp (a->role, "worker") == 0
                       ? "copy %s.key into the broker's KEYS/workers/"
                       : "copy %s.key into the broker's KEYS/clients/ (or KEYS/admins/)";
    printf ("%s/%s.key         public key %s (%s)\n%s/%s.key_secret  secret key, mode 0600: "
            "keep it on this machine\n", dir, name, key, a->role, dir, name);
    printf (hint, name);
    putchar ('\n');
    return BFX_OK;
}

/*  A broker to ask without starting one: --broker, $BITFARM_BROKER, or the
    local farm if it runs.  NULL when there is none. */
static bf_client_t *
s_open_existing (const s_args_t *a)
{
    const char *endpoint = a->broker && *a->broker ? a->broker : getenv ("BITFARM_BROKER");
    if ((!endpoint || !*endpoint) && !bf_localfarm_running ())
        return NULL;
    bf_client_t *client = NULL;
    return s_open (&client, a) == BFX_OK ? client : NULL;
}

static int
s_open_cache (bf_cache_t **cache, const s_args_t *a)
{
    char *dir = NULL;
    if (a->cache_dir)
        dir = xstrdup (a->cache_dir);
    else {
        char *farm = bf_localfarm_dir ();
        dir = xasprintf ("%s/state/cache", farm);
        free (farm);
    }
    int rc = BFX_OK;
    struct stat sb;
    char *format = xasprintf ("%s/FORMAT", dir);
    if (stat (dir, &sb) != 0)
        rc = s_fail (BFX_USAGE, "no cache at '%s' (give --cache-dir DIR)", dir);
    else if (stat (format, &sb) != 0)
        rc = s_fail (BFX_USAGE, "'%s' is not a bitfarm cache (it has no FORMAT file)", dir);
    else if (bf_cache_open (cache, dir, NULL) != BF_OK)
        rc = s_fail (BFX_INFRA, "%s", bf_error_last ());
    free (format);
    free (dir);
    return rc;
}

/*  `bitfarm explain`: the manifest, action digest and cache key of a
    design, and with --diff KEY how it differs from that entry. */
static int
s_explain (s_args_t *a, json_t *manifest)
{
    char action[BF_SHA256_HEX_LEN + 1], key[BF_SHA256_HEX_LEN + 1] = "";
    bf_key_action (action, manifest);
    char toolchain[BF_SHA256_HEX_LEN + 1] = "", salt[80] = "";
    const char *tc_from = NULL;
    bf_client_t *client = s_open_existing (a);
    if (a->toolchain) {
        size_t n = strlen (a->toolchain);
        if (n != BF_SHA256_HEX_LEN || strspn (a->toolchain, "0123456789abcdef") != n) {
            bf_client_destroy (&client);
            return s_fail (BFX_USAGE, "bad --toolchain '%.80s' (want 64 lowercase hex "
                           "characters, as `bitfarm workers --json` shows)", a->toolchain);
        }
        snprintf (toolchain, sizeof toolchain, "%s", a->toolchain);
        tc_from = "--toolchain";
    }
    else if (client) {
        json_t *body = json_object ();
        bf_msg_t *reply = NULL;
        if (bf_client_request (client, &reply, "PING", body, NULL) == BF_OK) {
            if (json_is_string (json_object_get (reply->body, "salt")))
                snprintf (salt, sizeof salt, "%s", s_str (reply->body, "salt"));
            if (json_is_string (json_object_get (reply->body, "toolchain"))) {
                snprintf (toolchain, sizeof toolchain, "%s", s_str (reply->body, "toolchain"));
                tc_from = "the broker's latest worker";
            }
        }
        bf_msg_destroy (&reply);
        json_decref (body);
    }
    if (!tc_from) {
        bf_toolchain_t tc = { 0 };
        char *farm = bf_localfarm_dir ();
        bf_mkdir_p (farm, 0755);
        char *memo = xasprintf ("%s/explain-toolchain.json", farm);
        if (bf_toolchain_identify (&tc, NULL, memo) == BF_OK) {
            snprintf (toolchain, sizeof toolchain, "%s", tc.id);
            tc_from = "this machine";
        }
        bf_toolchain_release (&tc);
        free (memo);
        free (farm);
    }
    if (tc_from)
        bf_key_compute_salted (key, manifest, toolchain, salt);
    char *commands = bf_flowcmd_by_hand (manifest);
    json_t *out = json_pack ("{s:O, s:s, s:s, s:s}", "manifest", manifest, "action", action,
                             "key_schema", BF_KEY_SCHEMA, "commands", commands);
    if (tc_from) {
        json_object_set_new (out, "toolchain", json_string (toolchain));
        json_object_set_new (out, "toolchain_from", json_string (tc_from));
        json_object_set_new (out, "cache_key", json_string (key));
    }
    int rc = BFX_OK;
    if (a->diff) {
        json_t *entry = NULL;
        bf_cache_t *cache = NULL;
        if (client && !a->cache_dir) {
            json_t *body = json_pack ("{s:s}", "key", a->diff);
            bf_msg_t *reply = NULL;
            if (bf_client_request (client, &reply, "ENTRY", body, NULL) == BF_OK)
                entry = json_incref (reply->body);
            else
                rc = s_fail (BFX_USAGE, "%s", bf_error_last ());
            bf_msg_destroy (&reply);
            json_decref (body);
        }
        else if ((rc = s_open_cache (&cache, a)) == BFX_OK) {
            char full[BF_SHA256_HEX_LEN + 1];
            if (bf_cache_resolve_key (cache, full, a->diff) != BF_OK
                || bf_cache_get_entry (cache, &entry, full, true) != BF_OK)
                rc = s_fail (BFX_USAGE, "%s", bf_error_last ());
            bf_cache_destroy (&cache);
        }
        if (entry) {
            json_t *diff = bf_explain_diff (manifest, tc_from ? toolchain : NULL,
                                            json_object_get (entry, "manifest"),
                                            s_str (entry, "toolchain"));
            json_object_set_new (out, "diff_key", json_string (s_str (entry, "key")));
            json_object_set_new (out, "diff", diff);
            rc = json_array_size (diff) > 0 ? 1 : BFX_OK;
            json_decref (entry);
        }
    }
    bf_client_destroy (&client);
    if (a->json || rc > 1) {
        if (rc <= 1)
            s_print_json (out);
        json_decref (out);
        free (commands);
        return rc;
    }
    char *text = json_dumps (manifest, JSON_INDENT (2) | JSON_SORT_KEYS);
    printf ("manifest %s\n", text);
    free (text);
    printf ("commands (by hand, from the source root; the worker runs the same, writing\n"
            "its outputs to its job directory):\n%s", commands);
    printf ("action     %s\n", action);
    if (tc_from)
        printf ("toolchain  %s (%s)\ncache key  %s\n", toolchain, tc_from, key);
    else
        printf ("cache key  unknown: no toolchain known (give --toolchain ID)\n");
    json_t *diff = json_object_get (out, "diff");
    if (diff) {
        if (json_array_size (diff) == 0)
            printf ("same inputs as cache entry %s\n", s_str (out, "diff_key"));
        else {
            printf ("differs from cache entry %s:\n", s_str (out, "diff_key"));
            size_t i;
            json_t *v;
            json_array_foreach (diff, i, v)
                printf ("  %s\n", json_string_value (v));
        }
    }
    json_decref (out);
    free (commands);
    return rc;
}

static int
s_cmd_submit (s_args_t *a, bool explain)
{
    if (!a->design.top || !a->design.device)
        return s_fail (BFX_USAGE, "--top and --device are required");
    bf_design_t *design = NULL;
    if (bf_design_new (&design, &a->design) != BF_OK)
        return s_fail (BFX_USAGE, "%s", bf_error_last ());
    if (explain) {
        int rc = s_explain (a, bf_design_manifest (design));
        bf_design_destroy (&design);
        return rc;
    }
    bf_client_t *client = NULL;
    int rc = s_open (&client, a);
    if (rc != BFX_OK) {
        bf_design_destroy (&design);
        return rc;
    }
    json_t *job = NULL;
    uint64_t uploaded = 0;
    a->submit.tags = a->tags;
    a->submit.toolchain = a->toolchain;
    if (bf_client_submit (client, &job, design, &a->submit, &uploaded) != BF_OK) {
        rc = s_fail (BFX_INFRA, "%s", bf_error_last ());
        goto out;
    }
    const char *id = s_str (job, "id");
    if (!a->wait) {
        if (a->json) {
            json_object_set_new (job, "uploaded_bytes", json_integer ((json_int_t) uploaded));
            s_print_json (job);
        }
        else
            puts (id);
        goto out;
    }
    if (!a->json) {
        puts (id);
        fflush (stdout);
    }
    json_t *final = NULL;
    rc = s_wait (client, id, &final, a->json);
    if (final) {
        if (a->output && rc == BFX_OK) {
            int frc = s_fetch_to (client, id, "bitstream", a->output);
            if (frc != BFX_OK)
                rc = frc;
            else if (!a->json)
                fprintf (stderr, "%.12s: bitstream written to %s\n", id, a->output);
        }
        if (a->json)
            s_print_json (final);
        json_decref (final);
    }
out:
    json_decref (job);
    bf_client_destroy (&client);
    bf_design_destroy (&design);
    return rc;
}

static int
s_cmd_job (s_args_t *a, const char *cmd, const char *id)
{
    if (!id)
        return s_fail (BFX_USAGE, "%s needs a job id", cmd);
    bf_client_t *client = NULL;
    int rc = s_open (&client, a);
    if (rc != BFX_OK)
        return rc;
    json_t *job = NULL;
    if (strcmp (cmd, "status") == 0) {
        if (bf_client_status (client, &job, id, a->events) != BF_OK)
            rc = s_fail (bf_error_last ()[0] && strstr (bf_error_last (), "no answer") ? BFX_INFRA
                         : BFX_USAGE, "%s", bf_error_last ());
        else if (a->json)
            s_print_json (job);
        else
            s_print_status (job);
    }
    else if (strcmp (cmd, "wait") == 0) {
        rc = s_wait (client, id, &job, a->json);
        if (job && a->json)
            s_print_json (job);
    }
    else if (strcmp (cmd, "fetch") == 0)
    {
        const char *what = a->what ? a->what : "bitstream";
        if (a->json && (!a->output || strcmp (a->output, "-") == 0))
            return bf_client_destroy (&client),
                   s_fail (BFX_USAGE, "fetch --json needs -o FILE (the JSON goes to stdout)");
        rc = s_fetch_to (client, id, what, a->output);
        if (rc == BFX_OK && a->json) {
            char digest[BF_SHA256_HEX_LEN + 1];
            uint64_t size = 0;
            bf_sha256_file (digest, &size, a->output);
            json_t *j = json_pack ("{s:s, s:s, s:s, s:s, s:I}", "id", id, "what", what, "path",
                                   a->output, "sha256", digest, "size", (json_int_t) size);
            s_print_json (j);
            json_decref (j);
        }
    }
    else if (strcmp (cmd, "cancel") == 0) {
        json_t *body = json_pack ("{s:s}", "id", id);
        bf_msg_t *reply = NULL;
        if (bf_client_request (client, &reply, "CANCEL", body, NULL) != BF_OK)
            rc = s_fail (BFX_USAGE, "%s", bf_error_last ());
        else if (a->json)
            s_print_json (reply->body);
        else
            printf ("%s cancelled\n", s_str (reply->body, "id"));
        bf_msg_destroy (&reply);
        json_decref (body);
    }
    else if (strcmp (cmd, "logs") == 0) {
        int64_t offset = 0;
        for (;;) {
            json_t *body = json_pack ("{s:s, s:I}", "id", id, "offset", (json_int_t) offset);
            bf_msg_t *reply = NULL;
            int r = bf_client_request (client, &reply, "LOGS", body, NULL);
            json_decref (body);
            if (r != BF_OK) {
                rc = s_fail (BFX_USAGE, "%s", bf_error_last ());
                break;
            }
            zframe_t *f = zmsg_pop (reply->blobs);
            if (f && a->json) {
                json_t *j = json_pack ("{s:s, s:I, s:s%}", "id", s_str (reply->body, "id"),
                                       "offset", (json_int_t) offset, "log",
                                       (const char *) zframe_data (f), zframe_size (f));
                if (j)
                    s_print_json (j);
                json_decref (j);
                offset += (int64_t) zframe_size (f);
                zframe_destroy (&f);
            }
            else if (f) {
                bf_write_all (STDOUT_FILENO, zframe_data (f), zframe_size (f));
                offset += (int64_t) zframe_size (f);
                zframe_destroy (&f);
            }
            bool final = json_is_true (json_object_get (reply->body, "final"));
            bf_msg_destroy (&reply);
            if (!a->follow || final)
                break;
            struct timespec ts = { 0, 200 * 1000000 };
            nanosleep (&ts, NULL);
        }
    }
    json_decref (job);
    bf_client_destroy (&client);
    return rc;
}

static int
s_cmd_list (s_args_t *a, const char *cmd)
{
    bf_client_t *client = NULL;
    int rc = s_open (&client, a);
    if (rc != BFX_OK)
        return rc;
    bool jobs = strcmp (cmd, "jobs") == 0;
    json_t *body = jobs ? json_pack ("{s:i}", "limit", a->limit) : json_object ();
    bf_msg_t *reply = NULL;
    if (bf_client_request (client, &reply, jobs ? "JOBS" : "WORKERS", body, NULL) != BF_OK)
        rc = s_fail (BFX_INFRA, "%s", bf_error_last ());
    else if (a->json)
        s_print_json (reply->body);
    else if (jobs) {
        printf ("%-12s  %-10s  %-10s  %3s  %-16s  %-5s  %s\n", "JOB", "STATE", "STAGE", "TRY",
                "WORKER", "CACHE", "SUBMITTED");
        size_t i;
        json_t *j;
        json_array_foreach (json_object_get (reply->body, "jobs"), i, j)
            printf ("%-12.12s  %-10s  %-10s  %3lld  %-16.16s  %-5s  %s\n", s_str (j, "id"),
                    s_str (j, "state"), s_str (j, "stage"),
                    (long long) json_integer_value (json_object_get (j, "attempt")),
                    s_str (j, "worker"), json_is_true (json_object_get (j, "cache_hit")) ? "hit" : "miss",
                    s_str (j, "submitted_at"));
    }
    else {
        printf ("%-24s  %5s  %4s  %-16s\n", "WORKER", "SLOTS", "BUSY", "TOOLCHAIN");
        size_t i;
        json_t *w;
        json_array_foreach (json_object_get (reply->body, "workers"), i, w) {
            printf ("%-24.24s  %5lld  %4lld  %-16.16s%s\n", s_str (w, "name"),
                    (long long) json_integer_value (json_object_get (w, "slots")),
                    (long long) json_integer_value (json_object_get (w, "busy")),
                    s_str (w, "toolchain"),
                    json_is_false (json_object_get (w, "sandbox")) ? "  UNSANDBOXED" : "");
            const char *tool;
            json_t *v;
            json_object_foreach (json_object_get (w, "versions"), tool, v)
                printf ("    %-14s %s\n", tool, json_string_value (v));
        }
    }
    bf_msg_destroy (&reply);
    json_decref (body);
    bf_client_destroy (&client);
    return rc;
}

static void
s_human_bytes (char *buf, size_t size, int64_t n)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double) n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf (buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static const char *
s_time_of (char *buf, size_t size, json_t *obj, const char *field)
{
    json_t *v = json_object_get (obj, field);
    return json_is_integer (v) ? bf_time_iso (buf, size, json_integer_value (v)) : "-";
}

static int
s_cmd_cache (s_args_t *a, const char *sub, const char *arg)
{
    static const char *subs[] = { "stats", "ls", "show", "verify", "gc", "evict", "invalidate",
                                  NULL };
    bool known = false;
    for (int i = 0; sub && subs[i]; i++)
        known |= strcmp (sub, subs[i]) == 0;
    if (!known)
        return s_fail (BFX_USAGE, "cache needs one of stats, ls, show KEY, verify, gc, evict, "
                       "invalidate (got '%s')", sub ? sub : "");
    if (strcmp (sub, "show") == 0 && !arg)
        return s_fail (BFX_USAGE, "cache show needs a cache key");
    if (strcmp (sub, "evict") == 0 && !a->older_than_ms && !a->max_size)
        return s_fail (BFX_USAGE, "cache evict needs --older-than DURATION or --max-size SIZE");
    if (strcmp (sub, "invalidate") == 0 && !a->toolchain)
        return s_fail (BFX_USAGE, "cache invalidate needs --toolchain ID");
    bf_cache_t *cache = NULL;
    int rc = s_open_cache (&cache, a);
    if (rc != BFX_OK)
        return rc;
    json_t *out = NULL;
    char b1[32], b2[32], t1[40], t2[40];
    if (strcmp (sub, "stats") == 0) {
        out = bf_cache_stats (cache);
        if (out && !a->json) {
            int64_t max = json_integer_value (json_object_get (out, "max_size"));
            s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
            s_human_bytes (b2, sizeof b2, max);
            printf ("cache directory  %s\n", s_str (out, "dir"));
            printf ("entries          %lld\n",
                    (long long) json_integer_value (json_object_get (out, "entries")));
            printf ("objects          %lld, %s of %s\n",
                    (long long) json_integer_value (json_object_get (out, "objects")), b1,
                    max ? b2 : "no cap");
            printf ("hits             %lld\nmisses           %lld\nhit rate         %.1f %%\n",
                    (long long) json_integer_value (json_object_get (out, "hits")),
                    (long long) json_integer_value (json_object_get (out, "misses")),
                    100 * json_real_value (json_object_get (out, "hit_rate")));
            printf ("evictions        %lld\ncorruptions      %lld (%lld file(s) in quarantine/)\n",
                    (long long) json_integer_value (json_object_get (out, "evictions")),
                    (long long) json_integer_value (json_object_get (out, "corruptions")),
                    (long long) json_integer_value (json_object_get (out, "quarantined")));
            printf ("\n%-12s  %7s  %10s  %7s  %7s  %9s  %11s\n", "TOOLCHAIN", "ENTRIES", "BYTES",
                    "HITS", "MISSES", "EVICTIONS", "CORRUPTIONS");
            size_t i;
            json_t *t;
            json_array_foreach (json_object_get (out, "toolchains"), i, t) {
                s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (t, "bytes")));
                const char *name = s_str (t, "toolchain");
                printf ("%-12.12s  %7lld  %10s  %7lld  %7lld  %9lld  %11lld%s\n",
                        *name ? name : "(none)",
                        (long long) json_integer_value (json_object_get (t, "entries")), b1,
                        (long long) json_integer_value (json_object_get (t, "hits")),
                        (long long) json_integer_value (json_object_get (t, "misses")),
                        (long long) json_integer_value (json_object_get (t, "evictions")),
                        (long long) json_integer_value (json_object_get (t, "corruptions")),
                        json_is_true (json_object_get (t, "disowned")) ? "  disowned" : "");
            }
        }
    }
    else if (strcmp (sub, "ls") == 0) {
        out = bf_cache_list (cache, a->limit);
        if (!a->json) {
            printf ("%-16s  %-9s  %-16s  %-6s  %-12s  %5s  %10s  %s\n", "KEY", "OUTCOME", "TOP",
                    "DEVICE", "TOOLCHAIN", "HITS", "SIZE", "LAST USED");
            size_t i;
            json_t *e;
            json_array_foreach (out, i, e) {
                s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (e, "size")));
                printf ("%-16.16s  %-9s  %-16.16s  %-6s  %-12.12s  %5lld  %10s  %s\n",
                        s_str (e, "key"), s_str (e, "outcome"), s_str (e, "top"),
                        s_str (e, "device"), s_str (e, "toolchain"),
                        (long long) json_integer_value (json_object_get (e, "hits")), b1,
                        s_time_of (t1, sizeof t1, e, "accessed_at"));
            }
        }
    }
    else if (strcmp (sub, "show") == 0) {
        char key[BF_SHA256_HEX_LEN + 1];
        if (bf_cache_resolve_key (cache, key, arg) != BF_OK
            || bf_cache_get_entry (cache, &out, key, true) != BF_OK)
            rc = s_fail (BFX_USAGE, "%s", bf_error_last ());
        else {
            char *report = NULL;
            size_t rlen = 0;
            const char *rd = s_str (out, "report");
            if (json_is_string (json_object_get (out, "report"))
                && bf_cache_get_object (cache, &report, &rlen, rd) == BF_OK) {
                json_t *summary = bf_report_summary (report, rlen);
                if (summary)
                    json_object_set_new (out, "report_summary", summary);
            }
            if (!a->json) {
                json_t *m = json_object_get (out, "manifest");
                printf ("key        %s\naction     %s\ntoolchain  %s\n", key,
                        s_str (out, "action"), s_str (out, "toolchain"));
                printf ("outcome    %s", s_str (out, "outcome"));
                if (json_is_string (json_object_get (out, "stage"))
                    && strcmp (s_str (out, "outcome"), "failed") == 0)
                    printf (" in %s: %s", s_str (out, "stage"), s_str (out, "error"));
                printf ("\nbuilt      %s\nlast used  %s\nhits       %lld\n",
                        s_time_of (t1, sizeof t1, out, "created_at"),
                        s_time_of (t2, sizeof t2, out, "accessed_at"),
                        (long long) json_integer_value (json_object_get (out, "hits")));
                printf ("design     top %s, %s-%s, seed %lld, flow %s\n", s_str (m, "top"),
                        s_str (m, "device"), s_str (m, "package"),
                        (long long) json_integer_value (json_object_get (m, "seed")),
                        s_str (m, "flow"));
                static const char *objs[] = { "bitstream", "report", "log" };
                for (int i = 0; i < 3; i++)
                    if (json_is_string (json_object_get (out, objs[i])))
                        printf ("%-10s %s\n", objs[i], s_str (out, objs[i]));
                char *text = json_dumps (m, JSON_INDENT (2) | JSON_SORT_KEYS);
                printf ("manifest %s\n", text);
                free (text);
                if (json_object_get (out, "report_summary")) {
                    printf ("report:\n");
                    s_print_summary (json_object_get (out, "report_summary"));
                }
            }
            free (report);
        }
    }
    else if (strcmp (sub, "verify") == 0) {
        if (bf_cache_verify (cache, &out) != BF_OK)
            rc = s_fail (BFX_INFRA, "%s", bf_error_last ());
        else {
            size_t bad = json_array_size (json_object_get (out, "corrupt"));
            if (!a->json) {
                s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
                printf ("verified %lld object(s), %s intact; %zu corrupt%s\n",
                        (long long) json_integer_value (json_object_get (out, "objects")), b1,
                        bad, bad ? " (moved to quarantine/):" : "");
                size_t i;
                json_t *d;
                json_array_foreach (json_object_get (out, "corrupt"), i, d)
                    printf ("  %s\n", json_string_value (d));
            }
            if (bad)
                rc = 1;
        }
    }
    else if (strcmp (sub, "gc") == 0) {
        if (bf_cache_gc (cache, BF_CACHE_TEMP_AGE_MS, &out) != BF_OK)
            rc = s_fail (BFX_INFRA, "%s", bf_error_last ());
        else if (!a->json) {
            s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes_freed")));
            printf ("removed %lld orphan file(s), %lld stale temp file(s) (%s), %lld row(s) "
                    "without a file, %lld dangling entr(ies)\n",
                    (long long) json_integer_value (json_object_get (out, "orphan_files")),
                    (long long) json_integer_value (json_object_get (out, "temp_files")), b1,
                    (long long) json_integer_value (json_object_get (out, "missing_files")),
                    (long long) json_integer_value (json_object_get (out, "dangling_entries")));
        }
    }
    else if (strcmp (sub, "evict") == 0) {
        int64_t cutoff = a->older_than_ms ? bf_now_ms () - a->older_than_ms : 0;
        uint64_t target = a->max_size ? (uint64_t) a->max_size : UINT64_MAX;
        if (bf_cache_evict (cache, target, cutoff, &out) != BF_OK)
            rc = s_fail (BFX_INFRA, "%s", bf_error_last ());
        else if (!a->json) {
            s_human_bytes (b1, sizeof b1, json_integer_value (json_object_get (out, "bytes")));
            printf ("evicted %lld entr(ies) and %lld object(s), %s\n",
                    (long long) json_integer_value (json_object_get (out, "entries")),
                    (long long) json_integer_value (json_object_get (out, "objects")), b1);
        }
    }
    else if (strcmp (sub, "invalidate") == 0) {
        if (bf_cache_invalidate (cache, a->toolchain, &out) != BF_OK)
            rc = s_fail (BFX_USAGE, "%s", bf_error_last ());
        else if (!a->json)
            printf ("toolchain %s disowned: %lld entr(ies) dropped; its results will not be "
                    "cached\n", s_str (out, "toolchain"),
                    (long long) json_integer_value (json_object_get (out, "entries")));
    }
    if (out && a->json)
        s_print_json (out);
    json_decref (out);
    bf_cache_destroy (&cache);
    return rc;
}

static int
s_cmd_farm (const char *sub, bool json)
{
    if (!sub)
        return s_fail (BFX_USAGE, "farm needs start, stop or status");
    char *dir = bf_localfarm_dir ();
    int rc = BFX_OK;
    if (strcmp (sub, "start") == 0) {
        char *endpoint = NULL;
        if (bf_localfarm_ensure (&endpoint, NULL) != BF_OK)
            rc = s_fail (BFX_INFRA, "%s", bf_error_last ());
        else
            printf ("local farm running at %s (state in %s)\n", endpoint, dir);
        free (endpoint);
    }
    else if (strcmp (sub, "stop") == 0) {
        if (bf_localfarm_stop () == BF_ENOTFOUND)
            printf ("local farm was not running\n");
        else
            printf ("local farm stopped\n");
    }
    else if (strcmp (sub, "status") == 0) {
        bool up = bf_localfarm_running ();
        if (json) {
            json_t *j = json_pack ("{s:b, s:s}", "running", up, "dir", dir);
            s_print_json (j);
            json_decref (j);
        }
        else
            printf ("local farm %s (%s)\n", up ? "running" : "not running", dir);
        rc = up ? BFX_OK : BFX_INFRA;
    }
    else
        rc = s_fail (BFX_USAGE, "unknown farm command '%s' (want start, stop or status)", sub);
    free (dir);
    return rc;
}

/* ---------------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/*  Boards                                                                  */

static void
s_print_boards (json_t *boards)
{
    printf ("%-16s  %-12s  %-16s  %-11s  %-40s  %s\n", "BOARD", "DEVICE", "WORKER", "STATE",
            "DETAIL", "LAST JOB");
    size_t i;
    json_t *b;
    json_array_foreach (boards, i, b) {
        char dev[40], detail[256] = "";
        snprintf (dev, sizeof dev, "%s-%s", s_str (b, "device"), s_str (b, "package"));
        const char *state = s_str (b, "state");
        if (json_is_string (json_object_get (b, "reserved_by")))
            snprintf (detail, sizeof detail, "reserved by %s until %s", s_str (b, "reserved_by"),
                      s_str (b, "reserved_until"));
        if (strcmp (state, "busy") == 0)
            snprintf (detail, sizeof detail, "job %.12s%s", s_str (b, "job"),
                      json_is_string (json_object_get (b, "reserved_by")) ? " (reserved)" : "");
        else if (strcmp (state, "error") == 0 || strcmp (state, "maintenance") == 0)
            snprintf (detail, sizeof detail, "%s", s_str (b, "health_reason"));
        printf ("%-16s  %-12s  %-16.16s  %-11s  %-40s  %.12s\n", s_str (b, "name"), dev,
                s_str (b, "worker"), state, detail, s_str (b, "last_job"));
    }
}

/*  reserve: one RESERVE, or with --wait, again every 500 ms while the
    broker says the board is busy (up to --timeout, if given). */
static int
s_reserve (bf_client_t *client, s_args_t *a, const char *name)
{
    char by[160];
    if (a->by)
        snprintf (by, sizeof by, "%s", a->by);
    else {
        char host[64] = "?";
        gethostname (host, sizeof host - 1);
        const char *user = getenv ("USER");
        snprintf (by, sizeof by, "%s@%s", user && *user ? user : "?", host);
    }
    json_t *body = json_pack ("{s:s, s:I}", "by", by, "ttl_ms",
                              (json_int_t) (a->lease_ms ? a->lease_ms : 15 * 60000));
    if (name)
        json_object_set_new (body, "board", json_string (name));
    else
        json_object_set_new (body, "device", json_string (a->design.device));
    int64_t give_up = a->submit.timeout_ms ? bf_mono_ms () + a->submit.timeout_ms : 0;
    int rc = BFX_INFRA;
    bool told = false;
    for (;;) {
        bf_msg_t *reply = NULL;
        int r = bf_client_request (client, &reply, "RESERVE", body, NULL);
        if (r == BF_OK) {
            if (a->json)
                s_print_json (reply->body);
            else {
                puts (s_str (reply->body, "token"));
                fprintf (stderr, "board '%s' reserved by %s until %s; release with: bitfarm "
                         "release %s --token %s\n", s_str (reply->body, "board"), by,
                         s_str (reply->body, "reserved_until"), s_str (reply->body, "board"),
                         s_str (reply->body, "token"));
            }
            bf_msg_destroy (&reply);
            rc = BFX_OK;
            break;
        }
        const char *why = bf_error_last ();
        bool busy = strstr (why, "reserved by") || strstr (why, " is in ")
                    || strstr (why, "is online");
        if (!a->wait || !busy || (give_up && bf_mono_ms () >= give_up)) {
            rc = s_fail (busy ? BFX_INFRA : BFX_USAGE, "%s", why);
            break;
        }
        if (!told && !a->json) {
            fprintf (stderr, "waiting: %s\n", why);
            told = true;
        }
        zclock_sleep (500);
    }
    json_decref (body);
    return rc;
}

static int
s_cmd_boards (s_args_t *a, const char *cmd, const char *arg)
{
    if (strcmp (cmd, "program") == 0 && (!a->board || !arg))
        return s_fail (BFX_USAGE, "usage: bitfarm program --board NAME JOB|CACHE_KEY|FILE.bin");
    if (strcmp (cmd, "board") == 0 && (!arg || !a->health))
        return s_fail (BFX_USAGE, "usage: bitfarm board NAME --enable | --maintenance "
                       "[--reason TEXT]");
    if (strcmp (cmd, "reserve") == 0 && !arg == !a->design.device)
        return s_fail (BFX_USAGE, "usage: bitfarm reserve NAME | --device DEV [--for DURATION] "
                       "[--wait]");
    if (strcmp (cmd, "release") == 0 && (!arg || !a->token))
        return s_fail (BFX_USAGE, "usage: bitfarm release NAME --token TOKEN");
    bf_client_t *client = NULL;
    int rc = s_open (&client, a);
    if (rc != BFX_OK)
        return rc;
    bf_msg_t *reply = NULL;
    json_t *body = NULL;
    if (strcmp (cmd, "program") == 0) {
        json_t *job = NULL;
        int prc = bf_client_program (client, &job, a->board, arg, &a->submit);
        if (prc != BF_OK)   /* refused by the broker: the request's fault */
            rc = s_fail (prc == BF_ETIMEDOUT || prc == BF_EIO ? BFX_INFRA : BFX_USAGE, "%s",
                         bf_error_last ());
        else if (!a->wait) {
            if (a->json)
                s_print_json (job);
            else
                puts (s_str (job, "id"));
        }
        else {
            if (!a->json) {
                puts (s_str (job, "id"));
                fflush (stdout);
            }
            json_t *final = NULL;
            rc = s_wait (client, s_str (job, "id"), &final, a->json);
            if (final && a->json)
                s_print_json (final);
            json_decref (final);
        }
        json_decref (job);
    }
    else if (strcmp (cmd, "reserve") == 0)
        rc = s_reserve (client, a, arg);
    else {
        const char *command = strcmp (cmd, "boards") == 0 ? "BOARDS"
                              : strcmp (cmd, "board") == 0 ? "BOARD" : "RELEASE";
        body = json_object ();
        if (arg && strcmp (cmd, "boards") != 0)
            json_object_set_new (body, "board", json_string (arg));
        if (strcmp (cmd, "board") == 0) {
            json_object_set_new (body, "health", json_string (a->health));
            if (a->reason)
                json_object_set_new (body, "reason", json_string (a->reason));
        }
        if (strcmp (cmd, "release") == 0)
            json_object_set_new (body, "token", json_string (a->token));
        if (bf_client_request (client, &reply, command, body, NULL) != BF_OK)
            rc = s_fail (strstr (bf_error_last (), "no board") ? BFX_USAGE : BFX_INFRA, "%s",
                         bf_error_last ());
        else if (a->json)
            s_print_json (reply->body);
        else if (strcmp (cmd, "boards") == 0)
            s_print_boards (json_object_get (reply->body, "boards"));
        else if (strcmp (cmd, "board") == 0)
            printf ("board '%s' is %s\n", s_str (reply->body, "name"), s_str (reply->body, "state"));
        else
            printf ("board '%s' released\n", arg);
    }
    bf_msg_destroy (&reply);
    json_decref (body);
    bf_client_destroy (&client);
    return rc;
}

static void
s_push (const char ***list, int *n, const char *v)
{
    *list = xrealloc (*list, (size_t) (*n + 1) * sizeof **list);
    (*list)[(*n)++] = v;
}

int
main (int argc, char **argv)
{
    char *base = basename (argv[0]);
    const char *cmd;
    int first;
    if (strcmp (base, "submit") == 0) {
        cmd = "submit";
        first = 0;
    }
    else {
        if (argc < 2)
            return fputs (s_usage, stderr), BFX_USAGE;
        cmd = argv[1];
        first = 1;
    }
    if (strcmp (cmd, "-h") == 0 || strcmp (cmd, "--help") == 0 || strcmp (cmd, "help") == 0)
        return fputs (s_usage, stdout), BFX_OK;
    if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "version") == 0)
        return puts ("bitfarm 0.1.0"), BFX_OK;
    static const char *commands[] = { "submit", "status", "wait", "logs", "fetch", "cancel",
                                      "jobs", "workers", "explain", "farm", "cache", "program",
                                      "boards", "board", "reserve", "release", "keygen",
                                      NULL };
    bool known = false;
    for (int i = 0; commands[i]; i++)
        known |= strcmp (cmd, commands[i]) == 0;
    if (!known)
        return s_fail (BFX_USAGE, "unknown command '%s' (see bitfarm --help)", cmd);

    s_args_t a = { .timeout_ms = 5000, .limit = 20, .design = { .seed = -1 } };
    static const struct option opts[] = {
        { "broker", required_argument, 0, 'B' },  { "timeout", required_argument, 0, 'T' },
        { "json", no_argument, 0, 'J' },           { "wait", no_argument, 0, 'W' },
        { "follow", no_argument, 0, 'f' },         { "output", required_argument, 0, 'o' },
        { "report", no_argument, 0, 'R' },         { "log", no_argument, 0, 'L' },
        { "top", required_argument, 0, 't' },      { "device", required_argument, 0, 'd' },
        { "package", required_argument, 0, 'p' },  { "pcf", required_argument, 0, 'P' },
        { "freq", required_argument, 0, 'F' },     { "seed", required_argument, 0, 'S' },
        { "param", required_argument, 0, 'A' },    { "priority", required_argument, 0, 'Y' },
        { "request-timeout", required_argument, 0, 'Q' }, { "tag", required_argument, 0, 'G' },
        { "flow", required_argument, 0, 'w' },     { "delay", required_argument, 0, 'y' },
        { "events", no_argument, 0, 'E' },
        { "cache-dir", required_argument, 0, 'K' }, { "toolchain", required_argument, 0, 'X' },
        { "diff", required_argument, 0, 'Z' },     { "older-than", required_argument, 0, 'O' },
        { "max-size", required_argument, 0, 'M' },
        { "synth-opt", required_argument, 0, 256 }, { "pnr-opt", required_argument, 0, 257 },
        { "board", required_argument, 0, 'j' },    { "token", required_argument, 0, 'k' },
        { "program", required_argument, 0, 'g' },  { "for", required_argument, 0, 'l' },
        { "by", required_argument, 0, 'u' },       { "enable", no_argument, 0, 'e' },
        { "maintenance", no_argument, 0, 'm' },    { "reason", required_argument, 0, 'r' },
        { "cert", required_argument, 0, 'C' },     { "broker-key", required_argument, 0, 'b' },
        { "role", required_argument, 0, 'x' },     { "dir", required_argument, 0, 'i' },
        { "help", no_argument, 0, 'h' },           { "version", no_argument, 0, 'V' },
        { 0, 0, 0, 0 }
    };
    int c;
    int64_t n;
    optind = first + 1;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "D:I:o:n:fh", opts, NULL)) != -1) {
        int rc = BF_OK;
        switch (c) {
            case 'B': a.broker = optarg; break;
            case 'Q':
                rc = bf_opt_duration_ms (&n, "--request-timeout", optarg, 10, 3600000);
                a.timeout_ms = (int) n;
                break;
            case 'T':
                rc = bf_opt_duration_ms (&a.submit.timeout_ms, "--timeout", optarg, 1000,
                                         30LL * 86400000);
                break;
            case 'G': rc = bf_opt_tag (a.tags, &a.ntags, optarg); break;
            case 'w':
                if (strcmp (optarg, "ice40") != 0 && strcmp (optarg, "noop") != 0)
                    rc = bf_error_set (BF_EINVAL, "invalid value '%.80s' for --flow (want ice40 "
                                       "or noop)", optarg);
                a.design.flow = optarg;
                break;
            case 'y':
                rc = bf_opt_duration_ms (&a.design.delay_ms, "--delay", optarg, 0,
                                         BF_NOOP_DELAY_MAX);
                break;
            case 'E': a.events = true; break;
            case 'K': a.cache_dir = optarg; break;
            case 'X': a.toolchain = optarg; break;
            case 'Z': a.diff = optarg; break;
            case 'O':
                rc = bf_opt_duration_ms (&a.older_than_ms, "--older-than", optarg, 0,
                                         3650LL * 86400000);
                if (rc == BF_OK && a.older_than_ms == 0)
                    a.older_than_ms = 1;   /* "0s": everything not used from now on */
                break;
            case 'M': rc = bf_opt_size (&a.max_size, "--max-size", optarg, 0, INT64_MAX / 2); break;
            case 'j': a.board = optarg; break;
            case 'k': a.token = optarg; break;
            case 'g': a.submit.program_board = optarg; break;
            case 'l':
                rc = bf_opt_duration_ms (&a.lease_ms, "--for", optarg, 1000, 86400000);
                break;
            case 'u': a.by = optarg; break;
            case 'C': a.cert = optarg; break;
            case 'b': a.broker_key = optarg; break;
            case 'x': a.role = optarg; break;
            case 'i': a.dir = optarg; break;
            case 'e': a.health = "ok"; break;
            case 'm': a.health = "maintenance"; break;
            case 'r': a.reason = optarg; break;
            case 'J': a.json = true; break;
            case 'W': a.wait = true; break;
            case 'f': a.follow = true; break;
            case 'o': a.output = optarg; break;
            case 'R': a.what = "report"; break;
            case 'L': a.what = "log"; break;
            case 't': a.design.top = optarg; break;
            case 'd': a.design.device = optarg; break;
            case 'p': a.design.package = optarg; break;
            case 'P': a.design.pcf = optarg; break;
            case 'F': a.design.freq_mhz = optarg; break;
            case 'S': rc = bf_opt_int (&a.design.seed, "--seed", optarg, 0, 2147483647); break;
            case 'D': s_push (&a.design.defines, &a.design.ndefines, optarg); break;
            case 'I': s_push (&a.design.includes, &a.design.nincludes, optarg); break;
            case 'A': s_push (&a.design.params, &a.design.nparams, optarg); break;
            case 256: s_push (&a.design.synth_opts, &a.design.nsynth_opts, optarg); break;
            case 257: s_push (&a.design.pnr_opts, &a.design.npnr_opts, optarg); break;
            case 'Y':
                rc = bf_opt_int (&n, "--priority", optarg, -1000, 1000);
                a.submit.priority = (int) n;
                break;
            case 'n':
                rc = bf_opt_int (&n, "-n", optarg, 1, 10000);
                a.limit = (int) n;
                break;
            case 'h': fputs (s_usage, stdout); return BFX_OK;
            case 'V': puts ("bitfarm 0.1.0"); return BFX_OK;
            default:
                return s_fail (BFX_USAGE, "unknown option or missing value '%s' for '%s' "
                               "(see bitfarm --help)", argv[optind - 1], cmd);
        }
        if (rc != BF_OK)
            return s_fail (BFX_USAGE, "%s", bf_error_last ());
    }
    if (a.design.delay_ms > 0 && !(a.design.flow && strcmp (a.design.flow, "noop") == 0))
        return s_fail (BFX_USAGE, "--delay needs --flow noop");
    if (!a.token)
        a.token = getenv ("BITFARM_TOKEN");
    if (a.token && !*a.token)
        a.token = NULL;
    a.submit.token = a.token;
    if (!a.cert)
        a.cert = getenv ("BITFARM_CERT");
    if (!a.broker_key)
        a.broker_key = getenv ("BITFARM_BROKER_KEY");
    if (a.cert && !*a.cert)
        a.cert = NULL;
    if (a.cert && (!a.broker_key || !*a.broker_key))
        return s_fail (BFX_USAGE, "--cert needs --broker-key (or $BITFARM_BROKER_KEY): the "
                       "broker's public key");
    if (strcmp (cmd, "keygen") == 0)
        return s_cmd_keygen (&a, optind < argc ? argv[optind] : NULL, argc - optind);
    zsys_init ();
    zsys_set_logstream (NULL);
    int rc;
    const char *arg = optind < argc ? argv[optind] : NULL;
    if (strcmp (cmd, "submit") == 0 || strcmp (cmd, "explain") == 0) {
        a.design.files = (const char **) argv + optind;
        a.design.nfiles = argc - optind;
        rc = s_cmd_submit (&a, strcmp (cmd, "explain") == 0);
    }
    else if (strcmp (cmd, "jobs") == 0 || strcmp (cmd, "workers") == 0)
        rc = s_cmd_list (&a, cmd);
    else if (strcmp (cmd, "farm") == 0)
        rc = s_cmd_farm (arg, a.json);
    else if (strcmp (cmd, "cache") == 0)
        rc = s_cmd_cache (&a, arg, optind + 1 < argc ? argv[optind + 1] : NULL);
    else if (strcmp (cmd, "program") == 0 || strcmp (cmd, "boards") == 0
             || strcmp (cmd, "board") == 0 || strcmp (cmd, "reserve") == 0
             || strcmp (cmd, "release") == 0)
        rc = s_cmd_boards (&a, cmd, arg);
    else
        rc = s_cmd_job (&a, cmd, arg);
    free (a.design.defines);
    free (a.design.includes);
    free (a.design.params);
    free (a.design.synth_opts);
    free (a.design.pnr_opts);
    return rc;
}

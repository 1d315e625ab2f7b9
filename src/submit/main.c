/*  submit - the lean front end of `submit` (issue 20): the program
    installed as `submit`, which does the common case itself and hands
    everything else to the full CLI (`bitfarm`, beside it) by execv with
    the same argv, so that behaviour is the full CLI's in every case.

    Why: a cache-hit submit is one SUBMIT and one reply.  The full CLI
    links libczmq and libzmq, and through them about 30 shared objects
    (libsystemd, libgcrypt, krb5, pgm, norm, ...): loading them costs more
    than the rest of the hit.  This program needs libc alone (jansson is
    linked in statically, SHA-256 is bf_sha256_soft.h's), reads the command line with the full CLI's own option table
    and bf_cli_apply, builds the design and the SUBMIT body with the same
    modules (bf_design, bf_regio, bf_submit_body: the same bytes), and
    speaks ZMTP itself (bf_zmtp.h).

    The lean path is taken when all of this holds; otherwise the full CLI
    runs (before anything is sent):
      - `submit FILES...` with a broker (--broker, $BITFARM_BROKER) at an
        ipc:// or tcp:// endpoint, and only the options of the design
        (S_DESIGN), --broker, --request-timeout, --json, --toolchain,
        --priority, --timeout, --tag, --program, --token (and --version);
      - no CURVE (--cert, $BITFARM_CERT), no git tree (BITFARM_NO_GIT=1, or
        no .git in the current directory or above it: git's provenance
        needs libgit2), no --wait/-o/-n/--rev/--git-dir, no project
        (no FILES, -t, --all, --junit, --artifacts);
      - the design reads without an error and the handshake succeeds;
      - $BITFARM_SUBMIT_FULL is not 1 (forces the full CLI: tests, bench).
    After SUBMIT is sent the lean path never falls back, except on NEED
    (the broker lacks inputs: it made no job, so the full CLI submitting
    again, with uploads, cannot make two).
    $BITFARM_SUBMIT_TIMES=1 prints on stderr which path ran: "submit: full
    path (WHY)", or "submit: lean path (ms): parse=.. design=.. handshake=..
    round_trip=.. output=.. main=.. files=N", the phases in main: the
    command line; reading, scanning and hashing the N files and building
    the body; the ZMTP handshake; SUBMIT sent to reply read; printing; all
    of main (docs/benchmarks.md, "20-submit-hit").
*/
#include "../client/bf_cli.h"
#include "../client/bf_cli_table.h"
#include "../client/bf_regio.h"
#include "../client/bf_submit_body.h"
#include "../client/bf_zmtp.h"
#include "../common/bf_error.h"
#include "../common/bf_proto.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*  The options the lean path handles; any other one runs the full CLI. */
#define S_LEAN_OPTS (BF_O (BF_O_BROKER) | BF_O (BF_O_REQUEST_TIMEOUT) | BF_O (BF_O_JSON)     \
                     | S_DESIGN | BF_O (BF_O_TOOLCHAIN) | BF_O (BF_O_PRIORITY)               \
                     | BF_O (BF_O_TIMEOUT) | BF_O (BF_O_TAG) | BF_O (BF_O_PROGRAM)           \
                     | BF_O (BF_O_TOKEN))
#define S_REPLY_FRAMES 16

static bool s_times;            /* $BITFARM_SUBMIT_TIMES=1 */

static double
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/*  Runs the full CLI with our argv; returns only when it cannot. */
static int
s_full (char **argv, const char *why)
{
    if (s_times)
        fprintf (stderr, "submit: full path (%s)\n", why);
    char *full = bf_sibling_program ("bitfarm");
    char *self = realpath ("/proc/self/exe", NULL);
    if (self && strcmp (self, full) == 0) {   /* `bitfarm` is this program: never loop */
        free (self);
        int rc = bf_cli_fail (BFX_INFRA, "cannot run the full CLI: '%s' is this program", full);
        free (full);
        return rc;
    }
    free (self);
    execv (full, argv);
    if (errno == ENOENT && !strchr (full, '/'))
        execvp (full, argv);
    int rc = bf_cli_fail (BFX_INFRA, "cannot run the full CLI '%s': %s", full, strerror (errno));
    free (full);
    return rc;
}

/*  The option short letter c means for submit (main.c's s_short). */
static int
s_short (char c, uint64_t takes)
{
    int first = -1;
    for (int o = 0; o < BF_O_COUNT; o++)
        if (bf_cli_options[o].shortc == c) {
            if (takes & BF_O (o))
                return o;
            if (first < 0)
                first = o;
        }
    return first;
}

/*  Reads argv from argv[first + 1] on as main.c's s_getopt and s_parse
    do for submit.  0: a is ready for the lean path; 1: --version, said;
    -1: the full CLI must read it (*why says why). */
static int
s_parse (bf_cli_args_t *a, int argc, char **argv, int first, const char **why)
{
    struct option longs[BF_O_COUNT + 1];
    char shorts[2 * BF_O_COUNT + 1];
    int nl = 0, ns = 0;
    const uint64_t takes = S_SUBMIT_OPTS | S_ALWAYS;
    for (int o = 0; o < BF_O_COUNT; o++) {
        const s_option_t *opt = &bf_cli_options[o];
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
    optind = first + 1;
    opterr = 0;
    int c;
    while ((c = getopt_long (argc, argv, shorts, longs, NULL)) != -1) {
        int o = c >= 256 ? c - 256 : c != '?' ? s_short ((char) c, takes) : -1;
        if (o == BF_O_VERSION)
            return puts (S_VERSION), 1;
        if (o < 0 || !(S_LEAN_OPTS & BF_O (o))) {
            *why = o < 0 ? "an option it words the error of" : "an option of the full CLI";
            return -1;
        }
        if (bf_cli_apply (a, o, optarg) != BF_OK) {
            *why = "a bad option value";
            return -1;
        }
    }
    a->cmd = "submit";
    a->args = argv + optind;
    a->nargs = argc - optind;
    if (a->design.delay_ms > 0 && !(a->design.flow && strcmp (a->design.flow, "noop") == 0)) {
        *why = "--delay without --flow noop";
        return -1;
    }
    if (!a->token)
        a->token = getenv ("BITFARM_TOKEN");
    if (a->token && !*a->token)
        a->token = NULL;
    a->submit.token = a->token;
    const char *cert = getenv ("BITFARM_CERT");
    if (cert && *cert) {
        *why = "CURVE ($BITFARM_CERT)";
        return -1;
    }
    if (a->nargs == 0 || !a->design.top || (!a->design.device && !a->regio)) {
        *why = "no files, --top or --device";
        return -1;
    }
    return 0;
}

/*  True when git would define the design's tree (bf_submission_git_open):
    a .git, or a bare repository, in the current directory or above. */
static bool
s_in_git (void)
{
    const char *nogit = getenv ("BITFARM_NO_GIT");
    if (nogit && strcmp (nogit, "1") == 0)
        return false;
    if (getenv ("GIT_DIR"))
        return true;
    char dir[PATH_MAX], probe[PATH_MAX + 16];
    if (!getcwd (dir, sizeof dir))
        return true;   /* let the full CLI say why */
    for (;;) {
        struct stat sb;
        snprintf (probe, sizeof probe, "%s/.git", dir);
        if (lstat (probe, &sb) == 0)
            return true;
        snprintf (probe, sizeof probe, "%s/HEAD", dir);
        if (lstat (probe, &sb) == 0) {
            snprintf (probe, sizeof probe, "%s/objects", dir);
            if (lstat (probe, &sb) == 0)
                return true;
        }
        char *slash = strrchr (dir, '/');
        if (!slash || slash == dir)
            break;
        *slash = '\0';
    }
    return false;
}

/*  Checks a reply as bf_msg_decode does; *body (new) and the command. */
static int
s_decode (json_t **body, char command[BF_COMMAND_MAX + 1], const bf_zmtp_msg_t *m)
{
    *body = NULL;
    if (m->n < 4)
        return bf_error_set (BF_EPROTO, "message has %zu frames, expected at least 4", m->n);
    if (m->frames[0].len != 0)
        return bf_error_set (BF_EPROTO, "frame 0 must be empty");
    if (m->frames[1].len != 5 || memcmp (m->frames[1].data, BF_PROTO_CLIENT, 5) != 0)
        return bf_error_set (BF_EPROTO, "unknown protocol in frame 1 (want '%s')",
                             BF_PROTO_CLIENT);
    size_t clen = m->frames[2].len;
    if (clen == 0 || clen > BF_COMMAND_MAX
        || strspn ((const char *) m->frames[2].data, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != clen)
        return bf_error_set (BF_EPROTO, "malformed command in frame 2");
    memcpy (command, m->frames[2].data, clen);
    command[clen] = '\0';
    if (m->frames[3].len > BF_BODY_MAX)
        return bf_error_set (BF_ETOOBIG, "body of %zu bytes, limit %u", m->frames[3].len,
                             BF_BODY_MAX);
    json_error_t jerr;
    json_t *j = json_loadb ((const char *) m->frames[3].data, m->frames[3].len,
                            JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object (j)) {
        json_decref (j);
        return bf_error_set (BF_EPROTO, "body is not a JSON object%s%s", j ? "" : ": ",
                             j ? "" : jerr.text);
    }
    *body = j;
    return BF_OK;
}

int
main (int argc, char **argv)
{
    double t0 = s_now_ms ();
    const char *v = getenv ("BITFARM_SUBMIT_TIMES");
    s_times = v && strcmp (v, "1") == 0;
    int first;
    if (strcmp (basename (argv[0]), "submit") == 0)
        first = 0;
    else if (argc > 1 && strcmp (argv[1], "submit") == 0)
        first = 1;
    else
        return s_full (argv, "not a submit");
    const char *force = getenv ("BITFARM_SUBMIT_FULL");
    if (force && strcmp (force, "1") == 0)
        return s_full (argv, "$BITFARM_SUBMIT_FULL=1");

    bf_cli_args_t a = { .timeout_ms = 5000, .limit = 20, .design = { .seed = -1 } };
    bf_regio_t *regio = NULL;
    bf_design_t *design = NULL;
    bf_zmtp_t *conn = NULL;
    bf_zmtp_msg_t reply = { 0 };
    json_t *body = NULL, *job = NULL;
    char *text = NULL;
    const char *why = NULL;
    int rc = BFX_OK;
    int p = s_parse (&a, argc, argv, first, &why);
    if (p != 0) {
        rc = p > 0 ? BFX_OK : -1;
        goto out;
    }
    const char *endpoint = a.broker && *a.broker ? a.broker : getenv ("BITFARM_BROKER");
    if (!endpoint || !*endpoint) {
        why = "the local farm";
        rc = -1;
        goto out;
    }
    if (!bf_zmtp_supported (endpoint)) {
        why = "an endpoint it does not speak";
        rc = -1;
        goto out;
    }
    if (s_in_git ()) {
        why = "a git work tree";
        rc = -1;
        goto out;
    }
    double t1 = s_now_ms ();
    a.design.files = (const char **) a.args;
    a.design.nfiles = a.nargs;
    a.submit.tags = a.tags;
    a.submit.toolchain = a.toolchain;
    if ((a.regio && bf_regio_apply (&regio, &a.design, a.regio) != BF_OK)
        || bf_design_new (&design, &a.design) != BF_OK) {
        why = "the design has an error";   /* the full CLI words it */
        rc = -1;
        goto out;
    }
    body = bf_submit_body (bf_design_manifest (design), &a.submit);
    text = json_dumps (body, JSON_COMPACT | JSON_SORT_KEYS);   /* as bf_msg_encode */
    double t2 = s_now_ms ();
    int64_t deadline = bf_mono_ms () + a.timeout_ms;
    bf_zmtp_frame_t frames[] = {
        { (unsigned char *) "", 0 },
        { (unsigned char *) BF_PROTO_CLIENT, 5 },
        { (unsigned char *) "SUBMIT", 6 },
        { (unsigned char *) text, text ? strlen (text) : 0 },
    };
    /* Back to the full CLI when SUBMIT was not sent (any connect error:
       the full CLI connects again, and waits or words it as it does); once
       it is, never, but for NEED. */
    int zrc = text ? bf_zmtp_connect (&conn, endpoint, deadline) : BF_EINVAL;
    if (zrc != BF_OK && zrc != BF_ETIMEDOUT) {
        why = text ? bf_error_last () : "no body";
        rc = -1;
        goto out;
    }
    double t3 = s_now_ms ();
    if (zrc == BF_OK)   /* (a handshake with no answer in time: as the full CLI says it) */
        zrc = bf_zmtp_send (conn, frames, 4, deadline);
    if (zrc == BF_OK)
        zrc = bf_zmtp_recv (conn, &reply, S_REPLY_FRAMES, BF_BODY_MAX + 4096, deadline);
    if (zrc == BF_ETIMEDOUT) {
        rc = bf_cli_fail (BFX_INFRA, "no answer from broker at '%s' within %d ms (is "
                          "bitfarm-broker running?)", endpoint, a.timeout_ms);
        goto out;
    }
    if (zrc != BF_OK) {
        rc = bf_cli_fail (BFX_INFRA, "bad reply from broker: %s", bf_error_last ());
        goto out;
    }
    char command[BF_COMMAND_MAX + 1];
    if (s_decode (&job, command, &reply) != BF_OK) {
        rc = bf_cli_fail (BFX_INFRA, "bad reply from broker: %s", bf_error_last ());
        goto out;
    }
    double t4 = s_now_ms ();
    if (strcmp (command, "NEED") == 0) {
        why = "a miss: the broker needs uploads";
        rc = -1;
        goto out;
    }
    if (strcmp (command, "ERROR") == 0) {
        const char *e = json_string_value (json_object_get (job, "error"));
        rc = bf_cli_fail (BFX_INFRA, "%s", e ? e : "broker error");
        goto out;
    }
    if (strcmp (command, "OK") != 0) {
        rc = bf_cli_fail (BFX_INFRA, "unexpected reply '%s' to SUBMIT", command);
        goto out;
    }
    if (a.json) {
        json_object_set_new (job, "uploaded_bytes", json_integer (0));
        json_object_set_new (job, "schema", json_integer (BF_CLI_JSON_SCHEMA));
        char *out = json_dumps (job, JSON_INDENT (2) | JSON_SORT_KEYS);
        puts (out ? out : "{}");
        free (out);
    }
    else {
        const char *id = json_string_value (json_object_get (job, "id"));
        puts (id ? id : "-");
    }
    fflush (stdout);
    if (s_times) {
        const bf_manifest_t *m = bf_design_manifest (design);
        double t5 = s_now_ms ();
        fprintf (stderr, "submit: lean path (ms): parse=%.3f design=%.3f handshake=%.3f "
                 "round_trip=%.3f output=%.3f main=%.3f files=%zu\n", t1 - t0, t2 - t1,
                 t3 - t2, t4 - t3, t5 - t4, t5 - t0, m->sources.n + m->data.n + m->has_pcf);
    }
out:
    bf_zmtp_msg_release (&reply);
    bf_zmtp_destroy (&conn);
    json_decref (job);
    json_decref (body);
    free (text);
    bf_design_destroy (&design);
    bf_regio_destroy (&regio);
    bf_cli_args_release (&a);
    if (rc < 0) {
        char reason[256];
        snprintf (reason, sizeof reason, "%s", why ? why : "?");
        return s_full (argv, reason);
    }
    return rc;
}

/*  cmd_regio - talking to the design on a reserved board (bf_regs.h,
    docs/protocol.md section 11): read, write, poll, ident, and session,
    which reserves a board, optionally programs it, runs a command with
    BITFARM_BOARD and BITFARM_TOKEN in its environment, and always
    releases it. */
#include "bf_cli.h"
#include "bf_regs.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_FILE_MAX (1u << 20)    /* bytes of a write --file */

/*  The exit status for a failed register call. */
static int
s_exit (const bf_regs_t *regs, int rc)
{
    const char *cls = regs ? bf_regs_error_class (regs) : NULL;
    if (rc == BF_EINVAL || (cls && strcmp (cls, BF_REGIO_CLASS_USAGE) == 0))
        return BFX_USAGE;
    if (cls && strcmp (cls, BF_REGIO_CLASS_DESIGN) == 0)
        return BFX_DESIGN;
    return BFX_INFRA;
}

/*  A number: decimal, 0x hex, 0 octal; an address may be negative (to
    be named by the checks).  BF_OK or BF_EINVAL naming what. */
static int
s_number (int64_t *out, const char *text, const char *what, bool u32)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll (text ? text : "", &end, 0);
    if (!text || !*text || *end || errno)
        return bf_error_set (BF_EINVAL, "invalid %s '%.40s' (want a number: 42, 0x2a)", what,
                             text ? text : "");
    if (u32 && (v < 0 || v > (long long) UINT32_MAX))
        return bf_error_set (BF_EINVAL, "%s '%.40s' is not a 32-bit value", what, text);
    *out = v;
    return BF_OK;
}

/*  Opens the client and the session on `board` with --token/$BITFARM_TOKEN. */
static int
s_open (bf_client_t **client, bf_regs_t **regs, const bf_cli_args_t *a, const char *board)
{
    *client = NULL;
    *regs = NULL;
    /* --request-timeout, when given, is also the request's time on the
       worker (within BF_REGIO_TIMEOUT_MIN_MS..MAX_MS) */
    int64_t tmo = 0;
    for (int i = 0; i < a->ngiven; i++)
        if (a->given[i].opt == BF_O_REQUEST_TIMEOUT)
            tmo = a->timeout_ms < BF_REGIO_TIMEOUT_MIN_MS ? BF_REGIO_TIMEOUT_MIN_MS
                  : a->timeout_ms > BF_REGIO_TIMEOUT_MAX_MS ? BF_REGIO_TIMEOUT_MAX_MS
                  : a->timeout_ms;
    if (bf_regs_open (regs, NULL, board, a->token, tmo) != BF_OK)
        return bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    bf_regs_close (regs);
    int rc = bf_cli_open (client, a);
    if (rc != BFX_OK)
        return rc;
    bf_regs_open (regs, *client, board, a->token, tmo);
    return BFX_OK;
}

static void
s_print_words (const bf_cli_args_t *a, const char *board, uint32_t addr, const uint32_t *w,
               size_t n, bool fixed)
{
    if (a->json) {
        json_t *words = json_array ();
        for (size_t i = 0; i < n; i++)
            json_array_append_new (words, json_integer (w[i]));
        json_t *o = json_pack ("{s:s, s:I, s:I, s:b, s:o}", "board", board, "addr",
                               (json_int_t) addr, "count", (json_int_t) n, "fixed", fixed,
                               "words", words);
        bf_cli_print_json (o);
        json_decref (o);
        return;
    }
    for (size_t i = 0; i < n; i++)
        printf ("0x%08" PRIx32 "\n", w[i]);
}

/*  read BOARD ADDR [COUNT] [--fixed] [--json] */
int
bf_cmd_read (bf_cli_args_t *a)
{
    if (a->nargs < 2 || a->nargs > 3)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm read BOARD ADDR [COUNT] [--fixed] "
                            "[--json]");
    int64_t addr, count = 1;
    if (s_number (&addr, a->args[1], "address", false) != BF_OK
        || (a->nargs == 3 && s_number (&count, a->args[2], "count", false) != BF_OK)
        || bf_regio_check_addr (addr, count, a->fixed, "read") != BF_OK)
        return bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    bf_client_t *client;
    bf_regs_t *regs;
    int rc = s_open (&client, &regs, a, a->args[0]);
    if (rc != BFX_OK)
        return rc;
    uint32_t *w = xcalloc ((size_t) count, sizeof *w);
    int r = bf_regs_read (regs, w, addr, count, a->fixed);
    if (r != BF_OK)
        rc = bf_cli_fail (s_exit (regs, r), "%s", bf_error_last ());
    else
        s_print_words (a, a->args[0], (uint32_t) addr, w, (size_t) count, a->fixed);
    free (w);
    bf_regs_close (&regs);
    bf_client_destroy (&client);
    return rc;
}

/*  The words of write --file: numbers separated by white space, '#' to
    the end of a line a comment. */
static int
s_file_words (uint32_t **out, int64_t *n_out, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    *n_out = 0;
    int rc = bf_file_read (&text, &len, path, S_FILE_MAX);
    if (rc != BF_OK)
        return bf_error_set (rc, "%s", bf_error_last ());
    uint32_t *w = xcalloc (BF_REGIO_OP_WORDS_MAX + 1, sizeof *w);
    int64_t n = 0;
    int line = 1;
    for (char *p = text; *p && rc == BF_OK;) {
        if (*p == '#')
            while (*p && *p != '\n')
                p++;
        if (*p == '\n')
            line++;
        if (!*p || strchr (" \t\r\n", *p)) {
            p += *p != 0;
            continue;
        }
        char *end = p;
        while (*end && !strchr (" \t\r\n#", *end))
            end++;
        char save = *end, what[64];
        *end = '\0';
        int64_t v;
        snprintf (what, sizeof what, "value in '%.20s' line %d", path, line);
        if ((rc = s_number (&v, p, what, true)) == BF_OK) {
            if (n == BF_REGIO_OP_WORDS_MAX)
                rc = bf_error_set (BF_EINVAL, "'%s' holds more than %d words (one write's "
                                   "limit)", path, BF_REGIO_OP_WORDS_MAX);
            else
                w[n++] = (uint32_t) v;
        }
        *end = save;
        p = end;
    }
    free (text);
    if (rc == BF_OK && n == 0)
        rc = bf_error_set (BF_EINVAL, "'%s' holds no words", path);
    if (rc != BF_OK) {
        free (w);
        return rc;
    }
    *out = w;
    *n_out = n;
    return BF_OK;
}

/*  write BOARD ADDR VALUE... | --file F [--fixed] */
int
bf_cmd_write (bf_cli_args_t *a)
{
    if (a->nargs < 2 || (a->nargs == 2 && !a->file) || (a->nargs > 2 && a->file))
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm write BOARD ADDR VALUE... | --file F "
                            "[--fixed]");
    int64_t addr, count = a->file ? 0 : a->nargs - 2;
    uint32_t *w = NULL;
    int r = s_number (&addr, a->args[1], "address", false);
    if (r == BF_OK && a->file)
        r = s_file_words (&w, &count, a->file);
    else if (r == BF_OK) {
        if (count > BF_REGIO_OP_WORDS_MAX)
            r = bf_error_set (BF_EINVAL, "count %" PRId64 " is out of range (1..%d words per "
                              "operation)", count, BF_REGIO_OP_WORDS_MAX);
        w = xcalloc ((size_t) count + 1, sizeof *w);
        for (int64_t i = 0; r == BF_OK && i < count; i++) {
            int64_t v;
            if ((r = s_number (&v, a->args[2 + i], "value", true)) == BF_OK)
                w[i] = (uint32_t) v;
        }
    }
    if (r == BF_OK)
        r = bf_regio_check_addr (addr, count, a->fixed, "write");
    if (r != BF_OK) {
        free (w);
        return bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    }
    bf_client_t *client;
    bf_regs_t *regs;
    int rc = s_open (&client, &regs, a, a->args[0]);
    if (rc == BFX_OK && (r = bf_regs_write (regs, addr, w, count, a->fixed)) != BF_OK)
        rc = bf_cli_fail (s_exit (regs, r), "%s", bf_error_last ());
    else if (rc == BFX_OK && a->json) {
        json_t *o = json_pack ("{s:s, s:I, s:I, s:b}", "board", a->args[0], "addr",
                               (json_int_t) addr, "count", (json_int_t) count, "fixed", a->fixed);
        bf_cli_print_json (o);
        json_decref (o);
    }
    free (w);
    bf_regs_close (&regs);
    bf_client_destroy (&client);
    return rc;
}

/*  poll BOARD ADDR --mask M --value V [--timeout DURATION] */
int
bf_cmd_poll (bf_cli_args_t *a)
{
    int64_t addr, mask = UINT32_MAX, want = 0;
    int64_t tmo = a->submit.timeout_ms ? a->submit.timeout_ms : 1000;
    if (a->nargs != 2 || !a->value)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm poll BOARD ADDR [--mask M] --value V "
                            "[--timeout DURATION]");
    if (s_number (&addr, a->args[1], "address", false) != BF_OK
        || (a->mask && s_number (&mask, a->mask, "mask", true) != BF_OK)
        || s_number (&want, a->value, "value", true) != BF_OK
        || bf_regio_check_addr (addr, 1, true, "poll") != BF_OK)
        return bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    if (tmo > BF_REGIO_POLL_MAX_MS)
        return bf_cli_fail (BFX_USAGE, "poll timeout %" PRId64 " ms is out of range (1..%d ms)",
                            tmo, BF_REGIO_POLL_MAX_MS);
    bf_client_t *client;
    bf_regs_t *regs;
    int rc = s_open (&client, &regs, a, a->args[0]);
    if (rc != BFX_OK)
        return rc;
    uint32_t got = 0;
    int r = bf_regs_poll (regs, &got, addr, (uint32_t) mask, (uint32_t) want, tmo);
    if (r != BF_OK)
        rc = bf_cli_fail (s_exit (regs, r), "%s", bf_error_last ());
    else
        s_print_words (a, a->args[0], (uint32_t) addr, &got, 1, true);
    bf_regs_close (&regs);
    bf_client_destroy (&client);
    return rc;
}

/*  ident BOARD [--json] */
int
bf_cmd_ident (bf_cli_args_t *a)
{
    if (a->nargs != 1)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm ident BOARD [--json]");
    bf_client_t *client;
    bf_regs_t *regs;
    int rc = s_open (&client, &regs, a, a->args[0]);
    if (rc != BFX_OK)
        return rc;
    bf_regs_ident_t id;
    int r = bf_regs_ident (regs, &id);
    if (r != BF_OK)
        rc = bf_cli_fail (s_exit (regs, r), "%s", bf_error_last ());
    else if (a->json) {
        json_t *o = json_pack ("{s:s, s:I, s:I, s:I, s:i}", "board", a->args[0], "magic",
                               (json_int_t) id.magic, "version", (json_int_t) id.version,
                               "user_id", (json_int_t) id.user_id, "status", id.status);
        bf_cli_print_json (o);
        json_decref (o);
    }
    else
        printf ("magic=0x%08" PRIx32 " version=%u.%u user_id=0x%08" PRIx32 " status=%u\n",
                id.magic, id.version >> 16, id.version & 0xffff, id.user_id, id.status);
    bf_regs_close (&regs);
    bf_client_destroy (&client);
    return rc;
}

/* ---------------------------------------------------------------------- */
/*  session                                                                 */

static volatile sig_atomic_t s_child = 0;   /* the command's pid, while it runs */
static volatile sig_atomic_t s_signalled = 0;

/*  SIGINT, SIGTERM, SIGHUP while a session runs: passed on to the
    command; the session releases the board once the command ends. */
static void
s_on_signal (int sig)
{
    s_signalled = sig;
    if (s_child > 0)
        kill ((pid_t) s_child, sig);
}

/*  RESERVE: BFX_OK with the board's name and token, or the status, said. */
static int
s_take (bf_client_t *client, const bf_cli_args_t *a, const char *board, char *name_out,
        char *token_out)
{
    char by[160];
    bf_client_by_label (by, sizeof by, a->by, "session");
    json_t *body = json_pack ("{s:s, s:I}", "by", by, "ttl_ms",
                              (json_int_t) (a->lease_ms ? a->lease_ms : 15 * 60000));
    json_object_set_new (body, board ? "board" : "device",
                         json_string (board ? board : a->design.device));
    bf_msg_t *reply = NULL;
    int r = bf_client_request (client, &reply, "RESERVE", body, NULL);
    json_decref (body);
    if (r != BF_OK)
        return bf_cli_fail (r == BF_ERROR && strstr (bf_error_last (), "no board named")
                            ? BFX_USAGE : BFX_INFRA, "cannot reserve: %s", bf_error_last ());
    snprintf (name_out, BF_TAG_MAX + 1, "%s", bf_cli_str (reply->body, "board"));
    snprintf (token_out, 40, "%s", bf_cli_str (reply->body, "token"));
    bf_msg_destroy (&reply);
    return BFX_OK;
}

static void
s_give_back (bf_client_t *client, const char *board, const char *token)
{
    json_t *body = json_pack ("{s:s, s:s}", "board", board, "token", token);
    bf_msg_t *reply = NULL;
    if (bf_client_request (client, &reply, "RELEASE", body, NULL) != BF_OK)
        bf_cli_fail (BFX_INFRA, "could not release board '%s' (its lease ends by itself): %s",
                     board, bf_error_last ());
    else
        fprintf (stderr, "bitfarm: board '%s' released\n", board);
    bf_msg_destroy (&reply);
    json_decref (body);
}

/*  Runs argv with the session's environment; its exit status (128 + N
    for a signal N). */
static int
s_run (char **argv, const bf_cli_args_t *a, const char *board, const char *token)
{
    pid_t pid = fork ();
    if (pid < 0)
        return bf_cli_fail (BFX_INFRA, "cannot fork: %s", strerror (errno));
    if (pid == 0) {
        setenv ("BITFARM_BOARD", board, 1);
        setenv ("BITFARM_TOKEN", token, 1);
        if (a->broker)
            setenv ("BITFARM_BROKER", a->broker, 1);
        if (a->cert) {
            setenv ("BITFARM_CERT", a->cert, 1);
            setenv ("BITFARM_BROKER_KEY", a->broker_key, 1);
        }
        signal (SIGINT, SIG_DFL);
        signal (SIGTERM, SIG_DFL);
        signal (SIGHUP, SIG_DFL);
        execvp (argv[0], argv);
        fprintf (stderr, "bitfarm: cannot run '%s': %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    s_child = pid;
    int status = 0;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    s_child = 0;
    return WIFEXITED (status) ? WEXITSTATUS (status)
           : WIFSIGNALED (status) ? 128 + WTERMSIG (status) : BFX_INFRA;
}

/*  session [BOARD | --device DEV] [--for D] [--program JOB|KEY|FILE] -- COMMAND... */
int
bf_cmd_session (bf_cli_args_t *a)
{
    char **cmd = a->args;
    int ncmd = a->nargs;
    const char *board = NULL;
    if (!a->design.device && ncmd > 0) {
        board = cmd[0];
        cmd++;
        ncmd--;
    }
    if (ncmd > 0 && strcmp (cmd[0], "--") == 0) {
        cmd++;
        ncmd--;
    }
    if ((!board && !a->design.device) || ncmd < 1)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm session BOARD | --device DEV [--for "
                            "DURATION] [--program JOB|KEY|FILE] -- COMMAND...");
    bf_client_t *client = NULL;
    int rc = bf_cli_open (&client, a);
    if (rc != BFX_OK)
        return rc;
    char name[BF_TAG_MAX + 1], token[40];
    if ((rc = s_take (client, a, board, name, token)) != BFX_OK) {
        bf_client_destroy (&client);
        return rc;
    }
    fprintf (stderr, "bitfarm: board '%s' reserved for the session\n", name);
    struct sigaction sa = { .sa_handler = s_on_signal }, old[3];
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, &old[0]);
    sigaction (SIGTERM, &sa, &old[1]);
    sigaction (SIGHUP, &sa, &old[2]);
    const char *source = a->submit.program_board;    /* --program: what to load */
    if (source) {
        bf_submit_opts_t opts = a->submit;
        opts.token = token;
        opts.program_board = NULL;
        json_t *job = NULL, *final = NULL;
        int prc = bf_client_program (client, &job, name, source, &opts);
        if (prc != BF_OK)
            rc = bf_cli_fail (prc == BF_ETIMEDOUT || prc == BF_EIO ? BFX_INFRA : BFX_USAGE,
                              "%s", bf_error_last ());
        else {
            fprintf (stderr, "bitfarm: programming board '%s' (job %s)\n", name,
                     bf_cli_str (job, "id"));
            rc = bf_cli_wait (client, bf_cli_str (job, "id"), &final, a->json);
        }
        json_decref (job);
        json_decref (final);
    }
    if (rc == BFX_OK && s_signalled)
        rc = 128 + s_signalled;         /* during the load: COMMAND does not run */
    else if (rc == BFX_OK)
        rc = s_run (cmd, a, name, token);
    /* Whatever happened: the board goes back. */
    s_give_back (client, name, token);
    sigaction (SIGINT, &old[0], NULL);
    sigaction (SIGTERM, &old[1], NULL);
    sigaction (SIGHUP, &old[2], NULL);
    bf_client_destroy (&client);
    return rc;
}

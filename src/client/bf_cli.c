/*  bf_cli - the helpers the CLI's commands share; see bf_cli.h. */
#include "bf_cli.h"
#include "bf_localfarm.h"
#include "../cache/bf_cache.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

const char *
bf_cli_text (json_t *obj, const char *key)
{
    static char ring[16][4 * 1024 + 8];
    static int next;
    const char *v = json_string_value (json_object_get (obj, key));
    if (!v)
        return "-";
    char *buf = ring[next++ % 16];
    bf_cli_escape (buf, sizeof ring[0], v, strlen (v), false);
    return buf;
}

void
bf_cli_write_text (int fd, const char *data, size_t len)
{
    if (!isatty (fd)) {
        bf_write_all (fd, data, len);
        return;
    }
    char buf[4 * 4096 + 8];
    while (len > 0) {
        size_t n = len > 4096 ? 4096 : len;
        /* Do not cut a UTF-8 sequence in two (it would show escaped). */
        while (n < len && n > 4096 - 4 && ((unsigned char) data[n] & 0xc0) == 0x80)
            n--;
        size_t out = bf_cli_escape (buf, sizeof buf, data, n, true);
        bf_write_all (fd, buf, out);
        data += n;
        len -= n;
    }
}

int
bf_cli_request_exit (int rc)
{
    return rc == BF_ERROR ? BFX_USAGE : BFX_INFRA;
}

int
bf_cli_open (bf_client_t **client, const bf_cli_args_t *a)
{
    char *endpoint = NULL;
    if (bf_client_endpoint (&endpoint, a->broker) != BF_OK)
        return bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
    int rc = bf_client_new (client, endpoint, a->timeout_ms);
    free (endpoint);
    if (rc == BF_OK && a->cert && (rc = bf_client_curve (*client, a->cert, a->broker_key)) != BF_OK)
        bf_client_destroy (client);
    if (rc != BF_OK)
        return bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    return BFX_OK;
}

const char *
bf_cli_str (json_t *job, const char *key)
{
    const char *v = json_string_value (json_object_get (job, key));
    return v ? v : "-";
}

static int
s_exit_for (json_t *job)
{
    const char *state = bf_cli_str (job, "state");
    if (strcmp (state, "succeeded") == 0)
        return BFX_OK;
    if (strcmp (state, "timed_out") == 0)
        return BFX_TIMEOUT;
    if (strcmp (state, "cancelled") == 0)
        return BFX_CANCELLED;
    if (strcmp (bf_cli_str (job, "failure_class"), "design") == 0
        || strcmp (bf_cli_str (job, "failure_class"), "bitstream") == 0)
        return BFX_DESIGN;
    return BFX_INFRA;
}

void
bf_cli_print_json (json_t *j)
{
    char *text = json_dumps (j, JSON_INDENT (2) | JSON_SORT_KEYS);
    puts (text);
    free (text);
}

/*  The report summary (bf_report.h): utilisation and each clock. */
void
bf_cli_print_summary (json_t *summary)
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
        printf ("clock      %s: %.2f MHz achieved, %.2f MHz target%s\n", bf_cli_str (v, "net"), got,
                want, got < want ? " (FAILED)" : "");
    }
}

/*  bf_cli_wait's report of each change on stderr. */
static bool
s_progress (void *arg, json_t *job, int event)
{
    const char *id = arg;
    if (event == BF_WAIT_SILENT)
        fprintf (stderr, "%.12s: the broker is not answering; still waiting\n", id);
    else if (event == BF_WAIT_FINAL) {
        fprintf (stderr, "%.12s: %s%s", bf_cli_text (job, "id"), bf_cli_text (job, "state"),
                 json_is_true (json_object_get (job, "cache_hit")) ? " (cache hit)" : "");
        if (json_is_string (json_object_get (job, "error")))
            fprintf (stderr, " [%s] %s", bf_cli_text (job, "failure_class"),
                     bf_cli_text (job, "error"));
        fputc ('\n', stderr);
    }
    else if (strcmp (bf_cli_text (job, "state"), "running") == 0)
        fprintf (stderr, "%.12s: running, stage %s, on worker %s (attempt %lld)\n",
                 bf_cli_text (job, "id"), bf_cli_text (job, "stage"), bf_cli_text (job, "worker"),
                 (long long) json_integer_value (json_object_get (job, "attempt")));
    else
        fprintf (stderr, "%.12s: %s%s%s\n", bf_cli_text (job, "id"), bf_cli_text (job, "state"),
                 json_is_string (json_object_get (job, "waiting_for")) ? ": " : "",
                 json_is_string (json_object_get (job, "waiting_for"))
                     ? bf_cli_text (job, "waiting_for") : "");
    return false;
}

/*  Polls until the job is final, printing stage changes on stderr.
    Returns the exit code for the job's end, with the job in *final. */
int
bf_cli_wait (bf_client_t *client, const char *id, json_t **final, bool quiet)
{
    int rc = bf_client_wait (client, final, id, 0, quiet ? NULL : s_progress, (void *) id);
    if (rc != BF_OK) {
        json_decref (*final);
        *final = NULL;
        return bf_cli_fail (bf_cli_request_exit (rc), "%s", bf_error_last ());
    }
    return s_exit_for (*final);
}

int
bf_cli_fetch_to (bf_client_t *client, const char *id, const char *what, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int frc = bf_client_fetch (client, &data, &len, id, what);
    if (frc != BF_OK)
        return bf_cli_fail (bf_cli_request_exit (frc), "%s", bf_error_last ());
    int rc = BFX_OK;
    if (!path || strcmp (path, "-") == 0) {
        if (strcmp (what, "bitstream") == 0 && isatty (STDOUT_FILENO))
            rc = bf_cli_fail (BFX_USAGE, "not writing a bitstream to a terminal; use -o FILE");
        else if (strcmp (what, "bitstream") != 0 && isatty (STDOUT_FILENO))
            bf_cli_write_text (STDOUT_FILENO, data, len);   /* escaped for the terminal */
        else if (bf_write_all (STDOUT_FILENO, data, len) < 0)
            rc = bf_cli_fail (BFX_INFRA, "cannot write to stdout");
    }
    else if (bf_file_write_atomic (path, data, len, 0644) != BF_OK)
        rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    free (data);
    return rc;
}

/*  A broker to ask without starting one: --broker, $BITFARM_BROKER, or the
    local farm if it runs.  NULL when there is none. */
bf_client_t *
bf_cli_open_existing (const bf_cli_args_t *a)
{
    const char *endpoint = a->broker && *a->broker ? a->broker : getenv ("BITFARM_BROKER");
    if ((!endpoint || !*endpoint) && !bf_localfarm_running ())
        return NULL;
    bf_client_t *client = NULL;
    return bf_cli_open (&client, a) == BFX_OK ? client : NULL;
}

int
bf_cli_open_cache (bf_cache_t **cache, const bf_cli_args_t *a)
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
        rc = bf_cli_fail (BFX_USAGE, "no cache at '%s' (give --cache-dir DIR)", dir);
    else if (stat (format, &sb) != 0)
        rc = bf_cli_fail (BFX_USAGE, "'%s' is not a bitfarm cache (it has no FORMAT file)", dir);
    else if (bf_cache_open (cache, dir, NULL) != BF_OK)
        rc = bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
    free (format);
    free (dir);
    return rc;
}


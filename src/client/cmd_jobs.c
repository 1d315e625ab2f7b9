/*  cmd_jobs - the commands about jobs and workers: status, wait, logs,
    fetch, cancel, jobs, workers. */
#include "bf_cli.h"
#include "bf_git.h"
#include "../common/bf_provenance.h"
#include "../common/bf_error.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*  The provenance of a job built from git (bf_provenance.h), if any. */
static void
s_print_source (json_t *job)
{
    json_t *p = json_object_get (job, "provenance");
    if (!json_is_object (p))
        return;
    char line[1024], shown[4096];
    bf_provenance_line (line, sizeof line, p);
    bf_cli_escape (shown, sizeof shown, line, strlen (line), false);
    printf ("source     %s", shown);
    if (json_is_string (json_object_get (p, "rev")))
        printf (", --rev %s", bf_cli_text (p, "rev"));
    putchar ('\n');
    if (json_is_string (json_object_get (p, "remote")))
        printf ("remote     %s\n", bf_cli_text (p, "remote"));
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get (p, "dirty_files"), i, e) {
        bf_cli_escape (shown, sizeof shown, json_string_value (e), json_string_length (e), false);
        printf ("differs    %s\n", shown);
    }
    json_array_foreach (json_object_get (p, "submodules"), i, e)
        printf ("submodule  %s at %.12s\n", bf_cli_text (e, "path"), bf_cli_text (e, "commit"));
}

static void
s_print_status (json_t *job)
{
    printf ("job        %s\n", bf_cli_text (job, "id"));
    printf ("state      %s", bf_cli_text (job, "state"));
    if (json_is_string (json_object_get (job, "failure_class")))
        printf (" (%s failure)", bf_cli_text (job, "failure_class"));
    printf ("\nstage      %s\n", bf_cli_text (job, "stage"));
    printf ("attempt    %lld of %lld\n",
            (long long) json_integer_value (json_object_get (job, "attempt")),
            (long long) json_integer_value (json_object_get (job, "max_attempts")));
    printf ("worker     %s\n", bf_cli_text (job, "worker"));
    if (strcmp (bf_cli_text (job, "kind"), "program") == 0) {
        printf ("board      %s%s\n", bf_cli_text (job, "board"),
                json_is_true (json_object_get (job, "reservation")) ? " (with a reservation token)"
                                                                   : "");
        if (json_is_string (json_object_get (job, "after")))
            printf ("after      build job %s\n", bf_cli_text (job, "after"));
    }
    if (strcmp (bf_cli_text (job, "kind"), "program") != 0)
        printf ("cache      %s, key %s\n",
                json_is_true (json_object_get (job, "cache_hit")) ? "hit" : "miss",
                bf_cli_text (job, "cache_key"));
    printf ("bitstream  %s\n", bf_cli_text (job, "bitstream_sha256"));
    if (json_is_string (json_object_get (job, "follows")))
        printf ("follows    %s (an identical build; shares its result)\n",
                bf_cli_text (job, "follows"));
    if (json_is_string (json_object_get (job, "waiting_for")))
        printf ("waiting    %s\n", bf_cli_text (job, "waiting_for"));
    if (json_array_size (json_object_get (job, "tags")) > 0) {
        printf ("tags      ");
        size_t i;
        json_t *t;
        json_array_foreach (json_object_get (job, "tags"), i, t)
            printf (" %s", json_string_value (t));   /* a-z0-9_.- (the broker checks) */
        putchar ('\n');
    }
    printf ("timeout    %lld ms\n",
            (long long) json_integer_value (json_object_get (job, "timeout_ms")));
    s_print_source (job);
    bf_cli_print_summary (json_object_get (job, "report"));
    if (json_is_string (json_object_get (job, "error")))
        printf ("error      %s\n", bf_cli_text (job, "error"));
    printf ("submitted  %s\nstarted    %s\nfinished   %s\n", bf_cli_text (job, "submitted_at"),
            bf_cli_text (job, "started_at"), bf_cli_text (job, "finished_at"));
    json_t *events = json_object_get (job, "events");
    if (json_is_array (events)) {
        printf ("events:\n");
        size_t i;
        json_t *e;
        json_array_foreach (events, i, e) {
            printf ("  %s  %-10s  attempt %lld", bf_cli_text (e, "at"), bf_cli_text (e, "event"),
                    (long long) json_integer_value (json_object_get (e, "attempt")));
            if (json_is_string (json_object_get (e, "worker")))
                printf ("  worker %s", bf_cli_text (e, "worker"));
            if (json_is_string (json_object_get (e, "reason")))
                printf ("  (%s)", bf_cli_text (e, "reason"));
            putchar ('\n');
        }
    }
}

/*  The job id operand, and a client: BFX_OK, or the exit status, said. */
static int
s_open_job (bf_client_t **client, const bf_cli_args_t *a)
{
    if (!BF_CLI_ARG (a))
        return bf_cli_fail (BFX_USAGE, "%s needs a job id", a->cmd);
    return bf_cli_open (client, a);
}

/*  status JOB [--events] */
int
bf_cmd_status (bf_cli_args_t *a)
{
    bf_client_t *client = NULL;
    int rc = s_open_job (&client, a);
    if (rc != BFX_OK)
        return rc;
    json_t *job = NULL;
    int src = bf_client_status (client, &job, BF_CLI_ARG (a), a->events);
    if (src != BF_OK)
        rc = bf_cli_fail (bf_cli_request_exit (src), "%s", bf_error_last ());
    else if (a->json) {
        json_object_set_new (job, "schema", json_integer (BF_CLI_JSON_SCHEMA));
        bf_cli_print_json (job);
    }
    else
        s_print_status (job);
    json_decref (job);
    bf_client_destroy (&client);
    return rc;
}

/*  wait JOB */
int
bf_cmd_wait (bf_cli_args_t *a)
{
    bf_client_t *client = NULL;
    int rc = s_open_job (&client, a);
    if (rc != BFX_OK)
        return rc;
    json_t *job = NULL;
    rc = bf_cli_wait (client, BF_CLI_ARG (a), &job, a->json);
    if (job && a->json) {
        json_object_set_new (job, "schema", json_integer (BF_CLI_JSON_SCHEMA));
        bf_cli_print_json (job);
    }
    json_decref (job);
    bf_client_destroy (&client);
    return rc;
}

/*  fetch JOB [-o FILE] [--report | --log] */
int
bf_cmd_fetch (bf_cli_args_t *a)
{
    bf_client_t *client = NULL;
    int rc = s_open_job (&client, a);
    if (rc != BFX_OK)
        return rc;
    const char *id = BF_CLI_ARG (a);
    const char *what = a->what ? a->what : "bitstream";
    if (a->json && (!a->output || strcmp (a->output, "-") == 0)) {
        bf_client_destroy (&client);
        return bf_cli_fail (BFX_USAGE, "fetch --json needs -o FILE (the JSON goes to stdout)");
    }
    rc = bf_cli_fetch_to (client, id, what, a->output);
    if (rc == BFX_OK && a->json) {
        char digest[BF_SHA256_HEX_LEN + 1];
        uint64_t size = 0;
        bf_sha256_file (digest, &size, a->output);
        json_t *j = json_pack ("{s:s, s:s, s:s, s:s, s:I}", "id", id, "what", what, "path",
                               a->output, "sha256", digest, "size", (json_int_t) size);
        bf_cli_print_json (j);
        json_decref (j);
    }
    bf_client_destroy (&client);
    return rc;
}

/*  cancel JOB */
int
bf_cmd_cancel (bf_cli_args_t *a)
{
    bf_client_t *client = NULL;
    int rc = s_open_job (&client, a);
    if (rc != BFX_OK)
        return rc;
    json_t *body = json_pack ("{s:s}", "id", BF_CLI_ARG (a));
    bf_msg_t *reply = NULL;
    int crc = bf_client_request (client, &reply, "CANCEL", body, NULL);
    if (crc != BF_OK)
        rc = bf_cli_fail (bf_cli_request_exit (crc), "%s", bf_error_last ());
    else if (a->json)
        bf_cli_print_json (reply->body);
    else
        printf ("%s cancelled\n", bf_cli_str (reply->body, "id"));
    bf_msg_destroy (&reply);
    json_decref (body);
    bf_client_destroy (&client);
    return rc;
}

/*  logs JOB [--follow]: the log from the start, then with --follow what
    is added, until the job ends. */
int
bf_cmd_logs (bf_cli_args_t *a)
{
    bf_client_t *client = NULL;
    int rc = s_open_job (&client, a);
    if (rc != BFX_OK)
        return rc;
    const char *id = BF_CLI_ARG (a);
    int64_t offset = 0;
    for (;;) {
        json_t *body = json_pack ("{s:s, s:I}", "id", id, "offset", (json_int_t) offset);
        bf_msg_t *reply = NULL;
        int r = bf_client_request (client, &reply, "LOGS", body, NULL);
        json_decref (body);
        if (r != BF_OK) {
            rc = bf_cli_fail (bf_cli_request_exit (r), "%s", bf_error_last ());
            break;
        }
        zframe_t *f = zmsg_pop (reply->blobs);
        if (f && a->json) {
            json_t *j = json_pack ("{s:s, s:I, s:s%}", "id", bf_cli_str (reply->body, "id"),
                                   "offset", (json_int_t) offset, "log",
                                   (const char *) zframe_data (f), zframe_size (f));
            if (j)
                bf_cli_print_json (j);
            json_decref (j);
            offset += (int64_t) zframe_size (f);
            zframe_destroy (&f);
        }
        else if (f) {
            /* raw to a file or pipe; escaped on a terminal */
            bf_cli_write_text (STDOUT_FILENO, (const char *) zframe_data (f), zframe_size (f));
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
    bf_client_destroy (&client);
    return rc;
}

/*  Asks the broker for a listing: BFX_OK with *reply, or the exit status,
    said.  body is taken. */
static int
s_list (bf_msg_t **reply, const bf_cli_args_t *a, const char *command, json_t *body)
{
    bf_client_t *client = NULL;
    int rc = bf_cli_open (&client, a);
    if (rc == BFX_OK && bf_client_request (client, reply, command, body, NULL) != BF_OK)
        rc = bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
    json_decref (body);
    bf_client_destroy (&client);
    return rc;
}

/*  jobs [-n N] [--rev REV] */
int
bf_cmd_jobs (bf_cli_args_t *a)
{
    bf_msg_t *reply = NULL;
    json_t *body = json_pack ("{s:i}", "limit", a->limit);
    if (a->rev) {
        /* A commit, tag or branch of the repository here; else a commit id (prefix). */
        char commit[65];
        size_t n = strlen (a->rev);
        if (bf_git_resolve (commit, a->git_dir, a->rev) != BF_OK) {
            if (n < 4 || n > 64 || strspn (a->rev, "0123456789abcdef") != n) {
                json_decref (body);
                return bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
            }
            snprintf (commit, sizeof commit, "%s", a->rev);
        }
        json_object_set_new (body, "commit", json_string (commit));
    }
    int rc = s_list (&reply, a, "JOBS", body);
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else {
        printf ("%-12s  %-10s  %-10s  %3s  %-16s  %-5s  %s\n", "JOB", "STATE", "STAGE", "TRY",
                "WORKER", "CACHE", "SUBMITTED");
        size_t i;
        json_t *j;
        json_array_foreach (json_object_get (reply->body, "jobs"), i, j)
            printf ("%-12.12s  %-10s  %-10s  %3lld  %-16.16s  %-5s  %s\n", bf_cli_text (j, "id"),
                    bf_cli_text (j, "state"), bf_cli_text (j, "stage"),
                    (long long) json_integer_value (json_object_get (j, "attempt")),
                    bf_cli_text (j, "worker"),
                    json_is_true (json_object_get (j, "cache_hit")) ? "hit" : "miss",
                    bf_cli_text (j, "submitted_at"));
    }
    bf_msg_destroy (&reply);
    return rc;
}

/*  workers: each with its toolchain and tool versions */
int
bf_cmd_workers (bf_cli_args_t *a)
{
    bf_msg_t *reply = NULL;
    if (a->release_name) {
        int rc = s_list (&reply, a, "RELEASENAME", json_pack ("{s:s}", "name",
                                                                a->release_name));
        if (rc == BFX_OK)
            printf ("worker name '%s' released\n", a->release_name);
        bf_msg_destroy (&reply);
        return rc;
    }
    int rc = s_list (&reply, a, "WORKERS", json_object ());
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else {
        printf ("%-24s  %5s  %4s  %-16s\n", "WORKER", "SLOTS", "BUSY", "TOOLCHAIN");
        size_t i;
        json_t *w;
        json_array_foreach (json_object_get (reply->body, "workers"), i, w) {
            printf ("%-24.24s  %5lld  %4lld  %-16.16s%s\n", bf_cli_text (w, "name"),
                    (long long) json_integer_value (json_object_get (w, "slots")),
                    (long long) json_integer_value (json_object_get (w, "busy")),
                    bf_cli_text (w, "toolchain"),
                    json_is_false (json_object_get (w, "sandbox")) ? "  UNSANDBOXED" : "");
            const char *tool;
            json_t *v;
            json_object_foreach (json_object_get (w, "versions"), tool, v) {
                const char *text = json_string_value (v);
                char shown[4 * 160 + 8];
                bf_cli_escape (shown, sizeof shown, text ? text : "", text ? strlen (text) : 0,
                               false);
                printf ("    %-14s %s\n", tool, shown);
            }
        }
    }
    bf_msg_destroy (&reply);
    return rc;
}

/*  toolchains [--default ID|auto]: the identities seen and the default */
int
bf_cmd_toolchains (bf_cli_args_t *a)
{
    bf_msg_t *reply = NULL;
    int rc = a->set_default
             ? s_list (&reply, a, "SETTOOLCHAIN", json_pack ("{s:s}", "toolchain",
                                                              a->set_default))
             : s_list (&reply, a, "TOOLCHAINS", json_object ());
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else {
        static const struct { const char *rule, *why; } rules[] = {
            { "admin", "an admin's choice" },
            { "workers", "reported by the most connected workers" },
            { "last", "the last one most workers reported; none is connected" },
        };
        const char *rule = bf_cli_str (reply->body, "rule");
        const char *why = rule;
        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
            if (strcmp (rule, rules[i].rule) == 0)
                why = rules[i].why;
        printf ("%-64s  %7s  %s\n", "TOOLCHAIN", "WORKERS", "DEFAULT");
        size_t i;
        json_t *t;
        json_array_foreach (json_object_get (reply->body, "toolchains"), i, t) {
            bool def = json_is_true (json_object_get (t, "default"));
            printf ("%-64.64s  %7lld  %s\n", bf_cli_str (t, "id"),
                    (long long) json_integer_value (json_object_get (t, "workers")),
                    def ? why : "");
        }
    }
    bf_msg_destroy (&reply);
    return rc;
}

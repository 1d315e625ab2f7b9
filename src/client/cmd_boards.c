/*  cmd_boards - the commands about boards: boards, board (health),
    program, reserve and release (docs/boards.md). */
#include "bf_cli.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_print_boards (json_t *boards)
{
    printf ("%-16s  %-12s  %-16s  %-11s  %-40s  %s\n", "BOARD", "DEVICE", "WORKER", "STATE",
            "DETAIL", "LAST JOB");
    size_t i;
    json_t *b;
    json_array_foreach (boards, i, b) {
        char dev[40], detail[256] = "";
        snprintf (dev, sizeof dev, "%s-%s", bf_cli_str (b, "device"), bf_cli_str (b, "package"));
        const char *state = bf_cli_text (b, "state");
        if (json_is_string (json_object_get (b, "holder")))     /* a key holds it; by: a label */
            snprintf (detail, sizeof detail, "reserved by key %s (%s) until %s",
                      bf_cli_text (b, "holder"), bf_cli_text (b, "reserved_by"),
                      bf_cli_text (b, "reserved_until"));
        else if (json_is_string (json_object_get (b, "reserved_by")))
            snprintf (detail, sizeof detail, "reserved by %s until %s",
                      bf_cli_text (b, "reserved_by"), bf_cli_text (b, "reserved_until"));
        if (strcmp (state, "busy") == 0)
            snprintf (detail, sizeof detail, "job %.12s%s", bf_cli_text (b, "job"),
                      json_is_string (json_object_get (b, "reserved_by")) ? " (reserved)" : "");
        else if (strcmp (state, "error") == 0 || strcmp (state, "maintenance") == 0)
            snprintf (detail, sizeof detail, "%s", bf_cli_text (b, "health_reason"));
        printf ("%-16s  %-12s  %-16.16s  %-11s  %-40s  %.12s\n", bf_cli_text (b, "name"), dev,
                bf_cli_text (b, "worker"), state, detail, bf_cli_text (b, "last_job"));
    }
}

/*  reserve: one RESERVE, or with --wait, again every 500 ms while the
    broker says the board is busy (up to --timeout, if given). */
static int
s_reserve (bf_client_t *client, const bf_cli_args_t *a, const char *name)
{
    char by[160];
    bf_client_by_label (by, sizeof by, a->by, NULL);
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
                bf_cli_print_json (reply->body);
            else {
                puts (bf_cli_str (reply->body, "token"));
                /* the holder is the key; --by is only a label */
                char who[256];
                if (json_is_string (json_object_get (reply->body, "holder")))
                    snprintf (who, sizeof who, "key %s (%s)", bf_cli_str (reply->body, "holder"),
                              by);
                else
                    snprintf (who, sizeof who, "%s", by);
                fprintf (stderr, "board '%s' reserved by %s until %s; release with: bitfarm "
                         "release %s --token %s\n", bf_cli_str (reply->body, "board"), who,
                         bf_cli_str (reply->body, "reserved_until"),
                         bf_cli_str (reply->body, "board"), bf_cli_str (reply->body, "token"));
            }
            bf_msg_destroy (&reply);
            rc = BFX_OK;
            break;
        }
        const char *why = bf_error_last ();
        bool busy = strstr (why, "reserved by") || strstr (why, " is in ")
                    || strstr (why, "is online");
        if (!a->wait || !busy || (give_up && bf_mono_ms () >= give_up)) {
            rc = bf_cli_fail (busy ? BFX_INFRA : BFX_USAGE, "%s", why);
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

/*  One request about a board: BFX_OK with *reply, or the exit status,
    said (2 for a refusal: an unknown board, a token this key does not
    hold, a health change by a non-admin key).  body is taken. */
static int
s_request (bf_msg_t **reply, const bf_cli_args_t *a, const char *command, json_t *body)
{
    bf_client_t *client = NULL;
    int rc = bf_cli_open (&client, a);
    int r = rc == BFX_OK ? bf_client_request (client, reply, command, body, NULL) : BF_OK;
    if (r != BF_OK)
        rc = bf_cli_fail (bf_cli_request_exit (r), "%s", bf_error_last ());
    json_decref (body);
    bf_client_destroy (&client);
    return rc;
}

/*  boards: every board and its state */
int
bf_cmd_boards (bf_cli_args_t *a)
{
    bf_msg_t *reply = NULL;
    int rc = s_request (&reply, a, "BOARDS", json_object ());
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else
        s_print_boards (json_object_get (reply->body, "boards"));
    bf_msg_destroy (&reply);
    return rc;
}

/*  board NAME --enable | --maintenance [--reason TEXT] */
int
bf_cmd_board (bf_cli_args_t *a)
{
    const char *name = BF_CLI_ARG (a);
    if (!name || !a->health)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm board NAME --enable | --maintenance "
                            "[--reason TEXT]");
    json_t *body = json_pack ("{s:s, s:s}", "board", name, "health", a->health);
    if (a->reason)
        json_object_set_new (body, "reason", json_string (a->reason));
    bf_msg_t *reply = NULL;
    int rc = s_request (&reply, a, "BOARD", body);
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else
        printf ("board '%s' is %s\n", bf_cli_str (reply->body, "name"),
                bf_cli_str (reply->body, "state"));
    bf_msg_destroy (&reply);
    return rc;
}

/*  release NAME --token TOKEN */
int
bf_cmd_release (bf_cli_args_t *a)
{
    const char *name = BF_CLI_ARG (a);
    if (!name || !a->token)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm release NAME --token TOKEN");
    bf_msg_t *reply = NULL;
    int rc = s_request (&reply, a, "RELEASE",
                        json_pack ("{s:s, s:s}", "board", name, "token", a->token));
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else
        printf ("board '%s' released\n", name);
    bf_msg_destroy (&reply);
    return rc;
}

/*  reserve NAME | --device DEV [--for DURATION] [--wait] [--by WHO] */
int
bf_cmd_reserve (bf_cli_args_t *a)
{
    const char *name = BF_CLI_ARG (a);
    if (!name == !a->design.device)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm reserve NAME | --device DEV "
                            "[--for DURATION] [--wait]");
    bf_client_t *client = NULL;
    int rc = bf_cli_open (&client, a);
    if (rc != BFX_OK)
        return rc;
    rc = s_reserve (client, a, name);
    bf_client_destroy (&client);
    return rc;
}

/*  program --board NAME JOB|KEY|FILE.bin [--wait] */
int
bf_cmd_program (bf_cli_args_t *a)
{
    const char *source = BF_CLI_ARG (a);
    if (!a->board || !source)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm program --board NAME "
                            "JOB|CACHE_KEY|FILE.bin");
    bf_client_t *client = NULL;
    int rc = bf_cli_open (&client, a);
    if (rc != BFX_OK)
        return rc;
    json_t *job = NULL;
    int prc = bf_client_program (client, &job, a->board, source, &a->submit);
    if (prc != BF_OK)   /* refused by the broker: the request's fault */
        rc = bf_cli_fail (prc == BF_ETIMEDOUT || prc == BF_EIO ? BFX_INFRA : BFX_USAGE, "%s",
                          bf_error_last ());
    else if (!a->wait) {
        if (a->json)
            bf_cli_print_json (job);
        else
            puts (bf_cli_str (job, "id"));
    }
    else {
        if (!a->json) {
            puts (bf_cli_str (job, "id"));
            fflush (stdout);
        }
        json_t *final = NULL;
        rc = bf_cli_wait (client, bf_cli_str (job, "id"), &final, a->json);
        if (final && a->json)
            bf_cli_print_json (final);
        json_decref (final);
    }
    json_decref (job);
    bf_client_destroy (&client);
    return rc;
}

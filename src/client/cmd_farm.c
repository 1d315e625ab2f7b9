/*  cmd_farm - the per-user local farm (farm start, stop, status) and
    CURVE key pairs (keygen). */
#include "bf_cli.h"
#include "bf_localfarm.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  farm, with no subcommand or an unknown one */
int
bf_cmd_farm (bf_cli_args_t *a)
{
    const char *sub = BF_CLI_ARG (a);
    if (!sub)
        return bf_cli_fail (BFX_USAGE, "farm needs start, stop or status");
    return bf_cli_fail (BFX_USAGE, "unknown farm command '%s' (want start, stop or status)",
                        sub);
}

/*  farm start [--no-sandbox]: the local farm, started unless it runs */
int
bf_cmd_farm_start (bf_cli_args_t *a)
{
    char *dir = bf_localfarm_dir ();
    char *endpoint = NULL;
    int rc = BFX_OK;
    if (a->no_sandbox && !bf_localfarm_unsandboxed () && bf_localfarm_running ()) {
        rc = bf_cli_fail (BFX_USAGE, "the local farm already runs sandboxed; run `bitfarm farm "
                          "stop` first");
        goto out;
    }
    if (a->no_sandbox && bf_localfarm_set_unsandboxed () != BF_OK)
        rc = bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
    else if (bf_localfarm_ensure (&endpoint, NULL) != BF_OK)
        rc = bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
    else
        printf ("local farm running at %s (state in %s)%s\n", endpoint, dir,
                bf_localfarm_unsandboxed () ? ", unsandboxed" : "");
out:
    free (endpoint);
    free (dir);
    return rc;
}

/*  farm stop */
int
bf_cmd_farm_stop (bf_cli_args_t *a)
{
    (void) a;
    if (bf_localfarm_stop () == BF_ENOTFOUND)
        printf ("local farm was not running\n");
    else
        printf ("local farm stopped\n");
    return BFX_OK;
}

/*  farm status: exit 0 when it runs, 3 when not */
int
bf_cmd_farm_status (bf_cli_args_t *a)
{
    char *dir = bf_localfarm_dir ();
    bool up = bf_localfarm_running ();
    char *url = up ? bf_localfarm_http_url () : NULL;
    if (a->json) {
        json_t *j = json_pack ("{s:b, s:s, s:s*}", "running", up, "dir", dir, "http", url);
        bf_cli_print_json (j);
        json_decref (j);
    }
    else {
        printf ("local farm %s (%s)\n", up ? "running" : "not running", dir);
        if (url)
            printf ("http       %s/ (API %s/api/v1/, metrics %s/metrics)\n", url, url, url);
    }
    free (url);
    free (dir);
    return up ? BFX_OK : BFX_INFRA;
}

/*  keygen --role ROLE NAME [--dir DIR] */
int
bf_cmd_keygen (bf_cli_args_t *a)
{
    const char *name = BF_CLI_ARG (a);
    if (!a->role || !name || a->nargs != 1)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm keygen --role broker|worker|client NAME "
                            "[--dir DIR]");
    const char *dir = a->dir ? a->dir : ".";
    char key[BF_CURVE_KEY_LEN + 1];
    if (bf_curve_keygen (dir, name, a->role, key) != BF_OK)
        return bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
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

/* ---------------------------------------------------------------------- */
/*  token create|ls|revoke (issue 19)                                       */

int
bf_cmd_token (bf_cli_args_t *a)
{
    const char *sub = BF_CLI_ARG (a);
    if (!sub)
        return bf_cli_fail (BFX_USAGE, "token needs create, ls or revoke");
    return bf_cli_fail (BFX_USAGE, "unknown token command '%s' (want create, ls or revoke)",
                        sub);
}

static int
s_ask (bf_msg_t **reply, const bf_cli_args_t *a, const char *command, json_t *body)
{
    bf_client_t *client = NULL;
    int rc = bf_cli_open (&client, a);
    int prc = rc == BFX_OK ? bf_client_request (client, reply, command, body, NULL) : BF_OK;
    if (prc != BF_OK)   /* the farm failed (3), or refused us (2) */
        rc = bf_cli_fail (prc == BF_ETIMEDOUT || prc == BF_EIO ? BFX_INFRA : BFX_USAGE, "%s",
                          bf_error_last ());
    json_decref (body);
    bf_client_destroy (&client);
    return rc;
}

/*  token create --role client|admin --key NAME */
int
bf_cmd_token_create (bf_cli_args_t *a)
{
    if (!a->role || !a->key || a->nargs != 0)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm token create --role client|admin "
                            "--key NAME");
    if (strcmp (a->role, "client") && strcmp (a->role, "admin"))
        return bf_cli_fail (BFX_USAGE, "invalid value '%.32s' for --role (want client or "
                            "admin)", a->role);
    bf_msg_t *reply = NULL;
    int rc = s_ask (&reply, a, "TOKENCREATE", json_pack ("{s:s, s:s}", "role", a->role, "key",
                                                         a->key));
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else
        printf ("%s\n", bf_cli_text (reply->body, "token"));
    if (!a->json && isatty (2))
        fprintf (stderr, "token %s (%s, key '%s'): shown once; the broker keeps only its "
                 "SHA-256\n", bf_cli_text (reply->body, "id"), a->role, a->key);
    bf_msg_destroy (&reply);
    return BFX_OK;
}

/*  token ls */
int
bf_cmd_token_ls (bf_cli_args_t *a)
{
    if (a->nargs != 0)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm token ls");
    bf_msg_t *reply = NULL;
    int rc = s_ask (&reply, a, "TOKENS", json_object ());
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else {
        printf ("%-12s  %-6s  %-24s  %s\n", "ID", "ROLE", "KEY", "CREATED BY");
        size_t i;
        json_t *t;
        json_array_foreach (json_object_get (reply->body, "tokens"), i, t)
            printf ("%-12s  %-6s  %-24.24s  %s\n", bf_cli_text (t, "id"),
                    bf_cli_text (t, "role"), bf_cli_text (t, "name"),
                    bf_cli_text (t, "created_by"));
    }
    bf_msg_destroy (&reply);
    return BFX_OK;
}

/*  token revoke ID */
int
bf_cmd_token_revoke (bf_cli_args_t *a)
{
    const char *id = BF_CLI_ARG (a);
    if (!id || a->nargs != 1)
        return bf_cli_fail (BFX_USAGE, "usage: bitfarm token revoke ID");
    bf_msg_t *reply = NULL;
    int rc = s_ask (&reply, a, "TOKENREVOKE", json_pack ("{s:s}", "id", id));
    if (rc != BFX_OK)
        return rc;
    if (a->json)
        bf_cli_print_json (reply->body);
    else
        printf ("token %s revoked\n", bf_cli_text (reply->body, "revoked"));
    bf_msg_destroy (&reply);
    return BFX_OK;
}

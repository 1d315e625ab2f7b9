/*  cmd_farm - the per-user local farm (farm start, stop, status) and
    CURVE key pairs (keygen). */
#include "bf_cli.h"
#include "bf_localfarm.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (a->json) {
        json_t *j = json_pack ("{s:b, s:s}", "running", up, "dir", dir);
        bf_cli_print_json (j);
        json_decref (j);
    }
    else
        printf ("local farm %s (%s)\n", up ? "running" : "not running", dir);
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

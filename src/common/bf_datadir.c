/*  bf_datadir - see bf_datadir.h. */
#include "bf_datadir.h"
#include "bf_error.h"
#include "bf_util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
bf_datadir (void)
{
    const char *env = getenv ("BITFARM_DATA_DIR");
    char exe[PATH_MAX];
    bf_self_dir (exe, sizeof exe);   /* bin/, or libbitfarm.so's lib/ */
    char *cands[3] = { env && *env ? xstrdup (env) : NULL, NULL, NULL };
    if (exe[0]) {
        cands[1] = xasprintf ("%s/../share/bitfarm", exe);
        cands[2] = xasprintf ("%s/../..", exe);
    }
    char *found = NULL;
    for (int i = 0; i < 3; i++) {
        if (!found && cands[i]) {
            char *probe = xasprintf ("%s/gateware/bf_uartbone.v", cands[i]);
            if (access (probe, R_OK) == 0)
                found = realpath (cands[i], NULL);
            free (probe);
        }
        free (cands[i]);
    }
    if (!found)
        bf_error_set (BF_ENOTFOUND, "bitfarm's gateware is not installed (no "
                      "share/bitfarm/gateware beside the worker; set BITFARM_DATA_DIR)");
    return found;
}


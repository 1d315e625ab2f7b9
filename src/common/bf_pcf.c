/*  bf_pcf - see bf_pcf.h. */
#include "bf_pcf.h"
#include "bf_util.h"

#include <stdlib.h>
#include <string.h>

int
bf_pcf_each_io (const char *text, size_t len, bf_pcf_io_fn *fn, void *arg)
{
    char *copy = xmalloc (len + 1);
    memcpy (copy, text, len);
    copy[len] = '\0';
    int rc = 0, line = 0;
    char *save = NULL;
    for (char *l = strtok_r (copy, "\n", &save); l && rc == 0; l = strtok_r (NULL, "\n", &save)) {
        line++;
        char *w[8];
        int nw = 0;
        char *ws = NULL;
        for (char *t = strtok_r (l, " \t\r", &ws); t && nw < 8; t = strtok_r (NULL, " \t\r", &ws)) {
            if (t[0] == '#')
                break;
            w[nw++] = t;
        }
        if (nw < 3 || strcmp (w[0], "set_io") != 0)
            continue;
        const char *port = NULL, *pin = NULL;
        for (int i = 1; i < nw; i++) {
            if (w[i][0] == '-') {
                if (strcmp (w[i], "-pullup") == 0 || strcmp (w[i], "-pullup_resistor") == 0)
                    i++;   /* its value */
                continue;
            }
            if (!port)
                port = w[i];
            else if (!pin)
                pin = w[i];
        }
        if (port && pin && strlen (port) < 64)
            rc = fn (arg, port, pin, line);
    }
    free (copy);
    return rc;
}

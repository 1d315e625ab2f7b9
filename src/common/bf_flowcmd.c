/*  bf_flowcmd - see bf_flowcmd.h. */
#include "bf_flowcmd.h"
#include "bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Strings are built with open_memstream (POSIX.1-2008); out of memory
    there is fatal, as everywhere else (bf_util.h). */
static FILE *
s_open (char **buf, size_t *len)
{
    FILE *f = open_memstream (buf, len);
    if (!f)
        abort ();
    return f;
}

char *
bf_flowcmd_up (const char *workdir)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = s_open (&buf, &len);
    if (strcmp (workdir, ".") != 0) {
        fputs ("../", f);
        for (const char *p = workdir; *p; p++)
            if (*p == '/')
                fputs ("../", f);
    }
    fclose (f);
    return buf;
}

void
bf_argv_release (bf_argv_t *self)
{
    for (size_t i = 0; i < sizeof self->owned / sizeof self->owned[0]; i++) {
        free (self->owned[i]);
        self->owned[i] = NULL;
    }
    self->argc = 0;
}

char *
bf_flowcmd_yosys_script (const bf_manifest_t *m, const char *up, const char *netlist)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = s_open (&buf, &len);
    bool defer = m->params.n > 0;
    /* Every path yosys gets starts with "./" or "../", so that no leading
       part of a name can be one that yosys rewrites ("~/", "+/": its
       rewrite_filename) or reads as an option ("-"). */
    if (!*up)
        up = "./";
    for (size_t i = 0; i < m->sources.n; i++) {
        const bf_manifest_file_t *src = &m->sources.items[i];
        fputs ("read_verilog", f);
        if (defer)
            fputs (" -defer", f);
        if (src->lang == BF_LANG_SYSTEMVERILOG)
            fputs (" -sv", f);
        for (size_t k = 0; k < m->defines.n; k++) {
            const bf_manifest_pair_t *d = &m->defines.items[k];
            fprintf (f, d->value[0] ? " -D%s=%s" : " -D%s", d->name, d->value);   /* the same to yosys */
        }
        for (size_t k = 0; k < m->n_includes; k++)
            fprintf (f, " -I%s%s", up, m->includes[k]);
        fprintf (f, " %s%s\n", up, src->path);
    }
    for (size_t k = 0; k < m->params.n; k++)
        fprintf (f, "chparam -set %s %s %s\n", m->params.items[k].name, m->params.items[k].value,
                 m->top);
    const char *argv[2 * BF_TOOLOPT_MAX + 1];
    int n = bf_manifest_opts_argv (argv, 0, &m->synth_opts);
    fprintf (f, "synth_ice40 -top %s", m->top);
    for (int k = 0; k < n; k++)
        fprintf (f, " %s", argv[k]);
    fprintf (f, " -json %s\n", netlist);
    fclose (f);
    return buf;
}

void
bf_flowcmd_nextpnr (bf_argv_t *out, const bf_manifest_t *m, const char *netlist,
                    const char *pcf_prefix, const char *asc, const char *report)
{
    memset (out, 0, sizeof *out);
    const char **a = out->argv;
    int n = 0;
    a[n++] = "nextpnr-ice40";
    a[n++] = out->owned[0] = xasprintf ("--%s", m->device->name);
    if (m->package) {
        a[n++] = "--package";
        a[n++] = m->package;
    }
    a[n++] = "--json";
    a[n++] = netlist;
    if (m->has_pcf) {
        a[n++] = "--pcf";
        a[n++] = out->owned[1] = xasprintf ("%s%s", pcf_prefix, m->pcf.path);
    }
    a[n++] = "--asc";
    a[n++] = asc;
    a[n++] = "--report";
    a[n++] = report;
    if (m->seed >= 0) {
        a[n++] = "--seed";
        a[n++] = out->owned[2] = xasprintf ("%lld", (long long) m->seed);
    }
    if (m->freq_khz >= 0) {
        /* MHz with as many decimals as the kHz need: the same number the
           user typed (bf_toolopt allows at most 3 decimals). */
        long long khz = (long long) m->freq_khz;
        char *mhz = xasprintf ("%lld.%03lld", khz / 1000, khz % 1000);
        char *end = mhz + strlen (mhz) - 1;
        while (*end == '0')
            *end-- = '\0';
        if (*end == '.')
            *end = '\0';
        a[n++] = "--freq";
        a[n++] = out->owned[3] = mhz;
    }
    n = bf_manifest_opts_argv (a, n, &m->pnr_opts);
    a[n] = NULL;
    out->argc = n;
}

/*  Characters a POSIX shell takes literally in a word. */
static bool
s_shell_plain (const char *w)
{
    if (!*w)
        return false;
    for (const char *p = w; *p; p++)
        if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                     "_-./=+,:@%", *p))
            return false;
    return true;
}

char *
bf_flowcmd_shell (const char *const *argv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = s_open (&buf, &len);
    for (int i = 0; argv[i]; i++) {
        if (i)
            fputc (' ', f);
        if (s_shell_plain (argv[i])) {
            fputs (argv[i], f);
            continue;
        }
        fputc ('\'', f);
        for (const char *p = argv[i]; *p; p++) {
            if (*p == '\'')
                fputs ("'\\''", f);
            else
                fputc (*p, f);
        }
        fputc ('\'', f);
    }
    fclose (f);
    return buf;
}

char *
bf_flowcmd_by_hand (const bf_manifest_t *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = s_open (&buf, &len);
    const char *workdir = m->workdir;
    char *up = bf_flowcmd_up (workdir);
    char *script = bf_flowcmd_yosys_script (m, up, "netlist.json");
    if (strcmp (workdir, ".") != 0)
        fprintf (f, "cd %s\n", workdir);
    fprintf (f, "cat > build.ys <<'EOF'\n%sEOF\n", script);
    fputs ("yosys -s build.ys\n", f);
    bf_argv_t pnr;
    bf_flowcmd_nextpnr (&pnr, m, "netlist.json", up, "top.asc", "report.json");
    char *line = bf_flowcmd_shell (pnr.argv);
    fprintf (f, "%s\n", line);
    free (line);
    bf_argv_release (&pnr);
    fputs ("icepack top.asc top.bin\n", f);
    fclose (f);
    free (script);
    free (up);
    return buf;
}

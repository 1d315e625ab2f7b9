/*  bf_simboard_build - a simulated board's model: the design of a load,
    compiled with Verilator into one executable with the harness
    (src/vsim/bf_vsim_main.cpp), in the sandbox; kept in WORK_DIR/models
    (see bf_simboard.h).  Job thread. */
#include "bf_simboard.h"
#include "../common/bf_error.h"
#include "../common/bf_pcf.h"
#include "../common/bf_datadir.h"
#include "../common/bf_util.h"
#include "../common/bf_vsimcmd.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#define S_WRAP_TOP "bf_regio_wrap"       /* the top of a --regio build */

const char *
bf_simboard_profile_name (const bf_board_t *board)
{
    if (board->profile[0])
        return board->profile;
    if (strcmp (board->device, "up5k") == 0)
        return "icebreaker";
    if (strcmp (board->device, "hx1k") == 0)
        return "icestick";
    return NULL;
}

char *
bf_simboard_model_dir (const char *work_dir, const char *bitstream, const char *key,
                       const char *toolchain)
{
    return xasprintf ("%s/models/%.32s-%.32s-%.16s", work_dir, bitstream, key, toolchain);
}

static void
s_note (const bf_simboard_build_t *sp, const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    if (sp->on_line)
        sp->on_line (sp->arg, line);
}

typedef struct {
    const bf_regio_profile_t *prof;
    char *clk, *rx, *tx;
} s_ports_t;

static int
s_on_io (void *arg, const char *port, const char *pin, int line)
{
    (void) line;
    s_ports_t *sp = arg;
    int p = atoi (pin);
    if (strchr (port, '['))
        return 0;   /* a bus bit: not a port the harness can drive */
    if (p == sp->prof->clk_pin)
        snprintf (sp->clk, 64, "%s", port);
    else if (p == sp->prof->rx_pin)
        snprintf (sp->rx, 64, "%s", port);
    else if (p == sp->prof->tx_pin)
        snprintf (sp->tx, 64, "%s", port);
    return 0;
}

/*  The top's ports on the profile's clock and UART pins, from the
    design's pcf (bf_pcf). */
static int
s_ports (char clk[64], char rx[64], char tx[64], const bf_simboard_build_t *sp,
         const bf_regio_profile_t *prof)
{
    const bf_manifest_t *m = sp->manifest;
    clk[0] = rx[0] = tx[0] = '\0';
    if (!m->has_pcf)
        return bf_error_set (BF_EINVAL, "the design has no pcf: its UART pins are unknown");
    char *path = xasprintf ("%s/src/%s", sp->job_dir, m->pcf.path);
    char *text = NULL;
    size_t len = 0;
    int rc = bf_file_read (&text, &len, path, 1 << 20);
    free (path);
    if (rc != BF_OK)
        return rc;
    s_ports_t sp2 = { prof, clk, rx, tx };
    bf_pcf_each_io (text, len, s_on_io, &sp2);
    free (text);
    if (!clk[0] || !rx[0] || !tx[0])
        return bf_error_set (BF_EINVAL, "the design's pcf puts no port on the %s profile's %s "
                             "pin %d (clock %d, UART rx %d, tx %d): no register I/O for it",
                             prof->name, !clk[0] ? "clock" : !rx[0] ? "UART rx" : "UART tx",
                             !clk[0] ? prof->clk_pin : !rx[0] ? prof->rx_pin : prof->tx_pin,
                             prof->clk_pin, prof->rx_pin, prof->tx_pin);
    return BF_OK;
}

/*  Copies bitfarm's cell models (data/gateware/sim/SB_*.v) into dir, and
    yosys's SB_MAC16 alone into dir2, so that the sandbox needs only the
    job's directory. */
static int
s_copy_models (const char *data, const char *dir, const char *dir2)
{
    char *src = xasprintf ("%s/gateware/sim", data);
    DIR *d = opendir (src);
    int rc = d ? BF_OK : bf_error_set (BF_ENOTFOUND, "cannot open '%s': %s", src, strerror (errno));
    for (struct dirent *e; rc == BF_OK && (e = readdir (d));) {
        size_t n = strlen (e->d_name);
        if (n < 3 || strcmp (e->d_name + n - 2, ".v") != 0)
            continue;
        char *from = xasprintf ("%s/%s", src, e->d_name), *to = xasprintf ("%s/%s", dir, e->d_name);
        char *text = NULL;
        size_t len = 0;
        rc = bf_file_read (&text, &len, from, 1 << 20);
        if (rc == BF_OK)
            rc = bf_file_write_atomic (to, text, len, 0644);
        free (text);
        free (from);
        free (to);
    }
    if (d)
        closedir (d);
    free (src);
    char *cells = NULL, *mac = NULL;
    size_t len = 0;
    if (rc == BF_OK && bf_file_read (&cells, &len, BF_VSIM_YOSYS_CELLS, 8 << 20) == BF_OK
        && bf_vsim_extract_module (&mac, cells, len, "SB_MAC16") == BF_OK) {
        char *to = xasprintf ("%s/SB_MAC16.v", dir2);
        rc = bf_file_write_atomic (to, mac, strlen (mac), 0644);
        free (to);
    }
    bf_error_clear ();
    free (cells);
    free (mac);
    return rc;
}

/*  Keeps the newest BF_SIMBOARD_MODELS_MAX model directories. */
static void
s_evict (const char *work_dir)
{
    char *dir = xasprintf ("%s/models", work_dir);
    DIR *d = opendir (dir);
    char *names[256];
    time_t times[256];
    int n = 0;
    for (struct dirent *e; d && n < 256 && (e = readdir (d));) {
        struct stat st;
        char *p = xasprintf ("%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat (p, &st) == 0 && S_ISDIR (st.st_mode)) {
            names[n] = p;
            times[n++] = st.st_mtime;
        }
        else
            free (p);
    }
    if (d)
        closedir (d);
    while (n > BF_SIMBOARD_MODELS_MAX) {
        int old = 0;
        for (int i = 1; i < n; i++)
            if (times[i] < times[old])
                old = i;
        bf_remove_tree (names[old]);
        free (names[old]);
        names[old] = names[--n];
        times[old] = times[n];
    }
    for (int i = 0; i < n; i++)
        free (names[i]);
    free (dir);
}

int
bf_simboard_build (const bf_simboard_build_t *sp)
{
    const bf_manifest_t *m = sp->manifest;
    char *final = bf_simboard_model_dir (sp->work_dir, sp->bitstream, sp->key, sp->toolchain);
    char *info = xasprintf ("%s/model.json", final);
    char *data = NULL, *vsim = NULL, *lib = NULL, *lib2 = NULL, *harness = NULL, *mdir = NULL;
    char *tmp = NULL, *log = NULL;
    char **argv = NULL;
    const char **full = NULL;
    const char **srcs = NULL, **incs = NULL, **defs = NULL, **pars = NULL;
    bf_regio_profile_t prof;
    int rc = BF_OK;
    if (access (info, R_OK) == 0) {
        utime (final, NULL);   /* most recently used */
        s_note (sp, "bitfarm: simulation model: the one this worker built before (%s)", final);
        goto out;
    }
    const char *pname = bf_simboard_profile_name (sp->board);
    if (!pname) {
        rc = bf_error_set (BF_EINVAL, "virtual board '%s' (%s) has no register I/O profile "
                           "(give \"profile\" in the worker's config)", sp->board->name,
                           sp->board->device);
        goto out;
    }
    if (!(data = bf_datadir ())) {
        rc = BF_ENOTFOUND;
        goto out;
    }
    char *ppath = xasprintf ("%s/gateware/regio/profiles/%s.ini", data, pname);
    rc = bf_regio_profile_load (&prof, ppath);
    free (ppath);
    if (rc != BF_OK)
        goto out;
    bool wrapped = strcmp (m->top, S_WRAP_TOP) == 0;
    char clk[64] = "clk", rx[64] = "uart_rx", tx[64] = "uart_tx";
    if (!wrapped && (rc = s_ports (clk, rx, tx, sp, &prof)) != BF_OK)
        goto out;
    vsim = xasprintf ("%s/vsim", sp->job_dir);
    lib = xasprintf ("%s/lib", vsim);
    lib2 = xasprintf ("%s/lib2", vsim);
    mdir = xasprintf ("%s/obj", vsim);
    harness = xasprintf ("%s/bf_vsim_main.cpp", vsim);
    log = xasprintf ("%s/build.log", vsim);
    char *from = xasprintf ("%s/src/vsim/bf_vsim_main.cpp", data), *text = NULL;
    size_t tlen = 0;
    if ((rc = bf_mkdir_p (lib, 0755)) == BF_OK && (rc = bf_mkdir_p (lib2, 0755)) == BF_OK
        && (rc = bf_mkdir_p (mdir, 0755)) == BF_OK
        && (rc = bf_file_read (&text, &tlen, from, 1 << 20)) == BF_OK)
        rc = bf_file_write_atomic (harness, text, tlen, 0644);
    free (from);
    free (text);
    if (rc == BF_OK)
        rc = s_copy_models (data, lib, lib2);
    if (rc == BF_OK && sp->sandbox && (rc = bf_sandbox_give (sp->sandbox, vsim)) == BF_OK)
        rc = bf_sandbox_give (sp->sandbox, mdir);
    if (rc != BF_OK)
        goto out;
    /* The manifest's inputs as Verilator takes them: absolute paths in
       JOB_DIR/src, the include directories, -D and -G as given to yosys. */
    srcs = xcalloc (m->sources.n + 1, sizeof *srcs);
    for (size_t i = 0; i < m->sources.n; i++)
        srcs[i] = xasprintf ("%s/src/%s", sp->job_dir, m->sources.items[i].path);
    /* -I: the design's include directories, then each source's own
       directory (yosys looks beside the including file; Verilator only in
       -I directories) */
    size_t ninc = 0;
    incs = xcalloc (m->n_includes + m->sources.n + 1, sizeof *incs);
    for (size_t i = 0; i < m->n_includes; i++)
        incs[ninc++] = xasprintf ("%s/src/%s", sp->job_dir, m->includes[i]);
    for (size_t i = 0; i < m->sources.n; i++) {
        char *dir = xasprintf ("%s/src/%s", sp->job_dir, m->sources.items[i].path);
        *strrchr (dir, '/') = '\0';
        bool seen = false;
        for (size_t k = 0; k < ninc && !seen; k++)
            seen = strcmp (incs[k], dir) == 0;
        if (seen)
            free (dir);
        else
            incs[ninc++] = dir;
    }
    defs = xcalloc (m->defines.n + 1, sizeof *defs);
    for (size_t i = 0; i < m->defines.n; i++)
        defs[i] = m->defines.items[i].value[0]
                  ? xasprintf ("%s=%s", m->defines.items[i].name, m->defines.items[i].value)
                  : xstrdup (m->defines.items[i].name);
    pars = xcalloc (m->params.n + 1, sizeof *pars);
    for (size_t i = 0; i < m->params.n; i++)
        pars[i] = xasprintf ("%s=%s", m->params.items[i].name, m->params.items[i].value);
    const char *libdirs[] = { lib, lib2 };
    bf_vsimcmd_t spec = { .mdir = mdir, .model = "model", .top = m->top, .harness = harness,
                          .sources = srcs, .nsources = m->sources.n,
                          .defines = defs, .ndefines = m->defines.n,
                          .params = pars, .nparams = m->params.n,
                          .libdirs = libdirs, .nlibdirs = 2,
                          .includes = incs, .nincludes = ninc,
                          .clk_port = clk, .rx_port = rx, .tx_port = tx,
                          .profile = wrapped ? &prof : NULL };
    if ((rc = bf_vsimcmd_argv (&argv, &spec)) != BF_OK)
        goto out;
    s_note (sp, "bitfarm: building the simulation model (Verilator, %s profile: clock %s, "
            "UART rx %s, tx %s, %u baud)", prof.name, clk, rx, tx, (unsigned) prof.baud);
    char cmd[4096] = "$";
    for (int i = 0; argv[i]; i++)
        snprintf (cmd + strlen (cmd), sizeof cmd - strlen (cmd), " %s", argv[i]);
    s_note (sp, "%s", cmd);
    full = sp->sandbox ? bf_sandbox_argv (sp->sandbox, sp->job_dir, vsim,
                                          (const char *const *) argv) : NULL;
    bf_spawn_opts_t opts = { .argv = full ? full : (const char *const *) argv, .cwd = vsim,
                             .log_path = log, .log_max = 4 << 20,
                             .timeout_ms = BF_SIMBOARD_BUILD_MS, .cancel = sp->cancel,
                             .limits = sp->sandbox ? &sp->sandbox->limits : NULL };
    bf_spawn_result_t r;
    rc = bf_spawn_run (&r, &opts);
    if (rc == BF_OK && sp->sandbox)
        bf_sandbox_result (sp->sandbox, &r);
    char *model = xasprintf ("%s/model", mdir);
    if (rc == BF_OK && (!r.exited || r.exit_code != 0 || access (model, X_OK) != 0)) {
        char *out = NULL;
        size_t olen = 0;
        char last[400] = "", out_tail[2048] = "";
        if (bf_file_read (&out, &olen, log, 4 << 20) == BF_OK) {
            snprintf (out_tail, sizeof out_tail, "%s", olen > 2000 ? out + olen - 2000 : out);
            /* the first %Error line, or the last line */
            char *e = strstr (out, "%Error");
            char *line = e ? e : out;
            if (!e)
                for (char *p = out; *p; p++)
                    if (*p == '\n' && p[1])
                        line = p + 1;
            /* the design's files as the user named them: no worker paths */
            char *jsrc = xasprintf ("%s/src/", sp->job_dir);
            size_t jn = strlen (jsrc), k = 0;
            for (const char *c = line; *c && *c != '\n' && k + 1 < sizeof last;)
                if (strncmp (c, jsrc, jn) == 0)
                    c += jn;
                else
                    last[k++] = *c++;
            last[k] = '\0';
            free (jsrc);
        }
        free (out);
        s_note (sp, "bitfarm: the model's build log (the last lines):");
        if (out_tail[0])
            s_note (sp, "%s", out_tail);
        rc = bf_error_set (BF_EINVAL, "Verilator could not build the design's model: %s",
                           r.timed_out ? "time limit" : last[0] ? last : "no output");
    }
    if (rc == BF_OK) {
        char rnd[9];
        bf_random_hex (rnd, 4);
        tmp = xasprintf ("%s/models/.tmp-%s", sp->work_dir, rnd);
        char *src = xasprintf ("%s/src", sp->job_dir);
        char *tsrc = xasprintf ("%s/src", tmp), *tmodel = xasprintf ("%s/model", tmp);
        char *tinfo = xasprintf ("%s/model.json", tmp);
        char *json = xasprintf ("{\"divisor\": %u, \"clk_hz\": %u, \"cwd\": \"src/%s\", "
                                "\"top\": \"%s\"}\n",
                                (unsigned) bf_regio_divisor (prof.clk_hz, prof.baud),
                                (unsigned) prof.clk_hz, m->workdir, m->top);
        if ((rc = bf_mkdir_p (tmp, 0755)) == BF_OK
            && (rename (src, tsrc) != 0 || rename (model, tmodel) != 0))
            rc = bf_error_set (BF_EIO, "cannot keep the model in '%s': %s", tmp, strerror (errno));
        if (rc == BF_OK)
            rc = bf_file_write_atomic (tinfo, json, strlen (json), 0644);
        if (rc == BF_OK && rename (tmp, final) != 0 && errno != ENOTEMPTY && errno != EEXIST)
            rc = bf_error_set (BF_EIO, "cannot keep the model in '%s': %s", final,
                               strerror (errno));
        bf_remove_tree (tmp);   /* left only when another job kept the same model first */
        free (src);
        free (tsrc);
        free (tmodel);
        free (tinfo);
        free (json);
        if (rc == BF_OK) {
            s_note (sp, "bitfarm: simulation model built in %.1f s", (double) r.elapsed_ms / 1000);
            s_evict (sp->work_dir);
        }
    }
    free (model);
out:
    if (argv)
        bf_vsimcmd_free (&argv);
    free (full);
    for (size_t i = 0; srcs && srcs[i]; i++)
        free ((char *) srcs[i]);
    for (size_t i = 0; incs && incs[i]; i++)
        free ((char *) incs[i]);
    for (size_t i = 0; defs && defs[i]; i++)
        free ((char *) defs[i]);
    for (size_t i = 0; pars && pars[i]; i++)
        free ((char *) pars[i]);
    free (srcs);
    free (incs);
    free (defs);
    free (pars);
    free (final);
    free (info);
    free (data);
    free (vsim);
    free (lib);
    free (lib2);
    free (harness);
    free (mdir);
    free (tmp);
    free (log);
    return rc;
}

/*  bf_flow - see bf_flow.h. */
#include "bf_flow.h"
#include "../common/bf_error.h"
#include "../common/bf_flowcmd.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_spawn.h"
#include "../common/bf_util.h"

#include <czmq.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *buf;
    size_t len, cap;
} s_str_t;

static void
s_cat (s_str_t *s, const char *text)
{
    size_t n = strlen (text);
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->buf = xrealloc (s->buf, s->cap);
    }
    memcpy (s->buf + s->len, text, n + 1);
    s->len += n;
}

typedef struct {
    const bf_flow_hooks_t *hooks;
    char first_error[1024];
    char first_line[1024];
    bool out_of_memory;          /* the tool said so (std::bad_alloc, "out of memory") */
    bool out_of_procs;           /* a fork failed (EAGAIN: RLIMIT_NPROC) */
} s_run_ctx_t;

static void
s_on_line (void *arg, const char *line)
{
    s_run_ctx_t *ctx = arg;
    if (!ctx->first_error[0] && strstr (line, "ERROR"))
        snprintf (ctx->first_error, sizeof ctx->first_error, "%s", line);
    if (strstr (line, "std::bad_alloc") || strstr (line, "ut of memory"))
        ctx->out_of_memory = true;
    if (strstr (line, "Cannot fork") || strstr (line, "fork: Resource temporarily unavailable")
        || strstr (line, "fork failed") || strstr (line, "fork: retry"))
        ctx->out_of_procs = true;
    if (!ctx->first_line[0] && line[0])
        snprintf (ctx->first_line, sizeof ctx->first_line, "%s", line);
    if (ctx->hooks->on_line)
        ctx->hooks->on_line (ctx->hooks->arg, line);
}

/*  Runs one tool; returns true when it exited 0.  On failure fills *out. */
static bool
s_tool (bf_flow_result_t *out, const char *stage, const char *const *argv, const char *job_dir,
        const char *cwd, const char *log_path, const bf_flow_hooks_t *hooks, int64_t deadline)
{
    snprintf (out->stage, sizeof out->stage, "%s", stage);
    if (hooks->on_stage)
        hooks->on_stage (hooks->arg, stage);
    s_run_ctx_t ctx = { .hooks = hooks };
    char header[512];
    snprintf (header, sizeof header, "== %s: %s", stage, argv[0]);
    s_on_line (&ctx, header);
    ctx.first_line[0] = '\0';
    /* The stored log holds the header too, as the live one does: a reader
       that followed the live log goes on at the same offset in it. */
    if (log_path) {
        /* read and write: a full log is read back for its marker */
        int fd = open (log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            size_t n = strlen (header);
            header[n] = '\n';
            bf_log_append_capped (fd, header, n + 1, hooks->log_max);
            header[n] = '\0';
            close (fd);
        }
    }
    int64_t timeout = 0;
    if (deadline) {
        timeout = deadline - bf_mono_ms ();
        if (timeout < 1)
            timeout = 1;
    }
    const bf_sandbox_t *sb = hooks->sandbox;
    const char **full = sb ? bf_sandbox_argv (sb, job_dir, cwd, argv) : NULL;
    bf_spawn_opts_t opts = { .argv = full ? full : argv, .cwd = cwd, .log_path = log_path,
                             .log_max = hooks->log_max, .timeout_ms = timeout, .on_line = s_on_line, .arg = &ctx,
                             .cancel = hooks->cancel, .limits = sb ? &sb->limits : NULL };
    bf_spawn_result_t res;
    int rc = bf_spawn_run (&res, &opts);
    free (full);
    if (rc != BF_OK) {
        snprintf (out->failure_class, sizeof out->failure_class, "infrastructure");
        snprintf (out->error, sizeof out->error, "%s", bf_error_last ());
        return false;
    }
    if (sb)
        bf_sandbox_result (sb, &res);
    if (res.exited && res.exit_code == 0)
        return true;
    /* Resource limits (only a sandbox sets them): the design asked for
       too much. */
    const char *limit = NULL;
    if (sb && !res.exited && res.term_signal == SIGXCPU)
        limit = "exceeded its CPU time limit";
    else if (sb && !res.exited && res.term_signal == SIGXFSZ)
        limit = "exceeded its file size limit";
    else if (sb && ctx.out_of_memory)
        limit = "ran out of memory under its address-space limit";
    else if (sb && ctx.out_of_procs)
        limit = "exceeded its process limit";
    if (limit && !res.timed_out && !res.cancelled) {
        snprintf (out->failure_class, sizeof out->failure_class, "design");
        snprintf (out->error, sizeof out->error, "%s %s (CPU %llds, memory %lld MiB, file "
                  "%lld MiB, processes %lld)", argv[0], limit, (long long) sb->limits.cpu_s,
                  (long long) (sb->limits.as_bytes >> 20),
                  (long long) (sb->limits.fsize_bytes >> 20), (long long) sb->limits.nproc);
        return false;
    }
    if (res.timed_out) {
        snprintf (out->failure_class, sizeof out->failure_class, "timeout");
        snprintf (out->error, sizeof out->error, "%s timed out after %lld ms", argv[0],
                  (long long) res.elapsed_ms);
    }
    else if (res.cancelled) {
        snprintf (out->failure_class, sizeof out->failure_class, "cancelled");
        snprintf (out->error, sizeof out->error, "%s was cancelled", argv[0]);
    }
    else if (!res.exited) {
        snprintf (out->failure_class, sizeof out->failure_class, "infrastructure");
        snprintf (out->error, sizeof out->error, "%s was killed by signal %d (%s)", argv[0],
                  res.term_signal, strsignal (res.term_signal));
    }
    else {
        snprintf (out->failure_class, sizeof out->failure_class, "design");
        if (ctx.first_error[0])
            snprintf (out->error, sizeof out->error, "%s", ctx.first_error);
        else if (ctx.first_line[0])
            snprintf (out->error, sizeof out->error, "%s: %.900s", argv[0], ctx.first_line);
        else
            snprintf (out->error, sizeof out->error, "%s exited with status %d", argv[0],
                      res.exit_code);
    }
    return false;
}

static int
s_noop_line (void *arg, const bf_manifest_file_t *file)
{
    s_cat (arg, file->sha256);
    s_cat (arg, " ");
    s_cat (arg, file->path);
    s_cat (arg, "\n");
    return BF_OK;
}

/*  The diagnostic flow (BF_FLOW_NOOP): no tool, only a wait that honours
    cancel and the time limit, and a deterministic "bitstream". */
static int
s_noop (bf_flow_result_t *out, const char *job_dir, const bf_manifest_t *m,
        const bf_flow_hooks_t *hooks)
{
    snprintf (out->stage, sizeof out->stage, "noop");
    if (hooks->on_stage)
        hooks->on_stage (hooks->arg, "noop");
    int64_t delay = m->delay_ms;
    char line[128];
    snprintf (line, sizeof line, "== noop: waiting %lld ms", (long long) delay);
    if (hooks->on_line)
        hooks->on_line (hooks->arg, line);
    int64_t start = bf_mono_ms ();
    for (;;) {
        int64_t now = bf_mono_ms ();
        if (hooks->cancel && atomic_load (hooks->cancel)) {
            snprintf (out->failure_class, sizeof out->failure_class, "cancelled");
            snprintf (out->error, sizeof out->error, "noop flow was cancelled");
            return BF_OK;
        }
        if (hooks->timeout_ms > 0 && now - start >= hooks->timeout_ms) {
            snprintf (out->failure_class, sizeof out->failure_class, "timeout");
            snprintf (out->error, sizeof out->error, "noop flow timed out after %lld ms",
                      (long long) (now - start));
            return BF_OK;
        }
        if (now - start >= delay)
            break;
        int64_t step = delay - (now - start);
        zclock_sleep ((int) (step > 20 ? 20 : step));
    }
    s_str_t text = { 0 };
    s_cat (&text, "bitfarm noop\n");
    bf_manifest_each_input (m, s_noop_line, &text);
    char *outdir = xasprintf ("%s/out", job_dir);
    char *bin = xasprintf ("%s/top.bin", outdir);
    char *log = xasprintf ("%s/build.log", job_dir);
    int rc = bf_mkdir_p (outdir, 0755);
    if (rc == BF_OK)
        rc = bf_file_write_atomic (bin, text.buf, text.len, 0644);
    char logged[sizeof line + 1];   /* with its newline, as the live log has it */
    snprintf (logged, sizeof logged, "%s\n", line);
    if (rc == BF_OK)
        rc = bf_file_write_atomic (log, logged, strlen (logged), 0600);
    if (rc != BF_OK) {
        snprintf (out->failure_class, sizeof out->failure_class, "infrastructure");
        snprintf (out->error, sizeof out->error, "%s", bf_error_last ());
    }
    else {
        out->ok = true;
        snprintf (out->stage, sizeof out->stage, "done");
    }
    free (text.buf);
    free (outdir);
    free (bin);
    free (log);
    return BF_OK;
}

/*  The top of every build log: the exact commands, as a person would run
    them in the job directory (bf_flowcmd.h), also streamed as log lines. */
static int
s_log_commands (const char *log, const char *script, const char *cwd, const char *job_dir,
                const char *const *yosys, const char *const *pnr, const char *const *pack,
                const bf_flow_hooks_t *hooks)
{
    char *y = bf_flowcmd_shell (yosys), *n = bf_flowcmd_shell (pnr), *p = bf_flowcmd_shell (pack);
    const char *cwd_rel = cwd + strlen (job_dir) + 1;
    char *text = xasprintf ("== commands (in the job directory; yosys in %s):\n"
                            "== build.ys:\n%s"
                            "== (cd %s && %s)\n== %s\n== %s\n",
                            cwd_rel, script, cwd_rel, y, n, p);
    int rc = bf_file_write_scratch (log, text, strlen (text), 0600);
    if (rc == BF_OK && hooks->on_line) {
        for (char *line = text, *nl; *line; line = nl + 1) {
            nl = strchr (line, '\n');
            *nl = '\0';
            hooks->on_line (hooks->arg, line);
        }
    }
    free (text);
    free (y);
    free (n);
    free (p);
    return rc;
}

int
bf_flow_run (bf_flow_result_t *out, const char *job_dir, const bf_manifest_t *m,
             const bf_flow_hooks_t *hooks)
{
    memset (out, 0, sizeof *out);
    if (m->flow == BF_FLOW_KIND_NOOP)
        return s_noop (out, job_dir, m, hooks);
    if (!m->device)
        return bf_error_set (BF_EINVAL, "unknown device ''");
    int64_t deadline = hooks->timeout_ms > 0 ? bf_mono_ms () + hooks->timeout_ms : 0;
    char *outdir = xasprintf ("%s/out", job_dir);
    char *log = xasprintf ("%s/build.log", job_dir);
    char *ys = xasprintf ("%s/build.ys", job_dir);
    char *bin = xasprintf ("%s/top.bin", outdir);
    const char *workdir = m->workdir;
    char *cwd = xasprintf ("%s/src/%s", job_dir, workdir);
    /* yosys runs in the workdir and gets every path relative to it, so no
       path of the work directory (which may hold any character) is ever
       parsed by yosys. */
    char *up = bf_flowcmd_up (workdir);
    char *netlist_rel = xasprintf ("%s../out/netlist.json", up);
    char *script = bf_flowcmd_yosys_script (m, up, netlist_rel);
    /* nextpnr and icepack get paths relative to the job directory, so the
       log shows the commands as they would be typed there. */
    bf_argv_t pnr;
    bf_flowcmd_nextpnr (&pnr, m, "out/netlist.json", "src/", "out/top.asc",
                        "out/report.json");
    char *ys_rel = xasprintf ("%s../build.ys", up);
    const char *yosys[] = { bf_toolchain_path (hooks->toolchain, "yosys"), "-s", ys_rel, NULL };
    const char *pack[] = { bf_toolchain_path (hooks->toolchain, "icepack"), "out/top.asc",
                           "out/top.bin", NULL };
    pnr.argv[0] = bf_toolchain_path (hooks->toolchain, "nextpnr-ice40");
    free (netlist_rel);
    free (up);
    int rc = bf_mkdir_p (outdir, 0755);
    if (rc == BF_OK && hooks->sandbox)
        rc = bf_sandbox_give (hooks->sandbox, outdir);   /* the one place the tools write */
    if (rc == BF_OK)
        rc = bf_mkdir_p (cwd, 0755);
    if (rc == BF_OK)
        rc = bf_file_write_scratch (ys, script, strlen (script), 0644);
    if (rc == BF_OK)
        rc = s_log_commands (log, script, cwd, job_dir, yosys, pnr.argv, pack, hooks);
    if (rc != BF_OK) {
        snprintf (out->failure_class, sizeof out->failure_class, "infrastructure");
        snprintf (out->error, sizeof out->error, "%s", bf_error_last ());
        rc = BF_OK;
        goto done;
    }
    if (!s_tool (out, "synth", yosys, job_dir, cwd, log, hooks, deadline))
        goto done;
    if (!s_tool (out, "pnr", pnr.argv, job_dir, job_dir, log, hooks, deadline))
        goto done;
    if (!s_tool (out, "pack", pack, job_dir, job_dir, log, hooks, deadline))
        goto done;
    struct stat st;
    if (stat (bin, &st) < 0) {
        snprintf (out->failure_class, sizeof out->failure_class, "infrastructure");
        snprintf (out->error, sizeof out->error, "icepack exited 0 but wrote no bitstream");
        goto done;
    }
    if (bf_manifest_check_bitstream (m, (uint64_t) st.st_size) != BF_OK) {
        snprintf (out->failure_class, sizeof out->failure_class, "infrastructure");
        snprintf (out->error, sizeof out->error, "%s", bf_error_last ());
        goto done;
    }
    out->ok = true;
    snprintf (out->stage, sizeof out->stage, "done");
done:
    free (outdir); free (log); free (ys); free (bin); free (cwd); free (script); free (ys_rel);
    bf_argv_release (&pnr);
    return rc;
}

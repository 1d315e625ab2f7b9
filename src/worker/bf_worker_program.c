/*  bf_worker_program - the program thread: openFPGALoader loads a
    bitstream into a board under the job's time limit; the outcome is
    judged by bf_board_classify (and the DONE check over XVC where
    configured), then RESULT with the log (see bf_worker_int.h).
    Everything here runs in a job thread. */
#include "bf_worker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_spawn.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DONE_CHECK_MS   5000       /* the XVC DONE check's time limit */

/*  A line of bitfarm's own in the program log: streamed, and kept in the
    log file that becomes the job's stored log. */
static void
s_program_note (bf_worker__job_t *job, const char *log, const char *line)
{
    bf_worker__on_line (job, line);
    FILE *f = fopen (log, "ae");
    if (f) {
        fprintf (f, "%s\n", line);
        fclose (f);
    }
}

typedef struct {
    bf_worker__job_t *job;
    const char *log;
} s_model_log_t;

static void
s_model_line (void *arg, const char *line)
{
    s_model_log_t *ml = arg;
    s_program_note (ml->job, ml->log, line);
}

/*  A simulated board: after the load, the model of its design
    (bf_simboard.h), or why there is none, for the main thread. */
static void
s_model (bf_worker__job_t *job, const char *log)
{
    if (!job->has_model) {
        snprintf (job->model_error, sizeof job->model_error, "its bitstream came with no "
                  "design the farm built (a file, or a cache entry since evicted): program it "
                  "from a build (a job id or cache key) to simulate it");
        return;
    }
    s_model_log_t ml = { job, log };
    bf_simboard_build_t spec = { .job_dir = job->job_dir, .manifest = &job->manifest,
                                 .board = job->board, .bitstream = job->bitstream,
                                 .key = job->model_key,
                                 .toolchain = job->toolchain->id, .work_dir = job->work_dir,
                                 .sandbox = job->sandbox, .on_line = s_model_line,
                                 .arg = &ml, .cancel = &job->cancel };
    if (bf_simboard_build (&spec) == BF_OK)
        job->model_ready = true;
    else {
        snprintf (job->model_error, sizeof job->model_error, "%s", bf_error_last ());
        char line[700];
        snprintf (line, sizeof line, "bitfarm: no simulation model: %s", job->model_error);
        s_program_note (job, log, line);
    }
}

/*  The program thread: openFPGALoader loads job->job_dir/bitstream.bin
    into the board; the outcome is judged from its status and output (and
    DONE over XVC where configured). */
void
bf_worker__program_actor (zsock_t *pipe, void *args)
{
    bf_worker__job_t *job = bf_worker__actor_begin (pipe, args);
    bf_worker__on_stage (job, "program");

    const bf_board_t *b = job->board;
    char *bin = xasprintf ("%s/bitstream.bin", job->job_dir);
    char *log = xasprintf ("%s/program.log", job->job_dir);
    char **argv = bf_board_argv (b, bin);
    char *cmdline = xstrdup ("$");
    for (int i = 0; argv[i]; i++) {
        char *next = xasprintf ("%s %s", cmdline, argv[i]);
        free (cmdline);
        cmdline = next;
    }
    s_program_note (job, log, cmdline);
    free (cmdline);
    /* Confined to the one board: bf_board_reach, bf_sandbox_program_argv. */
    bf_sandbox_reach_t reach;
    bf_board_reach (&reach, b, "/sys");
    const bf_sandbox_t *sb = job->sandbox;
    const char **full = sb ? bf_sandbox_program_argv (sb, job->job_dir, &reach,
                                                      (const char *const *) argv) : NULL;
    bf_spawn_opts_t opts = { .argv = full ? full : (const char *const *) argv, .cwd = job->job_dir,
                             .log_path = log, .log_max = job->log_max,
                             .timeout_ms = job->timeout_ms,
                             .on_line = bf_worker__on_line, .arg = job, .cancel = &job->cancel };
    bf_spawn_result_t r;
    char error[1024] = "";
    bf_load_class_t cls = BF_LOAD_INFRA;
    bool cancelled = false;
    int spawned = bf_spawn_run (&r, &opts);
    free (full);
    if (spawned == BF_OK && sb)
        bf_sandbox_result (sb, &r);
    if (spawned != BF_OK)
        snprintf (error, sizeof error, "cannot run openFPGALoader: %s", bf_error_last ());
    else if (r.cancelled) {
        cancelled = true;
        snprintf (error, sizeof error, "cancelled");
    }
    else {
        char *out = NULL;
        size_t len = 0;
        if (bf_file_read (&out, &len, log, BF_WORKER__RESULT_LOG_MAX) != BF_OK)
            out = xstrdup ("");
        cls = bf_board_classify (&r, out, error, sizeof error);
        free (out);
        uint8_t ir = 0;
        if (cls == BF_LOAD_OK && b->done_check) {
            if (bf_board_xvc_ir_capture (&ir, b->ip, b->port, S_DONE_CHECK_MS) != BF_OK) {
                cls = BF_LOAD_INFRA;
                snprintf (error, sizeof error, "DONE check failed: %s", bf_error_last ());
            }
            else if (!(ir & 0x20)) {
                cls = BF_LOAD_BITSTREAM;
                snprintf (error, sizeof error, "bitstream or device error: DONE stayed low "
                          "after the load (IR capture 0x%02x): the device rejected the "
                          "configuration (CRC or configuration error)", ir);
            }
            char line[160];
            snprintf (line, sizeof line, "\nbitfarm: DONE check over XVC: IR capture 0x%02x, "
                      "DONE %s", ir, (ir & 0x20) ? "high" : "low");
            s_program_note (job, log, line);
        }
    }
    if (error[0]) {
        char line[1100];
        snprintf (line, sizeof line, "\nbitfarm: %s", error);
        s_program_note (job, log, line);
    }
    bf_worker__flush_log (job, true);
    bf_board_argv_free (argv);

    if (cls == BF_LOAD_OK && !cancelled && b->is_virtual)
        s_model (job, log);
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "job", job->id, "kind",
                              "program", "board", b->name, "bitstream", job->bitstream,
                              "stage", "program", "outcome",
                              cls == BF_LOAD_OK && !cancelled ? "succeeded" : "failed");
    if (cls != BF_LOAD_OK || cancelled) {
        json_object_set_new (body, "failure_class",
                             json_string (cancelled ? "cancelled"
                                          : cls == BF_LOAD_BITSTREAM ? "bitstream"
                                          : "infrastructure"));
        json_object_set_new (body, "error", json_string (error));
    }
    zmsg_t *blobs = zmsg_new ();
    bf_worker__attach (body, blobs, "log", log);
    free (bin);
    free (log);
    bf_worker__actor_finish (job, pipe, body, blobs);
}

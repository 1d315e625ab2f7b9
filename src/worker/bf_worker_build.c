/*  bf_worker_build - the build thread: bf_flow_run in the job directory,
    then RESULT with the bitstream, report and log; and what every job
    thread shares: its log stream (LOG) and its RESULT (see
    bf_worker_int.h).  Everything here runs in a job thread. */
#include "bf_worker_int.h"
#include "bf_flow.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void
bf_worker__flush_log (bf_worker__job_t *job, bool force)
{
    int64_t now = bf_mono_ms ();
    if (!force && job->loglen < BF_WORKER__LOG_FLUSH_BYTES
        && now - job->log_flushed_at < BF_WORKER__LOG_FLUSH_MS)
        return;
    job->log_flushed_at = now;
    if (job->loglen == 0 && !force)
        return;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "LOG");
    zmsg_addstr (msg, job->stage);
    zmsg_addmem (msg, job->logbuf, job->loglen);
    zmsg_send (&msg, job->pipe);
    job->loglen = 0;
}

void
bf_worker__on_stage (void *arg, const char *stage)
{
    bf_worker__job_t *job = arg;
    bf_worker__flush_log (job, true);
    snprintf (job->stage, sizeof job->stage, "%s", stage);
    bf_worker__flush_log (job, true);
}

/*  Appends bytes to the job's log buffer, sending it whenever it fills. */
static void
s_stream (bf_worker__job_t *job, const char *data, size_t len)
{
    while (len > 0) {
        size_t room = BF_WORKER__LOG_FLUSH_BYTES * 2 - job->loglen;
        if (room == 0) {
            bf_worker__flush_log (job, true);
            continue;
        }
        size_t n = len < room ? len : room;
        memcpy (job->logbuf + job->loglen, data, n);
        job->loglen += n;
        data += n;
        len -= n;
    }
}

void
bf_worker__on_line (void *arg, const char *line)
{
    bf_worker__job_t *job = arg;
    size_t n = strlen (line);
    /* The stream is capped byte for byte like build.log: its first
       log_max bytes, the marker, then nothing (log_streamed past log_max). */
    if (job->log_max && job->log_streamed > job->log_max)
        return;
    if (job->log_max && job->log_streamed + n + 1 > job->log_max) {
        s_stream (job, line, (size_t) (job->log_max - job->log_streamed));
        char marker[BF_LOG_MARKER_MAX];
        s_stream (job, marker, bf_log_marker (marker, job->log_max));
        job->log_streamed = job->log_max + 1;
    }
    else {
        s_stream (job, line, n);
        s_stream (job, "\n", 1);
        job->log_streamed += n + 1;
    }
    bf_worker__flush_log (job, false);
}

/*  Adds a file from the job directory as a blob and its digest to body. */
void
bf_worker__attach (json_t *body, zmsg_t *blobs, const char *field, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    /* The tools own out/ (bf_sandbox_give): a symlink there must not make
       the worker send a host file.  The tools have ended by now (their
       PID namespace with them), so what lstat sees is what is read. */
    struct stat st;
    if (lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
        return;
    if (bf_file_read (&data, &len, path, BF_WORKER__RESULT_LOG_MAX) != BF_OK)
        return;
    char digest[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex (digest, data, len);
    json_object_set_new (body, field, json_string (digest));
    zmsg_addmem (blobs, data, len);
    free (data);
}

/*  The start of a job thread: its log buffer, then the signal zactor_new
    waits for.  Returns the job. */
bf_worker__job_t *
bf_worker__actor_begin (zsock_t *pipe, void *args)
{
    bf_worker__job_t *job = args;
    job->pipe = pipe;
    job->logbuf = xmalloc (BF_WORKER__LOG_FLUSH_BYTES * 2);
    job->log_flushed_at = bf_mono_ms ();
    zsock_signal (pipe, 0);
    return job;
}

/*  The end of a job thread: sends RESULT (body and blobs are taken) to
    the main loop, frees the log buffer, and waits for $TERM from
    zactor_destroy. */
void
bf_worker__actor_finish (bf_worker__job_t *job, zsock_t *pipe, json_t *body, zmsg_t *blobs)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "RESULT");
    char *text = json_dumps (body, JSON_COMPACT);
    zmsg_addstr (msg, text);
    free (text);
    json_decref (body);
    zframe_t *f;
    while ((f = zmsg_pop (blobs)))
        zmsg_append (msg, &f);
    zmsg_destroy (&blobs);
    zmsg_send (&msg, pipe);
    free (job->logbuf);
    job->logbuf = NULL;
    for (;;) {
        zmsg_t *cmd = zmsg_recv (pipe);
        if (!cmd)
            break;
        char *word = zmsg_popstr (cmd);
        zmsg_destroy (&cmd);
        bool term = word && strcmp (word, "$TERM") == 0;
        free (word);
        if (term)
            break;
    }
}

void
bf_worker__build_actor (zsock_t *pipe, void *args)
{
    bf_worker__job_t *job = bf_worker__actor_begin (pipe, args);

    bf_flow_hooks_t hooks = { .on_stage = bf_worker__on_stage, .on_line = bf_worker__on_line,
                              .arg = job, .cancel = &job->cancel, .timeout_ms = job->timeout_ms,
                              .sandbox = job->sandbox, .toolchain = job->toolchain,
                              .log_max = job->log_max };
    bf_flow_result_t res;
    if (bf_flow_run (&res, job->job_dir, &job->manifest, &hooks) != BF_OK) {
        memset (&res, 0, sizeof res);
        snprintf (res.failure_class, sizeof res.failure_class, "infrastructure");
        snprintf (res.error, sizeof res.error, "%s", bf_error_last ());
    }
    bf_worker__flush_log (job, true);

    json_t *body = json_pack ("{s:s, s:s, s:s, s:s}", "job", job->id, "cache_key",
                              job->cache_key, "outcome", res.ok ? "succeeded" : "failed",
                              "stage", res.stage[0] ? res.stage : "setup");
    zmsg_t *blobs = zmsg_new ();
    if (res.ok) {
        char *p = xasprintf ("%s/out/top.bin", job->job_dir);
        bf_worker__attach (body, blobs, "bitstream", p);
        free (p);
        p = xasprintf ("%s/out/report.json", job->job_dir);
        bf_worker__attach (body, blobs, "report", p);
        free (p);
    }
    else {
        json_object_set_new (body, "failure_class", json_string (res.failure_class));
        json_object_set_new (body, "error", json_string (res.error));
    }
    char *p = xasprintf ("%s/build.log", job->job_dir);
    bf_worker__attach (body, blobs, "log", p);
    free (p);
    bf_worker__actor_finish (job, pipe, body, blobs);
}

/*  bf_http_api - the routes of the HTTP API (docs/http.md): each is one
    client command asked of the broker loop (bf_http_ask), whose reply
    body is the response, so the JSON equals the ZeroMQ replies'; the live
    log is Server-Sent Events over repeated LOGS requests. */
#include "bf_http_int.h"
#include "../common/bf_error.h"
#include "../common/bf_job.h"
#include "../common/bf_util.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_QUERY_MAX 16          /* query arguments one request may have */

/*  Counts the query arguments and checks each value's length. */
static enum MHD_Result
s_count_arg (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void) kind;
    int *bad = cls;
    if (++bad[0] > S_QUERY_MAX || strlen (key) > 32
        || (value && strlen (value) > BF_HTTP_QUERY_MAX))
        bad[1] = 1;
    return MHD_YES;
}

static const char *
s_arg (struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, key);
    return v && *v ? v : NULL;
}

/*  Asks the loop and answers with its JSON body, or its error. */
static enum MHD_Result
s_ask_json (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who,
            const char *command, json_t *body)
{
    int status;
    bf_msg_t *reply = NULL;
    enum MHD_Result ret;
    if (bf_http_ask (self, who, command, body, &status, &reply) != BF_OK)
        ret = bf_http_error (c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", bf_error_last ());
    else
        ret = bf_http_json (c, (unsigned) status, reply->body);
    bf_msg_destroy (&reply);
    json_decref (body);
    return ret;
}

static void *
s_dup (zframe_t *f)
{
    if (!f || zframe_size (f) == 0)
        return NULL;
    void *p = xmalloc (zframe_size (f));
    memcpy (p, zframe_data (f), zframe_size (f));
    return p;
}

/*  Asks the loop for an object (a blob) and answers with it as `type`. */
static enum MHD_Result
s_ask_blob (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who,
            const char *command, json_t *body, const char *type, const char *filename_ext)
{
    int status;
    bf_msg_t *reply = NULL;
    enum MHD_Result ret;
    if (bf_http_ask (self, who, command, body, &status, &reply) != BF_OK)
        ret = bf_http_error (c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", bf_error_last ());
    else if (status != MHD_HTTP_OK)
        ret = bf_http_json (c, (unsigned) status, reply->body);
    else {
        zframe_t *f = zmsg_first (reply->blobs);
        struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback (
            f ? zframe_size (f) : 0, s_dup (f),
            free);
        MHD_add_response_header (r, "Content-Type", type);
        MHD_add_response_header (r, "Cache-Control", "no-store");
        MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
        const char *id = json_string_value (json_object_get (reply->body, "id"));
        if (filename_ext && id) {
            char disp[128];
            snprintf (disp, sizeof disp, "attachment; filename=\"%.32s%s\"", id, filename_ext);
            MHD_add_response_header (r, "Content-Disposition", disp);
        }
        const char *sha = json_string_value (json_object_get (reply->body, "sha256"));
        if (sha) {
            char etag[80];
            snprintf (etag, sizeof etag, "\"%.64s\"", sha);
            MHD_add_response_header (r, "ETag", etag);
        }
        ret = MHD_queue_response (c, MHD_HTTP_OK, r);
        MHD_destroy_response (r);
    }
    bf_msg_destroy (&reply);
    json_decref (body);
    return ret;
}

/* ---------------------------------------------------------------------- */
/*  The live log: Server-Sent Events                                        */

typedef struct {
    bf_http_t *http;
    bf_http_who_t who;
    char id[BF_JOB_ID_LEN + 1];
    int64_t offset;             /* of the log, sent or held in line */
    char *buf;                  /* events ready to send: buf[pos..len) */
    size_t len, pos, cap;
    char *line;                 /* an unfinished last line of the log */
    size_t line_len;
    bool ended;
    int64_t sent_at;            /* monotonic ms of the last bytes queued */
} s_sse_t;

static void
s_put (s_sse_t *s, const char *data, size_t n)
{
    if (s->pos > 0 && s->pos == s->len)
        s->pos = s->len = 0;
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->buf = xrealloc (s->buf, s->cap);
    }
    memcpy (s->buf + s->len, data, n);
    s->len += n;
    s->sent_at = bf_mono_ms ();
}

/*  One event whose data is a JSON object (e, taken), ending the stream. */
static void
s_put_final (s_sse_t *s, const char *event, json_t *e)
{
    char *text = json_dumps (e, JSON_COMPACT);
    s_put (s, "event: ", 7);
    s_put (s, event, strlen (event));
    s_put (s, "\ndata: ", 7);
    s_put (s, text, strlen (text));
    s_put (s, "\n\n", 2);
    free (text);
    json_decref (e);
    s->ended = true;
}

/*  One "data:" line; a carriage return would end an SSE line: dropped. */
static void
s_put_data (s_sse_t *s, const char *line, size_t n)
{
    s_put (s, "data: ", 6);
    for (size_t i = 0; i < n; i++)
        if (line[i] != '\r')
            s_put (s, line + i, 1);
    s_put (s, "\n", 1);
}

/*  New log text: whole lines become one "log" event; the rest waits. */
static void
s_add_log (s_sse_t *s, const char *data, size_t n, bool flush)
{
    s->line = xrealloc (s->line, s->line_len + n + 1);
    memcpy (s->line + s->line_len, data, n);
    s->line_len += n;
    size_t start = 0, emitted = 0;
    for (size_t i = 0; i < s->line_len; i++)
        if (s->line[i] == '\n') {
            if (emitted++ == 0)
                s_put (s, "event: log\n", 11);
            s_put_data (s, s->line + start, i - start);
            start = i + 1;
        }
    if (flush && start < s->line_len) {
        if (emitted++ == 0)
            s_put (s, "event: log\n", 11);
        s_put_data (s, s->line + start, s->line_len - start);
        start = s->line_len;
    }
    if (emitted)
        s_put (s, "\n", 1);
    memmove (s->line, s->line + start, s->line_len - start);
    s->line_len -= start;
}

/*  One LOGS request: new text, and the end once the job is final. */
static void
s_sse_poll (s_sse_t *s)
{
    int status;
    bf_msg_t *reply = NULL;
    json_t *body = json_pack ("{s:s, s:I}", "id", s->id, "offset", (json_int_t) s->offset);
    int rc = bf_http_ask (s->http, &s->who, "LOGS", body, &status, &reply);
    json_decref (body);
    if (rc != BF_OK || status != MHD_HTTP_OK) {
        s_put_final (s, "error", json_pack ("{s:s}", "error", rc != BF_OK ? bf_error_last ()
                     : json_string_value (json_object_get (reply->body, "error"))));
        bf_msg_destroy (&reply);
        return;
    }
    zframe_t *f = zmsg_first (reply->blobs);
    bool final = json_is_true (json_object_get (reply->body, "final"));
    if (f && zframe_size (f) > 0) {
        s_add_log (s, (const char *) zframe_data (f), zframe_size (f), final);
        s->offset += (int64_t) zframe_size (f);
    }
    else if (final)
        s_add_log (s, "", 0, true);
    if (final)
        s_put_final (s, "end", json_pack ("{s:O}", "state", json_object_get (reply->body, "state")));
    bf_msg_destroy (&reply);
}

static ssize_t
s_sse_read (void *cls, uint64_t pos, char *out, size_t max)
{
    (void) pos;
    s_sse_t *s = cls;
    bool first = s->sent_at == 0;
    while (s->pos == s->len) {
        if (s->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (atomic_load (&s->http->stopping))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (!first) {
            struct timespec ts = { 0, BF_HTTP_SSE_POLL_MS * 1000000L };
            nanosleep (&ts, NULL);
        }
        first = false;
        s_sse_poll (s);
        if (s->pos == s->len && bf_mono_ms () - s->sent_at >= BF_HTTP_SSE_KEEPALIVE_MS)
            s_put (s, ": keepalive\n\n", 13);
    }
    size_t n = s->len - s->pos < max ? s->len - s->pos : max;
    memcpy (out, s->buf + s->pos, n);
    s->pos += n;
    return (ssize_t) n;
}

static void
s_sse_free (void *cls)
{
    s_sse_t *s = cls;
    free (s->buf);
    free (s->line);
    free (s);
}

static enum MHD_Result
s_log_stream (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who,
              const char *id)
{
    /* Refuse an unknown or hidden job with its status before the stream starts. */
    int status;
    bf_msg_t *reply = NULL;
    json_t *body = json_pack ("{s:s, s:I}", "id", id, "offset", (json_int_t) INT64_MAX / 2);
    int rc = bf_http_ask (self, who, "LOGS", body, &status, &reply);
    json_decref (body);
    enum MHD_Result ret;
    if (rc != BF_OK)
        ret = bf_http_error (c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", bf_error_last ());
    else if (status != MHD_HTTP_OK)
        ret = bf_http_json (c, (unsigned) status, reply->body);
    else {
        s_sse_t *s = xcalloc (1, sizeof *s);
        s->http = self;
        s->who = *who;
        snprintf (s->id, sizeof s->id, "%s",
                  json_string_value (json_object_get (reply->body, "id")));
        struct MHD_Response *r = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16384,
                                                                    s_sse_read, s, s_sse_free);
        MHD_add_response_header (r, "Content-Type", "text/event-stream");
        MHD_add_response_header (r, "Cache-Control", "no-store");
        MHD_add_response_header (r, "X-Accel-Buffering", "no");
        ret = MHD_queue_response (c, MHD_HTTP_OK, r);
        MHD_destroy_response (r);
    }
    bf_msg_destroy (&reply);
    return ret;
}

/* ---------------------------------------------------------------------- */
/*  Routes                                                                  */

static bool
s_is (const char *text, const char *chars, size_t min, size_t max)
{
    size_t n = strlen (text);
    return n >= min && n <= max && strspn (text, chars) == n;
}

#define S_HEX "0123456789abcdef"
#define S_PRINTABLE \
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`" \
    "abcdefghijklmnopqrstuvwxyz{|}~"

static enum MHD_Result
s_jobs (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who)
{
    const char *state = s_arg (c, "state"), *owner = s_arg (c, "owner"),
               *tag = s_arg (c, "tag"), *repo = s_arg (c, "repo"), *rev = s_arg (c, "rev"),
               *limit = s_arg (c, "limit");
    bf_job_state_t st;
    if (state && !bf_job_state_parse (&st, state))
        return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "bad state '%.32s' (want queued, "
                              "running, succeeded, failed, cancelled or timed_out)", state);
    if (owner && !s_is (owner, S_PRINTABLE, 1, 128))
        return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "bad owner '%.64s'", owner);
    if (tag && !s_is (tag, "abcdefghijklmnopqrstuvwxyz0123456789_.-", 1, BF_TAG_MAX))
        return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "bad tag '%.64s' (want 1 to %d of "
                              "a-z0-9_.-)", tag, BF_TAG_MAX);
    if (repo && !s_is (repo, S_PRINTABLE, 1, BF_HTTP_QUERY_MAX))
        return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "bad repo '%.64s'", repo);
    if (rev && !s_is (rev, S_HEX, 4, 64))
        return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "bad rev '%.64s' (want 4 to 64 "
                              "lowercase hex characters of a commit id)", rev);
    long n = 100;
    if (limit) {
        char *end = NULL;
        n = strtol (limit, &end, 10);
        if (!s_is (limit, "0123456789", 1, 5) || n < 1 || n > 10000)
            return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "bad limit '%.32s' (want "
                                  "1..10000)", limit);
    }
    json_t *body = json_pack ("{s:i, s:s*, s:s*, s:s*, s:s*, s:s*}", "limit", (int) n,
                              "state", state, "owner", owner, "tag", tag, "repo", repo,
                              "commit", rev);
    return s_ask_json (self, c, who, "JOBS", body);
}

/*  A route's handler: id is the {id} segment (checked), or NULL. */
typedef enum MHD_Result (s_route_fn) (bf_http_t *self, struct MHD_Connection *c,
                                      const bf_http_who_t *who, const char *id);

static enum MHD_Result
s_job (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who, const char *id)
{
    return s_ask_json (self, c, who, "STATUS", json_pack ("{s:s, s:b}", "id", id, "events", 1));
}

static enum MHD_Result
s_job_log (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who, const char *id)
{
    const char *accept = MHD_lookup_connection_value (c, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_ACCEPT);
    if (accept && strstr (accept, "text/event-stream"))
        return s_log_stream (self, c, who, id);
    return s_ask_blob (self, c, who, "LOGS", json_pack ("{s:s}", "id", id),
                       "text/plain; charset=utf-8", NULL);
}

static enum MHD_Result
s_job_bitstream (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who,
                 const char *id)
{
    return s_ask_blob (self, c, who, "FETCH", json_pack ("{s:s, s:s}", "id", id, "what",
                                                         "bitstream"),
                       "application/octet-stream", ".bin");
}

static enum MHD_Result
s_job_report (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who,
              const char *id)
{
    return s_ask_blob (self, c, who, "FETCH", json_pack ("{s:s, s:s}", "id", id, "what",
                                                         "report"),
                       "application/json", NULL);
}

#define S_SIMPLE(fn, command)                                                              \
    static enum MHD_Result fn (bf_http_t *self, struct MHD_Connection *c,                  \
                               const bf_http_who_t *who, const char *id)                   \
    {                                                                                      \
        (void) id;                                                                         \
        return s_ask_json (self, c, who, command, json_object ());                         \
    }
S_SIMPLE (s_workers, "WORKERS")
S_SIMPLE (s_boards, "BOARDS")
S_SIMPLE (s_cache_stats, "CACHESTATS")
S_SIMPLE (s_farm, "FARM")

static enum MHD_Result
s_metrics (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who, const char *id)
{
    (void) id;
    return s_ask_blob (self, c, who, "METRICS", json_object (),
                       "text/plain; version=0.0.4; charset=utf-8", NULL);
}

static enum MHD_Result
s_jobs_route (bf_http_t *self, struct MHD_Connection *c, const bf_http_who_t *who,
              const char *id)
{
    (void) id;
    return s_jobs (self, c, who);
}

/*  Every route, as docs/openapi.json names it (t0036 checks that the two
    agree).  "{id}" stands for one path segment: a job id or prefix. */
static const struct {
    const char *path;
    s_route_fn *fn;
} s_routes[] = {
    { "/api/v1/jobs", s_jobs_route },
    { "/api/v1/jobs/{id}", s_job },
    { "/api/v1/jobs/{id}/log", s_job_log },
    { "/api/v1/jobs/{id}/bitstream", s_job_bitstream },
    { "/api/v1/jobs/{id}/report", s_job_report },
    { "/api/v1/workers", s_workers },
    { "/api/v1/boards", s_boards },
    { "/api/v1/cache/stats", s_cache_stats },
    { "/api/v1/farm", s_farm },
    { "/metrics", s_metrics },
};

/*  Does path match template t; *id_out gets the {id} segment (in idbuf). */
static bool
s_match (const char *t, const char *path, char *idbuf, size_t idcap, const char **id_out)
{
    *id_out = NULL;
    while (*t && *path) {
        if (strncmp (t, "{id}", 4) == 0) {
            size_t n = strcspn (path, "/");
            if (n == 0)
                return false;
            snprintf (idbuf, idcap, "%.*s", (int) (n < idcap ? n : idcap - 1), path);
            if (n >= idcap)
                idbuf[0] = 'x';         /* too long: a bad id, said by the caller */
            *id_out = idbuf;
            t += 4;
            path += n;
            continue;
        }
        if (*t != *path)
            return false;
        t++;
        path++;
    }
    return !*t && !*path;
}

enum MHD_Result
bf_http_api (bf_http_t *self, struct MHD_Connection *c, const char *path,
             const bf_http_who_t *who)
{
    int bad[2] = { 0, 0 };
    MHD_get_connection_values (c, MHD_GET_ARGUMENT_KIND, s_count_arg, bad);
    if (bad[1])
        return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "too many or too long query "
                              "arguments (at most %d, values of at most %d bytes)",
                              S_QUERY_MAX, BF_HTTP_QUERY_MAX);
    char idbuf[BF_JOB_ID_LEN + 2];
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        const char *id;
        if (!s_match (s_routes[i].path, path, idbuf, sizeof idbuf, &id))
            continue;
        if (id && !s_is (id, S_HEX, 4, BF_JOB_ID_LEN))
            return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "bad job id '%.40s' (want 4 to 32 "
                                  "lowercase hex characters)", id);
        return s_routes[i].fn (self, c, who, id);
    }
    return bf_http_error (c, MHD_HTTP_NOT_FOUND, "no such route '%.200s'", path);
}

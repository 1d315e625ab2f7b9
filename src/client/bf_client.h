/*  bf_client - the C client library: talks to a broker over ZeroMQ
    (docs/protocol.md, client commands).

    Each request waits at most the client's timeout for the answer; a
    broker that is not there gives BF_ETIMEDOUT with a one-line detail
    instead of hanging.  Errors the broker reports come back as BF_ERROR
    with the broker's message as the detail (bf_error_last).
    Thread-safety: a bf_client_t belongs to one thread.
*/
#ifndef BF_CLIENT_H_INCLUDED
#define BF_CLIENT_H_INCLUDED

#include <jansson.h>
#include <stdint.h>
#include "bf_design.h"
#include "../common/bf_proto.h"

typedef struct _bf_client_t bf_client_t;

/*  Connects to endpoint (nothing is sent yet).  timeout_ms bounds each
    request.  BF_OK or BF_EINVAL for an endpoint ZeroMQ rejects. */
int bf_client_new (bf_client_t **out, const char *endpoint, int timeout_ms);
void bf_client_destroy (bf_client_t **self_p);

/*  Talks CURVE to the broker from now on: cert_path is this client's
    secret key (NAME.key_secret from `bitfarm keygen --role client`),
    broker_key_path the broker's public key (its NAME.key).  Reconnects.
    A broker that refuses the key makes requests fail with BF_EACCES and a
    detail saying so, instead of timing out.  BF_OK, or BF_EINVAL with a
    detail naming the file. */
int bf_client_curve (bf_client_t *self, const char *cert_path, const char *broker_key_path);

/*  Sends one request and waits for its reply.  body is borrowed; *blobs_p
    (may be NULL) is taken.  On BF_OK, *reply is a decoded "OK" or "NEED"
    message (caller destroys it).  An "ERROR" reply gives BF_ERROR with the
    broker's text; no reply within the timeout gives BF_ETIMEDOUT; a CURVE
    handshake the broker refused gives BF_EACCES. */
int bf_client_request (bf_client_t *self, bf_msg_t **reply, const char *command, json_t *body,
                       zmsg_t **blobs_p);

/*  Sets the time each request may wait for its answer (ms, > 0; 0 or
    less changes nothing) and returns the previous one. */
int bf_client_timeout (bf_client_t *self, int timeout_ms);

/*  The "class" of the last request's ERROR reply ("usage", "design",
    "infrastructure": register requests, bf_regio.h), or NULL when it had
    none or the request did not end in ERROR.  Borrowed from self. */
const char *bf_client_error_class (const bf_client_t *self);

/*  How a job is to be run; none of it is part of the manifest (the
    toolchain is part of the cache key: the key is the building toolchain's). */
typedef struct {
    int priority;                /* -1000..1000, higher first; 0 default */
    int64_t timeout_ms;          /* wall-clock limit of an attempt; 0: the broker's default */
    const char *const *tags;     /* worker tags required; NULL-terminated, or NULL */
    const char *program_board;   /* submit: program this board after the build; NULL = no */
    const char *token;           /* reservation token (bitfarm reserve) for the board, or NULL */
    const char *toolchain;       /* build only on this toolchain (an identity prefix of 8 to
                                    64 hex characters), or NULL: the broker chooses */
    json_t *provenance;          /* where the design came from (bf_git_provenance), sent as
                                    SUBMIT's "provenance" (not part of the key); borrowed, or NULL */
} bf_submit_opts_t;

/*  Submits a design: sends its manifest (over CURVE with a proof that
    this key holds each input, docs/protocol.md), uploads only the inputs
    the broker lacks or asks to be shown, and returns the job (a new JSON
    object, as `status --json`) in *job.  opts may be NULL (defaults).  *uploaded (may be
    NULL) receives the number of bytes uploaded. */
int bf_client_submit (bf_client_t *self, json_t **job, const bf_design_t *design,
                      const bf_submit_opts_t *opts, uint64_t *uploaded);

/*  Creates a program job that loads a bitstream into `board`: `source` is
    a path to a .bin file (uploaded when the broker lacks it), or else a
    finished build's job id or a cache key (full or unique prefix).  opts
    gives priority, timeout_ms and token (program_board and tags are
    ignored); may be NULL.  *job receives the new job (a new JSON object).
    BF_OK, or an error with a detail (the broker's message). */
int bf_client_program (bf_client_t *self, json_t **job, const char *board, const char *source,
                       const bf_submit_opts_t *opts);

/*  Fetches a job's "bitstream", "report" or "log" into a heap buffer
    (caller frees *data).  BF_OK or an error with a detail. */
int bf_client_fetch (bf_client_t *self, char **data, size_t *len, const char *id,
                     const char *what);

/*  The job's status (a new JSON object) for a full id or unique prefix;
    with events, its "events" history too. */
int bf_client_status (bf_client_t *self, json_t **job, const char *id, bool events);

/*  STATUS with a body of the caller's making ({"id", "events", and
    optionally "wait_ms" and "seen": docs/protocol.md 5.3), which it takes
    over.  *job as bf_client_status's; the same return codes. */
int bf_client_status_body (bf_client_t *self, json_t **job, json_t *body);

/*  A reservation's "by" label into out (size bytes): by itself when
    given, else "USER@HOST" followed by " (note)" when note is given. */
void bf_client_by_label (char *out, size_t size, const char *by, const char *note);

/*  The broker to use: given when it is not NULL or "", else
    $BITFARM_BROKER, else the per-user local farm, started if need be
    (bf_localfarm_ensure).  A new string in *out (caller frees).  BF_OK, or
    the local farm's BF_EIO with its one-line detail. */
int bf_client_endpoint (char **out, const char *given);

/*  True when a job (a status object) has ended: any state but "queued"
    and "running". */
bool bf_client_job_final (json_t *job);

/*  What bf_client_wait tells its callback. */
enum {
    BF_WAIT_CHANGED = 1,   /* the state, stage, worker, attempt or waiting_for changed */
    BF_WAIT_SILENT,        /* the broker stopped answering (once per silence); job NULL */
    BF_WAIT_FINAL,         /* the job ended (then bf_client_wait returns) */
};
/*  Returns true to stop the wait (bf_client_wait then gives BF_ETIMEDOUT
    with the last status). */
typedef bool (bf_client_wait_fn) (void *arg, json_t *job, int event);

/*  Asks for the job's status until it ends, or timeout_ms passes (0: no
    limit): after the first answer, each question is held by the broker
    until the job changes (STATUS with wait_ms, docs/protocol.md 5.3); a
    broker that answers at once is polled (20 ms, doubling to 250 ms).  fn (may be NULL) sees each change,
    and may stop the wait.
    A broker that stops answering is asked again for up to 60 s.  BF_OK
    with the final status in *final (the caller's); BF_ETIMEDOUT with the
    last status in *final when timeout_ms passed; else the request's error
    (*final NULL). */
int bf_client_wait (bf_client_t *self, json_t **final, const char *id, int64_t timeout_ms,
                    bf_client_wait_fn *fn, void *arg);

#endif

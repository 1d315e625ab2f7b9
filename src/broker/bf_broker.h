/*  bf_broker - the broker: one ROUTER socket that clients and workers
    talk to (docs/protocol.md), the durable job table (bf_jobs) and the
    bitstream cache (bf_cache) under one state directory:
        STATE/jobs.db        jobs and known toolchains
        STATE/cache/         the farm's cache (bf_cache.h)
        STATE/logs/ID.log    live logs of jobs (0600, capped at job_log_max),
                             removed with the job (keep_jobs)
        STATE/broker.lock    held while a broker serves this state (one
                             broker per state directory)
    With --http, an HTTP server (bf_http.h) answers the JSON API, metrics
    and the dashboard from threads of its own, which never touch the
    state: they ask this loop over an inproc socket (bf_broker_http.c),
    which answers with the same command handlers and tenancy rules as
    for ZeroMQ clients, a bearer token standing for the CURVE key.
    bf_broker_run polls the socket and does all job and request work on the
    calling thread; the cache's LRU eviction runs in a janitor thread of its
    own (bf_janitor.h), never on the request path.
*/
#ifndef BF_BROKER_H_INCLUDED
#define BF_BROKER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "../cache/bf_cache.h"

typedef struct {
    const char *listen;          /* ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:5555 */
    const char *state_dir;       /* created if missing */
    int heartbeat_ms;            /* heartbeat interval; default 1000 */
    int liveness;                /* heartbeats missed before a worker is lost; default 3.
                                    A lease lasts heartbeat_ms * liveness. */
    int64_t job_timeout_ms;      /* default wall-clock limit of a job; default 3600000 */
    int64_t job_timeout_max_ms;  /* the most a submit may ask for; default 86400000 */
    int max_attempts;            /* attempts before an infrastructure failure is final; 3 */
    int64_t retry_backoff_ms;    /* first retry back-off, doubled per attempt, with
                                    jitter, at most 60 s; default 1000 */
    bf_cache_opts_t cache;       /* the cache's size cap (0 = none) and network-fs override */
    const char *cache_salt;      /* mixed into every cache key (bf_key.h); NULL = none */
    int board_failures;          /* infrastructure failures in a row that put a board in
                                    "error"; default 3 */
    int64_t program_timeout_ms;  /* default wall-clock limit of a program job; 120000 */
    int64_t upload_quota;        /* bytes a client may have asked for or uploaded but not
                                    yet used by a job (bf_uploads.h); default 256 MiB */
    int64_t upload_grace_ms;     /* how long such a record lives; default 1 h */
    uint64_t job_log_max;        /* cap on a job's log as the broker keeps it (LOG
                                    stream and RESULT log), bytes; 0: 16 MiB */
    int64_t job_history_ms;      /* finished jobs older than this are removed with
                                    their events and live logs; 0: 30 days */
    const char *keep_jobs;       /* which finished jobs are kept, as --keep-jobs takes it
                                    (bf_jobs_keep_parse: "30d", "100000", "all"); NULL:
                                    those that finished within job_history_ms */
    /* CURVE (bf_auth.h): both set, or neither (plain). */
    const char *cert_path;       /* the broker's secret certificate, NAME.key_secret */
    const char *keys_dir;        /* allow-lists: KEYS/workers, KEYS/clients, KEYS/admins */
    bool insecure;               /* allow plain on a non-loopback tcp endpoint (and plain
                                    HTTP on a non-loopback --http address) */
    /* The HTTP API (bf_http.h, docs/http.md); http_addr NULL: off. */
    const char *http_addr;       /* ADDR:PORT */
    bool http_port_fallback;     /* the port is taken: any free one */
    const char *http_root;       /* static files; NULL: bf_datadir()/dashboard */
    const char *http_cert;       /* TLS: PEM certificate and key */
    const char *http_key;
    bool http_require_token;     /* a token even on loopback */
    bool metrics_public;         /* /metrics without a token */
    const char *http_url_file;   /* the URL served is written there (the local farm) */
} bf_broker_config_t;

typedef struct _bf_broker_t bf_broker_t;

/*  Opens the state and binds the endpoint.  Without CURVE, a tcp endpoint
    that is not loopback (bf_endpoint_is_local) is refused (BF_EACCES)
    unless config->insecure.  With CURVE, zauth is running before the bind.
    BF_OK with *out set, or BF_EIO / BF_EINVAL / BF_EACCES with a detail
    (bf_error_last). */
int bf_broker_new (bf_broker_t **out, const bf_broker_config_t *config);

/*  Serves until SIGINT/SIGTERM (zsys_interrupted).  Returns BF_OK. */
int bf_broker_run (bf_broker_t *self);

/*  The URL the HTTP API is served at ("http://127.0.0.1:8080"), or NULL
    without --http. */
const char *bf_broker_http_url (bf_broker_t *self);

/*  The endpoint actually bound (useful with tcp://127.0.0.1:*). */
const char *bf_broker_endpoint (bf_broker_t *self);

void bf_broker_destroy (bf_broker_t **self_p);

#endif

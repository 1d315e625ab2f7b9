/*  bf_http - the broker's HTTP server (libmicrohttpd): the JSON API under
    /api/v1/, Prometheus metrics at /metrics and the dashboard's static
    files at /.  See docs/http.md (the routes, access, limits) and
    docs/openapi.json.

    Threading.  The broker is one thread over its state (bf_broker.h);
    libmicrohttpd runs a listening thread and one thread per connection
    (at most BF_HTTP_CONNECTIONS).  Those threads never touch the broker's
    state: each API request is turned into a client command (BFC01: JOBS,
    STATUS, LOGS, FETCH, WORKERS, BOARDS, CACHESTATS, and the internal
    FARM and METRICS) and sent, on a DEALER socket of its own, to an
    inproc ROUTER the broker loop polls beside its public socket
    (bf_broker_http.c).  The frame before the command says who asks: the
    SHA-256 of the bearer token, or "anonymous" (loopback without
    --http-require-token, or /metrics with --metrics-public).  The loop
    resolves the token to a key and a role, sets them as the peer (as
    CURVE does for a ZeroMQ peer) and runs the same command handlers and
    tenancy rules (bf_broker_tenants.c) as for ZeroMQ clients; its reply
    starts with the HTTP status.  A request is one short command, so the
    loop stays as responsive as with a ZeroMQ client; a live log (SSE) is
    a LOGS request every BF_HTTP_SSE_POLL_MS.  Static files are read by the
    connection's thread from the root directory only.

    Thread-safety: bf_http_new and bf_http_destroy on the broker thread;
    the rest of the module runs in libmicrohttpd's threads.
*/
#ifndef BF_HTTP_H_INCLUDED
#define BF_HTTP_H_INCLUDED

#include <stdbool.h>

typedef struct {
    const char *addr;           /* ADDR:PORT: an IPv4 address (or "localhost"); PORT 0 ephemeral */
    bool port_fallback;         /* PORT is taken: take an ephemeral one (the local farm) */
    const char *root;           /* static files (the dashboard); NULL: none */
    const char *cert_path;      /* TLS: PEM certificate (chain) and key, both or neither */
    const char *key_path;
    bool require_token;         /* a token even on loopback */
    bool metrics_public;        /* /metrics without a token */
    bool insecure;              /* plain HTTP on a non-loopback address */
    const char *broker_ep;      /* the broker loop's inproc endpoint */
} bf_http_config_t;

typedef struct _bf_http_t bf_http_t;

/*  Starts the server.  Plain HTTP on an address that is not loopback is
    refused (BF_EACCES, one line naming the address) unless insecure; a
    non-loopback address always needs a token.  BF_OK with *out set, or
    BF_EINVAL (a bad address, an unreadable certificate, TLS not built
    in), BF_EACCES or BF_EIO (cannot listen), with a detail. */
int bf_http_new (bf_http_t **out, const bf_http_config_t *config);

/*  The base URL actually served, e.g. "http://127.0.0.1:8080" (borrowed). */
const char *bf_http_url (bf_http_t *self);

/*  Stops accepting, ends live streams and joins the threads.  Must be
    called while the broker loop no longer answers (requests in flight
    then time out within BF_HTTP_STOP_MS). */
void bf_http_destroy (bf_http_t **self_p);

#endif

/*  bf_http_int - private declarations of the HTTP server, shared by
        bf_http.c      the server: start, limits, access, static files
        bf_http_api.c  the /api/v1 and /metrics routes, the live log (SSE)
    Not a public interface.  Everything here runs in libmicrohttpd's
    threads (bf_http.h). */
#ifndef BF_HTTP_INT_H_INCLUDED
#define BF_HTTP_INT_H_INCLUDED

#include "bf_http.h"
#include "../common/bf_proto.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>

#define BF_HTTP_CONNECTIONS  64          /* connections at once (MHD_OPTION_CONNECTION_LIMIT) */
#define BF_HTTP_PER_IP       32          /* ... from one address */
#define BF_HTTP_TIMEOUT_S    30          /* an idle connection is closed after this */
#define BF_HTTP_MEMORY       (32 * 1024) /* per connection: request line and headers fit in it */
#define BF_HTTP_URL_MAX      1024        /* bytes of a path */
#define BF_HTTP_QUERY_MAX    512         /* bytes of one query value */
#define BF_HTTP_FILE_MAX     (16 << 20)  /* a static file */
#define BF_HTTP_ASK_MS       10000       /* how long a request waits for the broker loop */
#define BF_HTTP_STOP_MS      200         /* waits are sliced so that a stop ends them */
#define BF_HTTP_SSE_POLL_MS  500         /* a live log asks the broker this often */
#define BF_HTTP_SSE_KEEPALIVE_MS 15000   /* a comment line when nothing else was sent */

struct _bf_http_t {
    bf_http_config_t cfg;
    char *broker_ep;
    char *root;                 /* realpath of cfg.root; NULL: no static files */
    char *url;
    char *cert, *key;           /* PEM contents (TLS) */
    bool loopback;
    struct MHD_Daemon *daemon;
    atomic_bool stopping;
};

/*  Who asks: the SHA-256 (hex) of the bearer token, or anonymous. */
typedef struct {
    char token_sha256[65];      /* "" anonymous */
} bf_http_who_t;

/*  Sends a client command (body borrowed) to the broker loop as `who` and
    waits for its answer: BF_OK with *status_out (the HTTP status the loop
    chose: 200, or 400/401/403/404 with {"error"} in the reply's body) and
    *reply_out (a new message: free it with bf_msg_destroy); BF_ETIMEDOUT
    or BF_EIO when the loop does not answer. */
int bf_http_ask (bf_http_t *self, const bf_http_who_t *who, const char *command, json_t *body,
                 int *status_out, bf_msg_t **reply_out);

/*  Queues a JSON response (body borrowed), with no-store caching. */
enum MHD_Result bf_http_json (struct MHD_Connection *c, unsigned status, json_t *body);

/*  Queues {"error": text} (printf-formatted, one line). */
enum MHD_Result bf_http_error (struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  The routes of bf_http_api.c: path starts with "/api/" or is "/metrics".
    The caller has checked the method (GET or HEAD) and who may ask. */
enum MHD_Result bf_http_api (bf_http_t *self, struct MHD_Connection *c, const char *path,
                             const bf_http_who_t *who);

#endif

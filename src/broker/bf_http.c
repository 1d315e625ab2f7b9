/*  bf_http - the broker's HTTP server: start-up, limits, who asks, the
    broker loop over inproc, and the dashboard's static files.  The API's
    routes are bf_http_api.c.  See bf_http.h and docs/http.md. */
#include "bf_http_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"
#include "bf_tokens.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum MHD_Result
bf_http_json (struct MHD_Connection *c, unsigned status, json_t *body)
{
    char *text = json_dumps (body, JSON_COMPACT);
    if (!text)
        text = xstrdup ("{\"error\": \"cannot encode the answer\"}");
    size_t len = strlen (text);
    text = xrealloc (text, len + 2);
    text[len++] = '\n';
    struct MHD_Response *r = MHD_create_response_from_buffer (len, text,
                                                              MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header (r, "Content-Type", "application/json");
    MHD_add_response_header (r, "Cache-Control", "no-store");
    MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header (r, "WWW-Authenticate", "Bearer realm=\"bitfarm\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header (r, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response (c, status, r);
    MHD_destroy_response (r);
    return ret;
}

enum MHD_Result
bf_http_error (struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    for (char *p = text; *p; p++)       /* one line of printable text */
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = ' ';
    json_t *body = json_pack ("{s:s}", "error", text);
    enum MHD_Result ret = bf_http_json (c, status, body);
    json_decref (body);
    return ret;
}

int
bf_http_ask (bf_http_t *self, const bf_http_who_t *who, const char *command, json_t *body,
             int *status_out, bf_msg_t **reply_out)
{
    *reply_out = NULL;
    *status_out = 500;
    zsock_t *s = zsock_new (ZMQ_DEALER);
    if (!s)
        return bf_error_set (BF_EIO, "cannot make a socket: %s", zmq_strerror (errno));
    zsock_set_linger (s, 0);
    zsock_set_sndtimeo (s, 1000);
    int rc = BF_OK;
    zmsg_t *msg = NULL;
    if (zsock_connect (s, "%s", self->broker_ep) < 0) {
        rc = bf_error_set (BF_EIO, "cannot reach the broker loop: %s", zmq_strerror (errno));
        goto out;
    }
    msg = bf_msg_encode (BF_PROTO_CLIENT, command, body, NULL);
    zmsg_pushstr (msg, who->token_sha256[0] ? who->token_sha256 : "anonymous");
    if (zmsg_send (&msg, s) != 0) {
        rc = bf_error_set (BF_EIO, "cannot ask the broker loop: %s", zmq_strerror (errno));
        goto out;
    }
    zpoller_t *poller = zpoller_new (s, NULL);
    int waited = 0;
    while (waited < BF_HTTP_ASK_MS && !atomic_load (&self->stopping)
           && !zpoller_wait (poller, BF_HTTP_STOP_MS))
        waited += BF_HTTP_STOP_MS;
    bool ready = !zpoller_expired (poller) && !zpoller_terminated (poller)
                 && waited < BF_HTTP_ASK_MS && !atomic_load (&self->stopping);
    zpoller_destroy (&poller);
    if (!ready) {
        rc = bf_error_set (BF_ETIMEDOUT, "the broker did not answer within %d ms",
                           BF_HTTP_ASK_MS);
        goto out;
    }
    msg = zmsg_recv (s);
    char *status = msg ? zmsg_popstr (msg) : NULL;
    if (!status || bf_msg_decode (reply_out, &msg) != BF_OK) {
        free (status);
        rc = bf_error_set (BF_EIO, "a malformed answer from the broker loop");
        goto out;
    }
    *status_out = atoi (status);
    free (status);
out:
    zmsg_destroy (&msg);
    zsock_destroy (&s);
    return rc;
}

/* ---------------------------------------------------------------------- */
/*  Static files                                                            */

static const struct { const char *ext, *type; } s_types[] = {
    { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" }, { ".json", "application/json" },
    { ".svg", "image/svg+xml" }, { ".png", "image/png" }, { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" }, { ".map", "application/json" },
    { ".woff2", "font/woff2" },
};

/*  A path we serve: segments of [A-Za-z0-9._-], none starting with a dot
    (no "..", no hidden files), no empty segment. */
static bool
s_safe_path (const char *path)
{
    if (path[0] != '/')
        return false;
    const char *seg = path + 1;
    if (!*seg)
        return true;
    for (;;) {
        size_t n = strspn (seg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789._-");
        if (n == 0 || seg[0] == '.')
            return false;
        if (seg[n] == '\0')
            return true;
        if (seg[n] != '/')
            return false;
        seg += n + 1;
        if (!*seg)
            return true;        /* a trailing slash: the directory's index.html */
    }
}

static enum MHD_Result
s_static (bf_http_t *self, struct MHD_Connection *c, const char *path)
{
    if (!self->root)
        return bf_http_error (c, MHD_HTTP_NOT_FOUND, "no such page '%.200s'", path);
    if (!s_safe_path (path))
        return bf_http_error (c, MHD_HTTP_BAD_REQUEST, "bad path '%.200s'", path);
    char *want = xasprintf ("%s%s%s", self->root, path,
                            path[strlen (path) - 1] == '/' ? "index.html" : "");
    char real[PATH_MAX];
    enum MHD_Result ret;
    struct stat st;
    int fd = -1;
    /* realpath resolves every symbolic link: the file must still be under the root. */
    size_t rlen = strlen (self->root);
    if (!realpath (want, real) || strncmp (real, self->root, rlen) != 0
        || (real[rlen] != '/' && real[rlen] != '\0')) {
        ret = bf_http_error (c, MHD_HTTP_NOT_FOUND, "no such page '%.200s'", path);
        goto out;
    }
    fd = open (real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && fstat (fd, &st) == 0 && S_ISDIR (st.st_mode)) {
        /* a directory without the slash: to its index */
        close (fd);
        fd = -1;
        char *loc = xasprintf ("%s/", path);
        struct MHD_Response *r = MHD_create_response_from_buffer (0, (void *) "",
                                                                  MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header (r, "Location", loc);
        ret = MHD_queue_response (c, MHD_HTTP_MOVED_PERMANENTLY, r);
        MHD_destroy_response (r);
        free (loc);
        goto out;
    }
    if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        ret = bf_http_error (c, MHD_HTTP_NOT_FOUND, "no such page '%.200s'", path);
        goto out;
    }
    if (st.st_size > BF_HTTP_FILE_MAX) {
        ret = bf_http_error (c, MHD_HTTP_INTERNAL_SERVER_ERROR, "file '%.200s' is too big",
                             path);
        goto out;
    }
    const char *type = "application/octet-stream";
    size_t n = strlen (real);
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++) {
        size_t e = strlen (s_types[i].ext);
        if (n > e && strcmp (real + n - e, s_types[i].ext) == 0)
            type = s_types[i].type;
    }
    struct MHD_Response *r = MHD_create_response_from_fd ((size_t) st.st_size, fd);
    fd = -1;    /* transferred */
    MHD_add_response_header (r, "Content-Type", type);
    /* The page itself is checked each time; its assets may be kept a while. */
    MHD_add_response_header (r, "Cache-Control", strstr (type, "text/html") ? "no-cache"
                                                  : "public, max-age=300");
    MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
    ret = MHD_queue_response (c, MHD_HTTP_OK, r);
    MHD_destroy_response (r);
out:
    if (fd >= 0)
        close (fd);
    free (want);
    return ret;
}

/* ---------------------------------------------------------------------- */
/*  Requests                                                                */

/*  Who asks, from the Authorization header: false (after queueing 401)
    when a token is needed and missing, or malformed. */
static bool
s_who (bf_http_t *self, struct MHD_Connection *c, const char *path, bf_http_who_t *who,
       enum MHD_Result *ret)
{
    who->token_sha256[0] = '\0';
    const char *auth = MHD_lookup_connection_value (c, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth) {
        const char *token = strncasecmp (auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
        if (!bf_tokens_is_token (token)) {
            *ret = bf_http_error (c, MHD_HTTP_UNAUTHORIZED, "malformed bearer token (want "
                                  "Authorization: Bearer bft_...)");
            return false;
        }
        bf_sha256_hex (who->token_sha256, token, strlen (token));
        return true;
    }
    bool anonymous = (self->loopback && !self->cfg.require_token)
                     || (self->cfg.metrics_public && strcmp (path, "/metrics") == 0);
    if (!anonymous) {
        *ret = bf_http_error (c, MHD_HTTP_UNAUTHORIZED, "a bearer token is required "
                              "(Authorization: Bearer TOKEN; see bitfarm token create)");
        return false;
    }
    return true;
}

static int s_body_marker;

static enum MHD_Result
s_request (void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **con_cls)
{
    (void) version;
    (void) upload_data;
    bf_http_t *self = cls;
    if (*con_cls == NULL) {
        *con_cls = &s_body_marker;      /* headers are in; the body (if any) comes next */
        return MHD_YES;
    }
    if (*upload_data_size != 0)
        return bf_http_error (c, MHD_HTTP_CONTENT_TOO_LARGE, "a request body is not accepted "
                              "(submit over ZeroMQ)");
    if (strcmp (method, MHD_HTTP_METHOD_GET) != 0 && strcmp (method, MHD_HTTP_METHOD_HEAD) != 0)
        return bf_http_error (c, MHD_HTTP_METHOD_NOT_ALLOWED, "method '%.16s' not allowed "
                              "(GET or HEAD only)", method);
    if (strlen (url) > BF_HTTP_URL_MAX)
        return bf_http_error (c, MHD_HTTP_URI_TOO_LONG, "path longer than %d bytes",
                              BF_HTTP_URL_MAX);
    bool api = strncmp (url, "/api/", 5) == 0 || strcmp (url, "/metrics") == 0;
    if (!api)
        return s_static (self, c, url);
    bf_http_who_t who;
    enum MHD_Result ret = MHD_NO;
    if (!s_who (self, c, url, &who, &ret))
        return ret;
    return bf_http_api (self, c, url, &who);
}

static void
s_mhd_log (void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char text[512], esc[600];
    vsnprintf (text, sizeof text, fmt, ap);
    size_t n = strlen (text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    bf_info ("http: %s", bf_log_escape (esc, sizeof esc, text));
}

static bool
s_is_loopback (const struct sockaddr_in *a)
{
    return (ntohl (a->sin_addr.s_addr) >> 24) == 127;
}

/*  ADDR:PORT into sa. */
static int
s_parse_addr (struct sockaddr_in *sa, const char *text)
{
    memset (sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    const char *colon = text ? strrchr (text, ':') : NULL;
    char host[64];
    char *end = NULL;
    long port = colon ? strtol (colon + 1, &end, 10) : -1;
    if (!colon || (size_t) (colon - text) >= sizeof host || colon == text || !end || *end
        || colon[1] == '\0' || port < 0 || port > 65535)
        return bf_error_set (BF_EINVAL, "invalid value '%.80s' for --http (want ADDR:PORT, "
                             "e.g. 127.0.0.1:8080; PORT 0: any free port)", text ? text : "");
    memcpy (host, text, (size_t) (colon - text));
    host[colon - text] = '\0';
    if (strcmp (host, "localhost") == 0)
        snprintf (host, sizeof host, "127.0.0.1");
    if (inet_pton (AF_INET, host, &sa->sin_addr) != 1)
        return bf_error_set (BF_EINVAL, "invalid address '%.64s' for --http (want an IPv4 "
                             "address, e.g. 127.0.0.1 or 0.0.0.0)", host);
    sa->sin_port = htons ((uint16_t) port);
    return BF_OK;
}

static struct MHD_Daemon *
s_start (bf_http_t *self, struct sockaddr_in *sa)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL
                     | MHD_USE_ERROR_LOG | (self->cert ? MHD_USE_TLS : 0);
    if (self->cert)
        return MHD_start_daemon (flags, 0, NULL, NULL, s_request, self,
            MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *) sa,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned) BF_HTTP_CONNECTIONS,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) BF_HTTP_PER_IP,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) BF_HTTP_TIMEOUT_S,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) BF_HTTP_MEMORY,
            MHD_OPTION_HTTPS_MEM_CERT, self->cert, MHD_OPTION_HTTPS_MEM_KEY, self->key,
            MHD_OPTION_END);
    return MHD_start_daemon (flags, 0, NULL, NULL, s_request, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) BF_HTTP_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) BF_HTTP_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) BF_HTTP_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) BF_HTTP_MEMORY,
        MHD_OPTION_END);
}

int
bf_http_new (bf_http_t **out, const bf_http_config_t *config)
{
    *out = NULL;
    bf_http_t *self = xcalloc (1, sizeof *self);
    self->cfg = *config;
    self->broker_ep = xstrdup (config->broker_ep);
    atomic_init (&self->stopping, false);
    struct sockaddr_in sa;
    int rc = s_parse_addr (&sa, config->addr);
    if (rc != BF_OK)
        goto fail;
    self->loopback = s_is_loopback (&sa);
    if (!config->cert_path != !config->key_path) {
        rc = bf_error_set (BF_EINVAL, "--http-cert and --http-key go together");
        goto fail;
    }
    if (config->cert_path) {
        size_t len;
        if (MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES) {
            rc = bf_error_set (BF_EINVAL, "this libmicrohttpd was built without TLS "
                               "(--http-cert)");
            goto fail;
        }
        if ((rc = bf_file_read (&self->cert, &len, config->cert_path, 1 << 20)) != BF_OK
            || (rc = bf_file_read (&self->key, &len, config->key_path, 1 << 20)) != BF_OK)
            goto fail;
    }
    else if (!self->loopback && !config->insecure) {
        rc = bf_error_set (BF_EACCES, "refusing to serve plain HTTP on '%s': give --http-cert "
                           "and --http-key, or --insecure", config->addr);
        goto fail;
    }
    if (config->root) {
        char real[PATH_MAX];
        if (realpath (config->root, real))
            self->root = xstrdup (real);
        else
            bf_warn ("http: no dashboard: cannot open '%s': %s", config->root,
                     strerror (errno));
    }
    self->daemon = s_start (self, &sa);
    if (!self->daemon && config->port_fallback && sa.sin_port != 0) {
        sa.sin_port = 0;
        self->daemon = s_start (self, &sa);
    }
    if (!self->daemon) {
        rc = bf_error_set (BF_EIO, "cannot serve HTTP on '%s'%s", config->addr,
                           self->cert ? " (is the TLS certificate and key valid PEM?)"
                                      : ": is the port taken?");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    char host[INET_ADDRSTRLEN];
    inet_ntop (AF_INET, &sa.sin_addr, host, sizeof host);
    self->url = xasprintf ("%s://%s:%u", self->cert ? "https" : "http", host,
                           info ? (unsigned) info->port : (unsigned) ntohs (sa.sin_port));
    if (!self->loopback && !self->cert)
        bf_warn ("INSECURE: serving plain HTTP on '%s' (--insecure): tokens cross the "
                 "network in clear", config->addr);
    *out = self;
    return BF_OK;
fail:
    bf_http_destroy (&self);
    return rc;
}

const char *
bf_http_url (bf_http_t *self)
{
    return self->url;
}

void
bf_http_destroy (bf_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_http_t *self = *self_p;
    atomic_store (&self->stopping, true);
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    free (self->broker_ep);
    free (self->root);
    free (self->url);
    free (self->cert);
    free (self->key);
    free (self);
    *self_p = NULL;
}

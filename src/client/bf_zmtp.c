/*  bf_zmtp - see bf_zmtp.h; the wire is RFC 23 (ZMTP 3.0/3.1). */
#include "bf_zmtp.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#define S_GREETING 64
#define S_FLAG_MORE 0x01
#define S_FLAG_LONG 0x02
#define S_FLAG_COMMAND 0x04

struct _bf_zmtp_t {
    int fd;
    char *endpoint;
    unsigned char in[16384];    /* bytes read and not yet consumed */
    size_t have, pos;
};

/*  The address of "tcp://ADDRESS:PORT" (IPv4, or IPv6 in brackets; no
    names: resolving one would load NSS, and libzmq may resolve it
    otherwise) into ss; false when it is not of that form. */
static bool
s_tcp_address (struct sockaddr_storage *ss, socklen_t *len, const char *endpoint)
{
    if (!bf_starts_with (endpoint, "tcp://"))
        return false;
    const char *hp = endpoint + 6, *colon = strrchr (hp, ':');
    char host[64], *end = NULL;
    if (!colon || colon == hp || (size_t) (colon - hp) >= sizeof host || !colon[1])
        return false;
    errno = 0;
    unsigned long port = strtoul (colon + 1, &end, 10);
    if (errno || *end || port == 0 || port > 65535 || colon[1] < '0' || colon[1] > '9')
        return false;
    memcpy (host, hp, (size_t) (colon - hp));
    host[colon - hp] = '\0';
    memset (ss, 0, sizeof *ss);
    size_t hl = strlen (host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons ((uint16_t) port);
        *len = sizeof *a6;
        return inet_pton (AF_INET6, host + 1, &a6->sin6_addr) == 1;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *) ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons ((uint16_t) port);
    *len = sizeof *a4;
    return inet_pton (AF_INET, host, &a4->sin_addr) == 1;
}

int
bf_zmtp_supported (const char *endpoint)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (!endpoint)
        return 0;
    if (bf_starts_with (endpoint, "ipc://"))
        return endpoint[6] != '\0' && strlen (endpoint + 6) < sizeof ((struct sockaddr_un *) 0)->sun_path;
    return s_tcp_address (&ss, &len, endpoint);
}

/*  Waits until fd is ready for events, or the deadline: BF_OK or BF_ETIMEDOUT. */
static int
s_wait (bf_zmtp_t *self, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - bf_mono_ms ();
        if (left <= 0)
            return bf_error_set (BF_ETIMEDOUT, "no answer from broker at '%s' in time",
                                 self->endpoint);
        struct pollfd p = { .fd = self->fd, .events = events };
        int n = poll (&p, 1, (int) (left > 60000 ? 60000 : left));
        if (n > 0)
            return BF_OK;
        if (n < 0 && errno != EINTR)
            return bf_error_set (BF_EIO, "cannot poll the connection to '%s': %s",
                                 self->endpoint, strerror (errno));
    }
}

static int
s_write (bf_zmtp_t *self, const void *data, size_t len, int64_t deadline)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = send (self->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t) n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = s_wait (self, POLLOUT, deadline);
            if (rc != BF_OK)
                return rc;
            continue;
        }
        return bf_error_set (BF_EIO, "cannot send to broker at '%s': %s", self->endpoint,
                             strerror (n < 0 ? errno : EPIPE));
    }
    return BF_OK;
}

/*  Copies the next len bytes of the stream into out (NULL: skips them). */
static int
s_read (bf_zmtp_t *self, void *out, size_t len, int64_t deadline)
{
    unsigned char *o = out;
    while (len > 0) {
        if (self->pos < self->have) {
            size_t k = self->have - self->pos < len ? self->have - self->pos : len;
            if (o) {
                memcpy (o, self->in + self->pos, k);
                o += k;
            }
            self->pos += k;
            len -= k;
            continue;
        }
        self->pos = self->have = 0;
        ssize_t n = recv (self->fd, self->in, sizeof self->in, 0);
        if (n > 0) {
            self->have = (size_t) n;
            continue;
        }
        if (n == 0)
            return bf_error_set (BF_EPROTO, "the broker at '%s' closed the connection",
                                 self->endpoint);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return bf_error_set (BF_EIO, "cannot read from broker at '%s': %s",
                                 self->endpoint, strerror (errno));
        int rc = s_wait (self, POLLIN, deadline);
        if (rc != BF_OK)
            return rc;
    }
    return BF_OK;
}

/*  The header of the next frame: its flags and size. */
static int
s_frame_head (bf_zmtp_t *self, unsigned *flags, uint64_t *size, int64_t deadline)
{
    unsigned char h[9];
    int rc = s_read (self, h, 2, deadline);
    if (rc != BF_OK)
        return rc;
    *flags = h[0];
    if (h[0] & ~(unsigned) (S_FLAG_MORE | S_FLAG_LONG | S_FLAG_COMMAND))
        return bf_error_set (BF_EPROTO, "bad frame flags 0x%02x from broker at '%s'", h[0],
                             self->endpoint);
    if (!(h[0] & S_FLAG_LONG)) {
        *size = h[1];
        return BF_OK;
    }
    if ((rc = s_read (self, h + 2, 7, deadline)) != BF_OK)
        return rc;
    uint64_t v = 0;
    for (int i = 1; i < 9; i++)
        v = v << 8 | h[i];
    *size = v;
    return BF_OK;
}

/*  Writes a frame header for len bytes into h: its length (2 or 9). */
static size_t
s_put_head (unsigned char *h, unsigned flags, uint64_t len)
{
    if (len <= 255) {
        h[0] = (unsigned char) flags;
        h[1] = (unsigned char) len;
        return 2;
    }
    h[0] = (unsigned char) (flags | S_FLAG_LONG);
    for (int i = 8; i >= 1; i--, len >>= 8)
        h[i] = (unsigned char) (len & 0xff);
    return 9;
}

/*  Reads a command of size bytes (flags said COMMAND) into buf (its
    length: *len); a PING is answered here and reported as such. */
static int
s_command (bf_zmtp_t *self, unsigned char *buf, size_t *len, uint64_t size, int64_t deadline)
{
    if (size < 1 || size > BF_ZMTP_COMMAND_MAX)
        return bf_error_set (BF_EPROTO, "a ZMTP command of %llu bytes from broker at '%s' "
                             "(limit %d)", (unsigned long long) size, self->endpoint,
                             BF_ZMTP_COMMAND_MAX);
    int rc = s_read (self, buf, (size_t) size, deadline);
    if (rc != BF_OK)
        return rc;
    *len = (size_t) size;
    if (buf[0] == 4 && size >= 7 && memcmp (buf + 1, "PING", 4) == 0) {
        /* PING: TTL (2 bytes) and a context, echoed back in PONG */
        size_t ctx = size - 7 > 16 ? 16 : size - 7;
        unsigned char pong[2 + 5 + 16];
        size_t h = s_put_head (pong, S_FLAG_COMMAND, 5 + ctx);
        memcpy (pong + h, "\x04PONG", 5);
        memcpy (pong + h + 5, buf + 7, ctx);
        return s_write (self, pong, h + 5 + ctx, deadline);
    }
    return BF_OK;
}

/*  The value of property name in READY's property list (p, n bytes) into
    out (at most size - 1 bytes); false when it is missing or malformed. */
static int
s_property (const unsigned char *p, size_t n, const char *name, char *out, size_t size)
{
    size_t i = 0;
    while (i < n) {
        size_t nlen = p[i++];
        if (nlen > n - i || n - i - nlen < 4)
            return 0;
        const unsigned char *pname = p + i;
        i += nlen;
        uint32_t vlen = (uint32_t) p[i] << 24 | (uint32_t) p[i + 1] << 16
                        | (uint32_t) p[i + 2] << 8 | p[i + 3];
        i += 4;
        if (vlen > n - i)
            return 0;
        if (nlen == strlen (name) && strncasecmp ((const char *) pname, name, nlen) == 0) {
            if (vlen >= size)
                return 0;
            memcpy (out, p + i, vlen);
            out[vlen] = '\0';
            return 1;
        }
        i += vlen;
    }
    return 0;
}

static int
s_open_socket (bf_zmtp_t *self, const char *endpoint, int64_t deadline)
{
    if (bf_starts_with (endpoint, "ipc://")) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        const char *path = endpoint + 6;
        if (strlen (path) >= sizeof sun.sun_path || !*path)
            return bf_error_set (BF_EINVAL, "bad endpoint '%s'", endpoint);
        memcpy (sun.sun_path, path, strlen (path) + 1);
        if (path[0] == '@')
            sun.sun_path[0] = '\0';   /* the abstract namespace, as libzmq */
        self->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (self->fd < 0 || connect (self->fd, (struct sockaddr *) &sun,
                                     (socklen_t) (offsetof (struct sockaddr_un, sun_path)
                                                  + strlen (path) + (path[0] != '@'))) != 0)
            return bf_error_set (BF_EIO, "cannot connect to '%s': %s", endpoint, strerror (errno));
        return BF_OK;
    }
    /* tcp://ADDRESS:PORT: IPv4 or [IPv6], numeric (bf_zmtp_supported) */
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!s_tcp_address (&ss, &sslen, endpoint))
        return bf_error_set (BF_EINVAL, "bad endpoint '%s'", endpoint);
    self->fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int64_t left = deadline - bf_mono_ms ();
    struct timeval tv = { .tv_sec = left > 0 ? left / 1000 : 0,
                          .tv_usec = left > 0 ? (left % 1000) * 1000 : 1000 };
    if (self->fd >= 0)   /* bounds the connect: Linux applies SO_SNDTIMEO to it */
        setsockopt (self->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (self->fd < 0 || connect (self->fd, (struct sockaddr *) &ss, sslen) != 0)
        return bf_error_set (BF_EIO, "cannot connect to '%s': %s", endpoint, strerror (errno));
    int one = 1;
    setsockopt (self->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return BF_OK;
}

/*  Sends our greeting and READY at once, then reads and checks the
    peer's greeting and READY. */
static int
s_handshake (bf_zmtp_t *self, int64_t deadline)
{
    unsigned char out[S_GREETING + 64] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0, 'N', 'U',
                                           'L', 'L' };
    static const unsigned char ready[] = "\x05READY\x0bSocket-Type\0\0\0\x06" "DEALER"
                                         "\x08Identity\0\0\0\0";
    size_t rlen = sizeof ready - 1;
    size_t o = S_GREETING + s_put_head (out + S_GREETING, S_FLAG_COMMAND, rlen);
    memcpy (out + o, ready, rlen);
    int rc = s_write (self, out, o + rlen, deadline);
    if (rc != BF_OK)
        return rc;
    unsigned char g[S_GREETING];
    if ((rc = s_read (self, g, sizeof g, deadline)) != BF_OK)
        return rc;
    if (g[0] != 0xff || g[9] != 0x7f)
        return bf_error_set (BF_EACCES, "the peer at '%s' does not speak ZMTP", self->endpoint);
    if (g[10] < 3)
        return bf_error_set (BF_EACCES, "the peer at '%s' speaks ZMTP %d, not 3", self->endpoint,
                             g[10]);
    static const unsigned char null_mech[20] = "NULL";
    if (memcmp (g + 12, null_mech, sizeof null_mech) != 0)
        return bf_error_set (BF_EACCES, "the broker at '%s' wants a security mechanism "
                             "(CURVE?), not NULL", self->endpoint);
    unsigned flags;
    uint64_t size;
    unsigned char cmd[BF_ZMTP_COMMAND_MAX];
    size_t len = 0;
    if ((rc = s_frame_head (self, &flags, &size, deadline)) != BF_OK)
        return rc;
    if (!(flags & S_FLAG_COMMAND))
        return bf_error_set (BF_EPROTO, "the broker at '%s' sent a message before READY",
                             self->endpoint);
    if ((rc = s_command (self, cmd, &len, size, deadline)) != BF_OK)
        return rc;
    if (len >= 6 && cmd[0] == 5 && memcmp (cmd + 1, "ERROR", 5) == 0) {
        int rlen2 = len > 6 ? cmd[6] : 0;
        if ((size_t) rlen2 > len - 7)
            rlen2 = (int) (len - 7);
        return bf_error_set (BF_EACCES, "the broker at '%s' refused the handshake: %.*s",
                             self->endpoint, rlen2, (const char *) cmd + 7);
    }
    char type[16];
    if (len < 6 || cmd[0] != 5 || memcmp (cmd + 1, "READY", 5) != 0
        || !s_property (cmd + 6, len - 6, "Socket-Type", type, sizeof type))
        return bf_error_set (BF_EPROTO, "bad READY from the peer at '%s'", self->endpoint);
    if (strcmp (type, "ROUTER") != 0)
        return bf_error_set (BF_EACCES, "the peer at '%s' is a %s socket, not a ROUTER",
                             self->endpoint, type);
    return BF_OK;
}

int
bf_zmtp_connect (bf_zmtp_t **out, const char *endpoint, int64_t deadline_ms)
{
    *out = NULL;
    if (!bf_zmtp_supported (endpoint))
        return bf_error_set (BF_EINVAL, "unsupported endpoint '%.200s' (want ipc:// or tcp://)",
                             endpoint ? endpoint : "");
    bf_zmtp_t *self = xcalloc (1, sizeof *self);
    self->fd = -1;
    self->endpoint = xstrdup (endpoint);
    int rc = s_open_socket (self, endpoint, deadline_ms);
    if (rc == BF_OK && fcntl (self->fd, F_SETFL, fcntl (self->fd, F_GETFL) | O_NONBLOCK) != 0)
        rc = bf_error_set (BF_EIO, "cannot set up the connection to '%s'", endpoint);
    if (rc == BF_OK) {
        rc = s_handshake (self, deadline_ms);
        if (rc == BF_EIO)
            rc = BF_EPROTO;   /* BF_EIO: only when the connection could not be made */
    }
    if (rc != BF_OK) {
        bf_zmtp_destroy (&self);
        return rc;
    }
    *out = self;
    return BF_OK;
}

int
bf_zmtp_send (bf_zmtp_t *self, const bf_zmtp_frame_t *frames, size_t n, int64_t deadline_ms)
{
    /* Small frames are gathered into one buffer: one write, one segment. */
    unsigned char buf[8192];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char h[9];
        size_t hl = s_put_head (h, i + 1 < n ? S_FLAG_MORE : 0, frames[i].len);
        if (o + hl + frames[i].len > sizeof buf) {
            int rc = s_write (self, buf, o, deadline_ms);
            if (rc == BF_OK)
                rc = s_write (self, h, hl, deadline_ms);
            if (rc == BF_OK)
                rc = s_write (self, frames[i].data, frames[i].len, deadline_ms);
            if (rc != BF_OK)
                return rc;
            o = 0;
            continue;
        }
        memcpy (buf + o, h, hl);
        if (frames[i].len)
            memcpy (buf + o + hl, frames[i].data, frames[i].len);
        o += hl + frames[i].len;
    }
    return o ? s_write (self, buf, o, deadline_ms) : BF_OK;
}

int
bf_zmtp_recv (bf_zmtp_t *self, bf_zmtp_msg_t *out, size_t max_frames, size_t max_bytes,
              int64_t deadline_ms)
{
    memset (out, 0, sizeof *out);
    size_t total = 0, cap = 0;
    int rc = BF_OK;
    for (;;) {
        unsigned flags;
        uint64_t size;
        if ((rc = s_frame_head (self, &flags, &size, deadline_ms)) != BF_OK)
            goto out;
        if (flags & S_FLAG_COMMAND) {
            unsigned char cmd[BF_ZMTP_COMMAND_MAX];
            size_t len;
            if (out->n > 0) {
                rc = bf_error_set (BF_EPROTO, "a ZMTP command inside a message from '%s'",
                                   self->endpoint);
                goto out;
            }
            if ((rc = s_command (self, cmd, &len, size, deadline_ms)) != BF_OK)
                goto out;
            continue;   /* PING (answered), or nothing a client acts on */
        }
        if (out->n >= max_frames || size > max_bytes - total) {
            rc = bf_error_set (BF_ETOOBIG, "reply from broker at '%s' over the limit (%zu "
                               "frames, %zu bytes)", self->endpoint, max_frames, max_bytes);
            goto out;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 8;
            out->frames = xrealloc (out->frames, cap * sizeof *out->frames);
        }
        bf_zmtp_frame_t *f = &out->frames[out->n++];
        f->len = (size_t) size;
        f->data = xmalloc (f->len + 1);
        f->data[f->len] = '\0';
        total += f->len;
        if ((rc = s_read (self, f->data, f->len, deadline_ms)) != BF_OK)
            goto out;
        if (!(flags & S_FLAG_MORE))
            break;
    }
out:
    if (rc != BF_OK)
        bf_zmtp_msg_release (out);
    return rc;
}

void
bf_zmtp_msg_release (bf_zmtp_msg_t *msg)
{
    for (size_t i = 0; i < msg->n; i++)
        free (msg->frames[i].data);
    free (msg->frames);
    memset (msg, 0, sizeof *msg);
}

void
bf_zmtp_destroy (bf_zmtp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->fd >= 0)
        close ((*self_p)->fd);
    free ((*self_p)->endpoint);
    free (*self_p);
    *self_p = NULL;
}

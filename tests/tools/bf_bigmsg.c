/*  bf_bigmsg - a test tool: a hostile peer that speaks ZMTP 3.1 (NULL
    mechanism, as a DEALER) over a plain TCP socket, so that it can send a
    multipart message far larger than its own memory: the header frames of
    a client UPLOAD, then FRAMES blob frames of SIZE bytes each from one
    small buffer (FRAMES 0: without end).

    usage: bf_bigmsg HOST PORT FRAMES SIZE [REPEAT]
    With REPEAT, sends that many such (complete) messages on the one
    connection, each after the reply to the one before, as an honest
    client does: such traffic, however much of it, must not be cut.
    Prints "sent N bytes" and exits 0 when the peer closed the connection
    before the message ended, 1 when the whole message was sent (and the
    peer then answered nothing within 2 s), 2 on a usage or connect error.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint64_t s_sent;

static int
s_write (int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
        s_sent += (uint64_t) n;
    }
    return 0;
}

static int
s_read (int fd, void *data, size_t len)
{
    char *p = data;
    while (len > 0) {
        ssize_t n = read (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/*  Reads and discards one whole message (and any commands before it). */
static int
s_skip_message (int fd)
{
    bool more = true;
    while (more) {
        unsigned char h[9];
        if (s_read (fd, h, 2) != 0)
            return -1;
        uint64_t size = h[1];
        if (h[0] & 2) {
            if (s_read (fd, h + 2, 7) != 0)
                return -1;
            size = 0;
            for (int i = 1; i < 9; i++)
                size = size << 8 | h[i];
        }
        char sink[4096];
        while (size > 0) {
            size_t n = size < sizeof sink ? (size_t) size : sizeof sink;
            if (s_read (fd, sink, n) != 0)
                return -1;
            size -= n;
        }
        if (!(h[0] & 4))   /* a command (a ZMTP PING, say) is not part of it */
            more = h[0] & 1;
    }
    return 0;
}

/*  One ZMTP frame header: flags (MORE 1, LONG 2, COMMAND 4) and size. */
static int
s_header (int fd, int flags, uint64_t size)
{
    unsigned char h[9];
    if (size < 256) {
        h[0] = (unsigned char) flags;
        h[1] = (unsigned char) size;
        return s_write (fd, h, 2);
    }
    h[0] = (unsigned char) (flags | 2);
    for (int i = 0; i < 8; i++)
        h[1 + i] = (unsigned char) (size >> (56 - 8 * i));
    return s_write (fd, h, 9);
}

static int
s_frame (int fd, bool more, const char *data, size_t len)
{
    return s_header (fd, more ? 1 : 0, len) == 0 && s_write (fd, data, len) == 0 ? 0 : -1;
}

int
main (int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf (stderr, "usage: bf_bigmsg HOST PORT FRAMES SIZE [REPEAT]\n");
        return 2;
    }
    signal (SIGPIPE, SIG_IGN);
    long long frames = atoll (argv[3]), repeat = argc == 6 ? atoll (argv[5]) : 1;
    size_t size = (size_t) atoll (argv[4]);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) atoi (argv[2])) };
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (inet_pton (AF_INET, argv[1], &a.sin_addr) != 1
        || connect (fd, (struct sockaddr *) &a, sizeof a) != 0) {
        fprintf (stderr, "bf_bigmsg: cannot connect: %s\n", strerror (errno));
        return 2;
    }
    unsigned char greeting[64] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1 };
    memcpy (greeting + 12, "NULL", 4);
    static const char ready[] = "\x05READY\x0bSocket-Type\x00\x00\x00\x06" "DEALER";
    const char *body = "{\"digests\":[]}";
    int rc = 0;
    /* The handshake in order: libzmq takes frames that arrive before its
       own READY has gone out for handshake commands, and fails. */
    unsigned char peer[64 + 512];
    if (s_write (fd, greeting, sizeof greeting) != 0 || s_read (fd, peer, 64) != 0
        || s_header (fd, 4, sizeof ready - 1) != 0 || s_write (fd, ready, sizeof ready - 1) != 0
        || s_read (fd, peer, 2) != 0 || !(peer[0] & 4) || s_read (fd, peer + 2, peer[1]) != 0) {
        fprintf (stderr, "bf_bigmsg: no ZMTP handshake\n");
        return 2;
    }
    char *buf = calloc (1, size > 0 ? size : 1);
    for (long long r = 0; rc == 0 && r < repeat; r++) {
        if (s_frame (fd, true, "", 0) != 0 || s_frame (fd, true, "BFC01", 5) != 0
            || s_frame (fd, true, "UPLOAD", 6) != 0 || s_frame (fd, true, body, strlen (body)) != 0)
            rc = -1;
        for (long long i = 0; rc == 0 && (frames == 0 || i < frames); i++)
            rc = s_frame (fd, frames == 0 || i + 1 < frames, buf, size);
        if (rc == 0 && repeat > 1 && s_skip_message (fd) != 0)
            rc = -1;   /* no reply: the connection was closed */
    }
    free (buf);
    printf ("sent %llu bytes\n", (unsigned long long) s_sent);
    if (rc != 0)
        return 0;   /* the peer closed the connection */
    /* All sent: does the peer close it now? */
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char sink[4096];
    int64_t waited = 0;
    while (waited < 2000 && poll (&p, 1, 100) >= 0) {
        waited += 100;
        if ((p.revents & (POLLIN | POLLHUP)) && read (fd, sink, sizeof sink) <= 0)
            return 0;
    }
    return 1;
}

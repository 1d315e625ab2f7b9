/*  bf_rxguard - see bf_rxguard.h. */
#include "bf_rxguard.h"
#include "bf_log.h"
#include "bf_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/*  ZMTP adds a few bytes per frame (and CURVE some 40 more) that are not
    delivered; a connection may be this far ahead of the count before it
    is over the limit. */
#define S_SLACK ((uint64_t) 4 << 20)
#define S_CONNS_MAX 4096
/*  Tiny frames cost libzmq some 64 bytes each however small they are, so
    bytes in flight understate memory up to 32 times.  Every S_HEAP_MS the
    heap in use is compared with what it was at the start; over the budget,
    the connection with the most bytes in flight (at least S_HEAP_MIN) is
    closed. */
#define S_HEAP_MS   100
#define S_HEAP_MIN  ((uint64_t) 64 << 10)

typedef struct {
    int fd;
    char peer[64];              /* "ip:port": tells a reused fd from its old connection */
    uint64_t base;              /* bytes received before we started counting */
    uint64_t delivered;
} s_conn_t;

struct _bf_rxguard_t {
    zsock_t *monitor;
    void *watched;              /* the libzmq socket monitored (borrowed) */
    uint64_t limit;
    s_conn_t conns[S_CONNS_MAX];
    int nconns;
    int64_t checked_at;
    int64_t heap_at;            /* monotonic ms of the last heap check */
    uint64_t heap_base;         /* heap in use at the start */
    uint64_t heap_budget;       /* more than heap_base + this: close the worst */
    bool trim;                  /* a connection closed: give the memory back */
};

static uint64_t
s_heap (void)
{
    struct mallinfo2 mi = mallinfo2 ();
    return (uint64_t) mi.uordblks + (uint64_t) mi.hblkhd;
}

/*  glibc's struct tcp_info stops before tcpi_bytes_received (Linux 4.1):
    it is the u64 at this offset of the kernel's struct (linux/tcp.h, which
    cannot be included beside netinet/tcp.h). */
#define S_BYTES_RECEIVED_OFFSET 128

static bool
s_received (int fd, uint64_t *out)
{
    unsigned char buf[256];
    socklen_t len = sizeof buf;
    memset (buf, 0, sizeof buf);
    if (getsockopt (fd, IPPROTO_TCP, TCP_INFO, buf, &len) != 0
        || len < S_BYTES_RECEIVED_OFFSET + sizeof (uint64_t))
        return false;
    memcpy (out, buf + S_BYTES_RECEIVED_OFFSET, sizeof *out);
    return true;
}

static bool
s_peer (int fd, char *out, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername (fd, (struct sockaddr *) &ss, &len) != 0)
        return false;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *) &ss;
        inet_ntop (AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs (a->sin_port);
    }
    else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
        inet_ntop (AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs (a->sin6_port);
    }
    else
        return false;   /* ipc: no counter */
    snprintf (out, size, "%s:%d", host, port);
    return true;
}

static s_conn_t *
s_find (bf_rxguard_t *self, int fd)
{
    for (int i = 0; i < self->nconns; i++)
        if (self->conns[i].fd == fd)
            return &self->conns[i];
    return NULL;
}

static void
s_forget (bf_rxguard_t *self, s_conn_t *c)
{
    *c = self->conns[--self->nconns];
}

/*  The connection now on fd, learnt anew when fd is new or now names
    another peer. */
static s_conn_t *
s_conn (bf_rxguard_t *self, int fd)
{
    char peer[64];
    uint64_t received;
    s_conn_t *c = s_find (self, fd);
    if (!s_peer (fd, peer, sizeof peer) || !s_received (fd, &received)) {
        if (c)
            s_forget (self, c);
        return NULL;
    }
    if (c && strcmp (c->peer, peer) == 0)
        return c;
    if (!c) {
        if (self->nconns == S_CONNS_MAX)
            return NULL;
        c = &self->conns[self->nconns++];
    }
    c->fd = fd;
    snprintf (c->peer, sizeof c->peer, "%s", peer);
    c->base = received;
    c->delivered = 0;
    return c;
}

bf_rxguard_t *
bf_rxguard_new (zsock_t *sock, uint64_t limit)
{
    static int seq = 0;
    char ep[64];
    snprintf (ep, sizeof ep, "inproc://bf-rxguard-%d-%d", (int) getpid (), seq++);
    if (zmq_socket_monitor (zsock_resolve (sock), ep,
                            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED
                            | ZMQ_EVENT_CLOSED) != 0) {
        bf_warn ("cannot monitor a socket's connections: %s", zmq_strerror (errno));
        return NULL;
    }
    bf_rxguard_t *self = xcalloc (1, sizeof *self);
    self->watched = zsock_resolve (sock);
    self->limit = limit;
    self->heap_base = s_heap ();
    self->heap_budget = 2 * limit + 2 * S_SLACK;
    self->monitor = zsock_new (ZMQ_PAIR);
    if (zsock_connect (self->monitor, "%s", ep) != 0) {
        bf_warn ("cannot monitor a socket's connections: %s", zmq_strerror (errno));
        bf_rxguard_destroy (&self);
    }
    return self;
}

void
bf_rxguard_destroy (bf_rxguard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_rxguard_t *self = *self_p;
    /* Stop the monitor (as CZMQ's zmonitor does), then drop the events
       still queued, so that libzmq holds none of them when the sockets go. */
    if (self->watched)
        zmq_socket_monitor (self->watched, NULL, 0);
    if (self->monitor) {
        zsock_set_rcvtimeo (self->monitor, 0);
        zmsg_t *m;
        while ((m = zmsg_recv (self->monitor)))
            zmsg_destroy (&m);
    }
    zsock_destroy (&self->monitor);
    free (*self_p);
    *self_p = NULL;
}

zsock_t *
bf_rxguard_monitor (bf_rxguard_t *self)
{
    return self->monitor;
}

void
bf_rxguard_event (bf_rxguard_t *self)
{
    zmsg_t *msg = zmsg_recv (self->monitor);
    zframe_t *f = msg ? zmsg_first (msg) : NULL;
    if (f && zframe_size (f) == 6) {
        uint16_t event;
        uint32_t value;
        memcpy (&event, zframe_data (f), 2);
        memcpy (&value, zframe_data (f) + 2, 4);
        int fd = (int) value;
        s_conn_t *c = s_find (self, fd);
        if (c)   /* a connection on this fd ended, or a new one took it */
            s_forget (self, c);
        if (event == ZMQ_EVENT_ACCEPTED || event == ZMQ_EVENT_CONNECTED)
            s_conn (self, fd);
    }
    zmsg_destroy (&msg);
}

void
bf_rxguard_delivered (bf_rxguard_t *self, int fd, uint64_t bytes)
{
    s_conn_t *c = fd >= 0 ? s_conn (self, fd) : NULL;
    if (c)
        c->delivered += bytes;
}

int
bf_rxguard_check (bf_rxguard_t *self)
{
    int64_t now = bf_mono_ms ();
    if (now < self->checked_at + BF_RXGUARD_CHECK_MS)
        return 0;
    self->checked_at = now;
    if (self->trim) {   /* what the closed connections held is free by now */
        self->trim = false;
        malloc_trim (0);
    }
    bool heap_check = now >= self->heap_at + S_HEAP_MS;
    uint64_t heap = 0;
    if (heap_check) {
        self->heap_at = now;
        heap = s_heap ();
    }
    int closed = 0;
    s_conn_t *worst = NULL;
    uint64_t worst_inflight = S_HEAP_MIN, worst_received = 0;
    for (int i = 0; i < self->nconns; i++) {
        s_conn_t *c = &self->conns[i];
        uint64_t received;
        char peer[64];
        if (!s_received (c->fd, &received))
            continue;
        /* The fd may carry a new connection whose ACCEPTED event is not
           read yet: never measure it against the old one's counters. */
        if (received < c->base || !s_peer (c->fd, peer, sizeof peer)
            || strcmp (peer, c->peer) != 0) {
            if (s_peer (c->fd, peer, sizeof peer))
                snprintf (c->peer, sizeof c->peer, "%s", peer);
            c->base = received;
            c->delivered = 0;
            continue;
        }
        uint64_t inflight = received - c->base;
        inflight = inflight > c->delivered ? inflight - c->delivered : 0;
        if (inflight > worst_inflight) {
            worst = c;
            worst_inflight = inflight;
            worst_received = received;
        }
        if (inflight <= self->limit + S_SLACK)
            continue;
        bf_warn ("peer %s sent %llu bytes that make no message within the limit of %llu "
                 "bytes: connection closed", c->peer, (unsigned long long) inflight,
                 (unsigned long long) self->limit);
        shutdown (c->fd, SHUT_RDWR);
        c->base = received;   /* counted once; the monitor's event forgets it */
        c->delivered = 0;
        if (worst == c)
            worst = NULL;
        closed++;
    }
    if (heap_check && !closed && worst && heap > self->heap_base + self->heap_budget) {
        bf_warn ("peer %s has %llu bytes in flight while the process holds %llu bytes, over "
                 "its budget of %llu: connection closed", worst->peer,
                 (unsigned long long) worst_inflight, (unsigned long long) heap,
                 (unsigned long long) (self->heap_base + self->heap_budget));
        shutdown (worst->fd, SHUT_RDWR);
        worst->base = worst_received;
        worst->delivered = 0;
        closed++;
    }
    if (closed)
        self->trim = true;
    return closed;
}

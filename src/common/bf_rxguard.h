/*  bf_rxguard - bounds the memory a peer can make a ZeroMQ socket hold.

    libzmq delivers a multipart message only once its last frame has
    arrived, and until then its I/O thread keeps every frame; ZMQ_MAXMSGSIZE
    bounds one frame, not their number.  Counting frames as the application
    reads them (bf_msg_recv) therefore cannot bound memory by itself: a peer
    that never ends its message is never read.  The guard watches the TCP
    connections of one socket from the outside: for each it compares the
    bytes the kernel has received on it (TCP_INFO tcpi_bytes_received) with
    the bytes the application was given from it (bf_rxguard_delivered, by
    ZMQ_SRCFD), and closes (shutdown(2)) a connection that has more than
    `limit` bytes in flight: a message over the limit that is still
    arriving, or a backlog no honest peer builds up.  libzmq then drops
    the connection and frees what it held.  Memory held for one peer is
    therefore about limit plus what arrives between two checks.

    Connections are learnt from the socket monitor (accepted or connected)
    and named by fd and peer address, so a reused fd is a new connection.
    ipc:// connections have no byte counter and are not guarded (they are
    local; docs/protocol.md 2.1).
    Thread-safety: one thread, the socket's.
*/
#ifndef BF_RXGUARD_H_INCLUDED
#define BF_RXGUARD_H_INCLUDED

#include <czmq.h>
#include <stdint.h>

typedef struct _bf_rxguard_t bf_rxguard_t;

#define BF_RXGUARD_CHECK_MS 10          /* how often bf_rxguard_check looks, at most */

/*  Starts guarding sock (before it binds or connects, so no connection is
    missed): at most limit bytes in flight per connection.  NULL if the
    monitor cannot be set up (logged). */
bf_rxguard_t *bf_rxguard_new (zsock_t *sock, uint64_t limit);

/*  Stops the monitor, drops its queued events and frees the guard.  Call
    it before destroying the guarded socket, which must still be open.
    Accepts NULL; sets *self_p to NULL. */
void bf_rxguard_destroy (bf_rxguard_t **self_p);

/*  The monitor socket, to poll beside the guarded socket; when it is
    readable, call bf_rxguard_event. */
zsock_t *bf_rxguard_monitor (bf_rxguard_t *self);
void bf_rxguard_event (bf_rxguard_t *self);

/*  The application was given bytes (the frames' sizes) of a message read
    from connection fd (bf_recv_info_t). */
void bf_rxguard_delivered (bf_rxguard_t *self, int fd, uint64_t bytes);

/*  Closes the connections over the limit; does nothing if called again
    within BF_RXGUARD_CHECK_MS.  Returns how many it closed. */
int bf_rxguard_check (bf_rxguard_t *self);

#endif

/*  bf_zmtp - a minimal ZMTP 3.x client (RFC 23, the NULL mechanism) that
    talks to a libzmq ROUTER as a DEALER would, over ipc:// and tcp://,
    without libzmq.

    Why it exists: the lean `submit` (src/submit/main.c) sends one SUBMIT
    and reads one reply.  libzmq as Debian builds it loads about 30 shared
    objects (libsodium, pgm, norm, gssapi/krb5, libbsd, ...: ~4 ms before
    main) and starts two threads for that one round trip; this module is
    one socket, one poll loop and no thread.  It is deliberately small:
    one connection, whole messages, no CURVE, no reconnection, no
    heartbeating of its own (a peer's PING is answered with PONG).
    Everything else goes through libzmq (bf_client.h).

    Hostile peers: the greeting is checked byte by byte (signature, major
    version 3, mechanism "NULL"), the peer's READY must name Socket-Type
    ROUTER, a command is at most BF_ZMTP_COMMAND_MAX bytes, and a message
    is refused before anything is allocated for a frame that would pass
    its caller's max_frames or max_bytes.  Each call ends by its deadline
    (bf_mono_ms).  Errors carry a one-line detail naming the endpoint.
    Thread-safety: a connection belongs to one thread.
*/
#ifndef BF_ZMTP_H_INCLUDED
#define BF_ZMTP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define BF_ZMTP_COMMAND_MAX 4096    /* bytes of one ZMTP command (READY, PING, ERROR) */

typedef struct _bf_zmtp_t bf_zmtp_t;

/*  One frame of a message: len bytes at data (borrowed when sending,
    owned by the message when received). */
typedef struct {
    unsigned char *data;
    size_t len;
} bf_zmtp_frame_t;

typedef struct {
    bf_zmtp_frame_t *frames;
    size_t n;
} bf_zmtp_msg_t;

/*  True when endpoint is one bf_zmtp_connect can reach: "ipc://PATH" or
    "tcp://ADDRESS:PORT" with ADDRESS a numeric IPv4 address or [IPv6]
    (a host name is not: resolving it would load NSS). */
int bf_zmtp_supported (const char *endpoint);

/*  Connects to endpoint and completes the handshake (our greeting and
    READY in one write, then the peer's) before deadline_ms (bf_mono_ms's
    clock).  No message goes with the handshake: libzmq's NULL mechanism
    takes a message that arrives before it has sent its own READY as a
    protocol error and drops the connection (seen: about one time in two
    on ipc://), so the first message costs one round trip more.
    BF_OK with *out; else, always before any message was sent:
      BF_EINVAL   an endpoint it does not support (bf_zmtp_supported);
      BF_EIO      the connection could not be made;
      BF_EACCES   the peer refused the handshake, or is not a ZMTP 3 ROUTER
                  with the NULL mechanism (e.g. a CURVE broker);
      BF_EPROTO, BF_ETIMEDOUT   a broken handshake, or none in time. */
int bf_zmtp_connect (bf_zmtp_t **out, const char *endpoint, int64_t deadline_ms);

/*  Sends one message of n frames (n > 0), all of it or an error (BF_EIO,
    BF_ETIMEDOUT: part of it may have been sent). */
int bf_zmtp_send (bf_zmtp_t *self, const bf_zmtp_frame_t *frames, size_t n,
                  int64_t deadline_ms);

/*  Receives the next message into *out (caller releases it with
    bf_zmtp_msg_release): at most max_frames frames and max_bytes bytes in
    all, checked before each frame is allocated.  BF_OK, BF_ETOOBIG (over
    a limit: the connection is then unusable), BF_EPROTO (a malformed
    frame, the peer closed), BF_EIO, BF_ETIMEDOUT. */
int bf_zmtp_recv (bf_zmtp_t *self, bf_zmtp_msg_t *out, size_t max_frames, size_t max_bytes,
                  int64_t deadline_ms);

void bf_zmtp_msg_release (bf_zmtp_msg_t *msg);

/*  Closes the connection; accepts NULL, sets *self_p to NULL. */
void bf_zmtp_destroy (bf_zmtp_t **self_p);

#endif

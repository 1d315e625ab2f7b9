/*  bf_curve - CURVE keys for bitfarm's peers: making them, loading them and
    putting them on a connecting socket.

    Keys are CZMQ certificates (zcert, ZPL text, rfc.zeromq.org/spec:4) for
    CurveZMQ (rfc.zeromq.org/spec:26): a public file NAME.key holding
    "public-key" and metadata, and a secret file NAME.key_secret holding
    both keys, mode 0600.  Keys in files are Z85 text (rfc.zeromq.org/spec:32),
    40 characters.

    The broker's side (allow-lists, zauth) is bf_auth (src/broker).
    Thread-safety: the functions are reentrant; a bf_curve_t belongs to the
    thread that uses its socket.
*/
#ifndef BF_CURVE_H_INCLUDED
#define BF_CURVE_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

#define BF_CURVE_KEY_LEN   40     /* Z85 text of a 32-byte key */
#define BF_CURVE_NAME_MAX  64     /* a key's NAME: 1..64 of A-Za-z0-9._-, not starting with '.' */

/*  Writes DIR/NAME.key (public, 0644) and DIR/NAME.key_secret (0600) for a
    new key pair with metadata name=NAME, role=ROLE (broker, worker or
    client) and created=ISO time.  Never overwrites: an existing file is
    BF_EBUSY.  public_out (may be NULL) receives the Z85 public key
    (BF_CURVE_KEY_LEN + 1 bytes).  BF_OK, BF_EINVAL (bad name or role) or
    BF_EIO, each with a detail. */
int bf_curve_keygen (const char *dir, const char *name, const char *role, char *public_out);

/*  Loads a secret certificate (a NAME.key_secret file).  Refuses a file
    that group or others may read ("chmod 600"), and one without a secret
    key (a public file given by mistake).  *out is the caller's (zcert_destroy).
    BF_OK, or BF_EINVAL / BF_EIO with a detail naming the file. */
int bf_curve_load_secret (zcert_t **out, const char *path);

/*  Reads the public key of a certificate file (public or secret) into
    key_out (BF_CURVE_KEY_LEN + 1 bytes).  BF_OK or BF_EINVAL with a detail. */
int bf_curve_load_public (char *key_out, const char *path);

/*  The connecting side of a CURVE connection (a worker or a client): its
    own secret certificate and the broker's public key, plus a zmonitor on
    the socket, so that a refused handshake is reported instead of looking
    like a silent broker. */
typedef struct _bf_curve_t bf_curve_t;

/*  Loads cert_path (this peer's NAME.key_secret) and broker_key_path (the
    broker's NAME.key).  BF_OK with *out set, or an error with a detail. */
int bf_curve_new (bf_curve_t **out, const char *cert_path, const char *broker_key_path);
void bf_curve_destroy (bf_curve_t **self_p);

/*  Makes sock a CURVE client of the broker and starts watching its
    handshakes.  Call before zsock_connect, once per new socket (a previous
    socket's monitor is stopped).  sock stays the caller's. */
void bf_curve_apply (bf_curve_t *self, zsock_t *sock);

/*  The monitor actor to poll beside the socket: readable when a handshake
    event arrived; then call bf_curve_refused.  NULL before bf_curve_apply. */
zactor_t *bf_curve_monitor (bf_curve_t *self);

/*  Reads pending handshake events without blocking.  Returns true when the
    broker refused this key (ZAP: HANDSHAKE_FAILED_AUTH, status 400) or the
    handshake failed otherwise (a wrong broker key), with a one-line detail
    (bf_error_last) naming the endpoint and this key. */
bool bf_curve_refused (bf_curve_t *self);

/*  This peer's public key, Z85. */
const char *bf_curve_public (bf_curve_t *self);

/*  True when endpoint may carry plain (unauthenticated) traffic: ipc://,
    inproc:, or a tcp: address on loopback (127.0.0.0/8, [::1] or
    localhost).  tcp:*, 0.0.0.0, interface names and other addresses are
    not. */
bool bf_endpoint_is_local (const char *endpoint);

#endif

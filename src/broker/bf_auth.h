/*  bf_auth - the broker's CURVE authentication: its own certificate, a
    zauth actor (ZAP, rfc.zeromq.org/spec:27) and the allow-lists.

    The allow-lists are directories of public certificates (NAME.key, as
    `bitfarm keygen` writes them), one per role:
        KEYS/workers/   keys that may register as workers
        KEYS/clients/   keys that may submit jobs and use the farm
        KEYS/admins/    client keys that may also cancel and read the logs
                        of other keys' jobs
    zauth is given KEYS itself: its certificate store reads the whole tree,
    so a key on any list passes the handshake and an unknown key is refused
    there.  Which commands a key may send is decided per message by
    bf_auth_roles, from the directory the key is in.  Both re-read the
    directories when they change (CZMQ's zcertstore compares their
    modification time, file count and size on every lookup), so adding a
    file allows a key and removing it revokes the key, without a restart;
    a revoked key's open connection is refused at its next message.

    The zauth actor is installed on the process's ZeroMQ context and must be
    started before the socket binds: a CURVE server without a ZAP handler
    accepts any client key.
    Thread-safety: a bf_auth_t belongs to the broker thread.
*/
#ifndef BF_AUTH_H_INCLUDED
#define BF_AUTH_H_INCLUDED

#include <czmq.h>

#define BF_AUTH_WORKER 1u
#define BF_AUTH_CLIENT 2u
#define BF_AUTH_ADMIN  4u

typedef struct _bf_auth_t bf_auth_t;

/*  Loads the broker's secret certificate (cert_path, a NAME.key_secret),
    creates KEYS/workers, KEYS/clients and KEYS/admins when missing, and
    starts zauth with CURVE on keys_dir.  BF_OK with *out set, or BF_EINVAL
    / BF_EIO with a detail. */
int bf_auth_new (bf_auth_t **out, const char *keys_dir, const char *cert_path);
void bf_auth_destroy (bf_auth_t **self_p);

/*  Makes sock a CURVE server with the broker's key (before zsock_bind). */
void bf_auth_server (bf_auth_t *self, zsock_t *sock);

/*  The roles (BF_AUTH_* bits; 0 = none: unknown or revoked) of the peer
    whose Z85 public key is `key` (the ZAP User-Id of its messages).  An
    admin key is also a client.  name_out (may be NULL) receives a pointer
    to the key's "name" metadata, or the key itself; valid until the next
    call. */
unsigned bf_auth_roles (bf_auth_t *self, const char *key, const char **name_out);

/*  The Z85 public key (key_out: 41 bytes) of the client key named `name`:
    the file KEYS/admins/NAME.key or KEYS/clients/NAME.key, as it is now.
    BF_OK, BF_EINVAL (a bad name) or BF_ENOTFOUND, with a detail. */
int bf_auth_client_key (bf_auth_t *self, char *key_out, const char *name);

/*  The broker's public key, Z85. */
const char *bf_auth_public (bf_auth_t *self);

#endif

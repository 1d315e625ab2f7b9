/*  bf_curve - see bf_curve.h. */
#include "bf_curve.h"
#include "bf_error.h"
#include "bf_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_ZERO_KEY "0000000000000000000000000000000000000000"

struct _bf_curve_t {
    zcert_t *cert;
    char broker_key[BF_CURVE_KEY_LEN + 1];
    char *broker_key_path;
    zactor_t *monitor;
    char *endpoint;             /* last endpoint seen in an event, for messages */
};

static bool
s_name_valid (const char *name)
{
    size_t n = strlen (name);
    return n >= 1 && n <= BF_CURVE_NAME_MAX && name[0] != '.'
           && strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
              == n;
}

int
bf_curve_keygen (const char *dir, const char *name, const char *role, char *public_out)
{
    if (!s_name_valid (name))
        return bf_error_set (BF_EINVAL, "invalid key name '%.80s' (want 1..%d of A-Za-z0-9._-, "
                             "not starting with '.')", name, BF_CURVE_NAME_MAX);
    if (strcmp (role, "broker") && strcmp (role, "worker") && strcmp (role, "client"))
        return bf_error_set (BF_EINVAL, "invalid role '%.40s' (want broker, worker or client)",
                             role);
    if (bf_mkdir_p (dir, 0755) != BF_OK)
        return BF_EIO;
    char *pub = xasprintf ("%s/%s.key", dir, name);
    char *sec = xasprintf ("%s/%s.key_secret", dir, name);
    int rc = BF_OK;
    struct stat sb;
    if (stat (pub, &sb) == 0 || stat (sec, &sb) == 0)
        rc = bf_error_set (BF_EBUSY, "'%s' already exists; not overwriting a key",
                           stat (pub, &sb) == 0 ? pub : sec);
    zcert_t *cert = rc == BF_OK ? zcert_new () : NULL;
    if (rc == BF_OK && !cert)
        rc = bf_error_set (BF_EIO, "cannot make a key pair (libzmq without CURVE?)");
    if (rc == BF_OK) {
        char when[40];
        zcert_set_meta (cert, "name", "%s", name);
        zcert_set_meta (cert, "role", "%s", role);
        zcert_set_meta (cert, "created", "%s", bf_time_iso (when, sizeof when, bf_now_ms ()));
        /* The secret file is created 0600 under a strict umask, so it is
           never readable by others, not even for a moment. */
        mode_t old = umask (077);
        int src = zcert_save_secret (cert, sec);
        umask (old);
        if (src != 0 || chmod (sec, 0600) != 0)
            rc = bf_error_set (BF_EIO, "cannot write '%s': %s", sec, strerror (errno));
        else if (zcert_save_public (cert, pub) != 0 || chmod (pub, 0644) != 0) {
            rc = bf_error_set (BF_EIO, "cannot write '%s': %s", pub, strerror (errno));
            remove (sec);
        }
        if (rc == BF_OK && public_out)
            snprintf (public_out, BF_CURVE_KEY_LEN + 1, "%s", zcert_public_txt (cert));
    }
    zcert_destroy (&cert);
    free (pub);
    free (sec);
    return rc;
}

int
bf_curve_load_secret (zcert_t **out, const char *path)
{
    *out = NULL;
    struct stat sb;
    if (stat (path, &sb) != 0)
        return bf_error_set (BF_EINVAL, "cannot read key '%s': %s", path, strerror (errno));
    if (!S_ISREG (sb.st_mode))
        return bf_error_set (BF_EINVAL, "key '%s' is not a regular file", path);
    /* zcert_load, given NAME.key, quietly loads NAME.key_secret beside it:
       look in the file itself for the secret key. */
    zconfig_t *text = zconfig_load (path);
    bool has_secret = text && zconfig_get (text, "curve/secret-key", NULL);
    zconfig_destroy (&text);
    zcert_t *cert = zcert_load (path);
    if (!cert)
        return bf_error_set (BF_EINVAL, "'%s' is not a CZMQ certificate", path);
    if (!has_secret || strcmp (zcert_secret_txt (cert), S_ZERO_KEY) == 0) {
        zcert_destroy (&cert);
        return bf_error_set (BF_EINVAL, "'%s' holds no secret key (give the NAME.key_secret "
                             "file, not NAME.key)", path);
    }
    if (sb.st_mode & 077) {
        zcert_destroy (&cert);
        return bf_error_set (BF_EINVAL, "secret key '%s' is open to others (mode %04o); "
                             "run: chmod 600 '%s'", path, (unsigned) (sb.st_mode & 07777), path);
    }
    *out = cert;
    return BF_OK;
}

int
bf_curve_load_public (char *key_out, const char *path)
{
    struct stat sb;
    if (stat (path, &sb) != 0)
        return bf_error_set (BF_EINVAL, "cannot read key '%s': %s", path, strerror (errno));
    zcert_t *cert = S_ISREG (sb.st_mode) ? zcert_load (path) : NULL;
    if (!cert || strcmp (zcert_public_txt (cert), S_ZERO_KEY) == 0) {
        zcert_destroy (&cert);
        return bf_error_set (BF_EINVAL, "'%s' is not a CZMQ certificate", path);
    }
    snprintf (key_out, BF_CURVE_KEY_LEN + 1, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return BF_OK;
}

int
bf_curve_new (bf_curve_t **out, const char *cert_path, const char *broker_key_path)
{
    *out = NULL;
    bf_curve_t *self = xcalloc (1, sizeof *self);
    int rc = bf_curve_load_secret (&self->cert, cert_path);
    if (rc == BF_OK)
        rc = bf_curve_load_public (self->broker_key, broker_key_path);
    if (rc != BF_OK) {
        bf_curve_destroy (&self);
        return rc;
    }
    self->broker_key_path = xstrdup (broker_key_path);
    *out = self;
    return BF_OK;
}

void
bf_curve_destroy (bf_curve_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_curve_t *self = *self_p;
    zactor_destroy (&self->monitor);
    zcert_destroy (&self->cert);
    free (self->broker_key_path);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

void
bf_curve_apply (bf_curve_t *self, zsock_t *sock)
{
    zactor_destroy (&self->monitor);
    zcert_apply (self->cert, sock);
    zsock_set_curve_serverkey (sock, self->broker_key);
    self->monitor = zactor_new (zmonitor, sock);
    zstr_sendx (self->monitor, "LISTEN", "HANDSHAKE_FAILED_AUTH", "HANDSHAKE_FAILED_PROTOCOL",
                "HANDSHAKE_FAILED_NO_DETAIL", NULL);
    zstr_sendx (self->monitor, "START", NULL);
    zsock_wait (self->monitor);
}

zactor_t *
bf_curve_monitor (bf_curve_t *self)
{
    return self->monitor;
}

bool
bf_curve_refused (bf_curve_t *self)
{
    bool refused = false;
    while (self->monitor && zsock_events (self->monitor) & ZMQ_POLLIN) {
        char *event = NULL, *value = NULL, *endpoint = NULL;
        if (zstr_recvx (self->monitor, &event, &value, &endpoint, NULL) < 0)
            break;
        if (event && strcmp (event, "HANDSHAKE_FAILED_AUTH") == 0)
            bf_error_set (BF_EACCES, "the broker at '%s' refused this key (%.12s..., CURVE "
                          "handshake status %s): it is not on the broker's allow-list",
                          endpoint ? endpoint : "?", zcert_public_txt (self->cert),
                          value ? value : "?");
        else
            bf_error_set (BF_EACCES, "CURVE handshake with '%s' failed (%s): is '%s' the "
                          "broker's public key?", endpoint ? endpoint : "?",
                          event ? event : "?", self->broker_key_path);
        refused = true;
        zstr_free (&event);
        zstr_free (&value);
        zstr_free (&endpoint);
    }
    return refused;
}

const char *
bf_curve_public (bf_curve_t *self)
{
    return zcert_public_txt (self->cert);
}

bool
bf_endpoint_is_local (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    if (strncmp (host, "[::1]:", 6) == 0 || strncmp (host, "localhost:", 10) == 0)
        return true;
    if (strncmp (host, "127.", 4) != 0)
        return false;
    /* 127.a.b.c: digits and dots up to the port. */
    const char *colon = strchr (host, ':');
    return colon && strspn (host, "0123456789.") == (size_t) (colon - host);
}

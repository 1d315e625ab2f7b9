/*  bf_auth - see bf_auth.h. */
#include "bf_auth.h"
#include "../common/bf_curve.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdlib.h>
#include <string.h>

#define S_ZAP_DOMAIN "bitfarm"

static const char *s_lists[] = { "workers", "clients", "admins" };
static const unsigned s_bits[] = { BF_AUTH_WORKER, BF_AUTH_CLIENT,
                                   BF_AUTH_CLIENT | BF_AUTH_ADMIN };

struct _bf_auth_t {
    zcert_t *cert;
    zactor_t *zauth;
    zcertstore_t *stores[3];    /* one per list, for roles */
    char *keys_dir;
};

int
bf_auth_new (bf_auth_t **out, const char *keys_dir, const char *cert_path)
{
    *out = NULL;
    bf_auth_t *self = xcalloc (1, sizeof *self);
    self->keys_dir = xstrdup (keys_dir);
    int rc = bf_curve_load_secret (&self->cert, cert_path);
    for (int i = 0; rc == BF_OK && i < 3; i++) {
        char *dir = xasprintf ("%s/%s", keys_dir, s_lists[i]);
        rc = bf_mkdir_p (dir, 0755);
        if (rc == BF_OK)
            self->stores[i] = zcertstore_new (dir);
        free (dir);
    }
    if (rc == BF_OK) {
        self->zauth = zactor_new (zauth, NULL);
        if (!self->zauth)
            rc = bf_error_set (BF_EIO, "cannot start zauth");
        else if (zstr_sendx (self->zauth, "CURVE", keys_dir, NULL) != 0
                 || zsock_wait (self->zauth) != 0)
            rc = bf_error_set (BF_EIO, "zauth refused CURVE on '%s'", keys_dir);
    }
    if (rc != BF_OK) {
        bf_auth_destroy (&self);
        return rc;
    }
    *out = self;
    return BF_OK;
}

void
bf_auth_destroy (bf_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_auth_t *self = *self_p;
    zactor_destroy (&self->zauth);
    for (int i = 0; i < 3; i++)
        zcertstore_destroy (&self->stores[i]);
    zcert_destroy (&self->cert);
    free (self->keys_dir);
    free (self);
    *self_p = NULL;
}

void
bf_auth_server (bf_auth_t *self, zsock_t *sock)
{
    zcert_apply (self->cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, S_ZAP_DOMAIN);
}

unsigned
bf_auth_roles (bf_auth_t *self, const char *key, const char **name_out)
{
    unsigned roles = 0;
    if (name_out)
        *name_out = key;
    if (!key || strlen (key) != BF_CURVE_KEY_LEN)
        return 0;
    for (int i = 0; i < 3; i++) {
        zcert_t *cert = zcertstore_lookup (self->stores[i], key);
        if (cert) {
            roles |= s_bits[i];
            const char *name = zcert_meta (cert, "name");
            if (name_out && name && *name)
                *name_out = name;
        }
    }
    return roles;
}

const char *
bf_auth_public (bf_auth_t *self)
{
    return zcert_public_txt (self->cert);
}

int
bf_auth_client_key (bf_auth_t *self, char *key_out, const char *name)
{
    size_t n = name ? strlen (name) : 0;
    if (n == 0 || n > 64 || name[0] == '.'
        || strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
           != n)
        return bf_error_set (BF_EINVAL, "bad key name '%.64s' (want 1..64 of A-Za-z0-9._-)",
                             name ? name : "");
    for (int i = 2; i >= 1; i--) {      /* admins, then clients */
        char *path = xasprintf ("%s/%s/%s.key", self->keys_dir, s_lists[i], name);
        zcert_t *cert = zsys_file_exists (path) ? zcert_load (path) : NULL;
        free (path);
        if (cert) {
            snprintf (key_out, 41, "%s", zcert_public_txt (cert));
            zcert_destroy (&cert);
            return BF_OK;
        }
    }
    return bf_error_set (BF_ENOTFOUND, "no client key '%s' in the broker's KEYS/clients or "
                         "KEYS/admins", name);
}

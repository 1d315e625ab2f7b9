/*  bitfarm - libbitfarm's version, errors and farms (include/bitfarm.h). */
#include "bitfarm_int.h"
#include "../client/bf_localfarm.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
bitfarm_version (int *major, int *minor, int *patch)
{
    if (major)
        *major = BITFARM_VERSION_MAJOR;
    if (minor)
        *minor = BITFARM_VERSION_MINOR;
    if (patch)
        *patch = BITFARM_VERSION_PATCH;
    return BITFARM_VERSION;
}

/* ---------------------------------------------------------------------- */
/*  Errors                                                                  */

static _Thread_local struct {
    bitfarm_error pub;
    char message[1024];
} s_last = { { BITFARM_OK, NULL }, "no error" };

static int
s_record (int code, const char *message)
{
    s_last.pub.code = code;
    snprintf (s_last.message, sizeof s_last.message, "%s", message);
    /* one line: a message from outside may hold a newline */
    for (char *c = s_last.message; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    s_last.pub.message = s_last.message;
    return code;
}

const bitfarm_error *
bitfarm_error_last (void)
{
    s_last.pub.message = s_last.message;
    return &s_last.pub;
}

const char *
bitfarm_error_name (int code)
{
    static const char *names[] = { "ok", "usage", "design", "infrastructure", "timeout",
                                   "denied", "cancelled", "busy" };
    return code <= 0 && code >= -7 ? names[-code] : "unknown";
}

int
bf_lib_ok (void)
{
    bf_error_clear ();
    return s_record (BITFARM_OK, "no error");
}

int
bf_lib_error (int code, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    return s_record (code, text);
}

/*  The broker's ERROR classes (docs/protocol.md, section 3). */
static const struct { const char *name; int code; } s_classes[] = {
    { "usage", BITFARM_EUSAGE }, { "design", BITFARM_EDESIGN },
    { "infrastructure", BITFARM_EINFRA }, { "denied", BITFARM_EDENIED },
    { "busy", BITFARM_EBUSY },
};

int
bf_lib_fail (int rc, const char *cls)
{
    if (rc == BF_OK)
        return bf_lib_ok ();
    int code = 0;
    for (size_t i = 0; cls && i < sizeof s_classes / sizeof *s_classes; i++)
        if (strcmp (cls, s_classes[i].name) == 0)
            code = s_classes[i].code;
    if (!code)
        switch (rc) {
            case BF_ERROR:        /* a refusal from the broker */
            case BF_EINVAL:
            case BF_ENOTFOUND:
            case BF_EAMBIGUOUS:
            case BF_ETOOBIG: code = BITFARM_EUSAGE; break;
            case BF_EACCES: code = BITFARM_EDENIED; break;
            case BF_EBUSY: code = BITFARM_EBUSY; break;
            default: code = BITFARM_EINFRA; break;   /* no answer, I/O, a broken reply */
        }
    return s_record (code, bf_error_last ());
}

int
bf_lib_request_fail (bitfarm_farm *farm, int rc)
{
    return bf_lib_fail (rc, rc == BF_ERROR ? bf_client_error_class (farm->client) : NULL);
}

void
bitfarm_free (void *ptr)
{
    free (ptr);
}

/* ---------------------------------------------------------------------- */
/*  Farms                                                                   */

static pthread_once_t s_once = PTHREAD_ONCE_INIT;

/*  A library does not take the process's signals: CZMQ would otherwise
    install its SIGINT/SIGTERM handler (zsys_init) in the host program. */
static void
s_init (void)
{
    zsys_handler_set (NULL);
    zsys_init ();   /* here, once: not raced by two threads' first sockets */
}

static int
s_open (bitfarm_farm **out, const char *endpoint, const char *cert, const char *broker_key)
{
    pthread_once (&s_once, s_init);
    *out = NULL;
    char *chosen = NULL;
    if (bf_client_endpoint (&chosen, endpoint) != BF_OK)
        return bf_lib_fail (BF_EIO, NULL);
    size_t n = strlen (chosen);
    if (n > 1024) {
        free (chosen);
        return bf_lib_error (BITFARM_EUSAGE, "endpoint of %zu bytes (at most 1024)", n);
    }
    bitfarm_farm *self = xcalloc (1, sizeof *self);
    self->endpoint = chosen;
    int rc = bf_client_new (&self->client, self->endpoint, 10000);
    if (rc == BF_OK && cert && (!broker_key || !*broker_key))
        rc = bf_error_set (BF_EINVAL, "a client key '%.200s' needs the broker's public key",
                           cert);
    if (rc == BF_OK && cert)
        rc = bf_client_curve (self->client, cert, broker_key);
    if (rc != BF_OK) {
        int code = bf_lib_fail (rc == BF_EACCES ? rc : BF_EINVAL, NULL);
        bitfarm_farm_close (&self);
        return code;
    }
    *out = self;
    return bf_lib_ok ();
}

int
bitfarm_farm_open (bitfarm_farm **out, const char *endpoint)
{
    const char *cert = getenv ("BITFARM_CERT");
    return s_open (out, endpoint, cert && *cert ? cert : NULL, getenv ("BITFARM_BROKER_KEY"));
}

int
bitfarm_farm_open_curve (bitfarm_farm **out, const char *endpoint, const char *secret_key_path,
                         const char *broker_key_path)
{
    if (!secret_key_path || !broker_key_path) {
        *out = NULL;
        return bf_lib_error (BITFARM_EUSAGE, "CURVE needs this client's secret key and the "
                             "broker's public key (paths)");
    }
    return s_open (out, endpoint, secret_key_path, broker_key_path);
}

void
bitfarm_farm_close (bitfarm_farm **farm_p)
{
    if (!farm_p || !*farm_p)
        return;
    bitfarm_farm *self = *farm_p;
    bf_client_destroy (&self->client);
    free (self->endpoint);
    free (self);
    *farm_p = NULL;
}

const char *
bitfarm_farm_endpoint (const bitfarm_farm *farm)
{
    return farm ? farm->endpoint : NULL;
}

int
bitfarm_farm_set_timeout (bitfarm_farm *farm, int timeout_ms)
{
    if (timeout_ms < 10 || timeout_ms > 3600000)
        return bf_lib_error (BITFARM_EUSAGE, "request timeout %d ms out of range (10 .. "
                             "3600000)", timeout_ms);
    bf_client_timeout (farm->client, timeout_ms);
    return bf_lib_ok ();
}

/*  One listing request; its reply's body as text into *json.  body is
    taken. */
static int
s_listing (bitfarm_farm *farm, const char *command, json_t *body, char **json)
{
    *json = NULL;
    bf_msg_t *reply = NULL;
    int rc = bf_client_request (farm->client, &reply, command, body, NULL);
    json_decref (body);
    if (rc != BF_OK)
        return bf_lib_request_fail (farm, rc);
    *json = json_dumps (reply->body, JSON_COMPACT | JSON_SORT_KEYS);
    bf_msg_destroy (&reply);
    return *json ? bf_lib_ok () : bf_lib_error (BITFARM_EINFRA, "cannot encode a reply");
}

int
bitfarm_jobs (bitfarm_farm *farm, int limit, const char *commit, char **json)
{
    if (limit < 0 || limit > 10000) {
        *json = NULL;
        return bf_lib_error (BITFARM_EUSAGE, "job limit %d out of range (1 .. 10000)", limit);
    }
    json_t *body = json_pack ("{s:i}", "limit", limit ? limit : 100);
    if (commit)
        json_object_set_new (body, "commit", json_string (commit));
    return s_listing (farm, "JOBS", body, json);
}

int
bitfarm_boards (bitfarm_farm *farm, char **json)
{
    return s_listing (farm, "BOARDS", json_object (), json);
}

int
bitfarm_workers (bitfarm_farm *farm, char **json)
{
    return s_listing (farm, "WORKERS", json_object (), json);
}

/* ---------------------------------------------------------------------- */
/*  A directory of the calling thread's own                                 */

typedef struct {
    const char *dir;
    int (*fn) (void *arg);
    void *arg;
    int rc;
    char error[1024];      /* the thread's bf_error_last, carried back */
    bool unshared;
} s_in_dir_t;

static void *
s_in_dir_main (void *p)
{
    s_in_dir_t *job = p;
    if (unshare (CLONE_FS) != 0)
        return NULL;       /* job->unshared stays false: the caller falls back */
    job->unshared = true;
    if (chdir (job->dir) != 0)
        job->rc = bf_error_set (BF_EINVAL, "cannot enter '%.200s': %s", job->dir,
                                strerror (errno));
    else
        job->rc = job->fn (job->arg);
    if (job->rc != BF_OK)
        snprintf (job->error, sizeof job->error, "%s", bf_error_last ());
    return NULL;
}

static pthread_mutex_t s_chdir_lock = PTHREAD_MUTEX_INITIALIZER;

int
bf_lib_in_dir (const char *dir, int (*fn) (void *arg), void *arg)
{
    s_in_dir_t job = { dir, fn, arg, BF_OK, "", false };
    pthread_t t;
    if (pthread_create (&t, NULL, s_in_dir_main, &job) == 0)
        pthread_join (t, NULL);
    if (job.unshared) {
        if (job.rc != BF_OK)
            bf_error_set (job.rc, "%s", job.error);
        return job.rc;
    }
    /* No thread of its own (seccomp): the process's directory, briefly. */
    pthread_mutex_lock (&s_chdir_lock);
    int back = open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;
    if (back < 0 || chdir (dir) != 0)
        rc = bf_error_set (BF_EINVAL, "cannot enter '%.200s': %s", dir, strerror (errno));
    else
        rc = fn (arg);
    if (back >= 0) {
        if (fchdir (back) != 0 && rc == BF_OK)
            rc = bf_error_set (BF_EIO, "cannot return to the current directory: %s",
                               strerror (errno));
        close (back);
    }
    pthread_mutex_unlock (&s_chdir_lock);
    return rc;
}

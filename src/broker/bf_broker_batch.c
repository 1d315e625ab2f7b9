/*  bf_broker_batch - group commit (see bf_broker_int.h and docs/protocol.md
    section "Durability"): the loop's transactions, and the messages held
    until they are durable. */
#include "bf_broker_int.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
s_msg_destroy (void **item)
{
    zmsg_destroy ((zmsg_t **) item);
}

bool
bf_broker_batch_begin (bf_broker_t *self)
{
    if (!self->held) {
        self->held = zlistx_new ();
        zlistx_set_destructor (self->held, s_msg_destroy);
        const char *fail = getenv ("BITFARM_TEST_FAIL_COMMIT");
        if (fail && *fail)
            self->fail_commit_on = strdup (fail);
    }
    if (bf_cache_batch_begin (self->cache) != BF_OK) {
        bf_warn ("no group commit this round: %s", bf_error_last ());
        return false;
    }
    if (bf_jobs_batch_begin (self->jobs) != BF_OK) {
        bf_warn ("no group commit this round: %s", bf_error_last ());
        bf_cache_batch_end (self->cache, false);
        return false;
    }
    self->batching = true;
    self->fail_this_batch = false;
    return true;
}

void
bf_broker_batch_hold (bf_broker_t *self, zmsg_t **msg_p)
{
    zlistx_add_end (self->held, *msg_p);
    *msg_p = NULL;   /* transferred */
}

void
bf_broker_batch_note (bf_broker_t *self, const char *command)
{
    if (!self->batching)
        return;
    self->batched_msgs++;
    if (self->fail_commit_on && strcmp (command, self->fail_commit_on) == 0) {
        self->fail_this_batch = true;
        free (self->fail_commit_on);   /* once */
        self->fail_commit_on = NULL;
    }
}

int
bf_broker_batch_end (bf_broker_t *self)
{
    self->batching = false;
    bool fail = self->fail_this_batch;
    int rc = bf_cache_batch_end (self->cache, !fail);
    int jrc = bf_jobs_batch_end (self->jobs, rc == BF_OK && !fail);
    if (rc == BF_OK)
        rc = jrc;
    if (rc == BF_OK && fail)
        rc = bf_error_set (BF_EIO, "cannot commit: failure injected by "
                           "BITFARM_TEST_FAIL_COMMIT");
    if (rc != BF_OK) {
        size_t dropped = zlistx_size (self->held);
        zlistx_purge (self->held);
        return bf_error_set (rc, "%s; %zu held message(s) not sent", bf_error_last (),
                             dropped);
    }
    self->batches++;
    for (zmsg_t *msg = zlistx_detach (self->held, NULL); msg;
         msg = zlistx_detach (self->held, NULL))
        if (zmsg_send (&msg, self->router) != 0) {
            bf_debug ("send to peer failed: %s", zmq_strerror (errno));
            zmsg_destroy (&msg);
        }
    return BF_OK;
}

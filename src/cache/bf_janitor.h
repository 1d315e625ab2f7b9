/*  bf_janitor - background upkeep of a cache directory: LRU eviction under
    the size cap (bf_cache_maintain), off the request path.

    The janitor is a CZMQ actor (zactor) with a bf_cache_t of its own.  It
    checks the cache every interval and at once when poked, and evicts
    between the watermarks described in bf_cache.h.
    Thread-safety: the handle belongs to the thread that created it.
*/
#ifndef BF_JANITOR_H_INCLUDED
#define BF_JANITOR_H_INCLUDED

#include <czmq.h>
#include "bf_cache.h"

typedef struct _bf_janitor_t bf_janitor_t;

/*  Starts a janitor for the cache at dir (which the caller has opened at
    least once, so it exists) with a cap of opts->max_size bytes, checking
    every interval_ms.  Returns NULL when there is no cap (nothing to do)
    or the thread cannot open the cache (logged). */
bf_janitor_t *bf_janitor_new (const char *dir, const bf_cache_opts_t *opts, int interval_ms);

/*  Asks for a check now (after a write).  Never blocks. */
void bf_janitor_poke (bf_janitor_t *self);

/*  Stops the thread and frees the handle; NULL-safe, sets *self_p NULL. */
void bf_janitor_destroy (bf_janitor_t **self_p);

#endif

/*  bf_explain - "why did this rebuild?": the differences between a design
    as it is now and a cache entry, input by input.

    Both sides are manifest records (bf_manifest.h, docs/protocol.md §3) plus the
    toolchain identity; together with the flow they are all the cache key
    hashes (§4), so any change of key shows up as at least one line here.
    The pcf is compared by path and content, as the key hashes both.
    Thread-safety: no shared state.
*/
#ifndef BF_EXPLAIN_H_INCLUDED
#define BF_EXPLAIN_H_INCLUDED

#include <jansson.h>
#include "../common/bf_manifest.h"

/*  Compares `now` (manifest, toolchain or NULL when unknown) with `cached`
    (manifest, toolchain).  Returns a new JSON array of one-line strings,
    one per difference, empty when the inputs are the same.  Lines read
    like "file rtl/top.v: content changed (sha256 1a2b3c4d5e6f -> ...)",
    "define WIDTH: added (=8)", "seed: 1 -> 2", "toolchain: ... -> ...". */
json_t *bf_explain_diff (const bf_manifest_t *now, const char *now_toolchain,
                         const bf_manifest_t *cached, const char *cached_toolchain);

#endif

/*  bf_submit_body - the body of a SUBMIT request (docs/protocol.md): the
    one place that builds it, for bf_client_submit (libzmq) and the lean
    `submit` (src/submit/main.c, bf_zmtp.h), so both send the same bytes
    for the same options.  No state; links nothing beyond jansson.
*/
#ifndef BF_SUBMIT_BODY_H_INCLUDED
#define BF_SUBMIT_BODY_H_INCLUDED

#include "bf_client.h"
#include "../common/bf_manifest.h"

#include <jansson.h>

/*  A new JSON object: the manifest in its wire form, the priority, and
    from opts (not NULL) timeout_ms, tags, toolchain, provenance and
    program.  The caller adds "proofs" on a CURVE connection. */
json_t *bf_submit_body (const bf_manifest_t *manifest, const bf_submit_opts_t *opts);

#endif

/*  bf_submit_body - see bf_submit_body.h. */
#include "bf_submit_body.h"

json_t *
bf_submit_body (const bf_manifest_t *manifest, const bf_submit_opts_t *opts)
{
    json_t *body = json_pack ("{s:o, s:i}", "manifest",
                              bf_manifest_encode (manifest),   /* the wire's form */
                              "priority", opts->priority);
    if (opts->timeout_ms > 0)
        json_object_set_new (body, "timeout_ms", json_integer (opts->timeout_ms));
    if (opts->tags && opts->tags[0]) {
        json_t *tags = json_array ();
        for (const char *const *t = opts->tags; *t; t++)
            json_array_append_new (tags, json_string (*t));
        json_object_set_new (body, "tags", tags);
    }
    if (opts->toolchain)
        json_object_set_new (body, "toolchain", json_string (opts->toolchain));
    if (opts->provenance)
        json_object_set (body, "provenance", opts->provenance);
    if (opts->program_board) {
        json_t *p = json_pack ("{s:s}", "board", opts->program_board);
        if (opts->token)
            json_object_set_new (p, "token", json_string (opts->token));
        json_object_set_new (body, "program", p);
    }
    return body;
}

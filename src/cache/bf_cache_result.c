/*  bf_cache_result - storing a build result in the cache: its objects
    (bitstream checked against the device), then the entry naming them
    (see bf_cache.h; the module's files are listed in bf_cache_int.h). */
#include "bf_cache_int.h"
#include "bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_util.h"

#include <string.h>

int
bf_cache_put_result_objects (bf_cache_t *self, const bf_manifest_t *m, json_t *result, size_t n,
                             const void *const *data, const size_t *lens)
{
    int rc = bf_cache_hold (self);
    size_t blob = 0;   /* the next blob: one for each object the result names */
    for (int i = 0; i < BF_CACHE_ENTRY_OBJECTS && rc == BF_OK; i++) {
        const char *name = bf_cache_entry_object_names[i];
        const char *d = json_string_value (json_object_get (result, name));
        if (!d)
            continue;
        if (blob >= n) {
            rc = bf_error_set (BF_EPROTO, "no blob for the %s", name);
            break;
        }
        if (i == 0)
            rc = bf_manifest_check_bitstream (m, lens[blob]);
        if (rc == BF_OK)
            rc = bf_cache_put_object (self, d, data[blob], lens[blob]);
        blob++;
    }
    bf_cache_release (self);
    return rc;
}

int
bf_cache_put_result_entry (bf_cache_t *self, const char *key, const bf_manifest_t *m,
                           const char *toolchain, bool ok, json_t *result)
{
    char action[BF_SHA256_HEX_LEN + 1];
    bf_key_action (action, m);
    bf_cache_entry_t e;
    bf_cache_entry_init (&e);
    e.action = xstrdup (action);
    e.toolchain = toolchain ? xstrdup (toolchain) : NULL;
    e.outcome = ok ? BF_CACHE_SUCCEEDED : BF_CACHE_FAILED;
    e.manifest = bf_manifest_encode (m);   /* the database's form */
    const char *stage = json_string_value (json_object_get (result, "stage"));
    const char *error = json_string_value (json_object_get (result, "error"));
    e.stage = stage ? xstrdup (stage) : NULL;
    e.error = error ? xstrdup (error) : NULL;
    for (int i = 0; i < BF_CACHE_ENTRY_OBJECTS; i++) {
        const char *d = json_string_value (json_object_get (result, bf_cache_entry_object_names[i]));
        *bf_cache_entry_object (&e, i) = d ? xstrdup (d) : NULL;
    }
    json_t *ms = json_object_get (result, "build_ms");
    e.build_ms = json_is_integer (ms) && json_integer_value (ms) > 0 ? json_integer_value (ms) : 0;
    int rc = bf_cache_store_entry (self, key, &e);
    bf_cache_entry_release (&e);
    return rc;
}

/*  bf_cachewriter - a cache writer for crash and concurrency tests.

    usage: bf_cachewriter DIR SEED COUNT
    Writes COUNT entries into the cache at DIR, the way the broker writes a
    build result: two objects (a 100 kB "bitstream" and a log) and then the
    entry naming them.  Entry i's key and bytes depend only on SEED and i,
    so writers with the same SEED write the same keys and objects.
    Exits 0 when every write succeeded, 1 (with the error) otherwise. */
#include "../../src/cache/bf_cache.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_sha256.h"
#include "../../src/common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BITSTREAM 100000

int
main (int argc, char **argv)
{
    if (argc != 4) {
        fprintf (stderr, "usage: bf_cachewriter DIR SEED COUNT\n");
        return 2;
    }
    long count = strtol (argv[3], NULL, 10);
    bf_cache_t *cache = NULL;
    if (bf_cache_open (&cache, argv[1], NULL) != BF_OK) {
        fprintf (stderr, "bf_cachewriter: %s\n", bf_error_last ());
        return 1;
    }
    unsigned char *bits = xmalloc (S_BITSTREAM);
    int rc = BF_OK;
    for (long i = 0; i < count && rc == BF_OK; i++) {
        char name[128], key[65], bd[65], ld[65];
        snprintf (name, sizeof name, "%s:%ld", argv[2], i);
        bf_sha256_hex (key, name, strlen (name));
        for (size_t k = 0; k < S_BITSTREAM; k++)
            bits[k] = (unsigned char) (key[k % 64] * (k + 1));
        char log[256];
        int loglen = snprintf (log, sizeof log, "log of build %s\n", name);
        bf_sha256_hex (bd, bits, S_BITSTREAM);
        bf_sha256_hex (ld, log, (size_t) loglen);
        const char *digests[] = { bd, ld };
        const void *data[] = { bits, log };
        size_t lens[] = { S_BITSTREAM, (size_t) loglen };
        bf_cache_hold (cache);
        rc = bf_cache_put_objects (cache, 2, digests, data, lens);
        if (rc == BF_OK) {
            json_t *entry = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "action", key,
                                       "toolchain", "tc-writer", "outcome", "succeeded",
                                       "bitstream", bd, "log", ld, "manifest", "name", name);
            rc = bf_cache_put_entry (cache, key, entry);
            json_decref (entry);
        }
        bf_cache_release (cache);
    }
    if (rc != BF_OK)
        fprintf (stderr, "bf_cachewriter: %s\n", bf_error_last ());
    free (bits);
    bf_cache_destroy (&cache);
    return rc == BF_OK ? 0 : 1;
}

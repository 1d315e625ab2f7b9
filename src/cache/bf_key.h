/*  bf_key - the cache key: SHA-256 over a canonical, versioned, typed
    serialization of everything that can change a bitstream.

    Serialization: bencode (BitTorrent BEP 3: i<int>e, <len>:<bytes>,
    l...e, d...e with keys sorted by raw bytes), applied to
        d "flow"      -> the flow's exact tool flags (BF_FLOW_ICE40)
          "manifest"  -> the manifest's normal form (bf_manifest_encode),
                         all of it: the pcf's path too (schema 1 left it
                         out, but a pcf's place in the tree can change what
                         an `include resolves to)
          "schema"    -> "bitfarm-cache-key/2"
          "toolchain" -> the worker's toolchain identity digest
          "salt"      -> the farm's cache salt (bitfarm-broker --cache-salt),
                         only when one is set, so unsalted keys are as before
    JSON strings map to bencode strings, integers to integers, arrays to
    lists and objects to dicts; nothing else may occur (booleans, floats
    and null are refused).  Absolute paths, times, host names and the order
    of command-line flags are not in the manifest, so they cannot reach the
    key.  Changing any of this requires bumping "schema".
    Thread-safety: no shared state.
*/
#ifndef BF_KEY_H_INCLUDED
#define BF_KEY_H_INCLUDED

#include "../common/bf_manifest.h"
#include "../common/bf_sha256.h"

#define BF_KEY_SCHEMA "bitfarm-cache-key/2"

/*  Writes the canonical serialization of a manifest with a
    toolchain id (and salt, NULL for none) into a new heap buffer *out of
    *len_out bytes (caller frees).  Returns BF_OK or BF_EINVAL for a value of a type bencode cannot
    carry. */
int bf_key_canonical (char **out, size_t *len_out, const bf_manifest_t *m, const char *toolchain,
                      const char *salt);

/*  Computes the cache key (64 hex chars + NUL) of a manifest built by the
    given toolchain.  Returns BF_OK or BF_EINVAL. */
int bf_key_compute (char key_out[BF_SHA256_HEX_LEN + 1], const bf_manifest_t *m,
                    const char *toolchain);

/*  The same with a salt (NULL or "" = none; see above).  A new salt gives
    every design a new key: the way to disown a whole cache namespace. */
int bf_key_compute_salted (char key_out[BF_SHA256_HEX_LEN + 1], const bf_manifest_t *m,
                           const char *toolchain, const char *salt);

/*  The "action digest": the key with an empty toolchain, i.e. of the
    design and options alone.  Used to name a design independently of who
    builds it. */
int bf_key_action (char out[BF_SHA256_HEX_LEN + 1], const bf_manifest_t *m);

#endif

/*  bf_toolchain - the identity of the iCE40 toolchain a worker runs.

    The identity is the SHA-256 of a list of "name<TAB>sha256<LF>" lines: the
    binaries yosys, yosys-abc, nextpnr-ice40 and icepack (as found in PATH,
    links resolved), then every file of yosys' share directory
    (<prefix>/share/yosys) by relative path, sorted.  It changes whenever
    any byte of the toolchain changes, which version strings do not promise
    (Glasgow's bitstream cache does the same).
    Hashing nextpnr-ice40 (over 200 MB on Debian) takes a moment, so the
    result is remembered in a file keyed by every file's path, size, inode
    and mtime; a changed file invalidates it.
*/
#ifndef BF_TOOLCHAIN_H_INCLUDED
#define BF_TOOLCHAIN_H_INCLUDED

#include <jansson.h>
#include "../common/bf_sha256.h"

typedef struct {
    char id[BF_SHA256_HEX_LEN + 1];
    json_t *versions;     /* {"yosys": "...", "nextpnr-ice40": "..."}; owned */
} bf_toolchain_t;

/*  Identifies the toolchain, using and refreshing the memo file at
    memo_path (may be NULL: always hash).  Returns BF_OK, or BF_ENOTFOUND
    with a detail naming the missing tool, or BF_EIO. */
int bf_toolchain_identify (bf_toolchain_t *out, const char *memo_path);

/*  Frees the contents of a bf_toolchain_t (git's *_release). */
void bf_toolchain_release (bf_toolchain_t *self);

#endif

/*  bf_toolchain - the identity of the iCE40 toolchain a worker runs.

    The identity is the SHA-256 of a list of "name<TAB>sha256<LF>" lines: the
    binaries yosys, yosys-abc, nextpnr-ice40 and icepack (as found in PATH,
    or in one directory given with bitfarm-worker --tools DIR; links
    resolved), then every file of yosys' share directory
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
#include "bf_sha256.h"

#define BF_TOOLCHAIN_NTOOLS 4   /* yosys, yosys-abc, nextpnr-ice40, icepack */

typedef struct {
    char id[BF_SHA256_HEX_LEN + 1];
    json_t *versions;     /* each tool's version line: {"yosys": "Yosys 0.23 ...",
                             "yosys-abc": "...", "nextpnr-ice40": "...", "icepack": "..."}
                             (icepack has no version option: "unknown, sha256 PREFIX");
                             owned */
    char *dir;            /* the tools' directory (--tools), or NULL: PATH; owned */
    char *paths[BF_TOOLCHAIN_NTOOLS];   /* what to run: DIR/NAME, or the bare name for PATH */
} bf_toolchain_t;

/*  The tool names, in BF_TOOLCHAIN_NTOOLS order. */
extern const char *const bf_toolchain_tools[BF_TOOLCHAIN_NTOOLS];

/*  Identifies the toolchain in dir (NULL: the tools found in PATH), using
    and refreshing the memo file at memo_path (may be NULL: always hash).
    Returns BF_OK, or BF_ENOTFOUND with a detail naming the missing tool,
    or BF_EIO. */
int bf_toolchain_identify (bf_toolchain_t *out, const char *dir, const char *memo_path);

/*  The path to run tool NAME ("yosys", "nextpnr-ice40", "icepack") with,
    borrowed from self; NAME itself when self is NULL or for PATH. */
const char *bf_toolchain_path (const bf_toolchain_t *self, const char *name);

/*  Frees the contents of a bf_toolchain_t (git's *_release). */
void bf_toolchain_release (bf_toolchain_t *self);

#endif

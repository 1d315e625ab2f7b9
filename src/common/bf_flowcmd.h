/*  bf_flowcmd - the exact commands of the iCE40 flow for a normalized
    manifest: the yosys script, the nextpnr-ice40 and icepack command lines.

    One source for the worker, which runs them (bf_flow), and for `bitfarm
    explain` and the top of every build log, which show them.  The flags are
    those the user asked for and nothing else (BF_FLOW_ICE40):
        read_verilog [-defer] [-sv] [-DNAME[=VALUE]]... [-IDIR]... FILE one per source
        chparam -set NAME VALUE TOP                                      one per param
        synth_ice40 -top TOP [SYNTH_OPTS] -json NETLIST
        nextpnr-ice40 --DEVICE [--package PKG] --json NETLIST [--pcf PCF] --asc ASC
                      --report REPORT [--seed N] [--freq MHZ] [PNR_OPTS]
        icepack ASC BIN
    -defer is used only when there are params, so that yosys elaborates the
    hierarchy once, with them (read_verilog -defer in yosys' `help
    read_verilog`); without params the script is what `yosys FILES -p
    synth_ice40` runs.  No --seed without a seed: nextpnr's own default.
    Tool options come in name order (bf_manifest_opts_argv).
    Thread-safety: no shared state.
*/
#ifndef BF_FLOWCMD_H_INCLUDED
#define BF_FLOWCMD_H_INCLUDED

#include "bf_manifest.h"
#include "bf_toolopt.h"

#define BF_FLOWCMD_ARGV_MAX (20 + 2 * BF_TOOLOPT_MAX)

/*  An argument vector, NULL-terminated; strings borrowed from the manifest
    and the caller, except those in owned (freed by bf_argv_release). */
typedef struct {
    const char *argv[BF_FLOWCMD_ARGV_MAX + 1];
    int argc;
    char *owned[4];
} bf_argv_t;

void bf_argv_release (bf_argv_t *self);

/*  The yosys script (one command a line) as a new heap string (caller
    frees).  Source and include paths get the prefix up (the way from the
    directory yosys runs in to the source root: "" or "../.."-like, with a
    trailing slash; "" becomes "./", so every path starts with "./" or
    "../" and yosys reads it literally); netlist is the output as yosys
    names it.  Every name in it was validated by bf_manifest_decode, so no
    user text can become a yosys command. */
char *bf_flowcmd_yosys_script (const bf_manifest_t *m, const char *up, const char *netlist);

/*  nextpnr-ice40's argv into *out.  pcf_prefix goes before the pcf's
    relative path; the other paths are used as given.  Release *out. */
void bf_flowcmd_nextpnr (bf_argv_t *out, const bf_manifest_t *m, const char *netlist,
                         const char *pcf_prefix, const char *asc, const char *report);

/*  One argv as a shell command line, each word quoted only where a POSIX
    shell would otherwise read it differently.  New heap string. */
char *bf_flowcmd_shell (const char *const *argv);

/*  The whole flow as a person would paste it into a shell from the
    manifest's workdir in their own tree, writing netlist.json, top.asc,
    report.json and top.bin there (the only difference from the worker's
    commands: the worker writes them to its job directory's out/).  New
    heap string, several lines. */
char *bf_flowcmd_by_hand (const bf_manifest_t *m);

/*  "../" once per component of workdir ("" for "."): the way from workdir
    back to the source root.  New heap string. */
char *bf_flowcmd_up (const char *workdir);

#endif

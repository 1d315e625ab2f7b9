/*  bf_toolopt - the tool options a user may pass through to synth_ice40
    (`submit --synth-opt`) and nextpnr-ice40 (`submit --pnr-opt`), checked
    against one allow-list per tool.

    Allowed are the options a user legitimately sets to change how a design
    is synthesised or placed and routed (yosys 0.23 `help synth_ice40`,
    nextpnr-ice40 0.4 `--help`).  Refused, each with its reason, are options
    that run code (nextpnr's --run/--pre-pack/... Python scripts), that read
    or write files other than the farm's own (--write, --sdf, -json, -blif),
    that stop before a bitstream exists (--pack-only, -run), that make a
    build unrepeatable (--randomize-seed), that the farm sets itself from
    other submit options (-top, --package, --pcf), and that change nothing
    in the bitstream (--verbose, --debug, --detailed-timing-report).  An
    option in neither list is unknown and refused.  The lists and their
    reasons are documented in docs/flows.md.

    In a manifest the options of one tool are a JSON object of option name
    to value text ("" for a flag): {"-dsp": "", "-dffe_min_ce_use": "4"}.
    Every listed option is one whose order the tool ignores, so the object
    (sorted by name in the cache key, bf_key.h) is their canonical form, and
    an option may appear once (bf_manifest_opts_argv gives them to the
    tool in name order).  nextpnr's --seed and --freq are accepted
    here too; bf_manifest_decode moves them to the manifest's own
    "seed" and "freq_khz" fields, their canonical place.
    Thread-safety: constant tables, no shared state.
*/
#ifndef BF_TOOLOPT_H_INCLUDED
#define BF_TOOLOPT_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>

typedef enum {
    BF_TOOL_SYNTH = 0,          /* yosys synth_ice40 */
    BF_TOOL_PNR = 1             /* nextpnr-ice40 */
} bf_tool_t;

#define BF_TOOLOPT_MAX       64   /* options per tool in one manifest */
#define BF_TOOLOPT_VALUE_MAX 32   /* bytes of one option's value */

/*  Adds one option as the user wrote it ("-dsp", "--placer heap",
    "--placer=heap"; a value may also come separately in value, else NULL)
    to the options object opts of tool.  Returns BF_OK, or BF_EINVAL with
    a one-line detail naming the option and what is allowed (an unknown or
    refused option, a missing, surplus or bad value, an option given
    twice). */
int bf_toolopt_add (json_t *opts, bf_tool_t tool, const char *spec, const char *value);

/*  Checks an options object from outside (a manifest field) and returns
    its normal form as a new object in *out (caller decrefs); NULL in is
    an empty object.  Same errors as bf_toolopt_add, plus BF_ETOOBIG for
    more than BF_TOOLOPT_MAX options. */
int bf_toolopt_normalize (json_t **out, bf_tool_t tool, json_t *in);

/*  The tool's name for messages: "synth_ice40" or "nextpnr-ice40". */
const char *bf_toolopt_tool_name (bf_tool_t tool);

#endif

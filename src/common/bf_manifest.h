/*  bf_manifest - the build manifest: every input of a build, by relative
    path and SHA-256, plus the flow options.  It is what a client sends, what
    the broker stores with a job and what the cache key is computed from
    (docs/protocol.md, "Manifest").

    The manifest is a JSON object.  bf_manifest_normalize checks one that
    came from outside against the limits below and returns its normal form:
        {
          "version": 1, "flow": "ice40",
          "top": "top", "device": "up5k", "package": "sg48",   package optional
          "workdir": ".",                     relative dir the tools run in
          "sources": [ {"path","sha256","size","lang"} ... ]   in read order
          "data":    [ {"path","sha256","size"} ... ]         sorted by path
          "pcf":     {"path","sha256","size"}                 optional
          "defines": {"NAME": "VALUE"},  "params": {"NAME": "VALUE"},
          "includes": ["dir", ...],                           in search order
          "synth_opts": {"-dsp": ""},  "pnr_opts": {"--placer": "heap"},
          "freq_khz": 12000,                                  optional
          "seed": 1                                           optional
        }
    lang is "verilog" (.v) or "systemverilog" (.sv); "data" holds files that
    are uploaded but not read as sources (`include files, $readmemh data).
    device and package are as nextpnr-ice40 names them (bf_ice40_devices.h);
    without a package nextpnr gets no --package (its default for the device).
    A param value is a Verilog number (42, 8'hff) or a string, kept in
    double quotes ("\"sw/fw.hex\"") whether or not it came quoted.
    synth_opts and pnr_opts are the options passed through to synth_ice40
    and nextpnr-ice40 (bf_toolopt.h); a --seed or --freq among the pnr_opts
    moves to "seed" and "freq_khz".  Without "seed" nextpnr gets no --seed
    at all: its own default, exactly as a by-hand run without one.
    Thread-safety: no shared state.
*/
#ifndef BF_MANIFEST_H_INCLUDED
#define BF_MANIFEST_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define BF_MANIFEST_VERSION   1
#define BF_MAX_FILES          1000            /* inputs per manifest */
#define BF_MAX_FILE_SIZE      (16u << 20)     /* bytes per input */
#define BF_MAX_TOTAL_SIZE     (64u << 20)     /* bytes of all inputs */
#define BF_MAX_PATH           255             /* bytes of a relative path */
#define BF_MAX_NAME           128             /* top, define and param names */
#define BF_MAX_VALUE          256             /* define and param values */
#define BF_MAX_DEFINES        64              /* defines, params, include dirs each */
#define BF_SEED_MAX           2147483647
#define BF_FREQ_KHZ_MAX       1000000         /* 1 GHz */

/*  The exact tool flow a manifest is built with.  It is part of the cache
    key: change it whenever any flag the worker passes to a tool changes. */
#define BF_FLOW_ICE40 \
    "ice40/2: yosys -s build.ys {read_verilog [-defer if params] [-sv] -DNAME=VALUE -IDIR FILE; " \
    "[chparam -set NAME VALUE TOP]; synth_ice40 -top TOP [SYNTH_OPTS] -json netlist.json}; " \
    "nextpnr-ice40 --DEVICE [--package PKG] --json netlist.json [--pcf FILE] --asc top.asc " \
    "--report report.json [--seed SEED] [--freq MHZ] [PNR_OPTS]; icepack top.asc top.bin"

/*  The diagnostic flow, as a queue's health check: the worker writes the
    inputs, checks their digests, waits delay_ms (0..BF_NOOP_DELAY_MAX)
    and returns as its "bitstream" a text listing the inputs' digests.  It
    runs no tool; it exists to exercise the farm (tests, load, failover). */
#define BF_FLOW_NOOP "noop/1: wait DELAY_MS; bitstream = 'bitfarm noop' + one 'SHA256 PATH' line per input"
#define BF_NOOP_DELAY_MAX 600000

/*  The flow string (BF_FLOW_ICE40 or BF_FLOW_NOOP) of a normalized manifest. */
const char *bf_manifest_flow (json_t *manifest);

/*  Checks a manifest from outside and returns its normal form as a new
    JSON object in *out (caller json_decref's it).  Returns BF_OK, or
    BF_EINVAL / BF_ETOOBIG with a one-line detail naming the field and
    value (bf_error_last). */
int bf_manifest_normalize (json_t **out, json_t *in);

/*  Validators for names that reach tool command lines, used by the client
    before it sends and by the broker on receipt.  Each returns true when
    the value is acceptable. */
bool bf_manifest_valid_path (const char *path);
bool bf_manifest_valid_ident (const char *name);
bool bf_manifest_valid_define_value (const char *value);
bool bf_manifest_valid_param_value (const char *value);

/*  Checks a param value and writes its normal form into out: a Verilog
    number as given, anything else as a string in double quotes (a value
    that came quoted stays as it is).  Returns false for a value that is
    neither (see S_PARAM_RULE in bf_manifest.c for the characters). */
bool bf_manifest_param_value (char out[BF_MAX_VALUE + 3], const char *value);

/*  True when nextpnr-ice40 --DEVICE takes --package PACKAGE
    (bf_ice40_devices.h). */
bool bf_manifest_package (const char *device, const char *package);

/*  Known iCE40 devices ("hx1k", "up5k", ...).  For a known device, returns
    true and (when out is not NULL) its configuration bitstream size in
    bytes. */
bool bf_manifest_device (const char *device, uint64_t *bitstream_size_out);

/*  Checks a bitstream of len bytes built from a normalized manifest: for
    the ice40 flow its size must be the device's fixed configuration size
    (hx1k 32,220 B; up5k 104,090 B; hx8k 135,100 B; see bf_ice40_devices).
    Returns BF_OK, or BF_ECORRUPT with a detail naming both sizes. */
int bf_manifest_check_bitstream (json_t *manifest, uint64_t len);

/*  The distinct input digests of a normalized manifest, in input order: a
    new JSON array of strings (caller decrefs). */
json_t *bf_manifest_input_digests (json_t *manifest);

/*  Calls fn for every input (sources, data, pcf) of a normalized manifest.
    Stops early and returns fn's value when it is not BF_OK. */
typedef int (bf_manifest_input_fn) (void *arg, const char *path, const char *sha256, uint64_t size);
int bf_manifest_each_input (json_t *manifest, bf_manifest_input_fn *fn, void *arg);

#endif

/*  bf_manifest - the build manifest: every input of a build, by relative
    path and SHA-256, plus the flow options.  It is what a client sends, what
    the broker stores with a job and what the cache key is computed from
    (docs/protocol.md, "Manifest").

    At the core a manifest is a typed record, bf_manifest_t, with one JSON
    codec: bf_manifest_decode checks a JSON object from outside (the wire,
    the database) against the limits below and fills the record;
    bf_manifest_encode writes the record's normal form back as JSON:
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
          "seed": 1,                                          optional
          "delay_ms": 0                                       noop flow only
        }
    (keys in this order; maps keep the order they came in).  Decoding the
    encoding gives the same record, and encoding it again the same JSON: the
    normal form is a fixed point.  JSON is made only at the edges: the wire,
    the databases, the cache key's canonical form (bf_key.h) and `bitfarm
    explain`'s output.
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
    Thread-safety: no shared state; a bf_manifest_t belongs to one thread
    (or is read-only).
*/
#ifndef BF_MANIFEST_H_INCLUDED
#define BF_MANIFEST_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bf_ice40_devices.h"
#include "bf_sha256.h"

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

/* ---- The record ---------------------------------------------------- */

typedef enum {
    BF_FLOW_KIND_ICE40 = 0,     /* "ice40": yosys, nextpnr-ice40, icepack */
    BF_FLOW_KIND_NOOP           /* "noop": the diagnostic flow */
} bf_flow_kind_t;

typedef enum {
    BF_LANG_VERILOG = 0,        /* "verilog" (.v) */
    BF_LANG_SYSTEMVERILOG       /* "systemverilog" (.sv): read_verilog -sv */
} bf_lang_t;

/*  One input file: a checked relative path, its content digest (64
    lowercase hex) and size in bytes (at most BF_MAX_FILE_SIZE).  lang is
    meaningful for sources only (BF_LANG_VERILOG elsewhere). */
typedef struct {
    char path[BF_MAX_PATH + 1];
    char sha256[BF_SHA256_HEX_LEN + 1];
    uint64_t size;
    bf_lang_t lang;
} bf_manifest_file_t;

/*  NAME -> VALUE, in normal form: a define (value "" for a bare -DNAME), a
    param (a Verilog number, or a string in double quotes), or a tool option
    (name as the tool spells it, value "" for a flag; bf_toolopt.h). */
typedef struct {
    char name[BF_MAX_NAME + 1];
    char value[BF_MAX_VALUE + 3];
} bf_manifest_pair_t;

typedef struct {
    bf_manifest_file_t *items;  /* owned array of n */
    size_t n;
} bf_manifest_files_t;

typedef struct {
    bf_manifest_pair_t *items;  /* owned array of n, in the order given */
    size_t n;
} bf_manifest_pairs_t;

typedef struct {
    bf_flow_kind_t flow;
    char top[BF_MAX_NAME + 1];                /* a checked identifier */
    const bf_ice40_device_t *device;          /* an entry of bf_ice40_devices */
    const char *package;                      /* one of device->packages; NULL: none */
    char workdir[BF_MAX_PATH + 1];            /* "." or a checked relative dir */
    bf_manifest_files_t sources;              /* at least one, in read order */
    bf_manifest_files_t data;                 /* sorted by path */
    bool has_pcf;
    bf_manifest_file_t pcf;                   /* when has_pcf */
    bf_manifest_pairs_t defines, params;      /* at most BF_MAX_DEFINES each */
    char (*includes)[BF_MAX_PATH + 1];        /* owned array of n_includes, in order */
    size_t n_includes;                        /* at most BF_MAX_DEFINES */
    bf_manifest_pairs_t synth_opts, pnr_opts; /* at most BF_TOOLOPT_MAX each */
    int64_t freq_khz;                         /* 1..BF_FREQ_KHZ_MAX; -1: none */
    int64_t seed;                             /* 0..BF_SEED_MAX; -1: none */
    int64_t delay_ms;                         /* noop flow: 0..BF_NOOP_DELAY_MAX */
} bf_manifest_t;

/*  git's lifecycle: init empties (no pcf, seed and freq_khz -1), release
    frees the arrays and leaves the record as init does.  Release accepts
    an initialised or released record. */
void bf_manifest_init (bf_manifest_t *self);
void bf_manifest_release (bf_manifest_t *self);

/*  The one decoder: checks a manifest from outside (JSON, from the wire or
    a database) and fills *out with its normal form.  *out is initialised
    here; on failure it is left empty (released).  Returns BF_OK, or
    BF_EINVAL / BF_ETOOBIG with a one-line detail naming the field and
    value (bf_error_last), e.g. "unknown device 'hx9k' (known: ...)". */
int bf_manifest_decode (bf_manifest_t *out, json_t *in);

/*  The one encoder: the record's normal form as a new JSON object (caller
    decrefs), as drawn above. */
json_t *bf_manifest_encode (const bf_manifest_t *m);

/*  The name of the encoding's i-th top-level field, in its order
    ("version", "flow", "top", ...; NULL for i past the last), and a field
    by name as a new JSON value
    (caller decrefs), or NULL when the record does not hold it (no
    "package", "pcf", "freq_khz", "seed", or "delay_ms" outside the noop
    flow) or the name is not a field.  bf_manifest_encode is made of these;
    `bitfarm explain --diff` compares fields with them. */
const char *bf_manifest_field_name (size_t i);
json_t *bf_manifest_field (const bf_manifest_t *m, const char *name);

/*  Decode then encode: the normal form of a manifest from outside as a new
    JSON object in *out (caller decrefs; NULL on failure).  Same errors as
    bf_manifest_decode. */
int bf_manifest_normalize (json_t **out, json_t *in);

/*  The flow string (BF_FLOW_ICE40 or BF_FLOW_NOOP) of a manifest. */
const char *bf_manifest_flow (const bf_manifest_t *m);

/*  Names of the enums as in the JSON ("ice40", "systemverilog"). */
const char *bf_flow_kind_name (bf_flow_kind_t flow);
const char *bf_lang_name (bf_lang_t lang);

/*  A name -> value map's entry by name, or NULL. */
const bf_manifest_pair_t *bf_manifest_pairs_find (const bf_manifest_pairs_t *pairs,
                                                  const char *name);

/*  A file list's entry by path, or NULL. */
const bf_manifest_file_t *bf_manifest_files_find (const bf_manifest_files_t *files,
                                                  const char *path);

/*  Appends options (synth_opts or pnr_opts) to argv as the tool takes them
    ("-dffe_min_ce_use", "4"; a flag alone), in name order; argv must have
    room for 2 * opts->n more entries.  The strings are borrowed from opts.
    Returns the new count. */
int bf_manifest_opts_argv (const char **argv, int argc, const bf_manifest_pairs_t *opts);

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

/*  Checks a bitstream of len bytes built from a manifest: for
    the ice40 flow its size must be the device's fixed configuration size
    (hx1k 32,220 B; up5k 104,090 B; hx8k 135,100 B; see bf_ice40_devices).
    Returns BF_OK, or BF_ECORRUPT with a detail naming both sizes. */
int bf_manifest_check_bitstream (const bf_manifest_t *m, uint64_t len);

/*  The distinct input digests of a manifest, in input order: a new JSON
    array of strings (caller decrefs), as the wire carries them. */
json_t *bf_manifest_input_digests (const bf_manifest_t *m);

/*  Calls fn for every input of a manifest: sources, data, then the pcf.
    Stops early and returns fn's value when it is not BF_OK. */
typedef int (bf_manifest_input_fn) (void *arg, const bf_manifest_file_t *file);
int bf_manifest_each_input (const bf_manifest_t *m, bf_manifest_input_fn *fn, void *arg);

#endif

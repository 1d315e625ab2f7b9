/*  bf_flow - the iCE40 build flow: yosys -> nextpnr-ice40 -> icepack.

    A flow runs in a job directory laid out as
        JOB/src/...           the inputs at their relative paths
        JOB/out/netlist.json  yosys' netlist
        JOB/out/top.asc       nextpnr's textual bitstream
        JOB/out/report.json   nextpnr's JSON report (utilisation, Fmax)
        JOB/out/top.bin       icepack's binary bitstream
        JOB/build.log         every tool's output, in order (mode 0600), up to
                              hooks->log_max bytes and a truncation marker
        JOB/build.ys          the yosys script, written by bf_flow itself
    The commands are exactly bf_flowcmd's (BF_FLOW_ICE40 in bf_manifest.h,
    part of the cache key): the flags the user asked for and no others.
    yosys runs in JOB/src/WORKDIR, nextpnr and icepack in JOB, each given
    relative paths; build.log begins with the three commands as run.  Each tool runs in the sandbox given in the hooks
    (bf_sandbox.h), which sees only JOB.  A tool stopped by a resource
    limit (SIGXCPU, SIGXFSZ, or out of memory under the address-space
    limit) is a design failure: the design asked for more than a build
    may have, and another attempt would do the same.  Success is judged by each tool's exit status, never
    by whether an output file exists, and the bitstream's size is checked
    against the device.
    Thread-safety: one call per job directory; calls for different jobs may
    run in parallel threads.
*/
#ifndef BF_FLOW_H_INCLUDED
#define BF_FLOW_H_INCLUDED

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "bf_sandbox.h"
#include "../common/bf_manifest.h"
#include "../common/bf_toolchain.h"

typedef struct {
    void (*on_stage) (void *arg, const char *stage);   /* "synth", "pnr", "pack" */
    void (*on_line) (void *arg, const char *line);     /* each line of tool output */
    void *arg;
    atomic_int *cancel;          /* non-zero: kill the running tool */
    int64_t timeout_ms;          /* wall-clock limit of the whole flow; 0 = none */
    const bf_sandbox_t *sandbox; /* where the tools run, and their limits; NULL:
                                    unconfined, unlimited */
    const bf_toolchain_t *toolchain; /* which yosys, nextpnr-ice40 and icepack to run;
                                    NULL: those in PATH */
    uint64_t log_max;            /* cap on build.log's tool output, bytes (bf_spawn's
                                    log_max: a marker line, then nothing); 0 = none */
} bf_flow_hooks_t;

typedef struct {
    bool ok;
    char failure_class[16];      /* "design", "infrastructure", "timeout", "cancelled" */
    char stage[16];              /* the last stage run */
    char error[1024];            /* the tool's first error line, when !ok */
} bf_flow_result_t;

/*  Runs the flow for a manifest whose inputs are already under
    job_dir/src.  Returns BF_OK (look at *out for the build's outcome), or
    BF_EINVAL for a manifest it cannot run. */
int bf_flow_run (bf_flow_result_t *out, const char *job_dir, const bf_manifest_t *m,
                 const bf_flow_hooks_t *hooks);

#endif

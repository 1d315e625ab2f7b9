/*  bf_report - the summary of nextpnr-ice40's JSON report (--report FILE,
    nextpnr's common/report.cc) that `bitfarm status` shows.

    The report comes from a worker, so it is checked like any input: at most
    BF_REPORT_MAX bytes, only the fields below are read, numbers must be
    numbers, names are escaped and cut to 64 bytes, at most 32 clocks.
    Summary (a new JSON object):
        {"utilization": {"logic_cells": {"used": 11, "available": 5280},
                         "ram": ..., "spram": ..., "dsp": ..., "io": ...,
                         "pll": ..., "global_buffers": ...},
         "clocks": [{"net": "clk", "achieved_mhz": 143.31, "target_mhz": 12.0}, ...]}
    utilization holds only the resources the device has (available > 0):
    ICESTORM_LC, ICESTORM_RAM, ICESTORM_SPRAM, ICESTORM_DSP, SB_IO,
    ICESTORM_PLL, SB_GB.
    Thread-safety: no shared state.
*/
#ifndef BF_REPORT_H_INCLUDED
#define BF_REPORT_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#define BF_REPORT_MAX (4u << 20)   /* bytes of a report that is summarized */

/*  Summarizes len bytes of report text.  Returns a new object (caller
    decrefs), or NULL when the text is not a nextpnr report. */
json_t *bf_report_summary (const char *text, size_t len);

#endif

/*  bf_pcf - the pin assignments of a pcf file (nextpnr-ice40's physical
    constraints: "set_io [-nowarn] [-pullup yes|no] [-pullup_resistor
    3P3K|6P8K|10K|100K] NAME PIN", '#' comments; nextpnr's pcf.cc), read
    for what register I/O needs: which port is on which package pin.  Other
    commands (set_frequency, ...) are skipped; so is a line it cannot read
    (nextpnr is the judge of the file).  Thread-safety: no shared state. */
#ifndef BF_PCF_H_INCLUDED
#define BF_PCF_H_INCLUDED

#include <stddef.h>

/*  Called for each set_io: the port (up to 63 bytes; a bus bit keeps its
    "[N]") and the pin as written ("35", "A3"), both NUL-terminated and
    valid during the call.  Returns 0 to go on, non-zero to stop. */
typedef int (bf_pcf_io_fn) (void *arg, const char *port, const char *pin, int line);

/*  Calls fn for each set_io of text (len bytes).  Returns fn's non-zero
    result, or 0. */
int bf_pcf_each_io (const char *text, size_t len, bf_pcf_io_fn *fn, void *arg);

#endif

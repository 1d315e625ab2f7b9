/*  bf_regio - `submit --regio PROFILE`: a design whose top is a Wishbone
    B4 slave (as Cloud_FPGA designs are) is built wrapped with bitfarm's
    UARTBone bridge and the board profile's clock and UART pins
    (docs/regio.md).

    What it does to the design's options (bf_design_opts_t), before
    bf_design_new:
      top       becomes bf_regio_wrap; the user's top is given to it as
                -D BF_REGIO_TOP=TOP (the wrapper instantiates that module)
      params    CLK_HZ and BAUD from the profile (the wrapper's)
      device,   the profile's; a different one given is refused
      package
      files     gateware/bf_uartbone.v and gateware/regio/bf_regio_wrap.v
                are added, served from memory as DIR/bitfarm-regio/NAME,
                where DIR is the directory of the first source given
      pcf       the user's pcf (if any) with the profile's lines appended,
                served as DIR/bitfarm-regio/NAME.pcf; a pcf that puts
                another port on one of the profile's pins is refused
    The wrapper, the bridge and the added pcf lines are inputs like any
    other, so they are part of the cache key: a new bitfarm bridge is a
    new build.  The files come from bf_datadir; the overlay reads the
    user's files through the fs the options had (git's, or the file
    system).

    Thread-safety: a bf_regio_t belongs to one thread.
*/
#ifndef BF_REGIO_H_INCLUDED
#define BF_REGIO_H_INCLUDED

#include "bf_design.h"

#define BF_REGIO_WRAP_TOP "bf_regio_wrap"
#define BF_REGIO_DIR      "bitfarm-regio"

typedef struct _bf_regio_t bf_regio_t;

/*  Applies profile `name` (a file gateware/regio/profiles/NAME.ini) to
    *d, which must already have its files, top and pcf: *d is changed in
    place and points into *out, which must outlive every use of *d (the
    design reads through it); bf_regio_destroy gives *d back as it was
    (its lists remain the caller's).  BF_OK, or BF_EINVAL / BF_ENOTFOUND with a
    one-line detail ("unknown --regio profile 'x' (profiles: icebreaker,
    icestick)", "--regio icebreaker is an up5k board, not hx1k", "the pcf
    puts 'led' on pin 35, the icebreaker profile's clock pin"). */
int bf_regio_apply (bf_regio_t **out, bf_design_opts_t *d, const char *name);
void bf_regio_destroy (bf_regio_t **self_p);

#endif

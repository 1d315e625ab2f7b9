/*  bf_regio_ports - how `submit --regio` connects the bridge to a user's
    Wishbone B4 slave whatever its port names: the top's ports are read
    from its Verilog (ANSI headers and old-style declarations), each is
    given its Wishbone role by name, and the instance the wrapper includes
    (bitfarm-regio/bf_regio_user.vh) is written from them (docs/regio.md).

    Roles, by the last part of the name once "_i"/"_o" and "i_"/"o_" are
    taken off (wbs_adr_i, i_wb_addr, wb_dat_o, ...):
      clock    clk, clock (wb_clk_i, clk_i, i_clk, ...)       required
      reset    rst, reset; active low when it ends in n/_n    optional
      address  adr, addr, address                             required
      data     dat, data: the input is the write data,        required (out)
               the output the read data
      we, sel, stb, cyc, ack, err                             we, stb, ack required
    The address: [29:0] or [N:0] with N < 31 is a word address (the
    UARTBone address); [31:0] is a byte address (the word address << 2);
    [N:2] holds byte-address bits N..2.  Data is 32 bits.  An absent err
    never errs; an absent sel or cyc is not driven.  The top's other
    inputs are tied to 0; its other outputs are left open.
    Thread-safety: no shared state.
*/
#ifndef BF_REGIO_PORTS_H_INCLUDED
#define BF_REGIO_PORTS_H_INCLUDED

#include <stddef.h>

#define BF_REGIO_PORTS_MAX 256          /* ports of one module read */

typedef struct {
    char name[64];
    char dir;                           /* 'i', 'o' or 'b' (inout) */
    int msb, lsb;                       /* [msb:lsb]; 0:0 for a scalar; -1 when not a number */
} bf_regio_port_t;

/*  The ports of module `top` in Verilog text (len bytes): *n of them into
    ports (at most BF_REGIO_PORTS_MAX).  BF_OK, or BF_ENOTFOUND when the
    text has no "module TOP". */
int bf_regio_ports_read (bf_regio_port_t *ports, int *n, const char *text, size_t len,
                         const char *top);

/*  The instance of top named `user`, connected to the wrapper's nets
    (clk, rst, adr[29:0], dat_w, dat_r, sel, cyc, stb, we, ack, err), as
    Verilog text (a new string), from its ports.  BF_EINVAL with a detail
    naming what is missing or cannot be connected ("the top 'x' has no
    Wishbone address input (a port named like wb_adr_i, wbs_adr_i,
    i_wb_addr)"). */
int bf_regio_ports_instance (char **out, const bf_regio_port_t *ports, int n, const char *top);

#endif

/*  bf_datadir - where the data bitfarm ships lives: the gateware
    (gateware/bf_uartbone.v, gateware/regio/ with the board profiles,
    gateware/sim/ with the iCE40 cell models) and the simulation harness
    (src/vsim/bf_vsim_main.cpp).  `make install` puts them in
    PREFIX/share/bitfarm; a build tree uses the sources beside it.
    Thread-safety: no shared state. */
#ifndef BF_DATADIR_H_INCLUDED
#define BF_DATADIR_H_INCLUDED

/*  The directory: $BITFARM_DATA_DIR, else DIR/../share/bitfarm (an
    installed program), else DIR/../.. (the source tree a build/bin
    program or build/lib library was built in), where DIR is the running
    code's (bf_self_dir: the executable's, or libbitfarm.so's): the first that holds gateware/bf_uartbone.v,
    made absolute.  A new string the caller frees, or NULL with a detail
    (BF_ENOTFOUND). */
char *bf_datadir (void);

#endif

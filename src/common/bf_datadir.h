/*  bf_datadir - where the data bitfarm ships lives: the gateware
    (gateware/bf_uartbone.v, gateware/regio/ with the board profiles,
    gateware/sim/ with the iCE40 cell models) and the simulation harness
    (src/vsim/bf_vsim_main.cpp).  `make install` puts them in
    PREFIX/share/bitfarm; a build tree uses the sources beside it.
    Thread-safety: no shared state. */
#ifndef BF_DATADIR_H_INCLUDED
#define BF_DATADIR_H_INCLUDED

/*  The directory: $BITFARM_DATA_DIR, else EXE_DIR/../share/bitfarm (an
    installed program), else EXE_DIR/../.. (the source tree a build/bin
    program was built in): the first that holds gateware/bf_uartbone.v,
    made absolute.  A new string the caller frees, or NULL with a detail
    (BF_ENOTFOUND). */
char *bf_datadir (void);

#endif

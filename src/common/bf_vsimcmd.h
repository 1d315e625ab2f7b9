/*  bf_vsimcmd - register-I/O board profiles (gateware/regio/profiles/NAME.ini)
    and the Verilator command line that builds a simulated board: a design
    plus src/vsim/bf_vsim_main.cpp into one executable (docs/regio.md).

    A profile is a small ini file:
        [board]  name, device, package
        [clock]  pin, hz
        [uart]   rx_pin, tx_pin, baud
        [pcf]    line = ...     (repeatable: the lines the wrapper adds)
    '#' starts a comment; values are trimmed.  Unknown sections and keys are
    refused, so a typo is never silently ignored.  Limits: 8 KiB per file,
    BF_PROFILE_PCF_MAX pcf lines of at most 120 bytes.

    The Verilator argv (no shell strings; run it through bf_spawn, in the
    worker's sandbox):
        verilator --cc --exe --build --build-jobs 1 -O2 -Wno-fatal -Wno-lint
          -Wno-style -Wno-TIMESCALEMOD -Wno-ASSIGNIN --x-assign 0 --x-initial 0
          --top-module TOP --prefix Vbfsim -Mdir MDIR -o MODEL
          -DNAME[=VALUE]... -GNAME=VALUE... [-y LIBDIR]... [-IINCDIR]...
          -CFLAGS -DBF_VSIM_CLK=PORT -CFLAGS -DBF_VSIM_RX=PORT -CFLAGS -DBF_VSIM_TX=PORT
          -CFLAGS -O1 SOURCES... HARNESS
    With a profile, -GCLK_HZ=hz and -GBAUD=baud are added first (the
    wrapper's parameters).  Verilator runs one job (--build-jobs 1, which
    also bounds its own threads) and the C++ is compiled at -O1, the
    quickest build that still simulates fast.
    -Wno-ASSIGNIN: Verilator refuses a top-level input connected to an inout
    port (SB_IO's PACKAGE_PIN) unless told to; it simulates it correctly.

    iCE40 cells (docs/regio.md, "Simulation models"): gateware/sim holds
    bitfarm's models (SB_IO, SB_GB, SB_PLL40_*, SB_SPRAM256KA), given as a
    -y directory, so Verilator loads only those a design uses.  SB_MAC16 is
    yosys's own model, which Verilator 5.006 simulates correctly when taken
    out of cells_sim.v alone (the whole file does not parse):
    bf_vsim_extract_module copies it into a file SB_MAC16.v of a second -y
    directory.  SB_HFOSC is not modelled yet (the harness drives one clock
    port).
    Thread-safety: no shared state.
*/
#ifndef BF_VSIMCMD_H_INCLUDED
#define BF_VSIMCMD_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define BF_PROFILE_PCF_MAX   8
#define BF_PROFILE_FILE_MAX  8192
#define BF_VSIMCMD_LIST_MAX  256        /* sources, defines, params or libdirs */

typedef struct {
    char name[32], device[16], package[16];
    int clk_pin, rx_pin, tx_pin;        /* package pin numbers */
    uint32_t clk_hz;                    /* 1 kHz .. 1 GHz */
    uint32_t baud;                      /* 300 .. 12 M */
    char pcf[BF_PROFILE_PCF_MAX][128];
    int npcf;
} bf_regio_profile_t;

/*  Parses the profile text (len bytes) into *out; name is used in errors.
    BF_EINVAL names the line and the problem; a missing key is an error. */
int bf_regio_profile_parse (bf_regio_profile_t *out, const char *text, size_t len,
                            const char *name);

/*  Reads and parses the profile file at path (BF_ENOTFOUND, BF_ETOOBIG,
    BF_EINVAL). */
int bf_regio_profile_load (bf_regio_profile_t *out, const char *path);

/*  The UART's clock cycles per bit: round (clk_hz / baud), as bf_uartbone.v
    computes DIV. */
uint32_t bf_regio_divisor (uint32_t clk_hz, uint32_t baud);

typedef struct {
    const char *verilator;              /* NULL: "verilator" from PATH */
    const char *mdir;                   /* Verilator's output directory */
    const char *model;                  /* the executable's name (inside mdir) */
    const char *top;                    /* top module */
    const char *harness;                /* absolute path of bf_vsim_main.cpp (Verilator's
                                           make runs in mdir) */
    const char *const *sources;         /* Verilog files, in order */
    size_t nsources;
    const char *const *defines;         /* "NAME" or "NAME=VALUE" */
    size_t ndefines;
    const char *const *params;          /* "NAME=VALUE": the top's parameters */
    size_t nparams;
    const char *const *libdirs;         /* -y directories (gateware/sim models) */
    size_t nlibdirs;
    const char *const *includes;        /* -I directories (`include), in order */
    size_t nincludes;
    const char *clk_port, *rx_port, *tx_port;   /* NULL: clk, uart_rx, uart_tx */
    const bf_regio_profile_t *profile;  /* NULL: no -GCLK_HZ/-GBAUD */
} bf_vsimcmd_t;

/*  Builds the argv into *out: a NULL-terminated heap array of heap strings
    (free with bf_vsimcmd_free).  BF_EINVAL for a missing field, a list over
    BF_VSIMCMD_LIST_MAX, or a name that is not a plain identifier (port,
    top, define and param names: [A-Za-z_][A-Za-z0-9_$]*) or a value that
    starts with '-' (no option injection). */
int bf_vsimcmd_argv (char ***out, const bf_vsimcmd_t *spec);

/*  Copies module `name` out of a Verilog library text (yosys's
    /usr/share/yosys/ice40/cells_sim.v): from "module NAME" at the start of a
    line to the next "endmodule" at the start of a line, plus a newline.
    *out is a new heap string (caller frees).  BF_ENOTFOUND if absent,
    BF_ETOOBIG over BF_VSIM_MODULE_MAX bytes, BF_EINVAL for a bad name. */
#define BF_VSIM_MODULE_MAX  65536
#define BF_VSIM_YOSYS_CELLS "/usr/share/yosys/ice40/cells_sim.v"
int bf_vsim_extract_module (char **out, const char *text, size_t len, const char *name);

/*  Frees an argv from bf_vsimcmd_argv; NULL is fine; sets *argv_p = NULL. */
void bf_vsimcmd_free (char ***argv_p);

#endif

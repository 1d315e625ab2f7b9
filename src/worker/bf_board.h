/*  bf_board - the boards a worker owns: their configuration, how
    openFPGALoader reaches them, and how the outcome of a load is judged.

    A worker's config file (--config, JSON) declares its boards:
        { "boards": [
            { "name": "icebreaker-1", "device": "up5k", "package": "sg48",
              "board": "ice40_generic", "ftdi_serial": "FT4XYZ" },
            { "name": "arty", "device": "hx1k", "package": "tq144",
              "cable": "xvc-client", "ip": "10.0.0.7", "port": 2542 },
            { "name": "vb0", "device": "hx1k", "package": "tq144",
              "virtual": true, "vboard_options": ["--fail", "drop"] } ] }
    Keys (anything else is an error that names it):
      name            1..32 of a-z 0-9 _ . -, unique
      family          "ice40" (the default; the only family bitfarm builds)
      device/package  an iCE40 device bitfarm knows (bf_manifest_device) and
                      its package: what bitstreams the board accepts
      board | cable   openFPGALoader's -b or -c name, 1..32 of a-z 0-9 _ -
      ftdi_serial     --ftdi-serial, 1..64 of A-Z a-z 0-9 _ -
      busdev_num      --busdev-num, "BUS:DEVICE" in decimal
      ip, port        --ip/--port for a network cable (IPv4, 1..65535)
      freq_hz         --freq, 1 kHz .. 100 MHz
      virtual         true: the worker runs a bitfarm-vboard for this board
                      and reaches it as -c xvc-client on 127.0.0.1
      profile         a virtual board's register I/O profile
                      (gateware/regio/profiles/NAME.ini; default by
                      device: up5k icebreaker, hx1k icestick), whose pins
                      its simulation model's UART uses (bf_simboard.h)
      vboard_options  extra bitfarm-vboard options (up to 8, each 1..64
                      bytes, options only), for failure injection
      done_check      after a load over xvc-client, read the IR capture over
                      XVC and require DONE high (default true there; see
                      bf_board_done_check)
      uart            the board's serial device for register I/O (the UARTBone
                      bridge, bf_bridge.h): an absolute path of at most 255
                      bytes of A-Z a-z 0-9 . _ - + : @ = , and /, no ".."
                      part, best /dev/serial/by-id/... (stable across
                      replugs); not for a virtual board (its simulated UART
                      comes from bf_simboard_connect)
      baud            its rate, a standard one 1200..4000000 (default 115200)
      bridge          "bitfarm" (bf_uartbone.v: status reads name bus
                      errors; the default) or "litex" (a stock LiteX
                      UARTBone: standard commands only); needs uart
    Exactly one of board, cable and virtual is required.

    Note: openFPGALoader 0.10.0 has no "icebreaker" board name; an
    iCEBreaker is "board": "ice40_generic".  It programs iCE40 parts only
    over a USB FTDI cable (SPI), never over xvc-client.

    Thread-safety: a bf_board_t is read-only after bf_boards_load and may
    be read from any thread.
*/
#ifndef BF_BOARD_H_INCLUDED
#define BF_BOARD_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/bf_spawn.h"
#include "bf_sandbox.h"

#define BF_BOARD_NAME_MAX 32
#define BF_BOARDS_MAX     64
#define BF_VBOARD_OPTS_MAX 8

typedef struct {
    char name[BF_BOARD_NAME_MAX + 1];
    char family[16], device[16], package[16];
    char board[33];             /* -b, or "" */
    char cable[33];             /* -c, or "" (set to xvc-client for a virtual board) */
    char ftdi_serial[65];
    char busdev_num[24];
    char ip[16];
    int port;                   /* 0: none; for a virtual board, known once it listens */
    int64_t freq_hz;            /* 0: openFPGALoader's default */
    bool is_virtual;
    char *vboard_opts[BF_VBOARD_OPTS_MAX + 1];   /* NULL-terminated */
    bool done_check;
    char profile[32];           /* a virtual board's register I/O profile, or "" (bf_simboard.h) */
    char uart[256];             /* register I/O: the serial device, or "" (none) */
    int baud;                   /* its rate (default 115200) */
    bool bridge_litex;          /* "bridge": "litex" */
} bf_board_t;

/*  Reads and checks a worker config file (at most 1 MiB of JSON).  On
    success *boards_out is a new array of *n_out boards (possibly 0) that
    the caller frees with bf_boards_free.  BF_EINVAL with a one-line detail
    naming the file, the board and the key, or BF_EIO / BF_ENOTFOUND. */
int bf_boards_load (bf_board_t **boards_out, int *n_out, const char *path);

/*  Checks one board object; `where` names it in errors ("FILE: board 2"). */
int bf_board_parse (bf_board_t *out, json_t *obj, const char *where);

void bf_boards_free (bf_board_t *boards, int n);

/*  What READY tells the broker about a board: a new object
    {"name", "family", "device", "package", "cable", "virtual"}, where
    "cable" is a human description ("-b ice40_generic --ftdi-serial X"). */
json_t *bf_board_json (const bf_board_t *b);

/*  openFPGALoader's argument vector to load `bitstream` (a path) into the
    board's SRAM: a new NULL-terminated array of new strings; free it with
    bf_board_argv_free. */
char **bf_board_argv (const bf_board_t *b, const char *bitstream);
void bf_board_argv_free (char **argv);

/*  What openFPGALoader needs to reach to load this board, for its sandbox
    (bf_sandbox_program_argv): an XVC cable the network (bwrap cannot
    narrow it to one host:port); a USB cable /sys read-only and its one
    device node: /dev/bus/usb/BUS/DEV from busdev_num, or found by
    ftdi_serial in /sys/bus/usb/devices/ (none when the board is not
    plugged in: the load then fails as a cable error).  A USB board named
    only by -b/-c, without either, gets every node under /dev/bus/usb:
    openFPGALoader picks the first matching device itself, so the worker
    cannot know which one (docs/security.md).  sysfs is the root of the
    USB tree ("/sys" but for tests).  Thread-safe. */
void bf_board_reach (bf_sandbox_reach_t *out, const bf_board_t *b, const char *sysfs);

/*  How a load ended. */
typedef enum {
    BF_LOAD_OK = 0,
    BF_LOAD_INFRA,              /* cable, USB, network, time limit: retry */
    BF_LOAD_BITSTREAM           /* IDCODE, CRC, DONE/CDONE low: final */
} bf_load_class_t;

/*  Judges an openFPGALoader run by its exit status and its output (all of
    it, stdout and stderr, as text).  openFPGALoader 0.10.0 exits 1 for
    every failure and tells them apart only by text, and an iCE40 load whose
    CDONE never rises prints "FAIL" and still exits 0; so the output decides
    first, then the status.  Exit 1 with no known message counts as
    infrastructure (bounded by the job's attempts).  On failure, error
    receives one line naming what happened, with openFPGALoader's own
    message.  Pure function; thread-safe. */
bf_load_class_t bf_board_classify (const bf_spawn_result_t *r, const char *output,
                                   char *error, size_t errlen);

/*  Reads the instruction register capture of the single JTAG device behind
    an XVC 1.0 server (getinfo:, then one shift: from Test-Logic-Reset
    through Shift-IR loading BYPASS).  For a Xilinx 7-series device the
    capture is {DONE, INIT_B, ISC_ENABLED, ISC_DONE, 0, 1} (UG470 table
    6-3); openFPGALoader 0.10.0 does not look at DONE after JSTART, so this
    is how a configuration the device rejected is caught.  timeout_ms bounds
    the whole exchange.  BF_OK with *ir_out set, or BF_EIO with a detail. */
int bf_board_xvc_ir_capture (uint8_t *ir_out, const char *ip, int port, int timeout_ms);

#endif

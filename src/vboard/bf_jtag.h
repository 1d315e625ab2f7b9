/*  bf_jtag - an emulated JTAG target for bitfarm-vboard: an IEEE 1149.1
    TAP controller in front of the configuration logic of a Xilinx
    7-series FPGA, as far as a JTAG loader such as openFPGALoader uses it.

    The TAP follows IEEE Std 1149.1-2013, figure 6-1 (16 states, moved by
    TMS on each rising TCK).  The instruction register is 6 bits.  The
    configuration sequence is the one of Xilinx UG470 ("7 Series FPGAs
    Configuration", table 6-2, "Single Device Configuration Sequence"):

        IDCODE        read the 32-bit device identifier
        JPROGRAM      clear the configuration memory (DONE and INIT_B fall)
        BYPASS poll   the IR capture value shows INIT_B (bit 4) rising
        CFG_IN        shift in the bitstream, MSB of each byte first
        JSTART        start-up: DONE (bit 5 of the IR capture) rises

    The data shifted in under CFG_IN is kept as bytes the way the device
    sees them (the first bit shifted is the MSB of byte 0), so that the
    SHA-256 of a configuration is the SHA-256 of the file the loader read.

    Failure injection: BF_JTAG_FAIL_CONFIG makes every start-up end with
    DONE low and the CRC error bit set in the STAT register (UG470
    table 5-25), as a device does that received a corrupted bitstream.

    Thread-safety: an object is used by one thread at a time.
*/
#ifndef BF_JTAG_H_INCLUDED
#define BF_JTAG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/bf_sha256.h"

/*  7-series instruction codes (UG470 table 6-3). */
#define BF_XC7_CFG_OUT  0x04
#define BF_XC7_CFG_IN   0x05
#define BF_XC7_USERCODE 0x08
#define BF_XC7_IDCODE   0x09
#define BF_XC7_JPROGRAM 0x0B
#define BF_XC7_JSTART   0x0C
#define BF_XC7_BYPASS   0x3F

/*  IDCODE of an XC7A35T (UG470 table 1-1), the default device. */
#define BF_XC7A35T_IDCODE 0x0362D093u

typedef enum {
    BF_JTAG_TLR = 0, BF_JTAG_RTI,
    BF_JTAG_SELECT_DR, BF_JTAG_CAPTURE_DR, BF_JTAG_SHIFT_DR, BF_JTAG_EXIT1_DR,
    BF_JTAG_PAUSE_DR, BF_JTAG_EXIT2_DR, BF_JTAG_UPDATE_DR,
    BF_JTAG_SELECT_IR, BF_JTAG_CAPTURE_IR, BF_JTAG_SHIFT_IR, BF_JTAG_EXIT1_IR,
    BF_JTAG_PAUSE_IR, BF_JTAG_EXIT2_IR, BF_JTAG_UPDATE_IR
} bf_jtag_state_t;

enum { BF_JTAG_FAIL_CONFIG = 1 };

/*  What the configuration logic ended in, reported once per JSTART. */
typedef struct {
    bool done;                              /* DONE rose */
    uint64_t bytes;                         /* configuration data, bytes */
    char sha256[BF_SHA256_HEX_LEN + 1];     /* digest of that data */
} bf_jtag_config_t;

typedef struct _bf_jtag_t bf_jtag_t;

/*  A target in Test-Logic-Reset with the given IDCODE and failure flags
    (0 or BF_JTAG_FAIL_CONFIG).  NULL when out of memory. */
bf_jtag_t *bf_jtag_new (uint32_t idcode, int fail);
void bf_jtag_destroy (bf_jtag_t **self_p);

/*  Changes the IDCODE and failure flags from now on (the device keeps its
    configuration state: DONE stays as it was). */
void bf_jtag_set (bf_jtag_t *self, uint32_t idcode, int fail);

/*  Clocks TCK `bits` times with TMS and TDI taken from the LSB-first bit
    vectors tms and tdi, and writes TDO into tdo (same shape); this is the
    body of an XVC 1.0 "shift:" command.  Vectors hold (bits + 7) / 8
    bytes.  Returns the number of completed configurations (JSTART seen
    after CFG_IN data) during these clocks; the last one is in *last when
    last is not NULL. */
int bf_jtag_shift (bf_jtag_t *self, const uint8_t *tms, const uint8_t *tdi,
                   uint8_t *tdo, uint32_t bits, bf_jtag_config_t *last);

/*  Bytes shifted in under CFG_IN since the last JPROGRAM. */
uint64_t bf_jtag_config_bytes (const bf_jtag_t *self);

bf_jtag_state_t bf_jtag_state (const bf_jtag_t *self);

#endif

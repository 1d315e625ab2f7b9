/*  bf_jtag - emulated JTAG TAP and 7-series configuration logic.
    See bf_jtag.h for the references. */
#include "bf_jtag.h"

#include <stdlib.h>
#include <string.h>

#define IR_LEN 6

/*  STAT register bits (UG470 table 5-25). */
#define STAT_CRC_ERROR (1u << 0)
#define STAT_INIT_B    (1u << 12)
#define STAT_DONE      (1u << 14)

struct _bf_jtag_t {
    bf_jtag_state_t state;
    uint32_t idcode;
    int fail;

    uint8_t ir;             /* current instruction */
    uint8_t ir_sr;          /* instruction shift register */
    uint64_t dr_sr;         /* data shift register (up to 64 bits) */
    int dr_len;             /* its length in bits */

    bool done, init_b, isc_done;
    int init_polls;         /* IR captures left until INIT_B rises */
    bool crc_error;

    bf_sha256_t *cfg;       /* digest of the data under CFG_IN, or NULL */
    uint64_t cfg_bytes;
    uint8_t cfg_byte;       /* bits of the byte being received */
    int cfg_nbits;
};

/*  IEEE 1149.1 figure 6-1: next state for TMS = 0 and TMS = 1. */
static const bf_jtag_state_t s_next[16][2] = {
    [BF_JTAG_TLR]        = { BF_JTAG_RTI,        BF_JTAG_TLR },
    [BF_JTAG_RTI]        = { BF_JTAG_RTI,        BF_JTAG_SELECT_DR },
    [BF_JTAG_SELECT_DR]  = { BF_JTAG_CAPTURE_DR, BF_JTAG_SELECT_IR },
    [BF_JTAG_CAPTURE_DR] = { BF_JTAG_SHIFT_DR,   BF_JTAG_EXIT1_DR },
    [BF_JTAG_SHIFT_DR]   = { BF_JTAG_SHIFT_DR,   BF_JTAG_EXIT1_DR },
    [BF_JTAG_EXIT1_DR]   = { BF_JTAG_PAUSE_DR,   BF_JTAG_UPDATE_DR },
    [BF_JTAG_PAUSE_DR]   = { BF_JTAG_PAUSE_DR,   BF_JTAG_EXIT2_DR },
    [BF_JTAG_EXIT2_DR]   = { BF_JTAG_SHIFT_DR,   BF_JTAG_UPDATE_DR },
    [BF_JTAG_UPDATE_DR]  = { BF_JTAG_RTI,        BF_JTAG_SELECT_DR },
    [BF_JTAG_SELECT_IR]  = { BF_JTAG_CAPTURE_IR, BF_JTAG_TLR },
    [BF_JTAG_CAPTURE_IR] = { BF_JTAG_SHIFT_IR,   BF_JTAG_EXIT1_IR },
    [BF_JTAG_SHIFT_IR]   = { BF_JTAG_SHIFT_IR,   BF_JTAG_EXIT1_IR },
    [BF_JTAG_EXIT1_IR]   = { BF_JTAG_PAUSE_IR,   BF_JTAG_UPDATE_IR },
    [BF_JTAG_PAUSE_IR]   = { BF_JTAG_PAUSE_IR,   BF_JTAG_EXIT2_IR },
    [BF_JTAG_EXIT2_IR]   = { BF_JTAG_SHIFT_IR,   BF_JTAG_UPDATE_IR },
    [BF_JTAG_UPDATE_IR]  = { BF_JTAG_RTI,        BF_JTAG_SELECT_DR },
};

bf_jtag_t *
bf_jtag_new (uint32_t idcode, int fail)
{
    bf_jtag_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->state = BF_JTAG_TLR;
    self->idcode = idcode;
    self->fail = fail;
    self->ir = BF_XC7_IDCODE;
    self->init_b = true;
    return self;
}

void
bf_jtag_destroy (bf_jtag_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_sha256_destroy (&(*self_p)->cfg);
    free (*self_p);
    *self_p = NULL;
}

void
bf_jtag_set (bf_jtag_t *self, uint32_t idcode, int fail)
{
    self->idcode = idcode;
    self->fail = fail;
}

uint64_t
bf_jtag_config_bytes (const bf_jtag_t *self)
{
    return self->cfg_bytes;
}

bf_jtag_state_t
bf_jtag_state (const bf_jtag_t *self)
{
    return self->state;
}

static uint32_t
s_stat (const bf_jtag_t *self)
{
    return (self->crc_error ? STAT_CRC_ERROR : 0) | (self->init_b ? STAT_INIT_B : 0)
           | (self->done ? STAT_DONE : 0);
}

/*  UG470 table 6-2 note: the IR capture value is
    {DONE, INIT_B, ISC_ENABLED, ISC_DONE, 0, 1} from bit 5 down to bit 0. */
static uint8_t
s_ir_capture (bf_jtag_t *self)
{
    if (!self->init_b && self->init_polls > 0 && --self->init_polls == 0)
        self->init_b = true;        /* housecleaning took a few polls */
    return (uint8_t) (0x01 | (self->isc_done ? 0x04 : 0) | (self->init_b ? 0x10 : 0)
                      | (self->done ? 0x20 : 0));
}

static void
s_capture_dr (bf_jtag_t *self)
{
    switch (self->ir) {
    case BF_XC7_IDCODE:
        self->dr_sr = self->idcode;
        self->dr_len = 32;
        break;
    case BF_XC7_USERCODE:
        self->dr_sr = 0xFFFFFFFFu;
        self->dr_len = 32;
        break;
    case BF_XC7_CFG_OUT:
        self->dr_sr = s_stat (self);
        self->dr_len = 32;
        break;
    case BF_XC7_CFG_IN:
        self->dr_sr = 0;
        self->dr_len = 0;           /* a sink: see s_shift_dr */
        break;
    default:                        /* BYPASS and the rest: 1 bit, captures 0 */
        self->dr_sr = 0;
        self->dr_len = 1;
        break;
    }
}

static int
s_shift_dr (bf_jtag_t *self, int tdi)
{
    if (self->ir == BF_XC7_CFG_IN) {
        if (!self->cfg)
            self->cfg = bf_sha256_new ();
        self->cfg_byte = (uint8_t) ((self->cfg_byte << 1) | tdi);
        if (++self->cfg_nbits == 8) {
            if (self->cfg)
                bf_sha256_update (self->cfg, &self->cfg_byte, 1);
            self->cfg_bytes++;
            self->cfg_nbits = 0;
            self->cfg_byte = 0;
        }
        return 0;
    }
    int tdo = (int) (self->dr_sr & 1);
    self->dr_sr >>= 1;
    if (tdi)
        self->dr_sr |= (uint64_t) 1 << (self->dr_len - 1);
    return tdo;
}

static void
s_reset_config (bf_jtag_t *self)
{
    bf_sha256_destroy (&self->cfg);
    self->cfg_bytes = 0;
    self->cfg_nbits = 0;
    self->cfg_byte = 0;
}

/*  Update-IR: the new instruction takes effect. */
static int
s_update_ir (bf_jtag_t *self, bf_jtag_config_t *last)
{
    self->ir = self->ir_sr & 0x3F;
    if (self->ir == BF_XC7_JPROGRAM) {
        self->done = false;
        self->isc_done = false;
        self->init_b = false;
        self->init_polls = 3;
        self->crc_error = false;
        s_reset_config (self);
    }
    else if (self->ir == BF_XC7_JSTART && self->cfg_bytes > 0) {
        bool ok = !(self->fail & BF_JTAG_FAIL_CONFIG);
        self->done = ok;
        self->isc_done = ok;
        self->crc_error = !ok;
        if (last) {
            last->done = ok;
            last->bytes = self->cfg_bytes;
            if (self->cfg)
                bf_sha256_final_hex (self->cfg, last->sha256);
            else
                last->sha256[0] = '\0';
        }
        s_reset_config (self);
        return 1;
    }
    return 0;
}

int
bf_jtag_shift (bf_jtag_t *self, const uint8_t *tms, const uint8_t *tdi, uint8_t *tdo,
               uint32_t bits, bf_jtag_config_t *last)
{
    int configs = 0;
    memset (tdo, 0, (bits + 7) / 8);
    for (uint32_t i = 0; i < bits; i++) {
        int t = (tms[i >> 3] >> (i & 7)) & 1;
        int d = (tdi[i >> 3] >> (i & 7)) & 1;
        int o = 0;
        switch (self->state) {
        case BF_JTAG_TLR:
            self->ir = BF_XC7_IDCODE;
            break;
        case BF_JTAG_CAPTURE_DR:
            s_capture_dr (self);
            break;
        case BF_JTAG_SHIFT_DR:
            o = s_shift_dr (self, d);
            break;
        case BF_JTAG_CAPTURE_IR:
            self->ir_sr = s_ir_capture (self);
            break;
        case BF_JTAG_SHIFT_IR:
            o = self->ir_sr & 1;
            self->ir_sr = (uint8_t) ((self->ir_sr >> 1) | (d << (IR_LEN - 1)));
            break;
        case BF_JTAG_UPDATE_IR:
            configs += s_update_ir (self, last);
            break;
        default:
            break;
        }
        if (o)
            tdo[i >> 3] |= (uint8_t) (1u << (i & 7));
        self->state = s_next[self->state][t];
    }
    return configs;
}

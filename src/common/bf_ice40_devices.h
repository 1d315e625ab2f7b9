/*  bf_ice40_devices - the iCE40 devices and packages nextpnr-ice40 knows,
    with each device's configuration bitstream size.

    The table is generated from the chip databases by
    scripts/gen-ice40-devices (nextpnr-ice40's built-in databases decide
    which package names each device flag accepts; icepack's output for an
    empty design gives the size), so it names packages exactly as
    nextpnr-ice40 does: the HX4K die's packages are "tq144:4k" and the
    like under --hx8k/--lp8k, and plain "tq144" under --hx4k/--lp4k.
    Thread-safety: constant data.
*/
#ifndef BF_ICE40_DEVICES_H_INCLUDED
#define BF_ICE40_DEVICES_H_INCLUDED

#include <stdint.h>
#include <stddef.h>

typedef struct {
    const char *name;               /* the nextpnr-ice40 flag without "--": "up5k" */
    uint64_t bitstream_size;        /* bytes icepack writes for it */
    const char *const *packages;    /* NULL-terminated, as --package takes them */
} bf_ice40_device_t;

/*  Every device, ended by an entry whose name is NULL. */
extern const bf_ice40_device_t bf_ice40_devices[];

#endif

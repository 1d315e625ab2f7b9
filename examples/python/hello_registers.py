#!/usr/bin/env python3
"""Hello registers, with bitfarm from Python (docs/python.md).

Builds examples/regio/hello_regs.v (a Wishbone slave) wrapped with the
icebreaker register bridge, loads it into a board (the local farm's
simulated board vboard0 by default), writes A and B, reads SUM = A + B
back and exits 0 when it is right:

    python3 examples/python/hello_registers.py [--board vboard0] [--a 0x1234] [--b 0x1111]

The farm is $BITFARM_BROKER's, else this user's local farm (started on
first use).  The flow is Cloud_FPGA's "hello registers": a design, a
register map, a session that writes and reads.
"""

import argparse
import os
import sys

try:
    import bitfarm
except ModuleNotFoundError:   # not installed: this checkout's python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "python"))
    import bitfarm

HERE = os.path.dirname(os.path.abspath(__file__))
DESIGN = os.path.join(HERE, "..", "regio", "hello_regs.v")


class HelloRegs(bitfarm.RegisterMap):
    """hello_regs.v's registers (byte offsets)."""
    ID = bitfarm.Register(0x00, readonly=True, doc='"HELO", 0x48454c4f')
    A = 0x04
    B = 0x08
    SUM = bitfarm.Register(0x0C, readonly=True, doc="A + B")
    TICKS = bitfarm.Register(0x10, readonly=True, doc="clock cycles since reset")


def main() -> int:
    ap = argparse.ArgumentParser(description="hello registers on a bitfarm board")
    ap.add_argument("--board", default="vboard0", help="the board (default: vboard0)")
    ap.add_argument("--a", type=lambda s: int(s, 0), default=0x1234)
    ap.add_argument("--b", type=lambda s: int(s, 0), default=0x1111)
    args = ap.parse_args()
    try:
        with bitfarm.Farm() as farm:
            job = farm.submit("hello_regs", regio="icebreaker", sources=[DESIGN])
            job.wait(progress=True)
            print(f"built {job.id[:12]}{' (cache hit)' if job.cache_hit else ''}", file=sys.stderr)
            with farm.session(board=args.board, program=job, by="hello_registers.py") as board:
                regs = HelloRegs(board)
                if regs.ID != 0x48454C4F:
                    print(f"unexpected ID {regs.ID:#010x}", file=sys.stderr)
                    return 1
                regs.A = args.a
                regs.B = args.b
                total = regs.SUM
                want = (args.a + args.b) & 0xFFFFFFFF
                print(f"{args.a:#x} + {args.b:#x} = {total:#x}")
                if total != want:
                    print(f"wrong: want {want:#x}", file=sys.stderr)
                    return 1
        return 0
    except bitfarm.BitfarmError as e:
        print(f"hello_registers: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

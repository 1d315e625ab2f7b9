"""bitfarm: build FPGA designs on a bitfarm farm, fetch their bitstreams,
load them into boards and read and write their registers, from Python.

    import bitfarm

    class Regs(bitfarm.RegisterMap):
        ID = bitfarm.Register(0x0, readonly=True)
        A = 0x4
        B = 0x8
        SUM = bitfarm.Register(0xC, readonly=True)

    with bitfarm.Farm() as farm:                      # the local farm
        job = farm.submit("hello_regs", regio="icebreaker",
                          sources=["examples/regio/hello_regs.v"]).wait(progress=True)
        with farm.session(board="vboard0", program=job) as board:
            regs = Regs(board)
            regs.A, regs.B = 2, 3
            print(regs.SUM)                           # 5

A thin layer over the C library libbitfarm.so.1 (include/bitfarm.h),
through ctypes, with the standard library only.  The guide is
docs/python.md.
"""

from . import _lib
from .errors import (BitfarmError, BoardBusy, Cancelled, DesignError, ErrorCode,
                     InfrastructureError, NotAllowed, TimeoutError, UsageError)
from .farm import Farm
from .job import FINAL_STATES, Job
from .registers import Register, RegisterMap
from .session import BRIDGE_MAGIC, MAX_WORDS, Ident, Session

#: The C library's version (bitfarm_version), e.g. "1.0.0".
__version__: str = _lib.version()

#: The path of the libbitfarm.so.1 in use.
library_path: str = _lib.path

__all__ = [
    "Farm", "Job", "Session", "Ident", "Register", "RegisterMap",
    "BitfarmError", "UsageError", "DesignError", "InfrastructureError", "BoardBusy",
    "TimeoutError", "NotAllowed", "Cancelled", "ErrorCode",
    "FINAL_STATES", "MAX_WORDS", "BRIDGE_MAGIC", "library_path", "__version__",
]

"""Session: a reserved board and its design's registers (bitfarm_session)."""

from __future__ import annotations

import operator
from ctypes import byref, c_uint32, c_void_p
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Union, overload

from . import _lib
from ._handle import Child, lib, seconds_to_ms, source_arg
from .errors import DesignError, UsageError

#: The most words one read or write moves (one request).
MAX_WORDS = 4096

#: The bridge's IDENT magic, "BFUB".
BRIDGE_MAGIC = 0x42465542


@dataclass(frozen=True)
class Ident:
    """What the design's bridge says about itself (Session.ident)."""
    magic: int      #: 0x42465542 ("BFUB") for bitfarm's bridge
    version: int    #: major << 16 | minor
    user_id: int    #: the design's own id (the bridge's USER_ID parameter)
    status: int     #: every access since the last ident: bit 0 bus error, bit 1 bus timeout

    def __repr__(self) -> str:
        return (f"Ident(magic={self.magic:#010x}, version={self.version_string}, "
                f"user_id={self.user_id:#x}, status={self.status:#x})")

    @property
    def is_bitfarm(self) -> bool:
        """Whether the bridge is bitfarm's (bf_uartbone)."""
        return self.magic == BRIDGE_MAGIC

    @property
    def version_string(self) -> str:
        """The version as "major.minor"."""
        return f"{self.version >> 16}.{self.version & 0xFFFF}"

    @property
    def bus_error(self) -> bool:
        """A bus error (the slave's err) on some access since the last ident."""
        return bool(self.status & 1)

    @property
    def bus_timeout(self) -> bool:
        """A bus timeout (no ack or err) on some access since the last ident."""
        return bool(self.status & 2)

    @property
    def ok(self) -> bool:
        """No access failed since the last ident."""
        return self.status == 0


def _u32(what: str, value: Any) -> int:
    try:
        v = operator.index(value)
    except TypeError:
        raise UsageError(f"invalid {what} {value!r} (want an integer)") from None
    if not 0 <= v <= 0xFFFFFFFF:
        raise UsageError(f"{what} {v:#x} does not fit in 32 bits")
    return v


def _flags(fixed: bool) -> int:
    return _lib.FIXED if fixed else 0


class Session(Child):
    """A register session on a reserved board: from Farm.session (which
    reserves the board, and releases it on close) or Farm.attach (a
    reservation held already, which close leaves held).

    A context manager: ``with farm.session(board="vboard0") as board:``
    releases the board when the block ends, also on an exception.
    Addresses are byte addresses (4-byte aligned, below 2**32), data
    32-bit words as ints.
    """

    _what = "session"

    def __init__(self, farm: Any, handle: c_void_p, attached: bool) -> None:
        super().__init__(farm, handle)
        #: the board's name
        self.board: str = _lib.text(lib.bitfarm_session_board(handle)) or ""
        #: the reservation's token
        self.token: str = _lib.text(lib.bitfarm_session_token(handle)) or ""
        #: True for Farm.attach: close() does not release the reservation
        self.attached = attached
        self._what = f"session on board '{self.board}'"

    def _closed_why(self) -> str:
        return super()._closed_why() or " (the board was released)"

    def _release(self) -> None:
        lib.bitfarm_session_close(byref(self._h))

    @property
    def closed(self) -> bool:
        """Whether the session was closed (the board released, unless attached)."""
        return self._h is None or not self._h.value

    def close(self) -> None:
        """Releases the board (unless attached) and ends the session; a
        second close does nothing.  Raises the release's error, if any
        (the session is closed either way)."""
        with self._farm._lock:
            if self.closed:
                return
            rc = lib.bitfarm_session_close(byref(self._h))
            self._farm._check(rc)

    release = close

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
            return
        try:   # the block's exception matters more than the release's
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("attached" if self.attached else "reserved")
        return f"<bitfarm.Session board={self.board!r} {state}>"

    # -- loading ----------------------------------------------------------------

    def program(self, source: Any, timeout: Optional[float] = None) -> None:
        """Loads a bitstream into the board and waits until it is loaded.
        source: a Job (waited for first, if it has not ended), a job id, a
        cache key (or a unique prefix), or a path to a .bin file.  timeout
        in seconds (None: no limit).  On the simulated board the design
        then runs in Verilator and its registers answer."""
        if hasattr(source, "wait") and hasattr(source, "id") and not source.done:
            source.wait()
        src = source_arg(source)
        self._call(lib.bitfarm_session_program, _lib.cstr(src), seconds_to_ms("timeout", timeout))

    # -- registers --------------------------------------------------------------

    @overload
    def read(self, addr: int) -> int: ...
    @overload
    def read(self, addr: int, count: int, fixed: bool = False) -> List[int]: ...

    def read(self, addr: int, count: Optional[int] = None,
             fixed: bool = False) -> Union[int, List[int]]:
        """Reads the register at addr: an int.  With count (1..4096), that
        many words as a list, from addr, addr+4, ... (fixed=True: count
        reads of the same register, a FIFO).  DesignError on a bus error or
        a bridge that does not answer."""
        a = _u32("address", addr)
        n = 1 if count is None else operator.index(count)
        if not 1 <= n <= MAX_WORDS:
            raise UsageError(f"count {n} is out of range (want 1..{MAX_WORDS})")
        buf = (c_uint32 * n)()
        self._call(lib.bitfarm_session_read, a, buf, n, _flags(fixed))
        return buf[0] if count is None else list(buf)

    def write(self, addr: int, value: Union[int, Iterable[int]], fixed: bool = False) -> None:
        """Writes a word (an int) to the register at addr, or a sequence
        of words (up to 4096) to addr, addr+4, ... (fixed=True: all to the
        same register, a FIFO).  The bus does not acknowledge writes:
        ident() or barrier() after them says whether they failed."""
        a = _u32("address", addr)
        if isinstance(value, (bytes, bytearray, str)):
            raise UsageError(f"invalid value {value!r} (want an int or a sequence of ints)")
        if hasattr(value, "__iter__"):
            words = [_u32("value", v) for v in value]   # type: ignore[union-attr]
        else:
            words = [_u32("value", value)]
        if not 1 <= len(words) <= MAX_WORDS:
            raise UsageError(f"{len(words)} words is out of range (want 1..{MAX_WORDS})")
        buf = (c_uint32 * len(words))(*words)
        self._call(lib.bitfarm_session_write, a, buf, len(words), _flags(fixed))

    def poll(self, addr: int, *, value: int, mask: int = 0xFFFFFFFF,
             timeout: float = 1.0) -> int:
        """Reads the register at addr until (word & mask) == value, for at
        most timeout seconds (0.001 .. 10); returns the matching word.
        bitfarm.TimeoutError, naming the last word read, otherwise."""
        out = c_uint32()
        self._call(lib.bitfarm_session_poll, _u32("address", addr), _u32("mask", mask),
                   _u32("value", value), seconds_to_ms("timeout", timeout), byref(out))
        return out.value

    def ident(self) -> Ident:
        """The bridge's identity, and a write barrier: it answers after
        every write sent before it has ended on the bus, with the status
        of every access since the last ident."""
        m, v, u, s = c_uint32(), c_uint32(), c_uint32(), c_uint32()
        self._call(lib.bitfarm_session_ident, byref(m), byref(v), byref(u), byref(s))
        return Ident(m.value, v.value, u.value, s.value)

    def barrier(self) -> Ident:
        """ident(), raising DesignError when an access since the last
        ident failed (a bus error or a bus timeout)."""
        i = self.ident()
        if not i.ok:
            what = " and ".join(w for w, bad in (("a bus error", i.bus_error),
                                                 ("a bus timeout", i.bus_timeout)) if bad)
            raise DesignError(f"{what or 'a failed access'} on board '{self.board}' since "
                              f"the last ident (status {i.status:#x})")
        return i

"""The exceptions: one class per bitfarm_error_code (include/bitfarm.h).

    BitfarmError                  any failure; .code, .message
    ├── UsageError                EUSAGE: a wrong argument, option, file; no such job or board
    ├── DesignError               EDESIGN: the tools rejected the design; a bus error
    ├── InfrastructureError       EINFRA: broker unreachable, worker lost, board offline
    │   └── BoardBusy             EBUSY: the board is reserved by someone else, or programming
    ├── TimeoutError              ETIMEOUT: also a builtins.TimeoutError
    ├── NotAllowed                EDENIED: a key or role the broker refuses
    └── Cancelled                 ECANCELLED: the job was cancelled
"""

from __future__ import annotations

import builtins
import enum
from typing import Any, Dict, Optional, Type

from . import _lib


class ErrorCode(enum.IntEnum):
    """The library's error codes (bitfarm_error_code)."""
    OK = _lib.OK
    USAGE = _lib.EUSAGE
    DESIGN = _lib.EDESIGN
    INFRASTRUCTURE = _lib.EINFRA
    TIMEOUT = _lib.ETIMEOUT
    DENIED = _lib.EDENIED
    CANCELLED = _lib.ECANCELLED
    BUSY = _lib.EBUSY


class BitfarmError(Exception):
    """A bitfarm failure.

    ``code`` is an ErrorCode (the C library's negative code) and
    ``message`` the one-line message naming the problem and the value, as
    the command line prints it.  A job's failure also carries ``job``, the
    Job that ended so (else None).
    """

    default_code: int = _lib.EUSAGE

    def __init__(self, message: str, code: Optional[int] = None, job: Any = None) -> None:
        super().__init__(message)
        self.message = message
        c = self.default_code if code is None else code
        try:
            self.code: int = ErrorCode(c)
        except ValueError:
            self.code = c
        self.job = job

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable despite OSError in TimeoutError's bases
        return (type(self), (self.message, int(self.code)))


class UsageError(BitfarmError):
    """The request is wrong: an argument, an option, a file, no such job,
    board or cache entry, a closed handle (EUSAGE; the CLI's exit 2)."""
    default_code = _lib.EUSAGE


class DesignError(BitfarmError):
    """The design failed: the tools rejected it, a bad bitstream; on a
    register, a bus error or a bridge that does not answer (EDESIGN; exit 1)."""
    default_code = _lib.EDESIGN


class InfrastructureError(BitfarmError):
    """The farm failed: broker unreachable, worker lost, board offline, a
    file that cannot be written (EINFRA; exit 3)."""
    default_code = _lib.EINFRA


class BoardBusy(InfrastructureError):
    """Every board asked for is held by another reservation, or is being
    programmed (EBUSY)."""
    default_code = _lib.EBUSY


class TimeoutError(BitfarmError, builtins.TimeoutError):
    """A time limit passed: the job's own, a wait's, a poll's (ETIMEOUT;
    exit 4).  Also a builtins.TimeoutError, so ``except TimeoutError``
    catches it with or without ``bitfarm.``."""
    default_code = _lib.ETIMEOUT

    def __init__(self, message: str, code: Optional[int] = None, job: Any = None) -> None:
        BitfarmError.__init__(self, message, code, job)


class NotAllowed(BitfarmError):
    """Not allowed: a key the broker refuses, a role that may not, another
    key's reservation (EDENIED)."""
    default_code = _lib.EDENIED


class Cancelled(BitfarmError):
    """The job was cancelled (ECANCELLED; exit 5)."""
    default_code = _lib.ECANCELLED


_BY_CODE: Dict[int, Type[BitfarmError]] = {
    _lib.EUSAGE: UsageError,
    _lib.EDESIGN: DesignError,
    _lib.EINFRA: InfrastructureError,
    _lib.ETIMEOUT: TimeoutError,
    _lib.EDENIED: NotAllowed,
    _lib.ECANCELLED: Cancelled,
    _lib.EBUSY: BoardBusy,
}


def from_code(code: int, message: str, job: Any = None) -> BitfarmError:
    """The exception for a bitfarm_error_code (BitfarmError for one this
    package does not know)."""
    return _BY_CODE.get(code, BitfarmError)(message, code, job)


def last_error(rc: int) -> BitfarmError:
    """The exception for a failed call's return code, with the calling
    thread's last message (bitfarm_error_last)."""
    err = _lib.lib.bitfarm_error_last().contents
    message = _lib.text(err.message) if err.code != _lib.OK else None
    return from_code(rc, message or _lib.text(_lib.lib.bitfarm_error_name(rc)) or "error")


def check(rc: int) -> None:
    """Raises the exception for rc unless it is BITFARM_OK."""
    if rc != _lib.OK:
        raise last_error(rc)

"""Loading libbitfarm.so.1 and declaring its functions (ctypes).

The library is searched for in this order (docs/python.md, "Finding the
library"):

1. ``$BITFARM_LIBRARY``, when set: that file and nothing else;
2. the in-tree build, ``<package>/../../build/lib/libbitfarm.so.1``
   (``python/bitfarm`` in a bitfarm checkout after ``make``);
3. beside an installed package, ``<package>/../../../libbitfarm.so.1``
   (``make install`` puts the package in
   ``PREFIX/lib/python3/dist-packages/bitfarm`` and the library in
   ``PREFIX/lib``);
4. ``libbitfarm.so.1`` through the dynamic loader (``LD_LIBRARY_PATH``,
   ``/etc/ld.so.cache``).

A library that is found nowhere raises ImportError naming every place
tried and why each failed.  Every function of include/bitfarm.h is
declared here with its argument and result types; the rest of the
package calls only these.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_int64, c_size_t,
                    c_uint, c_uint32, c_void_p)
from typing import List, Optional, Tuple

SONAME = "libbitfarm.so.1"

# CZMQ installs its own SIGINT/SIGTERM handler when the library first uses
# it, unless told not to; that handler would swallow Ctrl-C, so that
# KeyboardInterrupt never reached Python.  A caller that wants CZMQ's
# handler may set ZSYS_SIGHANDLER itself before importing bitfarm.
os.environ.setdefault("ZSYS_SIGHANDLER", "false")

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def candidates() -> List[Tuple[str, str]]:
    """The places searched for the library, in order, as (how, path)."""
    env = os.environ.get("BITFARM_LIBRARY", "")
    if env:
        return [("$BITFARM_LIBRARY", env)]
    return [
        ("the in-tree build", os.path.normpath(
            os.path.join(_PACKAGE_DIR, "..", "..", "build", "lib", SONAME))),
        ("beside the package", os.path.normpath(
            os.path.join(_PACKAGE_DIR, "..", "..", "..", SONAME))),
        ("the dynamic loader", SONAME),
    ]


def _load() -> Tuple[ctypes.CDLL, str]:
    tried = []
    for how, path in candidates():
        if how != "the dynamic loader" and not os.path.exists(path):
            tried.append(f"{path} ({how}): no such file")
            if how == "$BITFARM_LIBRARY":
                break
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"{path} ({how}): {e}")
    raise ImportError(f"cannot load {SONAME}; tried " + "; ".join(tried)
                      + " (set BITFARM_LIBRARY to its path)", name="bitfarm")


lib, path = _load()


class Error(Structure):
    """bitfarm_error: the calling thread's last error."""
    _fields_ = [("code", c_int), ("message", c_char_p)]


class SubmitOptions(Structure):
    """bitfarm_submit_options (version 1)."""
    _fields_ = [
        ("version", c_uint),
        ("priority", c_int),
        ("timeout_ms", c_int64),
        ("tags", POINTER(c_char_p)),
        ("program_board", c_char_p),
        ("token", c_char_p),
        ("toolchain", c_char_p),
    ]


SUBMIT_OPTIONS_VERSION = 1

# bitfarm_error_code
OK, EUSAGE, EDESIGN, EINFRA, ETIMEOUT, EDENIED, ECANCELLED, EBUSY = 0, -1, -2, -3, -4, -5, -6, -7
# bitfarm_state
QUEUED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELLED, STATE_UNKNOWN = range(7)
# bitfarm_artifact
BITSTREAM, REPORT, LOG = 0, 1, 2
# session flags
FIXED = 1

PROGRESS_CB = CFUNCTYPE(c_int, c_void_p, c_void_p)
# data as a pointer, not c_char_p: log pieces may hold NUL bytes
LOG_CB = CFUNCTYPE(c_int, c_void_p, c_size_t, c_void_p)

_VP = POINTER(c_void_p)
_U32P = POINTER(c_uint32)

# name: (restype, argtypes)
_PROTOTYPES = {
    "bitfarm_version": (c_char_p, [POINTER(c_int), POINTER(c_int), POINTER(c_int)]),
    "bitfarm_error_last": (POINTER(Error), []),
    "bitfarm_error_name": (c_char_p, [c_int]),
    "bitfarm_free": (None, [c_void_p]),
    # the farm
    "bitfarm_farm_open": (c_int, [_VP, c_char_p]),
    "bitfarm_farm_open_curve": (c_int, [_VP, c_char_p, c_char_p, c_char_p]),
    "bitfarm_farm_close": (None, [_VP]),
    "bitfarm_farm_endpoint": (c_char_p, [c_void_p]),
    "bitfarm_farm_set_timeout": (c_int, [c_void_p, c_int]),
    "bitfarm_jobs": (c_int, [c_void_p, c_int, c_char_p, _VP]),
    "bitfarm_boards": (c_int, [c_void_p, _VP]),
    "bitfarm_workers": (c_int, [c_void_p, _VP]),
    # designs
    "bitfarm_design_new": (c_int, [_VP, c_char_p, c_char_p, c_char_p]),
    "bitfarm_design_from_project": (c_int, [_VP, c_char_p, c_char_p]),
    "bitfarm_design_free": (None, [_VP]),
    "bitfarm_design_add_file": (c_int, [c_void_p, c_char_p]),
    "bitfarm_design_set": (c_int, [c_void_p, c_char_p, c_char_p]),
    # jobs
    "bitfarm_state_name": (c_char_p, [c_int]),
    "bitfarm_state_is_final": (c_int, [c_int]),
    "bitfarm_submit": (c_int, [c_void_p, c_void_p, POINTER(SubmitOptions), _VP]),
    "bitfarm_job_open": (c_int, [c_void_p, c_char_p, _VP]),
    "bitfarm_job_free": (None, [_VP]),
    "bitfarm_job_id": (c_char_p, [c_void_p]),
    "bitfarm_job_refresh": (c_int, [c_void_p]),
    "bitfarm_job_state": (c_int, [c_void_p]),
    "bitfarm_job_get": (c_char_p, [c_void_p, c_char_p]),
    "bitfarm_job_get_int": (c_int64, [c_void_p, c_char_p, c_int64]),
    "bitfarm_job_json": (c_char_p, [c_void_p]),
    "bitfarm_job_wait": (c_int, [c_void_p, c_int64, PROGRESS_CB, c_void_p]),
    "bitfarm_job_fetch": (c_int, [c_void_p, c_int, _VP, POINTER(c_size_t)]),
    "bitfarm_job_save": (c_int, [c_void_p, c_int, c_char_p]),
    "bitfarm_job_logs": (c_int, [c_void_p, c_int, LOG_CB, c_void_p]),
    "bitfarm_job_cancel": (c_int, [c_void_p]),
    # boards and sessions
    "bitfarm_program": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, _VP]),
    "bitfarm_session_open": (c_int, [c_void_p, c_char_p, c_char_p, c_int64, c_char_p, _VP]),
    "bitfarm_session_attach": (c_int, [c_void_p, c_char_p, c_char_p, _VP]),
    "bitfarm_session_close": (c_int, [_VP]),
    "bitfarm_session_board": (c_char_p, [c_void_p]),
    "bitfarm_session_token": (c_char_p, [c_void_p]),
    "bitfarm_session_program": (c_int, [c_void_p, c_char_p, c_int64]),
    "bitfarm_session_read": (c_int, [c_void_p, c_uint32, _U32P, c_size_t, c_uint]),
    "bitfarm_session_write": (c_int, [c_void_p, c_uint32, _U32P, c_size_t, c_uint]),
    "bitfarm_session_poll": (c_int, [c_void_p, c_uint32, c_uint32, c_uint32, c_int64, _U32P]),
    "bitfarm_session_ident": (c_int, [c_void_p, _U32P, _U32P, _U32P, _U32P]),
}


def _declare() -> None:
    missing = []
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise ImportError(f"{path} is not a libbitfarm.so.1 this package knows: it lacks "
                          + ", ".join(missing), name="bitfarm")


_declare()


def text(b: Optional[bytes]) -> Optional[str]:
    """A C string from the library as str (None stays None)."""
    return None if b is None else b.decode("utf-8", "replace")


def cstr(s: Optional[object]) -> Optional[bytes]:
    """A str or path for the library: UTF-8 (paths: the file system's encoding)."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    if isinstance(s, os.PathLike):
        return os.fsencode(s)
    return str(s).encode("utf-8", "surrogateescape")


def take_buffer(ptr: c_void_p, length: Optional[int] = None) -> bytes:
    """Copies a buffer the library returned and frees it (bitfarm_free)."""
    try:
        if not ptr.value:
            return b""
        return ctypes.string_at(ptr, length) if length is not None else ctypes.string_at(ptr)
    finally:
        lib.bitfarm_free(ptr)


def version() -> str:
    """The library's version string (bitfarm_version)."""
    return text(lib.bitfarm_version(None, None, None)) or ""

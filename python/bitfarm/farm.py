"""Farm: a connection to a bitfarm broker (bitfarm_farm)."""

from __future__ import annotations

import atexit
import json
import os
import threading
import weakref
from ctypes import byref, c_char_p, c_void_p
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from . import _lib
from ._handle import lib, seconds_to_ms, source_arg
from .errors import UsageError, check, last_error
from .job import Job
from .session import Session

PathLike = Union[str, "os.PathLike[str]"]

#: The design options that may be given several times (a list, or for
#: define and param a dict).
REPEATABLE = frozenset({"define", "include", "param", "synth-opt", "pnr-opt"})

#: Keyword arguments of submit that are how the job runs, not the design.
RUN_OPTIONS = ("priority", "timeout", "tags", "toolchain", "program_board", "token")

_open_farms: "weakref.WeakSet[Farm]" = weakref.WeakSet()


def _close_all() -> None:
    for f in list(_open_farms):
        try:
            f.close()
        except Exception:
            pass


atexit.register(_close_all)


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, (list, tuple, set, dict, bytes)):
        raise UsageError(f"invalid value {value!r} for option '{name}'")
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (str, int, float)):
        return str(value)
    raise UsageError(f"invalid value {value!r} for option '{name}'")


def _values(name: str, value: Any) -> List[str]:
    """The values an option is set to, in order (several for a repeatable one)."""
    if name not in REPEATABLE:
        if isinstance(value, (list, tuple, set, dict)):
            raise UsageError(f"option '{name}' takes one value, not a {type(value).__name__}")
        return [_scalar(name, value)]
    if isinstance(value, Mapping):
        if name not in ("define", "param"):
            raise UsageError(f"option '{name}' takes a list, not a dict")
        out = []
        for k, v in value.items():
            if v is None or v is True:
                out.append(str(k))
            elif v is not False:
                out.append(f"{k}={_scalar(name, v)}")
        return out
    if isinstance(value, (list, tuple)):
        return [_scalar(name, v) for v in value]
    return [_scalar(name, value)]


class Farm:
    """A connection to a bitfarm broker.

    Farm() is the default farm: $BITFARM_BROKER if set, else this user's
    local farm (~/.cache/bitfarm: a broker, a worker and the simulated
    board vboard0, started on first use).  Farm("tcp://host:7700") names
    a broker; with cert= (this client's secret key, NAME.key_secret) and
    broker_key= (the broker's public key, its NAME.key) it talks CURVE
    ($BITFARM_CERT and $BITFARM_BROKER_KEY do the same).  timeout= is how
    long each request waits for the broker's answer, in seconds (0.01 ..
    3600; default 10).

    Nothing is sent when it opens: a broker that is not there shows at the
    first request (InfrastructureError).  A context manager: the with
    block's end closes it, with every job and session it opened (sessions
    release their boards).  A Farm and what it opened may be used from
    several threads; calls on one farm take turns.
    """

    def __init__(self, endpoint: Optional[str] = None, *, cert: Optional[PathLike] = None,
                 broker_key: Optional[PathLike] = None,
                 timeout: Optional[float] = None) -> None:
        self._lock = threading.RLock()
        self._h = c_void_p()
        self._closed = True
        self._children: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._open_args: Dict[str, Any] = {"cert": cert, "broker_key": broker_key,
                                           "timeout": timeout}
        if (cert is None) != (broker_key is None):
            raise UsageError("cert and broker_key go together (CURVE needs both)")
        if cert is not None:
            check(lib.bitfarm_farm_open_curve(byref(self._h), _lib.cstr(endpoint),
                                              _lib.cstr(cert), _lib.cstr(broker_key)))
        else:
            check(lib.bitfarm_farm_open(byref(self._h), _lib.cstr(endpoint)))
        self._closed = False
        _open_farms.add(self)
        if timeout is not None:
            try:
                self.timeout = timeout
            except BaseException:
                self.close()
                raise

    # -- the connection -----------------------------------------------------------

    def _handle(self) -> c_void_p:
        if self._closed:
            raise UsageError("farm is closed")
        return self._h

    def _check(self, rc: int) -> None:
        if rc != _lib.OK:
            raise last_error(rc)

    def _call(self, fn: Any, *args: Any) -> None:
        with self._lock:
            self._check(fn(self._handle(), *args))

    def _adopt(self, child: Any) -> None:
        self._children.add(child)

    @property
    def endpoint(self) -> str:
        """The endpoint connected to ("ipc://..." for the local farm)."""
        with self._lock:
            return _lib.text(lib.bitfarm_farm_endpoint(self._handle())) or ""

    @property
    def timeout(self) -> float:
        """Seconds each request waits for the broker's answer."""
        return self._timeout if hasattr(self, "_timeout") else 10.0

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._call(lib.bitfarm_farm_set_timeout, seconds_to_ms("timeout", seconds))
        self._timeout = float(seconds)
        self._open_args["timeout"] = self._timeout

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    def close(self) -> None:
        """Closes the connection, after closing every Job and Session it
        opened (each session's board is released).  A second close does
        nothing."""
        with self._lock:
            if self._closed:
                return
            for child in list(self._children):
                try:
                    if child._h is not None and child._h.value:
                        child._release()
                except Exception:
                    pass
            lib.bitfarm_farm_close(byref(self._h))
            self._closed = True

    def __enter__(self) -> "Farm":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._closed:
            return "<bitfarm.Farm closed>"
        return f"<bitfarm.Farm {self.endpoint}>"

    # -- listings ------------------------------------------------------------------

    def _listing(self, key: str, fn: Any, *args: Any) -> List[Dict[str, Any]]:
        out = c_void_p()
        with self._lock:
            self._check(fn(self._handle(), *args, byref(out)))
            data = _lib.take_buffer(out)
        return list(json.loads(data.decode("utf-8", "replace")).get(key) or [])

    def jobs(self, limit: Optional[int] = None, commit: Optional[str] = None) -> List[Dict[str, Any]]:
        """Recent jobs, newest first, as dicts (each as Job.info): at most
        limit (1..10000; default 100); commit (4..64 hex characters) keeps
        those built from a commit beginning with it.  A client key sees
        only its own jobs."""
        return self._listing("jobs", lib.bitfarm_jobs, int(limit or 0), _lib.cstr(commit))

    def boards(self) -> List[Dict[str, Any]]:
        """Every board as a dict: name, device, package, worker, state,
        reserved_by, reserved_until, ... (docs/protocol.md section 9)."""
        return self._listing("boards", lib.bitfarm_boards)

    def workers(self) -> List[Dict[str, Any]]:
        """Every connected worker as a dict: name, slots, busy, toolchain, ..."""
        return self._listing("workers", lib.bitfarm_workers)

    # -- building ------------------------------------------------------------------

    def submit(self, top: str, device: Optional[str] = None, package: Optional[str] = None,
               pcf: Optional[PathLike] = None, sources: Union[PathLike, Iterable[PathLike]] = (),
               **options: Any) -> Job:
        """Submits a design; returns its Job at once (queued, or already
        succeeded on a cache hit).

        top: the top module; device: lp1k hx1k hx8k up5k ... (None when
        regio= gives it); package: None for the device's default; pcf:
        the pin constraints file; sources: the Verilog/SystemVerilog and
        data files, in order (files they include or read are found and
        sent by themselves).  Paths are relative to the current directory.

        Design options, named as the command line's long options with "_"
        for "-": freq, seed, flow, delay, root, regio, rev, git_dir; and,
        given as a list, the repeatable define, include, param, synth_opt,
        pnr_opt (define and param also as a dict: {"WIDTH": 8} is
        "WIDTH=8", {"FAST": True} is "FAST").  Run options, which do not
        change the cache key: priority (-1000..1000), timeout (seconds, per
        attempt), tags (worker tags required), toolchain (an identity
        prefix), program_board and token (program that board after the
        build).  UsageError for an unknown option, a value it refuses, or
        a file that cannot be read (nothing is sent then)."""
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        run = {k: options.pop(k) for k in RUN_OPTIONS if k in options}
        d = c_void_p()
        check(lib.bitfarm_design_new(byref(d), _lib.cstr(top), _lib.cstr(device),
                                     _lib.cstr(package)))
        try:
            for src in sources:
                check(lib.bitfarm_design_add_file(d, _lib.cstr(src)))
            if pcf is not None:
                options["pcf"] = pcf
            self._set_options(d, options)
            return self._submit(d, run)
        finally:
            lib.bitfarm_design_free(byref(d))

    def submit_project(self, path: PathLike = ".", target: Optional[str] = None,
                       **options: Any) -> Job:
        """Submits a target of a project file (bitfarm.ini, docs/project.md):
        path is the file, or a directory searched upward for one; target
        None is its default target.  Options (as submit's) add to or
        replace the target's.  UsageError with "FILE:LINE: ..." for a
        mistake in the file."""
        run = {k: options.pop(k) for k in RUN_OPTIONS if k in options}
        d = c_void_p()
        check(lib.bitfarm_design_from_project(byref(d), _lib.cstr(path), _lib.cstr(target)))
        try:
            self._set_options(d, options)
            return self._submit(d, run)
        finally:
            lib.bitfarm_design_free(byref(d))

    @staticmethod
    def _set_options(d: c_void_p, options: Dict[str, Any]) -> None:
        for key, value in options.items():
            if value is None:
                continue
            name = key.replace("_", "-")
            for v in _values(name, value):
                check(lib.bitfarm_design_set(d, _lib.cstr(name), _lib.cstr(v)))

    def _submit(self, d: c_void_p, run: Dict[str, Any]) -> Job:
        opts = _lib.SubmitOptions()
        opts.version = _lib.SUBMIT_OPTIONS_VERSION
        keep: List[Any] = []   # the bytes the struct points at, alive during the call
        prio = run.get("priority")
        if prio is not None:
            if isinstance(prio, bool) or not isinstance(prio, int):
                raise UsageError(f"invalid priority {prio!r} (want an integer, -1000..1000)")
            opts.priority = prio
        opts.timeout_ms = seconds_to_ms("timeout", run.get("timeout"))
        tags = run.get("tags")
        if tags is not None:
            if isinstance(tags, str):
                tags = [tags]
            enc = [_lib.cstr(t) for t in tags]
            arr = (c_char_p * (len(enc) + 1))(*enc, None)
            keep.append(arr)
            opts.tags = arr
        for field in ("program_board", "token", "toolchain"):
            v = run.get(field)
            if v is not None:
                b = _lib.cstr(v)
                keep.append(b)
                setattr(opts, field, b)
        out = c_void_p()
        self._call(lib.bitfarm_submit, d, byref(opts), byref(out))
        with self._lock:
            return Job(self, out)

    def job(self, id: str) -> Job:
        """The job with this id, or a unique prefix of it (asks its status
        once).  UsageError for no such job (or another key's), or an
        ambiguous prefix."""
        out = c_void_p()
        self._call(lib.bitfarm_job_open, _lib.cstr(id), byref(out))
        with self._lock:
            return Job(self, out)

    # -- boards ------------------------------------------------------------------

    def program(self, board: str, source: Any, token: Optional[str] = None) -> Job:
        """A program job loading a bitstream into board; returns it at once
        (wait for it with Job.wait).  source: a Job, a job id, a cache key,
        or a .bin path (uploaded if the broker lacks it); token: the
        reservation holding the board, None when it is not reserved."""
        out = c_void_p()
        self._call(lib.bitfarm_program, _lib.cstr(board), _lib.cstr(source_arg(source)),
                   _lib.cstr(token), byref(out))
        with self._lock:
            return Job(self, out)

    def session(self, device: Optional[str] = None, *, board: Optional[str] = None,
                program: Any = None, lease: Optional[float] = None, by: Optional[str] = None,
                program_timeout: Optional[float] = None) -> Session:
        """Reserves a board and opens a register session on it.

        board: a board by name; else device ("up5k"): any online board of
        that device.  lease: seconds the reservation lasts (1 .. 86400;
        default 15 minutes); by: a label for it in `bitfarm boards`.
        program: load this first (a Job, waited for if it has not ended,
        before the board is reserved; a job id; a cache key; a .bin path),
        within program_timeout seconds (None: no limit).

        Use it as a context manager: the board is released when the block
        ends, also on an exception.  UsageError (no such board), BoardBusy
        (every matching board is held), InfrastructureError, NotAllowed."""
        if program is not None and hasattr(program, "wait") and not program.done:
            program.wait()
        src = None if program is None else source_arg(program)
        out = c_void_p()
        self._call(lib.bitfarm_session_open, _lib.cstr(board), _lib.cstr(device),
                   seconds_to_ms("lease", lease), _lib.cstr(by), byref(out))
        with self._lock:
            s = Session(self, out, attached=False)
        if src is not None:
            try:
                s.program(src, timeout=program_timeout)
            except BaseException:
                try:
                    s.close()
                except Exception:
                    pass
                raise
        return s

    def attach(self, board: Optional[str] = None, token: Optional[str] = None) -> Session:
        """A session on a reservation this key holds already (the token
        `bitfarm reserve` printed); closing it leaves the board reserved.
        board and token default to $BITFARM_BOARD and $BITFARM_TOKEN, which
        `bitfarm session BOARD -- python3 script.py` sets."""
        board = board or os.environ.get("BITFARM_BOARD")
        token = token or os.environ.get("BITFARM_TOKEN")
        if not board or not token:
            raise UsageError("attach needs a board and its token (or $BITFARM_BOARD and "
                             "$BITFARM_TOKEN, as `bitfarm session` sets)")
        out = c_void_p()
        self._call(lib.bitfarm_session_attach, _lib.cstr(board), _lib.cstr(token), byref(out))
        with self._lock:
            return Session(self, out, attached=True)

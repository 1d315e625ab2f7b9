"""Job: a build or program job on the farm (bitfarm_job)."""

from __future__ import annotations

import codecs
import ctypes
import json
import os
import queue
import sys
import threading
import time
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

from . import _lib
from ._handle import Child, lib, seconds_to_ms
from .errors import (BitfarmError, Cancelled, DesignError, InfrastructureError, TimeoutError,
                     UsageError)

#: The states a job ends in; a job in one of them changes no more.
FINAL_STATES = frozenset({"succeeded", "failed", "timed_out", "cancelled"})

_ARTIFACTS = {"bitstream": _lib.BITSTREAM, "report": _lib.REPORT, "log": _lib.LOG}

#: How long wait() keeps asking a broker that does not answer (it may be
#: restarting) before it gives up, as `bitfarm wait` does.
WAIT_SILENCE_S = 60.0

Progress = Union[bool, Callable[["Job"], Any], None]


class Job(Child):
    """A job on the farm: a build (Farm.submit) or a program job
    (Farm.program).  Get one from Farm.submit, Farm.submit_project,
    Farm.program or Farm.job; do not construct it.

    The attributes reflect the last status asked for (at creation, and
    after status(), wait() and cancel()): ``state``, ``info`` (the whole
    status, as ``bitfarm status --json`` prints it, docs/json.md),
    ``cache_key``, ``cache_hit``, ``error``, ``failure_class``, ``stage``,
    ``worker``, ``attempt``.  A Job belongs to its Farm and is unusable
    once the farm is closed (its attributes stay readable).
    """

    _what = "job"

    def __init__(self, farm: Any, handle: c_void_p) -> None:
        super().__init__(farm, handle)
        #: the full job id (32 hex characters)
        self.id: str = _lib.text(lib.bitfarm_job_id(handle)) or ""
        self._what = f"job {self.id[:12]}"
        self.info: Dict[str, Any] = {}
        self._state = "unknown"
        self._load()

    def _release(self) -> None:
        lib.bitfarm_job_free(byref(self._h))

    def _load(self) -> None:
        h = self._handle()
        self._state = _lib.text(lib.bitfarm_state_name(lib.bitfarm_job_state(h))) or "unknown"
        raw = _lib.text(lib.bitfarm_job_json(h))
        try:
            self.info = json.loads(raw) if raw else {}
        except ValueError:
            self.info = {}

    # -- the last status ------------------------------------------------------

    @property
    def state(self) -> str:
        """"queued", "running", "succeeded", "failed", "timed_out",
        "cancelled" (or "unknown"), as of the last status."""
        return self._state

    @property
    def done(self) -> bool:
        """Whether the job has ended (its state is final)."""
        return self._state in FINAL_STATES

    @property
    def cache_key(self) -> Optional[str]:
        """The cache key (64 hex characters), once known."""
        return self.info.get("cache_key")

    @property
    def cache_hit(self) -> bool:
        """Whether the result came from the cache."""
        return bool(self.info.get("cache_hit"))

    @property
    def error(self) -> Optional[str]:
        """The tool's or the farm's error, one line (None unless it failed)."""
        return self.info.get("error")

    @property
    def failure_class(self) -> Optional[str]:
        """"design", "bitstream", "infrastructure", "timeout", "cancelled" or None."""
        return self.info.get("failure_class")

    @property
    def stage(self) -> Optional[str]:
        """The stage running or last reached ("synth", "pnr", "pack", "done", ...)."""
        return self.info.get("stage")

    @property
    def worker(self) -> Optional[str]:
        """The worker's name, once dispatched."""
        return self.info.get("worker")

    @property
    def attempt(self) -> int:
        """The attempt number (1 for the first)."""
        return int(self.info.get("attempt") or 0)

    @property
    def kind(self) -> str:
        """"build" or "program"."""
        return self.info.get("kind") or "build"

    def __repr__(self) -> str:
        return f"<bitfarm.Job {self.id[:12]} {self._state}>"

    # -- requests ---------------------------------------------------------------

    def status(self) -> str:
        """Asks the broker for the job's status now; returns the state
        (``info`` then holds the whole status)."""
        self._call(lib.bitfarm_job_refresh)
        with self._farm._lock:
            self._load()
        return self._state

    def wait(self, timeout: Optional[float] = None, progress: Progress = False,
             check: bool = True) -> "Job":
        """Waits until the job ends; returns the Job.

        timeout: seconds (None: no limit); when it passes first, raises
        bitfarm.TimeoutError and the job goes on running.  progress=True
        prints each change of state, stage, worker or attempt on stderr as
        `bitfarm wait` does ("1a2b3c4d5e6f: running, stage pnr, on worker
        w1 (attempt 1)"), and the end; a callable is called with the Job
        instead.  check=True raises the exception of the job's end unless
        it succeeded (DesignError, InfrastructureError, TimeoutError,
        Cancelled; the exception's ``job`` is this Job); check=False
        returns the ended Job whatever its state.  A broker that stops
        answering is asked again for up to a minute (it may be
        restarting)."""
        seconds_to_ms("timeout", timeout)   # checks the value
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        delay = 0.02
        last = None
        silent_since: Optional[float] = None
        while True:
            try:
                self.status()
                silent_since = None
            except (InfrastructureError, TimeoutError):
                now = time.monotonic()
                if silent_since is None:
                    silent_since = now
                    if progress is True:
                        print(f"{self.id[:12]}: the broker is not answering; still waiting",
                              file=sys.stderr, flush=True)
                if now - silent_since >= WAIT_SILENCE_S:
                    raise
            else:
                now_key = (self._state, self.stage, self.worker, self.attempt,
                           self.info.get("waiting_for"))
                if now_key != last or self.done:
                    last = now_key
                    self._report(progress)
                if self.done:
                    break
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {self.id[:12]} is still {self._state} after "
                                   f"{timeout:g} s (it goes on running)", job=self)
            pause = delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic()))
            time.sleep(pause)
            delay = min(delay * 2, 0.25)
        if check:
            self.raise_for_state()
        return self

    def _report(self, progress: Progress) -> None:
        if callable(progress):
            progress(self)
        elif progress:
            print(self.progress_line(), file=sys.stderr, flush=True)

    def progress_line(self) -> str:
        """The job's last status as one line, as `bitfarm wait` prints it."""
        i = self.id[:12]
        if self._state == "running":
            return (f"{i}: running, stage {self.stage or '-'}, on worker {self.worker or '-'} "
                    f"(attempt {self.attempt})")
        if not self.done:
            w = self.info.get("waiting_for")
            return f"{i}: {self._state}" + (f": {w}" if isinstance(w, str) else "")
        line = f"{i}: {self._state}" + (" (cache hit)" if self.cache_hit else "")
        if self.error:
            line += f" [{self.failure_class}] {self.error}"
        return line

    def raise_for_state(self) -> None:
        """Raises the exception of the job's end (as of the last status)
        unless it succeeded or has not ended."""
        if not self.done or self._state == "succeeded":
            return
        i, err, fc = self.id[:12], self.error, self.failure_class
        why = f": {err}" if err else ""
        if self._state == "cancelled":
            raise Cancelled(f"job {i} was cancelled{why}", job=self)
        if self._state == "timed_out":
            raise TimeoutError(f"job {i} timed out{why}", job=self)
        if fc == "infrastructure":
            raise InfrastructureError(f"job {i} failed{why}", job=self)
        if fc in ("design", "bitstream", None):
            raise DesignError(f"job {i} failed{why}", job=self)
        raise BitfarmError(f"job {i} failed [{fc}]{why}", job=self)

    def cancel(self) -> "Job":
        """Cancels the job if it is queued or running; returns the Job.
        UsageError when it had already ended."""
        self._call(lib.bitfarm_job_cancel)
        with self._farm._lock:
            self._load()
        return self

    # -- outputs ---------------------------------------------------------------

    def fetch(self, what: str = "bitstream") -> bytes:
        """One of a finished job's outputs as bytes: "bitstream" (the .bin),
        "report" (nextpnr's JSON report, with the farm's summary) or "log".
        UsageError when the job has none (it failed, or is not finished)."""
        art = _artifact(what)
        data, size = c_void_p(), c_size_t()
        self._call(lib.bitfarm_job_fetch, art, byref(data), byref(size))
        return _lib.take_buffer(data, size.value)

    def bitstream(self) -> bytes:
        """The bitstream (.bin) as bytes."""
        return self.fetch("bitstream")

    def report(self) -> Dict[str, Any]:
        """nextpnr's report with the farm's summary, parsed (a dict)."""
        return json.loads(self.fetch("report").decode("utf-8", "replace"))

    def log(self) -> str:
        """The tools' output of a finished job (as logs(), all at once)."""
        return self.fetch("log").decode("utf-8", "replace")

    def save(self, path: Union[str, "os.PathLike[str]"], what: str = "bitstream") -> str:
        """Writes an output ("bitstream", "report", "log") to path,
        atomically (a temporary file renamed); returns the path."""
        art = _artifact(what)
        self._call(lib.bitfarm_job_save, art, _lib.cstr(path))
        return os.fspath(path)

    def logs(self, follow: bool = False,
             callback: Optional[Callable[[str], Any]] = None) -> Optional[Iterator[str]]:
        """The job's log from the start, in pieces of text.

        Without callback, returns an iterator over the pieces; with
        follow=True it goes on yielding what is added until the job ends
        (through a second connection to the farm, in a thread, so this
        farm stays free for other calls meanwhile).  With a callback,
        calls callback(text) for each piece on this thread and returns
        None; a callback that returns a true value stops it early."""
        if callback is not None:
            self._logs(follow, callback)
            return None
        if not follow:
            pieces: List[str] = []
            self._logs(False, pieces.append)
            return iter(pieces)
        return self._follow()

    def _logs(self, follow: bool, callback: Callable[[str], Any]) -> None:
        dec = codecs.getincrementaldecoder("utf-8")("replace")
        raised: List[BaseException] = []

        def piece(data: int, length: int, _payload: Any) -> int:
            try:
                t = dec.decode(ctypes.string_at(data, length))
                return 1 if t and callback(t) else 0
            except BaseException as e:   # carried over the C frames, raised below
                raised.append(e)
                return 1

        fn = _lib.LOG_CB(piece)
        try:
            self._call(lib.bitfarm_job_logs, int(bool(follow)), fn, None)
        finally:
            if raised:
                raise raised[0]
        tail = dec.decode(b"", final=True)
        if tail:
            callback(tail)

    def _follow(self) -> Iterator[str]:
        end = object()
        pieces: "queue.Queue[Any]" = queue.Queue()
        stop = threading.Event()
        farm = self._farm
        endpoint, args = farm.endpoint, farm._open_args

        def run() -> None:
            try:
                with type(farm)(endpoint, **args) as f:
                    f.job(self.id).logs(follow=True,
                                        callback=lambda t: pieces.put(t) or stop.is_set())
            except BaseException as e:
                pieces.put(_Raised(e))
            finally:
                pieces.put(end)

        def gen() -> Iterator[str]:
            th = threading.Thread(target=run, name=f"bitfarm-logs-{self.id[:12]}", daemon=True)
            th.start()
            try:
                while True:
                    item = pieces.get()
                    if item is end:
                        return
                    if isinstance(item, _Raised):
                        raise item.exc
                    yield item
            finally:
                stop.set()

        return gen()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _artifact(what: str) -> int:
    try:
        return _ARTIFACTS[what]
    except (KeyError, TypeError):
        raise UsageError(f"unknown output {what!r} (want 'bitstream', 'report' or 'log')") from None

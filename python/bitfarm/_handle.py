"""What Farm, Job and Session share: a C handle, its lock and its release."""

from __future__ import annotations

import os
from typing import Any, Optional

from . import _lib
from .errors import UsageError


def seconds_to_ms(what: str, seconds: Optional[float], none: int = 0) -> int:
    """A duration in seconds (int or float) as whole milliseconds for the
    library; None gives `none` (the library's "default" or "no limit")."""
    if seconds is None:
        return none
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise UsageError(f"invalid {what} {seconds!r} (want seconds, a number)")
    if seconds != seconds or seconds < 0 or seconds > 10 ** 12:   # NaN, negative, absurd
        raise UsageError(f"invalid {what} {seconds!r} (want seconds, 0 or more)")
    return int(round(seconds * 1000))


def source_arg(source: Any) -> str:
    """What the library takes as a bitstream source: a Job (its id), a job
    id, a cache key, or a path to a .bin file."""
    job_id = getattr(source, "id", None)
    if isinstance(job_id, str):
        return job_id
    if isinstance(source, os.PathLike):
        return os.fspath(source)
    if isinstance(source, str) and source:
        return source
    raise UsageError(f"invalid bitstream source {source!r} (want a Job, a job id, a cache key "
                     "or a .bin file)")


class Child:
    """A handle that borrows its farm (a job, a session): it is released
    before the farm closes, and unusable after that."""

    _what = "handle"

    def __init__(self, farm: Any, handle: Any) -> None:
        self._farm = farm
        self._h = handle
        farm._adopt(self)

    def _handle(self) -> Any:
        """The live C handle; UsageError once released."""
        if self._h is None or not self._h.value:
            raise UsageError(f"{self._what} is closed" + self._closed_why())
        return self._h

    def _closed_why(self) -> str:
        return " (its farm was closed)" if self._farm._closed else ""

    def _release(self) -> None:   # pragma: no cover - overridden
        raise NotImplementedError

    def _call(self, fn: Any, *args: Any) -> None:
        """fn(handle, *args) under the farm's lock; raises on failure."""
        with self._farm._lock:
            h = self._handle()
            self._farm._handle()
            self._farm._check(fn(h, *args))

    def __del__(self) -> None:
        try:
            if self._h is not None and self._h.value and not self._farm._closed:
                with self._farm._lock:
                    self._release()
        except Exception:
            pass


# the library's own symbol table, re-exported for the modules' use
lib = _lib.lib

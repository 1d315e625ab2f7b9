"""What the Python tests share: their own local farm, paths, and builds.

Import this before bitfarm.  It puts this checkout's python/ first on
sys.path (unless $BITFARM_TEST_INSTALLED is set, to test an installed
copy) and gives the tests a local farm of their own: XDG_CACHE_HOME is
$BITFARM_TEST_XDG when set (tests/integration/t0034-python.sh sets it and
stops the farm itself), else a new temporary directory whose farm is
stopped and which is removed when the tests end.  So the tests never
touch the user's own local farm.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
EXAMPLES = os.path.join(REPO, "examples")

if not os.environ.get("BITFARM_TEST_INSTALLED"):
    sys.path.insert(0, os.path.join(REPO, "python"))

_own_xdg = not os.environ.get("BITFARM_TEST_XDG")
XDG = os.environ.get("BITFARM_TEST_XDG") or tempfile.mkdtemp(prefix="bitfarm-pytest.")
os.environ["XDG_CACHE_HOME"] = XDG
for var in ("BITFARM_BROKER", "BITFARM_CERT", "BITFARM_BROKER_KEY", "BITFARM_BOARD",
            "BITFARM_TOKEN"):
    os.environ.pop(var, None)
os.environ["BITFARM_NO_GIT"] = "1"   # the fixtures are plain directories, as in lib.sh

import bitfarm  # noqa: E402

LIB = bitfarm.library_path
#: the command line beside the library (build/lib -> build/bin), or $BITFARM_BIN's
BIN = os.environ.get("BITFARM_BIN") or os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(LIB))), "bin")
CLI = os.path.join(BIN, "bitfarm")


def run_cli(*args: str, check: bool = True, cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    """Runs the bitfarm command line against the tests' farm."""
    return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=cwd, check=check,
                          timeout=120)


def _stop_farm() -> None:
    if not _own_xdg:
        return
    if os.path.exists(os.path.join(XDG, "bitfarm")) and os.access(CLI, os.X_OK):
        subprocess.run([CLI, "farm", "stop"], capture_output=True, timeout=60)
    shutil.rmtree(XDG, ignore_errors=True)


atexit.register(_stop_farm)

_farm: Optional["bitfarm.Farm"] = None


def farm() -> "bitfarm.Farm":
    """One Farm on the tests' local farm, shared by the tests."""
    global _farm
    if _farm is None or _farm.closed:
        _farm = bitfarm.Farm(timeout=30)
    return _farm


class Chdir:
    """with Chdir(path): runs the block in path (the library takes paths
    relative to the current directory)."""

    def __init__(self, path: str) -> None:
        self.path, self.old = path, ""

    def __enter__(self) -> None:
        self.old = os.getcwd()
        os.chdir(self.path)

    def __exit__(self, *exc: object) -> None:
        os.chdir(self.old)


BLINKY = os.path.join(FIXTURES, "blinky")
BLINKY_ARGS = dict(top="top", device="hx1k", package="tq144", pcf="icestick.pcf",
                   sources=["top.v"])
HX1K_BIN_SIZE = 32220


@functools.lru_cache(maxsize=None)
def blinky() -> "bitfarm.Job":
    """The blinky fixture, built once (later submits are cache hits)."""
    with Chdir(BLINKY):
        return farm().submit(**BLINKY_ARGS).wait(timeout=300)


HELLO = os.path.join(EXAMPLES, "regio", "hello_regs.v")


@functools.lru_cache(maxsize=None)
def hello_regs() -> "bitfarm.Job":
    """examples/regio/hello_regs.v wrapped with the icebreaker bridge, built once."""
    return farm().submit("hello_regs", regio="icebreaker", sources=[HELLO]).wait(timeout=300)


#: a class decorator: its tests skip, each saying why, where the simulated
#: board cannot run the design
needs_verilator = unittest.skipUnless(
    shutil.which("verilator"), "verilator is not installed (the simulated board runs the design in it)")


def reservations(board: str = "vboard0") -> List[str]:
    """Who holds board, from farm().boards() (an empty list when free)."""
    return [b.get("reserved_by") or "?" for b in farm().boards()
            if b.get("name") == board and b.get("reserved_by")]

#!/usr/bin/env python3
"""Runs the Python tests with TAP output, one line per test.

    python3 python/tests/tap.py [-k PATTERN]

Each test is "ok N - module.Class.test_name", "not ok N - ..." with the
traceback as "#" lines, or "ok N # SKIP ...: reason"; then the plan
"1..N".  The exit status is 0 only when none failed.  (The same tests
run under `python3 -m unittest discover -s python/tests` as well.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import unittest


class TapResult(unittest.TestResult):
    """A unittest result that prints each outcome as a TAP line at once."""

    def __init__(self, stream, *args, **kwargs) -> None:
        super().__init__(stream, *args, **kwargs)
        self.out = stream
        self.n = 0
        self.started = 0.0

    def _name(self, test: unittest.TestCase) -> str:
        return test.id().replace("\n", " ")

    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self.started = time.monotonic()

    def _took(self) -> str:
        return f" ({time.monotonic() - self.started:.1f}s)"

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.n += 1
        self._line(f"ok {self.n} - {self._name(test)}{self._took()}")

    def _fail(self, test: unittest.TestCase, err, kind: str) -> None:
        self.n += 1
        self._line(f"not ok {self.n} - {self._name(test)}{self._took()}")
        # unittest's own frames left out, as its text runner does
        for line in self._exc_info_to_string(err, test).rstrip().splitlines():
            self._line(f"#   {line}")

    def addFailure(self, test, err) -> None:
        super().addFailure(test, err)
        self._fail(test, err, "failure")

    def addError(self, test, err) -> None:
        super().addError(test, err)
        self._fail(test, err, "error")

    def addSkip(self, test, reason: str) -> None:
        super().addSkip(test, reason)
        self.n += 1
        self._line(f"ok {self.n} # SKIP {self._name(test)}: {reason}")

    def addExpectedFailure(self, test, err) -> None:
        super().addExpectedFailure(test, err)
        self.n += 1
        self._line(f"ok {self.n} - {self._name(test)} (expected failure)")

    def addUnexpectedSuccess(self, test) -> None:
        super().addUnexpectedSuccess(test)
        self.n += 1
        self._line(f"not ok {self.n} - {self._name(test)} (unexpected success)")

    def addSubTest(self, test, subtest, err) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._fail(subtest, err, "subtest")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", dest="pattern", action="append",
                    help="only tests whose id contains PATTERN (repeatable)")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = [f"*{p}*" for p in args.pattern]
    try:
        suite = loader.discover(here, top_level_dir=here)
    except ImportError as e:   # bitfarm itself did not load: one failure, with why
        print("not ok 1 - import bitfarm")
        print(f"#   {e}")
        print("1..1")
        return 1
    result = TapResult(sys.stdout)
    suite.run(result)
    print(f"1..{result.n}")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

"""Builds on the tests' local farm: submit, wait, outputs, cache hits,
options, failures, cancel and time limits; the Farm's own behaviour."""

import contextlib
import hashlib
import io
import os
import random
import tempfile
import time
import unittest

import support
from support import BLINKY, BLINKY_ARGS, Chdir, farm
import bitfarm

ID12 = r"[0-9a-f]{12}"


def noop(delay: str, **options) -> bitfarm.Job:
    """A job of the diagnostic flow (no tools) that takes `delay`, with a
    seed of its own so that it is never a cache hit."""
    with Chdir(BLINKY):
        return farm().submit(flow="noop", delay=delay, seed=random.randrange(1 << 30),
                             **BLINKY_ARGS, **options)


class TestBuild(unittest.TestCase):
    def test_blinky_builds_and_its_bitstream_is_what_bitfarm_fetch_gets(self):
        job = support.blinky()
        self.assertEqual(job.state, "succeeded")
        self.assertTrue(job.done)
        self.assertRegex(job.id, r"^[0-9a-f]{32}$")
        data = job.bitstream()
        self.assertEqual(len(data), support.HX1K_BIN_SIZE)
        self.assertEqual(job.info["bitstream_sha256"], hashlib.sha256(data).hexdigest())
        with tempfile.TemporaryDirectory() as d:
            support.run_cli("fetch", job.id, "-o", os.path.join(d, "cli.bin"))
            with open(os.path.join(d, "cli.bin"), "rb") as f:
                self.assertEqual(f.read(), data)

    def test_a_second_submit_is_a_cache_hit_with_the_same_bytes(self):
        first = support.blinky()
        with Chdir(BLINKY):
            again = farm().submit(**BLINKY_ARGS)
        self.assertEqual(again.state, "succeeded")   # at once: no wait needed
        self.assertTrue(again.cache_hit)
        self.assertFalse(first.cache_hit)
        self.assertEqual(again.cache_key, first.cache_key)
        self.assertRegex(again.cache_key, r"^[0-9a-f]{64}$")
        self.assertEqual(again.bitstream(), first.bitstream())

    def test_a_job_opens_by_a_prefix_of_its_id(self):
        job = support.blinky()
        other = farm().job(job.id[:8])
        self.assertEqual(other.id, job.id)
        self.assertEqual(other.status(), "succeeded")
        self.assertEqual(other.info["id"], job.id)
        self.assertEqual(other.kind, "build")
        self.assertEqual(other.worker, "local")
        self.assertEqual(other.attempt, 1)
        self.assertIn(job.id, [j["id"] for j in farm().jobs(limit=100)])
        self.assertEqual(len(farm().jobs(limit=1)), 1)

    def test_report_log_and_save(self):
        job = support.blinky()
        report = job.report()
        self.assertIn("utilization", report)
        self.assertIsInstance(report["utilization"], dict)
        log = job.log()
        self.assertIn("nextpnr-ice40 --hx1k", log)
        self.assertIn("icepack", log)
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(job.save(os.path.join(d, "top.bin")), os.path.join(d, "top.bin"))
            with open(os.path.join(d, "top.bin"), "rb") as f:
                self.assertEqual(f.read(), job.bitstream())
            job.save(os.path.join(d, "top.log"), what="log")
            with open(os.path.join(d, "top.log"), encoding="utf-8", errors="replace") as f:
                self.assertEqual(f.read(), log)
            with self.assertRaisesRegex(bitfarm.UsageError, r"unknown output 'asc'"):
                job.save(os.path.join(d, "x"), what="asc")
            with self.assertRaisesRegex(bitfarm.UsageError, "cannot|No such file"):
                job.save(os.path.join(d, "no", "such", "dir", "top.bin"))

    def test_logs_as_an_iterator_and_through_a_callback(self):
        job = support.blinky()
        log = job.log()
        self.assertEqual("".join(job.logs()), log)
        self.assertEqual("".join(job.logs(follow=True)), log)   # ended: all, then stops
        pieces = []
        self.assertIsNone(job.logs(callback=pieces.append))
        self.assertEqual("".join(pieces), log)
        first = []
        job.logs(callback=lambda t: first.append(t) or True)   # true: stop after one
        self.assertEqual(len(first), 1)

    def test_following_the_log_of_a_running_job_ends_when_it_ends(self):
        job = noop("2s")
        t0 = time.monotonic()
        pieces = list(job.logs(follow=True))
        self.assertGreater(time.monotonic() - t0, 1.0)   # it waited for the job
        self.assertEqual(job.status(), "succeeded")
        # (the live log of a noop job ends with a newline its stored log
        # lacks: the farm's, not the binding's; the text is the same)
        self.assertEqual("".join(pieces).rstrip("\n"), job.log().rstrip("\n"))
        self.assertIn("== noop: waiting 2000 ms", job.log())

    def test_an_exception_in_a_log_callback_comes_through(self):
        def boom(text):
            raise KeyError("from the callback")
        with self.assertRaisesRegex(KeyError, "from the callback"):
            support.blinky().logs(callback=boom)

    def test_wait_reports_progress_like_bitfarm_wait(self):
        with Chdir(BLINKY):
            job = farm().submit(**BLINKY_ARGS, seed=random.randrange(1 << 30))
        seen = []
        self.assertIs(job.wait(timeout=300, progress=lambda j: seen.append((j.state, j.stage))),
                      job)
        self.assertEqual(seen[-1], ("succeeded", "done"))
        self.assertIn("running", [s for s, _ in seen])
        self.assertEqual(len(seen), len(set(seen)))   # one call per change
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            job.wait(progress=True)
        self.assertEqual(err.getvalue(), f"{job.id[:12]}: succeeded\n")
        with Chdir(BLINKY):
            hit = farm().submit(**BLINKY_ARGS)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            hit.wait(progress=True)
        self.assertEqual(err.getvalue(), f"{hit.id[:12]}: succeeded (cache hit)\n")

    def test_progress_lines_while_running(self):
        job = noop("3s")
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                with self.assertRaises(bitfarm.TimeoutError):
                    job.wait(timeout=1.5, progress=True)
        finally:
            job.cancel()
        lines = err.getvalue().splitlines()
        self.assertTrue(lines, "no progress printed")
        for line in lines:
            self.assertRegex(line, rf"^{ID12}: (queued(: .*)?|running, stage \w+, on worker local "
                             r"\(attempt 1\))$")
        self.assertIn("running, stage", err.getvalue())


class TestOptions(unittest.TestCase):
    def test_a_define_dict_is_the_same_design_as_its_list(self):
        with Chdir(BLINKY):
            as_dict = farm().submit(**BLINKY_ARGS, define={"WIDTH": 8, "FAST": True})
            as_list = farm().submit(**BLINKY_ARGS, define=["WIDTH=8", "FAST"])
            other = farm().submit(**BLINKY_ARGS, define={"WIDTH": 9, "FAST": True})
        self.assertEqual(as_dict.cache_key, as_list.cache_key)
        self.assertNotEqual(as_dict.cache_key, other.cache_key)
        self.assertNotEqual(as_dict.cache_key, support.blinky().cache_key)
        for j in (as_dict, as_list, other):
            j.wait(timeout=300)

    def test_underscores_are_dashes_and_pnr_options_are_checked(self):
        with Chdir(BLINKY):
            with self.assertRaisesRegex(bitfarm.UsageError,
                                        r"unknown synth_ice40 option '-bogus' for --synth-opt"):
                farm().submit(**BLINKY_ARGS, synth_opt=["-bogus"])
            job = farm().submit(**BLINKY_ARGS, synth_opt=["-abc9"], pnr_opt="--placer heap")
        self.assertNotEqual(job.cache_key, support.blinky().cache_key)
        job.wait(timeout=300)
        self.assertIn("-abc9", job.log())

    def test_a_project_target_is_the_same_build_as_its_options(self):
        job = farm().submit_project(support.FIXTURES, "blinky")
        self.assertEqual(job.cache_key, support.blinky().cache_key)
        self.assertTrue(job.wait(timeout=300).cache_hit)
        with self.assertRaisesRegex(bitfarm.UsageError, r"no target 'nosuch' in .*bitfarm.ini "
                                                        r"\(targets: blinky, "):
            farm().submit_project(support.FIXTURES, "nosuch")

    def test_usage_errors(self):
        cases = [
            (dict(bogus_opt=1), r"^unknown design option 'bogus-opt' \(options: top, device, "),
            (dict(seed=[1, 2]), r"^option 'seed' takes one value, not a list$"),
            (dict(seed=True), r"^invalid value True for option 'seed'$"),
            (dict(priority=5000), r"^priority 5000 out of range \(-1000 \.\. 1000\)$"),
            (dict(timeout=0.5), r"^job timeout 500 ms out of range"),
            (dict(sources=["nope.v"]), r"^cannot open '.*nope\.v': No such file or directory$"),
            (dict(pcf="nope.pcf"), r"^cannot open '.*nope\.pcf': No such file or directory$"),
            (dict(device="hx9k"), r"^unknown device 'hx9k' \(known: "),
        ]
        for change, message in cases:
            with self.subTest(change=change), Chdir(BLINKY):
                args = dict(BLINKY_ARGS, **change)
                with self.assertRaisesRegex(bitfarm.UsageError, message) as cm:
                    farm().submit(**args)
                self.assertEqual(cm.exception.code, bitfarm.ErrorCode.USAGE)
        with self.assertRaisesRegex(bitfarm.UsageError, r"^no job 'ffffffffffff'$"):
            farm().job("ffffffffffff")
        with self.assertRaisesRegex(bitfarm.UsageError, r"^bad job id 'zz'"):
            farm().job("zz")


class TestEndings(unittest.TestCase):
    def test_a_design_that_fails_synthesis_raises_design_error(self):
        with Chdir(os.path.join(support.FIXTURES, "broken")):
            job = farm().submit("top", "hx1k", sources=["syntax.v"])
        with self.assertRaises(bitfarm.DesignError) as cm:
            job.wait(timeout=300)
        e = cm.exception
        self.assertIs(e.job, job)
        self.assertEqual(e.code, bitfarm.ErrorCode.DESIGN)
        self.assertRegex(str(e), rf"^job {job.id[:12]} failed: .*syntax\.v:4: ERROR: syntax error")
        self.assertIs(job.wait(check=False), job)
        self.assertEqual((job.state, job.failure_class), ("failed", "design"))
        with self.assertRaisesRegex(bitfarm.UsageError, r"has no bitstream \(state failed\)"):
            job.bitstream()
        self.assertIn("syntax error", job.log())

    def test_cancel(self):
        job = noop("30s")
        self.assertIs(job.cancel(), job)
        self.assertEqual(job.state, "cancelled")
        with self.assertRaisesRegex(bitfarm.Cancelled, rf"^job {job.id[:12]} was cancelled"):
            job.wait()
        self.assertEqual(job.wait(check=False).state, "cancelled")
        with self.assertRaises(bitfarm.UsageError):
            job.cancel()

    def test_the_jobs_time_limit_is_a_timeout_error(self):
        job = noop("20s", timeout=1)
        t0 = time.monotonic()
        try:
            with self.assertRaises(TimeoutError) as cm:   # the builtin catches it
                job.wait(timeout=60)
        finally:
            if not job.done:
                job.cancel()
        self.assertIsInstance(cm.exception, bitfarm.TimeoutError)
        self.assertEqual(job.state, "timed_out")
        self.assertLess(time.monotonic() - t0, 30)

    def test_a_waits_own_timeout_leaves_the_job_running(self):
        job = noop("30s")
        try:
            with self.assertRaisesRegex(bitfarm.TimeoutError,
                                        rf"^job {job.id[:12]} is still (queued|running) after "
                                        r"0\.3 s \(it goes on running\)$"):
                job.wait(timeout=0.3)
            self.assertFalse(job.done)
            with self.assertRaisesRegex(bitfarm.UsageError, r"^invalid timeout -1 \(want seconds"):
                job.wait(timeout=-1)
        finally:
            job.cancel()

    def test_a_tag_no_worker_has_keeps_the_job_queued_and_says_why(self):
        job = noop("1s", tags=["nosuchtag"])
        try:
            time.sleep(0.2)
            self.assertEqual(job.status(), "queued")
            self.assertEqual(job.info["tags"], ["nosuchtag"])
            self.assertIn("nosuchtag", job.info.get("waiting_for") or "")
            self.assertRegex(job.progress_line(), rf"^{ID12}: queued: .*nosuchtag")
        finally:
            job.cancel()


class TestFarm(unittest.TestCase):
    def test_closing_a_farm_closes_its_jobs(self):
        with bitfarm.Farm() as f:
            job = f.job(support.blinky().id)
            self.assertTrue(f.endpoint.startswith("ipc://"))
            self.assertIn(os.environ["XDG_CACHE_HOME"], f.endpoint)
        self.assertTrue(f.closed)
        self.assertEqual(job.state, "succeeded")    # what it last knew stays
        with self.assertRaisesRegex(bitfarm.UsageError, r"^job [0-9a-f]{12} is closed \(its farm "
                                                        r"was closed\)$"):
            job.status()
        with self.assertRaisesRegex(bitfarm.UsageError, "^farm is closed$"):
            f.boards()
        f.close()   # again: nothing

    def test_listings(self):
        boards = {b["name"]: b for b in farm().boards()}
        self.assertEqual(boards["vboard0"]["device"], "up5k")
        workers = farm().workers()
        self.assertEqual([w["name"] for w in workers], ["local"])
        self.assertIn("vboard0", workers[0]["boards"])

    def test_request_timeout(self):
        with self.assertRaisesRegex(bitfarm.UsageError, "10"):
            bitfarm.Farm(timeout=0.001)
        with bitfarm.Farm(timeout=2.5) as f:
            self.assertEqual(f.timeout, 2.5)

    def test_a_broker_that_is_not_there_is_an_infrastructure_error(self):
        with tempfile.TemporaryDirectory() as d:
            with bitfarm.Farm(f"ipc://{d}/none.sock", timeout=0.3) as f:
                t0 = time.monotonic()
                with self.assertRaises(bitfarm.InfrastructureError) as cm:
                    f.boards()
                self.assertLess(time.monotonic() - t0, 5)
                self.assertEqual(cm.exception.code, bitfarm.ErrorCode.INFRASTRUCTURE)

    def test_curve_needs_both_keys(self):
        with self.assertRaisesRegex(bitfarm.UsageError, "cert and broker_key go together"):
            bitfarm.Farm("tcp://127.0.0.1:5555", cert="alice.key_secret")
        with self.assertRaises(bitfarm.UsageError) as cm:
            bitfarm.Farm("tcp://127.0.0.1:5555", cert="/nonexistent.key_secret",
                         broker_key="/nonexistent.key")
        self.assertIn("/nonexistent", str(cm.exception))


if __name__ == "__main__":
    unittest.main()

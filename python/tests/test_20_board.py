"""Register sessions on the local farm's simulated board vboard0, with
examples/regio/hello_regs.v (--regio icebreaker): ID at 0x0 reads
0x48454c4f, A at 0x4, B at 0x8, SUM at 0xC = A + B; anything past 0x10 is
a bus error."""

import gc
import os
import tempfile
import unittest

import support
from support import farm, reservations
import bitfarm

HELO = 0x48454C4F


class Regs(bitfarm.RegisterMap):
    ID = bitfarm.Register(0x0, readonly=True)
    A = 0x4
    B = 0x8
    SUM = bitfarm.Register(0xC, readonly=True)


@support.needs_verilator
class TestSession(unittest.TestCase):
    """One session, programmed once, for the register tests."""

    @classmethod
    def setUpClass(cls):
        cls.job = support.hello_regs()
        cls.board = farm().session(board="vboard0", program=cls.job, lease=120, by="pytest")

    @classmethod
    def tearDownClass(cls):
        cls.board.close()

    def test_the_session_holds_the_board(self):
        self.assertEqual(self.board.board, "vboard0")
        self.assertRegex(self.board.token, r"^[0-9a-f]{32}$")
        self.assertFalse(self.board.attached)
        self.assertEqual(len(reservations()), 1)
        self.assertIn("pytest", reservations()[0])

    def test_ident(self):
        i = self.board.ident()
        self.assertEqual(i.magic, bitfarm.BRIDGE_MAGIC)
        self.assertTrue(i.is_bitfarm)
        self.assertEqual(i.version_string, "1.0")

    def test_write_a_and_b_and_read_sum(self):
        b = self.board
        self.assertEqual(b.read(0x0), HELO)
        b.write(0x4, 0x1234)
        b.write(0x8, 0x1111)
        self.assertEqual(b.read(0xC), 0x2345)
        self.assertEqual(b.read(0x0, count=4), [HELO, 0x1234, 0x1111, 0x2345])
        self.assertEqual(b.read(0x0, count=1), [HELO])

    def test_bursts_and_fixed_addresses(self):
        b = self.board
        b.write(0x4, [1, 2])
        self.assertEqual(b.read(0x4, count=3), [1, 2, 3])
        b.write(0x4, [7, 8, 9], fixed=True)   # the last one stays
        self.assertEqual(b.read(0x4), 9)
        self.assertEqual(b.read(0x0, count=3, fixed=True), [HELO] * 3)
        b.write(0x4, 0xFFFFFFFF)
        b.write(0x8, 2)
        self.assertEqual(b.read(0xC), 1)     # 32-bit wrap-around, in the design

    def test_poll(self):
        b = self.board
        b.write(0x4, 40)
        b.write(0x8, 2)
        self.assertEqual(b.poll(0xC, value=42), 42)
        self.assertEqual(b.poll(0xC, mask=0xF, value=0xA), 42)
        with self.assertRaisesRegex(bitfarm.TimeoutError,
                                    r"^poll timeout: register 0x0000000c of board 'vboard0' read "
                                    r"0x0000002a \(mask 0xffffffff, want 0x0000002b\)") as cm:
            b.poll(0xC, value=43, timeout=0.2)
        self.assertIsInstance(cm.exception, TimeoutError)

    def test_register_map(self):
        regs = Regs(self.board)
        regs.A = 5
        regs.B = 7
        self.assertEqual(regs.SUM, 12)
        self.assertEqual(regs.ID, HELO)
        self.assertEqual(self.board.read(Regs.SUM), 12)
        self.assertEqual(regs.read_all(), {"ID": HELO, "A": 5, "B": 7, "SUM": 12})
        with self.assertRaisesRegex(AttributeError, "register 'SUM' is read-only"):
            regs.SUM = 1

    def test_a_bus_error_is_a_design_error(self):
        b = self.board
        with self.assertRaisesRegex(bitfarm.DesignError, r"bus error.*0x00000040"):
            b.read(0x40)
        b.ident()                        # clears the sticky status
        b.write(0x40, 1)                 # not acknowledged ...
        with self.assertRaisesRegex(bitfarm.DesignError, r"^a bus error on board 'vboard0' "
                                                         r"since the last ident \(status 0x1\)$"):
            b.barrier()                  # ... but the barrier says so
        self.assertTrue(b.barrier().ok)

    def test_addresses_and_values_are_checked_before_sending(self):
        b = self.board
        with self.assertRaisesRegex(bitfarm.UsageError, r"^address 0x3 is not 4-byte aligned"):
            b.read(0x3)
        with self.assertRaisesRegex(bitfarm.UsageError, r"^address 0x100000000 does not fit"):
            b.read(1 << 32)
        with self.assertRaisesRegex(bitfarm.UsageError, r"^value -0x1 does not fit in 32 bits$"):
            b.write(0x4, -1)
        with self.assertRaisesRegex(bitfarm.UsageError, r"^count 4097 is out of range"):
            b.read(0x0, count=4097)
        with self.assertRaisesRegex(bitfarm.UsageError, r"^0 words is out of range"):
            b.write(0x4, [])
        with self.assertRaisesRegex(bitfarm.UsageError, r"^invalid value b'ab'"):
            b.write(0x4, b"ab")

    def test_a_held_board_is_busy_for_another_session(self):
        with self.assertRaises(bitfarm.BoardBusy) as cm:
            farm().session(board="vboard0")
        self.assertIsInstance(cm.exception, bitfarm.InfrastructureError)
        self.assertEqual(cm.exception.code, bitfarm.ErrorCode.BUSY)
        self.assertIn("vboard0", str(cm.exception))

    def test_attach_uses_the_reservation_and_leaves_it_held(self):
        with farm().attach(self.board.board, self.board.token) as same:
            self.assertTrue(same.attached)
            self.assertEqual(same.read(0x0), HELO)
        self.assertTrue(same.closed)
        self.assertEqual(len(reservations()), 1)     # still held by self.board
        self.assertEqual(self.board.read(0x0), HELO)
        os.environ.update(BITFARM_BOARD=self.board.board, BITFARM_TOKEN=self.board.token)
        try:
            with farm().attach() as env_session:
                self.assertEqual(env_session.read(0x0), HELO)
        finally:
            del os.environ["BITFARM_BOARD"], os.environ["BITFARM_TOKEN"]


@support.needs_verilator
class TestRelease(unittest.TestCase):
    """Sessions that end: the board is free again afterwards."""

    @classmethod
    def setUpClass(cls):
        cls.job = support.hello_regs()

    def test_the_board_is_released_after_an_exception_in_the_block(self):
        with self.assertRaisesRegex(ZeroDivisionError, "on purpose"):
            with farm().session(board="vboard0", program=self.job) as b:
                self.assertEqual(len(reservations()), 1)
                raise ZeroDivisionError("on purpose")
        self.assertTrue(b.closed)
        self.assertEqual(reservations(), [])
        with self.assertRaisesRegex(bitfarm.UsageError,
                                    r"^session on board 'vboard0' is closed \(the board was "
                                    r"released\)$"):
            b.read(0x0)
        b.close()   # again: nothing

    def test_no_register_io_without_the_reservation(self):
        with self.assertRaisesRegex(bitfarm.UsageError, r"^invalid reservation token 'deadbeef'"):
            farm().attach("vboard0", "deadbeef")
        with farm().session(board="vboard0") as b:
            token = b.token
        self.assertEqual(reservations(), [])
        stale = farm().attach("vboard0", token)   # a released reservation's token
        with self.assertRaisesRegex(bitfarm.UsageError, r"^this token holds no reservation of "
                                                        r"board 'vboard0' for this key"):
            stale.read(0x0)
        stale.close()
        with self.assertRaisesRegex(bitfarm.UsageError, r"^no board named 'nosuch'"):
            farm().session(board="nosuch")
        with self.assertRaisesRegex(bitfarm.UsageError, r"^no board holds an hx1k"):
            farm().session(device="hx1k")

    def test_program_takes_a_job_id_a_cache_key_and_a_bin_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = self.job.save(os.path.join(d, "hello.bin"))
            for source in (self.job.id, self.job.cache_key, path):
                with self.subTest(source=source):
                    with farm().session(device="up5k", program=source, lease=60) as b:
                        self.assertEqual(b.board, "vboard0")
                        self.assertEqual(b.read(0x0), HELO)
        self.assertEqual(reservations(), [])

    def test_a_program_job(self):
        job = farm().program("vboard0", self.job).wait(timeout=120)
        self.assertEqual((job.kind, job.state), ("program", "succeeded"))
        self.assertEqual(job.info["board"], "vboard0")
        with self.assertRaisesRegex(bitfarm.UsageError, "^invalid bitstream source"):
            farm().program("vboard0", 42)

    def test_a_session_dropped_unclosed_releases_its_board(self):
        s = farm().session(board="vboard0")
        self.assertEqual(len(reservations()), 1)
        del s
        gc.collect()
        self.assertEqual(reservations(), [])

    def test_closing_the_farm_releases_its_sessions(self):
        with bitfarm.Farm() as f:
            s = f.session(board="vboard0")
            self.assertEqual(len(reservations()), 1)
        self.assertTrue(s.closed)
        self.assertEqual(reservations(), [])


if __name__ == "__main__":
    unittest.main()

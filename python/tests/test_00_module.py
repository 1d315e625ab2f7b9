"""The module itself: loading the library, its version, the exceptions,
option values and RegisterMap (on a board of dicts); no farm needed."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import support  # noqa: F401  (before bitfarm: sys.path, XDG_CACHE_HOME)
import bitfarm
from bitfarm import farm as farm_mod

PYTHON_DIR = os.path.join(support.REPO, "python")


def python(code: str, env: dict, path: str) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter with PYTHONPATH=path and env."""
    e = {k: v for k, v in os.environ.items() if k not in ("BITFARM_LIBRARY", "PYTHONPATH")}
    e.update(env, PYTHONPATH=path)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                          timeout=60, cwd="/")


class TestLibrary(unittest.TestCase):
    def test_version_is_the_librarys(self):
        with open(os.path.join(support.REPO, "include", "bitfarm.h")) as f:
            header = re.search(r'#define BITFARM_VERSION "([^"]+)"', f.read()).group(1)
        self.assertEqual(bitfarm.__version__, header)
        with open(os.path.join(PYTHON_DIR, "pyproject.toml")) as f:   # the package's, too
            self.assertEqual(re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1), header)
        self.assertRegex(bitfarm.__version__, r"^\d+\.\d+\.\d+$")

    def test_every_exported_function_is_declared(self):
        out = subprocess.run(["nm", "-D", "--defined-only", support.LIB], capture_output=True,
                             text=True, check=True).stdout
        exported = {line.split()[-1].split("@")[0] for line in out.splitlines()
                    if " T " in line}
        from bitfarm import _lib
        self.assertEqual(sorted(exported - set(_lib._PROTOTYPES)), [])
        self.assertEqual(sorted(set(_lib._PROTOTYPES) - exported), [])

    def test_bitfarm_library_names_the_file(self):
        r = python("import bitfarm; print(bitfarm.library_path)",
                   {"BITFARM_LIBRARY": support.LIB}, PYTHON_DIR)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), support.LIB)

    def test_a_missing_library_is_an_import_error_naming_every_place(self):
        with tempfile.TemporaryDirectory() as d:
            site = os.path.join(d, "lib", "python3", "dist-packages")
            shutil.copytree(os.path.join(PYTHON_DIR, "bitfarm"), os.path.join(site, "bitfarm"))
            r = python("import bitfarm", {"LD_LIBRARY_PATH": d}, site)
            self.assertNotEqual(r.returncode, 0)
            last = r.stderr.strip().splitlines()[-1]
            self.assertTrue(last.startswith("ImportError: cannot load libbitfarm.so.1; tried "),
                            last)
            self.assertIn(f"tried {d}/lib/python3/build/lib/libbitfarm.so.1 (the in-tree build): "
                          "no such file; ", last)
            self.assertIn(f"; {d}/lib/libbitfarm.so.1 (beside the package): no such file; ", last)
            self.assertIn("libbitfarm.so.1 (the dynamic loader): ", last)
            self.assertIn("set BITFARM_LIBRARY", last)
            r = python("import bitfarm", {"BITFARM_LIBRARY": os.path.join(d, "nope.so")}, site)
            self.assertIn(f"tried {d}/nope.so ($BITFARM_LIBRARY): no such file", r.stderr)
            self.assertNotIn("dynamic loader", r.stderr)

    def test_an_installed_package_finds_the_library_in_prefix_lib(self):
        # make install's layout: PREFIX/lib/python3/dist-packages/bitfarm and PREFIX/lib
        with tempfile.TemporaryDirectory() as prefix:
            site = os.path.join(prefix, "lib", "python3", "dist-packages")
            shutil.copytree(os.path.join(PYTHON_DIR, "bitfarm"), os.path.join(site, "bitfarm"))
            shutil.copy(support.LIB, os.path.join(prefix, "lib", "libbitfarm.so.1"))
            r = python("import bitfarm; print(bitfarm.library_path, bitfarm.__version__)", {},
                       site)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.split(),
                             [os.path.join(prefix, "lib", "libbitfarm.so.1"), "1.0.0"])

    def test_the_loader_is_the_last_resort(self):
        with tempfile.TemporaryDirectory() as d:
            shutil.copytree(os.path.join(PYTHON_DIR, "bitfarm"), os.path.join(d, "bitfarm"))
            r = python("import bitfarm; print(bitfarm.library_path)",
                       {"LD_LIBRARY_PATH": os.path.dirname(support.LIB)}, d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), "libbitfarm.so.1")


class TestErrors(unittest.TestCase):
    def test_the_hierarchy(self):
        self.assertTrue(issubclass(bitfarm.BoardBusy, bitfarm.InfrastructureError))
        self.assertTrue(issubclass(bitfarm.TimeoutError, TimeoutError))
        self.assertTrue(issubclass(bitfarm.TimeoutError, bitfarm.BitfarmError))
        for cls in (bitfarm.UsageError, bitfarm.DesignError, bitfarm.InfrastructureError,
                    bitfarm.NotAllowed, bitfarm.Cancelled):
            self.assertTrue(issubclass(cls, bitfarm.BitfarmError), cls)

    def test_codes_map_to_classes(self):
        from bitfarm.errors import from_code
        want = {-1: bitfarm.UsageError, -2: bitfarm.DesignError,
                -3: bitfarm.InfrastructureError, -4: bitfarm.TimeoutError,
                -5: bitfarm.NotAllowed, -6: bitfarm.Cancelled, -7: bitfarm.BoardBusy}
        for code, cls in want.items():
            e = from_code(code, "boom")
            self.assertIs(type(e), cls)
            self.assertEqual((e.code, e.message, str(e)), (code, "boom", "boom"))
        self.assertIs(type(from_code(-99, "x")), bitfarm.BitfarmError)
        self.assertEqual(bitfarm.ErrorCode.BUSY, -7)

    def test_timeout_error_reads_as_its_message(self):
        e = bitfarm.TimeoutError("poll timeout: register 0x0c")
        self.assertEqual(str(e), "poll timeout: register 0x0c")
        self.assertEqual(e.code, bitfarm.ErrorCode.TIMEOUT)
        self.assertIsNone(e.errno)


class TestOptionValues(unittest.TestCase):
    def test_repeatable_options_take_lists_and_dicts(self):
        v = farm_mod._values
        self.assertEqual(v("define", {"WIDTH": 8, "FAST": True, "OFF": False}),
                         ["WIDTH=8", "FAST"])
        self.assertEqual(v("param", {"memfile": "sw/fw.hex"}), ["memfile=sw/fw.hex"])
        self.assertEqual(v("synth-opt", ["-dsp", "-abc9"]), ["-dsp", "-abc9"])
        self.assertEqual(v("include", "rtl/inc"), ["rtl/inc"])
        self.assertEqual(v("freq", 12.5), ["12.5"])

    def test_wrong_shapes_are_usage_errors(self):
        with self.assertRaisesRegex(bitfarm.UsageError, "option 'seed' takes one value"):
            farm_mod._values("seed", [1, 2])
        with self.assertRaisesRegex(bitfarm.UsageError, "option 'include' takes a list"):
            farm_mod._values("include", {"a": 1})
        with self.assertRaisesRegex(bitfarm.UsageError, "invalid value True for option 'seed'"):
            farm_mod._values("seed", True)


class FakeBoard:
    """Registers in a dict, with the Session's read/write shape."""

    def __init__(self):
        self.mem = {0x0: 0x48454C4F}
        self.ops = []

    def read(self, addr, count=None, fixed=False):
        self.ops.append(("read", addr))
        return self.mem.get(addr, 0)

    def write(self, addr, value, fixed=False):
        self.ops.append(("write", addr, value))
        self.mem[addr] = value


class Regs(bitfarm.RegisterMap):
    ID = bitfarm.Register(0x0, readonly=True, doc="reads 0x48454c4f")
    A = 0x4
    B = 0x8
    SUM = bitfarm.Register(0xC, readonly=True)
    _SCRATCH = 0x10          # private: not a register
    NAME = "hello"           # not an int: not a register


class MoreRegs(Regs):
    TICKS = bitfarm.Register(0x10, readonly=True)


class TestRegisterMap(unittest.TestCase):
    def test_on_the_class_a_register_is_its_offset(self):
        self.assertEqual((Regs.ID, Regs.A, Regs.B, Regs.SUM), (0, 4, 8, 12))
        self.assertIsInstance(Regs.A, int)
        self.assertEqual(Regs.A.name, "A")
        self.assertEqual(list(Regs.registers()), ["ID", "A", "B", "SUM"])
        self.assertEqual(Regs._SCRATCH, 0x10)
        self.assertEqual(Regs.NAME, "hello")
        self.assertEqual(Regs.ID.__doc__, "reads 0x48454c4f")

    def test_instances_read_and_write_the_board(self):
        b = FakeBoard()
        regs = Regs(b)
        regs.A = 5
        self.assertEqual(b.mem[4], 5)
        self.assertEqual(regs.ID, 0x48454C4F)
        self.assertEqual(b.ops, [("write", 4, 5), ("read", 0)])
        self.assertEqual(Regs(b, base=0x100).A, 0)
        Regs(b, base=0x100).B = 9
        self.assertEqual(b.mem[0x108], 9)

    def test_read_only_and_unknown_names_are_attribute_errors(self):
        regs = Regs(FakeBoard())
        with self.assertRaisesRegex(AttributeError, "register 'ID' is read-only"):
            regs.ID = 1
        with self.assertRaisesRegex(AttributeError, "no register 'SUMM' in Regs"):
            regs.SUMM = 1

    def test_maps_inherit_registers(self):
        self.assertEqual(list(MoreRegs.registers()), ["ID", "A", "B", "SUM", "TICKS"])
        b = FakeBoard()
        b.mem[0x10] = 77
        self.assertEqual(MoreRegs(b).read_all(),
                         {"ID": 0x48454C4F, "A": 0, "B": 0, "SUM": 0, "TICKS": 77})

    def test_bad_offsets_are_refused_at_class_creation(self):
        with self.assertRaisesRegex(ValueError, "offset 0x6 is not a 4-byte aligned"):
            class Bad(bitfarm.RegisterMap):
                X = 0x6
        with self.assertRaisesRegex(ValueError, "base 0x2 is not a 4-byte aligned"):
            Regs(FakeBoard(), base=2)


if __name__ == "__main__":
    unittest.main()

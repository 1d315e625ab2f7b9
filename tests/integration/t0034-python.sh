#!/usr/bin/env bash
# The Python bindings (python/bitfarm, docs/python.md) over the build's
# libbitfarm.so.1, against a local farm of this test's own: the unittest
# suite in python/tests (real builds of the fixtures, sessions on the
# simulated board vboard0), one TAP line per Python test; the example
# examples/python/hello_registers.py; and the package installing into a
# venv with no index (nothing downloaded).
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LIB=$(dirname "$REAL_BIN")/lib/libbitfarm.so.1
command -v python3 >/dev/null || skip_all "python3 is not installed"
[ -f "$LIB" ] || bail "the build has libbitfarm.so.1 ($LIB)" /dev/null
export BITFARM_LIBRARY=$LIB BITFARM_BIN=$BIN
export BITFARM_TEST_XDG=$XDG_CACHE_HOME   # the tests use this test's farm; cleanup stops it
# PY: how to run a python3 that loads the library.  Under make asan,
# python3 is not instrumented, so the sanitizers' runtimes go first (only
# there: not in the farm's daemons, instrumented already, nor their tools);
# python3's own leaks at exit are not the library's (t0035's C programs
# check those).  Its stderr goes to $T/*.log, which cleanup scans for
# sanitizer reports.
PY=(env)
if [ -n "${BITFARM_SANITIZED:-}" ]; then
    PY=(env "LD_PRELOAD=$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
        "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
fi
# The local farm, started by the command line: the one the Python tests use
"$BIN/bitfarm" farm start >"$T/farm-start.log" 2>&1 || bail "the local farm starts" "$T/farm-start.log"

# The unittest suite through python/tests/tap.py, renumbered into this test.
pyfailed=0
while IFS= read -r line; do
    if [[ $line =~ ^ok\ [0-9]+\ \#\ SKIP\ ([^:]*):\ (.*)$ ]]; then
        skip "python: ${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    elif [[ $line =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then
        ok "python: ${BASH_REMATCH[1]}"
    elif [[ $line =~ ^not\ ok\ [0-9]+\ -\ (.*)$ ]]; then
        n=$((n + 1)); nfailed=$((nfailed + 1)); pyfailed=$((pyfailed + 1))
        echo "not ok $n - python: ${BASH_REMATCH[1]}"
    elif [[ $line =~ ^1\.\.([0-9]+)$ ]]; then
        pyplan=${BASH_REMATCH[1]}
    elif [[ $line =~ ^exit\ ([0-9]+)$ ]]; then
        pyexit=${BASH_REMATCH[1]}
    elif [[ $line == \#* ]]; then
        echo "$line"
    else
        echo "# $line"
    fi
done < <(cd "$T" && timeout 300 "${PY[@]}" python3 "$REPO/python/tests/tap.py" 2>"$T/python.log"
         echo "exit $?")
if [ "${pyexit:-1}" -ne 0 ] && [ "$pyfailed" -eq 0 ]; then
    mapfile -t lines < <(tail -15 "$T/python.log")
    not_ok "python/tests/tap.py exited with status ${pyexit:-?}" "${lines[@]}"
fi
check "the Python suite ran tests (plan ${pyplan:-none})" test "${pyplan:-0}" -gt 40

# The example, on vboard0 (a cache hit by now: the suite built hello_regs)
if command -v verilator >/dev/null; then
    out=$(cd "$T" && "${PY[@]}" python3 "$REPO/examples/python/hello_registers.py" 2>"$T/example.log")
    rc=$?
    check_eq "examples/python/hello_registers.py exits 0" 0 "$rc"
    check_eq "  ... and prints A + B = SUM as read from the design" "0x1234 + 0x1111 = 0x2345" "$out"
    out=$(cd "$T" && "${PY[@]}" python3 "$REPO/examples/python/hello_registers.py" --a 0xffffffff \
        --b 2 2>>"$T/example.log")
    check_eq "  ... with other values too (32-bit wrap-around)" "0xffffffff + 0x2 = 0x1" "$out"
    check "  ... and shows the build's progress on stderr" \
        grep -Eq '^[0-9a-f]{12}: succeeded' "$T/example.log"
else
    skip "examples/python/hello_registers.py on vboard0" "verilator is not installed"
fi
check "no session is left holding vboard0" bash -c \
    "\"$BIN/bitfarm\" boards --json | python3 -c 'import json,sys; b=json.load(sys.stdin)[\"boards\"]; sys.exit(any(x.get(\"reserved_by\") for x in b))'"

# pip install ./python: with no index at all, with and without build isolation
if python3 -m venv "$T/venv" >"$T/venv.log" 2>&1; then
    pipenv=(env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1)
    cp -r "$REPO/python" "$T/src"   # pip builds in place: keep the checkout clean
    rm -rf "$T/src/tests"
    "${pipenv[@]}" "$T/venv/bin/pip" install --no-index --no-build-isolation "$T/src" \
        >"$T/pip1.log" 2>&1
    check_eq "pip install --no-index --no-build-isolation ./python into a new venv" 0 $?
    v=$(cd / && "${PY[@]}" "$T/venv/bin/python" -c \
        'import bitfarm; print(bitfarm.__version__, bitfarm.__file__)' 2>&1)
    check_eq "  ... and the venv imports it, with the library's version" \
        "1.0.0 $T/venv/lib/python3.$("$T/venv/bin/python" -c 'import sys; print(sys.version_info[1])')/site-packages/bitfarm/__init__.py" "$v"
    "${pipenv[@]}" "$T/venv/bin/pip" uninstall -y bitfarm >/dev/null 2>&1
    "${pipenv[@]}" "$T/venv/bin/pip" install --no-index "$T/src" >"$T/pip2.log" 2>&1
    check_eq "plain pip install --no-index ./python (build isolation: nothing to fetch)" 0 $?
    v=$(cd / && "${PY[@]}" "$T/venv/bin/python" -c \
        'import bitfarm; print(bitfarm.Farm().boards()[0]["name"])' 2>&1)
    check_eq "  ... and the installed package talks to the farm" "vboard0" "$v"
else
    skip "pip install ./python into a venv" "python3 -m venv fails here ($(tail -1 "$T/venv.log"))"
fi

# make install: the package lands where python3 looks for PREFIX and finds
# the library beside it (PREFIX/lib), with no BITFARM_LIBRARY
make -s -C "$REPO" install BUILD="${BUILD:-build}" PREFIX="$T/prefix" >"$T/install.out" 2>&1
check_eq "make install into a prefix" 0 $?
init=$(find "$T/prefix/lib" -path '*/bitfarm/__init__.py' | head -1)
check "  ... installs the package with its py.typed" test -f "$(dirname "$init")/py.typed"
v=$(cd / && "${PY[@]}" env -u BITFARM_LIBRARY PYTHONPATH="$(dirname "$(dirname "$init")")" python3 -c \
    'import bitfarm; print(bitfarm.library_path, bitfarm.Farm().workers()[0]["name"])' 2>&1)
check_eq "  ... which loads PREFIX/lib/libbitfarm.so.1 and talks to the farm" \
    "$T/prefix/lib/libbitfarm.so.1 local" "$v"

bpid=$(cat "$XDG_CACHE_HOME/bitfarm/broker.pid" 2>/dev/null)
"$BIN/bitfarm" farm stop >/dev/null
check "farm stop stops the local farm the Python tests used" \
    bash -c "[ -n '$bpid' ] && ! kill -0 '$bpid' 2>/dev/null"
done_testing

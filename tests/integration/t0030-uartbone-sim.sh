#!/usr/bin/env bash
# The UARTBone bridge (gateware/bf_uartbone.v) on a simulated board: the
# wrapped register-file fixture (tests/fixtures/regio) built with Verilator
# by the command bf_vsimcmd_argv gives, run by the harness
# (src/vsim/bf_vsim_main.cpp) bit-accurately at the iCEBreaker profile's
# divisor (104: 12 MHz, 115200 baud), and driven through the C codec by
# bf_regio_probe over the harness's unix socket.  Every command: single and
# burst, incrementing and fixed writes and reads, len 255, IDENT and its
# sticky status (a write barrier that reports failed writes), the status
# reads on a bus error and a timeout, a bit the design sets 100000 cycles
# after a write, an unknown command skipped like LiteX does, no write
# acknowledgement, and the reset of the command state machine after an idle
# gap in the middle of a command; then the --fd interface and its exit on EOF.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROBE=$ROOT/$BUILD/tests/bf_regio_probe
[ "$BUILD" = "${BUILD#/}" ] || PROBE=$BUILD/tests/bf_regio_probe
if ! command -v verilator >/dev/null 2>&1; then
    echo "ok 1 # SKIP verilator not installed (Debian package verilator; scripts/install-deps)"
    echo "1..1"; exit 0
fi
t_start=$(date +%s%N)
PROFILE=$ROOT/gateware/regio/profiles/icebreaker.ini
UID_HEX=1234abcd

# --- build (one Verilator job) ---
cd "$ROOT"
mkdir -p "$T/vsim"
if "$PROBE" vsim-build "$PROFILE" "$T/vsim/obj" vsim bf_regio_wrap "$ROOT/src/vsim/bf_vsim_main.cpp" \
        -DBF_REGIO_TOP=regio_fixture -GIDLE_CYCLES=60000 "-GUSER_ID=32'h$UID_HEX" \
        gateware/bf_uartbone.v gateware/regio/bf_regio_wrap.v tests/fixtures/regio/regio_fixture.v \
        >"$T/build.log" 2>&1 && [ -x "$T/vsim/obj/vsim" ]; then
    ok "the wrapped fixture builds with verilator (bf_vsimcmd argv, --build-jobs 1)"
else
    not_ok "the wrapped fixture builds with verilator" "$(tail -20 "$T/build.log")"
    done_testing; exit 1
fi
check "the verilator command runs one job" grep -q -- '--build-jobs 1 ' "$T/build.log"
DIV=$("$PROBE" divisor "$PROFILE")
check_eq "the iCEBreaker profile's divisor" 104 "$DIV"

# --- start the simulated board ---
S=$T/board.sock
"$T/vsim/obj/vsim" --divisor "$DIV" --listen "$S" --catchup-ms 20 >"$T/vsim.log" 2>&1 &
VSIM=$!
PIDS+=("$VSIM")
if wait_until 10 grep -q '^bf-vsim: ready divisor=104$' "$T/vsim.log"; then
    ok "the harness says it is ready"
else
    not_ok "the harness says it is ready" "$(cat "$T/vsim.log")"; done_testing; exit 1
fi
p() { "$PROBE" "$S" "$@" 2>>"$T/probe.err"; }

check_eq "IDENT: magic, version 1.0, the USER_ID parameter, no errors" \
    "magic=0x42465542 version=0x00010000 user_id=0x$UID_HEX status=0" "$(p ident)"
check_eq "a single read of the ID register" 0xb17fa4a0 "$(p read 0 1)"
check_eq "a single write, read back" 0xc0ffee01 "$(p write 1 0xc0ffee01 + read 1 1)"
p write 2 0x5 + silence 150 && ok "nothing answers a write" || not_ok "nothing answers a write" "$(tail -2 "$T/probe.err")"
check_eq "an incrementing burst write and read of the four scratch words" \
    "0xb17fa4a0 0x11111111 0x22222222 0x33333333 0x44444444" \
    "$(p write 1 0x11111111 0x22222222 0x33333333 0x44444444 + read 0 5 | tr '\n' ' ' | sed 's/ $//')"
check_eq "a fixed-address burst write leaves the last word" "0x00000003 0x22222222" \
    "$(p write 1 --fixed 1 2 3 + read 1 2 | tr '\n' ' ' | sed 's/ $//')"
fixed=$(p read 8 4 --fixed)
if [ "$(printf '%s\n' "$fixed" | wc -l)" -eq 4 ] &&
   [ "$(printf '%s\n' "$fixed" | sort -u | wc -l)" -eq 4 ] &&
   [ "$(printf '%s\n' "$fixed" | sort)" = "$fixed" ]; then
    ok "a fixed-address burst read of the counter gives 4 rising values"
else
    not_ok "a fixed-address burst read of the counter gives 4 rising values" "$fixed"
fi

# len 255, both ways, into the 256-word RAM at 0x100
expect=$(python3 -c 'print("\n".join("0x%08x" % ((0x10203040 + i * 0x01010101) & 0xffffffff) for i in range(255)))')
check_eq "a 255-word incrementing write and read of RAM" "$expect" \
    "$(p fill 0x100 255 0x10203040 + read 0x100 255)"
check_eq "a 255-word read from 0x102 runs off the RAM: only its last word times out" \
    "0x12223242 $(printf '%s\n' "$expect" | sed -n 255p) 0x00000000 0xffffffff status 2 (timeout)" \
    "$(p read 0x102 255 --status | sed -n '1p;253,256p' | tr '\n' ' ' | sed 's/ $//')"
check_eq "a 255-word fixed write then fixed read" \
    "$(python3 -c 'print("\n".join(["0x%08x" % ((0xa0000000 + 254 * 0x01010101) & 0xffffffff)] * 255))')" \
    "$(p fill 0x1ff 255 0xa0000000 --fixed + read 0x1ff 255 --fixed)"
check_eq "RAM word 0x1fe kept its incrementing value" "$(printf '%s\n' "$expect" | sed -n 255p)" \
    "$(p read 0x1fe 1)"

# len 0 is 256 words, as in LiteX's gateware (words_count == length - 1 in
# 8 bits); the codec never sends it
out=$(p raw 020000000100 + recv 1024 + silence 100)
check_eq "a raw read with len 0 answers 256 words (1024 bytes), like LiteX's core" \
    "2048 10203040 9efefefe" "${#out} ${out:0:8} ${out:2040:8}"

# status reads
check_eq "a status read of good registers: status 0" "0xb17fa4a0
0x00000003
status 0 (ok)" "$(p read 0 2 --status)"
check_eq "a status read of the err address: 0xffffffff and status 1" "0xffffffff
status 1 (bus error)" "$(p read 0xf 1 --status)"
check_eq "a status read of an unmapped address: 0xffffffff and status 2 (bus timeout)" "0xffffffff
0xffffffff
status 2 (timeout)" "$(p read 0x300 2 --status --fixed)"
check_eq "a burst over unmapped, err and RAM words: both bits, RAM data intact" "0xffffffff
0xffffffff
0xffffffff
status 3 (bus error, timeout)" "$(p read 0xd 3 --status)"
check_eq "a plain read of the err address still answers (0xffffffff, no hang)" 0xffffffff "$(p read 0xf 1)"
check_eq "IDENT reports every failure since the last IDENT (sticky), then clears" \
    "magic=0x42465542 version=0x00010000 user_id=0x$UID_HEX status=3
magic=0x42465542 version=0x00010000 user_id=0x$UID_HEX status=0" "$(p ident + ident)"
check_eq "IDENT after a write to an unmapped address: the write barrier reports the timeout" \
    "magic=0x42465542 version=0x00010000 user_id=0x$UID_HEX status=2" "$(p write 0x300 1 2 + ident)"
check_eq "IDENT after a write to the err address reports a bus error" \
    "magic=0x42465542 version=0x00010000 user_id=0x$UID_HEX status=1" "$(p write 0xf 7 + ident)"

# poll: status bit 0 comes POLL_DELAY (100000) cycles after a write to
# control.  The write and the first status read go out as one byte string,
# so no idle wait (and catch-up) can come between them.
c0=$(p read 8 1)
check_eq "status bit 0 is clear right after the write to control" 5aa50000 \
    "$(p raw 01010000000900000abc02010000000a + recv 4)"
tries=0
while [ "$(p read 0xa 1)" != 0x5aa50001 ] && [ $tries -lt 500 ]; do tries=$((tries + 1)); done
c1=$(p read 8 1)
el=$(( c1 - c0 ))
if [ $tries -lt 500 ] && [ $el -ge 100000 ]; then
    ok "status bit 0 appears, not before the design's 100000 cycles ($el cycles, $tries polls)"
else
    not_ok "status bit 0 appears, not before the design's 100000 cycles" "tries $tries, cycles $el"
fi
check_eq "control reads back" 0x00000abc "$(p read 9 1)"

# unknown commands are skipped (6 bytes) with no answer, as in LiteX
if p raw 7701000000aa + silence 150 + raw 0001000000ff + silence 150 >/dev/null; then
    ok "unknown commands 0x77 and 0x00 get no answer"
else
    not_ok "unknown commands 0x77 and 0x00 get no answer" "$(tail -2 "$T/probe.err")"
fi
check_eq "and the next command is in step" 0xb17fa4a0 "$(p read 0 1)"

# the idle reset: a truncated command, a gap longer than IDLE_CYCLES (5 ms
# at 12 MHz), a good command
check_eq "a truncated command, an idle gap, then a good read: the state machine was reset" \
    0xb17fa4a0 "$(p raw 0201 + sleep 300 + read 0 1)"
check_eq "without the gap (one byte string) the truncated command swallows the read: a read of word 0x02010000" \
    ffffffff "$(p raw 0201020100000000 + recv 4 + silence 100)"
check_eq "after another gap the bridge answers again" \
    "magic=0x42465542 version=0x00010000 user_id=0x$UID_HEX status=2" "$(p sleep 300 + ident)"

# a connection that leaves before its answer: the next one starts clean
p raw 02ff00000100
check_eq "a connection gone before its 255-word answer leaves no stale bytes for the next" \
    0xb17fa4a0 "$(p read 0 1 + silence 100)"

# the harness stops on SIGTERM, removing its socket
kill "$VSIM"
wait "$VSIM"
rc=$?
check_eq "the harness exits 0 on SIGTERM" 0 "$rc"
check "and removes its socket" test ! -e "$S"
check "and reports no framing errors" bash -c "! grep -q 'framing' '$T/vsim.log'"

# --fd: a socketpair end as fd 3; EOF ends the simulation
out=$(python3 - "$T/vsim/obj/vsim" <<'PYEOF'
import socket, sys
a, b = socket.socketpair()
import os
fd = b.fileno()
pid = os.fork()
if pid == 0:
    os.dup2(fd, 3)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], [sys.argv[1], "--divisor", "104", "--fd", "3"])
b.close()
a.settimeout(10)
a.sendall(bytes([0xbf, 1, 0, 0, 0, 0]))
r = b""
while len(r) < 13:
    r += a.recv(13 - len(r))
a.close()
_, st = os.waitpid(pid, 0)
print(r.hex(), os.waitstatus_to_exitcode(st))
PYEOF
)
check_eq "--fd 3: IDENT over a socketpair, then exit 0 on EOF" "4246554200010000${UID_HEX}00 0" "$out"
"$T/vsim/obj/vsim" --divisor 104 >/dev/null 2>"$T/usage.err"
check_eq "the harness refuses to start without a stream (usage, exit 2)" 2 "$?"
check "with a one-line reason" grep -q "give one of --fd and --listen" "$T/usage.err"

# --- a design with its own top and the iCE40 cells: SB_PLL40_PAD, SB_IO,
# SB_GB, SB_SPRAM256KA (gateware/sim) and yosys's SB_MAC16 taken alone ---
mkdir -p "$T/cells/ymodels"
check "yosys's SB_MAC16 model is taken out of cells_sim.v" \
    "$PROBE" extract-model /usr/share/yosys/ice40/cells_sim.v SB_MAC16 "$T/cells/ymodels/SB_MAC16.v"
if "$PROBE" vsim-build "$PROFILE" "$T/cells/obj" vsim cells_top "$ROOT/src/vsim/bf_vsim_main.cpp" \
        --ports=clk_pin,rx_pin,tx_pin -ygateware/sim "-y$T/cells/ymodels" \
        gateware/bf_uartbone.v tests/fixtures/regio/cells_top.v >"$T/cells-build.log" 2>&1; then
    ok "cells_top builds with the simulation models"
else
    not_ok "cells_top builds with the simulation models" "$(tail -20 "$T/cells-build.log")"
fi
S=$T/cells.sock
"$T/cells/obj/vsim" --divisor "$DIV" --listen "$S" >"$T/cells.log" 2>&1 &
CELLS=$!
PIDS+=("$CELLS")
wait_until 10 grep -q 'ready' "$T/cells.log"
check_eq "cells_top: IDENT through SB_IO pins, ID, the PLL's LOCK" \
    "magic=0x42465542 version=0x00010000 user_id=0x0000ce11 status=0 0xce115000 0x00000001" \
    "$(p ident + read 0 1 + read 4 1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "cells_top: SB_MAC16 multiplies 300 by 500 and 65535 by 65535" "0x000249f0 0xfffe0001" \
    "$(p write 1 300 500 + read 3 1 + write 1 0xffff 0xffff + read 3 1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "cells_top: SB_SPRAM256KA keeps 16-bit words at both ends" "0x00001234 0x0000abcd 0x00000077" \
    "$(p write 0x4000 0x1234 0xffffabcd + write 0x7fff 0x77 + read 0x4000 2 + read 0x7fff 1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "cells_top: an address outside the map is a bus error" "0xffffffff status 1 (bus error)" \
    "$(p read 0x3fff 1 --status | tr '\n' ' ' | sed 's/ $//')"
kill "$CELLS"

# --- the stock LiteX core, from a LiteX and a Migen checkout given as
# BITFARM_LITEX_PYTHONPATH (e.g. /src/litex:/src/migen): the codec talks to
# it, and bitfarm's commands are ignored harmlessly ---
if [ -z "${BITFARM_LITEX_PYTHONPATH:-}" ]; then
    n=$((n + 1)); echo "ok $n # SKIP the stock LiteX core: BITFARM_LITEX_PYTHONPATH (LiteX and Migen checkouts) not set"
elif ! PYTHONPATH=$BITFARM_LITEX_PYTHONPATH python3 tests/fixtures/regio/litex_uartbone_gen.py \
        "$T/litex_top.v" >"$T/litex-gen.log" 2>&1; then
    not_ok "LiteX generates its UARTBone" "$(tail -5 "$T/litex-gen.log")"
elif ! mkdir -p "$T/litex" || ! "$PROBE" vsim-build "$PROFILE" "$T/litex/obj" vsim litex_top "$ROOT/src/vsim/bf_vsim_main.cpp" \
        --ports=sys_clk,pads_rx,pads_tx "$T/litex_top.v" >"$T/litex-build.log" 2>&1; then
    not_ok "the LiteX UARTBone builds with verilator" "$(tail -5 "$T/litex-build.log")"
else
    S=$T/litex.sock
    "$T/litex/obj/vsim" --divisor "$DIV" --listen "$S" >"$T/litex.log" 2>&1 &
    LX=$!
    PIDS+=("$LX")
    wait_until 10 grep -q 'ready' "$T/litex.log"
    check_eq "LiteX: the codec's incrementing and fixed writes and reads" \
        "0xdeadbeef 0x01020304 0x00000003" \
        "$(p write 0x10 0xdeadbeef 0x01020304 + write 0x20 --fixed 1 2 3 + read 0x10 2 + read 0x20 1 --fixed | tr '\n' ' ' | sed 's/ $//')"
    "$PROBE" --timeout-ms 300 "$S" ident >/dev/null 2>"$T/lx.err"
    check_eq "LiteX: IDENT gets no answer (a bridge timeout)" 1 "$?"
    check_eq "LiteX: and the next command is in step" 0xdeadbeef "$(p read 0x10 1)"
    "$PROBE" --timeout-ms 300 "$S" read 0x10 2 --status >/dev/null 2>>"$T/lx.err"
    check_eq "LiteX: a status read gets no answer" 1 "$?"
    check_eq "LiteX: and the next command is in step" 0x01020304 "$(p read 0x11 1)"
    out=$(p raw 020000000010 + recv 1024 + silence 100)
    check_eq "LiteX: len 0 reads 256 words" "2048 deadbeef" "${#out} ${out:0:8}"
    check_eq "LiteX: its 100 ms reset: not after a 50 ms gap, after 150 ms" \
        "0x00000000 0x01020304" \
        "$("$PROBE" --timeout-ms 1000 "$S" raw 0201 + sleep 50 + read 0x11 1 + sleep 300 + raw 000000000000 + raw 0201 + sleep 150 + read 0x11 1 | tr '\n' ' ' | sed 's/ $//')"
    kill "$LX"
fi

echo "# t0030 took $(( ($(date +%s%N) - t_start) / 1000000 )) ms"
done_testing

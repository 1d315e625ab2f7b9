#!/usr/bin/env bash
# With no broker configured, submit starts a per-user local farm on ipc://
# under $XDG_CACHE_HOME/bitfarm and reuses it; its vboard0 is a simulated
# board that answers register I/O.
. "$(dirname "$0")/lib.sh"
cd "$FIXTURES/blinky"
id=$("$BIN/submit" --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v 2>"$T/err")
check_eq "submit --wait with no broker configured succeeds" 0 $?
check "the local farm's socket is under XDG_CACHE_HOME" test -S "$XDG_CACHE_HOME/bitfarm/broker.sock"
check "its state is under XDG_CACHE_HOME" test -f "$XDG_CACHE_HOME/bitfarm/state/jobs.db"
bpid=$(cat "$XDG_CACHE_HOME/bitfarm/broker.pid")
out=$("$BIN/bitfarm" submit --json --top top --device hx1k --package tq144 --pcf icestick.pcf top.v)
check_eq "a second submit is a cache hit" true "$(jget "$out" 'd["cache_hit"]')"
check_eq "  ... served by the same broker" "$bpid" "$(cat "$XDG_CACHE_HOME/bitfarm/broker.pid")"
"$BIN/bitfarm" fetch "$id" -o "$T/b.bin"
check_eq "fetch from the local farm" 32220 "$(stat -c %s "$T/b.bin")"
# The local farm's vboard0 is a simulated board: a Cloud_FPGA-style
# session -- a Wishbone-slave top, --regio icebreaker, reserve, program,
# write, read, release -- with the bundled example (examples/regio).
if command -v verilator >/dev/null; then
    cd "$FIXTURES/../../examples/regio"
    "$BIN/submit" --top hello_regs --regio icebreaker --program vboard0 --wait hello_regs.v \
        >"$T/regio.out" 2>&1
    check_eq "the local farm builds hello_regs with --regio and loads it into vboard0" 0 $?
    out=$(BF="$BIN/bitfarm" "$BIN/bitfarm" session vboard0 --for 2m -- sh -c \
        '"$BF" write vboard0 0x4 0x1234 0x1111 && "$BF" read vboard0 0x0 4' 2>"$T/sess.err")
    check_eq "  ... and a session writes A and B and reads ID, A, B and SUM back" \
        "0x48454c4f 0x00001234 0x00001111 0x00002345" "$(echo $out)"
    check "  ... then releases vboard0" grep -q "board 'vboard0' released" "$T/sess.err"
    cd - >/dev/null
else
    skip "register I/O on the local farm's vboard0" "verilator is not installed"
fi
"$BIN/bitfarm" farm stop >/dev/null
check "farm stop stops the broker" bash -c "! kill -0 $bpid 2>/dev/null"
done_testing

#!/usr/bin/env bash
# The simulated board, end to end (issue 17): `submit --regio icebreaker
# --program vb0` builds a Wishbone-slave design wrapped with the UARTBone
# bridge, loads it into a virtual board, and the worker runs the design in
# Verilator (built from the build's sources, in the sandbox) with the
# profile's UART pins on the bridge's path.  Through the real CLI, broker
# and worker: write then read back, single and burst, incrementing and
# fixed; a 4096-word write followed at once by a read (which must wait for
# the write's 1.4 s on the wire); poll a bit the design sets 100000 cycles after a write; ident;
# a bus error; reading a board never programmed; a design without the
# bridge (the named bridge timeout); the model killed (an infrastructure
# error, then the board answers again, from reset); $system in the design
# confined by the sandbox; a second load of the same bitstream reuses the
# model; a bitstream sent as a file has none, and says so.
. "$(dirname "$0")/lib.sh"
command -v verilator >/dev/null || skip_all "verilator is not installed (scripts/install-deps)"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$BIN:$PATH"

cat >"$T/worker.json" <<'EOF'
{ "boards": [
    { "name": "vb0", "device": "up5k", "package": "sg48", "virtual": true },
    { "name": "vb1", "device": "up5k", "package": "sg48", "virtual": true, "profile": "icebreaker" } ] }
EOF
start_broker broker --heartbeat 200ms --liveness 5 || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1 --config "$T/worker.json" --heartbeat 200ms \
    || { not_ok "worker starts"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP
SIMDIR=$T/w1/boards/vb0.sim
F=$T/design && mkdir -p "$F"
cp "$ROOT/tests/fixtures/regio/regio_fixture.v" "$F/"

# --- build, load, and the model ------------------------------------------------
out=$(cd "$F" && submit --top regio_fixture --regio icebreaker --program vb0 --wait \
      regio_fixture.v 2>&1)
check_eq "submit --regio icebreaker --program vb0 --wait succeeds" 0 $?
prog=$(echo "$out" | grep -m1 -E '^[0-9a-f]{32}$')
log=$(bitfarm logs "$prog" 2>&1)
check "  ... the program log says the model was built (Verilator, the icebreaker profile)" \
    grep -q "simulation model built in" <<<"$log"
check "  ... with the wrapper's ports on the profile's pins" \
    grep -q "icebreaker profile: clock clk, UART rx uart_rx, tx uart_tx, 115200 baud" <<<"$log"
check "  ... in the sandbox (the worker's bwrap runs the model)" \
    bash -c "[ -n '${NO_SANDBOX:-}' ] || pgrep -f 'bwrap.*vb0.sim/model' >/dev/null"

# --- a session: reserve, registers, release --------------------------------------
TOKEN=$(bitfarm reserve vb0 --for 10m)
check "a reservation of vb0" test -n "$TOKEN"
export BITFARM_TOKEN=$TOKEN
r() { bitfarm "$@" 2>"$T/err"; }
check_eq "ident: the bitfarm bridge, version 1.0" "magic=0x42465542 version=1.0 user_id=0x00000000 status=0" \
    "$(r ident vb0)"
check_eq "read the fixture's ID register" 0xb17fa4a0 "$(r read vb0 0)"
r write vb0 0x4 0xc0ffee01
check_eq "write one word, read it back" 0xc0ffee01 "$(r read vb0 0x4)"
r write vb0 0x4 0x11111111 0x22222222 0x33333333 0x44444444
check_eq "an incrementing burst, read back as one" "0x11111111 0x22222222 0x33333333 0x44444444" \
    "$(r read vb0 0x4 4 | tr '\n' ' ' | sed 's/ $//')"
seq 1000 1255 >"$T/words"   # decimal: --file takes 42 and 0x2a alike
r write vb0 0x400 --file "$T/words"
check_eq "all 256 words of the block RAM written and read back (past one 255-word command)" \
    "$(seq 1000 1255 | awk '{printf "0x%08x\n", $1}' | md5sum)" "$(r read vb0 0x400 256 | md5sum)"
seq 1 4096 >"$T/w4096"
r write vb0 0x400 --fixed --file "$T/w4096"
check_eq "a 4096-word write (1.4 s on the wire) then at once a read: the read waits for it" \
    0x00001000 "$(r read vb0 0x400)"
r write vb0 0x4 --fixed 0x1 0x2 0x3
check_eq "a fixed-address write: the last word stays" 0x00000003 "$(r read vb0 0x4)"
check_eq "a fixed-address read: one register, three times" "0x00000003 0x00000003 0x00000003" \
    "$(r read vb0 0x4 3 --fixed | tr '\n' ' ' | sed 's/ $//')"
r write vb0 0x24 1
check_eq "the status bit is clear right after the control write" 0x5aa50000 "$(r read vb0 0x28)"
r poll vb0 0x28 --mask 0x1 --value 0x1 --timeout 2s
check_eq "poll: the design sets the bit 100000 cycles later" 0 $?
r read vb0 0x3c
check_eq "a bus error: exit 1" 1 $?
check "  ... named" grep -q "bus error" "$T/err"

# --- a slave with other port names: Caravel-style, a byte address, no err ------------
cp "$ROOT/tests/fixtures/regio/caravel_style.v" "$F/"
bitfarm release vb0 --token "$TOKEN"
unset BITFARM_TOKEN
out=$(cd "$F" && submit --top caravel_style --regio icebreaker --program vb0 --wait \
      caravel_style.v 2>&1)
check_eq "a Caravel-style slave (wb_clk_i, wbs_adr_i[31:0], no err) builds with --regio" 0 $?
TOKEN=$(bitfarm reserve vb0 --for 10m)
export BITFARM_TOKEN=$TOKEN
r write vb0 0x4 0x100 0x23
check_eq "  ... connected by its names: its registers at byte addresses 0x0-0xc" \
    "0xca5af00d 0x00000100 0x00000023 0x00000123" "$(r read vb0 0x0 4 | tr '\n' ' ' | sed 's/ $//')"
err=$(cd "$F" && submit -n --top regio_fixture --regio icebreaker caravel_style.v 2>&1)
check_eq "--regio for a top no source defines: one line, exit 2" \
    "2 bitfarm: --regio: no source given defines module 'regio_fixture' (the top)" "$? $err"
printf 'module half (input clk, input [29:0] wb_adr_i, output [31:0] wb_dat_o);\nendmodule\n' \
    >"$F/half.v"
err=$(cd "$F" && submit -n --top half --regio icebreaker half.v 2>&1)
check_eq "  ... a top missing a Wishbone signal is named" \
    "2 bitfarm: --regio: the top 'half' has no Wishbone write enable input (a port named like wb_we_i, wbs_we_i)" "$? $err"
bitfarm release vb0 --token "$TOKEN"
unset BITFARM_TOKEN
out=$(cd "$F" && submit --top regio_fixture --regio icebreaker --program vb0 --wait \
      regio_fixture.v 2>&1)
TOKEN=$(bitfarm reserve vb0 --for 10m)
export BITFARM_TOKEN=$TOKEN

# --- the model killed: infrastructure, then the board recovers ----------------------
mpid=$(pgrep -f "^$SIMDIR/model " | head -1)
check "the model runs as a process of its own" test -n "$mpid"
kill -9 "$mpid" 2>/dev/null
r read vb0 0
rc=$?
check "a read right after the model died fails (or the worker has already restarted it)" \
    test "$rc" -eq 0 -o "$rc" -eq 3 -o "$rc" -eq 1
wait_until 10 bash -c "bitfarm read vb0 0 2>/dev/null | grep -q 0xb17fa4a0"
check_eq "  ... then the board answers again" 0xb17fa4a0 "$(r read vb0 0)"
check_eq "  ... from reset (the scratch word is 0 again)" 0x00000000 "$(r read vb0 0x4)"
check "  ... and the worker said so" grep -q "its model exited.*restarting it from reset" "$T/w1.log"
bitfarm release vb0 --token "$TOKEN"
unset BITFARM_TOKEN

# --- a board never programmed -------------------------------------------------------
T1=$(bitfarm reserve vb1 --for 5m)
err=$(BITFARM_TOKEN=$T1 bitfarm read vb1 0 2>&1)
check_eq "reading a board that holds no design: one line, exit 3" \
    "3 bitfarm: board 'vb1' holds no design yet: program it first" "$? $err"
bitfarm release vb1 --token "$T1"

# --- a design without the bridge: the named bridge timeout ---------------------------
cat >"$F/nobridge.v" <<'EOF'
module nobridge (input wire clk, input wire uart_rx, output wire uart_tx, output wire led);
    reg [23:0] c;
    always @(posedge clk) c <= c + 1'b1;
    assign led = c[23];
    assign uart_tx = 1'b1;
`ifndef SYNTHESIS
    // the model runs $system: the sandbox must keep it from the host
    initial $system("echo pwned > /tmp/bitfarm-t0032-pwned; echo pwned > PWNED_PATH");
`endif
endmodule
EOF
sed -i "s|PWNED_PATH|$T/pwned|" "$F/nobridge.v"
printf 'set_io clk 35\nset_io uart_rx 6\nset_io uart_tx 9\nset_io led 11\n' >"$F/nobridge.pcf"
rm -f /tmp/bitfarm-t0032-pwned
out=$(cd "$F" && submit --top nobridge --device up5k --package sg48 --pcf nobridge.pcf \
      --program vb1 --wait nobridge.v 2>&1)
check_eq "a design without the bridge builds and loads" 0 $?
T1=$(bitfarm reserve vb1 --for 5m)
err=$(BITFARM_TOKEN=$T1 bitfarm read vb1 0 2>&1)
rc=$?
plog=$(bitfarm logs "$(echo "$out" | grep -m1 -E '^[0-9a-f]{32}$')" 2>&1)
check "  ... its model runs (the pcf's ports on the profile's pins)" \
    grep -q "simulation model built" <<<"$plog"
check_eq "  ... a read gets the named bridge timeout (exit 1)" 1 "$rc"
check "  ... saying what to check" grep -q "is bf_uartbone in the design" <<<"$err"
if need_sandbox "\$system in the design is confined by the sandbox"; then
    check "\$system in the design wrote nothing on the host (not in /tmp, not in the test's dir)" \
        test ! -e /tmp/bitfarm-t0032-pwned -a ! -e "$T/pwned"
fi
bitfarm release vb1 --token "$T1"

# --- the model cache; a bitstream sent as a file --------------------------------------
out=$(cd "$F" && submit --top regio_fixture --regio icebreaker --program vb0 --wait \
      regio_fixture.v 2>&1)
check "a second load of the same bitstream reuses the worker's model" \
    grep -q "the one this worker built before" <<<"$(bitfarm logs "$(echo "$out" | grep -m1 -E '^[0-9a-f]{32}$')")"
build=$(jget "$(bitfarm status "$(echo "$out" | grep -m1 -E '^[0-9a-f]{32}$')" --json)" "d['after']")
bitfarm fetch "$build" -o "$T/fixture.bin"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[8]^=0x20; open(sys.argv[2],"wb").write(b)' \
    "$T/fixture.bin" "$T/other.bin"   # a byte of the comment: bytes the farm never built
pout=$(bitfarm program --board vb0 --wait "$T/other.bin" 2>&1)
pj=$(echo "$pout" | grep -m1 -E '^[0-9a-f]{32}$')
check_eq "a bitstream sent as a file loads" succeeded "$(job_field "$pj" "'state'")"
T0=$(bitfarm reserve vb0 --for 5m)
err=$(BITFARM_TOKEN=$T0 bitfarm read vb0 0 2>&1)
check_eq "  ... and its board says why it has no model (exit 3)" \
    "3 bitfarm: board 'vb0' has no simulation model for its design: its bitstream came with no design the farm built (a file, or a cache entry since evicted): program it from a build (a job id or cache key) to simulate it" \
    "$? $err"
bitfarm release vb0 --token "$T0"
check "the worker and the broker kept running throughout" kill -0 "$WORKER_PID_w1" "$BROKER_PID_broker"
done_testing

#!/usr/bin/env bash
# Register I/O, client -> broker -> worker -> board, for real: a CURVE
# broker, a worker whose boards' "uart" is one end of a pty, and at the
# far end bf_uartdev (a test device that speaks UARTBone from an
# in-memory register file).  Write and read back, single and burst
# (split in 255-word commands), fixed and incrementing; poll that
# succeeds and one that times out; ident; a bus error; a read without a
# reservation and with another key's token refused with the exact
# message; an unaligned or out-of-range address refused before anything
# is sent; a board that never answers gives the named bridge timeout and
# the daemons keep running; the lease renewed by use; `session -- ...`
# exits with COMMAND's status and always releases the board.
. "$(dirname "$0")/lib.sh"
export PATH="$BIN:$PATH"
UARTDEV=$(dirname "$BIN")/tests/bf_uartdev
[ -x "$UARTDEV" ] || UARTDEV=$(dirname "$REAL_BIN")/tests/bf_uartdev
[ -x "$UARTDEV" ] || skip_all "bf_uartdev is not built (make $BUILD/tests/bf_uartdev)"

K=$T/keys A=$T/allow
kg() { "$BIN/bitfarm" keygen --dir "$K" --role "$@" >/dev/null; }
kg broker broker && kg worker w1 && kg client alice && kg client bob
mkdir -p "$A/workers" "$A/clients" "$A/admins"
cp "$K/w1.key" "$A/workers/" && cp "$K/alice.key" "$K/bob.key" "$A/clients/"
HB=(--heartbeat 200ms --liveness 5)
start_broker broker "${HB[@]}" --cert "$K/broker.key_secret" --keys "$A" \
    || { not_ok "CURVE broker starts"; done_testing; exit 1; }
as() { local who=$1; shift; "$BIN/bitfarm" "$@" --broker "$BROKER_EP" --cert "$K/$who.key_secret" \
           --broker-key "$K/broker.key"; }
# session's own options come before "--": what follows is COMMAND's
sess() { local who=$1; shift; "$BIN/bitfarm" session --broker "$BROKER_EP" \
             --cert "$K/$who.key_secret" --broker-key "$K/broker.key" "$@"; }

# --- two test devices: one that answers, one that never does
start_dev() {   # NAME [options]: sets DEV_<NAME> to its pty
    local name=$1; shift
    "$UARTDEV" --log "$T/$name.cmds" "$@" >"$T/$name.out" 2>&1 &
    PIDS+=("$!")
    eval "DEVPID_$name=$!"
    wait_until 5 grep -q '^bf-uartdev: ready ' "$T/$name.out" \
        || bail "bf_uartdev $name starts" "$T/$name.out"
    eval "DEV_$name=$(sed -n 's/^bf-uartdev: ready //p' "$T/$name.out")"
}
start_dev good --user-id 0x1234abcd
start_dev mute --silent
# --- the real bf_uartbone.v, when this tree has r17-gw's simulated board:
# the wrapped register-file fixture built with Verilator runs in the
# harness (src/vsim), and bf_uartdev --relay puts its socket behind a pty,
# so the worker's serial path drives the real core
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROBE=$(dirname "$BIN")/tests/bf_regio_probe
[ -x "$PROBE" ] || PROBE=$(dirname "$REAL_BIN")/tests/bf_regio_probe
VSIM=
if ! command -v verilator >/dev/null; then
    VSIM_WHY="verilator is not installed (scripts/install-deps)"
elif [ ! -f "$ROOT/gateware/bf_uartbone.v" ] || [ ! -f "$ROOT/src/vsim/bf_vsim_main.cpp" ] \
        || [ ! -x "$PROBE" ]; then
    VSIM_WHY="this tree has no simulated board yet (gateware/, src/vsim/, bf_regio_probe: r17-gw)"
else
    PROFILE=$ROOT/gateware/regio/profiles/icebreaker.ini
    mkdir -p "$T/vsim"
    if (cd "$ROOT" && "$PROBE" vsim-build "$PROFILE" "$T/vsim/obj" vsim bf_regio_wrap \
            "$ROOT/src/vsim/bf_vsim_main.cpp" -DBF_REGIO_TOP=regio_fixture "-GUSER_ID=32'h0b0e0031" \
            gateware/bf_uartbone.v gateware/regio/bf_regio_wrap.v tests/fixtures/regio/regio_fixture.v) \
            >"$T/vsim-build.log" 2>&1 && [ -x "$T/vsim/obj/vsim" ]; then
        "$T/vsim/obj/vsim" --divisor "$("$PROBE" divisor "$PROFILE")" --listen "$T/vsim.sock" \
            >"$T/vsim.log" 2>&1 &
        PIDS+=("$!")
        if wait_until 10 grep -qs '^bf-vsim: ready' "$T/vsim.log"; then
            start_dev sim --relay "$T/vsim.sock"
            VSIM=$DEV_sim
        else
            VSIM_WHY="the harness did not start: $(tail -1 "$T/vsim.log")"
        fi
    else
        not_ok "the wrapped fixture builds with verilator" "$(tail -5 "$T/vsim-build.log")"
        VSIM_WHY="its build failed"
    fi
fi
SIMBOARD=
[ -n "$VSIM" ] && SIMBOARD=",
  {\"name\": \"sim0\", \"device\": \"up5k\", \"package\": \"sg48\", \"board\": \"ice40_generic\",
   \"uart\": \"$VSIM\", \"baud\": 115200}"
cat >"$T/w1.json" <<EOF
{"boards": [
  {"name": "ub0", "device": "up5k", "package": "sg48", "board": "ice40_generic",
   "uart": "$DEV_good", "baud": 115200},
  {"name": "ub1", "device": "up5k", "package": "sg48", "board": "ice40_generic",
   "uart": "$DEV_mute"},
  {"name": "plain", "device": "up5k", "package": "sg48", "board": "ice40_generic"},
  {"name": "vb0", "device": "hx1k", "package": "tq144", "virtual": true}$SIMBOARD
]}
EOF
# a bad uart is refused at start-up, naming the board and the key
echo '{"boards": [{"name": "b1", "device": "up5k", "package": "sg48", "board": "ice40_generic", "uart": "ttyUSB0"}]}' >"$T/bad.json"
out=$("$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/bad" --config "$T/bad.json" 2>&1)
check "a relative uart is refused, naming the board" grep -q "board 'b1': invalid uart 'ttyUSB0'" <<<"$out"
echo '{"boards": [{"name": "b1", "device": "up5k", "package": "sg48", "board": "ice40_generic", "uart": "/dev/ttyUSB0", "baud": 12345}]}' >"$T/bad.json"
out=$("$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/bad" --config "$T/bad.json" 2>&1)
check "a baud that is no standard rate is refused" grep -q "board 'b1': invalid baud" <<<"$out"

"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w1" --name w1 --config "$T/w1.json" \
    "${HB[@]}" --cert "$K/w1.key_secret" --broker-key "$K/broker.key" >"$T/w1.log" 2>&1 &
WPID=$!
PIDS+=("$WPID")
wait_until 30 bash -c "'$BIN/bitfarm' boards --json --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' 2>/dev/null | grep -q '\"idle\"'" \
    || bail "the worker registers its boards" "$T/w1.log"
BPID=$BROKER_PID_broker

TOK=$(as alice reserve ub0 --for 1m 2>/dev/null)
check "alice reserves ub0" test -n "$TOK"
A() { as alice "$@" --token "$TOK"; }
ncmds() { wc -l <"$T/good.cmds"; }

# --- single, burst, fixed, incrementing
A write ub0 0x100 0xdeadbeef
check_eq "a single write and read back" 0xdeadbeef "$(A read ub0 0x100)"
python3 -c 'print("\n".join("0x%08x" % (0x01000000 + i * 7) for i in range(300)))' >"$T/words"
echo "# a comment line" >>"$T/words"
A write ub0 0x1000 --file "$T/words"
check_eq "a 300-word burst write (--file) reads back (300-word burst read)" \
    "$(grep -v '#' "$T/words")" "$(A read ub0 0x1000 300)"
check "... sent as commands of 255 and 45 words" bash -c \
    "grep -q 'cmd 0x01 len 255 addr 0x00001000' '$T/good.cmds' && grep -q 'cmd 0x01 len 45 addr 0x000013fc' '$T/good.cmds' && grep -q 'cmd 0xb2 len 45 addr 0x000013fc' '$T/good.cmds'"
A write ub0 0x300 1 2 3 --fixed
check_eq "a fixed write leaves the last word; the next register is untouched" "0x00000003 0x00000000" \
    "$(A read ub0 0x300 2 | tr '\n' ' ' | sed 's/ $//')"
check_eq "a fixed read reads one register COUNT times" "0x00000003 0x00000003 0x00000003" \
    "$(A read ub0 0x300 3 --fixed | tr '\n' ' ' | sed 's/ $//')"
check "... with the fixed status read command" grep -q 'cmd 0xb4 len 3 addr 0x00000300' "$T/good.cmds"
out=$(A read ub0 0x100 2 --json)
check_eq "read --json" "[3735928559, 0] 256 2 False" \
    "$(jget "$out" 'd["words"]') $(jget "$out" 'd["addr"]') $(jget "$out" 'd["count"]') $(jget "$out" 'str(d["fixed"])')"

# --- poll, on the worker
A write ub0 0x44 1
t0=$(date +%s%N)
out=$(A poll ub0 0x40 --mask 1 --value 1 --timeout 2s 2>&1)
check_eq "poll waits until the bit is set (200 ms after START)" "0 0x00000001" "$? $out"
check "... which took one round trip, not one per read" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1500
out=$(A poll ub0 0x48 --value 5 --timeout 1s 2>&1)
check_eq "a poll that times out exits 1 (the design)" 1 $?
check "... naming the register, the last value and the mask" grep -q \
    "bitfarm: poll timeout: register 0x00000048 of board 'ub0' read 0x00000000 (mask 0xffffffff, want 0x00000005) after [0-9]* reads in [0-9]* ms" <<<"$out"

# --- ident, bus error
check_eq "ident: magic, version, the user id, no errors" \
    "magic=0x42465542 version=1.0 user_id=0x1234abcd status=0" "$(A ident ub0)"
out=$(A read ub0 0xdead0000 2>&1)
check_eq "a read the bus refuses exits 1" 1 $?
check "... as a named bus error" grep -q "bitfarm: bus error: board 'ub0' reports bus error on a read of 1 word(s) at 0xdead0000" <<<"$out"
A write ub0 0xdead0004 1
check_eq "a write the bus refuses shows in ident's status" "status=1" "$(A ident ub0 | sed 's/.* //')"

# --- refusals before anything is sent
n0=$(ncmds)
out=$(A read ub0 0x102 2>&1); rc=$?
check_eq "an unaligned address is refused (exit 2)" "2 bitfarm: address 0x102 is not 4-byte aligned" "$rc $out"
out=$(A write ub0 0x100000000 1 2>&1); rc=$?
check_eq "an address past 32 bits is refused" \
    "2 bitfarm: address 0x100000000 is out of range (the bus has 32-bit addresses)" "$rc $out"
out=$(A read ub0 0xfffffff8 16 2>&1)
check "a burst past the end of the address space is refused" grep -q \
    "a read of 16 words at 0xfffffff8 passes the end of the address space" <<<"$out"
out=$(A read ub0 0 5000 2>&1)
check "a count over the limit is refused" grep -q "count 5000 is out of range (1..4096 words per operation)" <<<"$out"
out=$(A write ub0 0 0x1ffffffff 2>&1)
check "a value over 32 bits is refused" grep -q "value '0x1ffffffff' is not a 32-bit value" <<<"$out"
check_eq "... and none of them reached the board" "$n0" "$(ncmds)"

# --- no reservation, another key's token
out=$(as alice read ub0 0 2>&1 </dev/null); rc=$?
check_eq "no token: refused at once (exit 2)" \
    "2 bitfarm: register I/O on board 'ub0' needs a reservation token: \`bitfarm reserve ub0\`, then --token or \$BITFARM_TOKEN" "$rc $out"
NOTHELD="bitfarm: this token holds no reservation of board 'ub0' for this key (wrong token, another key's, released, or expired)"
out=$(as bob read ub0 0 --token "$TOK" 2>&1); rc=$?
check_eq "bob with alice's token is refused (exit 2), with the exact message" "2 $NOTHELD" "$rc $out"
out=$(as alice read ub0 0 --token 0123456789abcdef0123456789abcdef 2>&1); rc=$?
check_eq "a token that holds nothing is refused the same way" "2 $NOTHELD" "$rc $out"
check_eq "... and none of them reached the board" "$n0" "$(ncmds)"

# --- the lease is renewed by use
until1=$(jget "$(as alice boards --json)" "[b for b in d['boards'] if b['name']=='ub0'][0]['reserved_until']")
sleep 1.2
A read ub0 0x100 >/dev/null
until2=$(jget "$(as alice boards --json)" "[b for b in d['boards'] if b['name']=='ub0'][0]['reserved_until']")
check "a register request renews the lease ($until1 -> $until2)" test "$until2" \> "$until1"

# --- a board that never answers, a board without a bridge
TOK1=$(as alice reserve ub1 --for 1m 2>/dev/null)
out=$(as alice read ub1 0x10 --token "$TOK1" 2>&1); rc=$?
check_eq "a board that never answers: exit 1" 1 "$rc"
check "... with the named bridge timeout" grep -q \
    "bitfarm: bridge timeout: board 'ub1' did not answer a read at 0x00000010 within [0-9]* ms (is bf_uartbone in the design?)" <<<"$out"
check "... and the broker and the worker keep running" kill -0 "$BPID" "$WPID"
check_eq "... and the other board still answers" 0xdeadbeef "$(A read ub0 0x100)"
TOK2=$(as alice reserve plain --for 1m 2>/dev/null)
out=$(as alice read plain 0 --token "$TOK2" 2>&1); rc=$?
check_eq "a board without a uart: exit 3, named" \
    "3 bitfarm: board 'plain' has no register bridge: its worker's config names no \"uart\" (docs/boards.md)" "$rc $out"

# --- session: COMMAND's status, and the board always goes back
as alice release ub0 --token "$TOK" >/dev/null
sess alice ub0 --for 1m -- sh -c 'bitfarm write "$BITFARM_BOARD" 0x500 7 && bitfarm read "$BITFARM_BOARD" 0x500 >"$0"; echo "$BITFARM_TOKEN" >"$0.tok"; exit 3' "$T/sess.out" 2>"$T/sess.err"
check_eq "session -- sh -c '...; exit 3' exits 3" 3 $?
check_eq "... COMMAND wrote and read through BITFARM_BOARD/BITFARM_TOKEN" 0x00000007 "$(cat "$T/sess.out")"
state() { jget "$(as alice boards --json)" "[b for b in d['boards'] if b['name']=='$1'][0]['state']"; }
check_eq "... and the board is released afterwards" idle "$(state ub0)"
out=$(as alice read ub0 0 --token "$(cat "$T/sess.out.tok")" 2>&1)
check_eq "... its token no longer works" "$NOTHELD" "$out"
out=$(sess alice --device up5k --for 1m -- sh -c 'echo "$BITFARM_BOARD"' 2>/dev/null)
check "session --device takes a free online board of that device (got '$out')" \
    test "$out" = ub0 -o "$out" = sim0
check_eq "... and gives it back" idle "$(state "${out:-ub0}")"
sess alice ub0 -- sh -c 'kill -TERM $$' 2>/dev/null
check_eq "a COMMAND killed by a signal: 128 + the signal" 143 $?
check_eq "... released too" idle "$(state ub0)"
sess alice ub0 -- /nonexistent/cmd 2>/dev/null
check_eq "a COMMAND that cannot run: 127" 127 $?
check_eq "... released too" idle "$(state ub0)"
"$BIN/bitfarm" session --broker "$BROKER_EP" --cert "$K/alice.key_secret" \
    --broker-key "$K/broker.key" ub0 -- sleep 30 2>"$T/sess3.err" &
SPID=$!
reserved() { [ "$(state ub0)" = reserved ]; }
wait_until 10 reserved
kill -TERM "$SPID"
wait "$SPID"
check_eq "a session that gets SIGTERM passes it on and exits 143" 143 $?
check_eq "... and releases the board" idle "$(state ub0)"
check "... saying so" grep -q "bitfarm: board 'ub0' released" "$T/sess3.err"
# --- the real core (see above)
if [ -n "$VSIM" ]; then
    TS=$(as alice reserve sim0 --for 2m 2>/dev/null)
    S() { as alice "$@" --token "$TS"; }
    check_eq "bf_uartbone.v: ident through the worker's serial path" \
        "magic=0x42465542 version=1.0 user_id=0x0b0e0031 status=0" "$(S ident sim0)"
    check_eq "... the fixture's ID register" 0xb17fa4a0 "$(S read sim0 0)"
    S write sim0 0x4 0x11111111 0x22222222 0x33333333 0x44444444
    check_eq "... an incrementing burst over the scratch words" \
        "0xb17fa4a0 0x11111111 0x22222222 0x33333333 0x44444444" "$(S read sim0 0 5 | tr '\n' ' ' | sed 's/ $//')"
    S write sim0 0x4 5 6 7 --fixed
    check_eq "... a fixed write leaves the last word" "0x00000007 0x22222222" \
        "$(S read sim0 0x4 2 | tr '\n' ' ' | sed 's/ $//')"
    python3 -c 'print("\n".join("0x%08x" % (0x10203040 + i * 0x01010101 & 0xffffffff) for i in range(256)))' >"$T/ram"
    S write sim0 0x400 --file "$T/ram"
    check_eq "... 256 words of RAM (a 255-word command and a 1-word one) read back" \
        "$(cat "$T/ram")" "$(S read sim0 0x400 256)"
    S write sim0 0x24 1
    out=$(S poll sim0 0x28 --mask 1 --value 1 --timeout 5s 2>&1)
    check_eq "... poll: the status bit the design sets 100000 cycles after the write" 0x5aa50001 "$out"
    out=$(S read sim0 0x3c 2>&1); rc=$?
    check_eq "... a bus error from the design's slave: exit 1, named" \
        "1 bitfarm: bus error: board 'sim0' reports bus error on a read of 1 word(s) at 0x0000003c" "$rc $out"
    out=$(S read sim0 0x80 2>&1)
    check "... an unmapped address: the core's bus timeout, named" grep -q \
        "bus error: board 'sim0' reports timeout on a read of 1 word(s) at 0x00000080" <<<"$out"
else
    skip "the real bf_uartbone.v through the worker" "$VSIM_WHY"
fi

# --- session --program: the load carries the session's token; a job without it waits
jf() { jget "$(as alice status "$1" --json)" "d.get('$2')"; }
if command -v openFPGALoader >/dev/null; then
    head -c 32220 /dev/urandom >"$T/hx1k.bin"
    sess alice vb0 --for 1m --program "$T/hx1k.bin" -- sh -c '
        bitfarm boards --json >"$0"
        bitfarm program --board "$BITFARM_BOARD" "$1" --token "" >"$0.other" 2>&1 || true
        sleep 1
        bitfarm status "$(cat "$0.other")" --json >"$0.waiting"
        bitfarm read "$BITFARM_BOARD" 0 2>"$0.read"; echo $? >"$0.rc"' "$T/s2" "$T/hx1k.bin" 2>"$T/s2.err"
    check_eq "session --program loads the board, then runs COMMAND" 0 $?
    pj=$(sed -n "s/^bitfarm: programming board 'vb0' (job \([0-9a-f]*\))$/\1/p" "$T/s2.err")
    check_eq "... the load succeeded and carried the lease's token" "succeeded true" \
        "$(jf "$pj" state) $(jf "$pj" reservation)"
    other=$(cat "$T/s2.other")
    check "a program job without the token waits while the session holds the board" grep -q \
        "reserved by" <<<"$(jget "$(cat "$T/s2.waiting")" 'd.get("waiting_for")')"
    check_eq "register I/O on a virtual board loaded from a file names the missing model (exit 3)" \
        "3 bitfarm: board 'vb0' has no simulation model for its design: its bitstream came with no design the farm built (a file, or a cache entry since evicted): program it from a build (a job id or cache key) to simulate it" \
        "$(cat "$T/s2.rc") $(cat "$T/s2.read")"
    "$BIN/bitfarm" wait "$other" --broker "$BROKER_EP" --cert "$K/alice.key_secret" \
        --broker-key "$K/broker.key" >/dev/null 2>&1
    check_eq "... and runs once the session has released the board" succeeded "$(jf "$other" state)"
else
    skip "session --program" "openFPGALoader is not installed"
fi

# --- a hostile worker: answers are checked against the requests they answer
FW=$(dirname "$BIN")/tests/bf_fakeworker
[ -x "$FW" ] || FW=$(dirname "$REAL_BIN")/tests/bf_fakeworker
"$FW" "$BROKER_EP" fw regio ok,short,kinds,foreign,error,silent,silent --wait 60 --cert "$K/w1.key_secret" \
    --broker-key "$K/broker.key" >"$T/fw.out" 2>&1 &
FWPID=$!
PIDS+=("$FWPID")
fb0() { [ "$(state fb0)" = idle ]; }
wait_until 10 fb0
TF=$(as alice reserve fb0 --for 1m 2>/dev/null)
F() { as alice "$@" --token "$TF"; }
check_eq "a fake worker's well-formed answer is relayed" "0x0f0f0f0f 0x0f0f0f0f" \
    "$(F read fb0 0 2 | tr '\n' ' ' | sed 's/ $//')"
out=$(F read fb0 0 2 2>&1); rc=$?
check_eq "a read blob of the wrong size is refused (exit 3)" \
    "3 bitfarm: worker 'fw' sent a malformed answer for board 'fb0': results[0]: a read of 2 words needs a blob of 8 bytes (got 7)" "$rc $out"
out=$(F read fb0 0 2 2>&1)
check "results of the wrong kind are refused" grep -q "results\[0\] is not the read the request asked for" <<<"$out"
check_eq "an answer under another request id is dropped; the real one is relayed" \
    "0x0f0f0f0f" "$(F read fb0 0)"
check "... and the broker says so" grep -q "REGIORESULT from worker 'fw' for request 0000000000000000.* which is not pending" "$T/broker.log"
out=$(F read fb0 0 2>&1); rc=$?
check_eq "a worker's error line is relayed with its class, control characters made harmless" \
    "1 bitfarm: bus error?[31m: red?line" "$rc $out"
t0=$(date +%s)
out=$(F read fb0 0 --request-timeout 1s 2>&1); rc=$?
check_eq "a worker that never answers: the broker's deadline answers (exit 3)" \
    "3 bitfarm: no answer from worker 'fw' for board 'fb0' within 3000 ms" "$rc $out"
check "... in time" test $(( $(date +%s) - t0 )) -le 6
check "... and the broker keeps running" kill -0 "$BPID"
nreq() { grep -c '^got REGIO ' "$T/fw.out"; }
n0=$(nreq)
t0=$(date +%s%N)
F read fb0 0 >"$T/gone.out" 2>&1 &
RPID=$!
more() { [ "$(nreq)" -gt "$n0" ]; }
wait_until 5 more
kill -9 "$FWPID"
wait "$FWPID" 2>/dev/null
wait "$RPID"
check_eq "a worker lost with a request in flight: answered at once, not at the deadline (exit 3)" \
    "3 bitfarm: worker 'fw' of board 'fb0' went away before it answered (heartbeats stopped)" \
    "$? $(cat "$T/gone.out")"
check "... within the worker's lease, not the request's 12 s" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 6000
check "the worker logged the failed request by name" grep -q "register request .* on board 'ub1' failed: bridge timeout" "$T/w1.log"
done_testing

#!/usr/bin/env bash
# The farm end to end over TCP loopback: a broker, two workers and the CLI
# build real designs; second submits are cache hits no worker sees; fetched
# bitstreams equal by-hand builds; each kind of design failure carries the
# tool's error line.
. "$(dirname "$0")/lib.sh"

start_broker broker || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1 && start_worker w2
check "two workers are listed" bash -c "[ \$('$BIN/bitfarm' workers --broker $BROKER_EP --json | grep -c '\"name\"') -eq 2 ]"
export BITFARM_BROKER=$BROKER_EP

# --- up5k design: pcf, $readmemh in a subdirectory, `include dir, -D, --param
cd "$FIXTURES/soc"
t0=$(date +%s%N)
id=$("$BIN/submit" --top top --device up5k --package sg48 --pcf icebreaker.pcf -I rtl/inc \
     -D UNUSED_FLAG=1 --param DIVIDE=18 rtl/*.v)
rc=$?
t1=$(date +%s%N)
check_eq "submit exits 0" 0 "$rc"
check "submit prints only a 32-hex job id" bash -c "[[ '$id' =~ ^[0-9a-f]{32}$ ]]"
echo "# submit returned in $(( (t1 - t0) / 1000000 )) ms"
"$BIN/bitfarm" wait "${id:0:8}" 2>"$T/wait.err"
check_eq "wait on a unique prefix exits 0 on success" 0 $?
check "wait showed progress" grep -q ": running, stage " "$T/wait.err"
check "wait ended with the final state" grep -q ": succeeded" "$T/wait.err"
st=$("$BIN/bitfarm" status "$id" --json)
check_eq "status: state" succeeded "$(jget "$st" 'd["state"]')"
check_eq "status: cache miss" false "$(jget "$st" 'd["cache_hit"]')"
check_eq "status: attempt" 1 "$(jget "$st" 'd["attempt"]')"
check "status: a worker ran it" bash -c "[[ '$(jget "$st" 'd["worker"]')' =~ ^w[12]$ ]]"
check "status: times are set" bash -c "[ '$(jget "$st" 'd["finished_at"]')' != null ] && [ '$(jget "$st" 'd["started_at"]')' != null ]"
key=$(jget "$st" 'd["cache_key"]')
"$BIN/bitfarm" fetch "$id" -o "$T/soc.bin"
check_eq "fetch writes the bitstream (104090 bytes for up5k)" 104090 "$(stat -c %s "$T/soc.bin")"
check_eq "bitstream_sha256 is the file's digest" "$(jget "$st" 'd["bitstream_sha256"]')" "$(sha256sum <"$T/soc.bin" | cut -d' ' -f1)"
"$BIN/bitfarm" fetch "$id" --report -o "$T/report.json"
check "fetch --report gives nextpnr's JSON report" python3 -c "import json; d=json.load(open('$T/report.json')); assert 'utilization' in d and 'fmax' in d"
check "logs hold the tools' output" bash -c "'$BIN/bitfarm' logs $id | grep -q 'Yosys' && '$BIN/bitfarm' logs $id | grep -q 'nextpnr\|Info: Program finished normally'"

out=$("$BIN/bitfarm" fetch "$id" -o "$T/soc-j.bin" --json)
check_eq "fetch --json reports the bitstream's digest" "$(jget "$st" 'd["bitstream_sha256"]')" "$(jget "$out" 'd["sha256"]')"
check "logs --json carries the log text" bash -c "'$BIN/bitfarm' logs $id --json | python3 -c 'import json,sys; assert \"Yosys\" in json.load(sys.stdin)[\"log\"]'"

# By hand: the same three tools with the same options.
cat >"$T/soc.ys" <<YS
read_verilog -defer -DUNUSED_FLAG=1 -Irtl/inc rtl/rom.v
read_verilog -defer -DUNUSED_FLAG=1 -Irtl/inc rtl/top.v
chparam -set DIVIDE 18 top
synth_ice40 -top top -json $T/hand.json
YS
yosys -q -s "$T/soc.ys" >/dev/null 2>&1 &&
nextpnr-ice40 -q --up5k --package sg48 --json "$T/hand.json" --pcf icebreaker.pcf \
    --asc "$T/hand.asc" --report "$T/hand-report.json" >/dev/null 2>&1 &&
icepack "$T/hand.asc" "$T/hand.bin"
check "up5k bitstream is byte-identical to a by-hand build" cmp "$T/soc.bin" "$T/hand.bin"

# The second submit is a cache hit that no worker sees and uploads nothing.
out=$("$BIN/submit" --json --top top --device up5k --package sg48 --pcf icebreaker.pcf \
      -I rtl/inc --param DIVIDE=18 -D UNUSED_FLAG=1 rtl/*.v)
id2=$(jget "$out" 'd["id"]')
check "a re-submit gets a new job id" test "$id2" != "$id"
check_eq "re-submit: finished at once" succeeded "$(jget "$out" 'd["state"]')"
check_eq "re-submit: cache hit" true "$(jget "$out" 'd["cache_hit"]')"
check_eq "re-submit: no worker" null "$(jget "$out" 'd["worker"]')"
check_eq "re-submit: uploads no sources" 0 "$(jget "$out" 'd["uploaded_bytes"]')"
check_eq "re-submit: same cache key" "$key" "$(jget "$out" 'd["cache_key"]')"
check "no worker saw the re-submitted job" bash -c "! grep -q $id2 '$T/w1.log' '$T/w2.log'"
"$BIN/bitfarm" fetch "$id2" -o "$T/soc2.bin"
check "the cache hit returns the same bytes" cmp "$T/soc.bin" "$T/soc2.bin"
check "logs of the original build are replayed on a hit" bash -c "'$BIN/bitfarm' logs $id2 | grep -q Yosys"
"$BIN/bitfarm" wait "$id2" 2>/dev/null
check_eq "wait on a cache hit exits 0" 0 $?

# A changed parameter is a different key: a miss.
out=$("$BIN/submit" --json --top top --device up5k --package sg48 --pcf icebreaker.pcf \
      -I rtl/inc --param DIVIDE=17 -D UNUSED_FLAG=1 rtl/*.v)
check_eq "a changed --param is a cache miss" false "$(jget "$out" 'd["cache_hit"]')"
"$BIN/bitfarm" wait "$(jget "$out" 'd["id"]')" 2>/dev/null
check_eq "  ... and it builds" 0 $?

# --- hx1k design, with submit --wait -o
cd "$FIXTURES/blinky"
id=$("$BIN/submit" --wait -o "$T/blinky.bin" --top top --device hx1k --package tq144 \
     --pcf icestick.pcf --freq 12 top.v 2>"$T/blinky.err")
check_eq "submit --wait exits 0 on success" 0 $?
check_eq "hx1k bitstream is 32220 bytes" 32220 "$(stat -c %s "$T/blinky.bin" 2>/dev/null)"
cat >"$T/blinky.ys" <<YS
read_verilog top.v
synth_ice40 -top top -json $T/bhand.json
YS
yosys -q -s "$T/blinky.ys" >/dev/null 2>&1 &&
nextpnr-ice40 -q --hx1k --package tq144 --json "$T/bhand.json" --pcf icestick.pcf \
    --asc "$T/bhand.asc" --report "$T/bhand-report.json" --freq 12.000 >/dev/null 2>&1 &&
icepack "$T/bhand.asc" "$T/bhand.bin"
check "hx1k bitstream is byte-identical to a by-hand build" cmp "$T/blinky.bin" "$T/bhand.bin"
out=$("$BIN/submit" --json --top top --device hx1k --package tq144 --freq 12.000 \
      --pcf icestick.pcf top.v)
check_eq "hx1k re-submit (--freq 12.000 = 12) is a cache hit" true "$(jget "$out" 'd["cache_hit"]')"

# --- design failures: exit 1, class design, the tool's first error line; cached
fail_case() {   # description, expected stage, expected error text, submit args...
    local desc=$1 stage=$2 text=$3; shift 3
    local id rc st
    id=$("$BIN/submit" "$@")
    "$BIN/bitfarm" wait "$id" >/dev/null 2>&1
    rc=$?
    st=$("$BIN/bitfarm" status "$id" --json)
    check_eq "$desc: wait exits 1 (design failure)" 1 "$rc"
    check_eq "$desc: state" failed "$(jget "$st" 'd["state"]')"
    check_eq "$desc: failure class" design "$(jget "$st" 'd["failure_class"]')"
    check_eq "$desc: failed stage" "$stage" "$(jget "$st" 'd["stage"]')"
    local err; err=$(jget "$st" 'd["error"]')
    if [[ "$err" == *"$text"* ]]; then ok "$desc: error is the tool's line"; else not_ok "$desc: error is the tool's line" "want: *$text*" "got:  $err"; fi
    local out; out=$("$BIN/submit" --json "$@")
    check_eq "$desc: re-submit is a cache hit" true "$(jget "$out" 'd["cache_hit"]')"
    check_eq "$desc: re-submit keeps the error" "$err" "$(jget "$out" 'd["error"]')"
    "$BIN/submit" --wait "$@" >/dev/null 2>&1
    check_eq "$desc: submit --wait exits 1" 1 $?
}
cd "$FIXTURES"
fail_case "syntax error" synth "ERROR: syntax error" --top top --device hx1k --package tq144 broken/syntax.v
fail_case "unknown top module" synth "Module \`nope' not found" --top nope --device hx1k --package tq144 blinky/top.v
fail_case "over capacity" pnr "ERROR: Unable to place cell" --top top --device hx1k --package tq144 big/big.v
fail_case "bad pcf pin" pnr "does not have a pin named '999'" --top top --device hx1k --package tq144 --pcf blinky/badpin.pcf blinky/top.v
fail_case "timing failure" pnr "FAIL at 500.00 MHz" --top top --device hx1k --package tq144 --pcf blinky/icestick.pcf --freq 500 blinky/top.v

# --- listings and usage errors
check "jobs lists the jobs" bash -c "'$BIN/bitfarm' jobs -n 100 | grep -q '${id:0:12}'"
"$BIN/submit" --top top --device xc7a35t --package sg48 blinky/top.v 2>"$T/err"
check_eq "an unknown device is a usage error (exit 2)" 2 $?
check "  ... with a message naming it" grep -q "unknown device 'xc7a35t'" "$T/err"
"$BIN/submit" --top top --device hx1k --package tq144 nosuch.v 2>"$T/err"
check_eq "a missing file is a usage error (exit 2)" 2 $?
check "  ... naming the file" grep -q "'nosuch.v'" "$T/err"
"$BIN/bitfarm" status 00000000 2>"$T/err"
check_eq "an unknown job id fails" 2 $?
check "  ... with a clear message" grep -q "no job '00000000'" "$T/err"
"$BIN/bitfarm" cancel "$id" 2>"$T/err"
check "cancelling a finished job is a clear error" grep -q "already succeeded" "$T/err"
check "the broker is still up after bad input" bash -c "\"$BIN/bitfarm\" jobs -n 1 >/dev/null"
done_testing

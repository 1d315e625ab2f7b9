#!/usr/bin/env bash
# Designs built exactly as their authors build them: every fetched
# bitstream equals yosys, nextpnr-ice40 and icepack run by hand with exactly
# the user's flags and no others (the by-hand commands are written out
# here, not taken from explain).  Covers a top whose memfile parameter
# reaches a $readmemh RAM whose default file does not exist, SystemVerilog
# with an `include dir, synth_ice40 -dsp on up5k, an hx4k (tq144:4k) build,
# no seed, reordered tool options, refused options, the report in status,
# and a second toolchain (--tools) that pinned jobs run on, under its key.
. "$(dirname "$0")/lib.sh"

# A second toolchain: wrapper scripts around the system's tools, so its
# identity differs from the first one's.
mkdir -p "$T/tc2/bin"
for t in yosys yosys-abc nextpnr-ice40 icepack; do
    printf '#!/bin/sh\n# bitfarm test toolchain 2\nexec /usr/bin/%s "$@"\n' "$t" >"$T/tc2/bin/$t"
    chmod +x "$T/tc2/bin/$t"
done

start_broker broker || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1 || { not_ok "worker w1 starts"; done_testing; exit 1; }
start_worker w2 --tools "$T/tc2/bin" || { not_ok "worker w2 (--tools) starts"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP

# by_hand NAME YOSYS-SCRIPT NEXTPNR-ARGS...: runs the three tools in the
# current directory; the bitstream is $T/NAME.hand.bin
by_hand() {
    local name=$1 script=$2; shift 2
    printf '%s\n' "$script" >"$T/$name.hand.ys"
    yosys -q -s "$T/$name.hand.ys" >"$T/$name.hand.log" 2>&1 &&
    nextpnr-ice40 -q "$@" --asc "$T/$name.hand.asc" >>"$T/$name.hand.log" 2>&1 &&
    icepack "$T/$name.hand.asc" "$T/$name.hand.bin" >>"$T/$name.hand.log" 2>&1 ||
    sed 's/^/#   /' "$T/$name.hand.log"
}

# --- a top parameter (memfile) that a SystemVerilog RAM deep inside reads
cd "$FIXTURES/memsoc"
MEMSOC=(--top soc --device up5k --package sg48 --pcf icebreaker.pcf -I rtl/inc
        --param memfile=sw/firmware.hex rtl/soc.v rtl/rom.sv)
id=$("$BIN/submit" --wait -o "$T/memsoc.bin" "${MEMSOC[@]}" 2>"$T/memsoc.err")
check_eq "memfile design: builds (exit 0)" 0 $?
by_hand memsoc 'read_verilog -defer -Irtl/inc rtl/soc.v
read_verilog -defer -sv -Irtl/inc rtl/rom.sv
chparam -set memfile "sw/firmware.hex" soc
synth_ice40 -top soc -json '"$T/memsoc.hand.json" \
    --up5k --package sg48 --json "$T/memsoc.hand.json" --pcf icebreaker.pcf
check "memfile design: byte-identical to the by-hand build" cmp "$T/memsoc.bin" "$T/memsoc.hand.bin"
yosys -q -p 'read_verilog -Irtl/inc rtl/soc.v; read_verilog -sv -Irtl/inc rtl/rom.sv; chparam -set memfile "sw/firmware.hex" soc; synth_ice40 -top soc -json /dev/null' >"$T/late.log" 2>&1
check "  ... (control: chparam after elaboration fails on the RAM's default file)" \
    grep -q "missing_default.hex" "$T/late.log"
st=$("$BIN/bitfarm" status "$id" --json)
check "  ... the firmware named only by the parameter was uploaded" \
    bash -c "'$BIN/bitfarm' explain --json ${MEMSOC[*]} | grep -q '\"path\": \"sw/firmware.hex\"'"
check "  ... status reports logic cells used of available" \
    python3 -c "import json,sys; u=json.loads(sys.argv[1])['report']['utilization']; assert 0 < u['logic_cells']['used'] < u['logic_cells']['available'] == 5280, u; assert u['ram']['used'] == 1 and u['ram']['available'] == 30; assert 'dsp' in u and 'io' in u and 'pll' in u" "$st"
check "  ... status reports each clock, achieved and target" \
    python3 -c "import json,sys; c=json.loads(sys.argv[1])['report']['clocks']; assert len(c) == 1 and c[0]['achieved_mhz'] > 12 and c[0]['target_mhz'] == 12, c" "$st"
"$BIN/bitfarm" status "$id" >"$T/status.txt"
check "  ... and so does the status text" bash -c "grep -q '^logic_cells .* / 5280' '$T/status.txt' && grep -q '^clock .*MHz achieved, 12.00 MHz target' '$T/status.txt'"
"$BIN/bitfarm" logs "$id" >"$T/memsoc.buildlog"
check "logs begin with the exact commands" bash -c "head -1 '$T/memsoc.buildlog' | grep -q '^== commands'"
check "  ... the yosys script with -defer and chparam" \
    grep -q '^chparam -set memfile "sw/firmware.hex" soc$' "$T/memsoc.buildlog"
check "  ... nextpnr without a --seed (none was asked for)" bash -c \
    "grep -q '^== [^ ]*nextpnr-ice40 --up5k --package sg48 --json out/netlist.json --pcf src/icebreaker.pcf --asc out/top.asc --report out/report.json$' '$T/memsoc.buildlog'"
"$BIN/bitfarm" explain "${MEMSOC[@]}" >"$T/explain.txt"
check "explain prints the yosys script the worker runs" bash -c \
    "grep -q '^read_verilog -defer -sv -I./rtl/inc ./rtl/rom.sv$' '$T/explain.txt' && grep -q '^synth_ice40 -top soc -json netlist.json$' '$T/explain.txt'"
check "  ... and the nextpnr and icepack command lines" bash -c \
    "grep -q '^nextpnr-ice40 --up5k --package sg48 --json netlist.json --pcf icebreaker.pcf --asc top.asc --report report.json$' '$T/explain.txt' && grep -q '^icepack top.asc top.bin$' '$T/explain.txt'"
# The commands explain prints, pasted into a shell, give the same bytes.
mkdir -p "$T/paste" && cp -r . "$T/paste/"
(cd "$T/paste" && sed -n '/^cat > build.ys/,/^icepack/p' "$T/explain.txt" | sh >/dev/null 2>&1)
check "  ... which, pasted into a shell, build the same bytes" cmp "$T/memsoc.bin" "$T/paste/top.bin"
out=$("$BIN/submit" --json --top soc --device up5k --package sg48 --pcf icebreaker.pcf -I rtl/inc \
      --param 'memfile="sw/firmware.hex"' rtl/soc.v rtl/rom.sv)
check_eq "a quoted string parameter is the same build (cache hit)" true "$(jget "$out" 'd["cache_hit"]')"
check_eq "  ... under the same key" "$(jget "$st" 'd["cache_key"]')" "$(jget "$out" 'd["cache_key"]')"
"$BIN/submit" --wait -o "$T/memsoc2.bin" --top soc --device up5k --package sg48 --pcf icebreaker.pcf \
    -I rtl/inc --param memfile=sw/firmware2.hex rtl/soc.v rtl/rom.sv >/dev/null 2>&1
check "other firmware gives other bytes" bash -c "! cmp -s '$T/memsoc.bin' '$T/memsoc2.bin'"
"$BIN/submit" --top soc --device up5k --package sg48 --param 'memfile=a b' rtl/soc.v 2>"$T/err"
check_eq "a bad parameter value is a usage error" 2 $?
check "  ... saying what is allowed" grep -q "bad value 'a b' for param 'memfile' (want a Verilog number such as 42" "$T/err"

# --- up5k multiplier: SB_MAC16 only with -dsp
cd "$FIXTURES/dsp"
id=$("$BIN/submit" --wait -o "$T/dsp.bin" --top mac --device up5k --package sg48 --pcf icebreaker.pcf \
     --synth-opt -dsp mac.v 2>/dev/null)
check_eq "-dsp design: builds" 0 $?
by_hand dsp "read_verilog mac.v
synth_ice40 -top mac -dsp -json $T/dsp.hand.json" \
    --up5k --package sg48 --json "$T/dsp.hand.json" --pcf icebreaker.pcf
check "-dsp design: byte-identical to the by-hand build" cmp "$T/dsp.bin" "$T/dsp.hand.bin"
check_eq "  ... and it uses an SB_MAC16" 1 "$(jget "$("$BIN/bitfarm" status "$id" --json)" 'd["report"]["utilization"]["dsp"]["used"]')"
id=$("$BIN/submit" --wait -o "$T/nodsp.bin" --top mac --device up5k --package sg48 --pcf icebreaker.pcf \
     mac.v 2>/dev/null)
by_hand nodsp "read_verilog mac.v
synth_ice40 -top mac -json $T/nodsp.hand.json" \
    --up5k --package sg48 --json "$T/nodsp.hand.json" --pcf icebreaker.pcf
check "without -dsp: byte-identical to the by-hand build" cmp "$T/nodsp.bin" "$T/nodsp.hand.bin"
check_eq "  ... with no SB_MAC16" 0 "$(jget "$("$BIN/bitfarm" status "$id" --json)" 'd["report"]["utilization"]["dsp"]["used"]')"
check "-dsp really changed the bytes" bash -c "! cmp -s '$T/dsp.bin' '$T/nodsp.bin'"

# --- hx4k: the HX8K die in TQ144, as nextpnr names it
cd "$FIXTURES/hx4k"
"$BIN/submit" --wait -o "$T/hx4k.bin" --top blink --device hx8k --package tq144:4k --pcf pins.pcf \
    blink.v >/dev/null 2>&1
check_eq "hx8k tq144:4k: builds" 0 $?
by_hand hx4k "read_verilog blink.v
synth_ice40 -top blink -json $T/hx4k.hand.json" \
    --hx8k --package tq144:4k --json "$T/hx4k.hand.json" --pcf pins.pcf
check "hx8k tq144:4k: byte-identical to the by-hand build" cmp "$T/hx4k.bin" "$T/hx4k.hand.bin"
check_eq "  ... 135100 bytes" 135100 "$(stat -c %s "$T/hx4k.bin" 2>/dev/null)"
"$BIN/submit" --top blink --device hx4k --package tq144:4k --pcf pins.pcf blink.v 2>"$T/err"
check_eq "hx4k with tq144:4k (nextpnr refuses it too) is a usage error" 2 $?
check "  ... naming the packages --hx4k takes and the devices that take tq144:4k" \
    grep -q "unknown package 'tq144:4k' for hx4k (nextpnr-ice40 --hx4k takes: .*tq144; 'tq144:4k' is a package of: lp8k hx8k)" "$T/err"

"$BIN/submit" --wait -o "$T/nopkg.bin" --top blink --device hx8k blink.v >/dev/null 2>&1
check_eq "no --package: builds" 0 $?
by_hand nopkg "read_verilog blink.v
synth_ice40 -top blink -json $T/nopkg.hand.json" --hx8k --json "$T/nopkg.hand.json"
check "  ... byte-identical to nextpnr given no --package (its default for hx8k)" cmp "$T/nopkg.bin" "$T/nopkg.hand.bin"

# --- no seed, a seed, tool options in either order
cd "$FIXTURES/blinky"
BLINKY=(--top top --device hx1k --package tq144 --pcf icestick.pcf top.v)
hand_blinky() {   # NAME NEXTPNR-OPTIONS...
    local name=$1; shift
    by_hand "$name" "read_verilog top.v
synth_ice40 -top top -json $T/$name.hand.json" \
        --hx1k --package tq144 --json "$T/$name.hand.json" --pcf icestick.pcf "$@"
}
"$BIN/submit" --wait -o "$T/noseed.bin" "${BLINKY[@]}" >/dev/null 2>&1
hand_blinky noseed
check "no seed: byte-identical to nextpnr without --seed" cmp "$T/noseed.bin" "$T/noseed.hand.bin"
"$BIN/submit" --wait -o "$T/seed5.bin" --seed 5 "${BLINKY[@]}" >/dev/null 2>&1
hand_blinky seed5 --seed 5
check "--seed 5: byte-identical to nextpnr --seed 5" cmp "$T/seed5.bin" "$T/seed5.hand.bin"
check "  ... and the seed changed the bytes" bash -c "! cmp -s '$T/noseed.bin' '$T/seed5.bin'"
out=$("$BIN/submit" --json --pnr-opt '--seed 5' "${BLINKY[@]}")
check_eq "--pnr-opt '--seed 5' is the same build as --seed 5" true "$(jget "$out" 'd["cache_hit"]')"
id=$("$BIN/submit" --wait -o "$T/sa.bin" --pnr-opt '--placer sa' --pnr-opt --opt-timing \
     --pnr-opt --tmg-ripup "${BLINKY[@]}" 2>/dev/null)
hand_blinky sa --placer sa --opt-timing --tmg-ripup
check "--placer sa --opt-timing --tmg-ripup: byte-identical to the by-hand build" cmp "$T/sa.bin" "$T/sa.hand.bin"
check "  ... and the options changed the bytes" bash -c "! cmp -s '$T/noseed.bin' '$T/sa.bin'"
key=$(job_field "$id" '"cache_key"')
out=$("$BIN/submit" --json --pnr-opt --tmg-ripup --pnr-opt --placer=sa --pnr-opt --opt-timing "${BLINKY[@]}")
check_eq "the same options reordered are the same build (cache hit)" true "$(jget "$out" 'd["cache_hit"]')"
check_eq "  ... under the same key" "$key" "$(jget "$out" 'd["cache_key"]')"
"$BIN/submit" --pnr-opt '--pre-pack evil.py' "${BLINKY[@]}" 2>"$T/err"
check_eq "--pnr-opt --pre-pack (runs code) is refused" 2 $?
check "  ... naming the option and the list" grep -q "option '--pre-pack' is not allowed: it runs a Python script.*docs/flows.md" "$T/err"
"$BIN/submit" --synth-opt '-json /tmp/x.json' "${BLINKY[@]}" 2>"$T/err"
check "--synth-opt -json (writes elsewhere) is refused" grep -q "option '-json' is not allowed: it reads or writes files" "$T/err"
"$BIN/submit" --pnr-opt '--placer fast' "${BLINKY[@]}" 2>"$T/err"
check "a bad value says what is allowed" grep -q "bad value 'fast' for nextpnr-ice40 option '--placer' (allowed: sa|heap)" "$T/err"

# --- a second toolchain: identity, versions, pinned jobs
wj=$("$BIN/bitfarm" workers --json)
tc1=$(jget "$wj" '[w for w in d["workers"] if w["name"]=="w1"][0]["toolchain"]')
tc2=$(jget "$wj" '[w for w in d["workers"] if w["name"]=="w2"][0]["toolchain"]')
check "the --tools worker has its own toolchain identity" bash -c "[ -n '$tc2' ] && [ '$tc1' != '$tc2' ]"
check "workers shows each tool's version" python3 -c "import json,sys; v=[w for w in json.loads(sys.argv[1])['workers'] if w['name']=='w2'][0]['versions']; assert v['yosys'].startswith('Yosys 0.23') and 'nextpnr-ice40' in v['nextpnr-ice40'] and 'ABC' in v['yosys-abc'] and v['icepack'], v" "$wj"
"$BIN/bitfarm" workers >"$T/workers.txt"
check "  ... in the text listing too" bash -c "grep -q '^w2 .*${tc2:0:16}' '$T/workers.txt' && grep -q '^    yosys-abc ' '$T/workers.txt'"
ids=()
for s in 21 22 23; do
    ids+=("$("$BIN/submit" --toolchain "${tc2:0:12}" --seed "$s" "${BLINKY[@]}")")
done
all_w2=yes
for i in "${ids[@]}"; do
    "$BIN/bitfarm" wait "$i" >/dev/null 2>&1 || all_w2=no
    [ "$(job_field "$i" '"worker"')" = w2 ] || all_w2=no
done
check_eq "jobs pinned to the second toolchain all ran on its worker" yes "$all_w2"
k2=$(jget "$("$BIN/bitfarm" explain --json --toolchain "$tc2" --seed 21 "${BLINKY[@]}")" 'd["cache_key"]')
check_eq "  ... under that toolchain's key" "$k2" "$(job_field "${ids[0]}" '"cache_key"')"
check_eq "  ... and the status shows the pin" "$tc2" "$(job_field "${ids[0]}" '"toolchain"')"
check "  ... whose log names the --tools directory's tools" bash -c "'$BIN/bitfarm' logs ${ids[0]} | grep -q '^== $T/tc2/bin/nextpnr-ice40 --hx1k'"
"$BIN/bitfarm" fetch "${ids[0]}" -o "$T/tc2.bin"
hand_blinky seed21 --seed 21
check "  ... with the same bytes as by hand" cmp "$T/tc2.bin" "$T/seed21.hand.bin"
id=$("$BIN/submit" --toolchain "${tc1:0:12}" --seed 24 "${BLINKY[@]}")
"$BIN/bitfarm" wait "$id" >/dev/null 2>&1
check_eq "a job pinned to the first toolchain ran on its worker" w1 "$(job_field "$id" '"worker"')"
k1=$(jget "$("$BIN/bitfarm" explain --json --toolchain "$tc1" --seed 24 "${BLINKY[@]}")" 'd["cache_key"]')
check_eq "  ... under the first toolchain's key" "$k1" "$(job_field "$id" '"cache_key"')"
out=$("$BIN/submit" --json --toolchain "${tc1:0:12}" --seed 21 "${BLINKY[@]}")
check_eq "a build cached under one toolchain is no hit for a job pinned to the other" false "$(jget "$out" 'd["cache_hit"]')"
"$BIN/bitfarm" wait "$(jget "$out" 'd["id"]')" >/dev/null 2>&1
"$BIN/submit" --toolchain deadbeefdeadbeef "${BLINKY[@]}" 2>"$T/err"
check "an unknown toolchain is refused" grep -q "no worker has reported toolchain 'deadbeefdeadbeef'" "$T/err"
kill "$WORKER_PID_w2"
wait_until 20 bash -c "! '$BIN/bitfarm' workers | grep -q '^w2 '"
id=$("$BIN/submit" --toolchain "${tc2:0:12}" --seed 25 "${BLINKY[@]}")
sleep 0.5
check_eq "with its worker gone, a pinned job waits" queued "$(job_field "$id" '"state"')"
check "  ... saying for which toolchain" bash -c "'$BIN/bitfarm' status $id | grep -q 'waiting    no connected worker has toolchain ${tc2:0:12}'"
start_worker w2 --tools "$T/tc2/bin"
"$BIN/bitfarm" wait "$id" >/dev/null 2>&1
check_eq "  ... and runs when the worker is back" w2 "$(job_field "$id" '"worker"')"
done_testing

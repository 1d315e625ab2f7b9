#!/usr/bin/env bash
# Boards, for real: two workers own virtual boards (bitfarm-vboard, an XVC
# 1.0 server emulating a 7-series JTAG TAP), and the real openFPGALoader
# programs them over -c xvc-client.  Build then program, cache hit then
# program, serialisation on one board, a dropped connection retried, an
# unknown IDCODE and a configuration error as final bitstream failures, a
# USB board with no hardware as infrastructure failures that put it in
# error, maintenance, reservations (token, expiry, atomic release, --wait),
# and a stream of build-and-program jobs over three boards.
. "$(dirname "$0")/lib.sh"

HB=(--heartbeat 100ms --liveness 3)
start_broker broker "${HB[@]}" --retry-backoff 100ms --board-failures 3 \
    || { not_ok "broker starts"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP

# --- a bad worker config is refused at start-up, naming the entry
echo '{"boards": [{"name": "b1", "device": "hx1k", "package": "tq144", "board": "ice40_generic", "speed": 3}]}' >"$T/bad.json"
out=$("$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/bad" --config "$T/bad.json" 2>&1)
check_eq "a bad board entry stops the worker (exit 1)" 1 "$?"
check "... with a message naming the file, the board and the key" \
    grep -q "bad.json: board 'b1': unknown key 'speed'" <<<"$out"
echo '{"boards": [{"name": "b1", "device": "hx9k", "package": "tq144", "cable": "ft2232"}]}' >"$T/bad2.json"
out=$("$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/bad" --config "$T/bad2.json" 2>&1)
check "an unknown device is named" grep -q "board 'b1': unknown device 'hx9k'" <<<"$out"

cat >"$T/w1.json" <<EOF
{"boards": [
  {"name": "vb0", "device": "hx1k", "package": "tq144", "virtual": true,
   "vboard_options": ["--latency", "20ms"]},
  {"name": "vb1", "device": "hx1k", "package": "tq144", "virtual": true,
   "vboard_options": ["--fail", "drop", "--fail-times", "1", "--drop-after", "8k"]},
  {"name": "usb0", "device": "up5k", "package": "sg48", "board": "ice40_generic"},
  {"name": "vslow", "device": "hx1k", "package": "tq144", "virtual": true,
   "vboard_options": ["--latency", "400ms"]}
]}
EOF
cat >"$T/w2.json" <<EOF
{"boards": [
  {"name": "vb2", "device": "hx1k", "package": "tq144", "virtual": true},
  {"name": "vcfg", "device": "hx1k", "package": "tq144", "virtual": true,
   "vboard_options": ["--fail", "config"]},
  {"name": "vid", "device": "hx1k", "package": "tq144", "virtual": true,
   "vboard_options": ["--fail", "idcode"]}
]}
EOF
start_worker w1 "${HB[@]}" --config "$T/w1.json" && start_worker w2 "${HB[@]}" --config "$T/w2.json"
vstate() { cat "$T/$1/boards/$2.json"; }          # WORKER BOARD: the vboard's record
vlast() { jget "$(vstate "$1" "$2")" 'd["last"]["sha256"] if d["last"] else None'; }
bstate() { jget "$("$BIN/bitfarm" boards --json)" "[b for b in d['boards'] if b['name']=='$1'][0]['$2']"; }
state_is() { [ "$(job_field "$1" '"state"')" = "$2" ]; }

boards=$("$BIN/bitfarm" boards)
check "boards lists all seven boards with device, worker and state" python3 -c "
import json,sys; b={x['name']:x for x in json.loads(sys.argv[1])['boards']}
assert sorted(b)==['usb0','vb0','vb1','vb2','vcfg','vid','vslow'], sorted(b)
assert b['vb0']['worker']=='w1' and b['vb2']['worker']=='w2' and b['usb0']['device']=='up5k', b
assert all(x['state']=='idle' for x in b.values()), b" "$("$BIN/bitfarm" boards --json)"
check "... in a table" grep -q "^vb0 .*hx1k-tq144 .*w1 .*idle" <<<"$boards"
check_eq "workers --json lists each worker's boards" "usb0 vb0 vb1 vslow" \
    "$(jget "$("$BIN/bitfarm" workers --json)" "' '.join(sorted([w for w in d['workers'] if w['name']=='w1'][0]['boards']))")"

cd "$FIXTURES/blinky"
blinky() { "$BIN/submit" --top top --device hx1k --package tq144 --pcf icestick.pcf "$@" top.v; }

# --- build then program: the digest the board received is the bitstream's
pj=$(blinky --seed 11 --program vb0)
"$BIN/bitfarm" wait "$pj" >/dev/null 2>&1
check_eq "submit --program: the program job succeeds" succeeded "$(job_field "$pj" '"state"')"
"$BIN/bitfarm" fetch "$pj" -o "$T/b11.bin" >/dev/null 2>&1
d11=$(sha256sum <"$T/b11.bin" | cut -d' ' -f1)
check_eq "the vboard received exactly the bitstream (SHA-256)" "$d11" "$(vlast w1 vb0)"
check_eq "... which is the build's bitstream" "$d11" "$(job_field "$pj" '"bitstream_sha256"')"
check_eq "the job ran on the board's worker" "w1 vb0" "$(job_field "$pj" '"worker"') $(job_field "$pj" '"board"')"
build=$(job_field "$pj" '"after"')
check_eq "... after its build job" succeeded "$(job_field "$build" '"state"')"
"$BIN/bitfarm" logs "$pj" >"$T/plog" 2>&1
check "its log has openFPGALoader's output and the DONE check" \
    grep -q "openFPGALoader -c xvc-client --ip 127.0.0.1 --port .*--write-sram" "$T/plog"
check "... DONE high" grep -q "DONE check over XVC: IR capture 0x35, DONE high" "$T/plog"
check_eq "boards shows vb0's last job" "$pj" "$(bstate vb0 last_job)"

# --- cache hit then program: no build runs, the board gets the same bytes
out=$("$BIN/submit" --json --top top --device hx1k --package tq144 --pcf icestick.pcf --seed 11 --program vb2 top.v)
pj2=$(jget "$out" 'd["id"]')
check_eq "a resubmit is a cache hit ..." true "$(jget "$out" 'd["build"]["cache_hit"]')"
"$BIN/bitfarm" wait "$pj2" >/dev/null 2>&1
check_eq "... and programs at once" "succeeded $d11" "$(job_field "$pj2" '"state"') $(vlast w2 vb2)"

# --- a program job for a bitstream the worker already has transfers nothing
pj3=$("$BIN/bitfarm" program --board vb0 "$build")
"$BIN/bitfarm" wait "$pj3" >/dev/null 2>&1
check_eq "program --board vb0 JOB succeeds" succeeded "$(job_field "$pj3" '"state"')"
check "... and downloads nothing (the bitstream, and the design a simulated board runs, are in the worker's L1)" \
    grep -Eq "job $pj3: all [0-9]+ input\(s\) in the local cache; nothing to download" "$T/w1.log"
key=$(job_field "$build" '"cache_key"')
pj4=$("$BIN/bitfarm" program --board vb2 "${key:0:16}")
"$BIN/bitfarm" wait "$pj4" >/dev/null 2>&1
check_eq "program by cache key prefix succeeds with the same bytes" "succeeded $d11" \
    "$(job_field "$pj4" '"state"') $(vlast w2 vb2)"

# --- a wrong bitstream for the board is refused at once
head -c 104090 /dev/urandom >"$T/up5k.bin"
out=$("$BIN/bitfarm" program --board vb0 "$T/up5k.bin" 2>&1)
check_eq "a bitstream of the wrong size is refused (exit 2)" 2 "$?"
check "... naming both sizes" grep -q "104090 bytes; board 'vb0' holds an hx1k, whose bitstream is 32220 bytes" <<<"$out"
out=$(cd "$FIXTURES/soc" && "$BIN/submit" --top soc --device up5k --package sg48 --program vb0 rtl/*.v 2>&1)
check "a design for another device is refused before it builds" \
    grep -q "board 'vb0' holds an hx1k; the design is built for an up5k" <<<"$out"

# --- two (four) program jobs for one board serialise
before=$(jget "$(vstate w1 vb0)" 'd["configurations"]')
ids=()
for i in 1 2 3 4; do ids+=("$("$BIN/bitfarm" program --board vb0 "$T/b11.bin")"); done
for i in "${ids[@]}"; do "$BIN/bitfarm" wait "$i" >/dev/null 2>&1; done
check "four program jobs for vb0 all succeed" python3 -c "
import json,subprocess,sys
from datetime import datetime
js=[json.loads(subprocess.check_output(['$BIN/bitfarm','status',i,'--json'])) for i in sys.argv[1:]]
assert all(j['state']=='succeeded' for j in js), [j['state'] for j in js]
t=sorted((j['started_at'],j['finished_at']) for j in js)
for a,b in zip(t,t[1:]): assert b[0]>=a[1], ('overlap', a, b)" "${ids[@]}"
vb0=$(vstate w1 vb0)
check_eq "... one after another: the board saw 4 more configurations, never two connections at once" \
    "$((before + 4)) 0 1" "$(jget "$vb0" 'd["configurations"]') $(jget "$vb0" 'd["overlaps"]') $(jget "$vb0" 'd["max_active"]')"

# --- a dropped connection is retried, then succeeds
pj=$("$BIN/bitfarm" program --board vb1 "$T/b11.bin")
"$BIN/bitfarm" wait "$pj" >/dev/null 2>&1
check_eq "vb1 drops the first connection: the job succeeds on attempt 2" "succeeded 2" \
    "$(job_field "$pj" '"state"') $(job_field "$pj" '"attempt"')"
ev=$("$BIN/bitfarm" status "$pj" --events --json)
check "... after a retry for SIGPIPE (infrastructure)" python3 -c "
import json,sys; e=json.loads(sys.argv[1])['events']
r=[x for x in e if x['event']=='retry']; assert len(r)==1, e
assert 'SIGPIPE' in r[0]['reason'] and 'infrastructure' in r[0]['reason'], r" "$ev"
vb1=$(vstate w1 vb1)
check_eq "... and the board got the right bytes after one drop" "1 $d11" \
    "$(jget "$vb1" 'd["drops"]') $(vlast w1 vb1)"

# --- unknown IDCODE and configuration error: final, class bitstream
pj=$("$BIN/bitfarm" program --board vid "$T/b11.bin")
"$BIN/bitfarm" wait "$pj" >/dev/null 2>&1
check_eq "unknown IDCODE: failed as bitstream/device on attempt 1 (exit 1)" "failed bitstream 1 1" \
    "$(job_field "$pj" '"state"') $(job_field "$pj" '"failure_class"') $(job_field "$pj" '"attempt"') $("$BIN/bitfarm" wait "$pj" >/dev/null 2>&1; echo $?)"
check "... with openFPGALoader's message" grep -q "Unknown device with IDCODE: 0x0badc0de" <<<"$(job_field "$pj" '"error"')"
pj=$("$BIN/bitfarm" program --board vcfg "$T/b11.bin")
"$BIN/bitfarm" wait "$pj" >/dev/null 2>&1
check_eq "configuration error (openFPGALoader exits 0): failed as bitstream/device, not retried" \
    "failed bitstream 1" "$(job_field "$pj" '"state"') $(job_field "$pj" '"failure_class"') $(job_field "$pj" '"attempt"')"
check "... caught by the DONE check" grep -q "DONE stayed low" <<<"$(job_field "$pj" '"error"')"
check_eq "vcfg received the data but rejected it" "1 $d11" \
    "$(jget "$(vstate w2 vcfg)" 'd["failed_configurations"]') $(vlast w2 vcfg)"
check_eq "bitstream failures do not put a board in error" idle "$(bstate vcfg state)"

# --- a real USB board name with no hardware: infrastructure, then error
pj=$("$BIN/bitfarm" program --board usb0 "$T/up5k.bin")
"$BIN/bitfarm" wait "$pj" >/dev/null 2>&1
check_eq "usb0 (ice40_generic, nothing plugged in) fails as infrastructure after 3 attempts" \
    "failed infrastructure 3" "$(job_field "$pj" '"state"') $(job_field "$pj" '"failure_class"') $(job_field "$pj" '"attempt"')"
check "... with openFPGALoader's message" grep -q "unable to open ftdi device: -3 (device not found)" <<<"$(job_field "$pj" '"error"')"
check_eq "three infrastructure failures in a row put usb0 in error" error "$(bstate usb0 state)"
pj=$("$BIN/bitfarm" program --board usb0 "$T/up5k.bin")
sleep 0.5
check_eq "a job for a board in error waits" queued "$(job_field "$pj" '"state"')"
check "... and says why" grep -q "board 'usb0' is in error" <<<"$(job_field "$pj" '"waiting_for"')"
"$BIN/bitfarm" cancel "$pj" >/dev/null
"$BIN/bitfarm" board usb0 --enable >/dev/null
check_eq "board usb0 --enable puts it back" idle "$(bstate usb0 state)"
"$BIN/bitfarm" board vb2 --maintenance --reason "re-cabling" >/dev/null
check_eq "board vb2 --maintenance" "maintenance re-cabling" "$(bstate vb2 state) $(bstate vb2 health_reason)"
pj=$("$BIN/bitfarm" program --board vb2 "$T/b11.bin")
sleep 0.5
check_eq "... takes no jobs" queued "$(job_field "$pj" '"state"')"
"$BIN/bitfarm" board vb2 --enable >/dev/null
"$BIN/bitfarm" wait "$pj" >/dev/null 2>&1
check_eq "... until enabled again" succeeded "$(job_field "$pj" '"state"')"

# --- cancelling a running load frees the board at once (no stale lock)
pj=$("$BIN/bitfarm" program --board vslow "$T/b11.bin")
slow_connected() { [ "$(jget "$(vstate w1 vslow)" 'd["connections"]')" = 1 ]; }
wait_until 10 slow_connected
check_eq "a slow load is running on vslow" "running busy" "$(job_field "$pj" '"state"') $(bstate vslow state)"
# openFPGALoader runs in a sandbox that reaches only its board (here: XVC
# over the network; docs/security.md)
ofl=""
for p in $(procs_under "$T/w1/jobs"); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = openFPGALoader ] && ofl=$p
done
check "openFPGALoader is running for the slow load" test -n "$ofl"
if need_sandbox "openFPGALoader's sandbox"; then
check "  ... in a mount namespace of its own (bubblewrap)" test \
    "$(readlink /proc/$ofl/ns/mnt)" != "$(readlink /proc/$WORKER_PID_w1/ns/mnt)"
check "  ... that shows no host file: not the worker's config (the worker sees it)" bash -c \
    "[ -e /proc/$WORKER_PID_w1/root$T/w1.json ] && [ ! -e /proc/$ofl/root$T/w1.json ]"
check "  ... nor the worker's cache, only its own job directory, read-only" bash -c \
    "[ ! -e /proc/$ofl/root$T/w1/cache ] && grep -q ' $T/w1/jobs/[^ ]* ro[, ]' /proc/$ofl/mountinfo"
check "  ... and no device nodes but bubblewrap's minimal /dev (no USB for an XVC board)" bash -c \
    "[ ! -e /proc/$ofl/root/dev/bus ] && [ -e /proc/$ofl/root/dev/null ]"
fi
"$BIN/bitfarm" cancel "$pj" >/dev/null
check_eq "cancel: the job is cancelled" cancelled "$(job_field "$pj" '"state"')"
check_eq "... and vslow is idle at once" idle "$(bstate vslow state)"
wait_until 5 bash -c "[ -z \"\$(ls '$T/w1/jobs')\" ]"
check_eq "... the worker killed openFPGALoader and removed the job directory" "" "$(ls "$T/w1/jobs")"
check_eq "... and vslow never got a configuration" 0 "$(jget "$(vstate w1 vslow)" 'd["configurations"]')"

# --- reservations
tok=$("$BIN/bitfarm" reserve vb2 --for 3s --by ci-run-7 2>/dev/null)
check "reserve prints a token" [ ${#tok} -eq 32 ]
check_eq "boards shows who holds vb2" "reserved ci-run-7" "$(bstate vb2 state) $(bstate vb2 reserved_by)"
out=$("$BIN/bitfarm" reserve vb2 --by someone-else 2>&1)
check "a second reserve is refused, naming the holder" grep -q "board 'vb2' is reserved by ci-run-7 until" <<<"$out"
other=$("$BIN/bitfarm" program --board vb2 "$T/b11.bin")
sleep 0.5
check_eq "a job without the token waits while vb2 is reserved" queued "$(job_field "$other" '"state"')"
check "... and says by whom" grep -q "reserved by ci-run-7" <<<"$(job_field "$other" '"waiting_for"')"
mine=$("$BIN/bitfarm" program --board vb2 --token "$tok" "$T/b11.bin")
"$BIN/bitfarm" wait "$mine" >/dev/null 2>&1
check_eq "a job with the token runs at once" succeeded "$(job_field "$mine" '"state"')"
check_eq "... while the other still waits" queued "$(job_field "$other" '"state"')"
out=$("$BIN/bitfarm" release vb2 --token 0123456789abcdef0123456789abcdef 2>&1)
check "release with a wrong token fails" grep -q "this token holds no reservation of board 'vb2'" <<<"$out"
check_eq "... and vb2 stays reserved" reserved "$(bstate vb2 state)"
# The holder goes away without releasing (a killed CI job): expiry frees it.
wait_until 10 state_is "$other" succeeded
check_eq "the lease expires and the waiting job runs" succeeded "$(job_field "$other" '"state"')"
check "... the broker logged the expiry" grep -q "the reservation of board 'vb2' by ci-run-7 expired" "$T/broker.log"
check_eq "vb2 is idle again" idle "$(bstate vb2 state)"
tok=$("$BIN/bitfarm" reserve --device hx1k --for 1m --by a 2>/dev/null)
rb=$(jget "$("$BIN/bitfarm" boards --json)" "[b['name'] for b in d['boards'] if b['reserved_by']=='a'][0]")
check "reserve --device picks an idle board of that device" [ -n "$rb" ]
"$BIN/bitfarm" reserve "$rb" --wait --for 1m --by b >"$T/waiter.out" 2>/dev/null &
waiter=$!
PIDS+=("$waiter")
sleep 0.7
check "reserve --wait waits while the board is held" kill -0 "$waiter"
"$BIN/bitfarm" release "$rb" --token "$tok" >/dev/null
wait_until 5 bash -c "! kill -0 $waiter 2>/dev/null"
check_eq "... and gets it once the holder releases" "b 32" \
    "$(bstate "$rb" reserved_by) $(tr -d '\n' <"$T/waiter.out" | wc -c)"
"$BIN/bitfarm" release "$rb" --token "$(cat "$T/waiter.out")" >/dev/null
check_eq "release with the right token frees it" idle "$(bstate "$rb" state)"

# --- a stream of build-and-program jobs over three boards, a reservation
#     in the middle and a board that drops connections
echo '{"boards": [{"name": "vb9", "device": "hx1k", "package": "tq144", "virtual": true, "vboard_options": ["--fail", "drop", "--fail-times", "2", "--drop-after", "4k"]}]}' >"$T/w3.json"
start_worker w3 "${HB[@]}" --config "$T/w3.json"
boards3=(vb0 vb2 vb9)
declare -A expect
ids=()
for s in 21 22 23 24 25 26; do
    b=${boards3[$((s % 3))]}
    if [ "$s" = 23 ]; then
        tok=$("$BIN/bitfarm" reserve vb2 --for 2s --by stream 2>/dev/null)
    fi
    id=$(blinky --seed "$s" --program "$b")
    ids+=("$id")
    expect[$id]=$b
done
for id in "${ids[@]}"; do "$BIN/bitfarm" wait "$id" >/dev/null 2>&1; done
bad=0
for id in "${ids[@]}"; do
    b=${expect[$id]}; w=w1; [ "$b" = vb2 ] && w=w2; [ "$b" = vb9 ] && w=w3
    d=$(job_field "$id" '"bitstream_sha256"')
    st=$(job_field "$id" '"state"'); jb=$(job_field "$id" '"board"')
    if [ "$st" != succeeded ] || [ "$jb" != "$b" ] \
       || ! jget "$(vstate $w "$b")" "[h['sha256'] for h in d['history'] if h['done']]" | grep -q "$d"; then
        bad=$((bad + 1)); echo "# $id on $b: $st, board $jb, digest $d"
    fi
done
check_eq "every job of the stream landed on its board with its bytes" 0 "$bad"
check_eq "no board saw two connections at once" "0 0 0" \
    "$(jget "$(vstate w1 vb0)" 'd["overlaps"]') $(jget "$(vstate w2 vb2)" 'd["overlaps"]') $(jget "$(vstate w3 vb9)" 'd["overlaps"]')"
check_eq "vb9 dropped twice and still got everything" 2 "$(jget "$(vstate w3 vb9)" 'd["drops"]')"
wait_until 5 bash -c "[ \"\$('$BIN/bitfarm' boards --json | grep -c '\"state\": \"idle\"')\" = 8 ]"
check "no board stays locked: all eight are idle" [ $? -eq 0 ]

# --- bad input to the board commands: one-line errors, the broker keeps going
out=$("$BIN/bitfarm" reserve vb0 --by $'ci\x1b[2J' 2>&1)
check "a control character in --by is refused" grep -q "field 'by' has a control character" <<<"$out"
out=$("$BIN/bitfarm" release vb0 --token 'zz; drop table boards' 2>&1)
check "a malformed token is refused" grep -q "field 'token' must be a reservation token" <<<"$out"
out=$("$BIN/bitfarm" program --board nosuch "$T/b11.bin" 2>&1)
check_eq "an unknown board is refused (exit 2)" 2 "$?"
check "... by name" grep -q "no board named 'nosuch'" <<<"$out"
out=$("$BIN/bitfarm" board vb0 --maintenance --reason $'a\nb' 2>&1)
check "a control character in --reason is refused" grep -q "control character" <<<"$out"
out=$("$BIN/bitfarm" program --board vb0 0000 2>&1)
check "a reference that is neither a job nor a key is refused" grep -q "neither a finished build's job id nor a cache key" <<<"$out"
check_eq "the broker is still up, vb0 still idle" idle "$(bstate vb0 state)"

# --- the worker stops its virtual boards
kill "$WORKER_PID_w2"
wait_until 5 bash -c "! pgrep -f '[b]itfarm-vboard --port 0 --port-file $T/w2/' >/dev/null"
check "stopping a worker stops its bitfarm-vboard processes" [ $? -eq 0 ]
check_eq "its boards show offline" offline "$(bstate vcfg state)"
done_testing

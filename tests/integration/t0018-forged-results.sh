#!/usr/bin/env bash
# A farm no worker can fool (issue 15): a RESULT counts only for an attempt
# dispatched to the worker that sends it; the broker stores it under its own
# cache key, never under the one the worker names; one peer's toolchain
# claim does not change the farm's default; a job a worker never held is
# not recovered by it; and a worker name stays with its key across a broker
# restart.  The hostile worker is tests/tools/bf_fakeworker, a real ZeroMQ
# peer; honest users are checked to be served afterwards.
. "$(dirname "$0")/lib.sh"
FAKE=$(dirname "$BIN")/tests/bf_fakeworker
FORGED="FORGED BITSTREAM FROM A FAKE WKR"
HB=(--heartbeat 200ms --liveness 3)
start_broker broker "${HB[@]}" --retry-backoff 100ms || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1 "${HB[@]}" || { not_ok "worker starts"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP
cd "$FIXTURES/blinky"
B=(--top top --device hx1k --package tq144 --pcf icestick.pcf top.v)
state_is() { [ "$(job_field "$1" '"state"')" = "$2" ]; }
stage_is() { [ "$(job_field "$1" '"stage"')" = "$2" ]; }
real_tc=$("$BIN/bitfarm" workers --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["workers"][0]["toolchain"])')

# --- RESULT for a job never dispatched to the sender ----------------------
id=$("$BIN/submit" "${B[@]}" --tag nobody-serves-this)
"$FAKE" "$BROKER_EP" evil forge "$id" 1 >"$T/forge.out" 2>&1
check_eq "a forged RESULT for a queued job is answered (ACK), so nothing retries it" 0 $?
check_eq "  ... but the job is still queued" queued "$(job_field "$id" '"state"')"
check "  ... and the broker says why, naming the worker and the attempt" \
    grep -q "job $id: RESULT for attempt 1 from worker 'evil' refused: that attempt was never dispatched to it" "$T/broker.log"
"$BIN/bitfarm" cancel "$id" >/dev/null

# --- RESULT for a job running on another worker ----------------------------
cd "$FIXTURES/slow"
id=$("$BIN/submit" --top slow --device up5k --package sg48 --param N=48 --seed 3 slow.v)
wait_until 60 stage_is "$id" pnr
check_eq "an honest build runs on w1" w1 "$(job_field "$id" '"worker"')"
"$FAKE" "$BROKER_EP" evil forge "$id" 1 >"$T/forge2.out" 2>&1
check "a forged RESULT for w1's running job is refused" \
    grep -q "job $id: RESULT for attempt 1 from worker 'evil' refused: that attempt went to worker 'w1'" "$T/broker.log"
check_eq "  ... the job keeps running on w1" running "$(job_field "$id" '"state"')"
"$BIN/bitfarm" wait "$id" >/dev/null 2>&1
"$BIN/bitfarm" fetch "$id" -o "$T/slow.bin" 2>/dev/null
check_eq "  ... and succeeds with w1's bitstream, not the forged bytes" "succeeded no" \
    "$(job_field "$id" '"state"') $(grep -qa "$FORGED" "$T/slow.bin" && echo yes || echo no)"
check "  ... which is nextpnr's and icepack's (a 32 KiB-class up5k image)" \
    [ "$(stat -c %s "$T/slow.bin")" -gt 100000 ]

# --- a name in use on a plain broker is not taken over ---------------------
"$FAKE" "$BROKER_EP" w1 idle 1 >"$T/steal.out" 2>&1
check "READY with a connected worker's name is refused on a plain broker" \
    grep -q "got DISCONNECT .*worker name 'w1' is in use by a connected worker" "$T/steal.out"
check "  ... and told when to try again, not to give up" grep -q '"retry_ms"' "$T/steal.out"
check "  ... w1 is still registered" bash -c "'$BIN/bitfarm' workers | grep -q '^w1 '"

# --- planting a result under another design's key --------------------------
cd "$FIXTURES/blinky"
victim_key=$("$BIN/bitfarm" explain "${B[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cache_key"])')
check "explain gives the victim design's cache key" [ ${#victim_key} -eq 64 ]
"$FAKE" "$BROKER_EP" evil plant "$victim_key" --tag evil --toolchain "$real_tc" --wait 20 \
    --size 32220 >"$T/plant.out" 2>&1 &
fpid=$!
PIDS+=("$fpid")
wait_until 10 grep -q "worker 'evil' ready" "$T/broker.log"
bait=$("$BIN/submit" "${B[@]}" --seed 77 --tag evil)   # another design (a seed), same device
wait "$fpid"
check_eq "the hostile worker got the bait job and its forged RESULT was ACKed" 0 $?
check "  ... the broker noticed the key it named was not the job's" \
    grep -q "job $bait: worker 'evil' named cache key ${victim_key:0:12}; the broker's is" "$T/broker.log"
wait_until 10 state_is "$bait" succeeded
check_eq "  ... the bait job took the forged result (a worker key is trusted with the jobs it is given)" \
    succeeded "$(job_field "$bait" '"state"')"
check "  ... but under the bait's own key, not the victim's" \
    [ "$(job_field "$bait" '"cache_key"')" != "$victim_key" ]
"$BIN/bitfarm" cache show "$victim_key" --cache-dir "$T/broker/cache" >"$T/show.out" 2>&1
check_eq "  ... nothing is cached under the victim's key" 2 $?
vid=$("$BIN/submit" --wait -o "$T/victim.bin" "${B[@]}" 2>/dev/null)
check_eq "the victim's submit then builds for real (no cache hit)" "succeeded false" \
    "$(job_field "$vid" '"state"') $(job_field "$vid" '"cache_hit"')"
check "  ... and gets a real bitstream" bash -c "! grep -qa '$FORGED' '$T/victim.bin' && [ \$(stat -c %s '$T/victim.bin') -gt 30000 ]"
check_eq "  ... stored under the broker's key, the one explain computes" "$victim_key" \
    "$(job_field "$vid" '"cache_key"')"

# --- toolchain claims --------------------------------------------------------
fake_tc=$(printf 'e%.0s' $(seq 64))
tc_default() { "$BIN/bitfarm" toolchains --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("default"), d["rule"])'; }
check_eq "the default toolchain is the honest worker's" "$real_tc workers" "$(tc_default)"
"$FAKE" "$BROKER_EP" liar idle 3 --toolchain "$fake_tc" >"$T/liar.out" 2>&1 &
lpid=$!
PIDS+=("$lpid")
wait_until 10 grep -q "worker 'liar' ready" "$T/broker.log"
check_eq "one peer claiming another toolchain does not change the default (a tie goes to the first seen)" \
    "$real_tc workers" "$(tc_default)"
key_now=$("$BIN/bitfarm" explain "${B[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cache_key"])')
check_eq "  ... clients' keys stay the same" "$victim_key" "$key_now"
wait "$lpid"
check_eq "  ... nor after it leaves" "$real_tc workers" "$(tc_default)"
hit=$("$BIN/submit" "${B[@]}")
check_eq "  ... and the honest design is still a cache hit" "succeeded true" \
    "$(job_field "$hit" '"state"') $(job_field "$hit" '"cache_hit"')"
"$BIN/bitfarm" toolchains --default "${fake_tc:0:12}" >/dev/null
check_eq "an admin may choose the default (a plain broker's peers are all admins)" \
    "$fake_tc admin" "$(tc_default)"
"$BIN/bitfarm" toolchains --default auto >/dev/null
check_eq "  ... and give the choice back to the workers" "$real_tc workers" "$(tc_default)"
"$BIN/bitfarm" toolchains --default 0123456789ab 2>"$T/err"
check_eq "an unknown toolchain is refused" "3 bitfarm: no worker has reported toolchain '0123456789ab' (see \`bitfarm workers\`)" \
    "$? $(cat "$T/err")"

# --- claiming a job it never held --------------------------------------------
cd "$FIXTURES/slow"
id=$("$BIN/submit" --top slow --device up5k --package sg48 --param N=48 --seed 4 slow.v)
wait_until 60 stage_is "$id" pnr
"$FAKE" "$BROKER_EP" thief claim "$id" 1 >"$T/claim.out" 2>&1
check "a worker claiming w1's running job in READY is told to cancel it" \
    grep -q "got CANCEL {\"job\":\"$id\"}" "$T/claim.out"
check "  ... the broker says so" grep -q "worker 'thief' claims job $id as attempt 1, which was not dispatched to it" "$T/broker.log"
"$BIN/bitfarm" wait "$id" >/dev/null 2>&1
check_eq "  ... and the job still succeeds on w1, on its first attempt" "succeeded w1 1" \
    "$(job_field "$id" '"state"') $(job_field "$id" '"worker"') $(job_field "$id" '"attempt"')"

# --- CURVE: a worker name belongs to its key, across a restart --------------
K=$T/keys A=$T/allow
kg() { "$BIN/bitfarm" keygen --dir "$K" --role "$@" >/dev/null; }
kg broker broker && kg worker wa && kg worker wb && kg client root
mkdir -p "$A/workers" "$A/clients" "$A/admins"
cp "$K/wa.key" "$K/wb.key" "$A/workers/" && cp "$K/root.key" "$A/admins/"
start_broker curve --cert "$K/broker.key_secret" --keys "$A" "${HB[@]}" \
    || { not_ok "CURVE broker starts"; done_testing; exit 1; }
CEP=$BROKER_EP
"$FAKE" "$CEP" shared idle 1 --cert "$K/wa.key_secret" --broker-key "$K/broker.key" >"$T/wa.out" 2>&1
check_eq "key wa registers as worker 'shared'" 0 $?
kill "$BROKER_PID_curve"; wait "$BROKER_PID_curve" 2>/dev/null
start_broker curve --cert "$K/broker.key_secret" --keys "$A" "${HB[@]}"
CEP=$BROKER_EP
"$FAKE" "$CEP" shared idle 1 --cert "$K/wb.key_secret" --broker-key "$K/broker.key" >"$T/wb.out" 2>&1
check "after a restart, another worker key cannot take the name" \
    grep -q "got DISCONNECT .*\"reason\":\"worker name 'shared' belongs to another key.*\"refused\":true" "$T/wb.out"
"$FAKE" "$CEP" shared idle 1 --cert "$K/wa.key_secret" --broker-key "$K/broker.key" >"$T/wa2.out" 2>&1
check_eq "  ... its own key still can" 0 $?
admin() { "$BIN/bitfarm" "$@" --broker "$CEP" --cert "$K/root.key_secret" --broker-key "$K/broker.key"; }
check_eq "an admin releases the name" "worker name 'shared' released" "$(admin workers --release shared)"
"$FAKE" "$CEP" shared idle 1 --cert "$K/wb.key_secret" --broker-key "$K/broker.key" >"$T/wb2.out" 2>&1
check_eq "  ... then the new key may take it" 0 $?
"$BIN/bitfarm" workers --release shared --broker "$CEP" --cert "$K/wa.key_secret" \
    --broker-key "$K/broker.key" --request-timeout 2s 2>"$T/err"
check_eq "a worker key cannot release names (not an admin)" 3 $?

# --- the farm still serves honest users ---------------------------------------
cd "$FIXTURES/blinky"
"$BIN/submit" --wait -o "$T/again.bin" "${B[@]}" --seed 9 >/dev/null 2>&1
check_eq "after all of this an honest build succeeds" 0 $?
check "the broker is still running" kill -0 "$BROKER_PID_broker"
done_testing

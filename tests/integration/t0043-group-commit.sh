#!/usr/bin/env bash
# Group commit (issue 20): the broker commits what one wake-up of its loop
# handled in one transaction and answers only after it.  Many clients
# submit at once and the broker is killed with -9 in the middle of the
# flood: after a restart every job any client was told about exists,
# every job the broker reported finished is still finished, and nothing
# acknowledged is lost.  A batch whose commit fails (injected with
# BITFARM_TEST_FAIL_COMMIT) acknowledges nothing and stops the broker
# (exit 1), and one client alone still works.
. "$(dirname "$0")/lib.sh"

EP="ipc://$T/broker.sock"
HB=(--heartbeat 200ms --liveness 3)
broker() {   # broker N [env...]: start the Nth broker on the same state
    local n=$1; shift
    env "$@" "$BIN/bitfarm-broker" --listen "$EP" --state-dir "$T/state" "${HB[@]}" \
        --retry-backoff 50ms >>"$T/broker.log" 2>&1 &
    BPID=$!
    PIDS+=("$BPID")
    wait_until 10 bash -c "grep -c 'listening on' '$T/broker.log' | grep -qx $n" ||
        bail "broker $n started" "$T/broker.log"
}
broker 1
for w in w1 w2; do
    "$BIN/bitfarm-worker" --broker "$EP" --work-dir "$T/$w" --name "$w" --slots 2 "${HB[@]}" \
        >"$T/$w.log" 2>&1 &
    PIDS+=("$!")
done
export BITFARM_BROKER=$EP
cd "$FIXTURES/blinky"
noop() { "$BIN/submit" --request-timeout 2s --flow noop --delay 0ms --top top --device hx1k \
             --package tq144 top.v "$@"; }
wait_until 10 bash -c "'$BIN/bitfarm' workers 2>/dev/null | grep -q w2" || bail "workers" "$T/w1.log"

# The flood: 8 clients, each submitting until the broker dies, writing
# down each id it was given (acknowledged: committed, says the broker).
for c in $(seq 8); do
    (
        for i in $(seq 1000); do
            id=$(noop --seed "$((c * 10000 + i))" 2>/dev/null) || break
            echo "$id" >>"$T/acked.$c"
        done
    ) &
    clients+=($!)
done
# Meanwhile, a watcher writes down the jobs the broker says succeeded.
(
    while :; do
        "$BIN/bitfarm" jobs -n 10000 --json 2>/dev/null >"$T/seen.json" || break
        python3 -c "
import json; j=json.load(open('$T/seen.json'))['jobs']
print('\n'.join(x['id'] for x in j if x['state'] == 'succeeded'))" >>"$T/finished"
    done
) &
watcher=$!
# Kill in the middle of the flood: once some jobs were reported finished.
finished_some() { [ "$(sort -u "$T/finished" 2>/dev/null | grep -c .)" -ge 5 ]; }
wait_until 60 finished_some
kill -9 "$BPID"
wait "$BPID" 2>/dev/null
for p in "${clients[@]}" "$watcher"; do wait "$p"; done
acked=$(cat "$T"/acked.* | sort -u | grep -c .)
finished=$(sort -u "$T/finished" | grep -c .)
echo "# $acked submits and $finished finished jobs acknowledged before the kill -9"
check "clients were answered before the kill" [ "$acked" -ge 20 ]
check "jobs were reported finished before the kill" [ "$finished" -ge 5 ]

broker 2
"$BIN/bitfarm" jobs -n 10000 --json >"$T/after.json" || not_ok "jobs after the restart"
python3 - "$T/after.json" "$T/finished" "$T"/acked.* <<'PY' >"$T/verdict"
import json, sys
jobs = {j["id"]: j["state"] for j in json.load(open(sys.argv[1]))["jobs"]}
finished = {l.strip() for l in open(sys.argv[2]) if l.strip()}
acked = {l.strip() for f in sys.argv[3:] for l in open(f) if l.strip()}
print("lost", len([i for i in acked if i not in jobs]))
print("unfinished", len([i for i in finished if jobs.get(i) != "succeeded"]))
PY
check_eq "every acknowledged submit survived the kill -9" "lost 0" "$(grep '^lost' "$T/verdict")"
check_eq "every job reported finished is still finished" "unfinished 0" \
    "$(grep '^unfinished' "$T/verdict")"

# Everything drains on the restarted broker.
all_final() {
    "$BIN/bitfarm" jobs -n 10000 --json >"$T/jobs.json" 2>/dev/null &&
        python3 -c "
import json; j=json.load(open('$T/jobs.json'))['jobs']
assert j and all(x['state'] == 'succeeded' for x in j)" 2>/dev/null
}
wait_until 60 all_final
check "every job succeeds after the restart" all_final

# One client alone, one job: submitted, built, fetched.
id=$(noop --seed 1 --wait) || not_ok "a single client's submit --wait"
"$BIN/bitfarm" fetch "$id" -o "$T/noop.out"
printf 'bitfarm noop\n%s top.v\n' "$(sha256sum top.v | cut -d' ' -f1)" >"$T/noop.want"
check "a single client's job succeeds and its result fetches" cmp -s "$T/noop.out" "$T/noop.want"

# A batch that fails to commit: its SUBMIT is never answered, the broker
# stops (exit 1) saying why, and after a restart the job does not exist.
before=$(sqlite3 "$T/state/jobs.db" "SELECT COUNT(*) FROM jobs")
kill -TERM "$BPID"; wait "$BPID" 2>/dev/null
broker 3 BITFARM_TEST_FAIL_COMMIT=SUBMIT
out=$(noop --seed 2 2>&1); rc=$?
check "a submit whose batch fails to commit is not acknowledged" [ "$rc" -ne 0 ]
check "... and no job id was given" bash -c "! grep -qx '[0-9a-f]\{32\}' <<<'$out'"
wait "$BPID" 2>/dev/null; brc=$?
check_eq "the broker stops with status 1" 1 "$brc"
check "... saying the commit failed and what it did not send" \
    grep -q "cannot commit: failure injected by BITFARM_TEST_FAIL_COMMIT; [0-9]* held message" \
    "$T/broker.log"
check_eq "nothing of the failed batch is on disk" "$before" \
    "$(sqlite3 "$T/state/jobs.db" "SELECT COUNT(*) FROM jobs")"
broker 4
id=$(noop --seed 2 --wait) || not_ok "the same submit after the restart"
check_eq "the same submit succeeds after the restart" \
    succeeded "$("$BIN/bitfarm" status --json "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"

done_testing

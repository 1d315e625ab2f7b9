#!/usr/bin/env bash
# kill -9 of the broker, again and again, while a stream of jobs flows
# through two workers (the diagnostic noop flow: a queue's health check,
# no tools).  After a final restart every accepted job reaches exactly one
# final state, none is lost or stuck, and no result is recorded twice.
. "$(dirname "$0")/lib.sh"

JOBS=${BITFARM_CRASH_JOBS:-300}
EP="ipc://$T/broker.sock"          # a fixed endpoint the restarted broker binds again
HB=(--heartbeat 100ms --liveness 3)
broker() {
    "$BIN/bitfarm-broker" --listen "$EP" --state-dir "$T/state" "${HB[@]}" --retry-backoff 50ms \
        --max-attempts 20 >>"$T/broker.log" 2>&1 &
    BPID=$!
    PIDS+=("$BPID")
    wait_until 10 bash -c "grep -c 'listening on' '$T/broker.log' | grep -qx $1"
}
broker 1
for w in w1 w2; do
    "$BIN/bitfarm-worker" --broker "$EP" --work-dir "$T/$w" --name "$w" --slots 2 "${HB[@]}" \
        >"$T/$w.log" 2>&1 &
    PIDS+=("$!")
done
export BITFARM_BROKER=$EP
cd "$FIXTURES/blinky"

# A client polls one longer job through all the crashes.
long=$("$BIN/submit" --flow noop --delay 4s --seed 0 --top top --device hx1k --package tq144 top.v)
"$BIN/bitfarm" wait "$long" >/dev/null 2>"$T/long.err" &
waiter=$!

# The stream: one submit per seed; a submit the dead broker never answered
# is tried again (it may or may not have been accepted).
(
    for i in $(seq "$JOBS"); do
        for _ in $(seq 20); do
            id=$("$BIN/submit" --request-timeout 1s --flow noop --delay 20ms --seed "$i" \
                 --top top --device hx1k --package tq144 top.v 2>/dev/null) && break
            sleep 0.2
        done
        echo "$id" >>"$T/accepted"
    done
) &
submitter=$!

# The faults: kill -9 at random moments, restart after a random pause.
kills=0
while kill -0 "$submitter" 2>/dev/null; do
    sleep "0.$(( RANDOM % 9 + 1 ))"
    kill -9 "$BPID" 2>/dev/null && kills=$((kills + 1))
    wait "$BPID" 2>/dev/null
    sleep "0.$(( RANDOM % 5 ))"
    broker $((kills + 1)) || break
done
wait "$submitter"
echo "# $kills kill -9 of the broker during $JOBS submits"
check "the broker was killed at least 3 times" [ "$kills" -ge 3 ]
check_eq "every submit was accepted in the end" "$JOBS" "$(grep -c '^[0-9a-f]\{32\}$' "$T/accepted")"

wait "$waiter"
check_eq "a client waiting through the crashes sees its job succeed" 0 $?

# Everything drains after the last restart.
all_final() {
    "$BIN/bitfarm" jobs -n 10000 --json >"$T/jobs.json" 2>/dev/null &&
        python3 -c "
import json; j=json.load(open('$T/jobs.json'))['jobs']
assert j and all(x['state'] not in ('queued','running') for x in j)"
}
wait_until 120 all_final
check "no job is stuck: all are final within 2 minutes" all_final

python3 - "$T/jobs.json" "$T/accepted" <<'PY' >"$T/verdict"
import json, sys
jobs = {j["id"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
accepted = [l.strip() for l in open(sys.argv[2]) if l.strip()]
lost = [i for i in accepted if i not in jobs]
bad = [i for i in accepted if i in jobs and jobs[i]["state"] != "succeeded"]
print("lost", len(lost))
print("not-succeeded", len(bad), " ".join(f"{i}:{jobs[i]['state']}:{jobs[i]['error']}" for i in bad[:3]))
PY
check_eq "no accepted job is lost" "lost 0" "$(grep '^lost' "$T/verdict")"
check_eq "every accepted job succeeded" "not-succeeded 0 " "$(grep '^not-succeeded' "$T/verdict")"

# The database itself: one final event per job, never two.
dup=$(sqlite3 "$T/state/jobs.db" "SELECT COUNT(*) FROM (SELECT job FROM events WHERE event IN
      ('succeeded','failed','cancelled','timed_out') GROUP BY job HAVING COUNT(*) != 1)")
check_eq "no job recorded a result twice (or none)" 0 "$dup"
check_eq "every job has its final event" "$(sqlite3 "$T/state/jobs.db" "SELECT COUNT(*) FROM jobs")" \
    "$(sqlite3 "$T/state/jobs.db" "SELECT COUNT(DISTINCT job) FROM events WHERE event IN ('succeeded','failed','cancelled','timed_out')")"
recovered=$(sqlite3 "$T/state/jobs.db" "SELECT COUNT(*) FROM events WHERE event = 'recovered'")
echo "# $recovered job(s) recovered from re-registering workers; $(sqlite3 "$T/state/jobs.db" "SELECT COUNT(*) FROM events WHERE event = 'retry'") retry event(s)"

# A result is what the flow computes, not a leftover of a crash.
id=$(head -1 "$T/accepted")
"$BIN/bitfarm" fetch "$id" -o "$T/noop.out"
printf 'bitfarm noop\n%s top.v\n' "$(sha256sum top.v | cut -d' ' -f1)" >"$T/noop.want"
check "a fetched result is the noop flow's output" cmp -s "$T/noop.out" "$T/noop.want"

# SIGTERM stops the broker cleanly.
kill -TERM "$BPID"
stopped() { ! kill -0 "$BPID" 2>/dev/null; }
wait_until 5 stopped
check "SIGTERM stops the broker" stopped
check "... cleanly" bash -c "tail -3 '$T/broker.log' | grep -q 'stopped'"

done_testing

#!/usr/bin/env bash
# The queue under faults and misuse, with real builds: a worker killed in
# the middle of nextpnr, cancels of queued and running jobs, time limits,
# capability (tag) matching, coalescing of identical submits, long builds
# under short heartbeats, and draining a worker with SIGTERM.
. "$(dirname "$0")/lib.sh"

# Short heartbeats: 100 ms, lease 300 ms; retries after about 100 ms.
HB=(--heartbeat 100ms --liveness 3)
start_broker broker "${HB[@]}" --retry-backoff 100ms || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1 "${HB[@]}" && start_worker w2 "${HB[@]}"
export BITFARM_BROKER=$BROKER_EP
cd "$FIXTURES/slow"
# slow N SEED [args]: submits the scalable design; prints the job id
slow() { local n=$1 seed=$2; shift 2; "$BIN/submit" --top slow --device up5k --package sg48 --param "N=$n" --seed "$seed" "$@" slow.v; }
stage_is() { [ "$(job_field "$1" '"stage"')" = "$2" ]; }
state_is() { [ "$(job_field "$1" '"state"')" = "$2" ]; }

# --- kill -9 the worker in the middle of nextpnr
id=$(slow 64 1)
wait_until 60 stage_is "$id" pnr
check_eq "the build reaches nextpnr" pnr "$(job_field "$id" '"stage"')"
victim=$(job_field "$id" '"worker"')
other=w1; [ "$victim" = w1 ] && other=w2
pid_of_worker "$victim"; vpid=$WPID
kill -9 "$vpid"
t0=$(date +%s%N)
wait_until 5 bash -c "[ \"\$('$BIN/bitfarm' status $id --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"attempt\"], d[\"worker\"])')\" = '2 $other' ]"
check "after kill -9 of '$victim', attempt 2 runs on '$other'" [ $? -eq 0 ]
echo "# re-dispatched $(( ($(date +%s%N) - t0) / 1000000 )) ms after the kill (lease 300 ms)"
sleep 0.5
check_eq "no tool of the killed worker is left running" "" "$(procs_under "$T/$victim")"
"$BIN/bitfarm" wait "$id" 2>/dev/null
check_eq "the job then succeeds" succeeded "$(job_field "$id" '"state"')"
ev=$("$BIN/bitfarm" status "$id" --events --json)
check "its events show the retry and why" python3 -c "
import json,sys; e=json.loads(sys.argv[1])['events']; k=[x['event'] for x in e]
assert k.count('running')==2 and 'retry' in k and k[-1]=='succeeded', k
r=[x for x in e if x['event']=='retry'][0]
assert \"worker '$victim' lost\" in r['reason'] and r['attempt']==1, r
assert [x for x in e if x['event']=='running'][1]['worker']=='$other'" "$ev"
check "status --events prints the history" bash -c "'$BIN/bitfarm' status $id --events | grep -q 'retry .*attempt 1.*lost'"
start_worker "$victim" "${HB[@]}"

# --- a tool killed by a signal is an infrastructure failure: retried, not blamed on the design
id=$(slow 64 21)
wait_until 60 stage_is "$id" pnr
w=$(job_field "$id" '"worker"')
pnr_pid() { for p in $(procs_under "$T/$w"); do grep -q nextpnr "/proc/$p/comm" 2>/dev/null && echo "$p"; done; }
check "nextpnr runs in the worker's job directory" [ -n "$(pnr_pid)" ]
kill -9 $(pnr_pid)
"$BIN/bitfarm" wait "$id" 2>/dev/null
check_eq "after nextpnr is killed by SIGKILL the job succeeds on attempt 2" "succeeded 2" "$(job_field "$id" '"state"') $(job_field "$id" '"attempt"')"
check "its history says the tool was killed" bash -c "'$BIN/bitfarm' status $id --events | grep -q 'retry .*killed by signal 9'"

# --- heartbeats: a build of many lease periods is never re-queued while its worker lives
id=$(slow 64 2)
"$BIN/bitfarm" wait "$id" 2>/dev/null
check_eq "a ~10 s build under a 300 ms lease succeeds" succeeded "$(job_field "$id" '"state"')"
check_eq "... on its first attempt" 1 "$(job_field "$id" '"attempt"')"
check "... with no retry in its history" bash -c "! '$BIN/bitfarm' status $id --events | grep -q retry"

# --- cancel a running job: the tools' process group dies within about a second
id=$(slow 64 3)
wait_until 60 stage_is "$id" pnr
w=$(job_field "$id" '"worker"')
check "a running job's tools run in its worker's directory" [ -n "$(procs_under "$T/$w")" ]
"$BIN/bitfarm" cancel "$id" >/dev/null
check_eq "cancel of a running job exits 0" 0 $?
check_eq "the job is cancelled at once" cancelled "$(job_field "$id" '"state"')"
gone() { [ -z "$(procs_under "$T/$w")" ]; }
wait_until 2 gone
check "its tools are gone within 2 s" gone
"$BIN/bitfarm" wait "$id" 2>/dev/null
check_eq "wait on a cancelled job exits 5" 5 $?
"$BIN/bitfarm" cancel "$id" 2>"$T/err"
check_eq "cancelling it again is an error (exit 2)" 2 $?
check "... that says it is already over" grep -q "is already cancelled; nothing to cancel" "$T/err"

# --- capability matching: a job needing a tag no worker has waits, with the reason
cd "$FIXTURES/blinky"
id=$("$BIN/submit" --top top --device hx1k --package tq144 --pcf icestick.pcf --tag big top.v)
sleep 0.5
check_eq "a job for tag 'big' stays queued" queued "$(job_field "$id" '"state"')"
check "status says why" bash -c "'$BIN/bitfarm' status $id | grep -q 'waiting    no connected worker has the tags \[\"big\"\]'"
start_worker w3 "${HB[@]}" --tag big --tag lab-2
"$BIN/bitfarm" wait "$id" 2>/dev/null
check_eq "a worker with the tag runs it" "succeeded w3" "$(job_field "$id" '"state"') $(job_field "$id" '"worker"')"
id=$("$BIN/submit" --top top --device hx1k --package tq144 --pcf icestick.pcf --seed 5 --tag nosuch top.v)
check "cancel of a queued job" bash -c "'$BIN/bitfarm' cancel $id | grep -q cancelled"
check_eq "... leaves it cancelled" cancelled "$(job_field "$id" '"state"')"
"$BIN/submit" --top top --device hx1k --package tq144 --tag 'Bad Tag' top.v 2>"$T/err"
check_eq "a malformed tag is a usage error" 2 $?
check "... naming the value" grep -q "invalid value 'Bad Tag' for --tag" "$T/err"

# --- time limits: the worker kills the build, the job ends timed_out
cd "$FIXTURES/slow"
id=$(slow 64 4 --timeout 2s)
"$BIN/bitfarm" wait "$id" 2>"$T/err"
check_eq "a job over its 2 s limit: wait exits 4" 4 $?
check_eq "... state timed_out, class timeout" "timed_out timeout" "$(job_field "$id" '"state"') $(job_field "$id" '"failure_class"')"
check "... the error names the limit" bash -c "'$BIN/bitfarm' status $id | grep -q 'timed out after'"
sleep 0.3
check_eq "... and no tool is left running" "" "$(procs_under "$T/w1")$(procs_under "$T/w2")$(procs_under "$T/w3")"
"$BIN/submit" --top slow --device up5k --package sg48 --timeout 20d slow.v 2>"$T/err"
check_eq "a limit above the broker's maximum is refused" 3 $?
check "... with a clear error" grep -q "time limit 1728000000 ms is out of range" "$T/err"

# --- coalescing: 20 identical submits at once, one build
before=$(cat "$T"/w[123].log | grep -c "started in")
subs=()
for i in $(seq 20); do slow 24 9 --request-timeout 60s >"$T/co.$i" 2>&1 & subs+=("$!"); done
wait "${subs[@]}"
ids=$(cat "$T"/co.*)
check_eq "20 submits give 20 job ids" 20 "$(echo "$ids" | sort -u | grep -c '^[0-9a-f]\{32\}$')"
for i in $ids; do "$BIN/bitfarm" wait "$i" 2>/dev/null || echo "$i failed"; done >"$T/co.failed"
check_eq "all 20 succeed" "" "$(cat "$T/co.failed")"
check_eq "exactly one build ran" 1 "$(( $(cat "$T"/w[123].log | grep -c "started in") - before ))"
check_eq "all 20 have the same bitstream" 1 "$(for i in $ids; do job_field "$i" '"bitstream_sha256"'; done | sort -u | wc -l)"
check_eq "19 of them followed the first" 19 "$(for i in $ids; do job_field "$i" '"follows"'; done | grep -c '^[0-9a-f]\{32\}$')"

# --- SIGTERM drains a worker: its running job finishes, it takes no new one, then it exits
id=$(slow 32 11)
wait_until 60 state_is "$id" running
w=$(job_field "$id" '"worker"')
pid_of_worker "$w"; wpid=$WPID
kill -TERM "$wpid"
sleep 0.3
check "the worker says it is draining" grep -q "draining" "$T/$w.log"
check "the broker stops giving it jobs" python3 -c "
import json,sys; w=[x for x in json.loads(sys.argv[1])['workers'] if x['name']=='$w']
assert w and w[0]['draining'] is True, w" "$("$BIN/bitfarm" workers --json)"
cd "$FIXTURES/blinky"
id2=$("$BIN/submit" --top top --device hx1k --package tq144 --pcf icestick.pcf --seed 12 top.v)
"$BIN/bitfarm" wait "$id2" 2>/dev/null
check "a new job goes to another worker" [ "$(job_field "$id2" '"worker"')" != "$w" ]
"$BIN/bitfarm" wait "$id" 2>/dev/null
check_eq "the draining worker's job succeeds there, first attempt" "succeeded $w 1" "$(job_field "$id" '"state"') $(job_field "$id" '"worker"') $(job_field "$id" '"attempt"')"
exited() { ! kill -0 "$wpid" 2>/dev/null; }
wait_until 10 exited
check "then the worker exits" exited
check "... having handed in its result" grep -q "stopped" "$T/$w.log"

done_testing

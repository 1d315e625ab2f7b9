#!/usr/bin/env bash
# A wait is told when its job changes instead of polling (docs/protocol.md
# 5.3): the broker holds STATUS with wait_ms until the job's state, stage
# or attempt changes, answers a held question as its asker would have been
# answered, and answers at once what it cannot hold (a heartbeat longer
# than the wait), which the client then polls as before.
. "$(dirname "$0")/lib.sh"
cd "$FIXTURES/blinky"
noop() { "$BIN/submit" --top top --device hx1k --pcf icestick.pcf --flow noop "$@" top.v; }

start_broker broker --log-level debug || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1
export BITFARM_BROKER=$BROKER_EP

# --- a 3 s job: a handful of held questions, not a poll every 250 ms
id=$(noop --delay 3s --seed 1)
out=$("$BIN/bitfarm" wait "$id" 2>&1)
check_eq "bitfarm wait ends with the job's end" 0 $?
check "... and shows its progress and end" grep -q "succeeded" <<<"$out"
check "... having seen the stage it ran in" grep -q "running, stage noop" <<<"$out"
held=$(grep -c "job ${id:0:12}: STATUS held" "$T/broker.log")
answered=$(grep -c "job ${id:0:12}: held STATUS answered (changed)" "$T/broker.log")
check "the broker held the wait's questions (held $held)" [ "$held" -ge 1 ]
check "... and answered them when the job changed ($answered)" [ "$answered" -ge 1 ]
check "... a few times over 3 s, not in a loop ($held)" [ "$held" -le 5 ]

# --- submit --wait -o through held questions: the bitstream arrives
id=$(noop --delay 1s --seed 2 --wait -o "$T/noop.bin" 2>/dev/null | head -1)
check "submit --wait -o writes the result after a held wait" \
    grep -q "bitfarm noop" "$T/noop.bin"

# --- a job that is already over is answered at once, never held
before=$(grep -c "STATUS held" "$T/broker.log")
"$BIN/bitfarm" wait "$id" >/dev/null 2>&1
check_eq "waiting for a finished job ends at once" 0 $?
check_eq "... and holds nothing" "$before" "$(grep -c "STATUS held" "$T/broker.log")"

# --- a broker whose heartbeat is longer than a wait's hold answers at
# once; the client polls, and the wait still ends with the job
start_broker slow --log-level debug --heartbeat 10s --liveness 2 \
    || { not_ok "broker with a 10 s heartbeat starts"; done_testing; exit 1; }
start_worker w2 --heartbeat 10s --liveness 2
export BITFARM_BROKER=$BROKER_EP
id=$(noop --delay 1s --seed 3)
"$BIN/bitfarm" wait "$id" >/dev/null 2>&1
check_eq "a wait on a broker that holds nothing still ends with the job" succeeded \
    "$(job_field "$id" '"state"')"
check_eq "... which held nothing (10 s heartbeat, 3.75 s hold)" 0 \
    "$(grep -c "STATUS held" "$T/slow.log")"
done_testing

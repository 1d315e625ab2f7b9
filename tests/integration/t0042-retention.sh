#!/usr/bin/env bash
# Job history retention (--keep-jobs COUNT|DURATION, issue 20): a real
# broker and worker with builds, program jobs and noop jobs.  Keeping a
# COUNT, then a DURATION, removes exactly the old finished jobs with their
# events, attempts and live logs; a pruned job's status says it is unknown
# in one line; queued and running jobs, a follower and its leader, the build
# a waiting program job needs and a board's last job stay; the cache keeps
# its entries; the broker works on after each restart; bad values are
# refused naming them; and a database of schema version 11 is upgraded.
. "$(dirname "$0")/lib.sh"
SCHEMA=$(cd "$(dirname "$0")/../../schema/jobs" && pwd)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HB=(--heartbeat 200ms --listen "tcp://127.0.0.1:$PORT")
st=$T/broker
start_broker broker "${HB[@]}" || { not_ok "the broker starts"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP
cat >"$T/w1.json" <<EOF
{"boards": [{"name": "vb0", "device": "hx1k", "package": "tq144", "virtual": true}]}
EOF
start_worker w1 --heartbeat 200ms --slots 4 --config "$T/w1.json"
cd "$FIXTURES/blinky"
blinky() { "$BIN/submit" --top top --device hx1k --package tq144 --pcf icestick.pcf "$@" top.v; }
noop() { local seed=$1; shift
         "$BIN/submit" --flow noop --seed "$seed" --top top --device hx1k --package tq144 "$@" top.v; }
state_is() { [ "$(job_field "$1" '"state"')" = "$2" ]; }
# db SQL: one value from the broker's jobs.db (python3's sqlite3; WAL readers are fine)
db() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$st/jobs.db" "$1"; }
rows() { db "SELECT (SELECT count(*) FROM jobs WHERE id='$1') || ' ' || (SELECT count(*) FROM events WHERE job='$1') || ' ' || (SELECT count(*) FROM attempts WHERE job='$1')"; }
gone() { "$BIN/bitfarm" status "$1" >/dev/null 2>&1 && return 1; [ "$(rows "$1")" = "0 0 0" ]; }
restart() {
    eval "kill \$BROKER_PID_broker"
    wait_until 10 bash -c "! kill -0 $BROKER_PID_broker 2>/dev/null"
    start_broker broker "${HB[@]}" "$@" || { not_ok "the broker starts again ($*)"; done_testing; exit 1; }
    wait_until 20 bash -c "'$BIN/bitfarm' workers 2>/dev/null | grep -q '^w1 '" \
        || not_ok "the worker registers again"
}

# --- history: the oldest finished first
pj0=$(blinky --seed 20 --program vb0 2>/dev/null)
"$BIN/bitfarm" wait "$pj0" >/dev/null 2>&1
b0=$(job_field "$pj0" '"after"')
check_eq "a program job ran on vb0 (the board's last job), after its build" "succeeded succeeded" \
    "$(job_field "$pj0" '"state"') $(job_field "$b0" '"state"')"
tok=$("$BIN/bitfarm" reserve vb0 --for 10m --by holder 2>/dev/null)
pj1=$(blinky --seed 21 --program vb0 2>/dev/null)
b1=$(job_field "$pj1" '"after"')
wait_until 120 state_is "$b1" succeeded
check_eq "a program job waits for the reserved board after its build succeeded" "queued succeeded" \
    "$(job_field "$pj1" '"state"') $(job_field "$b1" '"state"')"
# a build cancelled in nextpnr, after its log streamed (as in t0016)
c0=$(cd "$FIXTURES/slow" && "$BIN/submit" --top slow --device up5k --package sg48 --param N=64 \
         --seed 42 slow.v)
stage_is() { [ "$(job_field "$1" '"stage"')" = "$2" ]; }
wait_until 60 stage_is "$c0" pnr
"$BIN/bitfarm" cancel "$c0" >/dev/null 2>&1
wait_until 10 state_is "$c0" cancelled
check "a build cancelled in nextpnr keeps its live log while it is kept" test -s "$st/logs/$c0.log"
f=()
for s in 2 3 4; do id=$(noop "$s" --wait 2>/dev/null) || not_ok "noop job $s"; f+=("$id"); done
check_eq "three more finished jobs" "succeeded succeeded succeeded" \
    "$(job_field "${f[0]}" '"state"') $(job_field "${f[1]}" '"state"') $(job_field "${f[2]}" '"state"')"
check_eq "... each with its events and attempt" "1 yes 1" \
    "$(rows "${f[0]}" | awk '{ print $1, ($2 > 2 ? "yes" : "no"), $3 }')"
# live: queued for a tag nobody has; a running leader and its follower
q=$(noop 5 --tag nobody)
lead=$(noop 6 --delay 10m)
wait_until 20 state_is "$lead" running
fol=$(noop 6 --delay 10m)
check_eq "a queued job, a running leader and its follower" "queued running $lead" \
    "$(job_field "$q" '"state"') $(job_field "$lead" '"state"') $(job_field "$fol" '"follows"')"

# --- COUNT: the newest 2 finished jobs are kept, and what is referred to
restart --keep-jobs 2
wait_until 20 gone "$c0"
for id in "$b0" "$c0" "${f[0]}"; do
    check "--keep-jobs 2: old finished job ${id:0:8} is gone with its events and attempts" gone "$id"
done
check "... and so is the cancelled job's live log" test ! -e "$st/logs/$c0.log"
"$BIN/bitfarm" status "$c0" >"$T/out" 2>"$T/err"
check_eq "status of a pruned job fails (exit 2, as for any unknown id)" 2 "$?"
check_eq "... in one line, saying it is unknown" "bitfarm: no job '$c0'" "$(cat "$T/err")"
check_eq "the newest two finished jobs stay" "succeeded succeeded" \
    "$(job_field "${f[1]}" '"state"') $(job_field "${f[2]}" '"state"')"
check_eq "the board's last job stays" "succeeded" "$(job_field "$pj0" '"state"')"
check_eq "the build a waiting program job needs stays" "succeeded queued" \
    "$(job_field "$b1" '"state"') $(job_field "$pj1" '"state"')"
check_eq "queued, running and following jobs stay" "queued running $lead" \
    "$(job_field "$q" '"state"') $(job_field "$lead" '"state"') $(job_field "$fol" '"follows"')"
check "the broker says what it removed" \
    grep -q "removed 3 finished job(s) beyond the newest 2 finished jobs" "$T/broker.log"
hit=$(blinky --seed 20 --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check_eq "the pruned build's cache entry stays: the same design is a cache hit" "succeeded true" \
    "$(job_field "$hit" '"state"') $(job_field "$hit" '"cache_hit"')"
check_eq "the job counts of /metrics follow (job_counts)" \
    "$(db "SELECT count(*) FROM jobs WHERE state='succeeded'")" \
    "$(db "SELECT sum(n) FROM job_counts WHERE state='succeeded'")"

# --- DURATION: finished more than 1 s ago
restart --keep-jobs 1s
wait_until 20 gone "${f[2]}"
for id in "${f[1]}" "${f[2]}" "$hit"; do
    check "--keep-jobs 1s: finished job ${id:0:8} is gone" gone "$id"
done
check "... saying so" grep -q "removed [0-9]* finished job(s) older than 1 s (--keep-jobs 1s)" "$T/broker.log"
check_eq "what is referred to and what is live stays" "succeeded succeeded queued queued running" \
    "$(job_field "$pj0" '"state"') $(job_field "$b1" '"state"') $(job_field "$pj1" '"state"') $(job_field "$q" '"state"') $(job_field "$lead" '"state"')"
quiet() { "$@" >/dev/null 2>&1; }
check "after the restarts the farm still builds" quiet noop 7 --wait
"$BIN/bitfarm" cancel "$lead" >/dev/null 2>&1
wait_until 20 state_is "$fol" running         # released: it runs on its own
"$BIN/bitfarm" cancel "$fol" >/dev/null 2>&1
wait_until 20 gone "$fol"
check "once the leader has finished, it goes too" gone "$lead"
check "... and so does its follower" gone "$fol"
"$BIN/bitfarm" release vb0 --token "$tok" >/dev/null 2>&1
wait_until 30 gone "$b1"
check "the build goes once its program job has run" gone "$b1"
wait_until 20 gone "$pj0"
check "... and the board's previous last job" gone "$pj0"
check_eq "... while its new last job stays" "succeeded" "$(job_field "$pj1" '"state"')"

# --- bad values are refused, naming them
for v in 0 1.5d -3 "30 d" 12x 500ms All; do
    "$BIN/bitfarm-broker" --listen "tcp://127.0.0.1:1" --state-dir "$T/bad" --keep-jobs "$v" \
        >"$T/out" 2>"$T/err"
    check_eq "--keep-jobs '$v' is a usage error (exit 2)" 2 "$?"
    check_eq "... in one line naming it" "1 1" \
        "$(wc -l <"$T/err") $(grep -c "invalid value '$v' for --keep-jobs" "$T/err")"
done

# --- a database of schema version 11 upgrades
old=$T/old
mkdir -p "$old" && chmod 700 "$old"
python3 - "$old/jobs.db" "$SCHEMA" <<'EOF'
import sqlite3, sys, glob, os, time
c = sqlite3.connect(sys.argv[1])
for f in sorted(glob.glob(os.path.join(sys.argv[2], "0*.sql")))[:11]:
    c.executescript(open(f).read())
c.execute("PRAGMA user_version=11")
now = int(time.time() * 1000)
for i, (jid, state, fin) in enumerate([("a" * 32, "succeeded", now - 100 * 86400000),
                                       ("b" * 32, "succeeded", now - 3600000),
                                       ("c" * 32, "queued", None)]):
    c.execute("INSERT INTO jobs (id, seq, state, action, manifest, submitted_at, started_at, "
              "finished_at) VALUES (?, ?, ?, 'x', '{}', ?, ?, ?)",
              (jid, i + 1, state, now - 101 * 86400000, fin, fin))
    c.execute("INSERT INTO events (job, at, event, attempt) VALUES (?, ?, 'queued', 0)",
              (jid, now - 101 * 86400000))
c.commit()
EOF
check_eq "an old database at version 11" 11 "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$old/jobs.db")"
start_broker old --keep-jobs 30d || { not_ok "the broker starts on it"; done_testing; exit 1; }
check_eq "... is upgraded to version 12" 12 "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$old/jobs.db")"
st=$old
wait_until 20 gone "$(printf 'a%.0s' $(seq 32))"
check "... and its finished job of 100 days ago goes (--keep-jobs 30d)" gone "$(printf 'a%.0s' $(seq 32))"
check_eq "... while the one of an hour ago and the queued one stay" "succeeded queued" \
    "$("$BIN/bitfarm" status --broker "$BROKER_EP" --json "$(printf 'b%.0s' $(seq 32))" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])') $("$BIN/bitfarm" status --broker "$BROKER_EP" --json "$(printf 'c%.0s' $(seq 32))" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
check_eq "... with the counts seeded from the old history" "1 1" \
    "$(db "SELECT sum(n) FROM job_counts WHERE state='succeeded'") $(db "SELECT sum(n) FROM job_counts WHERE state='queued'")"

done_testing

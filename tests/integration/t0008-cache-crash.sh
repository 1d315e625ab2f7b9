#!/usr/bin/env bash
# The cache under crashes, concurrency and a size cap, with real processes:
# 4 writer processes putting the same keys at once; writers killed with
# kill -9 at random moments, again and again (no partial entry is ever
# visible, gc cleans up, verify finds nothing bad); and eviction under a
# small cap while jobs are queued (their inputs are never evicted).
. "$(dirname "$0")/lib.sh"
WRITER=$BIN/../tests/bf_cachewriter
sql() { sqlite3 -cmd ".timeout 5000" "$1/index.db" "$2"; }

# --- 4 concurrent writer processes on the same keys
C=$T/c4
pids=()
for i in 1 2 3 4; do "$WRITER" "$C" same 25 2>"$T/w$i.err" & pids+=($!); done
rcs=""
for p in "${pids[@]}"; do wait "$p"; rcs="$rcs$?"; done
check_eq "4 concurrent writers of the same 25 keys all succeed" 0000 "$rcs"
check_eq "... and produce one entry per key" 25 "$(sql "$C" 'SELECT count(*) FROM entries')"
check_eq "... and one row per object" 50 "$(sql "$C" 'SELECT count(*) FROM objects')"
out=$("$BIN/bitfarm" cache verify --json --cache-dir "$C")
check_eq "... every object intact" "50 0" "$(jget "$out" 'd["objects"]') $(jget "$out" 'len(d["corrupt"])')"
check_eq "... no error printed" "" "$(cat "$T"/w?.err)"

# --- kill -9 of writers at random points, repeated
C=$T/crash
partial=0
for round in $(seq 1 12); do
    "$WRITER" "$C" "r$round" 100000 2>/dev/null &
    w=$!
    "$WRITER" "$C" shared 100000 2>/dev/null &   # a second writer, same keys every round
    w2=$!
    sleep "0.$(( RANDOM % 4 ))$(( RANDOM % 10 ))"
    kill -9 "$w" "$w2"
    wait "$w" "$w2" 2>/dev/null
    # Before any cleanup: every visible entry has all its objects, whole.
    bad=$(sql "$C" "SELECT count(*) FROM entries e WHERE
                    e.bitstream NOT IN (SELECT digest FROM objects) OR
                    e.log NOT IN (SELECT digest FROM objects)")
    partial=$((partial + bad))
done
check_eq "after 12 rounds of kill -9: no entry names a missing object" 0 "$partial"
entries=$(sql "$C" 'SELECT count(*) FROM entries')
echo "# $entries entries written before the kills"
check "... and the writers got somewhere" test "$entries" -gt 0
out=$("$BIN/bitfarm" cache verify --json --cache-dir "$C")
check_eq "... no indexed object is corrupt (0 bad bytes served)" 0 "$(jget "$out" 'len(d["corrupt"])')"
# Temp files of killed writers are younger than an hour: age them.
find "$C/objects" -name '*.tmp-*' -exec touch -d '2 hours ago' {} +
temps=$(find "$C/objects" -name '*.tmp-*' | wc -l)
out=$("$BIN/bitfarm" cache gc --json --cache-dir "$C")
check_eq "gc removes every stale temp file" "$temps" "$(jget "$out" 'd["temp_files"]')"
check_eq "... and leaves no row without its file" 0 "$(jget "$out" 'd["dangling_entries"]')"
files=$(find "$C/objects" -type f | wc -l)
check_eq "... files and index rows now match" "$(sql "$C" 'SELECT count(*) FROM objects')" "$files"
check_eq "... entries are untouched" "$entries" "$(sql "$C" 'SELECT count(*) FROM entries')"

# --- eviction under a small cap while jobs are queued
start_broker b --cache-max-size 1M --heartbeat 200ms || { not_ok "broker starts"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP
start_worker w --heartbeat 200ms
mkdir -p "$T/d" && cd "$T/d"
printf 'module top; endmodule\n' >top.v
noop() { "$BIN/submit" --flow noop --top top --device hx1k --package tq144 top.v "$@"; }
for i in 1 2 3; do head -c 300000 /dev/urandom >"old$i.dat"; noop "old$i.dat" --wait >/dev/null 2>&1; done
kill "$WORKER_PID_w"; wait "$WORKER_PID_w" 2>/dev/null
queued=()
for i in 1 2 3; do head -c 300000 /dev/urandom >"new$i.dat"; queued+=("$(noop "new$i.dat")"); done
check_eq "with no worker, three jobs wait" "queued queued queued" \
    "$(for j in "${queued[@]}"; do printf '%s ' "$(job_field "$j" '"state"')"; done | sed 's/ $//')"
under_cap() { [ "$(sql "$T/b/cache" 'SELECT bytes FROM usage')" -le 1048576 ]; }
wait_until 10 under_cap
bytes=$(sql "$T/b/cache" 'SELECT bytes FROM usage')
echo "# cache holds $bytes bytes under a 1 MiB cap"
check "the janitor evicted below the cap in the background" under_cap
check "... the finished jobs' inputs went" test "$(sql "$T/b/cache" "SELECT count(*) FROM objects WHERE digest = '$(sha256sum old1.dat | cut -c1-64)'")" = 0
kept=0
for i in 1 2 3; do
    kept=$((kept + $(sql "$T/b/cache" "SELECT count(*) FROM objects WHERE digest = '$(sha256sum "new$i.dat" | cut -c1-64)'")))
done
check_eq "... the queued jobs' inputs stayed" 3 "$kept"
check "... and the evictions are counted" test "$("$BIN/bitfarm" cache stats --json --cache-dir "$T/b/cache" | python3 -c 'import json,sys; print(json.load(sys.stdin)["evictions"])')" -gt 0
start_worker w2 --heartbeat 200ms
for j in "${queued[@]}"; do "$BIN/bitfarm" wait "$j" >/dev/null 2>&1; done
check_eq "the queued jobs then succeed" "succeeded succeeded succeeded" \
    "$(for j in "${queued[@]}"; do printf '%s ' "$(job_field "$j" '"state"')"; done | sed 's/ $//')"
"$BIN/bitfarm" fetch "${queued[0]}" -o "$T/n1.out"
check "... with the right inputs" grep -q "$(sha256sum new1.dat | cut -c1-64) new1.dat" "$T/n1.out"

done_testing

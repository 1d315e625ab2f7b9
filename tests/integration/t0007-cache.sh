#!/usr/bin/env bash
# The bitstream cache as a product, with real builds and real files:
# corruption (a flipped bit, a truncated file) is detected, quarantined,
# counted and rebuilt with no bad byte served; logs replay on a hit; the
# worker's L1 cache answers when the broker's copy is gone and spares
# downloads of inputs it has seen; `explain --diff` names what changed;
# stats, ls, show, verify, gc and invalidate; and a CI-like sequence of
# pushes rebuilds only what changed.
. "$(dirname "$0")/lib.sh"

start_broker b || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1
export BITFARM_BROKER=$BROKER_EP
CACHE=$T/b/cache
cp -r "$FIXTURES/blinky" "$T/blinky"
cd "$T/blinky"
blinky() { "$BIN/submit" --top top --device hx1k --package tq144 --pcf icestick.pcf --freq 12 "$@" top.v; }
obj() { echo "$1/objects/${2:0:2}/$2"; }
stat_of() { jget "$("$BIN/bitfarm" cache stats --json --cache-dir "$1")" "d$2"; }
started() { grep -c "job $1 started" "$T/w1.log"; }

# --- a first build, and what a hit replays
id=$(blinky --wait -o "$T/good.bin" 2>/dev/null)
check_eq "first build succeeds" succeeded "$(job_field "$id" '"state"')"
key=$(job_field "$id" '"cache_key"')
bit=$(job_field "$id" '"bitstream_sha256"')
check "the worker asked for the inputs it lacked" grep -q "job $id: 0 of 2 input(s) in the local cache; asking for 2" "$T/w1.log"
hit=$(blinky --wait 2>/dev/null)
check_eq "a re-submit is a cache hit" true "$(job_field "$hit" '"cache_hit"')"
"$BIN/bitfarm" logs "$hit" >"$T/hit.log"
check "the hit replays the original build's log (nextpnr's output)" grep -q "Info: Program finished normally." "$T/hit.log"
check "... and yosys' (the log is the whole build's)" grep -q "Executing SYNTH_ICE40 pass" "$T/hit.log"

# --- a flipped bit in the broker's copy: detected, rebuilt, no bad byte
printf '\xff' | dd of="$(obj "$CACHE" "$bit")" bs=1 seek=1000 conv=notrunc 2>/dev/null
id=$(blinky --wait -o "$T/flip.bin" 2>/dev/null)
check_eq "after a bit flip: the job succeeds" succeeded "$(job_field "$id" '"state"')"
check_eq "... and is not served from the corrupt copy" false "$(job_field "$id" '"cache_hit"')"
check "... and the bitstream is byte-identical to the good one" cmp "$T/good.bin" "$T/flip.bin"
counted() { [ "$(stat_of "$1" '["corruptions"]')" = "$2" ]; }
wait_until 5 counted "$CACHE" 1   # counters are written in batches, once a second
check_eq "... the corruption is counted" 1 "$(stat_of "$CACHE" '["corruptions"]')"
check_eq "... and the bad file sits in quarantine/" 1 "$(ls "$CACHE/quarantine" | wc -l)"
check "... the next submit is a hit again" test "$(job_field "$(blinky 2>/dev/null)" '"cache_hit"')" = true

# --- truncated in both tiers: the worker really rebuilds
truncate -s 20000 "$(obj "$CACHE" "$bit")"
truncate -s 100 "$(obj "$T/w1/cache" "$bit")"
before=$(grep -c "started in" "$T/w1.log")
id=$(blinky --wait -o "$T/trunc.bin" 2>/dev/null)
check_eq "after truncation in L1 and L2: the job succeeds" succeeded "$(job_field "$id" '"state"')"
check "... by running the tools again" test "$(grep -c "started in" "$T/w1.log")" -eq $((before + 1))
check "... with the right bytes" cmp "$T/good.bin" "$T/trunc.bin"
wait_until 5 counted "$T/w1/cache" 1
check_eq "... the worker counted its corruption too" 1 "$(stat_of "$T/w1/cache" '["corruptions"]')"

# --- random corruption, random tier, repeated: count bad bytes served
badbytes=0
for round in 1 2 3 4 5 6; do
    for tier in "$CACHE" "$T/w1/cache"; do
        [ "$tier" != "$CACHE" ] && [ $((RANDOM % 2)) -eq 0 ] && continue
        f=$(obj "$tier" "$bit")
        [ -f "$f" ] || continue
        if [ $((RANDOM % 2)) -eq 0 ]; then
            python3 -c 'import sys,random; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); i=random.randrange(len(b)); b[i]^=1<<random.randrange(8); open(p,"wb").write(b)' "$f"
        else
            truncate -s $((RANDOM % 32220)) "$f"
        fi
    done
    id=$(blinky --wait -o "$T/r.bin" 2>/dev/null)
    [ "$(job_field "$id" '"state"')" = succeeded ] || badbytes=$((badbytes + 1000000))
    badbytes=$((badbytes + $(cmp -l "$T/good.bin" "$T/r.bin" 2>/dev/null | wc -l)))
    [ "$(stat -c %s "$T/r.bin")" = 32220 ] || badbytes=$((badbytes + 1000000))
done
check_eq "6 rounds of random corruption in random tiers: 0 bad bytes served, every job succeeded" 0 "$badbytes"

# --- the broker's copy deleted: the worker's L1 answers, no tool runs
"$BIN/bitfarm" cache evict --older-than 0s --cache-dir "$CACHE" >/dev/null
check_eq "evict --older-than 0s empties the broker's cache" 0 "$(stat_of "$CACHE" '["entries"]')"
before=$(grep -c "started in" "$T/w1.log")
id=$(blinky --wait -o "$T/l1.bin" 2>/dev/null)
check_eq "with the broker's copy gone: the job succeeds" succeeded "$(job_field "$id" '"state"')"
check "... as a hit of the worker's local cache" grep -q "job $id succeeded (local cache hit" "$T/w1.log"
check "... with no tool run" test "$(grep -c "started in" "$T/w1.log")" -eq "$before"
check "... and the right bytes" cmp "$T/good.bin" "$T/l1.bin"
check_eq "... which are in the broker's cache again" true "$(job_field "$(blinky 2>/dev/null)" '"cache_hit"')"

# --- a new build from inputs the worker has seen: nothing downloaded
id=$(blinky --seed 7 --wait 2>/dev/null)
check_eq "a build with another seed succeeds" succeeded "$(job_field "$id" '"state"')"
check "... its inputs all came from the worker's L1" grep -q "job $id: all 2 input(s) in the local cache; nothing to download" "$T/w1.log"
check "... and the broker sent none" bash -c "! grep -q 'job $id: sending' '$T/b.log'"

# --- explain: the key a submit would use, and why a build would rebuild
out=$("$BIN/bitfarm" explain --json --top top --device hx1k --package tq144 --pcf icestick.pcf --freq 12 top.v)
check_eq "explain computes the key the broker used" "$key" "$(jget "$out" 'd["cache_key"]')"
"$BIN/bitfarm" explain --top top --device hx1k --package tq144 --pcf icestick.pcf --freq 12 --diff "$key" top.v >"$T/same.txt"
check_eq "explain --diff of an unchanged design exits 0" 0 $?
check "... and says so" grep -q "same inputs as cache entry $key" "$T/same.txt"
sed -i 's/count + 1/count + 2/' top.v
"$BIN/bitfarm" explain --top top --device hx1k --package tq144 --pcf icestick.pcf --freq 12 -D FAST --seed 3 --diff "${key:0:12}" top.v >"$T/diff.txt" 2>&1
check_eq "explain --diff of an edited design exits 1" 1 $?
check "... naming the changed file" grep -q "file top.v: content changed" "$T/diff.txt"
check "... the added define" grep -q "define FAST: added" "$T/diff.txt"
check "... and the seed" grep -q "seed: (none) -> 3" "$T/diff.txt"
check_eq "... one line per difference, and nothing else (no manifest first)" \
    "file top.v|define FAST|seed" "$(cut -d: -f1 "$T/diff.txt" | sed 's/ content changed.*//' | paste -sd'|')"
sed -i 's/count + 2/count + 1/' top.v

# --- ls, show, verify, gc
"$BIN/bitfarm" cache ls --cache-dir "$CACHE" >"$T/ls.txt"
check "cache ls lists the entry" grep -q "^${key:0:16} .*succeeded .*top .*hx1k" "$T/ls.txt"
"$BIN/bitfarm" cache show "${key:0:10}" --cache-dir "$CACHE" >"$T/show.txt"
check "cache show: the toolchain, hits and the report summary" bash -c "grep -q '^toolchain  [0-9a-f]\{64\}' '$T/show.txt' && grep -q '^hits ' '$T/show.txt' && grep -q '^logic_cells .* / 1280' '$T/show.txt' && grep -q '^clock .*MHz achieved' '$T/show.txt'"
"$BIN/bitfarm" cache verify --cache-dir "$CACHE" >"$T/verify.txt" 2>"$T/verify.err"
check_eq "cache verify of a healthy cache exits 0" 0 $?
printf 'X' | dd of="$(obj "$CACHE" "$bit")" bs=1 seek=5 conv=notrunc 2>/dev/null
"$BIN/bitfarm" cache verify --cache-dir "$CACHE" >"$T/verify.txt" 2>"$T/verify.err"
check_eq "cache verify finds a flipped bit (exit 1)" 1 $?
check "... and names the object" grep -q "$bit" "$T/verify.txt"
touch "$CACHE/objects/00/$(printf '0%.0s' $(seq 64))" 2>/dev/null || { mkdir -p "$CACHE/objects/00"; touch "$CACHE/objects/00/$(printf '0%.0s' $(seq 64))"; }
out=$("$BIN/bitfarm" cache gc --json --cache-dir "$CACHE")
check_eq "cache gc removes an orphan file" 1 "$(jget "$out" 'd["orphan_files"]')"

# --- stats
id=$(blinky --wait 2>/dev/null)   # rebuilt after verify's quarantine
sleep 1.2                          # the broker's batched counters
s=$("$BIN/bitfarm" cache stats --json --cache-dir "$CACHE")
check "stats: hits, misses and a hit rate" python3 -c "
import json,sys; d=json.loads(sys.argv[1])
assert d['hits']>=3 and d['misses']>=4 and 0<d['hit_rate']<1, d
assert d['corruptions']==3+6 and d['entries']>=2, d
assert len(d['toolchains'])==1 and d['toolchains'][0]['hits']==d['hits'], d" "$s"
"$BIN/bitfarm" cache stats --cache-dir "$CACHE" >"$T/stats.txt"
check "stats for people" grep -q "^hit rate  *[0-9.]* %" "$T/stats.txt"

# --- a CI-like sequence of pushes: only the changed design rebuilds
cd "$FIXTURES/soc"
soc() { "$BIN/submit" --top top --device up5k --package sg48 --pcf icebreaker.pcf -I rtl/inc "$@" rtl/top.v rtl/rom.v; }
cd "$T/blinky"
push() {   # the CI pipeline: three designs per push
    local ids=()
    ids+=("$(blinky --wait 2>/dev/null)")
    ids+=("$(blinky -D VARIANT_B --wait 2>/dev/null)")
    ids+=("$(cd "$FIXTURES/soc" && soc --wait 2>/dev/null)")
    for i in "${ids[@]}"; do printf '%s ' "$(job_field "$i" '"cache_hit"')"; done
}
push >/dev/null
check_eq "push 2, nothing changed: three hits" "true true true " "$(push)"
sed -i 's/count + 1/count + 3/' top.v
check_eq "push 3, top.v changed: the two blinky builds rebuild, soc hits" "false false true " "$(push)"

# --- a new cache salt disowns every entry, in L2 and in the workers' L1
sed -i 's/count + 3/count + 1/' top.v   # back to the design of good.bin
kill "$WORKER_PID_w1" "$BROKER_PID_b"; wait "$WORKER_PID_w1" "$BROKER_PID_b" 2>/dev/null
start_broker b --cache-salt v2
export BITFARM_BROKER=$BROKER_EP
start_worker w1s --cache-dir "$T/w1/cache"
id=$(blinky --wait -o "$T/salt.bin" 2>/dev/null)
check_eq "with a new salt: not a cache hit" false "$(job_field "$id" '"cache_hit"')"
check "... nor a hit of the worker's L1: the tools ran" grep -q "job $id started in" "$T/w1s.log"
check "... with the same bytes" cmp "$T/good.bin" "$T/salt.bin"
out=$("$BIN/bitfarm" explain --json --top top --device hx1k --package tq144 --pcf icestick.pcf --freq 12 top.v)
check_eq "explain uses the broker's salt" "$(job_field "$id" '"cache_key"')" "$(jget "$out" 'd["cache_key"]')"
check_eq "... and the next submit is a hit" true "$(job_field "$(blinky 2>/dev/null)" '"cache_hit"')"

# --- invalidate: a broken toolchain's entries are disowned
tc=$(jget "$("$BIN/bitfarm" workers --json)" 'd["workers"][0]["toolchain"]')
out=$("$BIN/bitfarm" cache invalidate --toolchain "${tc:0:12}" --json --cache-dir "$CACHE")
check "invalidate drops the toolchain's entries" test "$(jget "$out" 'd["entries"]')" -ge 3
check_eq "... the next submit rebuilds" false "$(job_field "$(blinky --wait 2>/dev/null)" '"cache_hit"')"
check_eq "... and its result is not cached" false "$(job_field "$(blinky --wait 2>/dev/null)" '"cache_hit"')"
"$BIN/bitfarm" cache invalidate --toolchain zz --cache-dir "$CACHE" 2>"$T/inv.err"
check_eq "a malformed toolchain id is a usage error" 2 $?
check "... naming the value" grep -q "bad toolchain id 'zz'" "$T/inv.err"

done_testing

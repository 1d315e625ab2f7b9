#!/usr/bin/env bash
# Farm-wide cache statistics over the wire, on a CURVE farm with two client
# keys (alice, bob) and an admin key (root): `cache stats` from the broker
# says what the cache directory says (--cache-dir, local mode); per tag and
# in a --since window it counts builds, hits and the build time the hits
# saved (each entry records its build's duration); every client may read
# the numbers, none of another key's digests; `cache ls/show` follow the
# tenant rule (a client sees the entries of its own jobs); gc, verify,
# evict and invalidate are refused to a client key (one line, exit 2) and
# work for the admin.
. "$(dirname "$0")/lib.sh"
REQ=$(dirname "$BIN")/tests/bf_request
K=$T/keys A=$T/allow
kg() { "$BIN/bitfarm" keygen --dir "$K" --role "$@" >/dev/null; }
kg broker broker && kg worker w1 && kg client alice && kg client bob && kg client root
mkdir -p "$A/workers" "$A/clients" "$A/admins"
cp "$K/w1.key" "$A/workers/" && cp "$K/alice.key" "$K/bob.key" "$A/clients/" \
    && cp "$K/root.key" "$A/admins/"
pub() { sed -n 's/^ *public-key = "\(.*\)"$/\1/p' "$K/$1.key"; }

start_broker broker --cert "$K/broker.key_secret" --keys "$A" \
    || { not_ok "CURVE broker starts"; done_testing; exit 1; }
as() { local who=$1; shift; "$BIN/bitfarm" "$@" --broker "$BROKER_EP" --cert "$K/$who.key_secret" \
           --broker-key "$K/broker.key"; }
req() { local who=$1 cmd=$2 body=$3; shift 3
        "$REQ" "$BROKER_EP" "$cmd" "$body" "$K/$who.key_secret" "$K/broker.key" "$@"; }
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w1" --name w1 --tag ci \
    --cert "$K/w1.key_secret" --broker-key "$K/broker.key" >"$T/w1.log" 2>&1 &
PIDS+=("$!")
check "a worker tagged ci registers" wait_until 30 bash -c \
    "'$BIN/bitfarm' workers --broker '$BROKER_EP' --cert '$K/root.key_secret' --broker-key '$K/broker.key' 2>/dev/null | grep -q '^w1 '"

# --- builds and hits ------------------------------------------------------
mkdir -p "$T/d" && cd "$T/d"
printf 'module top; endmodule\n' >top.v
noop() { local who=$1; shift
         as "$who" submit --wait --json --flow noop --delay 1500ms --top top --device hx1k \
             --package tq144 top.v "$@" 2>"$T/err"; }
job() { jget "$1" "d[\"$2\"]"; }
J1=$(noop alice --seed 1 --tag ci); check_eq "alice builds seed 1 tagged ci" 0 $?
check_eq "  ... a build, not a hit" false "$(job "$J1" cache_hit)"
J2=$(noop alice --seed 1 --tag ci); check_eq "alice again: a hit" true "$(job "$J2" cache_hit)"
J3=$(noop bob --seed 1 --tag ci); check_eq "bob, the same design: a hit" true "$(job "$J3" cache_hit)"
J4=$(noop alice --seed 2); check_eq "alice builds seed 2, untagged" false "$(job "$J4" cache_hit)"
J5=$(noop alice --seed 2); check_eq "alice again: a hit" true "$(job "$J5" cache_hit)"
K1=$(job "$J1" cache_key) K2=$(job "$J4" cache_key)
# a real build too (yosys, nextpnr), and its hit
cd "$FIXTURES/blinky"
real() { as alice submit --wait --json --top top --device hx1k --package tq144 --pcf icestick.pcf \
             top.v 2>"$T/err"; }
J6=$(real); check_eq "alice builds blinky with the real tools" false "$(job "$J6" cache_hit)"
J7=$(real); check_eq "  ... and hits it" true "$(job "$J7" cache_hit)"
K3=$(job "$J6" cache_key)
cd "$T/d"

# --- the entries record their build time -------------------------------------
e1=$(as alice cache show "${K1:0:12}" --json); check_eq "alice: cache show over the wire" 0 $?
B1=$(jget "$e1" 'd["build_ms"]')
check "  ... the noop build took its --delay at least (build_ms $B1)" test "$B1" -ge 1500
check "  ... and at most 60 s" test "$B1" -lt 60000
B2=$(jget "$(as alice cache show "$K2" --json)" 'd["build_ms"]')
B3=$(jget "$(as alice cache show "$K3" --json)" 'd["build_ms"]')
check "the real build has a build time too ($B3 ms)" test "$B3" -gt 0
as alice cache show "${K3:0:12}" >"$T/show.txt"
check "cache show prints the build time and the report summary" bash -c \
    "grep -q '^built .* (in ' '$T/show.txt' && grep -q '^logic_cells .* / 1280' '$T/show.txt'"

# --- over the wire = what the cache directory says ---------------------------
W=$(as alice cache stats --json); check_eq "alice: cache stats over the wire exits 0" 0 $?
L=$("$BIN/bitfarm" cache stats --json --cache-dir "$T/broker/cache")
check_eq "local cache stats (--cache-dir) exits 0" 0 $?
same='json.dumps({k: d[k] for k in ("entries","objects","bytes","hits","misses","evictions","corruptions","saved_ms","toolchains")}, sort_keys=True)'
check_eq "over the wire: entries, objects, bytes, hits, misses, evictions, corruptions, saved, per toolchain = the directory's" \
    "$(jget "$L" "$same")" "$(jget "$W" "$same")"
check_eq "  ... 3 entries" 3 "$(jget "$W" 'd["entries"]')"
check_eq "  ... 4 hits, 3 misses" "4 3" "$(jget "$W" 'd["hits"]') $(jget "$W" 'd["misses"]')"
check_eq "  ... hit rate 4/7" "0.571" "$(jget "$W" '"%.3f" % d["hit_rate"]')"
check_eq "  ... saved: each hit's entry's build time" "$((2 * B1 + B2 + B3))" "$(jget "$W" 'd["saved_ms"]')"
check_eq "  ... one toolchain, holding it all" "1 3 4 $((2 * B1 + B2 + B3))" \
    "$(jget "$W" '"%d %d %d %d" % (len(d["toolchains"]), d["toolchains"][0]["entries"], d["toolchains"][0]["hits"], d["toolchains"][0]["saved_ms"])')"
check "  ... and no directory of the broker's host" test "$(jget "$W" 'd.get("dir")')" = null
as alice cache stats >"$T/stats.txt"
check "the table shows the minutes saved" grep -q "^build time saved .* ($(python3 -c "print('%.1f' % ((2 * $B1 + $B2 + $B3) / 60000))") min)" "$T/stats.txt"
check "  ... and the per tag table" grep -q "^ci  .* 1 .* 2 .*66.7 %" "$T/stats.txt"

# --- per tag, in a window -----------------------------------------------------
win='"%d %d %d" % (d["window"]["builds"], d["window"]["hits"], d["window"]["saved_ms"])'
check_eq "window (all history): 3 builds, 4 hits, the same time saved" "3 4 $((2 * B1 + B2 + B3))" \
    "$(jget "$W" "$win")"
tag='" ".join("%s:%d:%d:%d" % (t["tag"], t["builds"], t["hits"], t["saved_ms"]) for t in d["window"]["tags"])'
check_eq "per tag: ci had 1 build and 2 hits, which saved twice its build time" \
    "ci:1:2:$((2 * B1))" "$(jget "$W" "$tag")"
W7=$(as bob cache stats --since 7d --json); check_eq "bob: cache stats --since 7d" 0 $?
check_eq "  ... the same numbers for bob (farm-wide)" "$(jget "$W" "$win") $(jget "$W" "$tag")" \
    "$(jget "$W7" "$win") $(jget "$W7" "$tag")"
check "  ... since about a week ago" python3 -c "import sys,time; s=$(jget "$W7" 'd["window"]["since"]'); sys.exit(abs(time.time()*1000 - 7*86400000 - s) > 60000)"
sleep 2
W0=$(as alice cache stats --since 1s --json)
check_eq "--since 1s, after two quiet seconds: nothing in the window" "0 0 0 " \
    "$(jget "$W0" "$win") $(jget "$W0" "$tag")"
check_eq "  ... while the cache's totals stay" "$(jget "$W" 'd["saved_ms"]')" "$(jget "$W0" 'd["saved_ms"]')"
# Per repository: by the jobs' provenance (schema/jobs/009_provenance.sql);
# none of these jobs came from git, so all count under "".
check_eq "per repository (alice's view): her jobs, none from git" ":3:3:$((B1 + B2 + B3))" \
    "$(jget "$W" '" ".join("%s:%d:%d:%d" % (r["repository"], r["builds"], r["hits"], r["saved_ms"]) for r in d["window"]["repositories"])')"
"$BIN/bitfarm" cache stats --since 7d --cache-dir "$T/broker/cache" >/dev/null 2>"$T/err"
check_eq "--since with --cache-dir: exit 2" 2 $?
check_eq "  ... saying why" "bitfarm: --since needs a broker: a cache directory keeps no job history (drop --cache-dir)" \
    "$(cat "$T/err")"

# --- aggregate numbers only: no digests, no manifests -------------------------
S=$(req bob CACHESTATS '{}')
check_eq "bob's CACHESTATS answers" 0 $?
lacks() { ! grep -q -- "$1" <<<"$2"; }
for d in "$K2" "$K3" "$(job "$J4" bitstream_sha256)" "$(job "$J6" bitstream_sha256)"; do
    check "  ... and names no key or digest of alice's (${d:0:12})" lacks "${d:0:12}" "$S"
done
check "  ... nor any manifest" lacks manifest "$S"

# --- bad requests get one line, and the broker stays up
badreq() {   # WHO COMMAND BODY EXPECTED
    req "$1" "$2" "$3" >"$T/out"
    check_eq "$2 $3: refused (exit 1 of bf_request)" 1 $?
    check_eq "  ... $4" "ERROR $4" "$(cat "$T/out")"
}
badreq bob CACHESTATS '{"window_ms":-1}' "field 'window_ms' must be an integer from 0 to 4611686018427387903"
badreq bob CACHELS '{"limit":0}' "field 'limit' must be an integer from 1 to 10000"
badreq bob CACHESHOW '{}' "missing field 'key'"
badreq root CACHEEVICT '{}' "CACHEEVICT needs 'older_than_ms' or 'max_size'"
req root CACHEINVALIDATE '{"toolchain":"zz"}' >"$T/out"
check_eq "CACHEINVALIDATE of a malformed toolchain: refused" 1 $?
check "  ... naming it" grep -q "^ERROR bad toolchain id 'zz'" "$T/out"

# --- cache ls / show: the tenant rule ------------------------------------------
keys='" ".join(sorted(e["key"] for e in d))'
check_eq "alice: cache ls lists her 3 entries" "$(printf '%s\n' "$K1" "$K2" "$K3" | sort | tr '\n' ' ' | sed 's/ $//')" \
    "$(jget "$(as alice cache ls --json)" "$keys")"
check_eq "bob: cache ls lists only the entry his job hit" "$K1" "$(jget "$(as bob cache ls --json)" "$keys")"
check_eq "root (admin): cache ls lists all 3" 3 "$(jget "$(as root cache ls --json)" 'len(d)')"
check_eq "cache ls -n 1: the most recently used" 1 "$(jget "$(as alice cache ls -n 1 --json)" 'len(d)')"
as alice cache ls >"$T/ls.txt"
check "cache ls prints the table" grep -q "^${K3:0:16}  succeeded  top " "$T/ls.txt"
for k in "${K2:0:8}" "$K3"; do
    as bob cache show "$k" >"$T/out" 2>"$T/err"
    check_eq "bob: cache show of alice's entry ${k:0:12}: exit 2" 2 $?
    check_eq "  ... as if there were none" "bitfarm: cache key '$k' is not in the cache" "$(cat "$T/err")"
    check "  ... and prints nothing of it" test ! -s "$T/out"
done
check_eq "bob: cache show of the entry his job hit" "$K1" "$(jget "$(as bob cache show "${K1:0:10}" --json)" 'd["key"]')"
check_eq "root: cache show of alice's entry" "$K2" "$(jget "$(as root cache show "$K2" --json)" 'd["key"]')"

# --- maintenance: admins only --------------------------------------------------
BOB=$(pub bob)
TC=$(jget "$W" 'd["toolchains"][0]["toolchain"]')
refused() {   # WHAT ARGS...: bob may not; one line, exit 2
    local what=$1; shift
    as bob cache "$@" >"$T/out" 2>"$T/err"
    check_eq "bob: cache $1 is refused: exit 2" 2 $?
    check_eq "  ... in one line" "bitfarm: key 'bob' (${BOB:0:12}...) may not $what: only keys in the broker's KEYS/admins may" \
        "$(cat "$T/err")"
}
refused "verify the cache" verify
refused "garbage-collect the cache" gc
refused "evict cache entries" evict --older-than 0s
refused "disown a toolchain's cache entries" invalidate --toolchain "${TC:0:12}"
check_eq "  ... and the cache is as it was" "$(jget "$W" "$same")" \
    "$(jget "$(as alice cache stats --json)" "$same")"
V=$(as root cache verify --json); check_eq "root: cache verify exits 0" 0 $?
check_eq "  ... over every object" "$(jget "$W" 'd["objects"]') 0" "$(jget "$V" 'd["objects"]') $(jget "$V" 'len(d["corrupt"])')"
G=$(as root cache gc --json); check_eq "root: cache gc exits 0" 0 $?
check_eq "  ... nothing to remove" "0 0" "$(jget "$G" 'd["orphan_files"]') $(jget "$G" 'd["dangling_entries"]')"
E=$(as root cache evict --older-than 1d --json); check_eq "root: cache evict --older-than 1d" 0 $?
check_eq "  ... evicts nothing used today" 0 "$(jget "$E" 'd["entries"]')"
# a flipped bit in the real build's bitstream: verify says so, exit 1
BS=$(job "$J6" bitstream_sha256)
f=$T/broker/cache/objects/${BS:0:2}/$BS
printf '\x55' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
as root cache verify >"$T/verify.txt"
check_eq "root: cache verify of a flipped bit exits 1" 1 $?
check "  ... and names the object" grep -q "^  $BS" "$T/verify.txt"
I=$(as root cache invalidate --toolchain "${TC:0:12}" --json)
check_eq "root: cache invalidate exits 0" 0 $?
check_eq "  ... drops the entries left" "$TC 2" "$(jget "$I" 'd["toolchain"]') $(jget "$I" 'd["entries"]')"
check_eq "  ... which cache ls shows" 0 "$(jget "$(as root cache ls --json)" 'len(d)')"
check_eq "  ... and the counters say: no entry, a corruption, a disowned toolchain" "0 1 1" \
    "$(jget "$(as bob cache stats --json)" '"%d %d %d" % (d["entries"], d["corruptions"] > 0, [t for t in d["toolchains"] if t["toolchain"] == "'"$TC"'"][0]["disowned"])')"
"$BIN/bitfarm" cache gc --broker tcp://127.0.0.1:9 --request-timeout 1s --cert "$K/root.key_secret" \
    --broker-key "$K/broker.key" >/dev/null 2>"$T/err"
check_eq "no broker there: exit 3" 3 $?
check "the broker is still up" kill -0 "$BROKER_PID_broker"
done_testing

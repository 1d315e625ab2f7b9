#!/usr/bin/env bash
# Resource limits against hostile peers (issue 15): a whole message over
# its limit is dropped without being buffered whole, and the broker's
# memory stays bounded; declared sizes are checked against the store;
# uploads are taken only for a pending submit, within a per-client quota,
# and an upload no job took is collected.  Honest users are unaffected.
. "$(dirname "$0")/lib.sh"
TOOLS=$(dirname "$BIN")/tests
REQ=$TOOLS/bf_request
start_broker broker --upload-grace 2s || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1
export BITFARM_BROKER=$BROKER_EP
port=${BROKER_EP##*:}
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$BROKER_PID_broker/status"; }
base=$(hwm)

# --- 1. oversized messages ---------------------------------------------------
# The bound: the guard closes a connection with more than 96 MiB + 4 MiB in
# flight, or when the heap grows by more than 2 x 100 MiB (docs/protocol.md
# 2.1); 400 MB of high-water mark leaves room for the base and for what
# arrives between two checks.
BOUND_KB=$((400 * 1024))
"$TOOLS/bf_bigmsg" 127.0.0.1 "$port" 12 $((64 << 20)) >"$T/big1.out" 2>&1
check_eq "twelve 64 MiB frames: the broker closes the connection before the message ends" 0 $?
"$TOOLS/bf_bigmsg" 127.0.0.1 "$port" 4096 $((96 << 20)) >"$T/big2.out" 2>&1
check_eq "4096 frames of 96 MiB: closed before the message ends" 0 $?
timeout 120 "$TOOLS/bf_bigmsg" 127.0.0.1 "$port" 0 0 >"$T/big3.out" 2>&1
check_eq "endless empty frames (64 bytes of libzmq memory each): closed" 0 $?
peak=$(hwm)
if [ -n "${BITFARM_SANITIZED:-}" ]; then
    # ASan's allocator keeps freed memory in quarantine and bypasses the
    # heap counters the guard reads: the bound is checked in the plain build.
    n=$((n + 1)); echo "ok $n # SKIP broker VmHWM bound: not meaningful under ASan ($peak kB)"
elif [ "$peak" -lt "$BOUND_KB" ]; then ok "broker VmHWM stays under 400 MB ($peak kB, from $base kB)"
else not_ok "broker VmHWM stays under 400 MB" "VmHWM $peak kB"; fi
check "  ... and the broker logged each closed connection" \
    test "$(grep -c 'connection closed' "$T/broker.log")" -ge 3
"$TOOLS/bf_bigmsg" 127.0.0.1 "$port" 4 $((1 << 20)) 40 >"$T/honest.out" 2>&1
check_eq "afterwards, 40 complete 4 MiB messages (160 MiB) on one connection are not cut" 1 $?
"$TOOLS/bf_bigmsg" 127.0.0.1 "$port" 5000 0 >"$T/big4.out" 2>&1
check_eq "a complete message of 5000 blob frames is read through (not closed)" 1 $?
check "  ... and dropped frame by frame, over the frame limit" \
    grep -q "oversized message dropped (5005 frames, .*message of more than 4101 frames" \
    "$T/broker.log"
check "the broker process is still alive" kill -0 "$BROKER_PID_broker"
"$REQ" "$BROKER_EP" PING '{}' >/dev/null
check_eq "  ... and answers PING" 0 $?

# --- 2. declared sizes ---------------------------------------------------------
mkdir -p "$T/d" && cd "$T/d"
cp "$FIXTURES/blinky/top.v" top.v
head -c $(((16 << 20) - 1)) /dev/urandom >big.hex   # the largest file allowed
"$BIN/submit" --wait --flow noop --top top --device hx1k --package tq144 top.v big.hex \
    >/dev/null 2>"$T/err"
check_eq "an honest submit with a (16 MiB - 1) data file succeeds" 0 $?
sha() { sha256sum "$1" | cut -c1-64; }
size() { stat -c %s "$1"; }
manifest() {   # DATA-JSON: a noop manifest with top.v and the given data entries
    printf '{"version":1,"flow":"noop","top":"top","device":"hx1k","package":"tq144",'
    printf '"sources":[{"path":"top.v","sha256":"%s","size":%s}],"data":%s}' \
        "$(sha top.v)" "$(size top.v)" "$1"
}
lie=""
for i in 1 2 3 4 5 6 7; do lie="$lie${lie:+,}{\"path\":\"d$i.hex\",\"sha256\":\"$(sha big.hex)\",\"size\":1}"; done
out=$("$REQ" "$BROKER_EP" SUBMIT "{\"manifest\":$(manifest "[$lie]")}")
check_eq "seven entries declaring size 1 for a 16 MiB object: refused at submit" 1 $?
check_eq "  ... with one line naming the file and both sizes" \
    "ERROR file 'd1.hex' declares 1 bytes, but its content $(sha big.hex | cut -c1-12) holds $(((16 << 20) - 1)) bytes" \
    "$out"
check "  ... and no job was created" test "$("$BIN/bitfarm" jobs --json | jget "$(cat)" "len(d['jobs'])")" = 1

# --- 3. uploads only for a pending submit, within a quota ---------------------
printf 'never asked for\n' >stray.bin
out=$("$REQ" "$BROKER_EP" UPLOAD "{\"digests\":[\"$(sha stray.bin)\"]}" --blobs stray.bin)
check_eq "an UPLOAD nobody asked for is refused" 1 $?
check_eq "  ... with one line" \
    "ERROR upload of $(sha stray.bin) was not asked for: the broker stores only inputs that a SUBMIT or PROGRAM of this key was told it needs (NEED)" \
    "$out"
s=$(sha stray.bin)
check "  ... and nothing was stored" test ! -e "$T/broker/cache/objects/${s:0:2}/$s"
printf 'ten bytes\n' >ten.bin
m=$(manifest "[{\"path\":\"ten.bin\",\"sha256\":\"$(sha ten.bin)\",\"size\":5}]")
out=$("$REQ" "$BROKER_EP" SUBMIT "{\"manifest\":$m}")
check_eq "a submit declaring a wrong size for a missing file gets NEED" \
    "NEED {\"missing\":[\"$(sha ten.bin)\"]}" "$out"
out=$("$REQ" "$BROKER_EP" UPLOAD "{\"digests\":[\"$(sha ten.bin)\"]}" --blobs ten.bin)
check_eq "  ... and its upload, of another size than declared, is refused" \
    "ERROR upload of $(sha ten.bin) is 10 bytes, but the manifest declared 5" "$out"
# Asked for, uploaded, never submitted: collected once --upload-grace (2s) ends.
printf 'orphan upload\n' >orphan.bin
m=$(manifest "[{\"path\":\"orphan.bin\",\"sha256\":\"$(sha orphan.bin)\",\"size\":$(size orphan.bin)}]")
"$REQ" "$BROKER_EP" SUBMIT "{\"manifest\":$m}" >/dev/null
out=$("$REQ" "$BROKER_EP" UPLOAD "{\"digests\":[\"$(sha orphan.bin)\"]}" --blobs orphan.bin)
check_eq "an upload a NEED asked for is stored" 'OK {"stored":1}' "$out"
o=$(sha orphan.bin)
check "  ... in the broker's cache" test -e "$T/broker/cache/objects/${o:0:2}/$o"
check "  ... and deleted when no job took it within --upload-grace" \
    wait_until 10 test ! -e "$T/broker/cache/objects/${o:0:2}/$o"
check "  ... which the broker logged" grep -q "upload ${o:0:12} was used by no job" "$T/broker.log"
# An honest submit's uploads stay: they are pinned by its job.
printf 'kept\n' >kept.hex
"$BIN/submit" --wait --flow noop --top top --device hx1k --package tq144 top.v kept.hex >/dev/null
check_eq "an honest submit with a new data file succeeds" 0 $?
sleep 3
k=$(sha kept.hex)
check "  ... and its upload outlives the grace period" test -e "$T/broker/cache/objects/${k:0:2}/$k"

# The quota: a broker that takes at most 1 MiB of pending uploads per key.
start_broker small --upload-quota 1M || { not_ok "a second broker starts"; done_testing; exit 1; }
SMALL=$BROKER_EP
head -c $((2 << 20)) /dev/urandom >two.hex
"$BIN/submit" --broker "$SMALL" --flow noop --top top --device hx1k --package tq144 top.v two.hex \
    >/dev/null 2>"$T/err"
rc=$?
check "a submit over the upload quota fails" test "$rc" -ne 0
check "  ... with one line naming the quota" \
    grep -q "upload quota of key '(plain broker)' exceeded: 0 bytes in 0 file(s) pending or not yet used by a job, [0-9]* more asked, limit 1048576 bytes and 4000 files (broker --upload-quota; pending uploads expire after --upload-grace)$" "$T/err"
"$BIN/submit" --broker "$SMALL" --flow noop --top top --device hx1k --package tq144 top.v >/dev/null
check_eq "  ... while a submit within it still works there" 0 $?

# --- 4. honest users afterwards ---------------------------------------------
cd "$FIXTURES/blinky"
"$BIN/submit" --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v >/dev/null 2>&1
check_eq "a real build still succeeds after all of this" 0 $?
check "the broker is still alive" kill -0 "$BROKER_PID_broker"
done_testing

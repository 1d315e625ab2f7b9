#!/usr/bin/env bash
# Several hosts on one machine: network namespaces joined by veth pairs
# (ip netns, iproute2), a broker, two workers and a client each in its
# own, all with CURVE keys, the broker listening on every interface.
#   - builds succeed across the "network";
#   - cutting a worker's link in the middle of a build re-queues the job,
#     and it finishes on the other worker;
#   - an unknown client key and a worker with a client key are refused;
#   - a capture on the broker's links shows no design source text (and,
#     as a control, does show it when the broker runs --insecure);
#   - a malicious worker with a valid worker key, on a worker's host,
#     cannot forge a result for a job it does not hold nor take another
#     worker's name.
# Without root or network namespaces the test says so and is skipped.
. "$(dirname "$0")/lib.sh"
S=$(( $$ % 100000 ))
NB=bf$S-broker NW1=bf$S-w1 NW2=bf$S-w2 NC=bf$S-client
skip() { echo "ok 1 # SKIP $1"; echo "1..1"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (ip netns)"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
if ! ip netns add "$NB" 2>"$T/netns.err"; then
    skip "cannot create network namespaces here: $(head -1 "$T/netns.err")"
fi
netns_cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for ns in "$NB" "$NW1" "$NW2" "$NC"; do ip netns del "$ns" 2>/dev/null; done
    cleanup
}
trap netns_cleanup EXIT
for ns in "$NW1" "$NW2" "$NC"; do ip netns add "$ns"; done
# A star: the broker's namespace holds one end of each link.
i=0
for pair in "$NW1:w1" "$NW2:w2" "$NC:c"; do
    i=$((i + 1)); ns=${pair%%:*} nic=${pair##*:}
    ip -n "$NB" link add "b$nic" type veth peer name "$nic" netns "$ns"
    ip -n "$NB" addr add "10.201.$i.1/24" dev "b$nic"
    ip -n "$ns" addr add "10.201.$i.2/24" dev "$nic"
    ip -n "$NB" link set "b$nic" up
    ip -n "$ns" link set "$nic" up
    ip -n "$ns" link set lo up
done
ip -n "$NB" link set lo up
check "the client's host has a route to the broker's host" bash -c "ip -n '$NC' route get 10.201.3.1 >/dev/null"
check "  ... and none to a worker's host (separate links)" bash -c "! ip -n '$NC' route get 10.201.1.2 >/dev/null 2>&1"

K=$T/keys A=$T/allow
mkdir -p "$A/workers" "$A/clients"
for r in broker:broker worker:w1 worker:w2 worker:mal client:alice client:eve; do
    "$BIN/bitfarm" keygen --dir "$K" --role "${r%%:*}" "${r##*:}" >/dev/null
done
cp "$K/w1.key" "$K/w2.key" "$K/mal.key" "$A/workers/"
cp "$K/alice.key" "$A/clients/"
PORT=5555
ip netns exec "$NB" "$BIN/bitfarm-broker" --listen "tcp://*:$PORT" --state-dir "$T/broker" \
    --cert "$K/broker.key_secret" --keys "$A" --heartbeat 300ms --liveness 3 \
    --retry-backoff 100ms >"$T/broker.log" 2>&1 &
PIDS+=("$!")
check "the broker listens on every interface of its host, with CURVE" \
    wait_until 10 grep -qF "listening on tcp://*:$PORT, CURVE" "$T/broker.log"
worker() {   # NS NAME IP [args]
    local ns=$1 name=$2 ip=$3; shift 3
    ip netns exec "$ns" "$BIN/bitfarm-worker" --broker "tcp://$ip:$PORT" --work-dir "$T/$name" \
        --name "$name" --heartbeat 300ms --liveness 3 "$@" >"$T/$name.log" 2>&1 &
    PIDS+=("$!")
    eval "PID_$name=$!"
}
worker "$NW1" w1 10.201.1.1 --cert "$K/w1.key_secret" --broker-key "$K/broker.key"
worker "$NW2" w2 10.201.2.1 --cert "$K/w2.key_secret" --broker-key "$K/broker.key"
client() {   # KEY bitfarm-args...
    local key=$1; shift
    ip netns exec "$NC" "$BIN/bitfarm" "$@" --broker "tcp://10.201.3.1:$PORT" \
        --cert "$K/$key.key_secret" --broker-key "$K/broker.key"
}
check "both workers register across the links" wait_until 30 bash -c \
    "[ \$(ip netns exec '$NC' '$BIN/bitfarm' workers --json --broker tcp://10.201.3.1:$PORT --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -o '\"name\": \"w[12]\"' | wc -l) -eq 2 ]"

# A build across hosts, with the traffic captured on the broker's links.
marker="bitfarm_secret_design_$RANDOM$RANDOM"
mkdir -p "$T/d"
{ echo "// $marker"; cat "$FIXTURES/blinky/top.v"; } >"$T/d/top.v"
cp "$FIXTURES/blinky/icestick.pcf" "$T/d/"
have_tcpdump=false
if command -v tcpdump >/dev/null; then
    have_tcpdump=true
    ip netns exec "$NB" tcpdump -i any --immediate-mode -U -s 0 -w "$T/curve.pcap" "tcp port $PORT" \
        >"$T/tcpdump.log" 2>&1 &
    TD=$!
    PIDS+=("$TD")
    wait_until 10 grep -q "listening on" "$T/tcpdump.log"
fi
J=$(cd "$T/d" && client alice submit --wait --top top --device hx1k --package tq144 \
    --pcf icestick.pcf top.v -o "$T/a.bin" 2>"$T/submit.err")
check_eq "a build submitted from the client's host succeeds" 0 $?
check "  ... and the bitstream comes back" test -s "$T/a.bin"
if $have_tcpdump; then
    sleep 1; kill "$TD"; wait "$TD" 2>/dev/null
    bytes=$(stat -c %s "$T/curve.pcap")
    check "the capture on the broker's links holds the traffic ($bytes bytes)" test "$bytes" -gt 20000
    check "  ... and no design source text (CURVE)" bash -c "! grep -aq '$marker' '$T/curve.pcap'"
    check "  ... nor the module's text" bash -c "! grep -aq 'module top' '$T/curve.pcap'"
    # Control: the same upload to a plain broker (--insecure) is readable
    # in a capture, so the check above can fail.
    ip netns exec "$NB" "$BIN/bitfarm-broker" --listen "tcp://*:5556" --state-dir "$T/plain" \
        --insecure >"$T/plain.log" 2>&1 &
    PIDS+=("$!")
    wait_until 10 grep -q "listening on" "$T/plain.log"
    ip netns exec "$NB" tcpdump -i any --immediate-mode -U -s 0 -w "$T/plain.pcap" "tcp port 5556" \
        >"$T/tcpdump2.log" 2>&1 &
    TD=$!
    PIDS+=("$TD")
    wait_until 10 grep -q "listening on" "$T/tcpdump2.log"
    (cd "$T/d" && ip netns exec "$NC" "$BIN/bitfarm" submit --broker tcp://10.201.3.1:5556 \
        --top top --device hx1k --package tq144 top.v >"$T/plain.out" 2>&1)
    sleep 1; kill "$TD"; wait "$TD" 2>/dev/null
    check "(control: without CURVE the capture shows the design text)" grep -aq "$marker" "$T/plain.pcap"
else
    not_ok "tcpdump is not installed: cannot check that the traffic is encrypted"
fi

# Refusals across the network.
client eve workers --request-timeout 10s 2>"$T/err"
check_eq "an unknown client key is refused" 3 $?
check "  ... at the handshake" grep -q "refused this key" "$T/err"
ip netns exec "$NW2" "$BIN/bitfarm-worker" --broker "tcp://10.201.2.1:$PORT" --work-dir "$T/wx" \
    --name wx --cert "$K/alice.key_secret" --broker-key "$K/broker.key" >"$T/wx.log" 2>&1
check_eq "a worker with a client key is refused" 1 $?
check "  ... saying why" grep -q "may not register as a worker" "$T/wx.log"

# Cut the link of the worker that runs a build: the job moves to the other.
J=$(cd "$FIXTURES/slow" && client alice submit --top slow --device up5k --package sg48 \
    --param N=64 --seed 7 slow.v)
running_on() { client alice status "$J" --json 2>/dev/null | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(d["worker"] if d["state"]=="running" else "")'; }
first=
for _ in $(seq 300); do first=$(running_on); [ -n "$first" ] && break; sleep 0.1; done
check "the slow build runs on a worker" test -n "$first"
wait_until 10 bash -c "ls -d '$T/$first'/jobs/* >/dev/null 2>&1"
sleep 1
ip -n "$NB" link set "b$first" down
check "  ... whose link is cut mid-build (ip link set b$first down)" \
    bash -c "ip -n '$NB' link show 'b$first' | grep -q 'state DOWN'"
st=$(client alice wait "$J" --json 2>/dev/null)
check_eq "the job still succeeds" succeeded "$(jget "$st" 'd["state"]')"
other=w1; [ "$first" = w1 ] && other=w2
check_eq "  ... on the other worker" "$other" "$(jget "$st" 'd["worker"]')"
check_eq "  ... on its second attempt" 2 "$(jget "$st" 'd["attempt"]')"
check "the broker says it lost the worker" grep -q "worker '$first' lost" "$T/broker.log"
ip -n "$NB" link set "b$first" up
check "the cut worker comes back when the link does" wait_until 30 bash -c \
    "ip netns exec '$NC' '$BIN/bitfarm' workers --broker tcp://10.201.3.1:$PORT --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '^$first '"
# A malicious worker: a valid worker key, on w2's host.
FAKE=$(dirname "$BIN")/tests/bf_fakeworker
Q=$(cd "$FIXTURES/blinky" && client alice submit --top top --device hx1k --package tq144 \
    --pcf icestick.pcf top.v --seed 11 --tag nobody-serves-this)
ip netns exec "$NW2" "$FAKE" "tcp://10.201.2.1:$PORT" mal forge "$Q" 1 --cert "$K/mal.key_secret" \
    --broker-key "$K/broker.key" >"$T/mal.out" 2>&1
check "a malicious worker's forged RESULT for alice's queued job is refused" \
    grep -q "job $Q: RESULT for attempt 1 from worker 'mal' refused: that attempt was never dispatched to it" "$T/broker.log"
check_eq "  ... the job is still queued, with no bitstream" "queued None" \
    "$(client alice status "$Q" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["bitstream_sha256"])')"
ip netns exec "$NW2" "$FAKE" "tcp://10.201.2.1:$PORT" w1 idle 1 --cert "$K/mal.key_secret" \
    --broker-key "$K/broker.key" >"$T/mal2.out" 2>&1
check "  ... nor can it register under w1's name" grep -q "worker name 'w1' belongs to another key" "$T/mal2.out"
client alice cancel "$Q" >/dev/null
done_testing

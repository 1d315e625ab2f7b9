#!/usr/bin/env bash
# Safety across machines: CURVE keys and allow-lists (refused at the
# handshake, wrong roles refused, revocation without a restart), job
# owners, the plain-listen guard, the bubblewrap sandbox (host files stay
# unreadable), resource limits, and hostile manifests sent past the CLI.
. "$(dirname "$0")/lib.sh"
REQ=$(dirname "$BIN")/tests/bf_request
K=$T/keys A=$T/allow
kg() { "$BIN/bitfarm" keygen --dir "$K" --role "$@" >/dev/null; }

# --- keygen -------------------------------------------------------------
kg broker broker && kg worker w1 && kg worker w2 && kg client alice && kg client bob \
    && kg client root && kg client eve
check_eq "keygen writes the secret key with mode 600" 600 "$(stat -c %a "$K/alice.key_secret")"
check_eq "  ... and the public key with mode 644" 644 "$(stat -c %a "$K/alice.key")"
check "  ... the public file holds no secret key" bash -c "! grep -q secret-key '$K/alice.key'"
"$BIN/bitfarm" keygen --dir "$K" --role client alice 2>"$T/err"
check_eq "keygen never overwrites a key" 2 $?
check "  ... saying so" grep -q "already exists" "$T/err"
"$BIN/bitfarm" keygen --dir "$K" --role superuser x 2>"$T/err"
check_eq "keygen refuses an unknown role" 2 $?
"$BIN/bitfarm" keygen --dir "$K" --role client ../x 2>"$T/err"
check_eq "keygen refuses a name with a path in it" 2 $?

# --- the plain-listen guard ----------------------------------------------
"$BIN/bitfarm-broker" --listen 'tcp://0.0.0.0:*' --state-dir "$T/plain" 2>"$T/err"
check_eq "a plain broker refuses a non-loopback address" 1 $?
check "  ... saying why and what to do" grep -q "without CURVE: give --cert and --keys" "$T/err"
"$BIN/bitfarm-broker" --listen 'tcp://0.0.0.0:*' --state-dir "$T/insecure" --insecure \
    >"$T/insecure.log" 2>&1 &
PIDS+=("$!")
wait_until 10 grep -q "listening on" "$T/insecure.log"
check "--insecure starts it, with a warning" grep -q "INSECURE: listening on 'tcp://0.0.0.0:" \
    "$T/insecure.log"
"$BIN/bitfarm-broker" --listen 'tcp://127.0.0.1:*' --state-dir "$T/p2" --cert "$K/broker.key_secret" 2>"$T/err"
check_eq "--cert without --keys is a usage error" 2 $?
chmod 644 "$K/w2.key_secret"
"$BIN/bitfarm-worker" --broker tcp://127.0.0.1:1 --work-dir "$T/wx" --cert "$K/w2.key_secret" \
    --broker-key "$K/broker.key" 2>"$T/err"
check_eq "a secret key others can read is refused" 1 $?
check "  ... naming it and the fix" grep -q "run: chmod 600" "$T/err"
chmod 600 "$K/w2.key_secret"

# --- a CURVE farm ---------------------------------------------------------
mkdir -p "$A/workers" "$A/clients" "$A/admins"
cp "$K/w1.key" "$K/w2.key" "$A/workers/"
cp "$K/alice.key" "$K/bob.key" "$A/clients/"
cp "$K/root.key" "$A/admins/"
start_broker broker --cert "$K/broker.key_secret" --keys "$A" \
    || { not_ok "CURVE broker starts"; done_testing; exit 1; }
check "the broker says CURVE is on" grep -q "CURVE (broker key" "$T/broker.log"
as() { local who=$1; shift; "$BIN/bitfarm" "$@" --broker "$BROKER_EP" --cert "$K/$who.key_secret" \
           --broker-key "$K/broker.key"; }
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w1" --name w1 \
    --cert "$K/w1.key_secret" --broker-key "$K/broker.key" >"$T/w1.log" 2>&1 &
PIDS+=("$!")
check "a worker with a worker key registers" wait_until 20 bash -c \
    "'$BIN/bitfarm' workers --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '^w1 '"
"$BIN/bitfarm" workers --broker "$BROKER_EP" --request-timeout 2s 2>"$T/err"
check_eq "a client without a key gets no service" 3 $?
start=$(date +%s%N)
as eve workers --request-timeout 20s 2>"$T/err"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "an unknown client key is refused" 3 $rc
check "  ... at the handshake, saying so (not a timeout)" grep -q "refused this key.*not on the broker's allow-list" "$T/err"
check "  ... at once ($ms ms)" test "$ms" -lt 10000
as w1 workers 2>"$T/err"
check_eq "a worker key cannot use client commands" 3 $?
check "  ... saying so" grep -q "key 'w1' .* may not use client commands" "$T/err"
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/wa" --name wa \
    --cert "$K/alice.key_secret" --broker-key "$K/broker.key" >"$T/wa.log" 2>&1
check_eq "a worker with a client key is refused and exits 1" 1 $?
check "  ... saying why" grep -q "refused this worker: key 'alice' .* may not register as a worker" "$T/wa.log"
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/we" --name we \
    --cert "$K/eve.key_secret" --broker-key "$K/broker.key" >"$T/we.log" 2>&1
check_eq "a worker with an unknown key is refused and exits 1" 1 $?
check "  ... at the handshake" grep -q "refused this key" "$T/we.log"
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w2x" --name w1 \
    --cert "$K/w2.key_secret" --broker-key "$K/broker.key" >"$T/w2x.log" 2>&1
check_eq "another worker key cannot take over the name 'w1'" 1 $?

cd "$FIXTURES/blinky"
JA=$(as alice submit --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v -o "$T/a.bin" 2>"$T/err")
check_eq "alice builds over CURVE" 0 $?
check "  ... and gets the bitstream" test -s "$T/a.bin"
check_eq "the job records its owner" alice "$(jget "$(as alice status "$JA" --json)" 'd["owner_name"]')"
as bob logs "$JA" >/dev/null 2>"$T/err"
check_eq "bob may not read alice's log" 2 $?
check_eq "  ... to bob it is no job (t0014 has the rest)" "bitfarm: no job '$JA'" "$(cat "$T/err")"
as bob fetch "$JA" --log -o "$T/x.log" 2>"$T/err"
check_eq "  ... nor fetch it" 2 $?
as alice logs "$JA" >"$T/alog" 2>&1
check "alice reads her log" grep -q "SYNTH_ICE40" "$T/alog"
as root logs "$JA" >/dev/null 2>&1
check_eq "an admin key reads anyone's log" 0 $?
JN=$(as alice submit --top top --device hx1k --package tq144 --flow noop --delay 60s top.v)
wait_until 10 bash -c "'$BIN/bitfarm' status $JN --json --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '\"running\"'"
as bob cancel "$JN" 2>"$T/err"
check_eq "bob may not cancel alice's job" 2 $?
check_eq "  ... which keeps running" running "$(jget "$(as alice status "$JN" --json)" 'd["state"]')"
as root cancel "$JN" >/dev/null 2>&1
check_eq "an admin may cancel it" 0 $?

# Revocation and admission without a restart.
rm "$A/clients/bob.key"
as bob workers --request-timeout 5s 2>"$T/err"
check_eq "removing bob.key revokes bob at once" 3 $?
check "  ... with a clear refusal" grep -q "refused\|may not" "$T/err"
cp "$K/eve.key" "$A/clients/"
as eve workers >/dev/null 2>&1
check_eq "adding eve.key admits eve without a restart" 0 $?
check "the broker never restarted" kill -0 "$BROKER_PID_broker"

# --- the sandbox -----------------------------------------------------------
need_sandbox "the worker says it is sandboxed" \
    && check "the worker says it is sandboxed" test "$(jget "$(as alice workers --json)" 'd["workers"][0]["sandbox"]')" = true
mkdir -p "$T/fakebin"
printf '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n' >"$T/fakebin/bwrap"
chmod +x "$T/fakebin/bwrap"
PATH="$T/fakebin:$PATH" "$REAL_BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/wb" --name wb \
    --cert "$K/w2.key_secret" --broker-key "$K/broker.key" >"$T/wb.log" 2>&1
check_eq "a worker whose bubblewrap cannot make namespaces refuses to start" 1 $?
check "  ... quoting bubblewrap and naming --no-sandbox" grep -q \
    "cannot sandbox builds: bubblewrap failed here ('bwrap: No permissions.*--no-sandbox" "$T/wb.log"
PATH="$T/fakebin:$PATH" "$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/wn" --name wn \
    --cert "$K/w2.key_secret" --broker-key "$K/broker.key" --no-sandbox >"$T/wn.log" 2>&1 &
PIDS+=("$!")
WN=$!
check "with --no-sandbox it starts" wait_until 20 bash -c \
    "'$BIN/bitfarm' workers --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '^wn '"
check "  ... warning about it" grep -q "UNSANDBOXED (--no-sandbox)" "$T/wn.log"
as alice workers >"$T/workers.txt"
check "bitfarm workers marks it unsandboxed" grep -q "^wn .*UNSANDBOXED" "$T/workers.txt"
need_sandbox "  ... and not the sandboxed one" \
    && check "  ... and not the sandboxed one" bash -c "! grep -q '^w1 .*UNSANDBOXED' '$T/workers.txt'"
kill "$WN"; wait "$WN" 2>/dev/null
mkdir -p "$T/d"
if need_sandbox "the sandbox hides host files from the tools"; then
secret_line="bitfarm-host-secret-$RANDOM"
echo "$secret_line" >"$T/host-secret.txt"
cat >"$T/d/inc.v" <<EOF
\`include "$T/host-secret.txt"
module top(input clk, output reg q); always @(posedge clk) q <= ~q; endmodule
EOF
cat >"$T/d/mem.v" <<EOF
module top(input clk, output reg [7:0] q);
  reg [7:0] m [0:3];
  initial \$readmemh("$K/w1.key_secret", m);
  always @(posedge clk) q <= m[q[1:0]];
endmodule
EOF
as alice submit --wait --top top --device hx1k --package tq144 "$T/d/inc.v" >"$T/out" 2>/dev/null
check_eq "an \`include of a host file fails as a design failure" 1 $?
J=$(head -1 "$T/out")
as alice logs "$J" >"$T/log" 2>&1
check "  ... because the sandbox has no such file" grep -q "Can't open include file\|No such file" "$T/log"
check "  ... and nothing of the file reached the log" bash -c "! grep -q '$secret_line' '$T/log'"
as alice submit --wait --top top --device hx1k --package tq144 "$T/d/mem.v" >"$T/out" 2>/dev/null
check_eq "\$readmemh of the worker's secret key fails" 1 $?
J=$(head -1 "$T/out")
as alice logs "$J" >"$T/log" 2>&1
check "  ... cannot open it" grep -qi "can not open\|cannot open\|No such file" "$T/log"
# The control: an unsandboxed worker does read the host file, so the
# checks above can tell the difference.
mkdir -p "$T/ctl"
(cd "$T/d" && yosys -q -p "read_verilog inc.v" >"$T/ctl/out" 2>&1)
check "(control: outside the sandbox yosys reads the file and chokes on its text)" \
    bash -c "! grep -q \"Can't open include file\" '$T/ctl/out'"
fi

# Resource limits end a job as a design failure, and the worker lives on.
cat >"$T/d/cpu.v" <<'EOF'
module top(input clk, output reg [7:0] q);
  genvar i;
  generate for (i = 0; i < 200000000; i = i + 1) begin : g
    wire w;
  end endgenerate
  always @(posedge clk) q <= q + 1;
endmodule
EOF
cat >"$T/d/mem2.v" <<'EOF'
module top(input clk, output reg [7:0] q);
  localparam N = 1 << 24;
  reg [63:0] big [0:N-1];
  integer i;
  initial for (i = 0; i < N; i = i + 1) big[i] = i;
  always @(posedge clk) q <= big[q];
endmodule
EOF
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w2" --name w2 --tag limited \
    --cert "$K/w2.key_secret" --broker-key "$K/broker.key" --limit-cpu 3s --limit-memory 512M \
    >"$T/w2.log" 2>&1 &
PIDS+=("$!")
wait_until 20 bash -c "'$BIN/bitfarm' workers --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '^w2 '"
as alice submit --wait --tag limited --top top --device hx1k --package tq144 "$T/d/cpu.v" >"$T/out" 2>/dev/null
check_eq "a CPU bomb (200M-iteration generate) ends failed" 1 $?
J=$(head -1 "$T/out")
st=$(as alice status "$J" --json)
check "  ... by the CPU limit, as a design failure on attempt 1" test \
    "$(jget "$st" 'd["failure_class"]+" "+str(d["attempt"])+" "+str("CPU time limit" in d["error"])')" = "design 1 True"
# The memory bomb on a worker with the same memory limit and CPU time to
# spare: with 3 s, a loaded machine could stop it by CPU time first.
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w4" --name w4 --tag memlimited \
    --cert "$K/w2.key_secret" --broker-key "$K/broker.key" --limit-cpu 120s --limit-memory 512M \
    >"$T/w4.log" 2>&1 &
PIDS+=("$!")
wait_until 20 bash -c "'$BIN/bitfarm' workers --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '^w4 '"
as alice submit --wait --tag memlimited --top top --device hx1k --package tq144 "$T/d/mem2.v" >"$T/out" 2>/dev/null
check_eq "a memory bomb ends failed" 1 $?
J=$(head -1 "$T/out")
merr=$(jget "$(as alice status "$J" --json)" 'd.get("error")')
if grep -q 'ran out of memory' <<<"$merr"; then ok "  ... out of memory under the limit"
else not_ok "  ... out of memory under the limit" "error: $merr"; fi
as alice submit --wait --tag limited --top top --device hx1k --package tq144 --pcf icestick.pcf top.v >/dev/null 2>&1
check_eq "the limited worker still builds a normal design afterwards" 0 $?

# A fork bomb: the toolchain's yosys (a --tools wrapper here, as a design
# cannot fork by itself) tries to start 300 processes under --limit-procs
# 64.  On a root worker the kernel would not count them (root is exempt
# from RLIMIT_NPROC), so the tools run as uid 65534 there.
# (unsandboxed, a root worker's tools stay root, whom no process limit holds)
if [ "$(id -u)" != 0 ] || need_sandbox "a fork bomb on a root worker"; then
mkdir -p "$T/bomb/bin"
cat >"$T/bomb/bin/yosys" <<'EOF'
#!/bin/sh
# a bounded fork bomb: at most 300 sleeping children
echo "uid $(id -u)"
i=0
while [ $i -lt 300 ]; do sleep 30 & i=$((i + 1)); done
echo "ERROR: started all $i processes: no process limit held"
exit 1
EOF
for t in yosys-abc nextpnr-ice40 icepack; do
    printf '#!/bin/sh\nexec /usr/bin/%s "$@"\n' "$t" >"$T/bomb/bin/$t"
done
chmod +x "$T/bomb/bin/"*
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w3" --name w3 --tag bomb \
    --cert "$K/w2.key_secret" --broker-key "$K/broker.key" --tools "$T/bomb/bin" --limit-procs 64 \
    >"$T/w3.log" 2>&1 &
PIDS+=("$!")
wait_until 20 bash -c "'$BIN/bitfarm' workers --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '^w3 '"
as alice submit --wait --tag bomb -D FORK_BOMB --top top --device hx1k --package tq144 top.v >"$T/out" 2>"$T/err"
rc=$?
check_eq "a fork bomb ends failed (exit 1)$([ "$(id -u)" = 0 ] && echo ', on a root worker')" 1 $rc
J=$(head -1 "$T/out")
st=$(as alice status "$J" --json)
check_eq "  ... by the process limit, as a design failure on attempt 1" "design 1 True" \
    "$(jget "$st" 'd["failure_class"]+" "+str(d["attempt"])+" "+str("exceeded its process limit (CPU" in d["error"] and "processes 64)" in d["error"])')"
as alice logs "$J" >"$T/log" 2>&1
if [ "$(id -u)" = 0 ]; then
    check "  ... the tool ran as uid 65534, not as the root worker" grep -q "^uid 65534$" "$T/log"
else
    check "  ... the tool ran as the worker's own uid" grep -q "^uid $(id -u)$" "$T/log"
fi
check "  ... and never got its 300 processes" bash -c "! grep -q 'started all' '$T/log'"
check "  ... none of its processes outlive the job" wait_until 10 bash -c \
    "for p in /proc/[0-9]*; do c=\$(readlink \$p/cwd 2>/dev/null) || continue; case \$c in '$T/w3/jobs'/*) exit 1;; esac; done"
check "the bombed worker is still connected" bash -c "'$BIN/bitfarm' workers --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '^w3 '"
fi

# --- hostile manifests, sent past the CLI's own checks ---------------------
H=$(sha256sum top.v | cut -c1-64)
m() { echo "{\"manifest\":{\"version\":1,\"flow\":\"ice40\",\"top\":\"$1\",\"device\":\"hx1k\",\"package\":\"tq144\",\"sources\":[$2]}}"; }
f() { echo "{\"path\":\"$1\",\"sha256\":\"$H\",\"size\":10,\"lang\":\"verilog\"}"; }
refused() {   # DESCRIPTION PATTERN BODY
    "$REQ" "$BROKER_EP" SUBMIT "$3" "$K/alice.key_secret" "$K/broker.key" >"$T/raw" 2>&1
    check "$1" grep -q "^ERROR .*$2" "$T/raw" || sed 's/^/#   /' "$T/raw"
}
for bad in "/etc/passwd" "../../x.v" "a/../../x.v" "a\\u0000b.v" "a\\nb.v" "a\\u001bb.v" \
           "a\\u00e9.v" "$(printf 'd%.0s' $(seq 300)).v"; do
    refused "broker refuses file name '${bad:0:24}'" "bad file name\|must be a string\|JSON_ALLOW_NUL" \
        "$(m top "$(f "$bad")")"
done
refused "broker refuses duplicate names" "duplicate file name" "$(m top "$(f a.v),$(f a.v)")"
refused "broker refuses names that differ only in case" "duplicate file name" "$(m top "$(f a.v),$(f A.v)")"
refused "broker refuses a top name with yosys syntax" "bad top module name" \
    "$(m 'top; shell touch /tmp/pwned' "$(f a.v)")"
refused "broker refuses a package with yosys syntax" "unknown package 'tq144; shell id' for hx1k" \
    '{"manifest":{"version":1,"flow":"ice40","top":"top","device":"hx1k","package":"tq144; shell id","sources":['"$(f a.v)"']}}'
refused "broker refuses an unknown device" "unknown device" \
    '{"manifest":{"version":1,"flow":"ice40","top":"top","device":"hx1k -p shell","package":"tq144","sources":['"$(f a.v)"']}}'
refused "broker refuses a define value with a newline" "bad value '1\\\\x0ashell id' for define 'X'" \
    '{"manifest":{"version":1,"flow":"ice40","top":"top","device":"hx1k","package":"tq144","defines":{"X":"1\nshell id"},"sources":['"$(f a.v)"']}}'
refused "broker refuses a parameter name with yosys syntax" "bad param name" \
    '{"manifest":{"version":1,"flow":"ice40","top":"top","device":"hx1k","package":"tq144","params":{"W; shell id":"1"},"sources":['"$(f a.v)"']}}'
refused "broker refuses an include dir outside the tree" "bad include dir" \
    '{"manifest":{"version":1,"flow":"ice40","top":"top","device":"hx1k","package":"tq144","includes":["/etc"],"sources":['"$(f a.v)"']}}'
many=$(for i in $(seq 1001); do printf '%s,' "$(f "f$i.v")"; done)
refused "broker refuses more than 1000 files" "too many files" "$(m top "${many%,}")"
check "no hostile string ever ran: /tmp/pwned does not exist" test ! -e /tmp/pwned
check "the broker is alive after all of it" kill -0 "$BROKER_PID_broker"
as alice submit --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v >/dev/null 2>&1
check_eq "  ... and still serves alice" 0 $?
done_testing

#!/usr/bin/env bash
# The lean `submit` (issue 20, src/submit/main.c): a cache hit sent by the
# lean front end is the same job as the full CLI's -- the same manifest,
# action and cache key -- over several designs and option sets; what it
# does not do goes to the full CLI with the same argv (a git work tree, a
# miss needing uploads, CURVE, every other option and command), a miss
# still builds and makes one job; and a hostile broker's reply is refused
# in one line, never followed by a second SUBMIT.
. "$(dirname "$0")/lib.sh"
ldd "$BIN/submit" >"$T/ldd" 2>&1
check "submit is linked statically: no libzmq, libczmq, libcrypto" \
    bash -c "! grep -q 'libzmq\|libczmq\|libcrypto' '$T/ldd'"
start_broker broker
start_worker w1
export BITFARM_BROKER=$BROKER_EP
st() { "$BIN/bitfarm" status "$1" --json; }
# same CASE ARGS...: the full CLI submits (a miss or a hit), then the lean
# path (a hit); both jobs have the same manifest, action and key
same() {
    local name=$1; shift
    local full lean
    full=$(BITFARM_SUBMIT_FULL=1 "$BIN/submit" "$@" 2>"$T/full.err") \
        || { not_ok "$name: the full CLI submits" "$(cat "$T/full.err")"; return; }
    "$BIN/bitfarm" wait "$full" >/dev/null 2>&1
    lean=$(BITFARM_SUBMIT_TIMES=1 "$BIN/submit" "$@" 2>"$T/lean.err") \
        || { not_ok "$name: the lean path submits" "$(cat "$T/lean.err")"; return; }
    if ! grep -q '^submit: lean path' "$T/lean.err"; then
        not_ok "$name: the lean path sends it" "$(cat "$T/lean.err")"
        return
    fi
    st "$full" >"$T/full.json"; st "$lean" >"$T/lean.json"
    python3 - "$T/full.json" "$T/lean.json" >"$T/cmp" 2>&1 <<'EOF'
import json, sys
f, l = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("manifest", "action", "cache_key", "tags", "priority", "timeout_ms"):
    if f.get(k) != l.get(k):
        sys.exit("%s differs: full %r, lean %r" % (k, f.get(k), l.get(k)))
if not f.get("cache_key"):
    sys.exit("no cache key")
if l.get("cache_hit") is not True or l.get("state") != f.get("state"):
    sys.exit("the lean job is not a hit like the full one: %r %r" % (l.get("cache_hit"), l.get("state")))
print(f["cache_key"])
EOF
    if [ $? -eq 0 ]; then ok "$name: the lean path's job has the full CLI's manifest and key ($(cut -c1-12 "$T/cmp"))"
    else not_ok "$name: same manifest, action and key" "$(cat "$T/cmp")"; fi
}

# --- the same job, lean and full ------------------------------------------
cd "$FIXTURES/cpusoc"
SOC=(--top top --device up5k --package sg48 --pcf icebreaker.pcf -I rtl/inc
     rtl/top.v rtl/soc.v rtl/cpu.v rtl/alu.v rtl/regfile.v rtl/uart_tx.v)
same "cpusoc (a real build first: includes, \$readmemh, pcf)" "${SOC[@]}"
check "  ... and the hit names the bitstream" python3 -c 'import json,sys,re; d=json.load(open(sys.argv[1])); sys.exit(not re.fullmatch("[0-9a-f]{64}", d.get("bitstream_sha256") or ""))' "$T/lean.json"
same "cpusoc, options of every kind" --flow noop --seed 7 --freq 20 -D DEBUG=1 --param BAUD_DIV=52 \
    --synth-opt -dsp --pnr-opt --timing-allow-fail --priority 5 --timeout 10m "${SOC[@]}"
same "cpusoc from another directory (--root, relative names)" --flow noop --root .. \
    --top top --device up5k --package sg48 --pcf icebreaker.pcf -I rtl/inc rtl/top.v rtl/soc.v \
    rtl/cpu.v rtl/alu.v rtl/regfile.v rtl/uart_tx.v
cd rtl
same "cpusoc from a subdirectory" --flow noop --top top --device up5k --package sg48 \
    --pcf ../icebreaker.pcf -I inc top.v soc.v cpu.v alu.v regfile.v uart_tx.v
cd "$FIXTURES/memsoc"
same "memsoc (a string --param names the \$readmemh file)" --flow noop --top soc --device up5k \
    --package sg48 --pcf icebreaker.pcf -I rtl/inc --param memfile=sw/firmware.hex rtl/soc.v rtl/rom.sv
cd "$FIXTURES/regio"
same "--regio icebreaker (the gateware overlay)" --flow noop --top regio_fixture --regio icebreaker \
    regio_fixture.v
cd "$FIXTURES/blinky"
BLINKY=(--flow noop --top top --device hx1k --package tq144 --pcf icestick.pcf top.v)
same "blinky, short options and --opt=value" -D X -I . --seed=3 --freq=12 "${BLINKY[@]}"

# --json: the same fields as the full CLI's (both hits)
BITFARM_SUBMIT_FULL=1 "$BIN/submit" --wait "${BLINKY[@]}" >/dev/null 2>&1
BITFARM_SUBMIT_FULL=1 "$BIN/submit" --json "${BLINKY[@]}" >"$T/f.json"
"$BIN/submit" --json "${BLINKY[@]}" >"$T/l.json"
keys() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(sorted(d)), d["schema"], d["uploaded_bytes"])' "$1"; }
check_eq "--json prints the full CLI's fields" "$(keys "$T/f.json")" "$(keys "$T/l.json")"

# --- what goes to the full CLI --------------------------------------------
path_of() { BITFARM_SUBMIT_TIMES=1 "$BIN/submit" "$@" 2>&1 >/dev/null | grep -o '^submit: [a-z]* path.*' | head -1; }
check_eq "--wait goes to the full CLI" "submit: full path (an option of the full CLI)" \
    "$(path_of --wait "${BLINKY[@]}")"
check_eq "-n goes to the full CLI" "submit: full path (an option of the full CLI)" \
    "$(path_of -n "${BLINKY[@]}")"
out=$("$BIN/submit" -n "${BLINKY[@]}")
check "  ... which lists the files, sending nothing" bash -c "grep -q 'nothing sent (dry run)' <<<'$out'"
# bad input: the same words and exit status as the full CLI's
for bad in "--priority x" "--no-such" "--delay 1s" "--top" "--device up5k top.v" "--top t --device hx1k none.v"; do
    # shellcheck disable=SC2086
    BITFARM_SUBMIT_FULL=1 "$BIN/submit" $bad >"$T/bf.out" 2>"$T/bf.err"; frc=$?
    # shellcheck disable=SC2086
    "$BIN/submit" $bad >"$T/bl.out" 2>"$T/bl.err"; lrc=$?
    if [ "$frc" = "$lrc" ] && [ "$frc" != 0 ] && cmp -s "$T/bf.err" "$T/bl.err" && cmp -s "$T/bf.out" "$T/bl.out"; then
        ok "'submit $bad': the full CLI's exit $frc and words: $(head -c 70 "$T/bl.err")"
    else
        not_ok "'submit $bad': the full CLI's exit status and words" "full: $frc $(cat "$T/bf.err")" \
            "lean: $lrc $(cat "$T/bl.err")"
    fi
done
check "submit --help is the full CLI's" bash -c "'$BIN/submit' --help | grep -q '^usage: bitfarm submit'"
check_eq "submit --version" "bitfarm 0.1.0" "$("$BIN/submit" --version)"
check_eq "a host name (tcp://localhost) goes to the full CLI" \
    "submit: full path (an endpoint it does not speak)" \
    "$(BITFARM_BROKER=${BROKER_EP/127.0.0.1/localhost} path_of "${BLINKY[@]}")"
id=$(BITFARM_BROKER=${BROKER_EP/127.0.0.1/localhost} "$BIN/submit" "${BLINKY[@]}")
check "  ... which submits it" test -n "$id"
check_eq "bitfarm submit (the full CLI) still submits" succeeded \
    "$("$BIN/bitfarm" submit --wait --json "${BLINKY[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
check "bitfarm status still works" "$BIN/bitfarm" status "$id"

# a miss: the lean path sends SUBMIT, gets NEED, and the full CLI uploads and
# submits: one job in all
mkdir -p "$T/miss" && cp top.v icestick.pcf "$T/miss/" && echo "// $T" >>"$T/miss/top.v"
cd "$T/miss"
before=$("$BIN/bitfarm" jobs --json -n 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
id=$(BITFARM_SUBMIT_TIMES=1 "$BIN/submit" "${BLINKY[@]}" 2>"$T/miss.err")
check_eq "a miss goes to the full CLI after NEED" "submit: full path (a miss: the broker needs uploads)" \
    "$(grep -o '^submit: .*' "$T/miss.err")"
check_eq "  ... which builds it" succeeded "$("$BIN/bitfarm" wait "$id" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
after=$("$BIN/bitfarm" jobs --json -n 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
check_eq "  ... one job, not two" $((before + 1)) "$after"
check_eq "  ... and the next submit is a lean hit" "submit: lean path" \
    "$(path_of "${BLINKY[@]}" | cut -c1-17)"

# a git work tree: git's provenance needs the full CLI
mkdir -p "$T/repo" && cp "$FIXTURES/blinky/top.v" "$FIXTURES/blinky/icestick.pcf" "$T/repo/"
( cd "$T/repo" && git init -q && git add . && git -c user.email=t@e -c user.name=t commit -qm x )
cd "$T/repo"
check_eq "a git work tree goes to the full CLI" "submit: full path (a git work tree)" \
    "$(env -u BITFARM_NO_GIT BITFARM_SUBMIT_TIMES=1 "$BIN/submit" "${BLINKY[@]}" 2>&1 >/dev/null | grep -o '^submit: .*')"
id=$(env -u BITFARM_NO_GIT "$BIN/submit" "${BLINKY[@]}")
check "  ... which records git's provenance" bash -c "'$BIN/bitfarm' status '$id' --json | grep -q '\"commit\"'"
same "  ... and a plain copy of the same tree (BITFARM_NO_GIT=1) is the same job" "${BLINKY[@]}"
cd "$FIXTURES/blinky"

# CURVE: a farm with keys; without a key, the full CLI (and its timeout)
K=$T/keys A=$T/allow
mkdir -p "$K" "$A/clients" "$A/workers" "$A/admins"
for k in broker:broker alice:client w9:worker; do
    "$BIN/bitfarm" keygen --dir "$K" --role "${k#*:}" "${k%:*}" >/dev/null
done
cp "$K/alice.key" "$A/clients/"; cp "$K/w9.key" "$A/workers/"
EP1=$BROKER_EP
start_broker curve --cert "$K/broker.key_secret" --keys "$A"
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w9" --name w9 \
    --cert "$K/w9.key_secret" --broker-key "$K/broker.key" >"$T/w9.log" 2>&1 &
PIDS+=("$!")
CURVE_EP=$BROKER_EP
export BITFARM_BROKER_KEY=$K/broker.key
id=$(BITFARM_CERT=$K/alice.key_secret BITFARM_BROKER=$CURVE_EP BITFARM_SUBMIT_TIMES=1 \
    "$BIN/submit" "${BLINKY[@]}" 2>"$T/c.err")
check_eq "a CURVE farm: submit with \$BITFARM_CERT builds through the full CLI" succeeded \
    "$(BITFARM_CERT=$K/alice.key_secret BITFARM_BROKER=$CURVE_EP "$BIN/bitfarm" wait "$id" --json 2>/dev/null \
       | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
check "  ... saying so" grep -q '^submit: full path (CURVE' "$T/c.err"
BITFARM_BROKER=$CURVE_EP BITFARM_SUBMIT_TIMES=1 "$BIN/submit" --request-timeout 1s "${BLINKY[@]}" \
    >/dev/null 2>"$T/c2.err"
check_eq "without a key on a CURVE farm: the full CLI runs, and gets no service" 3 $?
check "  ... after the handshake failed (libzmq drops a NULL greeting: refused or reset)" \
    grep -q "^submit: full path (.*\(wants a security mechanism\|reset by peer\|closed the connection\)" "$T/c2.err"
unset BITFARM_BROKER_KEY
export BITFARM_BROKER=$EP1

# --- a hostile broker -----------------------------------------------------
# A ZMTP peer of our own: a proper handshake (NULL, ROUTER), then the reply
# MODE says, and a count of the SUBMITs it received.
cat >"$T/fake.py" <<'EOF'
import os, socket, struct, sys
path, mode, count = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4)
def readn(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: raise EOFError
        b += x
    return b
def frame(c):
    f = readn(c, 1)[0]
    n = struct.unpack(">Q", readn(c, 8))[0] if f & 2 else readn(c, 1)[0]
    return f, readn(c, n)
def out(c, frames, more_last=False):
  try:
    for i, data in enumerate(frames):
        more = 1 if i + 1 < len(frames) or more_last else 0
        c.sendall(bytes([more | 2]) + struct.pack(">Q", len(data)) + data if len(data) > 255
                  else bytes([more, len(data)]) + data)
  except OSError:
    pass   # the client stopped reading: what a refusal looks like
while True:
    c, _ = s.accept()
    try:
        readn(c, 64)
        c.sendall(b"\xff" + b"\0" * 8 + b"\x7f\x03\x01NULL" + b"\0" * 16 + b"\x01" + b"\0" * 31)
        ready = b"\x05READY\x0bSocket-Type\0\0\0\x06ROUTER"
        c.sendall(bytes([4, len(ready)]) + ready)
        f, _ = frame(c)                     # the client's READY
        msg = []
        while True:
            f, d = frame(c)
            msg.append(d)
            if not f & 1: break
        if msg[2:3] == [b"SUBMIT"]:
            with open(count, "a") as fh: fh.write("SUBMIT\n")
        if mode == "huge":
            c.sendall(b"\x03" + struct.pack(">Q", 1 << 40))
        elif mode == "frames":
            out(c, [b"", b"BFC01", b"OK"] + [b"{}"] * 40)
        elif mode == "notjson":
            out(c, [b"", b"BFC01", b"OK", b"{not json"])
        elif mode == "badproto":
            out(c, [b"", b"XXX01", b"OK", b"{}"])
        elif mode == "close":
            pass
        elif mode == "error":
            out(c, [b"", b"BFC01", b"ERROR", b'{"error":"no \\u001b[31mway"}'])
    except EOFError:
        pass
    c.close()
EOF
hostile() {   # MODE EXPECTED-STDERR-REGEX
    rm -f "$T/count" "$T/fake.sock"
    python3 "$T/fake.py" "$T/fake.sock" "$1" "$T/count" &
    local fpid=$!
    PIDS+=("$fpid")
    wait_until 10 test -S "$T/fake.sock"
    BITFARM_BROKER=ipc://$T/fake.sock "$BIN/submit" --request-timeout 3s "${BLINKY[@]}" \
        >"$T/h.out" 2>"$T/h.err"
    local rc=$?
    kill "$fpid" 2>/dev/null
    if [ "$rc" = 3 ] && [ "$(wc -l <"$T/h.err")" = 1 ] && grep -q "$2" "$T/h.err" \
        && [ "$(cat "$T/count" 2>/dev/null)" = SUBMIT ] && [ ! -s "$T/h.out" ]; then
        ok "a broker reply ($1) is refused in one line, exit 3, one SUBMIT: $(cut -c1-90 "$T/h.err")"
    else
        not_ok "a broker reply ($1) is refused in one line, exit 3, one SUBMIT" "rc $rc" \
            "stderr: $(cat "$T/h.err")" "SUBMITs: $(cat "$T/count" 2>/dev/null | wc -l)"
    fi
}
hostile huge "^bitfarm: bad reply from broker: reply from broker at .* over the limit"
hostile frames "^bitfarm: bad reply from broker: reply from broker at .* over the limit (16 frames"
hostile notjson "^bitfarm: bad reply from broker: body is not a JSON object"
hostile badproto "^bitfarm: bad reply from broker: unknown protocol in frame 1"
hostile close "^bitfarm: bad reply from broker: the broker at .* closed the connection"
hostile error '^bitfarm: no \\x1b\[31mway$'
done_testing

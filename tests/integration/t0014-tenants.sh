#!/usr/bin/env bash
# Tenants on a shared CURVE farm (docs/security.md, "Tenants"): two client
# keys (alice, bob) and an admin key (root).  A non-admin key sees only its
# own jobs (JOBS, id prefixes, status, logs, fetch, cancel) and only its
# own jobs' cache entries (ENTRY, program by cache key); a stolen manifest
# or digest gets nothing without the content (proofs of possession, else
# NEED); board health is admin-only; a reservation is held by the key
# that made it, whatever --by says.  Each refusal: its exit status and its
# exact line; and the honest owner is still served.
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
req() { local who=$1 cmd=$2 body=$3; shift 3   # WHO COMMAND BODY [BLOB_FILE...]
        "$REQ" "$BROKER_EP" "$cmd" "$body" "$K/$who.key_secret" "$K/broker.key" "$@"; }
cat >"$T/w1.json" <<EOF
{"boards": [{"name": "vb0", "device": "hx1k", "package": "tq144", "virtual": true}]}
EOF
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w1" --name w1 --config "$T/w1.json" \
    --cert "$K/w1.key_secret" --broker-key "$K/broker.key" >"$T/w1.log" 2>&1 &
PIDS+=("$!")
check "a worker with a virtual board registers" wait_until 30 bash -c \
    "'$BIN/bitfarm' boards --json --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' 2>/dev/null | grep -q '\"idle\"'"

# --- alice builds; bob sees none of it ----------------------------------------
cd "$FIXTURES/blinky"
JA=$(as alice submit --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v \
         -o "$T/a.bin" 2>"$T/err")
check_eq "alice builds over CURVE" 0 $?
KA=$(jget "$(as alice status "$JA" --json)" 'd["cache_key"]')
check "  ... and her job has a cache key" test ${#KA} -eq 64
check_eq "alice's JOBS lists her job" "$JA" \
    "$(jget "$(as alice jobs --json)" '" ".join(j["id"] for j in d["jobs"])')"
check_eq "bob's JOBS lists none of alice's jobs" "" \
    "$(jget "$(as bob jobs --json)" '" ".join(j["id"] for j in d["jobs"])')"
check_eq "root's (an admin's) JOBS lists alice's job" "$JA" \
    "$(jget "$(as root jobs --json)" '" ".join(j["id"] for j in d["jobs"])')"

# Another key's job is no job to bob: by prefix or full id, the same line
# as for an id nobody has, and exit 2 for every command on one job.
for id in "${JA:0:4}" "${JA:0:12}" "$JA"; do
    as bob status "$id" >/dev/null 2>"$T/err"
    check_eq "bob: status $id exits 2" 2 $?
    check_eq "  ... no job '$id'" "bitfarm: no job '$id'" "$(cat "$T/err")"
done
as bob status ffff0000 >/dev/null 2>"$T/err"
check_eq "an id nobody has: the same words" "bitfarm: no job 'ffff0000'" "$(cat "$T/err")"
refuse_job() {   # DESCRIPTION COMMAND...: bob's command on alice's job: exit 2, no job
    local d=$1; shift
    as bob "$@" >"$T/out" 2>"$T/err"
    check_eq "bob may not $d: exit 2" 2 $?
    check_eq "  ... 'no job'" "bitfarm: no job '$JA'" "$(cat "$T/err")"
}
refuse_job "read alice's log (logs)" logs "$JA"
refuse_job "read alice's log (fetch --log)" fetch "$JA" --log -o "$T/x.log"
refuse_job "fetch alice's bitstream" fetch "$JA" -o "$T/x.bin"
refuse_job "fetch alice's report" fetch "$JA" --report -o "$T/x.json"
refuse_job "wait on alice's job" wait "$JA"
refuse_job "cancel alice's job" cancel "$JA"
check "  ... and bob got no byte of any of them" test ! -e "$T/x.log" -a ! -e "$T/x.bin" -a ! -e "$T/x.json"
as root logs "$JA" >"$T/rlog" 2>&1
check_eq "root (an admin) reads alice's log" 0 $?
check "  ... which is the real log" grep -q "SYNTH_ICE40" "$T/rlog"

# --- ENTRY: only the entries of one's own jobs --------------------------------
for k in "${KA:0:8}" "$KA"; do
    req bob ENTRY "{\"key\":\"$k\"}" >"$T/out"
    check_eq "bob: ENTRY ${k:0:12}… is refused (exit 1 of bf_request)" 1 $?
    check_eq "  ... as if there were no such entry" "ERROR cache key '$k' is not in the cache" \
        "$(cat "$T/out")"
done
req alice ENTRY "{\"key\":\"${KA:0:8}\"}" >"$T/entry"
check "alice sees her job's entry" grep -q "^OK .*\"key\":\"$KA\"" "$T/entry"
req root ENTRY "{\"key\":\"$KA\"}" >/dev/null
check_eq "root sees every entry" 0 $?
as bob program --board vb0 "${KA:0:12}" >/dev/null 2>"$T/err"
check_eq "bob may not program alice's cache entry by its key: exit 2" 2 $?
check_eq "  ... told it is no entry of his" \
    "bitfarm: '${KA:0:12}' is neither a finished build's job id nor a cache key with a bitstream" \
    "$(cat "$T/err")"
as bob program --board vb0 "$JA" >/dev/null 2>"$T/err"
check_eq "  ... nor alice's job by its id" \
    "bitfarm: '$JA' is neither a finished build's job id nor a cache key with a bitstream" \
    "$(cat "$T/err")"

# --- a stolen manifest, or a stolen digest, gets nothing ------------------------
# bob has alice's manifest (as if it had leaked) but not the files.
M=$(jget "$(sed 's/^OK //' "$T/entry")" 'json.dumps(d["manifest"], separators=(",", ":"))')
DIGESTS=$(jget "$M" '" ".join(sorted(f["sha256"] for k in ("sources","data","pcf") for f in ((d.get(k) or []) if isinstance(d.get(k), list) else [d[k]] if d.get(k) else [])))')
need_all() {   # DESCRIPTION BODY: bob's SUBMIT is answered NEED for every input
    req bob SUBMIT "$2" >"$T/out"
    check "$1" grep -q '^NEED ' "$T/out"
    check_eq "  ... listing every input" "$DIGESTS" \
        "$(jget "$(sed 's/^NEED //' "$T/out")" '" ".join(sorted(d["missing"]))')"
}
need_all "bob submits the stolen manifest: NEED, not a hit" "{\"manifest\":$M}"
bad=$(for d in $DIGESTS; do printf '"%s":"%s",' "$d" "$(printf 'x%.0s' {1..64} | tr x 0)"; done)
need_all "bob with made-up proofs: NEED" "{\"manifest\":$M,\"proofs\":{${bad%,}}}"
proof() {   # KEYNAME FILE: the proof of docs/protocol.md for that key
    python3 -c 'import hashlib,sys; print(hashlib.sha256(b"bitfarm-proof-v1\n" + sys.argv[1].encode() + b"\n" + open(sys.argv[2],"rb").read()).hexdigest())' "$(pub "$1")" "$2"
}
proofs_for() {   # KEYNAME: the proofs object for the blinky inputs
    local out="" f
    for f in top.v icestick.pcf; do out+="\"$(sha256sum "$f" | cut -c1-64)\":\"$(proof "$1" "$f")\","; done
    echo "{${out%,}}"
}
need_all "bob with alice's own proofs (bound to her key): NEED" \
    "{\"manifest\":$M,\"proofs\":$(proofs_for alice)}"
H=$(sha256sum top.v | cut -c1-64)
# the same size as top.v (the size NEED allowed), other content
head -c "$(stat -c %s top.v)" /dev/zero | tr '\0' 'x' >"$T/fake.v"
req bob UPLOAD "{\"digests\":[\"$H\"]}" "$T/fake.v" >"$T/out"
check_eq "bob cannot upload an input he lacks (the blob is not its content)" 1 $?
check "  ... refused: the content does not match the digest" \
    grep -q "^ERROR object content does not match digest ${H:0:12}" "$T/out"
check_eq "bob still has no job" "" \
    "$(jget "$(as bob jobs --json)" '" ".join(j["id"] for j in d["jobs"])')"
BA=$(sha256sum "$T/a.bin" | cut -c1-64)
req bob PROGRAM "{\"board\":\"vb0\",\"source\":{\"sha256\":\"$BA\",\"size\":$(stat -c %s "$T/a.bin")}}" >"$T/out"
check "bob programs by alice's bitstream digest alone: NEED, no job" \
    grep -q "^NEED {\"missing\":\[\"$BA\"\]}" "$T/out"

# --- holding the inputs is enough: bob's own job, a cache hit -------------------
req bob SUBMIT "{\"manifest\":$M,\"proofs\":$(proofs_for bob)}" >"$T/out"
check "bob's own proofs (the documented formula) get a job at once" grep -q '^OK ' "$T/out"
check_eq "  ... a cache hit" true "$(jget "$(sed 's/^OK //' "$T/out")" 'd["cache_hit"]')"
JB=$(as bob submit --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v \
         -o "$T/b.bin" 2>"$T/err")
check_eq "bob submits the same design from his own files: exit 0" 0 $?
check_eq "  ... a cache hit" true "$(jget "$(as bob status "$JB" --json)" 'd["cache_hit"]')"
check "  ... the same bytes alice got" cmp -s "$T/a.bin" "$T/b.bin"
as bob fetch "$JB" --log -o "$T/b.log"
check_eq "  ... and he may read his job's log" 0 $?
check "      (the log of that build)" grep -q "SYNTH_ICE40" "$T/b.log"
check_eq "  ... and his job's entry" 0 "$(req bob ENTRY "{\"key\":\"$KA\"}" >/dev/null; echo $?)"

# --- a follower never names another key's leader -------------------------------
JN=$(as alice submit --top top --device hx1k --package tq144 --flow noop --delay 30s top.v)
wait_until 10 bash -c "'$BIN/bitfarm' status $JN --json --broker '$BROKER_EP' --cert '$K/alice.key_secret' --broker-key '$K/broker.key' | grep -q '\"running\"'"
JF=$(as bob submit --top top --device hx1k --package tq144 --flow noop --delay 30s top.v)
check_eq "bob's WORKERS does not list alice's running job" "1 []" \
    "$(jget "$(as bob workers --json)" 'str(d["workers"][0]["busy"]) + " " + json.dumps(d["workers"][0]["jobs"])')"
check_eq "root's does" "[\"$JN\"]" "$(jget "$(as root workers --json)" 'json.dumps(d["workers"][0]["jobs"])')"
check_eq "bob's identical submit shares alice's running build" running \
    "$(jget "$(as bob status "$JF" --json)" 'd["state"]')"
check_eq "  ... without naming her job" null "$(jget "$(as bob status "$JF" --json)" 'd["follows"]')"
check_eq "  ... in its events too" "identical to job (another key's job); following it" \
    "$(jget "$(as bob status "$JF" --events --json)" '[e["reason"] for e in d["events"] if e["event"]=="coalesced"][0]')"
check_eq "root sees whose build it follows" "$JN" "$(jget "$(as root status "$JF" --json)" 'd["follows"]')"
as root cancel "$JF" >/dev/null 2>&1
as alice cancel "$JN" >/dev/null
check_eq "alice cancels her own job" 0 $?

# --- board health: admin keys only -----------------------------------------------
for h in --maintenance --enable; do
    as bob board vb0 $h >/dev/null 2>"$T/err"
    check_eq "bob: board vb0 $h exits 2" 2 $?
    check_eq "  ... saying only admins may" \
        "bitfarm: key 'bob' ($(pub bob | cut -c1-12)...) may not change a board's health: only keys in the broker's KEYS/admins may" \
        "$(cat "$T/err")"
done
bstate() { jget "$(as alice boards --json)" "[b for b in d['boards'] if b['name']=='vb0'][0]['$1']"; }
check_eq "  ... and vb0 is still idle" idle "$(bstate state)"
as root board vb0 --maintenance --reason "cable swap" >/dev/null
check_eq "root puts vb0 in maintenance" "0 maintenance" "$? $(bstate state)"
as root board vb0 --enable >/dev/null
check_eq "root puts it back" "0 idle" "$? $(bstate state)"

# --- a reservation is held by the key that made it ---------------------------------
TA=$(as alice reserve vb0 --for 1m --by bob 2>/dev/null)
check_eq "alice reserves vb0, labelled 'bob'" 32 ${#TA}
check_eq "  ... the holder is alice's key; 'bob' is a label" "alice bob" "$(bstate holder) $(bstate reserved_by)"
as bob reserve vb0 --by bob >/dev/null 2>"$T/err"
check_eq "bob cannot reserve it too (busy: exit 3)" 3 $?
check "  ... told who holds it" grep -q "^bitfarm: board 'vb0' is reserved by key 'alice' (label 'bob') until " "$T/err"
NOTHELD="bitfarm: this token holds no reservation of board 'vb0' for this key (wrong token, another key's, released, or expired)"
as bob release vb0 --token "$TA" >/dev/null 2>"$T/err"
check_eq "bob cannot release it with alice's token: exit 2" 2 $?
check_eq "  ... not his reservation" "$NOTHELD" "$(cat "$T/err")"
check_eq "  ... and it stays alice's" "reserved alice" "$(bstate state) $(bstate holder)"
as bob program --board vb0 --token "$TA" "$JB" >/dev/null 2>"$T/err"
check_eq "bob cannot use alice's token to program vb0: exit 2" 2 $?
check_eq "  ... the same words" "$NOTHELD" "$(cat "$T/err")"
(cd "$T" && as bob submit --program vb0 --token "$TA" --top top --device hx1k --package tq144 \
     --pcf "$FIXTURES/blinky/icestick.pcf" "$FIXTURES/blinky/top.v" >/dev/null 2>"$T/err")
# (submit exits 3 for every refusal by the broker, as t0005 asserts for a
# time limit; the commands on jobs and boards exit 2)
check_eq "  ... nor with submit --program: exit 3" 3 $?
check_eq "  ... the same words" "$NOTHELD" "$(cat "$T/err")"
check_eq "bob has no program job" "" \
    "$(jget "$(as bob jobs --json)" '" ".join(j["id"] for j in d["jobs"] if j["kind"]=="program")')"
P=$(as alice program --board vb0 --token "$TA" "$JA" --wait 2>"$T/err")
check_eq "alice programs vb0 with her token" 0 $?
check_eq "  ... her job succeeded" succeeded "$(jget "$(as alice status "$P" --json)" 'd["state"]')"
check_eq "bob's BOARDS does not name alice's program job" null "$(jget "$(as bob boards --json)" "d['boards'][0]['last_job']")"
check_eq "alice's does" "$P" "$(bstate last_job)"
as alice release vb0 --token "$TA" >/dev/null
check_eq "alice releases it" "0 idle" "$? $(bstate state)"

# --- the daemons still serve the honest owner ----------------------------------------
check "the broker is alive after all of it" kill -0 "$BROKER_PID_broker"
as alice submit --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v \
    -o "$T/a2.bin" >/dev/null 2>&1
check_eq "alice still builds (a hit)" 0 $?
check "  ... the same bytes" cmp -s "$T/a.bin" "$T/a2.bin"
as alice logs "$JA" >"$T/alog" 2>&1
check "  ... and reads her first job's log" grep -q "SYNTH_ICE40" "$T/alog"
done_testing

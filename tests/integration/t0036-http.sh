#!/usr/bin/env bash
# The broker's HTTP API (docs/http.md, docs/openapi.json) on a CURVE farm
# with two client keys (alice, bob) and an admin key (root): each route's
# JSON equals the CLI's --json (the ZeroMQ replies' bodies); a running
# job's log streams as Server-Sent Events and ends with "event: end";
# /metrics counts what `bitfarm jobs` and `cache stats` say after a known
# sequence (builds, a hit, a failure, a cancel); tokens: a wrong one is
# 401, another tenant's job is 404 and absent from the list; OpenAPI
# describes exactly the routes served; plain HTTP on 0.0.0.0 is refused
# at start; TLS with a self-signed certificate; bad input is 4xx and the
# broker keeps serving.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
K=$T/keys A=$T/allow
kg() { "$BIN/bitfarm" keygen --dir "$K" --role "$@" >/dev/null; }
kg broker broker && kg worker w1 && kg client alice && kg client bob && kg client root
mkdir -p "$A/workers" "$A/clients" "$A/admins"
cp "$K/w1.key" "$A/workers/" && cp "$K/alice.key" "$K/bob.key" "$A/clients/" \
    && cp "$K/root.key" "$A/admins/"

start_broker broker --cert "$K/broker.key_secret" --keys "$A" --http 127.0.0.1:0
URL=$(sed -n 's/.*http API on \(http:[^ ]*\)\/api\/v1\/.*/\1/p' "$T/broker.log" | tail -1)
check "the broker says where it serves HTTP" test -n "$URL"
as() { local who=$1; shift; "$BIN/bitfarm" "$@" --broker "$BROKER_EP" --cert "$K/$who.key_secret" \
           --broker-key "$K/broker.key"; }
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w1" --name w1 --slots 2 \
    --cert "$K/w1.key_secret" --broker-key "$K/broker.key" >"$T/w1.log" 2>&1 &
PIDS+=("$!")
check "a worker registers" wait_until 30 bash -c \
    "'$BIN/bitfarm' workers --json --broker '$BROKER_EP' --cert '$K/root.key_secret' --broker-key '$K/broker.key' 2>/dev/null | grep -q '\"w1\"'"

# get PATH [curl options]: the body on stdout; HTTP status in $T/code, Content-Type in $T/type
get() { local p=$1; shift
        curl -sS --path-as-is -o "$T/body" -D "$T/head" -w '%{http_code}' "$@" "$URL$p" >"$T/code"
        sed -n 's/^[Cc]ontent-[Tt]ype: *\([^;\r]*\).*/\1/p' "$T/head" >"$T/type"; cat "$T/body"; }
# same JSON: the two documents equal, after dropping the CLI's "schema" field
same() { python3 - "$1" "$2" <<'EOF'
import json, sys
a, b = (json.loads(x) for x in sys.argv[1:3])
for d in (a, b):
    if isinstance(d, dict):
        d.pop("schema", None)
sys.exit(0 if a == b else 1)
EOF
}

# --- tokens (admin ZeroMQ commands) -------------------------------------------
TA=$(as root token create --role client --key alice 2>/dev/null)
TB=$(as root token create --role client --key bob 2>/dev/null)
TR=$(as root token create --role admin --key root 2>/dev/null)
check "root creates tokens (bft_ and 40 hex)" bash -c "[[ '$TA' =~ ^bft_[0-9a-f]{40}$ && '$TB' =~ ^bft_ && '$TR' =~ ^bft_ ]]"
as alice token create --role admin --key alice >/dev/null 2>"$T/err"
check_eq "a client key may not create tokens (exit 2)" 2 $?
check "  ... one line saying so" grep -q "may not create HTTP API tokens" "$T/err"
check_eq "token ls lists three" 3 "$(jget "$(as root token ls --json)" 'len(d["tokens"])')"
check "the state holds no token, only digests" bash -c "! grep -rqa '${TA#bft_}' '$T/broker'"
ha=(-H "Authorization: Bearer $TA") hb=(-H "Authorization: Bearer $TB")

# --- a sequence of jobs: alice builds twice (a hit) and fails once; bob cancels --
cd "$FIXTURES/blinky"
BLINKY=(--top top --device hx1k --package tq144 --pcf icestick.pcf top.v)
J1=$(as alice submit --wait "${BLINKY[@]}" 2>"$T/err")
check_eq "alice's build succeeds" 0 $?
J2=$(as alice submit --wait "${BLINKY[@]}" 2>>"$T/err")
check_eq "  ... and again: a cache hit" true "$(jget "$(as alice status "$J2" --json)" 'd["cache_hit"]')"
cd "$FIXTURES/broken"
J3=$(as alice submit --wait --top top --device hx1k syntax.v 2>>"$T/err")
check_eq "alice's broken design fails (exit 1)" 1 $?
cd "$FIXTURES/blinky"
J4=$(as bob submit --flow noop --delay 3s "${BLINKY[@]}" 2>>"$T/err")
J5=$(as bob submit --flow noop --delay 60s --seed 7 "${BLINKY[@]}" 2>>"$T/err")
wait_until 20 bash -c "'$BIN/bitfarm' status $J4 --json --broker '$BROKER_EP' --cert '$K/bob.key_secret' --broker-key '$K/broker.key' | grep -q '\"running\"'"
check "bob's noop job runs" test $? -eq 0

# --- the live log of a running job: SSE, to the end --------------------------
timeout 30 curl -sS -N -H "Accept: text/event-stream" "${hb[@]}" "$URL/api/v1/jobs/${J4:0:8}/log" \
    >"$T/sse" 2>"$T/sse.err"
check_eq "the stream ends when the job does (curl exits 0)" 0 $?
check "  ... with event: end and the final state" grep -qx 'data: {"state":"succeeded"}' "$T/sse"
check_eq "  ... after the event line" "event: end" "$(grep -B1 '^data: {"state"' "$T/sse" | head -1)"
check "  ... and log events before it" grep -q '^event: log' "$T/sse"
as bob cancel "$J5" >/dev/null
check_eq "bob cancels his long job" 0 $?

# --- every route's JSON is the CLI's --json (root over ZeroMQ, admin over loopback)
check "GET /api/v1/jobs = bitfarm jobs --json -n 100" same "$(get /api/v1/jobs)" \
    "$(as root jobs --json -n 100)"
check_eq "  ... 200 application/json" "200 application/json" "$(cat "$T/code") $(cat "$T/type")"
check "GET /api/v1/jobs/ID = bitfarm status --events --json" same "$(get "/api/v1/jobs/$J1")" \
    "$(as root status "$J1" --events --json)"
check "GET /api/v1/workers = bitfarm workers --json" same "$(get /api/v1/workers)" \
    "$(as root workers --json)"
check "GET /api/v1/boards = bitfarm boards --json" same "$(get /api/v1/boards)" \
    "$(as root boards --json)"
get /api/v1/cache/stats >"$T/cs.json"
check "GET /api/v1/cache/stats = bitfarm cache stats --json" same "$(cat "$T/cs.json")" \
    "$(as root cache stats --json)"
as root logs "$J1" >"$T/cli.log"
get "/api/v1/jobs/$J1/log" >"$T/http.log"
check "GET .../log = bitfarm logs (text/plain)" cmp -s "$T/cli.log" "$T/http.log"
check_eq "  ... text/plain" "text/plain" "$(cat "$T/type")"
as root fetch "$J1" -o "$T/cli.bin" >/dev/null
get "/api/v1/jobs/$J1/bitstream" >"$T/http.bin"
check "GET .../bitstream = bitfarm fetch (the same bytes)" cmp -s "$T/cli.bin" "$T/http.bin"
check "  ... a download named after the job" grep -qi "content-disposition: attachment; filename=\"$J1.bin\"" "$T/head"
as root fetch "$J1" --report -o "$T/cli.json" >/dev/null
get "/api/v1/jobs/$J1/report" >"$T/http.json"
check "GET .../report = bitfarm fetch --report" cmp -s "$T/cli.json" "$T/http.json"
get "/api/v1/jobs/$J3/bitstream" >/dev/null
check_eq "a failed job's bitstream: 404" 404 "$(cat "$T/code")"
F=$(get /api/v1/farm)
check_eq "GET /api/v1/farm: 1 worker, 2 slots, none queued" "1 2 0" \
    "$(jget "$F" '"%d %d %d" % (d["workers"], d["slots"], d["queued"])')"
check_eq "  ... its cache numbers are the cache's" \
    "$(jget "$(cat "$T/cs.json")" '"%d %d" % (d["hits"], d["misses"])')" \
    "$(jget "$F" '"%d %d" % (d["cache"]["hits"], d["cache"]["misses"])')"
check_eq "filters: state=failed is alice's broken job" "$J3" \
    "$(jget "$(get '/api/v1/jobs?state=failed')" '" ".join(j["id"] for j in d["jobs"])')"
check_eq "filters: owner=bob, limit=1: his newest" "$J5" \
    "$(jget "$(get '/api/v1/jobs?owner=bob&limit=1')" '" ".join(j["id"] for j in d["jobs"])')"
get '/api/v1/jobs?limit=0' >/dev/null
check_eq "a bad limit: 400" 400 "$(cat "$T/code")"

# --- metrics after the sequence: what the CLI says ---------------------------
get /metrics >"$T/metrics"
check_eq "GET /metrics: 200 text/plain" "200 text/plain" "$(cat "$T/code") $(cat "$T/type")"
check_eq "  ... version 0.0.4" 1 "$(grep -ci '^content-type: text/plain; version=0.0.4' "$T/head")"
m() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics"; }
JOBS=$(as root jobs --json -n 100)
for s in succeeded failed cancelled queued running; do
    check_eq "bitfarm_jobs_total{state=\"$s\"} = bitfarm jobs" \
        "$(jget "$JOBS" "sum(1 for j in d['jobs'] if j['state'] == '$s')")" \
        "$(m "bitfarm_jobs_total{state=\"$s\"}")"
done
check_eq "  ... succeeded: 3 (two builds, one noop), failed 1, cancelled 1" "3 1 1" \
    "$(m 'bitfarm_jobs_total{state="succeeded"}') $(m 'bitfarm_jobs_total{state="failed"}') $(m 'bitfarm_jobs_total{state="cancelled"}')"
check_eq "bitfarm_jobs_failed_total{failure_class=\"design\"}: 1" 1 \
    "$(m 'bitfarm_jobs_failed_total{failure_class="design"}')"
CS=$(as root cache stats --json)
for f in hits:bitfarm_cache_hits_total misses:bitfarm_cache_misses_total \
         bytes:bitfarm_cache_bytes evictions:bitfarm_cache_evictions_total \
         corruptions:bitfarm_cache_corruptions_total; do
    check_eq "${f#*:} = cache stats' ${f%%:*}" "$(jget "$CS" "d['${f%%:*}']")" "$(m "${f#*:}")"
done
check "  ... at least one hit" test "$(m bitfarm_cache_hits_total)" -ge 1
check_eq "bitfarm_workers_connected 1, bitfarm_worker_slots 2" "1 2" \
    "$(m bitfarm_workers_connected) $(m bitfarm_worker_slots)"
check "a synth stage histogram" grep -q '^bitfarm_build_duration_seconds_count{stage="synth"} [1-9]' "$T/metrics"
check "the queue wait histogram ends with +Inf" grep -q '^bitfarm_queue_wait_seconds_bucket{le="+Inf"} [1-9]' "$T/metrics"
check "memory and database sizes" bash -c "grep -q '^bitfarm_broker_resident_memory_bytes [1-9]' '$T/metrics' && grep -q '^bitfarm_database_bytes [1-9]' '$T/metrics'"
check "every metric has # HELP and # TYPE" python3 - "$T/metrics" <<'EOF'
import re, sys
seen = set(); typed = set()
for line in open(sys.argv[1]):
    if line.startswith("# TYPE "): typed.add(line.split()[2])
    elif line.startswith("# HELP "): seen.add(line.split()[2])
    elif line.strip():
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if base not in typed and name not in typed: sys.exit("untyped: " + name)
sys.exit(0 if seen == typed else 1)
EOF

# --- tenants through tokens ---------------------------------------------------
get "/api/v1/jobs/$J1" "${hb[@]}" >/dev/null
check_eq "bob's token: alice's job is 404" 404 "$(cat "$T/code")"
check_eq "  ... as no job" "no job '$J1'" "$(jget "$(cat "$T/body")" 'd["error"]')"
get "/api/v1/jobs/${J1:0:6}/log" "${hb[@]}" >/dev/null
check_eq "  ... its log by prefix too" 404 "$(cat "$T/code")"
get "/api/v1/jobs/$J1/bitstream" "${hb[@]}" >/dev/null
check_eq "  ... and its bitstream" 404 "$(cat "$T/code")"
check_eq "bob's token lists only bob's jobs" "$J5 $J4" \
    "$(jget "$(get /api/v1/jobs "${hb[@]}")" '" ".join(j["id"] for j in d["jobs"])')"
check "alice's token lists what alice's key does" same "$(get /api/v1/jobs "${ha[@]}")" \
    "$(as alice jobs --json -n 100)"
check "alice's token: her job as her key sees it" same "$(get "/api/v1/jobs/$J1" "${ha[@]}")" \
    "$(as alice status "$J1" --events --json)"
get /api/v1/farm -H "Authorization: Bearer bft_0000000000000000000000000000000000000000" >/dev/null
check_eq "an unknown token: 401" 401 "$(cat "$T/code")"
check "  ... with WWW-Authenticate" grep -qi '^www-authenticate: Bearer' "$T/head"
get /api/v1/farm -H "Authorization: Bearer nonsense" >/dev/null
check_eq "a malformed token: 401" 401 "$(cat "$T/code")"
TID=$(jget "$(as root token ls --json)" '[t["id"] for t in d["tokens"] if t["name"] == "bob"][0]')
as root token revoke "$TID" >/dev/null
get /api/v1/jobs "${hb[@]}" >/dev/null
check_eq "a revoked token: 401 at once" 401 "$(cat "$T/code")"

# --- OpenAPI: valid, and the very routes served --------------------------------
check "docs/openapi.json is OpenAPI 3 JSON" python3 -c \
    "import json,sys; d=json.load(open('$SRC/docs/openapi.json')); sys.exit(0 if d['openapi'].startswith('3.') else 1)"
served=$(sed -n 's/^ *{ "\(\/[^"]*\)", s_[a-z_]* },$/\1/p' "$SRC/src/broker/bf_http_api.c" | sort)
documented=$(python3 -c "import json; print('\n'.join(sorted(json.load(open('$SRC/docs/openapi.json'))['paths'])))")
check_eq "every route served is documented, and no other" "$served" "$documented"
check "  ... (ten of them)" test "$(echo "$served" | wc -l)" -eq 10
for p in $documented; do
    want=$(python3 -c "import json; r=json.load(open('$SRC/docs/openapi.json'))['paths']['$p']['get']['responses']['200']; print(list(r['content'])[0])")
    get "${p//\{id\}/$J1}" "${ha[@]}" >/dev/null
    check_eq "GET $p: 200 $want" "200 $want" "$(cat "$T/code") $(cat "$T/type")"
done

# --- bad input: 4xx, and the broker still serves ---------------------------------
get "/api/v1/jobs/$(head -c 10000 /dev/zero | tr '\0' a)" >/dev/null
check "a 10 kB URL: 4xx" bash -c "[[ $(cat "$T/code") == 4?? ]]"
get "/api/v1/jobs/$(head -c 5000 /dev/zero | tr '\0' a)" >/dev/null
check "a 5 kB URL: 4xx" bash -c "[[ $(cat "$T/code") == 4?? ]]"
get "/api/v1/jobs/XYZ!" >/dev/null
check_eq "a bad id: 400" 400 "$(cat "$T/code")"
get "/api/v1/jobs/ffff0000" >/dev/null
check_eq "an unknown id: 404" 404 "$(cat "$T/code")"
get "/../../../etc/passwd" >/dev/null
check_eq "../ in a static path: 400" 400 "$(cat "$T/code")"
mkdir -p "$T/root" && echo '<p>hi</p>' >"$T/root/index.html" && ln -s /etc/passwd "$T/root/pw.txt"
get "/api/v1/nothing" >/dev/null
check_eq "an unknown route: 404" 404 "$(cat "$T/code")"
check_eq "HEAD: 200, no body" "200 0" \
    "$(curl -sS -I -o /dev/null -w '%{http_code} %{size_download}' "$URL/api/v1/farm")"
get "/api/v1/farm" -X POST >/dev/null
check_eq "POST: 405" 405 "$(cat "$T/code")"
get "/api/v1/farm" -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' b)" >/dev/null
check "a 40 kB header: 4xx" bash -c "[[ $(cat "$T/code") == 4?? ]]"
get "/api/v1/jobs?owner=$(head -c 2000 /dev/zero | tr '\0' c)" >/dev/null
check_eq "a 2 kB query value: 400" 400 "$(cat "$T/code")"
get / >/dev/null
check_eq "the dashboard's page: 200 text/html" "200 text/html" "$(cat "$T/code") $(cat "$T/type")"
check "  ... checked each time (Cache-Control: no-cache)" grep -qi '^cache-control: no-cache' "$T/head"
check "the broker still serves HTTP" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$URL/api/v1/farm')\" = 200 ]"
check "  ... and ZeroMQ" as root jobs --json -n 1 >/dev/null

# --- a second, plain broker: static root, TLS, refusal on 0.0.0.0 ------------------
"$BIN/bitfarm-broker" --listen 'tcp://127.0.0.1:*' --state-dir "$T/p0" --http 0.0.0.0:0 \
    >"$T/p0.out" 2>"$T/p0.err"
check_eq "plain HTTP on 0.0.0.0 without --insecure: the broker refuses to start (exit 1)" 1 $?
check_eq "  ... in one line naming the address" \
    "bitfarm-broker: refusing to serve plain HTTP on '0.0.0.0:0': give --http-cert and --http-key, or --insecure" \
    "$(tail -1 "$T/p0.err")"
start_broker p1 --http 0.0.0.0:0 --insecure --http-root "$T/root" --metrics-public
U1=$(sed -n 's/.*http API on \(http:[^ ]*\)\/api\/v1\/.*/\1/p' "$T/p1.log" | tail -1)
U1=${U1/0.0.0.0/127.0.0.1}
check_eq "with --insecure on 0.0.0.0, no token: 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$U1/api/v1/farm")"
check_eq "  ... but /metrics with --metrics-public: 200" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$U1/metrics")"
check_eq "  ... the static root still serves its page" "<p>hi</p>" "$(curl -s "$U1/")"
check_eq "  ... but no symbolic link out of it" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$U1/pw.txt")"
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" \
        -out "$T/tls.crt" >/dev/null 2>&1
    start_broker p2 --http 127.0.0.1:0 --http-cert "$T/tls.crt" --http-key "$T/tls.key" \
        --http-require-token
    U2=$(sed -n 's/.*http API on \(https:[^ ]*\)\/api\/v1\/.*/\1/p' "$T/p2.log" | tail -1)
    check "TLS: the broker serves https" test -n "$U2"
    check_eq "  ... --http-require-token: loopback without a token is 401" 401 \
        "$(curl -s --cacert "$T/tls.crt" -o /dev/null -w '%{http_code}' "$U2/api/v1/farm")"
    T2=$("$BIN/bitfarm" token create --role admin --key ops --broker "$BROKER_EP" 2>/dev/null)
    F2=$(curl -sS --cacert "$T/tls.crt" -H "Authorization: Bearer $T2" "$U2/api/v1/farm")
    check_eq "  ... curl --cacert verifies it and, with a token, gets the farm" "bitfarm 0.1.0" \
        "$(jget "$F2" 'd["version"]')"
    curl -sS "$U2/api/v1/farm" >/dev/null 2>&1
    check "  ... an unknown certificate fails" test $? -ne 0
else
    skip "TLS" "openssl is not installed"
fi

# --- the local farm: 127.0.0.1:8080 or any port, its URL in http.url --------------
BITFARM_LOCAL_HTTP=127.0.0.1:0 "$BIN/bitfarm" farm start >/dev/null 2>&1
check_eq "a local farm starts" 0 $?
LU=$(cat "$XDG_CACHE_HOME/bitfarm/http.url" 2>/dev/null)
check "  ... and writes its URL to http.url" bash -c "[[ '$LU' =~ ^http://127\.0\.0\.1:[0-9]+$ ]]"
check "  ... which farm status shows" bash -c "'$BIN/bitfarm' farm status | grep -qF 'http       $LU/'"
check "  ... and which serves the farm (its worker registers)" wait_until 20 bash -c \
    "curl -s '$LU/api/v1/farm' | grep -q '\"workers\":1'"
"$BIN/bitfarm" farm stop >/dev/null 2>&1
check "  ... removed when it stops" test ! -e "$XDG_CACHE_HOME/bitfarm/http.url"
done_testing

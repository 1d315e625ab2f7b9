#!/usr/bin/env bash
# The web dashboard (dashboard/, docs/dashboard.md) in a real browser:
# headless Chromium, driven over the DevTools protocol by
# tests/dashboard/drive.mjs (Node's standard library only), loads the
# dashboard the local farm's broker serves while real jobs run, and checks
# what it shows against the CLI's --json: job ids and states, the queue,
# workers, boards and their reservation, the cache's numbers.  It follows
# a real build to success on its job page (the live log over server-sent
# events, the report, the bitstream download), shows a failed job's error
# (tool output holding HTML) as text, and saves screenshots of every page
# at 1280x800 and 390x844 under build/screenshots/.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
case ${BUILD:-build} in
    /*) SHOTS=${BUILD}/screenshots ;;
    *)  SHOTS=$SRC/${BUILD:-build}/screenshots ;;
esac
CHROMIUM=${BITFARM_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || skip_all "the dashboard in a browser: chromium is not installed (scripts/install-deps)"
command -v node >/dev/null || skip_all "the dashboard in a browser: node is not installed (scripts/install-deps)"
"$BIN/bitfarm-broker" --help 2>&1 | grep -q -- '--http' \
    || skip_all "the dashboard in a browser: this bitfarm-broker has no --http (the HTTP API)"

# drive PHASE ARGS...: runs the browser; each "PASS x" / "FAIL x<TAB>why"
# line it prints becomes a check
drive() {
    local out rc
    out=$(CHROMIUM=$CHROMIUM BF="$BIN/bitfarm" SHOTS=$SHOTS \
          timeout 300 node "$SRC/tests/dashboard/drive.mjs" "$@" 2>"$T/drive-$1.err")
    rc=$?
    local seen=0
    while IFS= read -r line; do
        case $line in
            "PASS "*) ok "${line#PASS }"; seen=1 ;;
            "FAIL "*) line=${line#FAIL }; not_ok "${line%%$'\t'*}" "${line#*$'\t'}"; seen=1 ;;
            "NOTE "*) echo "# ${line#NOTE }" ;;
        esac
    done <<<"$out"
    if [ "$seen" -eq 0 ] || { [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; }; then
        local lines=()
        mapfile -t lines < <(tail -8 "$T/drive-$1.err")
        not_ok "the browser ran the $1 page (exit $rc)" "${lines[@]}"
    fi
}

# The local farm, with its HTTP API and dashboard.
"$BIN/bitfarm" farm start >"$T/farm.out" 2>&1
check_eq "the local farm starts" 0 $?
wait_until 20 test -s "$XDG_CACHE_HOME/bitfarm/http.url"
URL=$(head -1 "$XDG_CACHE_HOME/bitfarm/http.url" 2>/dev/null)
case $URL in
    http://127.0.0.1:*) ok "the local farm's broker serves HTTP on loopback ($URL)" ;;
    *) bail "the local farm's broker serves HTTP on loopback" "$XDG_CACHE_HOME/bitfarm/broker.log" ;;
esac
URL=${URL%/}/
page=$(python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$URL" 2>&1)
check "  ... and the dashboard at /" grep -q 'src="farm.js"' <<<"$page"

# A design whose error line is HTML: the dashboard must show it as text.
mkdir -p "$T/evil"
cat >"$T/evil/top.v" <<'EOF'
module top (input clk, output reg led);
  initial $display("ERROR: <img src=x onerror=\"window.__bitfarm_pwned=1\"> <b>bold</b> & done");
  always @(posedge clk) led <= ~led;
  no_such_module u (.a(clk));
endmodule
EOF
cd "$T/evil"
evil=$("$BIN/submit" --top top --device hx1k "$T/evil/top.v" 2>"$T/evil.err")
"$BIN/bitfarm" wait "$evil" >/dev/null 2>&1
check_eq "the design with HTML in its error fails as a design failure" 1 $?
check "  ... with that line as its error" grep -q '<img src=x' <<<"$("$BIN/bitfarm" status "$evil" --json)"

# While the page is open: a no-tool job holds the local farm's one slot,
# a real build waits behind it, and vboard0 is reserved.
cd "$FIXTURES/blinky"
slow=$("$BIN/submit" --flow noop --delay 25s --top top --device hx1k --package tq144 top.v 2>>"$T/submit.err")
build=$("$BIN/submit" --seed 7 --top top --device hx1k --package tq144 --pcf icestick.pcf top.v 2>>"$T/submit.err")
check "a no-tool job and a real build are submitted" test -n "$slow" -a -n "$build"
tok=$("$BIN/bitfarm" reserve vboard0 --for 10m --by dashboard-test 2>>"$T/submit.err")
check "vboard0 is reserved" [ ${#tok} -eq 32 ]
wait_until 20 bash -c "'$BIN/bitfarm' status $slow --json | grep -q '\"state\": \"running\"'"
check "the no-tool job is running" test $? -eq 0

drive farm "$URL"
drive job "$URL" "$build" succeeded

# The same build again is a cache hit, which the cache page counts.
again=$("$BIN/submit" --json --seed 7 --top top --device hx1k --package tq144 --pcf icestick.pcf top.v 2>>"$T/submit.err")
check_eq "the build submitted again is a cache hit" true "$(jget "$again" 'd["cache_hit"]')"
drive cache "$URL"
drive job "$URL" "$evil" failed
"$BIN/bitfarm" release vboard0 --token "$tok" >/dev/null 2>&1

# A broker that wants a token even on loopback.
start_broker tok --http 127.0.0.1:0 --http-require-token --http-url-file "$T/tok.url"
wait_until 10 test -s "$T/tok.url"
token=$("$BIN/bitfarm" token create --role client --key dash --broker "$BROKER_EP" 2>>"$T/submit.err")
check "a token for the HTTP API" test -n "$token"
cd "$FIXTURES/blinky"
queued=$(BITFARM_BROKER=$BROKER_EP "$BIN/submit" --flow noop --delay 1s --top top --device hx1k top.v 2>>"$T/submit.err")
check "a job waits there (no worker)" test -n "$queued"
drive token "$(head -1 "$T/tok.url")/" "$token" "$queued"

# The screenshots: every page, at the desktop's and the phone's size.
for p in farm job-succeeded job-failed cache; do
    check_eq "screenshot $p-desktop.png is 1280x800" "1280x800" \
        "$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8]==b"\x89PNG\r\n\x1a\n" else "not a PNG")' "$SHOTS/$p-desktop.png" 2>&1)"
    check_eq "screenshot $p-phone.png is 390x844" "390x844" \
        "$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8]==b"\x89PNG\r\n\x1a\n" else "not a PNG")' "$SHOTS/$p-phone.png" 2>&1)"
done

# Nothing the API sends is put into a page as markup.
check "the dashboard never assigns innerHTML/outerHTML or calls document.write" \
    bash -c "! grep -nE '\.(innerHTML|outerHTML)|insertAdjacentHTML|document\.write' '$SRC'/dashboard/*.js"

"$BIN/bitfarm" farm stop >/dev/null 2>&1
done_testing

#!/usr/bin/env bash
# The project file (bitfarm.ini) and the CI recipe: errors name the file
# and line; a target resolves to the same manifest and cache key as the
# same flags on the command line (the fixtures' own bitfarm.ini); init
# writes a file that resolves back to its flags and never overwrites one;
# examples/ci/build.sh, run as a CI runner runs it (secrets as text in the
# environment) against a real CURVE farm, builds three targets of which
# one fails: exit status 1, all jobs submitted before any is waited for, a
# JUnit report a real XML parser reads (one test case per target, duration,
# cache hit, Fmax against target, utilisation, the tool's error as the
# failure), the bitstreams, reports and logs as artifacts; a second run is
# all cache hits; --json carries "schema": 1.
. "$(dirname "$0")/lib.sh"
BF=$BIN/bitfarm
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TC=$(printf 'a%.0s' $(seq 64))   # a fixed toolchain id: explain needs no farm

# --- help -----------------------------------------------------------------
out=$("$BF" help submit)
for o in "-t, --target NAME" "--all" "--junit FILE" "--artifacts DIR"; do
    check "help submit shows $o" grep -q -- "^  $o" <<<"$out"
done
check "help submit tells where targets come from" grep -q "bitfarm.ini in the current directory" <<<"$out"
check "--help lists init" bash -c "'$BF' --help | grep -q '^  init '"
check "help explain shows -t" bash -c "'$BF' help explain | grep -q -- '^  -t, --target NAME'"

# --- errors, with the line ------------------------------------------------
P=$T/errs
mkdir -p "$P/rtl/sub"
cp "$FIXTURES/blinky/top.v" "$P/rtl/"
# refused DESCRIPTION EXPECTED-LINE INI-TEXT [ARGS...]: explain exits 2 with that line
refused() {
    local d=$1 want=$2 text=$3; shift 3
    printf '%s\n' "$text" >"$P/bitfarm.ini"
    (cd "$P/rtl/sub" && "$BF" explain --toolchain "$TC" "$@") >"$T/out" 2>"$T/err"
    local rc=$?
    check_eq "$d: exit 2" 2 "$rc"
    check_eq "$d: says so" "$want" "$(cat "$T/err")"
}
refused "an unknown key" "bitfarm: $P/bitfarm.ini:4: unknown key 'sede' in [blinky]" \
    $'[blinky]\ntop = top\ndevice = hx1k\nsede = 3\nsources = rtl/*.v'
refused "an unknown section" \
    "bitfarm: $P/bitfarm.ini:2: unknown section '[target blinky]' (a target's name is letters, digits, '_', '.' and '-'; settings go in [bitfarm])" \
    $'[target blinky]\ntop = top'
refused "an unknown setting" "bitfarm: $P/bitfarm.ini:2: unknown key 'defualt' in [bitfarm] (known: default)" \
    $'[bitfarm]\ndefualt = x'
refused "a key given twice" "bitfarm: $P/bitfarm.ini:4: 'top' given twice in [b] (first at line 2)" \
    $'[b]\ntop = top\ndevice = hx1k\ntop = other'
refused "a syntax error" \
    "bitfarm: $P/bitfarm.ini:3: syntax error (want [TARGET], KEY = VALUE or a ; comment)" \
    $'[b]\ntop = top\nthis is not ini\ndevice = hx1k'
refused "a glob that matches nothing" "bitfarm: $P/bitfarm.ini:4: no file matches 'rtl/*.sv' in [b]" \
    $'[b]\ntop = top\ndevice = hx1k\nsources = rtl/*.sv'
refused "a bad value" \
    "bitfarm: $P/bitfarm.ini:4: invalid value 'soon' for --seed (want an integer 0..2147483647) in [b]" \
    $'[b]\ntop = top\ndevice = hx1k\nseed = soon\nsources = rtl/*.v'
refused "an undefined default" "bitfarm: $P/bitfarm.ini:2: default target 'nope' is not defined" \
    $'[bitfarm]\ndefault = nope\n[b]\ntop = top\ndevice = hx1k\nsources = rtl/*.v'
refused "a target without a device" "bitfarm: $P/bitfarm.ini:2: target 'b' needs 'top' and 'device'" \
    $'[b]\ntop = top\nsources = rtl/*.v'
refused "an unknown target" "bitfarm: no target 'x' in $P/bitfarm.ini (targets: a, b)" \
    $'[a]\ntop = top\ndevice = hx1k\nsources = rtl/*.v\n[b]\ntop = top\ndevice = hx1k\nsources = rtl/*.v' -t x
rm "$P/bitfarm.ini"
(cd "$P/rtl" && "$BF" submit -n) 2>"$T/err"
check_eq "submit without files or bitfarm.ini: exit 2" 2 $?
check "  ... saying there is no bitfarm.ini" grep -q "^bitfarm: no files given, and no bitfarm.ini in '$P/rtl' or any directory above it" "$T/err"
(cd "$FIXTURES" && "$BF" submit --all top.v) 2>"$T/err"
check_eq "files and --all together: exit 2" 2 $?
(cd "$FIXTURES" && "$BF" submit --all -o x.bin) 2>"$T/err"
check_eq "-o with several targets: exit 2" 2 $?
(cd "$FIXTURES" && "$BF" submit --all --junit j.xml) 2>"$T/err"
check_eq "--junit without --wait: exit 2" 2 $?
check_eq "  ... saying so" "bitfarm: --junit needs --wait" "$(cat "$T/err")"

# no broker: every target is an <error>, exit 3
printf '[a]\ntop = top\ndevice = hx1k\nsources = rtl/*.v\n[b]\ntop = top\ndevice = hx1k\nseed = 3\nsources = rtl/*.v\n' >"$P/bitfarm.ini"
(cd "$P" && "$BF" submit --all --wait --junit "$T/nobroker.xml" --broker tcp://127.0.0.1:1 \
    --request-timeout 300ms) >/dev/null 2>&1
check_eq "submit --all with no broker: exit 3" 3 $?
check "  ... the JUnit report has one <error> per target, saying why" python3 -c '
import sys, xml.etree.ElementTree as ET
cs = ET.parse(sys.argv[1]).getroot().findall("testsuite/testcase")
sys.exit(0 if len(cs) == 2 and all(c.find("error") is not None and c.find("error").get("type") == "infrastructure"
                                    and "no answer from broker" in c.find("error").get("message") for c in cs) else 1)' "$T/nobroker.xml"
rm "$P/bitfarm.ini"

# --- the fixtures' bitfarm.ini resolves as the command line does ------------
key() { grep '^cache key' | awk '{print $3}'; }
k_ini=$(cd "$FIXTURES/memsoc/rtl" && "$BF" explain --toolchain "$TC" -t memsoc | key)
k_cli=$(cd "$FIXTURES/memsoc" && "$BF" explain --toolchain "$TC" --top soc --device up5k \
        --package sg48 --pcf icebreaker.pcf -I rtl/inc --param memfile=sw/firmware.hex \
        rtl/soc.v rtl/rom.sv | key)
check "fixtures' memsoc target: a cache key" test -n "$k_ini"
check_eq "  ... the same as its flags give, from a subdirectory too" "$k_cli" "$k_ini"
k_ini=$(cd "$FIXTURES" && "$BF" explain --toolchain "$TC" | key)
k_cli=$(cd "$FIXTURES/blinky" && "$BF" explain --toolchain "$TC" --top top --device hx1k \
        --package tq144 --pcf icestick.pcf top.v | key)
check_eq "explain without -t: the default target (blinky)" "$k_cli" "$k_ini"
k_ini=$(cd "$FIXTURES" && "$BF" explain --toolchain "$TC" -t dsp --seed 7 | key)
k_cli=$(cd "$FIXTURES/dsp" && "$BF" explain --toolchain "$TC" --top mac --device up5k \
        --package sg48 --pcf icebreaker.pcf --synth-opt -dsp --seed 7 mac.v | key)
check_eq "a command-line option adds to the target's" "$k_cli" "$k_ini"
out=$(cd "$FIXTURES" && "$BF" explain --toolchain "$TC" -t hx4k)
check "explain -t shows each key with its line" grep -q "^  bitfarm.ini:[0-9]*  package = tq144:4k$" <<<"$out"
check "  ... and the command line it amounts to" grep -q "^  submit --top blink --device hx8k --package 'tq144:4k' --pcf 'hx4k/pins.pcf' --root 'hx4k' --toolchain '$TC' hx4k/blink.v$" <<<"$out"
n_files=$(cd "$FIXTURES" && "$BF" submit -n -t memsoc | grep -c '^source ')
check_eq "submit -n -t: the target's sources" 2 "$n_files"

# --- init -----------------------------------------------------------------
I=$T/init
mkdir -p "$I" && cp "$FIXTURES/dsp/"* "$I/"
flags=(--top mac --device up5k --package sg48 --pcf icebreaker.pcf --synth-opt -dsp -D W=8)
out=$(cd "$I" && "$BF" init -t mac16 "${flags[@]}" mac.v)
check_eq "init exits 0, saying what it wrote" "wrote bitfarm.ini with target 'mac16'" "$out"
check "  ... a [mac16] section with the flags" grep -q "^synth-opt = -dsp$" "$I/bitfarm.ini"
check_eq "  ... that resolves to the flags' key" \
    "$(cd "$I" && "$BF" explain --toolchain "$TC" "${flags[@]}" mac.v | key)" \
    "$(cd "$I" && "$BF" explain --toolchain "$TC" | key)"
cp "$I/bitfarm.ini" "$T/before"
(cd "$I" && "$BF" init --top x --device hx1k mac.v) 2>"$T/err"
check_eq "init never overwrites: exit 2" 2 $?
check_eq "  ... saying so" "bitfarm: bitfarm.ini already exists (not overwritten)" "$(cat "$T/err")"
check "  ... and the file is unchanged" cmp "$I/bitfarm.ini" "$T/before"

# --- the recipes: YAML that runs build.sh with the three secrets, uploads out/
if python3 -c 'import yaml' 2>/dev/null; then
    check "the recipes are YAML that run build.sh with the secrets and keep bitfarm-out/" python3 - "$SRC/examples/ci" <<'PY'
import sys, yaml
d = sys.argv[1]
gh = yaml.safe_load(open(d + "/.github/workflows/bitfarm.yml"))
steps = gh["jobs"]["build"]["steps"]
run = [s for s in steps if "build.sh" in s.get("run", "")]
env = run[0]["env"] if run else {}
up = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
ok_gh = (len(run) == 1 and "submit" not in run[0]["run"]
         and all("secrets." + k in env.get(k, "") for k in
                 ("BITFARM_BROKER", "BITFARM_CLIENT_KEY", "BITFARM_BROKER_PUBKEY"))
         and up and up[0]["with"]["path"].rstrip("/") == env["BITFARM_OUT"])
gl = yaml.safe_load(open(d + "/.gitlab-ci.yml"))["bitstreams"]
ok_gl = (any("build.sh" in l for l in gl["script"]) and "bitfarm-out/" in gl["artifacts"]["paths"]
         and gl["artifacts"]["reports"]["junit"] == "bitfarm-out/junit.xml")
sys.exit(0 if ok_gh and ok_gl else 1)
PY
else
    ok "the recipes are YAML # SKIP python3 has no yaml module"
fi

# --- the CI recipe, against a real CURVE farm ----------------------------
K=$T/keys A=$T/allow
mkdir -p "$K" "$A/workers" "$A/clients" "$A/admins"
for r in "broker broker" "worker w1" "client ci"; do
    set -- $r; "$BF" keygen --dir "$K" --role "$1" "$2" >/dev/null
done
cp "$K/w1.key" "$A/workers/"; cp "$K/ci.key" "$A/clients/"
start_broker broker --cert "$K/broker.key_secret" --keys "$A" \
    || { not_ok "CURVE broker starts"; done_testing; exit 1; }
"$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/w1" --name w1 \
    --cert "$K/w1.key_secret" --broker-key "$K/broker.key" >"$T/w1.log" 2>&1 &
PIDS+=("$!")
check "the worker registers" wait_until 30 bash -c \
    "'$BF' workers --broker '$BROKER_EP' --cert '$K/ci.key_secret' --broker-key '$K/broker.key' | grep -q '^w1 '"

R=$T/repo
mkdir -p "$R"
cp -r "$FIXTURES/blinky" "$FIXTURES/hx4k" "$FIXTURES/broken" "$R/"
cat >"$R/bitfarm.ini" <<'INI'
; three targets, one of which fails (a syntax error)
[blinky]
top     = top
device  = hx1k
package = tq144
pcf     = blinky/icestick.pcf
sources = blinky/*.v
[broken]
top     = top
device  = hx1k
sources = broken/*.v
[hx4k]
top     = blink
device  = hx8k
package = tq144:4k
pcf     = hx4k/pins.pcf
sources = hx4k/*.v
INI
# ci_run OUTDIR: examples/ci/build.sh as a CI runner runs it: the secrets
# as text in the environment, nothing else of ours
ci_run() {
    (cd "$R" && env -u BITFARM_CERT -u BITFARM_BROKER_KEY BITFARM="$BF" BITFARM_OUT="$1" \
        BITFARM_BROKER="$BROKER_EP" BITFARM_CLIENT_KEY="$(cat "$K/ci.key_secret")" \
        BITFARM_BROKER_PUBKEY="$(cat "$K/broker.key")" \
        timeout 600 sh "$SRC/examples/ci/build.sh")
}
ci_run "$T/out1" >"$T/ci1.out" 2>"$T/ci1.err"
check_eq "build.sh: exit 1 (a design failed, the others built)" 1 $?
sed 's/^/#   /' "$T/ci1.err" | tail -5
mapfile -t ids < <(awk 'NF == 2 && length($1) >= 16 {print $1}' "$T/out1/summary.txt")
check_eq "  ... one job per target" 3 "${#ids[@]}"
check "  ... the summary says broken failed" grep -q "^broken  *failed" "$T/out1/summary.txt"
# all submitted before any was waited for: with one worker, the last
# submission came before the first job ended
sub_max=0 fin_min=99999999999999
for id in "${ids[@]}"; do
    j=$("$BF" status "$id" --json --broker "$BROKER_EP" --cert "$K/ci.key_secret" \
        --broker-key "$K/broker.key")
    s=$(jget "$j" 'int(__import__("datetime").datetime.strptime(d["submitted_at"],"%Y-%m-%dT%H:%M:%S.%fZ").timestamp()*1000)')
    f=$(jget "$j" 'int(__import__("datetime").datetime.strptime(d["finished_at"],"%Y-%m-%dT%H:%M:%S.%fZ").timestamp()*1000)')
    [ "$s" -gt "$sub_max" ] && sub_max=$s
    [ "$f" -lt "$fin_min" ] && fin_min=$f
    check_eq "status --json of $id: schema 1" 1 "$(jget "$j" 'd.get("schema")')"
done
check "  ... every job was submitted before the first one ended" test "$sub_max" -le "$fin_min"

# junit_check FILE HIT: the report, read by python's xml.etree
junit_check() {
    python3 - "$1" "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
hit = sys.argv[2]
def ok(c, what):
    print(("ok" if c else "not ok") + " - junit: " + what)
suites = root.findall("testsuite")
ok(root.tag == "testsuites" and len(suites) == 1, "one testsuite in testsuites")
cases = {c.get("name"): c for c in suites[0].findall("testcase")}
ok(sorted(cases) == ["blinky", "broken", "hx4k"], "one testcase per target: %s" % sorted(cases))
ok(suites[0].get("tests") == "3" and suites[0].get("failures") == "1" and suites[0].get("errors") == "0",
   "counts: tests=3 failures=1 errors=0 (%s)" % dict(suites[0].attrib))
for name in ("blinky", "hx4k"):
    c = cases.get(name)
    if c is None: continue
    p = {e.get("name"): e.get("value") for e in c.iter("property")}
    ok(c.find("failure") is None and c.find("error") is None, name + ": passed")
    ok(float(c.get("time")) > 0 or hit == "true", name + ": a duration (%s s)" % c.get("time"))
    ok(p.get("cache_hit") == hit, name + ": cache_hit=" + hit)
    ok(p.get("state") == "succeeded" and len(p.get("job", "")) >= 16, name + ": state and job id")
    clk = [k for k in p if k.startswith("clock.") and k.endswith(".achieved_mhz")]
    ok(len(clk) >= 1 and float(p[clk[0]]) > 0, name + ": Fmax achieved " + str([p[k] for k in clk]))
    ok(any(k.endswith(".target_mhz") for k in p) and any(k.endswith(".met") for k in p),
       name + ": against the target")
    lc = p.get("utilization.logic_cells", "")
    ok("/" in lc and int(lc.split("/")[0]) > 0, name + ": utilisation " + lc)
c = cases.get("broken")
if c is not None:
    f = c.find("failure")
    ok(f is not None and f.get("type") == "design", "broken: a design failure")
    ok(f is not None and "syntax error" in (f.get("message") or ""),
       "broken: the tool's error as the message: %r" % (f.get("message") if f is not None else None))
PY
}
out=$(junit_check "$T/out1/junit.xml" false 2>&1)
echo "$out" | while read -r l; do case "$l" in ok*) ok "${l#ok - }";; "not ok"*) not_ok "${l#not ok - }";; *) not_ok "junit: $l";; esac; done
nfailed=$((nfailed + $(grep -c '^not ok' <<<"$out") + $(grep -vc '^ok\|^not ok' <<<"$out")))
n=$((n + $(grep -c '' <<<"$out")))
for f in blinky.bin blinky.report.json blinky.log hx4k.bin hx4k.report.json broken.log; do
    check "artifact $f" test -s "$T/out1/$f"
done
check "no bitstream for the failed target" test ! -e "$T/out1/broken.bin"
check "the failed target's log holds the error" grep -q "syntax error" "$T/out1/broken.log"
check "the bitstream artifact is the job's" test "$(sha256sum <"$T/out1/blinky.bin" | cut -d' ' -f1)" = \
    "$(jget "$("$BF" status "${ids[0]}" --json --broker "$BROKER_EP" --cert "$K/ci.key_secret" --broker-key "$K/broker.key")" 'd["bitstream_sha256"]')"

ci_run "$T/out2" >"$T/ci2.out" 2>"$T/ci2.err"
check_eq "a second run: exit 1 again" 1 $?
out=$(junit_check "$T/out2/junit.xml" true 2>&1)
echo "$out" | while read -r l; do case "$l" in ok*) ok "${l#ok - }";; "not ok"*) not_ok "${l#not ok - }";; *) not_ok "junit: $l";; esac; done
nfailed=$((nfailed + $(grep -c '^not ok' <<<"$out") + $(grep -vc '^ok\|^not ok' <<<"$out")))
n=$((n + $(grep -c '' <<<"$out")))
check "  ... the same bitstreams" cmp "$T/out1/hx4k.bin" "$T/out2/hx4k.bin"

# --- --json of submit --all, and of one target ---------------------------
CURVE=(--broker "$BROKER_EP" --cert "$K/ci.key_secret" --broker-key "$K/broker.key")
j=$(cd "$R" && "$BF" submit --all --wait --json "${CURVE[@]}" 2>/dev/null)
check_eq "submit --all --json: exit 1" 1 $?
check_eq "  ... schema 1" 1 "$(jget "$j" 'd["schema"]')"
check_eq "  ... the worst exit" 1 "$(jget "$j" 'd["exit"]')"
check_eq "  ... each target's exit" "blinky=0 broken=1 hx4k=0" \
    "$(jget "$j" '" ".join("%s=%d" % (t["target"], t["exit"]) for t in d["targets"])')"
check_eq "  ... with its job" "failed" "$(jget "$j" '[t for t in d["targets"] if t["target"]=="broken"][0]["job"]["state"]')"
j=$(cd "$R/hx4k" && "$BF" submit -t blinky --json "${CURVE[@]}")
check_eq "submit -t NAME --json: one job, schema 1, its target" "1 blinky queued" \
    "$(jget "$j" '"%s %s %s" % (d["schema"], d["target"], "queued" if d["state"] in ("queued","running","succeeded") else d["state"])')"
id=$(cd "$R" && "$BF" submit "${CURVE[@]}")
check_eq "submit with no arguments: the first target (blinky's key), one id" \
    "$(jget "$j" 'd["cache_key"]')" \
    "$(jget "$("$BF" status "$id" --json "${CURVE[@]}")" 'd["cache_key"]')"
j=$(cd "$R/blinky" && "$BF" submit --json "${CURVE[@]}" --top top --device hx1k top.v)
check_eq "a plain submit --json: schema 1" 1 "$(jget "$j" 'd["schema"]')"
# a design that prints escape sequences into its error: the report is still well-formed XML
(cd "$FIXTURES/escape" && "$BF" submit --wait --junit "$T/esc.xml" "${CURVE[@]}" --top top \
    --device hx1k top.v) >/dev/null 2>&1
check_eq "submit FILES --junit of a hostile design: exit 1" 1 $?
check "  ... a report xml.etree reads, with the error escaped, no raw ESC byte" python3 -c '
import sys, xml.etree.ElementTree as ET
c = ET.parse(sys.argv[1]).getroot().find("testsuite/testcase")
f = c.find("failure")
m = f.get("message")
sys.exit(0 if c.get("name") == "top" and "\\x1b" in m and "\x1b" not in open(sys.argv[1]).read() else 1)' "$T/esc.xml"
check_eq "wait --json: schema 1" 1 \
    "$(jget "$("$BF" wait "$id" --json "${CURVE[@]}" 2>/dev/null)" 'd["schema"]')"
done_testing

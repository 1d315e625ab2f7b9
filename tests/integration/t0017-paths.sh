#!/usr/bin/env bash
# Paths and output (issue 15): names yosys would rewrite ("~/", "+/") are
# refused; the client sends only the files the sources use, inside the
# design's root and outside dot-directories, and `submit -n` shows them;
# the pcf's path is part of the cache key; a file that is also a directory
# is refused at submit; escape sequences from a design never reach a
# terminal, while files and pipes get the log's bytes as they are.
. "$(dirname "$0")/lib.sh"
REQ=$(dirname "$BIN")/tests/bf_request
ESC=$(printf '\033')

start_broker broker || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1 || { not_ok "worker starts"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP

# --- names yosys rewrites ---------------------------------------------------
# The control: yosys 0.23 does rewrite a leading "~/" to $HOME (and "+/" to
# its share directory), and reads "./~/..." literally.
mkdir -p "$T/home" "$T/lit"
echo 'module evil; endmodule' >"$T/home/evil.v"
(cd "$T/lit" && HOME=$T/home yosys -q -p 'read_verilog ~/evil.v' >/dev/null 2>&1)
check_eq "(control: yosys reads '~/evil.v' from \$HOME)" 0 $?
(cd "$T/lit" && HOME=$T/home yosys -q -p 'read_verilog ./~/evil.v' >/dev/null 2>&1)
check_eq "(control: and './~/evil.v' literally, where there is none)" 1 $?

H=$(sha256sum "$FIXTURES/blinky/top.v" | cut -c1-64)
S=$(stat -c %s "$FIXTURES/blinky/top.v")
f() { echo "{\"path\":\"$1\",\"sha256\":\"$H\",\"size\":$S}"; }
m() { echo "{\"manifest\":{\"version\":1,\"flow\":\"ice40\",\"top\":\"top\",\"device\":\"hx1k\",\"package\":\"tq144\",\"sources\":[$1]${2:-}}}"; }
refused() {   # DESCRIPTION EXPECTED-ERROR BODY
    "$REQ" "$BROKER_EP" SUBMIT "$3" >"$T/raw" 2>&1
    check_eq "$1" "ERROR $2" "$(cat "$T/raw")"
}
rule="(must be relative, without '.' or '..' parts, not starting with '~' or '+/', of the characters A-Za-z0-9._-+@,=~/ and at most 255 bytes)"
refused "the broker refuses a source '~/evil.v'" "bad file name '~/evil.v' $rule" "$(m "$(f '~/evil.v')")"
refused "  ... and '+/ice40/cells_sim.v' (yosys' share directory)" \
    "bad file name '+/ice40/cells_sim.v' $rule" "$(m "$(f '+/ice40/cells_sim.v')")"
refused "  ... and '~root/x.v' (a shell's home of root)" "bad file name '~root/x.v' $rule" \
    "$(m "$(f '~root/x.v')")"
refused "  ... a pcf '~/pins.pcf'" "bad file name '~/pins.pcf' $rule" \
    "$(m "$(f top.v)" ",\"pcf\":$(f '~/pins.pcf')")"
refused "  ... a data file '+/x.hex'" "bad file name '+/x.hex' $rule" \
    "$(m "$(f top.v)" ",\"data\":[$(f '+/x.hex')]")"
refused "  ... an include dir '~'" "bad include dir '~' (want a relative directory inside the design's tree)" \
    "$(m "$(f top.v)" ',"includes":["~"]')"
refused "  ... a workdir '+'" "bad workdir '+' (want a relative directory inside the design's tree)" \
    "$(m "$(f top.v)" ',"workdir":"+"')"
refused "  ... a string param '~/.ssh/id_ed25519'" \
    "bad value '~/.ssh/id_ed25519' for param 'F' (want a Verilog number such as 42 or 8'hff, or a string such as sw/fw.hex of letters, digits and _.-/+@,=~:, not starting with '~' or '+/', at most 256 bytes)" \
    "$(m "$(f top.v)" ',"params":{"F":"~/.ssh/id_ed25519"}')"
# The client refuses them too, before sending: a directory named '~'.
mkdir -p "$T/tilde/~" && cp "$FIXTURES/blinky/top.v" "$T/tilde/~/top.v"
(cd "$T/tilde" && "$BIN/submit" --top top --device hx1k '~/top.v') >/dev/null 2>"$T/err"
check_eq "the client refuses '~/top.v' (exit 2)" 2 $?
check_eq "  ... in one line" "bitfarm: bad file name '~/top.v' $rule" "$(cat "$T/err")"
# Every path yosys gets starts with ./ or ../
(cd "$FIXTURES/blinky" && "$BIN/submit" --wait --top top --device hx1k --package tq144 \
    --pcf icestick.pcf top.v) >"$T/out" 2>/dev/null
check_eq "a normal design builds" 0 $?
"$BIN/bitfarm" logs "$(head -1 "$T/out")" >"$T/log"
check "  ... and its yosys script reads './top.v'" grep -qx "read_verilog ./top.v" "$T/log"

# --- only the files the sources use -------------------------------------------
P=$T/user/proj
mkdir -p "$P/sw" "$P/.git" "$T/user/.ssh"
echo "PRIVATE KEY" >"$T/user/.ssh/id_ed25519"
echo "git secret" >"$P/.git/config"
for x in fw p other cmt param; do echo "00" >"$P/sw/$x.hex"; done
echo '`define WIDTH 1' >"$P/defs.vh"
cat >"$P/top.v" <<'EOF'
// A comment naming ../.ssh/id_ed25519 and "../.ssh/id_ed25519" is no use.
/* $readmemh("sw/cmt.hex", m); is commented out */
`include "defs.vh"
module top #(parameter INIT_FILE = "sw/fw.hex", parameter MEM = "sw/p.hex",
             parameter NOTE = "sw/other.hex") (output x);
  reg [7:0] m [0:3];
  initial $readmemh(MEM, m);
  initial $display("../.ssh/id_ed25519");
  initial $readmemh("../.ssh/id_ed25519", m);
  initial $readmemh(".git/config", m);
  assign x = m[0][0];
endmodule
EOF
(cd "$P" && "$BIN/submit" -n --broker tcp://127.0.0.1:1 --top top --device hx1k \
    --param memfile=sw/param.hex top.v) >"$T/dry" 2>"$T/dry.err"
check_eq "submit -n exits 0 without a broker (it sends nothing)" 0 $?
check_eq "  ... and lists exactly the files the sources use, with sizes" \
"source         $(stat -c %s "$P/top.v")  top.v
data            16  defs.vh
data             3  sw/fw.hex
data             3  sw/p.hex
data             3  sw/param.hex
5 file(s), $(( $(stat -c %s "$P/top.v") + 25 )) bytes; the tools would run in .; nothing sent (dry run)" \
    "$(cat "$T/dry")"
check "  ... warning about the key outside the root" grep -q \
    "^bitfarm: warning: not sending '../.ssh/id_ed25519', which the sources name: it is outside the design's root (--root)$" "$T/dry.err"
check "  ... and about the dot-directory" grep -q \
    "^bitfarm: warning: not sending '.git/config', which the sources name: it is in a dot-directory or a dot-file$" "$T/dry.err"
(cd "$P" && "$BIN/submit" -n --root .. --top top --device hx1k top.v) >"$T/dry2" 2>/dev/null
check "with --root .. the key is inside the root, but in a dot-directory: still not sent" \
    bash -c "! grep -q ssh '$T/dry2' && grep -q '^source .* proj/top.v$' '$T/dry2' && grep -q 'the tools would run in proj;' '$T/dry2'"
# What reaches the worker: the noop flow's "bitstream" lists every input.
(cd "$P" && "$BIN/submit" --wait -o "$T/noop.txt" --flow noop --top top --device hx1k \
    --param memfile=sw/param.hex top.v) >/dev/null 2>&1
check_eq "the worker received exactly those files" "defs.vh sw/fw.hex sw/p.hex sw/param.hex top.v" \
    "$(tail -n +2 "$T/noop.txt" | cut -d' ' -f2 | sort | tr '\n' ' ' | sed 's/ $//')"
check "  ... and no byte of the key" bash -c "! grep -rq 'PRIVATE KEY' '$T/w1/jobs' '$T/w1/cache' '$T/broker' 2>/dev/null"
(cd "$T/user" && "$BIN/submit" -n --root proj --top top --device hx1k proj/top.v .ssh/id_ed25519) \
    >/dev/null 2>"$T/err"
check_eq "a file given outside --root is refused (exit 2)" 2 $?
check_eq "  ... in one line" "bitfarm: '.ssh/id_ed25519' is outside the design's root 'proj' (give --root DIR)" \
    "$(cat "$T/err")"

# --- a file that is also a directory ---------------------------------------------
refused "the broker refuses a file 'a' with 'a/top.v' as a design error, naming no worker path" \
    "file 'a' is also a directory, of 'a/top.v' (one tree cannot hold both)" \
    "$(m "$(f a/top.v)" ",\"data\":[$(f a)]")"
refused "  ... and a workdir that names a file" "bad workdir 'top.v' (file 'top.v' is not a directory)" \
    "$(m "$(f top.v)" ',"workdir":"top.v"')"
refused "  ... and an include dir that does" "bad include dir 'top.v/x' (file 'top.v' is not a directory)" \
    "$(m "$(f top.v)" ',"includes":["top.v/x"]')"
mkdir -p "$T/clash/a" && cp "$FIXTURES/blinky/top.v" "$T/clash/a/top.v" && echo x >"$T/clash/A"
(cd "$T/clash" && "$BIN/submit" --top top --device hx1k a/top.v A) >/dev/null 2>"$T/err"
check_eq "the client refuses 'A' beside 'a/top.v' (one layout on a case-insensitive disk; exit 2)" 2 $?
check_eq "  ... in one line" "bitfarm: file 'A' is also a directory, of 'a/top.v' (one tree cannot hold both)" \
    "$(cat "$T/err")"
check "no job reached the worker with such a tree" bash -c "! grep -q 'is also a directory\|Not a directory' '$T/w1.log'"

# --- the pcf's path is in the key ---------------------------------------------------
# The same (empty) pcf at two places: as inc/defs.vh it is what
# `include "defs.vh" finds (-I inc), as pins.pcf it is not.
K=$T/key
mkdir -p "$K/inc"
printf '`include "defs.vh"\nmodule top(input a, output y); assign y = a; endmodule\n' >"$K/top.v"
: >"$K/pins.pcf"
: >"$K/inc/defs.vh"
kv() { (cd "$K" && "$BIN/submit" --wait --top top --device hx1k --package tq144 -I inc \
        --pnr-opt --pcf-allow-unconstrained --pcf "$1" top.v "${@:2}") >"$T/out" 2>/dev/null; }
mv "$K/inc/defs.vh" "$K/defs.pcf.away"
kv pins.pcf
check_eq "with the pcf at pins.pcf, the \`include finds nothing: a design failure" 1 $?
j1=$(head -1 "$T/out")
mv "$K/defs.pcf.away" "$K/inc/defs.vh"
rm "$K/pins.pcf"
kv inc/defs.vh
check_eq "the same pcf bytes at inc/defs.vh are the include file: it builds" 0 $?
j2=$(head -1 "$T/out")
check "  ... under another cache key, not as a hit of the first" test \
    "$(job_field "$j1" '"cache_key"')" != "$(job_field "$j2" '"cache_key"')" -a \
    "$(job_field "$j2" '"cache_hit"')" = false
check_eq "explain shows the key schema that says so" "bitfarm-cache-key/2" \
    "$(jget "$(cd "$K" && "$BIN/bitfarm" explain --json --top top --device hx1k -I inc --pcf inc/defs.vh top.v)" 'd["key_schema"]')"

# --- escape sequences from a design ----------------------------------------------------
cd "$FIXTURES/escape"
"$BIN/submit" --wait --top top --device hx1k --package tq144 top.v >"$T/out" 2>"$T/wait.err"
check_eq "the escape-sequence design fails as a design failure" 1 $?
J=$(head -1 "$T/out")
"$BIN/bitfarm" status "$J" --json >"$T/status.json"
check "its error holds the ESC bytes (the broker keeps the tool's text; JSON escapes them)" \
    grep -qF '"error": "\u001B]0;pwned\u0007\u001B[2J' "$T/status.json"
check "submit --wait shows no ESC byte" bash -c "! grep -q '$ESC' '$T/wait.err'"
check "  ... but the escaped text" grep -qF '\x1b]0;pwned\x07\x1b[2J\x1b[31mERROR: pwned\x1b[0m\x0d' "$T/wait.err"
"$BIN/bitfarm" status "$J" >"$T/status" 2>&1
check "status shows no ESC byte" bash -c "! grep -q '$ESC' '$T/status'"
check "  ... its error line escaped" grep -qxF 'error      \x1b]0;pwned\x07\x1b[2J\x1b[31mERROR: pwned\x1b[0m\x0d' "$T/status"
"$BIN/bitfarm" wait "$J" >/dev/null 2>"$T/wait2.err"
check "wait shows no ESC byte" bash -c "grep -q pwned '$T/wait2.err' && ! grep -q '$ESC' '$T/wait2.err'"
"$BIN/bitfarm" jobs >"$T/jobs" 2>&1
check "jobs shows no ESC byte" bash -c "! grep -q '$ESC' '$T/jobs'"
"$BIN/bitfarm" logs "$J" >"$T/log.pipe"
check "logs to a file keeps the tool's bytes as they are" grep -q "${ESC}]0;pwned" "$T/log.pipe"
"$BIN/bitfarm" fetch "$J" --log -o "$T/log.file" >/dev/null
check "fetch --log -o FILE too, byte for byte" cmp "$T/log.pipe" "$T/log.file"
script -qec "'$BIN/bitfarm' logs $J" /dev/null >"$T/log.tty" 2>&1
check "logs on a terminal escapes them" bash -c \
    "grep -qF '\\x1b]0;pwned' '$T/log.tty' && ! grep -q '$ESC' '$T/log.tty'"
script -qec "'$BIN/bitfarm' fetch $J --log" /dev/null >"$T/fetch.tty" 2>&1
check "  ... and fetch --log to a terminal" bash -c \
    "grep -qF '\\x1b]0;pwned' '$T/fetch.tty' && ! grep -q '$ESC' '$T/fetch.tty'"
check "  ... keeping its lines (UTF-8 and newlines are not escaped)" bash -c \
    "[ \$(grep -c . '$T/fetch.tty') -gt 20 ] && ! grep -qF '\\x0a' '$T/fetch.tty'"
check "the broker and the worker are alive after all of it" kill -0 "$BROKER_PID_broker" "$WORKER_PID_w1"
done_testing

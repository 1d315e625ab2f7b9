#!/usr/bin/env bash
# libbitfarm.so as a user gets it: `make install` into a prefix, programs
# built with `pkg-config bitfarm`, run against the local farm (whose
# daemons are found beside the installed library).  tests/sdk/sdk_check.c
# goes through the API's calls and errors; examples/c/program_board.c
# builds a design and loads it into the simulated board.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB=$ROOT/$BUILD/lib/libbitfarm.so.1
check_eq "the soname is libbitfarm.so.1" "libbitfarm.so.1" \
    "$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
others=$(nm -D --defined-only "$LIB" | awk '{print $3}' | grep -v '^bitfarm_')
check_eq "it exports only bitfarm_ symbols" "" "$others"
check "  ... every function the header declares" bash -c "
    for f in \$(sed -n 's/^[a-z].* \**\(bitfarm_[a-z_0-9]*\) (.*/\1/p' '$ROOT/include/bitfarm.h'); do
        nm -D --defined-only '$LIB' | grep -qw \"\$f\" || { echo missing \$f; exit 1; }
    done"
make -s -C "$ROOT" install BUILD="$BUILD" PREFIX="$T/prefix" >"$T/install.out" 2>&1
check_eq "make install into a prefix" 0 $?
export PKG_CONFIG_PATH=$T/prefix/lib/pkgconfig
check_eq "pkg-config knows bitfarm's version" "$(sed -n 's/^#define BITFARM_VERSION "\(.*\)"/\1/p' \
    "$ROOT/include/bitfarm.h")" "$(pkg-config --modversion bitfarm 2>&1)"
SAN=()
[ -n "${BITFARM_SANITIZED:-}" ] && SAN=(-fsanitize=address,undefined)
# shellcheck disable=SC2046
cc -std=c17 -Wall -Wextra -Werror "${SAN[@]}" -o "$T/sdk_check" "$ROOT/tests/sdk/sdk_check.c" \
    $(pkg-config --cflags --libs bitfarm) 2>"$T/cc.err"
check_eq "a program compiles and links with pkg-config bitfarm alone" 0 $?
check "  ... and runs against the installed library" bash -c \
    "ldd '$T/sdk_check' | grep -q '$T/prefix/lib/libbitfarm.so.1'"
mkdir -p "$T/design/proj"
cp "$FIXTURES"/blinky/top.v "$FIXTURES"/blinky/icestick.pcf "$T/design/"
cp "$T"/design/*.v "$T"/design/*.pcf "$T/design/proj/"
printf '[blinky]\ntop = top\ndevice = hx1k\npackage = tq144\npcf = icestick.pcf\nsources = *.v\n' \
    >"$T/design/proj/bitfarm.ini"
printf 'module top (input a, output b);\n  assign b = ;\nendmodule\n' >"$T/bad.v"
cd "$T/design"
"$T/sdk_check" "$T/bad.v" "$T/design/proj" >"$T/sdk.out" 2>"$T/sdk.log"
rc=$?
cat "$T/sdk.out"
check_eq "sdk_check exits 0" 0 "$rc"
check "  ... on the local farm it started from the installed daemons" \
    grep -q "$T/prefix/bin/bitfarm-broker" "/proc/$(cat "$XDG_CACHE_HOME/bitfarm/broker.pid")/cmdline"
key=$(sed -n 's/^# KEY //p' "$T/sdk.out")
out=$("$BIN/submit" --json --top top --device hx1k --package tq144 --pcf icestick.pcf top.v)
check_eq "the CLI's submit of the same design is a cache hit" true "$(jget "$out" 'd["cache_hit"]')"
check_eq "  ... on the library's cache key" "$key" "$(jget "$out" 'd["cache_key"]')"
# A git revision: the library's rev option builds the commit, not the
# edited work tree, with the key `submit --rev` gives
mkdir -p "$T/repo" && cp "$FIXTURES"/blinky/top.v "$FIXTURES"/blinky/icestick.pcf "$T/repo/"
(cd "$T/repo" && git init -q && git add top.v icestick.pcf \
    && git -c user.name=t -c user.email=t@t commit -qm one && echo '// edited' >>top.v)
cd "$T/repo"
lib=$("$T/sdk_check" --rev HEAD 2>"$T/rev.log")
cli=$("$BIN/submit" --json --rev HEAD --top top --device hx1k --package tq144 --pcf icestick.pcf top.v)
check_eq "a design at a git revision has the key of submit --rev" \
    "KEY $(jget "$cli" 'd["cache_key"]')" "$lib"
check_eq "  ... and the CLI's submit of it is a cache hit" true "$(jget "$cli" 'd["cache_hit"]')"
worktree=$(BITFARM_NO_GIT=1 "$BIN/submit" --json --top top --device hx1k --package tq144 \
           --pcf icestick.pcf top.v)
check "  ... which the edited work tree's is not" test "$(jget "$worktree" 'd["cache_key"]')" != \
    "$(jget "$cli" 'd["cache_key"]')"
cd "$T/design"
# examples/c: build, program the simulated board, read a register
# shellcheck disable=SC2046
cc -std=c17 -Wall -Wextra -Werror "${SAN[@]}" -o "$T/program_board" \
    "$ROOT/examples/c/program_board.c" $(pkg-config --cflags --libs bitfarm)
check_eq "examples/c/program_board.c compiles with pkg-config" 0 $?
check "  ... and is about 30 lines" test "$(wc -l <"$ROOT/examples/c/program_board.c")" -le 40
if command -v verilator >/dev/null; then
    cd "$ROOT/examples/regio"
    out=$("$T/program_board" 2>"$T/pb.log")
    check_eq "  ... it builds hello_regs, loads it into vboard0 and reads ID" 0 $?
    check "  ... ID is 'HELO'" grep -q "loaded into vboard0, ID register 0x48454c4f" <<<"$out"
    pbkey=$(sed -n 's/.*cache key \([0-9a-f]*\),.*/\1/p' <<<"$out")
    cli=$("$BIN/submit" --json --top hello_regs --regio icebreaker hello_regs.v)
    check_eq "  ... on the cache key the CLI's --regio gives" "$pbkey" "$(jget "$cli" 'd["cache_key"]')"
    check_eq "  ... and it released the board" "null" \
        "$(jget "$("$BIN/bitfarm" boards --json)" '[b for b in d["boards"] if b["name"]=="vboard0"][0]["reserved_by"]')"
    cd - >/dev/null
else
    skip "examples/c/program_board on the simulated board" "verilator is not installed"
fi
"$BIN/bitfarm" farm stop >/dev/null
# Over CURVE: a key the broker knows, one it does not, a worker's key
K=$T/keys A=$T/allow
for k in "broker broker" "client alice" "client eve" "worker w1"; do
    set -- $k; "$BIN/bitfarm" keygen --dir "$K" --role "$1" "$2" >/dev/null
done
mkdir -p "$A/workers" "$A/clients" "$A/admins"
cp "$K/w1.key" "$A/workers/" && cp "$K/alice.key" "$A/clients/"
start_broker curve --cert "$K/broker.key_secret" --keys "$A"
out=$("$T/sdk_check" --curve "$BROKER_EP" "$K/alice.key_secret" "$K/broker.key")
check "a known client key lists its jobs over CURVE" grep -q '^ok: {"jobs":\[\]}$' <<<"$out"
out=$("$T/sdk_check" --curve "$BROKER_EP" "$K/eve.key_secret" "$K/broker.key")
check "a key the broker does not know is denied" grep -q "^denied: " <<<"$out"
out=$("$T/sdk_check" --curve "$BROKER_EP" "$K/w1.key_secret" "$K/broker.key")
check "a worker's key asking client commands is denied, naming the key" \
    grep -q "^denied: key 'w1' .* may not use client commands" <<<"$out"
out=$("$T/sdk_check" --curve "$BROKER_EP" "$T/nosuch.key_secret" "$K/broker.key")
check "an unreadable key file is a usage error naming it" grep -q "^usage: .*nosuch.key_secret" \
    <<<"$out"
done_testing

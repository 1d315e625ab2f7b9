#!/usr/bin/env bash
# make demo: build the bundled example (an iCEBreaker design with a pcf, a
# $readmemh ROM and an `include file) on the per-user local farm, submit
# it again to show a cache hit, then program it into the local farm's
# virtual board; then build a Wishbone-slave design with the register
# bridge, load it into the virtual board (a simulated board) and write
# and read its registers.
set -euo pipefail
BIN=${BITFARM_BIN:-$(cd "$(dirname "$0")/../build/bin" && pwd)}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../tests/fixtures/soc"
out=${BITFARM_DEMO_OUT:-${TMPDIR:-/tmp}/bitfarm-demo-$(id -u).bin}
unset BITFARM_BROKER   # the local farm: no configuration
echo "== submitting tests/fixtures/soc to the local farm (started on first use)"
echo "\$ submit --wait -o $out --top top --device up5k --package sg48 --pcf icebreaker.pcf -I rtl/inc rtl/*.v"
"$BIN/submit" --wait -o "$out" --top top --device up5k --package sg48 --pcf icebreaker.pcf \
    -I rtl/inc rtl/*.v
echo "bitstream: $out ($(stat -c %s "$out") bytes, sha256 $(sha256sum <"$out" | cut -c1-16)...)"
echo
echo "== the same design again: a cache hit, no upload, no worker"
start=$(date +%s%N)
"$BIN/submit" --json --top top --device up5k --package sg48 --pcf icebreaker.pcf -I rtl/inc rtl/*.v \
    | grep -E '"(id|state|cache_hit|uploaded_bytes|bitstream_sha256)"'
echo "(whole submit process: $(( ($(date +%s%N) - start) / 1000000 )) ms)"
echo
echo "== build and program: the local farm's virtual board vboard0 (bitfarm-vboard, an"
echo "   XVC server the real openFPGALoader programs over -c xvc-client)"
echo "\$ submit --program vboard0 --wait --top top --device up5k ... rtl/*.v"
"$BIN/submit" --program vboard0 --wait --top top --device up5k --package sg48 \
    --pcf icebreaker.pcf -I rtl/inc rtl/*.v
"$BIN/bitfarm" boards
record=${XDG_CACHE_HOME:-$HOME/.cache}/bitfarm/work/boards/vboard0.json
received=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["last"]["sha256"])' "$record")
echo "the board received sha256 ${received:0:16}...; the bitstream is $(sha256sum <"$out" | cut -c1-16)..."
[ "$received" = "$(sha256sum <"$out" | cut -d' ' -f1)" ] && echo "(the same bytes)"
echo
echo "== talk to the design: a Wishbone-slave design (examples/regio/hello_regs.v) wrapped"
echo "   with bitfarm's UARTBone bridge (--regio icebreaker) and loaded into vboard0, which"
echo "   then runs it in Verilator with its UART on the register path (docs/regio.md)"
if command -v verilator >/dev/null; then
    regs=$HERE/regio/hello_regs.v
    echo "\$ submit --top hello_regs --regio icebreaker --program vboard0 --wait examples/regio/hello_regs.v"
    "$BIN/submit" --top hello_regs --regio icebreaker --program vboard0 --wait "$regs" | tail -1
    echo "\$ bitfarm session vboard0 -- sh -c 'bitfarm write vboard0 0x4 0x1234 0x1111; bitfarm read vboard0 0x0 5'"
    BF="$BIN/bitfarm" "$BIN/bitfarm" session vboard0 --for 5m -- sh -c '
        "$BF" ident "$BITFARM_BOARD"
        "$BF" write "$BITFARM_BOARD" 0x4 0x1234 0x1111
        "$BF" read "$BITFARM_BOARD" 0x0 5 | paste -d" " - - - - - |
            awk "{ print \"ID \" \$1 \"  A \" \$2 \"  B \" \$3 \"  SUM \" \$4 \"  TICKS \" \$5 }"'
else
    echo "(skipped: verilator is not installed; scripts/install-deps installs it)"
fi
echo
echo "== the cache, ccache-style: \$ bitfarm cache stats"
sleep 1.2   # the broker writes its counters once a second
"$BIN/bitfarm" cache stats
echo
echo "the local farm keeps running; stop it with: $BIN/bitfarm farm stop"

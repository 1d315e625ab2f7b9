#!/usr/bin/env bash
# make demo: build the bundled example (an iCEBreaker design with a pcf, a
# $readmemh ROM and an `include file) on the per-user local farm, then
# submit it again to show a cache hit.
set -euo pipefail
BIN=${BITFARM_BIN:-$(cd "$(dirname "$0")/../build/bin" && pwd)}
cd "$(dirname "$0")/../tests/fixtures/soc"
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
echo "== the cache, ccache-style: \$ bitfarm cache stats"
sleep 1.2   # the broker writes its counters once a second
"$BIN/bitfarm" cache stats
echo
echo "the local farm keeps running; stop it with: $BIN/bitfarm farm stop"

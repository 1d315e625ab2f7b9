#!/usr/bin/env bash
# make bench's sections (tests/bench/NN-*) run, on a tiny size: each exits
# 0 and prints at least one figure with its ratio ("xN.NN"), or says why it
# skipped.  A benchmark is never a timed test: the figures are not checked
# here (issue 20's rules); `make bench` runs the full sizes.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
case ${BUILD:-build} in /*) B=$BUILD ;; *) B=$SRC/${BUILD:-build} ;; esac
for s in "$SRC"/tests/bench/[0-9][0-9]-*; do
    name=$(basename "$s")
    if BUILD=$B BENCH_SIZE=tiny timeout 300 "$s" >"$T/$name.out" 2>&1; then
        if grep -q ' x[0-9][0-9]*\.[0-9][0-9]' "$T/$name.out"; then
            ok "bench section $name runs and prints its ratios"
        elif grep -q '^ *skipped: ' "$T/$name.out"; then
            n=$((n + 1))
            echo "ok $n # SKIP bench section $name: $(grep -m1 '^ *skipped: ' "$T/$name.out" | sed 's/^ *skipped: //')"
        else
            not_ok "bench section $name printed no ratio" "$(tail -5 "$T/$name.out")"
        fi
    else
        not_ok "bench section $name failed" "$(tail -15 "$T/$name.out")"
    fi
done
done_testing

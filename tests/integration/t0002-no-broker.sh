#!/usr/bin/env bash
# A client pointed at a broker that is not there fails within a few
# seconds with a clear message; it does not hang.
. "$(dirname "$0")/lib.sh"
cd "$FIXTURES/blinky"
start=$(date +%s%N)
"$BIN/submit" --broker tcp://127.0.0.1:9 --request-timeout 2s --top top --device hx1k --package tq144 top.v 2>"$T/err"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "submit to a missing broker exits 3 (infrastructure)" 3 "$rc"
check "  ... within a few seconds (took ${ms} ms)" test "$ms" -lt 5000
check "  ... saying no broker answered" grep -q "no answer from broker at 'tcp://127.0.0.1:9'" "$T/err"
BITFARM_BROKER=tcp://127.0.0.1:9 timeout 20 "$BIN/bitfarm" status 0123abcd 2>"$T/err"
check_eq "status with BITFARM_BROKER unreachable exits 3 within the default timeout" 3 $?
done_testing

#!/usr/bin/env bash
# With no broker configured, submit starts a per-user local farm on ipc://
# under $XDG_CACHE_HOME/bitfarm and reuses it.
. "$(dirname "$0")/lib.sh"
cd "$FIXTURES/blinky"
id=$("$BIN/submit" --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v 2>"$T/err")
check_eq "submit --wait with no broker configured succeeds" 0 $?
check "the local farm's socket is under XDG_CACHE_HOME" test -S "$XDG_CACHE_HOME/bitfarm/broker.sock"
check "its state is under XDG_CACHE_HOME" test -f "$XDG_CACHE_HOME/bitfarm/state/jobs.db"
bpid=$(cat "$XDG_CACHE_HOME/bitfarm/broker.pid")
out=$("$BIN/bitfarm" submit --json --top top --device hx1k --package tq144 --pcf icestick.pcf top.v)
check_eq "a second submit is a cache hit" true "$(jget "$out" 'd["cache_hit"]')"
check_eq "  ... served by the same broker" "$bpid" "$(cat "$XDG_CACHE_HOME/bitfarm/broker.pid")"
"$BIN/bitfarm" fetch "$id" -o "$T/b.bin"
check_eq "fetch from the local farm" 32220 "$(stat -c %s "$T/b.bin")"
"$BIN/bitfarm" farm stop >/dev/null
check "farm stop stops the broker" bash -c "! kill -0 $bpid 2>/dev/null"
done_testing

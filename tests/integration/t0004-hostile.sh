#!/usr/bin/env bash
# The broker stays up under bad input: random, truncated and oversized
# frames from many peers, unknown commands and messages from unknown
# workers; afterwards it still serves a normal submit.
. "$(dirname "$0")/lib.sh"
SENDRAW=$(dirname "$BIN")/tests/bf_sendraw
start_broker broker || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1
"$SENDRAW" "$BROKER_EP" 50 42 >"$T/sendraw.out" 2>&1
check_eq "broker answers PING after 1000 random messages and an oversized frame" 0 $?
check "the broker process is still alive" kill -0 "$BROKER_PID_broker"
check "the broker logged the malformed messages" grep -q "malformed message dropped" "$T/broker.log"
export BITFARM_BROKER=$BROKER_EP
cd "$FIXTURES/blinky"
"$BIN/submit" --wait --top top --device hx1k --package tq144 --pcf icestick.pcf top.v >/dev/null 2>&1
check_eq "a normal submit still builds afterwards" 0 $?
# Hostile manifest values are refused by the client before sending...
"$BIN/submit" --top 'top; shell touch /tmp/pwned' --device hx1k --package tq144 top.v 2>"$T/err"
check_eq "a top name with yosys syntax is a usage error" 2 $?
check "  ... naming the value" grep -q "bad top module name 'top; shell touch /tmp/pwned'" "$T/err"
"$BIN/submit" -D 'X=1 -p shell' --top top --device hx1k --package tq144 top.v 2>"$T/err"
check_eq "a define value with spaces is a usage error" 2 $?
cp top.v "$T/bad name.v"
"$BIN/submit" --top top --device hx1k --package tq144 "$T/bad name.v" 2>"$T/err"
check_eq "a file name with a space is refused" 2 $?
check "  ... naming it" grep -q "bad file name 'bad name.v'" "$T/err"
done_testing

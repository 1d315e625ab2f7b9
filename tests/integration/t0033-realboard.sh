#!/usr/bin/env bash
# Register I/O on a real board (issue 17): the wrapped register-file fixture
# (tests/fixtures/regio) built with --regio for the board's profile, loaded
# with openFPGALoader, then ident, single and burst writes and reads, a
# poll and a bus error through the board's USB UART.  It runs only where a
# board is attached and described: BITFARM_TEST_BOARD_CONFIG names a worker
# config (docs/boards.md) with a board that has "uart" (and "board" or
# "cable"); BITFARM_TEST_BOARD_PROFILE is its --regio profile (default
# icebreaker).  Elsewhere it skips, saying why.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$BIN:$PATH"
CFG=${BITFARM_TEST_BOARD_CONFIG:-}
[ -n "$CFG" ] || skip_all "no real board here (set BITFARM_TEST_BOARD_CONFIG to a worker config whose board has \"uart\"; docs/boards.md)"
[ -r "$CFG" ] || skip_all "BITFARM_TEST_BOARD_CONFIG '$CFG' cannot be read"
BOARD=$(python3 -c 'import json,sys; b=[b for b in json.load(open(sys.argv[1]))["boards"] if b.get("uart") and not b.get("virtual")]; print(b[0]["name"] if b else "")' "$CFG")
[ -n "$BOARD" ] || skip_all "no real board with \"uart\" in $CFG"
PROFILE=${BITFARM_TEST_BOARD_PROFILE:-icebreaker}

start_broker broker || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1 --config "$CFG" || { not_ok "worker starts with $CFG"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP
F=$T/design && mkdir -p "$F" && cp "$ROOT/tests/fixtures/regio/regio_fixture.v" "$F/"
out=$(cd "$F" && submit --top regio_fixture --regio "$PROFILE" --program "$BOARD" --wait \
      regio_fixture.v 2>&1)
check_eq "the fixture, wrapped for $PROFILE, builds and loads into $BOARD" 0 $?
export BITFARM_TOKEN=$(bitfarm reserve "$BOARD" --for 10m)
check "a reservation of $BOARD" test -n "$BITFARM_TOKEN"
check "ident answers: the bitfarm bridge" grep -q "magic=0x42465542" <<<"$(bitfarm ident "$BOARD")"
check_eq "the fixture's ID register" 0xb17fa4a0 "$(bitfarm read "$BOARD" 0)"
bitfarm write "$BOARD" 0x4 0x11111111 0x22222222 0x33333333 0x44444444
check_eq "a burst written and read back" "0x11111111 0x22222222 0x33333333 0x44444444" \
    "$(bitfarm read "$BOARD" 0x4 4 | tr '\n' ' ' | sed 's/ $//')"
seq 1 256 >"$T/words" && bitfarm write "$BOARD" 0x400 --file "$T/words"
check_eq "the 256-word block RAM written and read back" \
    "$(seq 1 256 | awk '{printf "0x%08x\n", $1}' | md5sum)" "$(bitfarm read "$BOARD" 0x400 256 | md5sum)"
bitfarm write "$BOARD" 0x24 1
bitfarm poll "$BOARD" 0x28 --mask 1 --value 1 --timeout 2s
check_eq "poll: the bit the design sets after 100000 cycles" 0 $?
bitfarm read "$BOARD" 0x3c 2>/dev/null
check_eq "a bus error is exit 1" 1 $?
bitfarm release "$BOARD" --token "$BITFARM_TOKEN"
done_testing

#!/usr/bin/env bash
# Where bubblewrap cannot start (a container or chroot without user
# namespaces; simulated by a fake bwrap on PATH that fails as the kernel
# makes it fail): a worker refuses, naming the real causes; the local farm
# runs unconfined when told to (farm start --no-sandbox, BITFARM_NO_SANDBOX=1),
# saying so once; and a client notices a local daemon that died at start at
# once, printing its log's last line.
. "$(dirname "$0")/lib.sh"
unset BITFARM_NO_SANDBOX   # lib.sh sets it where there is no real sandbox
FARM=$XDG_CACHE_HOME/bitfarm
mkdir -p "$T/fakebin"
cat >"$T/fakebin/bwrap" <<'EOF'
#!/bin/sh
echo "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces." >&2
exit 1
EOF
chmod +x "$T/fakebin/bwrap"
FAKE=$T/fakebin:$PATH
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- a worker refuses, naming the causes -----------------------------------
PATH=$FAKE timeout 30 "$REAL_BIN/bitfarm-worker" --broker "ipc://$T/none.sock" --work-dir "$T/wb" \
    >"$T/wb.log" 2>&1
check_eq "a worker whose bubblewrap cannot start exits 1" 1 $?
line=$(grep "cannot sandbox builds" "$T/wb.log" | sed 's/^.* E //')
check "  ... quoting bubblewrap's own line" grep -qF \
    "cannot sandbox builds: bubblewrap failed here ('bwrap: No permissions to create new namespace" <<<"$line"
check "  ... naming a container or chroot, or a seccomp profile, as the causes" \
    grep -q "container\|chroot\|seccomp" <<<"$line"
check "  ... and --no-sandbox as the way out" grep -q "; start with --no-sandbox to build unconfined$" <<<"$line"
if [ -e /proc/sys/kernel/unprivileged_userns_clone ]; then
    skip "  ... no sysctl this kernel lacks" "this kernel has kernel.unprivileged_userns_clone"
else
    check "  ... no sysctl this kernel lacks (kernel.unprivileged_userns_clone)" \
        bash -c '! grep -q unprivileged_userns_clone <<<"$1"' _ "$line"
fi
if [ "$(id -u)" -eq 0 ]; then
    check "  ... and, to root, no advice to be root" bash -c "! grep -qiw 'root' <<<\"\$1\"" _ \
        "$(sed "s/'bwrap:[^']*'//" <<<"$line")"
else
    skip "  ... and, to root, no advice to be root" "not running as root"
fi

# --- the local farm's worker dies at start: noticed at once -----------------
t0=$(ms)
PATH=$FAKE "$BIN/bitfarm" farm start >"$T/start.out" 2>"$T/start.err"
rc=$?
t1=$(ms)
check_eq "farm start where bubblewrap cannot start fails as a farm failure (3)" 3 $rc
check "  ... within a few seconds, not 60 ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 10000
check "  ... saying the worker exited at start, with its log's last line" grep -q \
    "^bitfarm: the local farm's worker exited at start: .*cannot sandbox builds: bubblewrap failed here" \
    "$T/start.err"
check "  ... naming the log" grep -qF "(log: $FARM/worker.log)" "$T/start.err"
check "  ... and how to run the local farm unconfined" grep -qF \
    'run `bitfarm farm start --no-sandbox` or set BITFARM_NO_SANDBOX=1' "$T/start.err"
check_eq "  ... in one line" 1 "$(wc -l <"$T/start.err")"
cd "$FIXTURES/blinky"
t0=$(ms)
PATH=$FAKE "$BIN/submit" --flow noop --top top --device hx1k --package tq144 top.v >/dev/null 2>"$T/submit.err"
rc=$?
t1=$(ms)
check_eq "a client command against that farm fails (3)" 3 $rc
check "  ... within a few seconds ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 10000
check "  ... printing the worker log's last line" grep -q \
    "^bitfarm: the local farm's worker exited at start: .*cannot sandbox builds" "$T/submit.err"

# --- farm start --no-sandbox: runs, and says so once -----------------------
PATH=$FAKE "$BIN/bitfarm" farm start --no-sandbox >"$T/start.out" 2>"$T/start.err"
check_eq "farm start --no-sandbox starts the farm there" 0 $?
check "  ... saying it runs unsandboxed" grep -q "^local farm running at .*, unsandboxed$" "$T/start.out"
check_eq "  ... warning once, clearly" 1 "$(grep -c "warning: the local farm builds UNSANDBOXED" "$T/start.err")"
check "  ... its worker runs with --no-sandbox" grep -q "UNSANDBOXED (--no-sandbox)" "$FARM/worker.log"
"$BIN/bitfarm" workers >"$T/workers.txt" 2>&1
check "  ... and bitfarm workers shows it unsandboxed" grep -q "^local .*UNSANDBOXED" "$T/workers.txt"
PATH=$FAKE "$BIN/submit" --wait --flow noop --top top --device hx1k --package tq144 top.v \
    >/dev/null 2>"$T/submit.err"
check_eq "a build on it succeeds" 0 $?
check_eq "  ... with no second warning" 0 "$(grep -c UNSANDBOXED "$T/submit.err")"
kill -9 "$(cat "$FARM/worker.pid")"
wait_until 5 bash -c "! kill -0 $(cat "$FARM/worker.pid") 2>/dev/null"
PATH=$FAKE "$BIN/bitfarm" jobs >/dev/null 2>"$T/jobs.err"
check_eq "the choice lasts until farm stop: a dead worker is restarted unsandboxed" 0 $?
check_eq "  ... saying so once as it starts" 1 "$(grep -c "UNSANDBOXED" "$T/jobs.err")"
"$BIN/bitfarm" farm stop >/dev/null
check "farm stop forgets the choice" test ! -e "$FARM/no-sandbox"

# --- BITFARM_NO_SANDBOX=1 ---------------------------------------------------
BITFARM_NO_SANDBOX=1 PATH=$FAKE "$BIN/submit" --wait --flow noop --seed 1 --top top --device hx1k \
    --package tq144 top.v >/dev/null 2>"$T/env.err"
check_eq "with BITFARM_NO_SANDBOX=1 a submit starts the farm unconfined and builds" 0 $?
check_eq "  ... warning once" 1 "$(grep -c "warning: the local farm builds UNSANDBOXED" "$T/env.err")"
if need_sandbox "farm start --no-sandbox refuses to relabel a sandboxed farm"; then
    "$BIN/bitfarm" farm stop >/dev/null
    "$BIN/bitfarm" farm start >/dev/null 2>&1
    "$BIN/bitfarm" farm start --no-sandbox >/dev/null 2>"$T/relabel.err"
    check_eq "farm start --no-sandbox on a sandboxed farm is refused (2)" 2 $?
    check_eq "  ... saying what to do" "bitfarm: the local farm already runs sandboxed; run \`bitfarm farm stop\` first" \
        "$(cat "$T/relabel.err")"
fi
"$BIN/bitfarm" farm stop >/dev/null

# --- a local broker that dies at start ---------------------------------------
rm -rf "$FARM/state"
echo "not a directory" >"$FARM/state"
t0=$(ms)
"$BIN/bitfarm" jobs >/dev/null 2>"$T/broker.err"
rc=$?
t1=$(ms)
check_eq "a client whose local broker cannot start fails (3)" 3 $rc
check "  ... at once ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 5000
check "  ... printing the broker log's last line" grep -q \
    "^bitfarm: the local farm's broker exited at start: .*$FARM/state" "$T/broker.err"
rm -f "$FARM/state"

# --- the README's shared-farm example runs as written -----------------------
# (on a copy of the fixture, another port and directories under $T)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$T/repo/tests/fixtures"
cp -r "$FIXTURES/soc" "$T/repo/tests/fixtures/"
python3 - "$FIXTURES/../../README.md" "$port" "$T" >"$T/readme.sh" <<'PY'
import sys
text, port, t = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
i = text.index("A shared farm on one machine")
block = text[text.index("```sh\n", i) + 6:]
block = block[:block.index("```")]
print("set -e; trap 'kill $(jobs -p) 2>/dev/null' EXIT")   # the daemons end with it
print(block.replace("5555", port).replace("/tmp/", t + "/readme-"))
PY
(cd "$T/repo" && PATH=$BIN:$PATH timeout 300 bash "$T/readme.sh" >"$T/readme.out" 2>&1)
check_eq "the README's shared-farm example runs as written on the bundled fixture" 0 $?
check "  ... and fetches a bitstream" test -s "$T/repo/tests/fixtures/soc/top.bin"
done_testing

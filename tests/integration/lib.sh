# Shared helpers for the black-box tests (after git's t/test-lib.sh).
# Each test owns a temp directory and its own ports, and kills the
# processes it started, by PID, when it exits.  Output is TAP.
set -u
BIN=${BITFARM_BIN:?BITFARM_BIN is not set; run through tests/run}
FIXTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)
T=$(mktemp -d /tmp/bitfarm-test.XXXXXX)
export XDG_CACHE_HOME=$T/xdg     # never touch the user's local farm
unset BITFARM_BROKER
# The fixtures are built as plain directories, whether or not this checkout
# is a git work tree (t0019-git.sh unsets it to test git's tree).
export BITFARM_NO_GIT=1
PIDS=()
n=0
nfailed=0

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    # a local farm a test started
    for f in "$XDG_CACHE_HOME"/bitfarm/*.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    sleep 0.2
    # A sanitizer report from any daemon fails the test (make asan).
    local bad=0
    for f in "$T"/*.log "$XDG_CACHE_HOME"/bitfarm/*.log; do
        [ -f "$f" ] || continue
        if grep -q "Sanitizer\|runtime error:" "$f"; then
            echo "not ok - sanitizer report in $(basename "$f")"
            grep -A20 "Sanitizer\|runtime error:" "$f" | head -40 | sed 's/^/#   /'
            bad=1
        fi
    done
    if [ -n "${KEEP_TEST_DIR:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
    [ "$bad" -eq 0 ] || exit 1
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); nfailed=$((nfailed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d" "command: $*"; fi; }
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3"; fi; }
done_testing() { echo "1..$n"; [ "$nfailed" -eq 0 ]; }

# json FILE-or-STRING EXPR: prints a field with python3's json (jq may be absent)
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print("null" if v is None else (str(v).lower() if isinstance(v,bool) else v))' "$1" "$2"; }

# bail DESCRIPTION FILE: a daemon the test needs did not start: fails the
# test at once, with the reason (its log's last lines), rather than going on
bail() {
    local lines=()
    mapfile -t lines < <(tail -5 "$2" 2>/dev/null)
    not_ok "$1" "${lines[@]}"
    echo "1..$n"
    exit 1
}

# START_TIMEOUT: how long (s) start_broker / start_worker wait for a daemon
START_TIMEOUT=${BITFARM_TEST_START_TIMEOUT:-60}

# start_broker NAME [args]: starts a broker on a free loopback port; sets
# BROKER_EP and BROKER_PID_<NAME>.  A broker that exits, or is not
# listening within START_TIMEOUT, fails the test at once.
start_broker() {
    local name=$1; shift
    "$BIN/bitfarm-broker" --listen 'tcp://127.0.0.1:*' --state-dir "$T/$name" "$@" \
        >"$T/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    eval "BROKER_PID_$name=$pid"
    local end=$(( $(date +%s) + START_TIMEOUT ))
    while [ "$(date +%s)" -le "$end" ]; do
        BROKER_EP=$(sed -n 's/.*listening on \(tcp:[^,]*\),.*/\1/p' "$T/$name.log" | tail -1)
        [ -n "$BROKER_EP" ] && return 0
        kill -0 "$pid" 2>/dev/null || bail "broker $name exited at start" "$T/$name.log"
        sleep 0.05
    done
    bail "broker $name did not listen within ${START_TIMEOUT}s" "$T/$name.log"
}

# start_worker NAME [args]: starts a worker for $BROKER_EP and waits until
# the broker lists it.  A worker that exits, or has not registered within
# START_TIMEOUT, fails the test at once.
start_worker() {
    local name=$1; shift
    "$BIN/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/$name" --name "$name" "$@" \
        >"$T/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    eval "WORKER_PID_$name=$pid"
    local end=$(( $(date +%s) + START_TIMEOUT ))
    while [ "$(date +%s)" -le "$end" ]; do
        "$BIN/bitfarm" workers --broker "$BROKER_EP" --request-timeout 5s 2>/dev/null \
            | grep -q "^$name " && return 0
        kill -0 "$pid" 2>/dev/null || bail "worker $name exited at start" "$T/$name.log"
        sleep 0.05
    done
    bail "worker $name did not register within ${START_TIMEOUT}s" "$T/$name.log"
}

# pid_of_worker NAME: sets WPID to the pid of the worker NAME that
# start_worker started; any other name (such as "null", from a job that
# ran on no worker) fails the test at once, with the broker's log
pid_of_worker() {
    WPID=
    [[ "$1" =~ ^[A-Za-z0-9_]+$ ]] && eval "WPID=\${WORKER_PID_$1:-}"
    [ -n "$WPID" ] || bail "the job ran on a worker this test started (it names '$1')" \
        "$(ls "$T"/broker*.log 2>/dev/null | head -1)"
}

# skip DESCRIPTION REASON: one skipped check, with its reason
skip() { n=$((n + 1)); echo "ok $n # SKIP $1: $2"; }
# skip_all REASON: the whole test is skipped
skip_all() { echo "ok 1 # SKIP $1"; echo "1..1"; exit 0; }

# The sandbox.  Where bubblewrap cannot start as a worker starts it (a
# container or chroot without user namespaces, a seccomp profile), the
# tests' workers run with --no-sandbox (BIN's bitfarm-worker adds it; the
# local farm gets BITFARM_NO_SANDBOX=1) and the checks of confinement skip
# with the reason: need_sandbox DESCRIPTION returns 1 after the skip.
# NO_SANDBOX holds the reason, empty where the sandbox works.
NO_SANDBOX=
if ! command -v bwrap >/dev/null; then
    NO_SANDBOX="bubblewrap is not installed"
elif [ "$(id -u)" -eq 0 ]; then   # a root worker's bwrap makes no user namespace
    NO_SANDBOX=$(bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts \
                 --ro-bind / / true 2>&1 >/dev/null) && NO_SANDBOX= || NO_SANDBOX=${NO_SANDBOX:-bwrap failed}
else
    NO_SANDBOX=$(bwrap --unshare-all --ro-bind / / true 2>&1 >/dev/null) && NO_SANDBOX= \
        || NO_SANDBOX=${NO_SANDBOX:-bwrap failed}
fi
NO_SANDBOX=$(printf '%s' "$NO_SANDBOX" | head -1)
if [ -n "$NO_SANDBOX" ]; then
    echo "# no sandbox here ($NO_SANDBOX): workers run with --no-sandbox"
    mkdir -p "$T/nosb/bin"   # BIN's layout: bin/ beside tests/ (the tools)
    for f in "$BIN"/*; do ln -s "$f" "$T/nosb/bin/"; done
    ln -s "$(dirname "$BIN")/tests" "$T/nosb/tests"
    rm "$T/nosb/bin/bitfarm-worker"
    printf '#!/bin/sh\nexec "%s/bitfarm-worker" --no-sandbox "$@"\n' "$BIN" >"$T/nosb/bin/bitfarm-worker"
    chmod +x "$T/nosb/bin/bitfarm-worker"
    REAL_BIN=$BIN
    BIN=$T/nosb/bin
    export BITFARM_NO_SANDBOX=1
fi
REAL_BIN=${REAL_BIN:-$BIN}
need_sandbox() {
    [ -z "$NO_SANDBOX" ] && return 0
    skip "$1" "no sandbox here ($NO_SANDBOX)"
    return 1
}

# wait_until SECONDS COMMAND...: polls the command every 0.1 s until it
# succeeds (returns 0) or the time is up (returns 1)
wait_until() {
    local secs=$1; shift
    local end=$(( $(date +%s%N) + secs * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# procs_under DIR: ids of processes whose working directory is inside DIR
# (the tools a worker runs work in its job directories)
procs_under() {
    local p c
    for p in /proc/[0-9]*; do
        c=$(readlink "$p/cwd" 2>/dev/null) || continue
        case "$c" in "$1"/*) echo "${p#/proc/}" ;; esac
    done
}

# job_field ID EXPR: a field of `bitfarm status --json`
job_field() { jget "$("$BIN/bitfarm" status "$1" --json 2>/dev/null || echo '{}')" "d.get($2)"; }

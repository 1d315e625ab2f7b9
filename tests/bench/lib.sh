# Sourced by each tests/bench/NN-* section: the build paths, a temp
# directory removed on exit, daemons killed by PID, and BENCH_SIZE
# ("full", the default, for `make bench`; "tiny" when make test only checks
# that the section runs: t0039).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$ROOT/$BUILD/bin ;; esac
BENCH_SIZE=${BENCH_SIZE:-full}
case $BENCH_SIZE in full|tiny) ;; *) echo "bench: BENCH_SIZE '$BENCH_SIZE' is not full or tiny" >&2; exit 2 ;; esac
T=$(mktemp -d /tmp/bitfarm-bench.XXXXXX)
export XDG_CACHE_HOME=$T/xdg
export BITFARM_NO_GIT=1   # fixtures as plain directories (a section may unset it)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; rm -rf "$T"' EXIT
fail() { echo "bench: $1" >&2; [ -z "${2:-}" ] || tail -20 "$2" >&2; exit 1; }
# tiny N full N: the count for this size
size() { [ "$BENCH_SIZE" = tiny ] && echo "$1" || echo "$2"; }
# Where bubblewrap cannot start (a container, a seccomp profile: CI's second
# pass, tests/tools/bf_nonamespaces), workers run with --no-sandbox, as the
# integration tests' do (tests/integration/lib.sh), and the section says so.
if command -v bwrap >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --ro-bind / / true \
            >/dev/null 2>&1 || NO_SANDBOX="bubblewrap cannot start here"
    else
        bwrap --unshare-all --ro-bind / / true >/dev/null 2>&1 \
            || NO_SANDBOX="bubblewrap cannot start here"
    fi
else
    NO_SANDBOX="bubblewrap is not installed"
fi
if [ -n "${NO_SANDBOX:-}" ]; then
    echo "  ($NO_SANDBOX: workers run with --no-sandbox)"
    mkdir -p "$T/nosb/bin"
    for f in "$BIN"/*; do ln -s "$f" "$T/nosb/bin/"; done
    rm "$T/nosb/bin/bitfarm-worker"
    printf '#!/bin/sh\nexec "%s/bitfarm-worker" --no-sandbox "$@"\n' "$BIN" >"$T/nosb/bin/bitfarm-worker"
    chmod +x "$T/nosb/bin/bitfarm-worker"
    BIN=$T/nosb/bin
    export BITFARM_NO_SANDBOX=1
fi

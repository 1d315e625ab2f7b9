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

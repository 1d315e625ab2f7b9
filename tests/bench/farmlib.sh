# Sourced by the build benchmarks (50-cold-build, 55-makespan) after
# lib.sh: a fresh farm in a directory of its own, the by-hand commands of a
# design (from `bitfarm explain`, so the flags, inputs and seed are the
# farm's own) and a timed run of them.
for tool in yosys nextpnr-ice40 icepack bwrap python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "  skipped: $tool is not installed"
        exit 0
    fi
done

# now: the wall clock in microseconds (bash's $EPOCHREALTIME, no fork)
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }

# farm_start DIR WORKERS: a broker with a fresh state directory in DIR and
# WORKERS single-slot workers with fresh work directories (so fresh local
# caches); returns once they have all registered.  BITFARM_BROKER is set.
farm_start() {
    local dir=$1 nw=$2 i
    mkdir -p "$dir"
    "$BIN/bitfarm-broker" --listen "ipc://$dir/broker.sock" --state-dir "$dir/state" \
        >"$dir/broker.log" 2>&1 &
    pids+=($!)
    FARM_PIDS=($!)
    for i in $(seq "$nw"); do
        "$BIN/bitfarm-worker" --broker "ipc://$dir/broker.sock" --work-dir "$dir/w$i" \
            --name "w$i" --slots 1 >"$dir/w$i.log" 2>&1 &
        pids+=($!)
        FARM_PIDS+=($!)
    done
    export BITFARM_BROKER=ipc://$dir/broker.sock
    for _ in $(seq 200); do
        [ "$("$BIN/bitfarm" workers 2>/dev/null | grep -c '^w[0-9]')" = "$nw" ] && return 0
        sleep 0.05
    done
    fail "the farm in $dir did not start" "$dir/w1.log"
}

# farm_stop: stops the farm farm_start started last (by PID), and waits.
farm_stop() {
    local p
    for p in "${FARM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${FARM_PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    done
    # lib.sh's exit trap kills what is left in pids (under set -e, a kill
    # of a process that is gone would fail the section): one farm at a time
    pids=()
    unset BITFARM_BROKER
}

# hand_script OUT SUBMIT-ARGS...: the by-hand commands of the build as
# `bitfarm explain` prints them (run from the design's directory, against
# the running farm), with a timestamp after the build script is written and
# after each tool, into OUT.  Running OUT in a copy of the design's
# directory leaves top.bin there and the timestamps (microseconds) in
# ./times: start, script written, yosys, nextpnr, icepack done.
hand_script() {
    local out=$1
    shift
    "$BIN/bitfarm" explain "$@" >"$out.explain" 2>&1 || fail "explain failed" "$out.explain"
    awk 'on == 2 && /^action / { exit }
         on == 2 { print }
         /^commands \(by hand/ { on = 1 }
         on == 1 && /\):$/ { on = 2 }' "$out.explain" >"$out.cmds"
    grep -q '^yosys ' "$out.cmds" && grep -q '^nextpnr-ice40 ' "$out.cmds" \
        && grep -q '^icepack ' "$out.cmds" || fail "no by-hand commands in explain's output" "$out.explain"
    awk 'BEGIN { print "set -e"; print "T=${EPOCHREALTIME/[.,]/}" }
         { print }
         /<<.EOF.$/ { heredoc = 1; next }
         heredoc && /^EOF$/ { heredoc = 0; print "T=\"$T ${EPOCHREALTIME/[.,]/}\""; next }
         !heredoc { print "T=\"$T ${EPOCHREALTIME/[.,]/}\"" }
         END { print "echo $T >times" }' "$out.cmds" >"$out"
}

# hand_run SCRIPT DESIGN-DIR DIR: copies the design into DIR and runs the
# by-hand script there, its output in DIR/hand.log and its seconds of
# wall, user and system time in DIR/cpu.  Prints the wall time in
# microseconds as seen from outside (the same way the farm is timed).
hand_run() {
    local script=$1 src=$2 dir=$3 t0 t1 TIMEFORMAT='%R %U %S'
    rm -rf "$dir"
    cp -r "$src" "$dir"
    t0=$(now_us)
    { time (cd "$dir" && bash "$script" >hand.log 2>&1) ; } 2>"$dir.cpu" \
        || fail "the build by hand failed" "$dir/hand.log"
    t1=$(now_us)
    mv "$dir.cpu" "$dir/cpu"
    echo $((t1 - t0))
}

sha() { sha256sum "$1" | cut -c1-64; }

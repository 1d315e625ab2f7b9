#!/usr/bin/env bash
# Packaged services: `make install DESTDIR=... PREFIX=/usr` lays out the
# programs, the systemd units (BINDIR and SYSCONFDIR filled in), the bitfarm
# user, /etc/bitfarm (never overwriting a config file) and the man pages;
# the units pass `systemd-analyze verify` and its offline security check;
# every command in `bitfarm --help` has a man page naming each of its
# options, and every page renders without a groff (or mandoc) warning; the
# shipped broker.conf and worker.d/local.conf start a real broker and a
# worker that registers; a worker under the file-system settings of its
# unit (made by hand: no systemd here) builds sandboxed, and one under
# ProtectKernelTunables' mounts cannot; docker/compose.yaml is a valid
# compose file, and the image builds where a Docker daemon answers.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-build}
case "$B" in /*) ;; *) B=$ROOT/$B ;; esac
# Under `make asan` the build's flags are not make's defaults: install what
# is built (-o all) rather than rebuild it with other flags.
KEEP=
[ -n "${BITFARM_SANITIZED:-}" ] && KEEP="-o all"
inst() {   # inst DESTDIR PREFIX: make install, its output in $T/install.log
    # shellcheck disable=SC2086
    make -s -C "$ROOT" $KEEP BUILD="$B" DESTDIR="$1" PREFIX="$2" install >>"$T/install.log" 2>&1
}

# --- the layout -----------------------------------------------------------
R=$T/root
inst "$R" /usr
check_eq "make install DESTDIR=\$T/root PREFIX=/usr exits 0" 0 $?
for f in usr/bin/bitfarm usr/bin/bitfarm-broker usr/bin/bitfarm-worker usr/bin/submit \
         usr/lib/systemd/system/bitfarm-broker.service \
         usr/lib/systemd/system/bitfarm-worker@.service usr/lib/sysusers.d/bitfarm.conf \
         etc/bitfarm/broker.conf etc/bitfarm/worker.d/local.conf \
         etc/bitfarm/worker.d/boards.json.example \
         usr/share/man/man1/bitfarm.1 usr/share/man/man1/bitfarm-submit.1 \
         usr/share/man/man8/bitfarm-broker.8 usr/share/man/man8/bitfarm-worker.8; do
    check "  installs $f" test -f "$R/$f"
done
for d in keys/workers keys/clients keys/admins certs worker.d; do
    check "  makes etc/bitfarm/$d" test -d "$R/etc/bitfarm/$d"
done
check_eq "  certs/ (this host's secret keys) is not world-readable" 750 \
    "$(stat -c %a "$R/etc/bitfarm/certs")"
check_eq "  man submit is bitfarm-submit(1)" bitfarm-submit.1 \
    "$(readlink "$R/usr/share/man/man1/submit.1")"
check "  boards.json.example is examples/worker-boards.json" \
    cmp -s "$ROOT/examples/worker-boards.json" "$R/etc/bitfarm/worker.d/boards.json.example"
U=$R/usr/lib/systemd/system
check "  no @VARIABLE@ is left in the units or the config" \
    bash -c '! grep -rq "@[A-Z]*@" "$1" "$2"' _ "$U" "$R/etc/bitfarm"
check_eq "  the broker unit runs PREFIX/bin/bitfarm-broker" \
    "ExecStart=/usr/bin/bitfarm-broker --state-dir /var/lib/bitfarm/broker \$BITFARM_BROKER_OPTS" \
    "$(grep '^ExecStart=' "$U/bitfarm-broker.service")"
check_eq "  ... with SYSCONFDIR /etc for PREFIX=/usr" "EnvironmentFile=/etc/bitfarm/broker.conf" \
    "$(grep '^EnvironmentFile=' "$U/bitfarm-broker.service")"
check_eq "  the worker unit reads worker.d/INSTANCE.conf" \
    "EnvironmentFile=/etc/bitfarm/worker.d/%i.conf" \
    "$(grep '^EnvironmentFile=' "$U/bitfarm-worker@.service")"
check_eq "  the installed CLI runs" "bitfarm 0.1.0" "$("$R/usr/bin/bitfarm" --version)"
check_eq "  the installed submit (the lean front end) runs" "bitfarm 0.1.0" "$("$R/usr/bin/submit" --version)"
check "  ... and hands what it does not do to the installed bitfarm beside it" \
    bash -c '"$1" --help | grep -q "^usage: bitfarm submit"' _ "$R/usr/bin/submit"

# --- reinstalling keeps the config ---------------------------------------------
echo 'BITFARM_BROKER_OPTS="--listen tcp://127.0.0.1:6000" # mine' >"$R/etc/bitfarm/broker.conf"
rm "$R/etc/bitfarm/worker.d/local.conf"
inst "$R" /usr
check_eq "a second make install exits 0" 0 $?
check "  ... leaves an edited broker.conf as it was" grep -q "# mine" "$R/etc/bitfarm/broker.conf"
check "  ... and puts back a missing worker.d/local.conf" \
    grep -q "^BITFARM_WORKER_OPTS=" "$R/etc/bitfarm/worker.d/local.conf"

R2=$T/root2
inst "$R2" /usr/local
check_eq "PREFIX=/usr/local: SYSCONFDIR is PREFIX/etc" \
    "EnvironmentFile=/usr/local/etc/bitfarm/broker.conf" \
    "$(grep '^EnvironmentFile=' "$R2/usr/local/lib/systemd/system/bitfarm-broker.service")"
check "  ... and the units run PREFIX/bin's daemons" grep -q \
    '^ExecStart=/usr/local/bin/bitfarm-worker ' "$R2/usr/local/lib/systemd/system/bitfarm-worker@.service"
check "  ... config under usr/local/etc/bitfarm" test -f "$R2/usr/local/etc/bitfarm/worker.d/local.conf"

# --- systemd-analyze -----------------------------------------------------------
# verify wants the ExecStart binaries: the units, pointed at the DESTDIR
# copies, in a temporary unit directory; Documentation= man pages from the
# DESTDIR too.  It exits 0 on an unknown key, so its stderr must be empty.
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units" "$T/bad"
    for u in "$U"/*.service; do
        sed "s|^ExecStart=/usr/bin/|ExecStart=$R/usr/bin/|" "$u" >"$T/units/$(basename "$u")"
    done
    MANPATH=$R/usr/share/man systemd-analyze verify "$T/units/bitfarm-broker.service" \
        "$T/units/bitfarm-worker@local.service" >"$T/verify.out" 2>&1
    check_eq "systemd-analyze verify passes on the installed units" "0 ''" \
        "$? '$(cat "$T/verify.out")'"
    sed 's/^ProtectHome=yes/ProtectHome=yes\nProtectHomeTypo=yes/' \
        "$T/units/bitfarm-broker.service" >"$T/bad/bitfarm-broker.service"
    MANPATH=$R/usr/share/man systemd-analyze verify "$T/bad/bitfarm-broker.service" \
        >"$T/verify-bad.out" 2>&1
    check "  ... and it would say so of a misspelt key" \
        grep -q "Unknown key 'ProtectHomeTypo'" "$T/verify-bad.out"
    MANPATH=/nonexistent systemd-analyze verify "$T/units/bitfarm-broker.service" >/dev/null 2>&1
    check_eq "  ... or of a Documentation= page that is not installed" 1 $?
    # exposure: 0 (locked down) .. 10; --threshold is in tenths
    for u in "bitfarm-broker.service 20" "bitfarm-worker@local.service 40"; do
        set -- $u
        systemd-analyze security --offline=yes --threshold="$2" "$T/units/$1" >"$T/sec.out" 2>&1
        check "  $1: exposure at most $(($2 / 10)).0 ($(grep -o 'exposure level[^:]*: [0-9.]*' \
            "$T/sec.out" | sed 's/.*: //'))" test $? -eq 0
    done
else
    skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

# --- man pages -----------------------------------------------------------------
M=$R/usr/share/man
cmds=$("$BIN/bitfarm" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z]*\) .*/\1/p' \
       | sort -u)
ncmds=$(wc -w <<<"$cmds")
check "bitfarm --help lists the commands (found $ncmds)" test "$ncmds" -ge 20
missing= badopt=
for c in $cmds; do
    [ -f "$M/man1/bitfarm-$c.1" ] || { missing="$missing $c"; continue; }
    # every option `bitfarm help CMD` shows is in the page
    for o in $("$BIN/bitfarm" help "$c" | grep -o '^  \(-[a-zA-Z], \)\?--[a-z-]*' | sed 's/.*--//'); do
        grep -q "\\\\-\\\\-${o//-/\\\\-}\\\\f" "$M/man1/bitfarm-$c.1" || badopt="$badopt $c:--$o"
    done
done
check_eq "every command in bitfarm --help has a man page" "" "$missing"
check_eq "  ... naming every option its help shows" "" "$badopt"
for d in broker worker; do
    badopt=
    for o in $("$BIN/bitfarm-$d" --help | grep -o '^  \(-h, \)\?--[a-z-]*' | sed 's/.*--//'); do
        grep -q "\\\\-\\\\-${o//-/\\\\-}\\\\f" "$M/man8/bitfarm-$d.8" || badopt="$badopt --$o"
    done
    check_eq "bitfarm-$d(8) names every option of its --help" "" "$badopt"
done
warned=
for p in "$M"/man1/*.1 "$M"/man8/*.8; do
    w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
    [ -z "$w" ] || warned="$warned $(basename "$p"): $w"
done
check_eq "every page renders without a groff warning (groff -man -ww)" "" "$warned"
if command -v mandoc >/dev/null; then
    w=$(mandoc -Tlint -W warning "$M"/man1/*.1 "$M"/man8/*.8 2>&1)
    check_eq "  ... nor a mandoc -Tlint warning" "" "$w"
else
    skip "  ... nor a mandoc -Tlint warning" "mandoc is not installed"
fi
check "man -l bitfarm-submit.1 shows its NAME line" bash -c \
    'MANWIDTH=100 man -l "$1" 2>/dev/null | grep -q "bitfarm-submit - send a design"' _ \
    "$M/man1/bitfarm-submit.1"
check "  bitfarm(1) points to every command's page" bash -c \
    'for c in $2; do grep -q "^\\\\fBbitfarm $c\\\\fR" "$1" || exit 1; done' _ "$M/man1/bitfarm.1" "$cmds"
"$BIN/bitfarm" help --man nosuch >/dev/null 2>"$T/err"
check_eq "help --man of an unknown command exits 2" 2 $?
check_eq "  ... saying so" "bitfarm: unknown command 'nosuch' (see bitfarm --help)" "$(cat "$T/err")"

# --- the shipped config files start a farm ---------------------------------------
# EnvironmentFile= reads VAR="..." as the shell does here.  Both files name
# 127.0.0.1:5555; another port is given last (the last value wins), so this
# test never takes a fixed port.
BITFARM_BROKER_OPTS= BITFARM_WORKER_OPTS=
. "$R2/usr/local/etc/bitfarm/worker.d/local.conf"
. "$R2/usr/local/etc/bitfarm/broker.conf"
check "broker.conf sets BITFARM_BROKER_OPTS" test -n "$BITFARM_BROKER_OPTS"
# shellcheck disable=SC2086
start_broker broker $BITFARM_BROKER_OPTS --listen 'tcp://127.0.0.1:*'
# shellcheck disable=SC2086
start_worker local $BITFARM_WORKER_OPTS --broker "$BROKER_EP"
check "  ... and worker.d/local.conf's worker registers with it" bash -c \
    '"$1/bitfarm" workers --broker "$2" | grep -q "^local "' _ "$BIN" "$BROKER_EP"

# --- the worker unit's file-system settings and bubblewrap --------------------------
# No systemd runs here as PID 1, so the units are not started; instead the
# mounts their settings make are made by hand in a new mount namespace and
# the installed worker is started in it as an unprivileged user, with
# no_new_privs and an empty bounding set: ProtectSystem=strict (/ read-only,
# the StateDirectory read-write), ProtectHome= (an empty /home) and
# ProtectControlGroups= (cgroupfs read-only) must leave its sandbox working;
# ProtectKernelTunables= (a read-only /proc/sys over /proc) must not, which
# is why the worker unit leaves it out.
svc_worker() {   # svc_worker NAME EXTRA-MOUNTS: the worker NAME, as the unit would run it
    mkdir -p "$T/$1" && chown 65534:65534 "$T/$1"
    unshare -m --propagation private sh -c "
        mount --bind '$T/$1' '$T/$1' && mount -o remount,bind,ro / &&
        mount -t tmpfs -o ro tmpfs /home &&
        mount --bind /sys/fs/cgroup /sys/fs/cgroup && mount -o remount,bind,ro /sys/fs/cgroup &&
        $2
        exec setpriv --reuid 65534 --regid 65534 --clear-groups --no-new-privs \
            --bounding-set -all '$R/usr/bin/bitfarm-worker' --name '$1' --work-dir '$T/$1' \
            --broker '$BROKER_EP' --tag svc" >"$T/$1.log" 2>&1 &
    PIDS+=("$!")
    SVC_PID=$!
}
if [ "$(id -u)" -ne 0 ]; then
    skip "the worker unit's mounts keep bubblewrap working" "not root (mount namespaces)"
elif ! err=$(setpriv --reuid 65534 --regid 65534 --clear-groups bwrap --unshare-all \
             --ro-bind / / true 2>&1); then
    skip "the worker unit's mounts keep bubblewrap working" \
        "no unprivileged bubblewrap here ($(head -1 <<<"$err"))"
else
    chmod 711 "$T"   # for uid 65534 to reach its work directory
    svc_worker svc ""
    if wait_until 30 bash -c '"$1/bitfarm" workers --broker "$2" 2>/dev/null | grep -q "^svc "' \
            _ "$BIN" "$BROKER_EP"; then
        ok "a worker under the unit's file-system settings starts sandboxed and registers"
    else
        not_ok "a worker under the unit's file-system settings starts sandboxed and registers" \
            "$(tail -3 "$T/svc.log")"
    fi
    line=$("$BIN/bitfarm" workers --broker "$BROKER_EP" | grep "^svc ")
    check "  ... sandboxed (listed, and not as UNSANDBOXED: '${line:0:40}...')" \
        bash -c '[ -n "$1" ] && ! grep -q UNSANDBOXED <<<"$1"' _ "$line"
    (cd "$FIXTURES/blinky" && "$BIN/submit" --broker "$BROKER_EP" --wait -o "$T/svc.bin" --tag svc \
        --top top --device hx1k --package tq144 --pcf icestick.pcf --freq 12 top.v \
        >"$T/svc.id" 2>"$T/svc.err")
    check_eq "  ... and builds a design there (submit --tag svc --wait exits 0)" 0 $?
    check_eq "  ... the hx1k bitstream: 32220 bytes" 32220 "$(stat -c %s "$T/svc.bin" 2>/dev/null)"
    check_eq "  ... built by that worker" svc \
        "$(jget "$("$BIN/bitfarm" status --broker "$BROKER_EP" "$(cat "$T/svc.id")" --json)" \
           'd.get("worker")')"
    svc_worker svc-tunables "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys &&"
    wait "$SVC_PID"
    check_eq "  ... and with ProtectKernelTunables' read-only /proc/sys it cannot start (exit 1)" 1 $?
    check "  ... because bubblewrap cannot mount its /proc" \
        grep -q "cannot sandbox builds.*Can't mount proc" "$T/svc-tunables.log"
fi

# --- the units' system-call filters against the daemons' real system calls ----------
# strace -f records every system call of a daemon as it starts, serves a
# client and stops (the worker: its sandbox check, bubblewrap included, and
# its registration); each must be in its unit's SystemCallFilter=, as
# systemd-analyze expands the groups.
# outside_filter STRACE-FILE ALLOW DENY PROGRAM: the calls PROGRAM made (from
# its execve on) that ALLOW less DENY does not allow, on one line
outside_filter() {
    systemd-analyze syscall-filter 2>/dev/null | python3 -c '
import re, sys
groups, cur = {}, None
for line in sys.stdin:
    line = line.rstrip()
    if line.startswith("@"):
        cur = line.split()[0]; groups[cur] = []
    elif cur and line.strip() and not line.strip().startswith("#"):
        groups[cur].append(line.strip())
def expand(names):
    out = set()
    for x in names.split():
        out |= expand(" ".join(groups[x])) if x.startswith("@") else {x}
    return out
allowed = expand(sys.argv[2]) - expand(sys.argv[3])
text = open(sys.argv[1]).read()
start = text.find("execve(\"" + sys.argv[4] + "\"")   # the daemon on: not setpriv before it
used = set(re.findall(r"^\d+ +(?:<\.\.\. )?([a-z0-9_]+)[( ]", text[max(start, 0):], re.M))
used -= {"exit", "exit_group", "rt_sigreturn", "restart_syscall"}   # always allowed
print(" ".join(sorted(used - allowed)) if used else "(no calls traced)")
' "$@" 2>&1 || echo "(the check failed)"
}
if ! command -v strace >/dev/null; then
    skip "the units' system-call filters" "strace is not installed"
elif ! command -v systemd-analyze >/dev/null; then
    skip "the units' system-call filters" "systemd-analyze is not installed"
else
    # both as an unprivileged user, as the units run them (SQLite fchown()s
    # its files only as root)
    U65534="setpriv --reuid 65534 --regid 65534 --clear-groups"
    [ "$(id -u)" -eq 0 ] || U65534=
    mkdir -p "$T/sbroker" && chmod 711 "$T"
    [ -n "$U65534" ] && chown 65534:65534 "$T/sbroker"
    # (LeakSanitizer cannot run under ptrace: off for the traced daemons of make asan)
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
    strace -f -qq -o "$T/broker.strace" $U65534 "$R/usr/bin/bitfarm-broker" --listen 'tcp://127.0.0.1:*' \
        --state-dir "$T/sbroker" --pid-file "$T/sbroker/pid" >"$T/sbroker.log" 2>&1 &
    SPID=$!; PIDS+=("$SPID")   # strace's; the daemon's: its --pid-file (strace ends with it)
    wait_until 30 grep -q "listening on" "$T/sbroker.log"
    SEP=$(sed -n 's/.*listening on \(tcp:[^,]*\),.*/\1/p' "$T/sbroker.log" | tail -1)
    "$BIN/bitfarm" workers --broker "$SEP" >/dev/null 2>&1
    wait_until 10 test -s "$T/sbroker/pid" && kill "$(cat "$T/sbroker/pid")"
    wait "$SPID"
    check_eq "the broker's system calls are all in its unit's SystemCallFilter=" "" \
        "$(outside_filter "$T/broker.strace" @system-service @privileged "$R/usr/bin/bitfarm-broker")"
    if [ -z "$NO_SANDBOX" ] && [ "$(id -u)" -eq 0 ]; then
        mkdir -p "$T/straced" && chown 65534:65534 "$T/straced" && chmod 711 "$T"
        strace -f -qq -o "$T/worker.strace" setpriv --reuid 65534 --regid 65534 --clear-groups \
            "$R/usr/bin/bitfarm-worker" --broker "$BROKER_EP" --work-dir "$T/straced" \
            --name straced --pid-file "$T/straced/pid" >"$T/straced.log" 2>&1 &
        SPID=$!; PIDS+=("$SPID")
        wait_until 30 bash -c '"$1/bitfarm" workers --broker "$2" 2>/dev/null | grep -q "^straced "' \
            _ "$BIN" "$BROKER_EP"
        check "  (the traced worker registered)" \
            bash -c '"$1/bitfarm" workers --broker "$2" | grep -q "^straced "' _ "$BIN" "$BROKER_EP"
        wait_until 10 test -s "$T/straced/pid" && kill "$(cat "$T/straced/pid")"
        wait "$SPID"
        check "  (bubblewrap ran in it)" grep -q 'execve("/usr/bin/bwrap"' "$T/worker.strace"
        check_eq "the worker's (and bubblewrap's) are all in its unit's SystemCallFilter=" "" \
            "$(outside_filter "$T/worker.strace" "@system-service @mount" "" "$R/usr/bin/bitfarm-worker")"
    else
        skip "the worker's system calls" "not root, or no sandbox here (${NO_SANDBOX:-not root})"
    fi
fi

# --- docker --------------------------------------------------------------------------
compose=
if docker compose version >/dev/null 2>&1; then compose="docker compose"
elif command -v docker-compose >/dev/null; then compose=docker-compose
fi
if [ -n "$compose" ]; then
    $compose -f "$ROOT/docker/compose.yaml" config >"$T/compose.out" 2>&1
    check_eq "$compose -f docker/compose.yaml config passes" 0 $?
    for s in broker worker1 worker2; do
        check "  ... with the service $s" grep -q "^  $s:" "$T/compose.out"
    done
    check "  ... the dashboard published on the host's loopback only" \
        grep -q "127.0.0.1:8080:8080\|host_ip: 127.0.0.1" "$T/compose.out"
    check "  ... and no port published on all addresses" \
        bash -c '! grep -q "^ *- \(0.0.0.0:\)\?[0-9]*:[0-9]*$" "$1"' _ "$T/compose.out"
else
    skip "docker compose -f docker/compose.yaml config" \
        "neither the docker compose plugin nor docker-compose is installed"
fi
if ! command -v docker >/dev/null; then
    skip "docker build -f docker/Dockerfile" "docker is not installed"
elif ! docker info >/dev/null 2>&1; then
    skip "docker build -f docker/Dockerfile" "no Docker daemon answers (docker info fails)"
else
    docker build -q -f "$ROOT/docker/Dockerfile" -t bitfarm-t0037 "$ROOT" >"$T/docker.out" 2>&1
    check_eq "docker build -f docker/Dockerfile succeeds" 0 $?
    check_eq "  ... and the image's bitfarm-worker runs as the bitfarm user" "bitfarm-worker 0.1.0" \
        "$(docker run --rm --user bitfarm bitfarm-t0037 bitfarm-worker --version 2>&1)"
fi
done_testing

#!/usr/bin/env bash
# The CLI's command table: `bitfarm --help` lists every command, `bitfarm
# help COMMAND` (and `COMMAND --help`) shows a command's options, an option
# a command does not take is refused (exit 2, one line, nothing started),
# and the commands still work with the options they take.
. "$(dirname "$0")/lib.sh"
BF=$BIN/bitfarm

# --- help, generated from the table
out=$("$BF" help submit); rc=$?
check_eq "help submit exits 0" 0 "$rc"
for o in --top --device --package --pcf --seed --synth-opt --pnr-opt --param -D -I --toolchain \
         --priority --timeout --tag --wait -o --broker --json; do
    check "help submit shows $o" grep -q -- "^  $o[ ,]" <<<"$out"
done
lacks() { ! grep -q -- "$1" <<<"$2"; }
check "help submit does not show --cache-dir (submit does not take it)" lacks --cache-dir "$out"
check_eq "submit --help is help submit" "$out" "$("$BF" submit --help)"
check_eq "the submit link's --help is help submit" "$out" "$("$BIN/submit" --help)"

out=$("$BF" --help); rc=$?
check_eq "--help exits 0" 0 "$rc"
for c in submit status wait logs fetch cancel jobs workers explain program boards board reserve \
         release keygen; do
    check "--help lists $c" grep -q "^  $c\b" <<<"$out"
    check "help $c shows its usage" bash -c "'$BF' help $c | grep -q '^usage: bitfarm $c\b'"
done
for c in "cache stats" "cache ls" "cache show" "cache verify" "cache gc" "cache evict" \
         "cache invalidate" "farm start" "farm stop" "farm status"; do
    check "--help lists $c" grep -q "^  $c\b" <<<"$out"
done
check "--help shows the exit statuses" grep -q "^  5  the job was cancelled" <<<"$out"
check "help cache lists its subcommands' options" \
    bash -c "'$BF' help cache | grep -q -- '--older-than DURATION'"
"$BF" help nosuch 2>"$T/err"
check_eq "help of an unknown command exits 2" 2 $?
check_eq "... and says so" "bitfarm: unknown command 'nosuch' (see bitfarm --help)" "$(cat "$T/err")"

# --- an option a command does not take is refused, before anything runs
refused() {   # DESCRIPTION MESSAGE ARGS...
    local d=$1 msg=$2; shift 2
    "$BF" "$@" >"$T/out" 2>"$T/err"
    check_eq "$d: exit 2" 2 $?
    check_eq "$d: one line saying so" "bitfarm: $msg" "$(cat "$T/err")"
}
refused "cache stats --seed 7" \
    "option '--seed' does not apply to 'cache stats' (see bitfarm help cache)" \
    cache stats --seed 7 --cache-dir "$T/c"
refused "jobs --top x" "option '--top' does not apply to 'jobs' (see bitfarm help jobs)" \
    jobs --top x
refused "status --synth-opt -dsp" \
    "option '--synth-opt' does not apply to 'status' (see bitfarm help status)" \
    status 1234abcd --synth-opt -dsp
refused "keygen --wait" "option '--wait' does not apply to 'keygen' (see bitfarm help keygen)" \
    keygen --role client x --dir "$T/k0" --wait
refused "an abbreviated option is named in full" \
    "option '--seed' does not apply to 'workers' (see bitfarm help workers)" workers --se 3
refused "a short option" "option '-n' does not apply to 'status' (see bitfarm help status)" \
    status 1234abcd -n 3
refused "cache ls --since" \
    "option '--since' does not apply to 'cache ls' (see bitfarm help cache)" \
    cache ls --since 7d --broker tcp://127.0.0.1:9
refused "an option no cache subcommand takes, without one" \
    "option '--wait' does not apply to 'cache' (see bitfarm help cache)" cache --wait
check "keygen wrote nothing when refused" test ! -e "$T/k0/x.key"
check "no local farm was started" test ! -e "$XDG_CACHE_HOME/bitfarm/broker.pid"

# --- what a command takes still works, as before
"$BF" keygen --role client x --dir "$T" >"$T/out"
check_eq "keygen --role client x --dir T exits 0" 0 $?
check "... and writes the key pair" test -f "$T/x.key" -a -f "$T/x.key_secret"
"$BF" cache stats --cache-dir "$T/c" 2>"$T/err"
check_eq "cache stats on no cache exits 2" 2 $?
check_eq "... and says so" "bitfarm: no cache at '$T/c' (give --cache-dir DIR)" "$(cat "$T/err")"
start_broker b || { not_ok "broker starts"; done_testing; exit 1; }
"$BF" cache stats --cache-dir "$T/b/cache" >"$T/out"
check_eq "cache stats on the broker's cache exits 0" 0 $?
check "... and prints its directory" grep -q "^cache directory  $T/b/cache" "$T/out"
out=$("$BF" cache ls --json -n 5 --cache-dir "$T/b/cache")
check_eq "cache ls -n 5 --json: an empty list" "[]" "$out"
"$BF" cache nosuch --cache-dir "$T/b/cache" 2>"$T/err"
check_eq "an unknown cache subcommand exits 2" 2 $?
check "... naming the ones there are" grep -q "cache needs one of stats, ls" "$T/err"
"$BF" workers --broker "$BROKER_EP" --request-timeout 2s >"$T/out"
check_eq "workers with the common options exits 0" 0 $?
check "... and prints the table" grep -q "^WORKER " "$T/out"
done_testing

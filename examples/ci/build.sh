#!/bin/sh
# examples/ci/build.sh - the commands the CI recipes (github-actions.yml,
# gitlab-ci.yml) run, so that they can be tested: `make test` runs this
# script against a real farm (tests/integration/t0020-project.sh).
#
# Builds every target of the repository's bitfarm.ini on a bitfarm farm
# (`bitfarm submit --all --wait`) and leaves in $BITFARM_OUT (default
# bitfarm-out/):
#   TARGET.bin          the bitstream of each target that built
#   TARGET.report.json  nextpnr's report (utilisation, Fmax)
#   TARGET.log          the tools' log
#   junit.xml           one test case per target (CI systems show it)
#   summary.txt         what the build printed
# The exit status is the worst of the targets' (0 all built, 1 a design
# failed, 3 the farm failed, 4 a time-out; see `bitfarm --help`).
#
# The farm, from the CI system's secrets:
#   BITFARM_BROKER         the broker's endpoint: tcp://farm.example.com:5555
#   BITFARM_CLIENT_KEY     this client's secret key: the text of the
#                          NAME.key_secret that `bitfarm keygen --role client NAME` wrote
#   BITFARM_BROKER_PUBKEY  the broker's public key: the text of its NAME.key
# Instead of the last two, BITFARM_CERT and BITFARM_BROKER_KEY may name
# the files.  BITFARM: the bitfarm program (default: bitfarm on the PATH).
# Extra arguments go to submit (e.g. -t NAME, --priority 10).
set -eu
BITFARM=${BITFARM:-bitfarm}
out=${BITFARM_OUT:-bitfarm-out}
: "${BITFARM_BROKER:?set BITFARM_BROKER (a CI secret) to the farm's endpoint}"
export BITFARM_BROKER
mkdir -p "$out"
keys=
trap '[ -z "$keys" ] || rm -rf "$keys"' EXIT
if [ -n "${BITFARM_CLIENT_KEY:-}" ]; then
    : "${BITFARM_BROKER_PUBKEY:?set BITFARM_BROKER_PUBKEY (a CI secret) with BITFARM_CLIENT_KEY}"
    keys=$(mktemp -d)
    (umask 077 && printf '%s\n' "$BITFARM_CLIENT_KEY" >"$keys/ci.key_secret")
    printf '%s\n' "$BITFARM_BROKER_PUBKEY" >"$keys/broker.key"
    BITFARM_CERT=$keys/ci.key_secret
    BITFARM_BROKER_KEY=$keys/broker.key
    export BITFARM_CERT BITFARM_BROKER_KEY
fi
rc=0
"$BITFARM" submit --all --wait --junit "$out/junit.xml" --artifacts "$out" "$@" \
    >"$out/summary.txt" || rc=$?
cat "$out/summary.txt"
exit "$rc"

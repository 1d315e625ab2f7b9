#!/usr/bin/env bash
# Submit from git (issue 16), with real repositories made by the git CLI:
# --rev of an old commit in a dirty clone builds the old content (the same
# bitstream bytes as a checkout of it); the provenance (commit, dirty files,
# branches and tags, the remote without credentials, submodules) reaches the
# job, its events, `jobs --rev` and the cache entry's sources; untracked and
# ignored files are never uploaded; a bare repository builds with --git-dir;
# and the errors are one line with exit code 2.
. "$(dirname "$0")/lib.sh"
unset BITFARM_NO_GIT
command -v git >/dev/null || { echo "1..0 # SKIP git is not installed (scripts/install-deps)"; exit 0; }
export GIT_CONFIG_GLOBAL=$T/gitconfig GIT_CONFIG_NOSYSTEM=1
git config --global user.email t@example.com
git config --global user.name tester
git config --global init.defaultBranch main
git config --global protocol.file.allow always

start_broker broker || { not_ok "broker starts"; done_testing; exit 1; }
start_worker w1 || { not_ok "worker starts"; done_testing; exit 1; }
export BITFARM_BROKER=$BROKER_EP
B=$FIXTURES/blinky
DESIGN=(--top top --device hx1k --package tq144 --pcf icestick.pcf --freq 12)
build() { "$BIN/submit" "${DESIGN[@]}" --wait "$@"; }

# --- the repositories ---------------------------------------------------------
# lib: a submodule with one include file.
git init -q "$T/lib"
echo '`define LED_BITS 5' >"$T/lib/defs.vh"
git -C "$T/lib" add defs.vh && git -C "$T/lib" commit -qm lib

# r: blinky; v1 shows count[23:19], main shows count[22:18].
R=$T/r
git init -q "$R"
cp "$B/icestick.pcf" "$R/"
cp "$B/top.v" "$R/top.v"
printf 'secret.hex\n*.log\n' >"$R/.gitignore"
git -C "$R" add . && git -C "$R" commit -qm v1 && git -C "$R" tag -a v1 -m "release 1"
V1=$(git -C "$R" rev-parse HEAD)
sed -i 's/\[23:19\]/[22:18]/' "$R/top.v"
git -C "$R" commit -qam two
git -C "$R" remote add origin "https://ci-bot:s3cret-token@git.example.com/team/blinky.git"

# --- --rev of an old commit in a dirty clone ---------------------------------
echo '// a local edit' >>"$R/top.v"
echo 'module junk; endmodule' >"$R/untracked.v"
out=$(cd "$R" && build --rev v1 -o "$T/rev.bin" top.v 2>"$T/err")
check_eq "submit --rev v1 in a dirty clone succeeds" 0 $?
rev_id=$(echo "$out" | head -1)
git clone -q "$R" "$T/co" && git -C "$T/co" checkout -q v1
out=$(cd "$T/co" && build -o "$T/co.bin" top.v 2>&1)
check_eq "a checkout of v1 builds" 0 $?
co_id=$(echo "$out" | head -1)
check "  ... to the same bitstream bytes as --rev v1" cmp -s "$T/rev.bin" "$T/co.bin"
check_eq "  ... under the same cache key" "$(job_field "$rev_id" "'cache_key'")" \
    "$(job_field "$co_id" "'cache_key'")"
out=$(cd "$R" && BITFARM_NO_GIT=1 build -o "$T/dirty.bin" top.v 2>&1)
check_eq "(control: the dirty work tree builds too)" 0 $?
check "  ... to other bytes (so the comparison can fail)" \
    bash -c "! cmp -s '$T/rev.bin' '$T/dirty.bin'"
head_key=$(cd "$R" && "$BIN/submit" "${DESIGN[@]}" -n --json top.v | \
    python3 -c 'import json,sys; print([f["sha256"] for f in json.load(sys.stdin)["files"] if f["path"]=="top.v"][0])')
check_eq "  ... and without --rev the work tree's top.v is the one sent" \
    "$(sha256sum "$R/top.v" | cut -c1-64)" "$head_key"

# --- provenance --------------------------------------------------------------
st=$("$BIN/bitfarm" status "$rev_id" --json)
check_eq "the job records the commit of --rev v1" "$V1" "$(jget "$st" "d['provenance']['commit']")"
check_eq "  ... the tag pointing at it" "['v1']" "$(jget "$st" "d['provenance']['tags']")"
check_eq "  ... built from the object database, so not dirty" "false" \
    "$(jget "$st" "d['provenance']['dirty']")"
check_eq "  ... and the remote without its credentials" \
    "https://git.example.com/team/blinky.git" "$(jget "$st" "d['provenance']['remote']")"
check_eq "  ... nowhere the token" 0 "$(grep -c s3cret-token <<<"$st")"
wt=$(cd "$R" && "$BIN/submit" "${DESIGN[@]}" --flow noop top.v)
st=$("$BIN/bitfarm" status "$wt" --json)
check_eq "a work-tree submit records HEAD" "$(git -C "$R" rev-parse HEAD)" \
    "$(jget "$st" "d['provenance']['commit']")"
check_eq "  ... that it is dirty, and which file differs" "true ['top.v']" \
    "$(jget "$st" "d['provenance']['dirty']") $(jget "$st" "d['provenance']['dirty_files']")"
check_eq "  ... and the branch" "['main']" "$(jget "$st" "d['provenance']['branches']")"
ev=$("$BIN/bitfarm" status "$wt" --events)
check "  ... which status and the job's events show" \
    grep -q "source .*commit $(git -C "$R" rev-parse --short=12 HEAD) (main) dirty: 1 file" <<<"$ev"
check_eq "jobs --rev v1 finds the builds of v1 (both)" "$(printf '%s\n' "$co_id" "$rev_id" | sort)" \
    "$(cd "$R" && "$BIN/bitfarm" jobs --rev v1 --json | python3 -c 'import json,sys; print("\n".join(sorted(j["id"] for j in json.load(sys.stdin)["jobs"])))')"
check_eq "  ... and by a commit id prefix, outside the repository" "2" \
    "$(cd "$T" && "$BIN/bitfarm" jobs --rev "${V1:0:10}" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')"
key=$(job_field "$rev_id" "'cache_key'")
ent=$("$(dirname "$BIN")/tests/bf_request" "$BROKER_EP" ENTRY "{\"key\":\"$key\"}" 2>&1)
check_eq "the cache entry's sources (ENTRY) name the commits it was built from" "$V1 $V1" \
    "$(jget "${ent#OK }" "' '.join(s['provenance']['commit'] for s in d['sources'])")"
check_eq "  ... and cache show prints them" \
    "source     commit ${V1:0:12} (v1), job ${co_id:0:12}|source     commit ${V1:0:12} (v1), job ${rev_id:0:12}" \
    "$("$BIN/bitfarm" cache show "$key" --cache-dir "$T/broker/cache" | grep '^source' | paste -sd'|')"

# --- untracked and ignored files are never uploaded --------------------------
cat >"$R/mem.v" <<'EOF'
module mem (input wire clk, output reg [7:0] q);
    parameter SECRET_FILE = "secret.hex";
    parameter NOTES_FILE = "notes.hex";
    reg [7:0] m [0:3];
    initial $readmemh("init.hex", m);
    always @(posedge clk) q <= m[0];
endmodule
EOF
echo 01 02 03 04 >"$R/init.hex"
echo ff >"$R/secret.hex"
echo ee >"$R/notes.hex"
git -C "$R" add mem.v init.hex && git -C "$R" commit -qm mem
sent=$(cd "$R" && "$BIN/submit" --top mem --device hx1k --flow noop -n --json mem.v 2>"$T/warn" | \
    python3 -c 'import json,sys; print(" ".join(sorted(f["path"] for f in json.load(sys.stdin)["files"])))')
check_eq "a tracked file the sources name is sent, an untracked unignored one too; not the ignored" \
    "init.hex mem.v notes.hex" "$sent"
check_eq "  ... the ignored one with a warning naming why" \
    "bitfarm: warning: not sending 'secret.hex', which the sources name: it is ignored by git" \
    "$(cat "$T/warn")"
id=$(cd "$R" && "$BIN/submit" --top mem --device hx1k --flow noop --wait mem.v 2>/dev/null | head -1)
st=$("$BIN/bitfarm" status "$id" --json)
stored() { [ -e "$T/broker/cache/objects/$(sha256sum "$1" | cut -c1-2)/$(sha256sum "$1" | cut -c1-64)" ]; }
check "  ... the broker stores what was sent (mem.v, init.hex, notes.hex)" \
    bash -c "$(declare -f stored); T='$T'; stored '$R/mem.v' && stored '$R/init.hex' && stored '$R/notes.hex'"
check "  ... and never the ignored secret.hex, nor untracked.v" \
    bash -c "$(declare -f stored); T='$T'; ! stored '$R/secret.hex' && ! stored '$R/untracked.v'"
check_eq "  ... and the untracked file it sent is listed as differing" "['notes.hex', 'top.v']" \
    "$(jget "$st" "d['provenance']['dirty_files']")"
err=$(cd "$R" && "$BIN/submit" --top mem --device hx1k --flow noop -n mem.v untracked.v 2>&1)
check_eq "an untracked file named on the command line: one line, exit 2" \
    "2 bitfarm: file not tracked 'untracked.v' (git add it, or name only tracked files)" "$? $err"
err=$(cd "$R" && "$BIN/submit" --top mem --device hx1k --flow noop -n mem.v .git/config 2>&1)
check_eq "  ... and nothing under .git" "2 bitfarm: '.git/config' is inside .git" "$? $err"

# --- submodules ----------------------------------------------------------------
S=$T/s
git init -q "$S"
cp "$B/icestick.pcf" "$S/"
git -C "$S" submodule add -q "$T/lib" lib 2>/dev/null
{ echo '`include "lib/defs.vh"'; sed 's/\[4:0\] led/[`LED_BITS-1:0] led/' "$B/top.v"; } >"$S/top.v"
git -C "$S" add . && git -C "$S" commit -qm super && git -C "$S" tag s1
LIBC=$(git -C "$T/lib" rev-parse HEAD)
p=$(cd "$S" && "$BIN/submit" "${DESIGN[@]}" -n --json --rev s1 top.v)
check_eq "--rev follows a submodule: its include file is sent" "icestick.pcf lib/defs.vh top.v" \
    "$(jget "$p" "' '.join(sorted(f['path'] for f in d['files']))")"
check_eq "  ... and its commit is recorded" "[{'commit': '$LIBC', 'path': 'lib'}]" \
    "$(jget "$p" "d['provenance']['submodules']")"
id=$(cd "$S" && build -o "$T/sub.bin" top.v 2>/dev/null | head -1)
check_eq "  ... the work tree builds through it" "succeeded" "$(job_field "$id" "'state'")"
echo '// moved' >>"$S/lib/defs.vh" && git -C "$S/lib" commit -qam moved
p=$(cd "$S" && "$BIN/submit" "${DESIGN[@]}" -n --json top.v)
check_eq "a submodule checked out at another commit: recorded at that commit, and as differing" \
    "$(git -C "$S/lib" rev-parse HEAD) ['lib']" \
    "$(jget "$p" "d['provenance']['submodules'][0]['commit']") $(jget "$p" "d['provenance']['dirty_files']")"
git clone -q "$S" "$T/s2"
err=$(cd "$T/s2" && "$BIN/submit" "${DESIGN[@]}" -n --rev s1 top.v lib/defs.vh 2>&1)
check_eq "a submodule not checked out: one line, exit 2 (--rev)" \
    "2 bitfarm: submodule not checked out 'lib' (run: git submodule update --init 'lib')" "$? $err"
err=$(cd "$T/s2" && "$BIN/submit" "${DESIGN[@]}" -n top.v lib/defs.vh 2>&1)
check_eq "  ... and in the work tree" \
    "2 bitfarm: submodule not checked out 'lib' (run: git submodule update --init 'lib')" "$? $err"

# --- a bare repository, a shallow clone, the errors -------------------------------
git clone -q --bare "$R" "$T/bare.git"
id=$(cd "$T" && build --git-dir "$T/bare.git" --rev v1 -o "$T/bare.bin" top.v 2>/dev/null | head -1)
check "a bare repository builds v1 with --git-dir (the same bytes)" cmp -s "$T/rev.bin" "$T/bare.bin"
check_eq "  ... recording its commit" "$V1" "$(jget "$("$BIN/bitfarm" status "$id" --json)" "d['provenance']['commit']")"
git clone -q --depth 1 "file://$R" "$T/shallow" 2>/dev/null
err=$(cd "$T/shallow" && "$BIN/submit" "${DESIGN[@]}" -n --rev "$V1" top.v 2>&1)
check_eq "a shallow clone without the revision: one line, exit 2" \
    "2 bitfarm: shallow clone lacks '$V1' (fetch it: git fetch --unshallow, or git fetch origin '$V1')" "$? $err"
err=$(cd "$R" && "$BIN/submit" "${DESIGN[@]}" -n --rev no-such-tag top.v 2>&1)
check_eq "an unknown revision: one line, exit 2" \
    "2 bitfarm: unknown revision 'no-such-tag' (give a commit, tag or branch of this repository)" "$? $err"
err=$(cd "$T" && "$BIN/submit" "${DESIGN[@]}" -n --rev v1 top.v 2>&1)
check_eq "--rev outside a repository: one line, exit 2" \
    "2 bitfarm: not a git repository (nor any parent of the current directory); --rev needs one, or give --git-dir DIR" "$? $err"
err=$(cd "$T" && "$BIN/submit" "${DESIGN[@]}" -n --git-dir "$T/lib/defs.vh" --rev v1 top.v 2>&1)
check_eq "--git-dir that is not a repository: one line, exit 2" \
    "2 bitfarm: not a git repository '$T/lib/defs.vh'" "$? $err"
mkdir -p "$T/outside" && cp "$B/top.v" "$B/icestick.pcf" "$T/outside/"
p=$(cd "$R" && "$BIN/submit" --top top --device hx1k --pcf "$T/outside/icestick.pcf" -n --json --root "$T/outside" "$T/outside/top.v" 2>&1)
check_eq "--root outside the work tree: a plain directory, no provenance" "top.v None" \
    "$(jget "$p" "' '.join(f['path'] for f in d['files'] if f['kind'] == 'source') + ' ' + str(d.get('provenance'))")"
err=$(cd "$R" && "$BIN/submit" "${DESIGN[@]}" -n --rev v1 top.v mem.v 2>&1)
check_eq "a file not in the revision: one line, exit 2" \
    "2 bitfarm: file not tracked 'mem.v' (not in revision 'v1')" "$? $err"

# --- the broker checks provenance against limits ---------------------------------
REQ=$(dirname "$BIN")/tests/bf_request
H=$(sha256sum "$B/top.v" | cut -c1-64)
M="{\"version\":1,\"flow\":\"noop\",\"top\":\"top\",\"device\":\"hx1k\",\"sources\":[{\"path\":\"top.v\",\"sha256\":\"$H\",\"size\":$(stat -c %s "$B/top.v")}]}"
refused() {   # DESCRIPTION EXPECTED-ERROR PROVENANCE
    check_eq "$1" "ERROR $2" "$("$REQ" "$BROKER_EP" SUBMIT "{\"manifest\":$M,\"provenance\":$3}" 2>&1)"
}
C='"source":"rev","commit":"'$V1'"'
refused "the broker refuses a remote with credentials" \
    "bad provenance: 'remote' is not a URL of at most 1024 bytes without user info" \
    "{$C,\"remote\":\"https://u:p@h/x\"}"
refused "  ... an unknown field" "bad provenance: unknown field 'password'" "{$C,\"password\":\"x\"}"
refused "  ... a commit that is not one" \
    "bad provenance: 'commit' is not 40 or 64 lowercase hex characters" '{"source":"rev","commit":"HEAD"}'
refused "  ... 65 tags" "bad provenance: 'tags' is not an array of at most 64 names" \
    "{$C,\"tags\":[$(python3 -c 'print(",".join(["\"t%d\"" % i for i in range(65)]))')]}"
refused "  ... a name with a control character" \
    "bad provenance: 'branches' holds a name that is not text of at most 255 bytes" \
    "{$C,\"branches\":[\"a\\u001b[2Jb\"]}"
check "  ... and takes a good one (the broker asks for the upload)" \
    bash -c "'$REQ' '$BROKER_EP' SUBMIT '{\"manifest\":$M,\"provenance\":{$C}}' 2>&1 | grep -q '^\(NEED\|OK\) '"

# --- the digest cache ------------------------------------------------------------
check "the digest cache is kept in .git/bitfarm" test -s "$R/.git/bitfarm/digests"
check_eq "  ... and a fresh one gives the same digests (nothing stale)" \
    "$(cd "$R" && "$BIN/submit" "${DESIGN[@]}" -n --json --rev v1 top.v | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])')" \
    "$(rm -rf "$R/.git/bitfarm"; cd "$R" && "$BIN/submit" "${DESIGN[@]}" -n --json --rev v1 top.v | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])')"

files_of() { python3 -c 'import json,sys; print(" ".join(sorted(f["path"] for f in json.load(sys.stdin)["files"])))'; }
(cd "$R" && "$BIN/submit" --top mem --device hx1k --flow noop -n --json mem.v >/dev/null 2>&1)
cp "$R/init.hex" "$R/init2.hex" && git -C "$R" add init2.hex
sed -i 's/"init.hex"/"init2.hex"/' "$R/mem.v"
check_eq "  ... a changed source is scanned again (the cache keys on the contents)" \
    "init2.hex mem.v notes.hex" \
    "$(cd "$R" && "$BIN/submit" --top mem --device hx1k --flow noop -n --json mem.v 2>/dev/null | files_of)"

# --- a project file meets git: globs over git's tree, --rev's own bitfarm.ini ----
P=$T/proj
git init -q "$P" && mkdir -p "$P/rtl"
cp "$B/icestick.pcf" "$P/" && cp "$B/top.v" "$P/rtl/top.v"
cat >"$P/bitfarm.ini" <<'INI'
[blinky]
top = top
device = hx1k
package = tq144
pcf = icestick.pcf
freq = 12
sources = rtl/*.v
INI
git -C "$P" add . && git -C "$P" commit -qm p1 && git -C "$P" tag p1
printf '`define UNUSED 1\n' >"$P/rtl/extra.v" && git -C "$P" add rtl/extra.v
sed -i 's/\[23:19\]/[22:18]/' "$P/rtl/top.v"
git -C "$P" commit -qam p2 && git -C "$P" tag p2
echo 'module junk; endmodule' >"$P/rtl/untracked.v"
sed -i 's/sources = rtl\/\*.v/sources = rtl\/*.v\nseed = 3/' "$P/bitfarm.ini"   # a dirty bitfarm.ini
pfiles() { (cd "$P/${2:-.}" && "$BIN/submit" -n --json ${1:-} 2>"$T/perr") | files_of; }
check_eq "a target's glob matches tracked files only (not rtl/untracked.v)" \
    "icestick.pcf rtl/extra.v rtl/top.v" "$(pfiles)"
check_eq "  ... --rev p1: the files of p1's tree" "icestick.pcf rtl/top.v" "$(pfiles '--rev p1' rtl)"
check_eq "  ... --rev p1 reads p1's bitfarm.ini (no seed in it), not the work tree's (seed 3)" "-1 3" \
    "$(cd "$P" && jget "$("$BIN/bitfarm" explain --rev p1 --json 2>/dev/null)" "d['manifest'].get('seed', -1)") $(cd "$P" && jget "$("$BIN/bitfarm" explain --json 2>/dev/null)" "d['manifest'].get('seed', -1)")"
out=$(cd "$P" && "$BIN/submit" --rev p1 --wait -o "$T/p1rev.bin" 2>&1)
check_eq "submit --rev p1 with no files builds the default target" 0 $?
p1_id=$(echo "$out" | head -1)
check_eq "  ... recording p1's commit" "$(git -C "$P" rev-parse p1)" \
    "$(jget "$("$BIN/bitfarm" status "$p1_id" --json)" "d['provenance']['commit']")"
git clone -q "$P" "$T/pco" && git -C "$T/pco" checkout -q p1
out=$(cd "$T/pco" && "$BIN/submit" --wait -o "$T/p1co.bin" 2>&1)
check_eq "a checkout of p1 builds its target" 0 $?
check "  ... to the same bytes as --rev p1" cmp -s "$T/p1rev.bin" "$T/p1co.bin"
check_eq "  ... under the same cache key" "$(job_field "$p1_id" "'cache_key'")" \
    "$(job_field "$(echo "$out" | head -1)" "'cache_key'")"
git clone -q --bare "$P" "$T/proj.git"
check_eq "a bare repository: --git-dir --rev p2 takes p2's bitfarm.ini and tree" \
    "icestick.pcf rtl/extra.v rtl/top.v" "$(cd "$T" && "$BIN/submit" -n --json --git-dir "$T/proj.git" --rev p2 | files_of)"
R2=$T/late && git init -q "$R2" && cp "$B/top.v" "$B/icestick.pcf" "$R2/"
git -C "$R2" add . && git -C "$R2" commit -qm old && git -C "$R2" tag old
printf '[b]\ntop = top\ndevice = hx1k\npackage = tq144\npcf = icestick.pcf\nsources = *.v\n' >"$R2/bitfarm.ini"
err=$(cd "$R2" && "$BIN/submit" -n --rev old 2>&1 >/dev/null)
check_eq "a revision without bitfarm.ini uses the work tree's, saying so" \
    "bitfarm: revision 'old' has no bitfarm.ini: using the work tree's ($(cd "$R2" && pwd -P)/bitfarm.ini)" "$err"
sed -i 's/sources = \*.v/sources = nothing*.v/' "$R2/bitfarm.ini"
err=$(cd "$R2" && "$BIN/submit" -n --rev old 2>&1 | tail -1; exit "${PIPESTATUS[0]}")
check_eq "  ... a glob that matches nothing in the revision: one line, exit 2" \
    "2 bitfarm: bitfarm.ini:6: no file of revision 'old' matches 'nothing*.v' in [b]" "$? $err"

# --- over CURVE: proofs of possession come from the cache too ---------------------
sleep 1.1   # the files older than the index: not racily clean (git's rule)
git -C "$R" add mem.v && git -C "$R" commit -qm curve
K=$T/keys
kg() { "$BIN/bitfarm" keygen --dir "$K" --role "$@" >/dev/null; }
kg broker broker && kg client alice
mkdir -p "$T/allow/workers" "$T/allow/clients" && cp "$K/alice.key" "$T/allow/clients/"
PLAIN_EP=$BROKER_EP
start_broker cbroker --cert "$K/broker.key_secret" --keys "$T/allow" || not_ok "CURVE broker starts"
csub() { (cd "$R" && "$BIN/submit" --top mem --device hx1k --flow noop --json mem.v --broker "$BROKER_EP" \
          --cert "$K/alice.key_secret" --broker-key "$K/broker.key" 2>/dev/null); }
first=$(jget "$(csub)" "d['uploaded_bytes']")
check "a CURVE submit uploads the inputs once" test "$first" -gt 0
check_eq "  ... which the broker takes on a re-submit (proofs from the cache): nothing uploaded" 0 \
    "$(jget "$(csub)" "d['uploaded_bytes']")"
ALICE=$(sed -n 's/^ *public-key = "\(.*\)"$/\1/p' "$K/alice.key")
want=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(b"bitfarm-proof-v1\n" + sys.argv[1].encode() + b"\n" + open(sys.argv[2],"rb").read()).hexdigest())' "$ALICE" "$R/mem.v")
check_eq "  ... the digest cache keeps the proof of each blob for this key (bf_proof.h)" "$want" \
    "$(awk -v b="$(git -C "$R" hash-object mem.v)" -v k="$ALICE" '$1 == "p" && $2 == b && $3 == k { print $4 }' "$R/.git/bitfarm/digests")"
BROKER_EP=$PLAIN_EP

done_testing

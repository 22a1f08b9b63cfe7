#!/usr/bin/env bash
# The README runs as written: its shell blocks under "Using eligctl",
# "Running the server" and "Synthetic data" are taken from README.md and run
# in order, in one shell with `set -e`, as a reader would paste them, at a
# small scale: paths under a scratch directory, the build directory under
# test, free ports instead of 7700-7702, 20,000 records instead of a million
# or the nation, the month replayed at 2,000,000x instead of 20,000x. Every
# command must succeed; no eligd may be left running.
set -euo pipefail
eligd=${ELIGD:?set ELIGD to the eligd binary}
root=${ELIG_SOURCE_ROOT:?set ELIG_SOURCE_ROOT to the source tree}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-readme)
cleanup() {
    pkill -TERM -f -- "$dir/" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
build=$(dirname "$eligd")
mkdir -p "$dir/var" "$dir/shm" "$dir/cwd"

# the blocks of the three sections, in order
awk '/^## /{ keep = ($0 == "## Using eligctl" || $0 == "## Running the server" || $0 == "## Synthetic data") }
     keep && /^```sh$/ { inblock = 1; next }
     inblock && /^```$/ { inblock = 0; print ""; next }
     keep && inblock { print }' "$root/README.md" >"$dir/blocks.sh"
check "README: the three sections have shell blocks" '^ok$' -- \
    sh -c "[ \$(grep -c 'build/' '$dir/blocks.sh') -ge 20 ] && echo ok"

ports=($(python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
# placeholders first, then the paths: a scratch path may itself hold "/dev/shm/"
sed -e 's#build/#@BUILD@/#g' -e 's#docs/#@ROOT@/docs/#g' -e 's#tests/data/#@ROOT@/tests/data/#g' \
    -e 's#/var/tmp/#@VAR@/#g' -e 's#/dev/shm/#@SHM@/#g' \
    -e 's/\b160000000\b/20000/g' -e 's/--checks 20000000\b/--checks 200000/g' \
    -e 's/\b1100000\b/30000/g' -e 's/\b1000000\b/20000/g' -e 's/--speed 20000 /--speed 2000000 /g' \
    -e "s/:7700/:${ports[0]}/g" -e "s/:7701/:${ports[1]}/g" -e "s/:7702/:${ports[2]}/g" \
    "$dir/blocks.sh" |
    sed -e "s#@BUILD@#$build#g" -e "s#@ROOT@#$root#g" -e "s#@VAR@#$dir/var#g" \
        -e "s#@SHM@#$dir/shm#g" >"$dir/run.sh"

check "README: every block runs as written" '^README ran$' -- \
    bash -c "cd '$dir/cwd'; set -e; . '$dir/run.sh'; echo 'README ran'"
check "README: the month's plot was drawn" '^89504e47$' -- \
    sh -c "head -c 4 '$dir/cwd/month.png' | od -An -tx1 | tr -d ' \n'"
check_exit "README: no eligd left running" 1 -- pgrep -f -- "$dir/"
finish

#!/usr/bin/env bash
# eligctl facility end to end: the registry is made, listed, changed and
# damaged; a running eligd is told to reload, answers only with the right
# key, stops answering a revoked or rotated one; the admin TCP port needs
# the admin key. Keys are shown once (into a file here) and never again:
# not by list, not in eligd's log.
set -euo pipefail
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-fac)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
data=$dir/data

# ---- a public admin address without --admin-any: refused before anything is written
check "admin on a public address: refused, naming it" \
    '^eligd: --admin-listen 0.0.0.0:0 is not a loopback address: .*--admin-any' -- \
    "$eligd" --data "$dir/pub" --segment "$dir/pub.seg" --admin-listen 0.0.0.0:0
check_exit "admin on a public address: exit 2" 2 -- \
    "$eligd" --data "$dir/pub" --segment "$dir/pub.seg" --admin-listen 0.0.0.0:0
check_exit "nothing was written" 1 -- test -e "$dir/pub"

# ---- the registry without eligd
check "add: the key goes to a new file" 'key written to .*/clinic.key \(mode 0600\)' -- \
    "$eligctl" facility add 1310000001 --type clinic --data "$data" --key-out "$dir/clinic.key"
check "add: eligd is not running, it will read it at start" 'not running' -- \
    "$eligctl" facility add 1340000002 --type pharmacy --data "$data" --key-out "$dir/pharm.key"
check "the key file is 0600" '^600$' -- stat -c %a "$dir/clinic.key"
check "the registry is 0600" '^600$' -- stat -c %a "$data/facilities"
check "a key file is 64 hex digits" '^[0-9a-f]{64}$' -- cat "$dir/clinic.key"
check "list shows the facilities" '^1310000001  clinic    active   v1 ' -- \
    "$eligctl" facility list --data "$data"
check_exit "list never shows a key" 1 -- sh -c \
    "'$eligctl' facility list --data '$data' | grep -F \"\$(cat '$dir/clinic.key')\""
check "the same code twice is refused" 'already registered' -- \
    "$eligctl" facility add 1310000001 --type clinic --data "$data"
check "a kind the code cannot have is refused" 'not a facility code of that kind' -- \
    "$eligctl" facility add 1310000003 --type dental --data "$data"
check "an existing key file is not overwritten" 'File exists' -- \
    "$eligctl" facility add 1310000004 --type clinic --data "$data" --key-out "$dir/clinic.key"
check "without --key-out the key is printed, once" 'shown this once.*' -- \
    "$eligctl" facility add 1310000005 --type hospital --data "$data"

# ---- eligd on it
mkfifo "$dir/ready"
"$eligd" --data "$data" --segment "$dir/index.seg" --capacity 1000 --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --log-file "$dir/eligd.log" >"$dir/ready" &
pid=$!
read -r -t 30 ready <"$dir/ready"
port=${ready#*port=}
port=${port%% *}
aport=${ready#*admin_port=}
aport=${aport%% *}

# a second eligd on the same facility address: refused before it writes anything
check "a second eligd on the address: refused" \
    "^eligd: --listen 127.0.0.1:$port: Address already in use \(another eligd" -- \
    "$eligd" --data "$dir/second" --segment "$dir/second.seg" --listen 127.0.0.1:$port
check_exit "a second eligd: exit 2" 2 -- \
    "$eligd" --data "$dir/second" --segment "$dir/second.seg" --listen 127.0.0.1:$port
check_exit "a second eligd: nothing written" 1 -- test -e "$dir/second"

# the live segment, held by eligd, opened as the segment of another store: refused, untouched
live=$(sha256sum "$dir/index.seg" | cut -d' ' -f1)
check "a segment another process holds: refused" '(held by another process .*nothing was changed|the segment belongs to another store .*Nothing was changed)' -- \
    "$eligctl" append --data "$dir/other" --segment "$dir/index.seg" "${ELIG_SOURCE_ROOT:?}/docs/examples/sample.feed"
check "a segment another process holds: unchanged" "^$live " -- sha256sum "$dir/index.seg"

# elig-loadgen sends no facility key: it says why eligd closed on it
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
check "replay against a keyed eligd says why it fails" 'eligd must run with --trust-network' -- \
    "$loadgen" replay --server 127.0.0.1:$port --records 1000 --checks 10
check_exit "replay against a keyed eligd: exit 1" 1 -- \
    "$loadgen" replay --server 127.0.0.1:$port --records 1000 --checks 10
q() { # q KEYFILE [FACILITY]: one card check
    "$eligctl" query --server 127.0.0.1:$port --facility "${2:-1310000001}" --key-file "$1" \
        --card 00000000000A1001 --date 2025-03-01
}
check "eligd read the registry" 'facility registry .*: 4 facilities, 4 active' -- \
    cat "$dir/eligd.log"
check "the right key: answered" 'refused: card-unregistered' -- q "$dir/clinic.key"
check "no key: refused" 'unauthenticated' -- \
    "$eligctl" query --server 127.0.0.1:$port --facility 1310000001 --card 00000000000A1001
check "another facility's key: refused" 'unauthenticated' -- q "$dir/pharm.key"

check "a new facility reaches the running eligd" 'eligd reloaded the registry: 5 facilities' -- \
    "$eligctl" facility add 2730000006 --type dental --data "$data" --key-out "$dir/dental.key"
check "and is answered at once" 'refused: card-unregistered' -- q "$dir/dental.key" 2730000006

check "rotate" 'eligd reloaded the registry' -- \
    "$eligctl" facility rotate 1310000001 --data "$data" --key-out "$dir/clinic2.key"
check "rotated: the old key is refused" 'unauthenticated' -- q "$dir/clinic.key"
check "rotated: the new key is answered" 'refused: card-unregistered' -- q "$dir/clinic2.key"
check "list shows the key version" '^1310000001  clinic    active   v2 ' -- \
    "$eligctl" facility list --data "$data"
check "revoke" 'facility 1340000002 revoked' -- \
    "$eligctl" facility revoke 1340000002 --data "$data"
check "revoked: refused" 'unauthenticated' -- q "$dir/pharm.key" 1340000002
check "revoked twice" 'already revoked' -- "$eligctl" facility revoke 1340000002 --data "$data"

# ---- the admin TCP port
check "admin TCP without the key: refused" 'needs the admin key' -- \
    "$eligctl" server-stats --admin 127.0.0.1:$aport
check "admin TCP with the key" '^index_records ' -- \
    env ELIGCTL_ADMIN_KEY="$data/admin.key" "$eligctl" server-stats --admin 127.0.0.1:$aport
check "admin TCP with another key" 'admin key was refused' -- \
    env ELIGCTL_ADMIN_KEY="$dir/clinic2.key" "$eligctl" server-stats --admin 127.0.0.1:$aport

# ---- a killed eligd leaves its admin socket behind
kill -KILL "$pid"
wait "$pid" || true
pid=
check "the socket is left behind" '^socket$' -- stat -c %F "$data/eligd.sock"
check "a change then waits for the next start" 'eligd is not running' -- \
    "$eligctl" facility add 1310000007 --type clinic --data "$data" --key-out "$dir/clinic7.key"

# A killed eligd's io_uring can hold its listener for a moment after the
# process is gone: a connection is accepted, then reset unanswered. Played
# here by a listener (python3, which meson runs on) that takes the
# connection, waits for the request and closes without reading it.
rm -f "$data/eligd.sock"
mkfifo "$dir/fake.ready"
python3 - "$data/eligd.sock" >"$dir/fake.ready" <<'PY' &
import select, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
print("listening", flush=True)
if select.select([s], [], [], 10)[0]:
    c, _ = s.accept()
    select.select([c], [], [], 10)
    c.close()
PY
pid=$!
read -r -t 30 listening <"$dir/fake.ready"
[ "$listening" = listening ]
check "a connection reset unanswered: eligd is taken as not running" \
    'eligd is not running .*closed the connection without an answer' -- \
    "$eligctl" facility add 1310000008 --type clinic --data "$data" --key-out "$dir/clinic8.key"
wait "$pid"
pid=
check "and the change is kept for the next start" '^1310000008 ' -- \
    "$eligctl" facility list --data "$data"

# ---- damage
cp "$data/facilities" "$dir/facilities.good"
printf 'X' | dd of="$data/facilities" bs=1 seek=40 conv=notrunc status=none
check "a damaged registry is named" 'facilities: facility registry is damaged' -- \
    "$eligctl" facility list --data "$data"
check "eligd refuses to start on it, naming it" 'facility registry .*facilities: facility registry is damaged' -- \
    sh -c "'$eligd' --data '$data' --segment '$dir/index.seg' --listen 127.0.0.1:0 2>&1; true"
for k in clinic clinic2 pharm dental; do
    check_exit "no $k key in eligd's log" 1 -- grep -F "$(cat "$dir/$k.key")" "$dir/eligd.log"
done
finish

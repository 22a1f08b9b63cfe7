#!/usr/bin/env bash
# The operator's mistakes, as a table: each is refused with a non-zero exit
# and one line on stderr saying what is wrong, and leaves every file and
# directory of every store byte-identical (sha256 of each file, and the list
# of paths, before and after). Store A is served by a running eligd during
# the second half; B is another store; A_old a backup of A taken before its
# last update.
set -euo pipefail
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
sample=$root/docs/examples/sample.feed
update=$root/tests/data/update.feed

dir=$(scratch_dir elig-mistakes) # the stores: fingerprinted
logs=$(mktemp -d /tmp/elig-mistakes-logs-XXXXXX)
pid= dpid= small=
cleanup() {
    for p in $pid $dpid; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    [ -n "$small" ] && umount "$small" 2>/dev/null
    rm -rf "$dir" "$logs"
}
trap cleanup EXIT

fingerprint() { # every path under the stores with its type, and every file's sha256
    (cd "$dir" && find . -printf '%p %y\n' | sort && find . -type f -print0 | sort -z |
        xargs -0 -r sha256sum)
}

# mistake NAME REGEX -- COMMAND...: refused, one line on stderr matching REGEX, nothing changed
mistake() {
    local name=$1 want=$2 before after err rc lines
    shift 3
    checks=$((checks + 1))
    before=$(fingerprint)
    set +e
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    set -e
    after=$(fingerprint)
    lines=$(grep -c '' <<<"$err" || true)
    if [ "$rc" -eq 0 ] || [ "$lines" -ne 1 ] || ! grep -Eq -- "$want" <<<"$err" ||
        [ "$before" != "$after" ]; then
        echo "FAIL: $name: exit $rc, $lines line(s) on stderr, wanted /$want/:"
        sed 's/^/    /' <<<"$err"
        diff <(echo "$before") <(echo "$after") | sed 's/^/    changed: /' || true
        failures=$((failures + 1))
    fi
}

start() { # start LOGNAME ARGS...: eligd in the background; sets pid_started and port_started
    mkfifo "$logs/$1.ready"
    "$eligd" "${@:2}" --log-file "$logs/$1.log" >"$logs/$1.ready" 2>"$logs/$1.err" &
    pid_started=$!
    local ready
    read -r -t 30 ready <"$logs/$1.ready"
    ready=${ready#*port=}
    port_started=${ready%% *}
}

A=$dir/A
B=$dir/B
segA=$dir/a.seg
segB=$dir/b.seg
"$eligctl" append --data "$A" --segment "$segA" --capacity 1000 "$sample" >/dev/null
cp -a "$A" "$dir/A_old" # a backup, before the last update
"$eligctl" append --data "$A" --segment "$segA" "$update" >/dev/null
"$eligctl" append --data "$B" --segment "$segB" --capacity 1000 "$sample" >/dev/null
"$eligctl" snapshot --data "$B" --segment "$segB" >/dev/null
idA=$(sed -n 's/^id=//p' "$A/store")
idB=$(sed -n 's/^id=//p' "$B/store")
# copies of A, each with a file of B in it; their segment is gone, so they start cold
cp -a "$A" "$dir/A_snapB"
mkdir -p "$dir/A_snapB/snapshots"
cp "$B"/snapshots/snapshot-*.els "$dir/A_snapB/snapshots/"
cp -a "$A" "$dir/A_logB"
rm "$dir/A_logB"/log/*.eld
cp "$B"/log/*.eld "$dir/A_logB/log/"

# ---- nothing running ----
mistake "the live segment with a mistyped --data" \
    '^eligctl: the segment holds updates through LSN [0-9]+, this data directory.s log through LSN 0: a mistyped --data or --segment\? Nothing was changed' -- \
    "$eligctl" snapshot --data "$dir/typo" --segment "$segA"
mistake "eligd, the same" 'a mistyped --data or --segment\? Nothing was changed' -- \
    "$eligd" --data "$dir/typo" --segment "$segA" --listen 127.0.0.1:0 --trust-network \
    --log-file "$logs/typo.log"
mistake "the segment of another store" \
    "^eligctl: the segment belongs to another store \\(its header names store $idA, DATA/store this store $idB\\): a wrong --segment or --data\\? Nothing was changed" -- \
    "$eligctl" snapshot --data "$B" --segment "$segA"
mistake "a segment ahead of a log restored from an older backup" \
    'the segment holds updates through LSN [1-9][0-9]*, this data directory.s log through LSN [1-9][0-9]*' -- \
    "$eligctl" snapshot --data "$dir/A_old" --segment "$segA"
mistake "a snapshot of another store" \
    "^eligctl: snapshot snapshot-[0-9]+\\.els was written by another store \\(its header names store ${idB:0:8}\\.\\.\\., DATA/store this store ${idA:0:8}\\.\\.\\.\\)" -- \
    "$eligctl" snapshot --data "$dir/A_snapB" --segment "$dir/snapB.seg"
mistake "a log file of another store" \
    "^eligctl: log file log-[0-9]+\\.eld was written by another store \\(its header names store $idB, DATA/store this store $idA\\)" -- \
    "$eligctl" snapshot --data "$dir/A_logB" --segment "$dir/logB.seg"
mistake "--capacity other than the recorded one" \
    '^eligctl: --capacity 5: the store was made with capacity 1000 \(DATA/store\)' -- \
    "$eligctl" snapshot --data "$A" --segment "$segA" --capacity 5
mistake "--capacity 0" '^eligd: --capacity 0: not a whole number from 1 to' -- \
    "$eligd" --data "$A" --segment "$segA" --capacity 0
mistake "a capacity no index can have" 'an index of 2000000000 records cannot be made' -- \
    "$eligd" --data "$dir/N" --segment "$dir/n.seg" --capacity 2000000000 \
    --listen 127.0.0.1:0 --trust-network --log-file "$logs/n.log"
if [ "$(id -u)" = 0 ] && mkdir "$logs/small" && mount -t tmpfs -o size=8m tmpfs "$logs/small"; then
    small=$logs/small
    mistake "a capacity larger than the segment's file system" \
        'the segment of 1000000 records needs [0-9]+ MiB and its file system has [0-9]+ MiB free' -- \
        "$eligd" --data "$dir/N" --segment "$small/n.seg" --capacity 1000000 \
        --listen 127.0.0.1:0 --trust-network --log-file "$logs/n.log"
    check "and nothing in that file system" '^$' -- ls -A "$small"
else
    echo "not root: the small file system row is not run"
fi
mistake "a wrong path" 'No such file or directory' -- \
    "$eligctl" stats "$dir/no-such.seg"
check "no --capacity needed once the store exists" '^start: warm, 0 log records replayed' -- \
    "$eligctl" snapshot --data "$A" --segment "$segA"

# registration lag: a wrong month or directory, a future entry day
mistake "report lag: a month that is not one" '--month wants a month as YYYY-MM' -- \
    "$eligctl" report lag --data "$A" --month 2025-13
mistake "report lag: no store there" 'is not a store.s directory' -- \
    "$eligctl" report lag --data "$dir/nowhere" --month 2025-02
mistake "report lag: without --month" 'needs --data DIR \(the store\) and --month YYYY-MM' -- \
    "$eligctl" report lag --data "$A"
mistake "append --entered in the future" 'is not a past day' -- \
    "$eligctl" append --data "$A" --segment "$segA" --entered 2070-01-01 "$update"
mistake "append --entered not a day" '--entered wants the day the feed was received' -- \
    "$eligctl" append --data "$A" --segment "$segA" --entered yesterday "$update"
printf 'ELIGLAG1 not a table' >"$dir/A_lag_damaged"
mkdir -p "$dir/A_lagbad" && cp -a "$A"/. "$dir/A_lagbad/" && cp "$dir/A_lag_damaged" "$dir/A_lagbad/lag"
mistake "report lag: a damaged lag file is named" 'registration-lag file damaged' -- \
    "$eligctl" report lag --data "$dir/A_lagbad" --month 2025-02

# ---- A served by eligd ----
start A --data "$A" --segment "$segA" --listen 127.0.0.1:0 --trust-network
pid=$pid_started
portA=$port_started
mistake "a second eligd on the same data" '^.* error the log or the segment is held by another process' -- \
    "$eligd" --data "$A" --segment "$dir/a2.seg" --listen 127.0.0.1:0 --trust-network \
    --admin-socket "$logs/a2.sock" --log-file "$logs/a2.log"
mistake "a second eligd on the same segment, another store's data" \
    'the segment belongs to another store' -- \
    "$eligd" --data "$B" --segment "$segA" --listen 127.0.0.1:0 --trust-network \
    --log-file "$logs/b.log"
mistake "a second eligd on the same address" \
    "^eligd: --listen 127.0.0.1:$portA: Address already in use" -- \
    "$eligd" --data "$B" --segment "$segB" --listen "127.0.0.1:$portA" --trust-network \
    --log-file "$logs/b.log"
mistake "eligctl on the data eligd serves" \
    '^eligctl: the log or the segment is held by another process .* go through its admin socket' -- \
    "$eligctl" append --data "$A" --segment "$segA" "$update"
mistake "eligctl grow to a smaller size" '^eligctl: grow: a grown index must hold more records' -- \
    "$eligctl" grow --capacity 10 --admin "$A/eligd.sock"

# a dead admin socket: eligd killed, its socket left behind
mkdir "$logs/D"
"$eligctl" append --data "$logs/D" --segment "$logs/d.seg" --capacity 1000 "$sample" >/dev/null
start D --data "$logs/D" --segment "$logs/d.seg" --listen 127.0.0.1:0 --trust-network
dpid=$pid_started
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null || true
dpid=
mistake "a dead admin socket" 'eligd.sock: Connection refused: no eligd answers there' -- \
    "$eligctl" ping --admin "$logs/D/eligd.sock"
start D2 --data "$logs/D" --segment "$logs/d.seg" --listen 127.0.0.1:0 --trust-network
dpid=$pid_started
check "the next eligd replaces the dead socket" '^pong from ' -- \
    "$eligctl" ping --admin "$logs/D/eligd.sock"
finish

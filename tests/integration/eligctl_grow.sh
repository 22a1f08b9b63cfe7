#!/usr/bin/env bash
# eligctl grow: a populated store doubled while eligd answers a replay (0
# errors, 0 contradicting answers), every worker of eligd and an eligd
# attached to the segment from another process moving to the grown index
# (updates appended after the grow reach them all); sizes recorded; wrong
# sizes refused; no room beside the live segment refused with nothing
# changed; a store left full by its log grown back into service.
set -euo pipefail
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-grow)
pid= apid= rpid= small=
cleanup() {
    for p in $rpid $apid $pid; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    [ -n "$small" ] && umount "$small" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds (polled every 0.1 s)
    local n=$(($1 * 10))
    shift
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
start() { # start NAME ARGS...: eligd in the background, its pid and port in NAME_pid/NAME_port
    local name=$1
    shift
    mkfifo "$dir/$name.ready"
    "$eligd" "$@" --trust-network --listen 127.0.0.1:0 --workers 2 \
        --log-file "$dir/$name.log" >"$dir/$name.ready" &
    eval "${name}_pid=$!"
    local ready
    read -r -t 30 ready <"$dir/$name.ready"
    ready=${ready#*port=}
    eval "${name}_port=${ready%% *}"
}
stat_of() { # stat_of PORT NAME: the counter from one facility connection
    "$eligctl" server-stats --server "127.0.0.1:$1" | awk -v k="$2" '$1 == k { print $2 }'
}
every_worker_at() { # every_worker_at PORT LSN: 8 connections (spread over the workers) agree
    for i in 1 2 3 4 5 6 7 8; do
        [ "$(stat_of "$1" index_applied_lsn)" = "$2" ] || return 1
    done
}

records=20000
"$loadgen" population --records $records --seed 5 --out "$dir/pop.feed" 2>/dev/null
"$loadgen" updates --records $records --seed 5 --out "$dir/month.feed" 2>/dev/null
check "a store nearly full" ' 0 refused, 0 lines rejected' -- \
    "$eligctl" append --data "$dir/data" --segment "$dir/index.seg" --capacity 21000 \
    "$dir/pop.feed"
sock=$dir/data/eligd.sock

start w --data "$dir/data" --segment "$dir/index.seg"
pid=$w_pid
start a --attach "$dir/index.seg"
apid=$a_pid

# a replay at a fixed rate (so that it outlasts the grow on any machine) against the writer
"$loadgen" replay --server "127.0.0.1:$w_port" --records $records --seed 5 --checks 60000 \
    --rate 15000 --json >"$dir/replay.json" &
rpid=$!
started() { [ "$(stat_of "$w_port" checks)" -gt 0 ]; }
wait_for 30 started
check "grow doubles the capacity while eligd answers" \
    "^grown from 21000 to 42000 records: $records records copied at LSN [0-9]+" -- \
    "$eligctl" grow --admin "$sock"
check "the replay was still running when the grow returned" '^running$' -- \
    bash -c "kill -0 $rpid 2>/dev/null && echo running || echo finished"
wait "$rpid"
rpid=
check "during the grow: every check answered" "^$(json checks_sent "$dir/replay.json")\$" -- \
    json checks_answered "$dir/replay.json"
check "during the grow: no frame error" '^0$' -- json frame_errors "$dir/replay.json"
check "during the grow: no check error" '^0$' -- json check_errors "$dir/replay.json"
check "during the grow: nothing contradicts the population" '^0$' -- \
    json unexpected "$dir/replay.json"
check "the sizes are recorded" '^capacity=42000$' -- grep '^capacity=' "$dir/data/store"
check "nothing left beside the segment" '^none$' -- \
    bash -c "[ -e '$dir/index.seg.grow' ] && echo left || echo none"
check "eligd says what it did" 'index grown from 21000 to 42000 records' -- cat "$dir/w.log"

# updates after the grow land in the grown index, and every reader sees them
check "updates after the grow" ' 0 refused, 0 lines rejected' -- \
    "$eligctl" append --admin "$sock" "$dir/month.feed"
lsn=$("$eligctl" server-stats --admin "$sock" | awk '$1 == "index_applied_lsn" { print $2 }')
check "every worker of eligd reads the grown index" '^yes$' -- \
    bash -c "$(declare -f stat_of every_worker_at); eligctl=$eligctl; \
             every_worker_at $w_port $lsn && echo yes || echo no"
reattached() { grep -q 'was grown by its writer: reattached, capacity 42000' "$dir/a.log"; }
check "the attached eligd follows the grow" '^yes$' -- \
    bash -c "$(declare -f wait_for reattached); dir=$dir; wait_for 30 reattached && echo yes"
attached_at() { every_worker_at "$a_port" "$lsn"; }
check "and its workers see the updates made since" '^yes$' -- \
    bash -c "$(declare -f wait_for stat_of every_worker_at attached_at); eligctl=$eligctl; \
             a_port=$a_port; lsn=$lsn; wait_for 10 attached_at && echo yes"
"$loadgen" replay --server "127.0.0.1:$a_port" --records $records --seed 5 --checks 5000 \
    --json >"$dir/attached.json"
check "the attached eligd answers from the grown index" '^0$' -- \
    json check_errors "$dir/attached.json"

# wrong sizes: refused, nothing changed
before=$(sha256sum "$dir/index.seg" "$dir/data/store")
check "a smaller capacity is refused" 'grow: a grown index must hold more records' -- \
    "$eligctl" grow --capacity 30000 --admin "$sock"
check "a capacity that is not a number" 'grow: --capacity 12x: not a whole number from 1 to' -- \
    "$eligctl" grow --capacity 12x --admin "$sock"
check_exit "zero is refused" 2 -- "$eligctl" grow --capacity 0 --admin "$sock"
check "nothing changed by the refusals" '^same$' -- \
    bash -c "[ \"\$(sha256sum '$dir/index.seg' '$dir/data/store')\" = '$before' ] && echo same"

kill -TERM "$apid" "$pid"
wait "$apid" "$pid" || true
apid= pid=
check "the grown store starts warm" '^start: warm, 0 log records replayed' -- \
    "$eligctl" snapshot --data "$dir/data" --segment "$dir/index.seg"

# no room for the second segment: refused by name, the live one untouched
if [ "$(id -u)" = 0 ] && mkdir "$dir/small" && mount -t tmpfs -o size=12m tmpfs "$dir/small" 2>/dev/null; then
    small=$dir/small
    "$eligctl" append --data "$dir/d2" --segment "$small/index.seg" --capacity 21000 \
        "$dir/pop.feed" >/dev/null
    content() { # what the segment holds (its header counts opens) and the recorded sizes
        { "$eligctl" dump "$small/index.seg" && cat "$dir/d2/store"; } | sha256sum | cut -c1-64
    }
    before=$(content)
    check "no room beside the live segment" \
        "grow: no room in the segment's file system for a second, larger segment" -- \
        "$eligctl" grow --capacity 200000 --data "$dir/d2" --segment "$small/index.seg"
    check "the live segment and the sizes are untouched" "^$before\$" -- content
    check "nothing left in the segment's file system" '^index.seg$' -- ls "$small"
else
    echo "no tmpfs of a small size (not root): the no-room case is not run"
fi

# a store whose log does not fit (key strings sized too small): full, then grown into service
sample=$(dirname "${BASH_SOURCE[0]}")/../../docs/examples/sample.feed
check "the log outgrows the index" 'index is full: make it larger \(eligctl grow\)' -- \
    "$eligctl" append --data "$dir/ks" --segment "$dir/ks.seg" --capacity 1000 \
    --key-strings 1 "$sample"
check "a full store says so at start" 'INDEX FULL: log record [0-9]+ and those after it do not fit' -- \
    "$eligctl" snapshot --data "$dir/ks" --segment "$dir/ks.seg"
check "and takes no snapshot (it may stop inside a chunk)" 'snapshot: index is full' -- \
    "$eligctl" snapshot --data "$dir/ks" --segment "$dir/ks.seg"
check "grown from its log" 'records rebuilt from snapshot and log \(it was full\)' -- \
    "$eligctl" grow --key-strings 64 --data "$dir/ks" --segment "$dir/ks.seg"
check "the same feed again: nothing applied twice" 'chunks had been applied before' -- \
    "$eligctl" append --data "$dir/ks" --segment "$dir/ks.seg" "$sample"
check "the grown index is what the log says" '^identical' -- \
    "$eligctl" verify --data "$dir/ks" --segment "$dir/ks.seg"
finish

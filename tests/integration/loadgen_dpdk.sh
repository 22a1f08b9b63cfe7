#!/usr/bin/env bash
# elig-loadgen over eligd's UDP datapath on DPDK memif (EAL --no-huge): a
# population built into a segment, eligd serving it with --dpdk-addr, the
# replay sending the month's mix as datagrams; its JSON must show every
# check answered, none lost, none contradicting the population. Skipped
# (77) only when DPDK is not built.
#
# Order of leaving: memif in DPDK 22.11 unmaps the shared rings when the
# peer disconnects, without waiting for a datapath inside a burst, so the
# replay (--dpdk-linger) reports, then waits for eligd to stop first. Its
# one-line JSON report comes through a fifo: reading it is the signal.
set -euo pipefail
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ "${ELIG_HAVE_DPDK:-0}" != 1 ]; then
    echo "built without DPDK: skipped"
    exit 77
fi

dir=$(scratch_dir elig-dpdk)
sock=$(mktemp -u /tmp/elig-memif-XXXXXX.sock)
pid= rpid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$rpid" ] && kill -TERM "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
    rm -rf "$dir" "$sock"
}
trap cleanup EXIT

cpus=$(nproc)
cpuset="(0-$((cpus - 1)))"
common="--no-huge -m 128 --no-pci --no-shconf --no-telemetry --log-level=warning"
peer="--lcores=0@$cpuset $common --vdev=net_memif0,role=client,socket=$sock,socket-abstract=no"
records=20000
"$loadgen" population --records $records --seed 7 --segment "$dir/pop.seg" 2>/dev/null


# run NAME LCORES REPLAY-ARGS...: eligd on LCORES, one replay, its JSON into NAME.json, eligd
# stopped (the replay leaves after it); eligd's log into NAME.log
run() {
    local name=$1 lcores=$2
    shift 2
    rm -f "$dir/ready" "$dir/out"
    mkfifo "$dir/ready" "$dir/out"
    "$eligd" --attach "$dir/pop.seg" --trust-network --listen 127.0.0.1:0 \
        --metrics-listen 127.0.0.1:0 --log-file "$dir/$name.log" --dpdk-addr 10.13.0.1:7701 \
        --dpdk-eal "--lcores=$lcores $common --vdev=net_memif0,role=server,socket=$sock,socket-abstract=no" \
        >"$dir/ready" 2>>"$dir/eal.log" &
    pid=$!
    read -r -t 30 ready <"$dir/ready"
    echo "$ready" >"$dir/$name.ready"
    timeout -k 2 50 "$loadgen" replay --dpdk-server 10.13.0.1:7701 --dpdk-eal "$peer" --dpdk-linger \
        --records $records --json "$@" >"$dir/out" 2>>"$dir/peer.log" &
    rpid=$!
    read -r -t 45 report <"$dir/out" || true
    echo "$report" >"$dir/$name.json"
    local mport=${ready#*metrics_port=}
    curl -s "http://127.0.0.1:${mport%% *}/metrics" >"$dir/$name.metrics" || true
    kill -TERM "$pid"
    wait "$pid"
    pid=
    local rc=0
    wait "$rpid" || rc=$?
    rpid=
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: $name: the replay exited $rc; its last words:"
        tail -5 "$dir/peer.log"
        exit 1
    fi
}

run closed "0@$cpuset" --seed 7 --checks 20000 --connections 4 --depth 8
check "eligd serves the memif port" 'dpdk_mac=[0-9a-f:]{17} dpdk_mtu=[0-9]+' -- \
    cat "$dir/closed.ready"
check "over DPDK: the transport is named" '"transport":"udp-dpdk"' -- cat "$dir/closed.json"
sent=$(json checks_sent "$dir/closed.json")
check "over DPDK: every check sent" '^200[0-9][0-9]$' -- echo "$sent"
check "over DPDK: every check answered" "^$sent\$" -- json checks_answered "$dir/closed.json"
check "over DPDK: none lost" '^0$' -- json frames_lost "$dir/closed.json"
check "over DPDK: no frame error" '^0$' -- json frame_errors "$dir/closed.json"
check "over DPDK: nothing contradicts the population" '^0$' -- json unexpected "$dir/closed.json"
check "over DPDK: batch entries answered" '"method":"batch","sent":[1-9][0-9]*,"answered":[1-9]' \
    -- cat "$dir/closed.json"
check "eligd counted the datagrams" 'DPDK port stopped: [0-9]+ frames received, 0 dropped' -- \
    cat "$dir/closed.log"
msum() { metric_sum "$dir/closed.metrics" "$1"; }
check "metrics: the UDP checks answered" "^$sent\$" -- msum '^eligd_udp_answers_total\{'
check "metrics: the UDP frames" "^$(json frames_sent "$dir/closed.json")\$" -- \
    msum '^eligd_udp_frames_total '
check "metrics: nothing dropped" '^0$' -- msum '^eligd_udp_dropped_total\{'
PATH=$PATH:/usr/local/lib/eligd-setup # where scripts/setup puts promtool
if command -v promtool >/dev/null; then
    check "metrics with the UDP datapath: promtool accepts them" '^ok$' -- \
        sh -c "promtool check metrics <'$dir/closed.metrics' && echo ok"
fi

# a wrong population: its answers contradict (the check can fail)
run wrong "0@$cpuset" --seed 8 --checks 2000
check "over DPDK: a different population is noticed" '^[1-9][0-9]*$' -- \
    json unexpected "$dir/wrong.json"

# two lcores, so two queue pairs: the client sends its flows over both
run two "0@$cpuset,1@$cpuset" --dpdk-queues 2 --seed 7 --checks 10000 --connections 4 --depth 8
check "two lcores: two queues" 'serving UDP on DPDK port 0 .* 2 queue\(s\)' -- cat "$dir/two.log"
check "two lcores: every check answered" "^$(json checks_sent "$dir/two.json")\$" -- \
    json checks_answered "$dir/two.json"
check "two lcores: none lost" '^0$' -- json frames_lost "$dir/two.json"
check "two lcores: nothing contradicts the population" '^0$' -- json unexpected "$dir/two.json"
check "two lcores: nothing dropped" 'DPDK port stopped: [0-9]+ frames received, 0 dropped' -- \
    cat "$dir/two.log"
check_exit "no names in eligd's logs" 1 -- grep -E '佐藤|鈴木|高橋|サトウ|スズキ' "$dir"/*.log
finish

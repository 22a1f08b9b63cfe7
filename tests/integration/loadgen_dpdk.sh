#!/usr/bin/env bash
# elig-loadgen over eligd's UDP datapath on DPDK memif (EAL --no-huge): a
# population built into a segment, eligd serving it with --dpdk-addr, the
# replay sending the month's mix as datagrams; its JSON must show every
# check answered, none lost, none contradicting the population. Skipped
# (77) only when DPDK is not built.
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
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir" "$sock"
}
trap cleanup EXIT

cpus=$(nproc)
eal="--lcores=0@(0-$((cpus - 1))) --no-huge -m 128 --no-pci --no-shconf --no-telemetry"
eal="$eal --log-level=warning"
records=20000
"$loadgen" population --records $records --seed 7 --segment "$dir/pop.seg" 2>/dev/null

mkfifo "$dir/ready"
"$eligd" --attach "$dir/pop.seg" --trust-network --listen 127.0.0.1:0 --log-file "$dir/eligd.log" \
    --dpdk-addr 10.13.0.1:7701 \
    --dpdk-eal "$eal --vdev=net_memif0,role=server,socket=$sock,socket-abstract=no" \
    >"$dir/ready" 2>"$dir/eal.log" &
pid=$!
read -r -t 30 ready <"$dir/ready"
check "eligd serves the memif port" 'dpdk_mac=[0-9a-f:]{17} dpdk_mtu=[0-9]+' -- echo "$ready"

json() { # json KEY FILE: the number after "KEY":
    grep -o "\"$1\":[0-9]*" "$2" | head -1 | cut -d: -f2
}
peer="$eal --vdev=net_memif0,role=client,socket=$sock,socket-abstract=no"

"$loadgen" replay --dpdk-server 10.13.0.1:7701 --dpdk-eal "$peer" --records $records --seed 7 \
    --checks 20000 --connections 4 --depth 8 --json >"$dir/closed.json" 2>"$dir/peer.log"
check "over DPDK: the transport is named" '"transport":"udp-dpdk"' -- cat "$dir/closed.json"
sent=$(json checks_sent "$dir/closed.json")
check "over DPDK: every check sent" '^200[0-9][0-9]$' -- echo "$sent"
check "over DPDK: every check answered" "^$sent\$" -- json checks_answered "$dir/closed.json"
check "over DPDK: none lost" '^0$' -- json frames_lost "$dir/closed.json"
check "over DPDK: no frame error" '^0$' -- json frame_errors "$dir/closed.json"
check "over DPDK: nothing contradicts the population" '^0$' -- json unexpected "$dir/closed.json"
check "over DPDK: batch entries answered" '"method":"batch","sent":[1-9][0-9]*,"answered":[1-9]' \
    -- cat "$dir/closed.json"

# a wrong population: its answers contradict (the check can fail)
"$loadgen" replay --dpdk-server 10.13.0.1:7701 --dpdk-eal "$peer" --records $records --seed 8 \
    --checks 2000 --json >"$dir/wrong.json" 2>>"$dir/peer.log"
check "over DPDK: a different population is noticed" '^[1-9][0-9]*$' -- \
    json unexpected "$dir/wrong.json"

kill -TERM "$pid"
wait "$pid"
pid=
check "eligd counted the datagrams" 'DPDK port stopped: [0-9]+ frames received, 0 dropped' -- \
    cat "$dir/eligd.log"

# two lcores, so two queue pairs: the client sends its flows over both
rm -f "$dir/ready" "$dir/eligd.log"
mkfifo "$dir/ready"
cpuset="(0-$((cpus - 1)))"
"$eligd" --attach "$dir/pop.seg" --trust-network --listen 127.0.0.1:0 --log-file "$dir/eligd.log" \
    --dpdk-addr 10.13.0.1:7701 \
    --dpdk-eal "${eal/--lcores=0@$cpuset/--lcores=0@$cpuset,1@$cpuset} --vdev=net_memif0,role=server,socket=$sock,socket-abstract=no" \
    >"$dir/ready" 2>"$dir/eal.log" &
pid=$!
read -r -t 30 ready <"$dir/ready"
check "two lcores: two queues" 'serving UDP on DPDK port 0 .* 2 queue\(s\)' -- cat "$dir/eligd.log"
"$loadgen" replay --dpdk-server 10.13.0.1:7701 --dpdk-eal "$peer" --dpdk-queues 2 \
    --records $records --seed 7 --checks 10000 --connections 4 --depth 8 --json \
    >"$dir/two.json" 2>>"$dir/peer.log"
check "two lcores: every check answered" "^$(json checks_sent "$dir/two.json")\$" -- \
    json checks_answered "$dir/two.json"
check "two lcores: none lost" '^0$' -- json frames_lost "$dir/two.json"
check "two lcores: nothing contradicts the population" '^0$' -- json unexpected "$dir/two.json"
kill -TERM "$pid"
wait "$pid"
pid=
check "two lcores: nothing dropped" 'DPDK port stopped: [0-9]+ frames received, 0 dropped' -- \
    cat "$dir/eligd.log"
check_exit "no names in eligd's log" 1 -- grep -E '佐藤|鈴木|高橋|サトウ|スズキ' "$dir/eligd.log"
finish

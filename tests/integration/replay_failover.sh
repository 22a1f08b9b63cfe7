#!/usr/bin/env bash
# Client failover: elig-loadgen replay against two eligd nodes serving the
# same index (--server A,B) while A is killed (-9), restarted on its port,
# and then B is killed: every connection moves to the other node and sends
# again the frames it had in flight; every check is answered, none
# contradicts the population, the moves and the resent checks are counted
# and the longest wait for an answer is reported. With a single server a lost
# connection still ends the replay with an error.
set -euo pipefail
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-failover)
pids=()
rpid=
cleanup() {
    [ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT

records=20000
"$loadgen" population --records $records --seed 5 --segment "$dir/index.seg" >/dev/null 2>&1

node() { # node NAME PORT: eligd NAME attached to the index on PORT (0: any); $node_pid, $node_port
    rm -f "$dir/ready.$1"
    mkfifo "$dir/ready.$1"
    "$eligd" --attach "$dir/index.seg" --trust-network --listen "127.0.0.1:$2" \
        --log-file "$dir/$1.log" >"$dir/ready.$1" &
    node_pid=$!
    pids+=("$node_pid")
    local ready
    read -r -t 30 ready <"$dir/ready.$1"
    node_port=${ready#*ready port=}
    node_port=${node_port%% *}
}
checks_of() { # checks_of PORT: the checks that node has answered
    "$eligctl" server-stats --server "127.0.0.1:$1" 2>/dev/null | awk '$1 == "checks" { print $2 }'
}
kill_node() { # kill_node PID: as a machine dies (SIGKILL), then reaped
    kill -9 "$1"
    wait "$1" 2>/dev/null || true
}
replay_end() { # replay_end: until the background replay ends; its exit status in $replay_rc
    replay_rc=0
    wait "$rpid" || replay_rc=$?
    rpid=
}
until_answered() { # until_answered PORT N: until that node has answered N checks (at most 30 s)
    local end=$((SECONDS + 30)) n
    while [ $SECONDS -lt $end ]; do
        n=$(checks_of "$1")
        [ -n "$n" ] && [ "$n" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

node a 0
a_pid=$node_pid a_port=$node_port
node b 0
b_pid=$node_pid b_port=$node_port

# ---- one server only: a lost connection ends the replay, said
"$loadgen" replay --server "127.0.0.1:$b_port" --records $records --seed 5 --checks 400000 \
    --rate 20000 --connections 4 --json >"$dir/single.json" 2>"$dir/single.err" &
rpid=$!
until_answered "$b_port" 2000
kill_node "$b_pid"
replay_end
check "one server, lost: the replay fails" '^[1-9]' -- echo "$replay_rc"
check "and says why" 'Connection reset|Broken pipe|closed|refused' -- cat "$dir/single.err"
node b 0
b_pid=$node_pid b_port=$node_port

# ---- two servers: A killed and restarted, then B killed, while the replay runs
"$loadgen" replay --server "127.0.0.1:$a_port,127.0.0.1:$b_port" --records $records --seed 5 \
    --checks 300000 --rate 20000 --connections 8 --json >"$dir/replay.json" &
rpid=$!
until_answered "$a_port" 5000
kill_node "$a_pid"
b_before=$(checks_of "$b_port")
until_answered "$b_port" $((b_before + 5000)) # the connections moved to B
node a "$a_port"                              # A again, on its port
a_pid=$node_pid
kill_node "$b_pid"
replay_end
check "the replay ends well" '^0$' -- echo "$replay_rc"
node b 0 # B again, for what follows
b2_port=$node_port
sent=$(json checks_sent "$dir/replay.json")
check "every check sent" '^300000$' -- echo "$sent"
check "every check answered" "^$sent\$" -- json checks_answered "$dir/replay.json"
check "none contradicts the population" '^0$' -- json unexpected "$dir/replay.json"
check "no frame error" '^0$' -- json frame_errors "$dir/replay.json"
check "every connection moved twice" '^16$' -- json failovers "$dir/replay.json"
check "frames in flight were sent again" '^[1-9][0-9]*$' -- json checks_resent "$dir/replay.json"
check "the longest wait is reported" '"longest_gap_s":[0-9]+\.[0-9]{3}' -- cat "$dir/replay.json"
# ---- a node that goes silent (SIGSTOP: as if cut off, no reset): left after a second
"$loadgen" replay --server "127.0.0.1:$a_port,127.0.0.1:$b2_port" --records $records --seed 5 \
    --checks 100000 --rate 20000 --connections 4 --json >"$dir/silent.json" &
rpid=$!
until_answered "$a_port" $(($(checks_of "$a_port") + 2000))
kill -STOP "$a_pid"
replay_end
kill -CONT "$a_pid"
check "a silent node: the replay ends well" '^0$' -- echo "$replay_rc"
check "a silent node: every check answered" "^$(json checks_sent "$dir/silent.json")\$" -- \
    json checks_answered "$dir/silent.json"
check "a silent node: its connections moved" '^4$' -- json failovers "$dir/silent.json"
check "a silent node: nothing contradicts" '^0$' -- json unexpected "$dir/silent.json"
check "a silent node: the wait was about --loss (1 s)" '"longest_gap_s":(0\.9|1\.|2\.)' -- \
    cat "$dir/silent.json"

echo "replay-failover: $(grep -oE '"failovers":[0-9]+,"frames_resent":[0-9]+,"checks_resent":[0-9]+,"longest_gap_s":[0-9.]+' "$dir/replay.json")"
check "A answered after its restart" '^[1-9][0-9]*$' -- checks_of "$a_port"
check "eligctl with two servers, the first down: the second answers" "^pong from " -- \
    "$eligctl" ping --server "127.0.0.1:$b_port,127.0.0.1:$a_port"
check "eligctl with two servers, both down: refused, said" 'Connection refused' -- \
    "$eligctl" ping --server "127.0.0.1:$b_port,127.0.0.1:$b_port"
for p in "${pids[@]}"; do # every node still running (the killed ones are gone already)
    kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
done
pids=()
finish

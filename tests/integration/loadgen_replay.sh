#!/usr/bin/env bash
# elig-loadgen end to end: a population and its month of updates applied to a
# store, eligd serving it, and the replay's accounting checked from its JSON:
# every check answered, none contradicting the population, the usage table
# equal to the schedule.
set -euo pipefail
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-replay)
pid=
tpid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

records=40000
"$loadgen" population --records $records --seed 5 --out "$dir/pop.feed" 2>/dev/null
"$loadgen" updates --records $records --seed 5 --out "$dir/month.feed" 2>/dev/null
check "the population applies whole" ' 0 refused, 0 lines rejected' -- \
    "$eligctl" append --data "$dir/data" --segment "$dir/index.seg" --capacity 50000 \
    "$dir/pop.feed"

mkfifo "$dir/ready"
"$eligd" --data "$dir/data" --segment "$dir/index.seg" --trust-network --listen 127.0.0.1:0 \
    --log-file "$dir/eligd.log" >"$dir/ready" &
pid=$!
read -r -t 30 ready <"$dir/ready"
port=${ready#*port=}
port=${port%% *}


# closed loop
"$loadgen" replay --server 127.0.0.1:$port --records $records --seed 5 --checks 30000 \
    --connections 8 --depth 8 --json >"$dir/closed.json"
sent=$(json checks_sent "$dir/closed.json")
check "closed loop: every check sent" '^30000$' -- echo "$sent"
check "closed loop: every check answered" "^$sent\$" -- json checks_answered "$dir/closed.json"
check "closed loop: no frame error" '^0$' -- json frame_errors "$dir/closed.json"
check "closed loop: no check error" '^0$' -- json check_errors "$dir/closed.json"
check "closed loop: nothing contradicts the population" '^0$' -- json unexpected "$dir/closed.json"
usage_equal() { # the usage table from the answers equals the schedule, cell by cell
    grep -o '"sent":[0-9]*,"answered":[0-9]*' "$1" |
        awk -F'[:,]' '$2 != $4 { bad++ } END { print bad ? "differs" : "equal" }'
}
check "closed loop: usage table equals the schedule" '^equal$' -- usage_equal "$dir/closed.json"
check "closed loop: batch entries present" '"method":"batch","sent":[1-9]' -- cat "$dir/closed.json"

# open loop at a modest rate: latency from intended send times
"$loadgen" replay --server 127.0.0.1:$port --records $records --seed 5 --checks 5000 \
    --rate 4000 --traffic-seed 9 --json >"$dir/open.json"
check "open loop: every check answered" "^$(json checks_sent "$dir/open.json")\$" -- \
    json checks_answered "$dir/open.json"
check "open loop: nothing contradicts the population" '^0$' -- json unexpected "$dir/open.json"
check "open loop: took the schedule's time" '"seconds":[1-9]\.' -- cat "$dir/open.json"

# over TLS: a second eligd serves the same segment with TLS 1.3 and client certificates
"$eligctl" ca init --dir "$dir/ca" >/dev/null
"$eligctl" ca server --dir "$dir/ca" --name 127.0.0.1 --key-out "$dir/server.key" \
    --cert-out "$dir/server.crt" >/dev/null
"$eligctl" facility add 1310000001 --type clinic --registry "$dir/reg" --ca "$dir/ca" \
    --cert-out "$dir/certs" >/dev/null
mkfifo "$dir/tls.ready"
"$eligd" --attach "$dir/index.seg" --trust-network --listen 127.0.0.1:0 \
    --tls-cert "$dir/server.crt" --tls-key "$dir/server.key" --tls-ca "$dir/ca/ca.crt" \
    --log-file "$dir/tls.log" >"$dir/tls.ready" &
tpid=$!
read -r -t 30 ready <"$dir/tls.ready"
tport=${ready#*port=}
tport=${tport%% *}
"$loadgen" replay --server 127.0.0.1:$tport --records $records --seed 5 --checks 20000 \
    --connections 4 --depth 8 --tls-cert "$dir/certs/1310000001.crt" \
    --tls-key "$dir/certs/1310000001.key" --tls-ca "$dir/ca/ca.crt" --json >"$dir/tls.json"
check "over TLS: every check answered" "^$(json checks_sent "$dir/tls.json")\$" -- \
    json checks_answered "$dir/tls.json"
check "over TLS: nothing contradicts the population" '^0$' -- json unexpected "$dir/tls.json"
check "over TLS: no frame error" '^0$' -- json frame_errors "$dir/tls.json"
kill -TERM "$tpid"
wait "$tpid"
tpid=

# the month of updates through the admin socket while eligd serves
check "the month applies whole through eligd" ' 0 refused, 0 lines rejected' -- \
    "$eligctl" append --admin "$dir/data/eligd.sock" "$dir/month.feed"

# a wrong population: its answers contradict (the check can fail)
"$loadgen" replay --server 127.0.0.1:$port --records $records --seed 6 --checks 2000 \
    --json >"$dir/wrong.json"
check "a different population is noticed" '^[1-9][0-9]*$' -- json unexpected "$dir/wrong.json"

kill -TERM "$pid"
wait "$pid"
pid=
check_exit "no names in eligd's log" 1 -- grep -E '佐藤|鈴木|高橋|サトウ|スズキ' "$dir/eligd.log"
finish

#!/usr/bin/env bash
# elig-loadgen's month: the schedule (traffic), a population built straight
# into a segment and served by `eligd --attach`, an open-loop window of the
# month at a speed factor with its time series and plot, and the same
# traffic against redis-server loaded with the same population: both must
# answer every check as the population implies, with the same counts.
set -euo pipefail
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-month)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT


# ---- the schedule
"$loadgen" traffic --out "$dir/feb.csv" 2>"$dir/feb.txt"
check "traffic: one row per hour of February 2025 (+ header)" '^673$' -- \
    awk 'END { print NR }' "$dir/feb.csv"
check "traffic: the hours sum to the published month (235,839,632)" '^ok$' -- \
    awk -F, 'NR > 1 { s += $6 } END { d = s - 235839632; print (d < 700 && d > -700) ? "ok" : s }' \
    "$dir/feb.csv"
check "traffic: the busiest hour is a working-day morning" 'busiest hour 2025-02-0[3-7] (09|10):00' \
    -- cat "$dir/feb.txt"
check "traffic: a national holiday (11 Feb) is quiet at 10:00" '^quiet$' -- \
    awk -F, '$1 == "2025-02-10" && $2 == "10" { w = $6 } $1 == "2025-02-11" && $2 == "10" { h = $6 }
             END { print (h * 5 < w) ? "quiet" : "busy" }' "$dir/feb.csv"
check "traffic: 2024-10 has no batch checks" '^0$' -- sh -c \
    "'$loadgen' traffic --month 2024-10 2>/dev/null | awk -F, 'NR > 1 { s += \$9 + \$12 + \$15 + \$18 } END { print s }'"
check_exit "traffic: an unknown month is refused" 1 -- "$loadgen" traffic --month 2023-01

# ---- a population straight into a segment, served read-only
records=30000
check "population --segment: every event applies" '30000 records.* 0 refused' -- \
    "$loadgen" population --records $records --seed 3 --segment "$dir/pop.seg"
check_exit "population --segment refuses an existing file" 1 -- \
    "$loadgen" population --records $records --seed 3 --segment "$dir/pop.seg"
check "the segment is an index eligctl reads" 'records +30000' -- "$eligctl" stats "$dir/pop.seg"

mkfifo "$dir/ready"
"$eligd" --attach "$dir/pop.seg" --trust-network --listen 127.0.0.1:0 --log-file "$dir/eligd.log" >"$dir/ready" &
pids+=($!)
read -r -t 30 ready <"$dir/ready"
port=${ready#*port=}
port=${port%% *}

# a window of the month in open loop: Monday 3 Feb, 09:00-10:00, at 1,800x
# (2 s), a hundredth of the nation's volume
"$loadgen" replay --server 127.0.0.1:$port --records $records --seed 3 --speed 1800 \
    --start 2025-02-03T09 --hours 1 --checks 2358396 --interval 0.1 \
    --series "$dir/win.tsv" --plot "$dir/win.png" --json >"$dir/win.json"
sent=$(json checks_sent "$dir/win.json")
check "window: the hour's scheduled checks were sent (about 15,230)" '^1(4[89]|5[0-5])[0-9]{2}$' -- \
    echo "$sent"
check "window: every check answered" "^$sent\$" -- json checks_answered "$dir/win.json"
check "window: nothing contradicts the population" '^0$' -- json unexpected "$dir/win.json"
check "window: the month's hour replayed" '"month_from_h":57\.0[0-9]*,"month_to_h":(57\.9|58\.000)' -- \
    cat "$dir/win.json"
check "window: paced by the schedule (about 2 s)" '"seconds":(1\.9|2\.)' -- cat "$dir/win.json"
check "window: a series point per 0.1 s" '^(19|2[0-9])$' -- \
    awk '!/^#/ { n++ } END { print n }' "$dir/win.tsv"
check "window: the series adds up to the checks answered" "^$sent\$" -- \
    awk '!/^#/ { s += $8 } END { print s }' "$dir/win.tsv"
check "window: a PNG plot" 'PNG image data' -- file "$dir/win.png"

# ---- the same traffic against redis-server holding the same population
rport=
for try in 1 2 3 4 5; do
    p=$((20000 + (RANDOM % 40000)))
    redis-server --port $p --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
        >"$dir/redis.log" 2>&1 &
    rpid=$!
    for _ in $(seq 100); do
        grep -q 'Ready to accept connections' "$dir/redis.log" && break
        kill -0 $rpid 2>/dev/null || break
        read -r -t 0.05 <> <(:) || true
    done
    if grep -q 'Ready to accept connections' "$dir/redis.log"; then
        rport=$p
        pids+=($rpid)
        break
    fi
    kill $rpid 2>/dev/null || true
    wait $rpid 2>/dev/null || true
done
check "redis-server started" '^[0-9]+$' -- echo "$rport"
check "redis-load: the population loaded" 'hashes written' -- \
    "$loadgen" redis-load --redis 127.0.0.1:$rport --records $records --seed 3
for target in "--server 127.0.0.1:$port" "--redis 127.0.0.1:$rport"; do
    name=${target%% *}
    # shellcheck disable=SC2086
    "$loadgen" replay $target --records $records --seed 3 --checks 20000 --connections 4 \
        --depth 8 --json >"$dir/${name#--}.json"
done
check "redis: every check answered" '^20000$' -- json checks_answered "$dir/redis.json"
check "redis: nothing contradicts the population" '^0$' -- json unexpected "$dir/redis.json"
validity() { grep -o '"validity":\[[0-9,]*\]' "$1"; }
check "redis and eligd give the same validity counts" '^same$' -- sh -c \
    "[ \"\$(grep -o '\"validity\":\[[0-9,]*\]' '$dir/redis.json')\" = \"\$(grep -o '\"validity\":\[[0-9,]*\]' '$dir/server.json')\" ] && echo same"
check "the counts include lost and unmatched checks" '"validity":\[[1-9][0-9]*,[1-9][0-9]*,0,[1-9][0-9]*,[1-9]' \
    -- validity "$dir/redis.json"
"$loadgen" replay --redis 127.0.0.1:$rport --records $records --seed 4 --checks 2000 \
    --json >"$dir/redis-wrong.json"
check "redis: a different population is noticed" '^[1-9][0-9]*$' -- \
    json unexpected "$dir/redis-wrong.json"
finish

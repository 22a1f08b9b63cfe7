#!/usr/bin/env bash
# eligd --metrics-listen: /metrics scraped during and after a replay passes
# promtool's check; its counters add up to what the replay sent (checks by
# opcode and validity, answers, methods) and the latency histograms count
# every frame answered; labels carry no facility code and no personal data;
# /healthz says ready with the applied LSN; other paths and methods are
# refused; an address in use is refused before anything is written; and
# the endpoint costs nothing when it is off (no port, no thread).
set -euo pipefail
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! command -v curl >/dev/null; then
    echo "eligd-metrics: curl is not installed (scripts/setup installs it): skipped"
    exit 77
fi

with_scratch elig-metrics

records=20000
"$loadgen" population --records $records --seed 5 --out "$dir/pop.feed" 2>/dev/null
"$eligctl" append --data "$dir/data" --segment "$dir/index.seg" --capacity 30000 \
    "$dir/pop.feed" >/dev/null

eligd_start --data "$dir/data" --segment "$dir/index.seg" --trust-network --listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:0 --log-file "$dir/eligd.log"
url=http://127.0.0.1:$mport

# ---- an address in use: refused before anything is written
check "metrics on a port in use: refused" "^eligd: --metrics-listen 127.0.0.1:$mport: Address already in use" -- \
    "$eligd" --data "$dir/second" --segment "$dir/second.seg" --listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:$mport
check_exit "nothing was written" 1 -- test -e "$dir/second"

check "healthz: ready, with the applied LSN" '^\{"status":"ready","applied_lsn":[1-9][0-9]*,' -- \
    curl -sf "$url/healthz"
check "an unknown path: 404" '^404$' -- curl -s -o /dev/null -w '%{http_code}' "$url/secrets"
check "POST: 405" '^405$' -- curl -s -o /dev/null -w '%{http_code}' -X POST "$url/metrics"
check "the content type of the text format" 'text/plain; version=0.0.4' -- \
    curl -s -o /dev/null -D - "$url/metrics"

# ---- a replay, then the counters
"$loadgen" replay --server 127.0.0.1:$port --records $records --seed 5 --checks 20000 \
    --connections 4 --depth 8 --json >"$dir/replay.json"
curl -sf "$url/metrics" >"$dir/metrics"
PATH=$PATH:/usr/local/lib/eligd-setup # where scripts/setup puts promtool
if command -v promtool >/dev/null; then
    check "promtool accepts /metrics" '^ok$' -- sh -c "promtool check metrics <'$dir/metrics' && echo ok"
else
    echo "eligd-metrics: promtool is not installed: the format check is left out"
fi
sum() { metric_sum "$dir/metrics" "$1"; }
sent=$(json checks_sent "$dir/replay.json")
frames=$(json frames_answered "$dir/replay.json")
check "the replay was answered whole" "^$sent\$" -- json checks_answered "$dir/replay.json"
check "eligd_checks_total adds up to the checks sent" "^$sent\$" -- sum '^eligd_checks_total\{'
check "eligd_answers_total adds up to the checks sent" "^$sent\$" -- sum '^eligd_answers_total\{'
check "by method too" "^$sent\$" -- sum '^eligd_checks_by_method_total\{'
valid=$(grep -o '"validity":\[[0-9,]*\]' "$dir/replay.json" | tr -d '"validity:[]' | cut -d, -f2)
check "valid answers as the replay counted them" "^$valid\$" -- \
    sum '^eligd_checks_total\{.*validity="valid"'
check "the latency histograms count every frame answered" "^$frames\$" -- \
    sum '^eligd_request_duration_seconds_count\{opcode="(LOOKUP_NUMBER|LOOKUP_CARD|BATCH)"'
check "+Inf buckets equal the counts" "^$frames\$" -- \
    sum '^eligd_request_duration_seconds_bucket\{opcode="(LOOKUP_NUMBER|LOOKUP_CARD|BATCH)",le="\+Inf"'
check "frames" "^$frames\$" -- sum '^eligd_frames_total '
check "the index's records" '^eligd_index_entries\{kind="records"\} [1-9]' -- cat "$dir/metrics"
check "no apply lag at rest" '^eligd_apply_lag_records 0$' -- cat "$dir/metrics"
check "the log's commits are timed" '^eligd_log_commit_duration_seconds_count [0-9]+$' -- \
    cat "$dir/metrics"
# labels are the endpoint's own words: no digits of a facility code, an insurer, a card
check "no label carries a number of the data" '^none$' -- sh -c \
    "grep -E '\\{[^}]*[0-9]{6,}' '$dir/metrics' | grep -v '_bucket' | head -1 | grep . || echo none"

# ---- registration lag: a back-filled feed entered 2025-02-20, counted by class and bucket
# acquisitions 2 and 50 days after they took effect, a loss entered 5 days before it, and a
# change 15 days after (over the 10 allowed)
acq() { printf 'ACQUIRE\t%s\t01130012\t01130012\tLAG\t%s\t\t%s\t1\t山田\t太郎\tヤマダ\tタロウ\t1\t1980-05-10\t\t\t30\t\t\t\t\n' "$@"; }
{
    acq 2025-02-18 1 900000001
    acq 2025-01-01 2 900000002
    printf 'LOSS\t2025-02-25\t01130012\t01130012\tLAG\t1\t\t01\n'
    printf 'CHANGE\t2025-02-05\t01130012\t01130012\tLAG\t2\t\tcopay=20\n'
} >"$dir/lag.feed"
check "lag: the back-fill (frames after the replay's counts) is applied" '^4 events applied, 0 refused' -- \
    "$eligctl" append --admin "$dir/data/eligd.sock" --entered 2025-02-20 "$dir/lag.feed"
curl -sf "$url/metrics" >"$dir/metrics.lag"
lag() { grep -E "^eligd_registration_lag_seconds_$1" "$dir/metrics.lag" | awk '{print $2}'; }
check "lag: acquisitions within 5 days" '^1$' -- lag 'bucket\{class="acquire",le="432000"\}'
check "lag: ... and within 60" '^2$' -- lag 'bucket\{class="acquire",le="5184000"\}'
check "lag: their days summed" '^4492800$' -- lag 'sum\{class="acquire"\}'
check "lag: a loss entered before it took effect" '^1$' -- lag 'bucket\{class="loss",le="-86400"\}'
check "lag: a change 11-30 days late" '^0 1$' -- sh -c \
    "grep -E '^eligd_registration_lag_seconds_bucket\{class=\"change\",le=\"(864000|2592000)\"\}' '$dir/metrics.lag' | awk '{print \$2}' | paste -sd' '"
check "lag: the report names the month's late events" '^2025-02,all,4,1,1,0,1,1,0,2,50.00,16.75,50$' -- \
    "$eligctl" report lag --data "$dir/data" --month 2025-02

# the Grafana dashboard asks only for series eligd serves
missing=
for name in $(grep -oE 'eligd_[a-z_]+' "${ELIG_SOURCE_ROOT:?}/docs/grafana-eligd.json" | sort -u); do
    grep -qE "^$name(\{| )" "$dir/metrics" || missing="$missing $name"
done
check "every series of the dashboard is served" '^none$' -- echo "${missing:-none}"

check_stop
check "the endpoint is gone with eligd" '^000$' -- \
    sh -c "curl -s -o /dev/null -w '%{http_code}' '$url/healthz' || true"
finish

#!/usr/bin/env bash
# docs/operations.md's backup and restore, step by step: while eligd serves
# and takes updates, a snapshot through the admin socket, then the store's
# files copied in the runbook's order (the log last); updates after the copy
# are not in it. Restored into another directory with a new segment (as on
# another machine), eligd cold-starts from the snapshot and the log, lands on
# the LSN and the records the source had when it was copied, and eligctl
# verify finds the rebuilt index identical to what eligd serves.
set -euo pipefail
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
: "${ELIGD:?set ELIGD to the eligd binary}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

with_scratch elig-backup
start() { # start DATA SEGMENT
    eligd_start --data "$1" --segment "$2" --listen 127.0.0.1:0 --log-file "$1.log"
}
stop() {
    kill -TERM "$pid"
    wait "$pid"
    pid=
}
applied_of() { # applied_of SEGMENT: its applied LSN, as eligctl stats says it
    "$eligctl" stats "$1" | awk '$1 == "applied" && $2 == "lsn" { print $3; exit }'
}
records_of() { # records_of SEGMENT: the records it holds
    "$eligctl" stats "$1" | awk '$1 == "records" { print $2; exit }'
}

records=20000
"$loadgen" population --records $records --seed 5 --out "$dir/pop.feed" 2>/dev/null
"$loadgen" updates --records $records --seed 5 --out "$dir/month.feed" 2>/dev/null
half=$(($(wc -l <"$dir/month.feed") / 2))
head -n "$half" "$dir/month.feed" >"$dir/early.feed"
tail -n +"$((half + 1))" "$dir/month.feed" >"$dir/late.feed"

D=$dir/data
"$eligctl" append --data "$D" --segment "$dir/index.seg" --capacity 30000 "$dir/pop.feed" >/dev/null
"$eligctl" facility add 1310000001 --type clinic --data "$D" --key-out "$dir/clinic.key" >/dev/null
start "$D" "$dir/index.seg"
sock=$D/eligd.sock
check "updates while serving" ' 0 lines rejected' -- "$eligctl" append --admin "$sock" "$dir/early.feed"

# ---- the runbook: 1. a snapshot through the admin socket
check "1. a snapshot while serving" '^snapshot at LSN [0-9]+' -- "$eligctl" snapshot --admin "$sock"
# more updates after the snapshot: the log must carry them into the backup
check "updates after the snapshot" ' 0 lines rejected' -- "$eligctl" append --admin "$sock" "$dir/late.feed"
want_lsn=$(applied_of "$dir/index.seg")
want_records=$(records_of "$dir/index.seg")
check "the source's LSN and records are read" '^[1-9][0-9]* [1-9][0-9]*$' -- \
    echo "$want_lsn $want_records"

# ---- 2. the copy, in the runbook's order (B: the backup)
B=$dir/backup
mkdir -p "$B/snapshots" "$B/log"
cp -p "$D/store" "$D/facilities" "$D/chunks" "$B/"
cp -p "$(ls "$D"/snapshots/snapshot-*.els | tail -1)" "$B/snapshots/"
cp -p "$D"/log/log-*.eld "$B/log/"

# updates after the copy are not in the backup
check "updates after the copy" ' 0 lines rejected' -- \
    "$eligctl" append --admin "$sock" "${ELIG_SOURCE_ROOT:?}/docs/examples/sample.feed"
card_check() { # the sample feed's card A1001, as the facility asks
    "$eligctl" query --server "127.0.0.1:$port" --facility 1310000001 \
        --key-file "$dir/clinic.key" --card 00000000000A1001 --date 2025-08-01
}
check "the source answers the card registered after the copy" '^valid' -- card_check
moved=$(applied_of "$dir/index.seg")
check "the source moved on past the copy" '^moved$' -- \
    sh -c "[ '$moved' -gt '$want_lsn' ] && echo moved"
stop

# ---- restored elsewhere: a new directory, a new segment
R=$dir/restored
install -d -m 0700 "$R"
cp -rp "$B/." "$R/"
start "$R" "$dir/restored.seg"
check "the restore is a cold start from the snapshot and the log" \
    'start: cold: .*snapshot at LSN [0-9]+, [1-9][0-9]* log records replayed' -- cat "$R.log"
check "the restored store is where the source was when copied" "^$want_lsn\$" -- \
    applied_of "$dir/restored.seg"
check "with the records it had then" "^$want_records\$" -- records_of "$dir/restored.seg"
check "eligctl verify: identical" '^identical' -- \
    "$eligctl" verify --data "$R" --segment "$dir/restored.seg"
check "a card registered after the copy is not in the restored store" \
    'refused: card-unregistered' -- card_check
stop
finish

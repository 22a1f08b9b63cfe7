#!/usr/bin/env bash
# A cluster whose stream keeps only its last 30 chunks (scripts/cluster up
# --max-chunks 30): a node stopped while more than that was appended is
# refused at its next start, naming the stream sequence a snapshot must
# reach, and nothing of its store is changed; a peer's snapshot too old for
# the stream is refused by `eligctl bootstrap`, a damaged one is named and
# leaves nothing; the node is made anew from a peer's fresh snapshot, catches
# up, and ends with the same records as its peers. Then a short elig-bench
# cluster: every chunk acknowledged is seen on every node asked. Node 3,
# made smaller, fills: it stops applying, answers BEHIND, and a replay
# through it moves on; pointed at another stream, it is refused.
# Skipped (77) without nats-server.
set -euo pipefail
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
bench=${ELIG_BENCH:?set ELIG_BENCH to the elig-bench binary}
root=${ELIG_SOURCE_ROOT:?set ELIG_SOURCE_ROOT to the source tree}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! command -v nats-server >/dev/null; then
    echo "cluster-bootstrap: nats-server is not installed (scripts/setup installs it): skipped"
    exit 77
fi

dir=$(scratch_dir elig-cluster-boot)
c=$dir/c
cluster() { "$root/scripts/cluster" "$@" --dir "$c"; }
cleanup() {
    [ -n "${KEEP:-}" ] && { cluster down --keep >/dev/null 2>&1; echo "kept $dir"; return; }
    cluster down >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
base=$((32000 + ($$ % 150) * 40))
urls="nats://127.0.0.1:$((base + 1)),nats://127.0.0.1:$((base + 2)),nats://127.0.0.1:$((base + 3))"
check "the cluster comes up, its stream keeping 30 chunks" '^cluster: up' -- \
    "$root/scripts/cluster" up --dir "$c" --build "$(dirname "$eligd")" --base-port "$base" \
    --capacity 20000 --max-chunks 30

"$loadgen" population --records 3000 --seed 5 --out "$dir/pop.feed" 2>/dev/null
split -n l/100 -d -a 3 "$dir/pop.feed" "$dir/part."
sock() { echo "$c/eligd$1/data/eligd.sock"; }
append() { # append FIRST LAST: parts FIRST..LAST, one chunk each, through eligd1
    local i
    for i in $(seq "$1" "$2"); do
        "$eligctl" append --admin "$(sock 1)" "$(printf '%s/part.%03d' "$dir" "$i")" >/dev/null
    done
}

append 0 39
cluster stop eligd3 >/dev/null
check "a snapshot on a node names its stream position" \
    '^cluster: it holds the stream through sequence 40 ' -- "$eligctl" snapshot --admin "$(sock 1)"
old=$(ls "$c"/eligd1/data/snapshots/snapshot-*.els | tail -1)
check "its mark is beside it" '^ELIGD 40$' -- cat "${old%.els}.stream"
cp "$old" "${old%.els}.stream" "$dir/"
old=$dir/$(basename "$old")
append 40 79 # 80 chunks: the stream keeps 51..80

# a node the stream has left behind: refused at start, its store untouched
before=$(cat "$c/eligd3/data/stream-position")
ls -l --time-style=+%s.%N "$c/eligd3/data" "$c/eligd3/data/log" >"$dir/before.ls"
check "a node past the stream's retention does not start" 'did not come up' -- \
    sh -c "'$root/scripts/cluster' start eligd3 --dir '$c' 2>&1 || true"
check "it says which snapshot it needs" \
    'applied stream ELIGD through sequence 40, but the stream now begins at 51 .* a peer.s snapshot that reaches sequence 50 or later' \
    -- cat "$c/eligd3.log"
ls -l --time-style=+%s.%N "$c/eligd3/data" "$c/eligd3/data/log" >"$dir/after.ls"
check "nothing of its store was written" '^same$' -- \
    sh -c "cmp -s '$dir/before.ls' '$dir/after.ls' && [ \"\$(cat '$c/eligd3/data/stream-position')\" = '$before' ] && echo same"

# bootstrap: refusals first
check_exit "a snapshot older than the stream is refused" 2 -- "$eligctl" bootstrap --data "$dir/new" --snapshot "$old" --cluster "$urls"
check "a snapshot older than the stream is refused: said" \
    'reaches stream ELIGD to sequence 40, but the stream now begins at 51 .*take a newer snapshot' -- "$eligctl" bootstrap --data "$dir/new" --snapshot "$old" --cluster "$urls"
check "and nothing is made" '^absent$' -- sh -c "[ -e '$dir/new/store' ] || echo absent"
check "a snapshot of a node's own (no mark) is refused" 'no stream position beside it' -- \
    sh -c "rm '${old%.els}.stream'; '$eligctl' bootstrap --data '$dir/new' --snapshot '$old' --cluster '$urls' 2>&1 || true"
check "a node's fresh snapshot" '^cluster: it holds the stream through sequence 80 ' -- \
    "$eligctl" snapshot --admin "$(sock 2)"
fresh=$(ls "$c"/eligd2/data/snapshots/snapshot-*.els | tail -1)
cp "$fresh" "${fresh%.els}.stream" "$dir/"
bad=$dir/bad/$(basename "$fresh")
mkdir -p "$dir/bad"
cp "$fresh" "${fresh%.els}.stream" "$dir/bad/"
size=$(stat -c %s "$bad")
printf '\xff\xff\xff\xff' | dd of="$bad" bs=1 seek=$((size / 2)) conv=notrunc status=none
check_exit "a damaged snapshot is named" 2 -- "$eligctl" bootstrap --data "$dir/new" --snapshot "$bad" --cluster "$urls"
check "a damaged snapshot is named: said" "$bad: snapshot file is damaged" -- "$eligctl" bootstrap --data "$dir/new" --snapshot "$bad" --cluster "$urls"
check "and leaves nothing" '^empty$' -- \
    sh -c "[ -e '$dir/new/store' ] || [ -n \"\$(ls '$dir/new/snapshots' 2>/dev/null)\" ] || echo empty"

# the node made anew from the fresh snapshot
rm -rf "$c/eligd3/data" "$c/eligd3/index.seg"
check "a node bootstrapped from a peer's snapshot" \
    '^bootstrapped .*: snapshot at LSN [0-9]+ \(2[0-9]{3} records\), capacity 3300; stream ELIGD through sequence 80 of 51\.\.80' -- \
    "$eligctl" bootstrap --data "$c/eligd3/data" --snapshot "$dir/$(basename "$fresh")" --cluster "$urls" --capacity 3300
# (node 3 made smaller than its peers, as an operator may size one by mistake: it fills below)
sed -i "s|--capacity 20000|--capacity 3300 --max-lag 1|" "$c/eligd3.cmd"
check_exit "a second bootstrap into it is refused" 2 -- "$eligctl" bootstrap --data "$c/eligd3/data" --snapshot "$dir/$(basename "$fresh")" --cluster "$urls" --capacity 20000
check "a second bootstrap into it is refused: said" 'holds a store already' -- "$eligctl" bootstrap --data "$c/eligd3/data" --snapshot "$dir/$(basename "$fresh")" --cluster "$urls" --capacity 20000
cluster start eligd3 >/dev/null
check "it starts from the snapshot" 'start: cold: .*from the snapshot at LSN' -- cat "$c/eligd3.log"
append 80 99
applied_of() { "$eligctl" stats "$c/eligd$1/index.seg" | awk '$1 == "records" { print $2 }'; }
seq_of() { curl -s "http://127.0.0.1:$((base + 40 + $1))/metrics" | awk '$1 == "eligd_stream_applied_sequence" { print $2 }'; }
end=$((SECONDS + 60))
until [ "$(seq_of 3)" = 100 ] || [ $SECONDS -ge $end ]; do sleep 0.2; done
check "it applies the stream after the snapshot" '^100$' -- seq_of 3
# sorted: a node loaded from a snapshot laid its tables out in another order than its peers
for i in 1 2 3; do "$eligctl" dump "$c/eligd$i/index.seg" | LC_ALL=C sort | sha256sum | cut -d' ' -f1 >"$dir/digest.$i"; done
check "the three nodes hold the same records" '^1$' -- sh -c "cat '$dir'/digest.* | sort -u | wc -l"
check "and records they are" '^records +3000 ' -- "$eligctl" stats "$c/eligd3/index.seg"
check "a restart of it is warm and goes on" 'start: warm' -- \
    sh -c "'$root/scripts/cluster' stop eligd3 --dir '$c' >/dev/null; '$root/scripts/cluster' start eligd3 --dir '$c' >/dev/null; tail -20 '$c/eligd3.log'"
ports=127.0.0.1:$((base + 31)),127.0.0.1:$((base + 32))
check "elig-bench cluster: every chunk seen on every node asked" '\(32 chunks seen everywhere\)' -- \
    "$bench" cluster --admin "$(sock 2)" --servers "$ports" --rate 512 --batch 16 --seconds 1

# ---- node 3's index is full (the bench's records): it stops applying rather than skip a chunk,
# falls behind (--max-lag 1) and answers BEHIND; a replay through it and node 1 moves the
# connections that met that answer; every check answered, none contradicts
wait_for_line "$c/eligd3.log" 'not applied \(index is full' 30 || true
check "a full node says it falls behind" 'not applied \(index is full.*this node falls behind' -- \
    cat "$c/eligd3.log"
q3() { "$eligctl" query --server "127.0.0.1:$((base + 33))" --facility 1310000001 \
    --card 00000000000A1001 --date 2025-08-01 2>&1 || true; }
end=$((SECONDS + 30))
until q3 | grep -q behind || [ $SECONDS -ge $end ]; do sleep 0.2; done
check "and answers checks behind" 'behind' -- q3
"$loadgen" replay --server "127.0.0.1:$((base + 33)),127.0.0.1:$((base + 31))" --records 3000 \
    --seed 5 --checks 20000 --rate 10000 --connections 4 --json >"$dir/replay.json" 2>"$dir/replay.err" || true
check "replay: connections moved on BEHIND" '"behind":[1-9]' -- cat "$dir/replay.json" "$dir/replay.err"
check "replay: every check answered" '^20000$' -- json checks_answered "$dir/replay.json"
check "replay: none contradicts the population" '^0$' -- json unexpected "$dir/replay.json"

# ---- a node pointed at a stream that is not the one it applied (made anew, or another
# cluster's): refused before its store is touched
cluster stop eligd3 >/dev/null
check "a node against another stream is refused" \
    'applied stream OTHER through sequence [0-9]+, but the stream ends at 0: it is not the stream' -- \
    sh -c "\$(cat '$c/eligd3.cmd') --stream OTHER >/dev/null 2>&1; tail -1 '$c/eligd3.log'"
check "down stops everything" '^cluster: down$' -- cluster down --keep
finish

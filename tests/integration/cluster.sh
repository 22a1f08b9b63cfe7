#!/usr/bin/env bash
# A cluster on loopback (scripts/cluster: 3 nats-servers, 3 eligd nodes):
# each round a feed part is appended through a node while, at a seeded
# moment of the append, the stream's leader (asked of the nats-servers'
# monitoring) and another eligd node are killed (SIGKILL), then started again.
# Every append that was acknowledged is applied on every node once they
# have caught up, and the three nodes end with the same records (their dumps'
# digests are equal), also after the publishing client is killed mid-append and
# run again, and after chunks are published out of order and sent twice. A
# message that is not an update chunk, published on the
# stream directly, is skipped by every node with its sequence reported.
# Skipped (77) without nats-server. ROUNDS (default 8) and SEED set the run.
set -euo pipefail
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
root=${ELIG_SOURCE_ROOT:?set ELIG_SOURCE_ROOT to the source tree}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! command -v nats-server >/dev/null; then
    echo "cluster: nats-server is not installed (scripts/setup installs it): skipped"
    exit 77
fi
rounds=${ROUNDS:-8}
RANDOM=${SEED:-7}

dir=$(scratch_dir elig-cluster)
cluster() { "$root/scripts/cluster" "$@" --dir "$dir/c"; }
cleanup() { # (KEEP=1: the cluster stopped, its directory kept to be read)
    [ -n "${KEEP:-}" ] && { cluster down --keep >/dev/null 2>&1; echo "kept $dir"; return; }
    cluster down >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
base=$((26000 + ($$ % 150) * 40))
check "the cluster comes up" '^cluster: up' -- \
    "$root/scripts/cluster" up --dir "$dir/c" --build "$(dirname "$eligd")" --base-port "$base" \
    --capacity 20000

"$loadgen" population --records 4000 --seed 9 --out "$dir/pop.feed" 2>/dev/null
lines=$(wc -l <"$dir/pop.feed")
per=$(((lines + rounds - 1) / rounds))
split -l "$per" -d -a 3 "$dir/pop.feed" "$dir/part."

sock() { echo "$dir/c/eligd$1/data/eligd.sock"; }
alive() { [ -f "$dir/c/eligd$1.pid" ] && kill -0 "$(cat "$dir/c/eligd$1.pid")" 2>/dev/null; }
stream_leader() { # the nats-server leading the stream, asked of any that answers (an election
    local i end=$((SECONDS + 20)) # after the last round's kill may still be going on: 20 s at most)
    while [ $SECONDS -lt $end ]; do
        for i in 1 2 3; do
            curl -sf --max-time 2 "http://127.0.0.1:$((base + 20 + i))/jsz?streams=true&accounts=true" 2>/dev/null | tr -d ' \n' |
                grep -o '"name":"ELIGD".*' | grep -o '"leader":"nats[0-9]"' | head -1 | cut -d'"' -f4 |
                grep . && return 0
        done
        sleep 0.2
    done
    return 1
}
acked=0 failed=0 leaders=0
r=0
for part in "$dir"/part.*; do # each round: the stream's leader and an eligd killed mid-append
    r=$((r + 1))
    if leader=$(stream_leader); then leaders=$((leaders + 1)); else leader=nats$((RANDOM % 3 + 1)); fi
    victim=eligd$((RANDOM % 3 + 1))
    node=$((RANDOM % 3 + 1))
    [ "eligd$node" = "$victim" ] && node=$((node % 3 + 1))
    "$eligctl" append --admin "$(sock $node)" "$part" >"$dir/append.$r" 2>&1 &
    apid=$!
    sleep "$(printf '0.%03d' $((RANDOM % 40)))" # the moment: seeded, 0 to 39 ms into the append
    cluster kill "$leader" "$victim" >/dev/null
    if wait "$apid"; then
        acked=$((acked + 1))
    else
        failed=$((failed + 1))
        echo "cluster: round $r ($leader, $victim killed): append through eligd$node not acknowledged: $(tail -1 "$dir/append.$r"); its log: $(grep -E 'admin append|cluster' "$dir/c/eligd$node.log" | tail -1)"
    fi
    cluster start "$leader" "$victim" >/dev/null
done
check "the stream's leader was found and killed in every round" "^$r\$" -- echo "$leaders"
# ---- the publishing client killed in the middle of an append (after its first chunk is in
# the stream), then the append run again through another node: the stream grows by the file's
# chunks once, whatever was stored before the kill is not stored again
chunks_of() { # chunks_of FILE: the chunks eligctl append makes of FILE's events (1,024 each)
    "$eligctl" feed check "$1" | awk '$2 == "accepted," { print int(($1 + 1023) / 1024) }'
}
# (without the insurers' names: every population starts with the same ones, whose chunks are
# the same chunks as the first append's, and stored once for all)
"$loadgen" population --records 3000 --seed 13 2>/dev/null | grep -v '^INSURER' >"$dir/more.feed"
seq_of() { curl -s "http://127.0.0.1:$((base + 40 + $1))/metrics" | awk '$1 == "eligd_stream_applied_sequence" { print $2 }'; }
end=$((SECONDS + 60)) # the nodes restarted last have caught up: the stream's end is known
until [ "$(seq_of 1)" = "$(seq_of 2)" ] && [ "$(seq_of 2)" = "$(seq_of 3)" ] || [ $SECONDS -ge $end ]; do sleep 0.2; done
before=$(seq_of 2)
"$eligctl" append --admin "$(sock 1)" "$dir/more.feed" >/dev/null 2>&1 &
apid=$!
end=$((SECONDS + 30))
until [ "$(seq_of 1)" != "$before" ] || [ $SECONDS -ge $end ]; do sleep 0.01; done
kill -9 "$apid" 2>/dev/null || true
wait "$apid" 2>/dev/null || true
"$eligctl" append --admin "$(sock 2)" "$dir/more.feed" >"$dir/append.more" 2>&1 || true
check "the append run again after its client was killed: each chunk stored once" \
    "^$(chunks_of "$dir/more.feed")\$" -- echo "$(($(seq_of 2) - before))"
# ---- publishes out of order, and one sent again after a later one: the second half of a
# population first (its changes and losses of records not yet acquired are refused, alike on
# every node), then the first half, then the second half again (stored once)
"$loadgen" population --records 2000 --seed 17 2>/dev/null | grep -v '^INSURER' >"$dir/late.feed"
half=$(($(wc -l <"$dir/late.feed") / 2))
head -n "$half" "$dir/late.feed" >"$dir/late.a"
tail -n "+$((half + 1))" "$dir/late.feed" >"$dir/late.b"
before=$(seq_of 2)
"$eligctl" append --admin "$(sock 3)" "$dir/late.b" >"$dir/append.late-b" 2>&1 || true
"$eligctl" append --admin "$(sock 1)" "$dir/late.a" >"$dir/append.late-a" 2>&1 || true
"$eligctl" append --admin "$(sock 2)" "$dir/late.b" >"$dir/append.late-b2" 2>&1 || true
check "a chunk sent again after later ones is stored once" \
    "^$(($(chunks_of "$dir/late.a") + $(chunks_of "$dir/late.b")))\$" -- echo "$(($(seq_of 2) - before))"
check "and answered with its first result" '^same$' -- \
    sh -c "cmp -s '$dir/append.late-b' '$dir/append.late-b2' && echo same"

# ---- a nats-server paused (SIGSTOP: a partition, its connections open but silent): the nodes
# that were connected to it move to another; appends through every node are acknowledged and
# checks answered on every node
kill -STOP "$(cat "$dir/c/nats1.pid")"
"$loadgen" population --records 600 --seed 19 2>/dev/null | grep -v '^INSURER' >"$dir/paused.feed"
split -n l/3 -d -a 1 "$dir/paused.feed" "$dir/paused."
for i in 1 2 3; do # (an event another population's key already holds is refused: exit 1)
    # a node still on the paused server may time the first try out while it moves: a client
    # sends the same file again (its chunks are stored once), as operations.md says
    for try in 1 2; do
        "$eligctl" append --admin "$(sock $i)" "$dir/paused.$((i - 1))" >"$dir/append.paused$i" 2>&1 || true
        grep -q 'timed out' "$dir/append.paused$i" || break
    done
done
check "nats1 paused: appends through every node acknowledged" '^3$' -- \
    sh -c "tail -n 2 '$dir'/append.paused* >&2; cat '$dir'/append.paused* | grep -c 'events applied, .* durable and applied'"
answered() { # answered I: node I answers a check (not behind)
    "$eligctl" query --server "127.0.0.1:$((base + 30 + $1))" --facility 1310000001 \
        --card 00000000000A1001 --date 2025-08-01 2>&1 | grep -q '^check as of'
}
end=$((SECONDS + 30))
until { answered 1 && answered 2 && answered 3; } || [ $SECONDS -ge $end ]; do sleep 0.2; done
check "nats1 paused: every node answers checks" '^answered$' -- \
    sh -c "$(declare -f answered); eligctl='$eligctl' base=$base; answered 1 && answered 2 && answered 3 && echo answered"
kill -CONT "$(cat "$dir/c/nats1.pid")"

# an append during an election may time out (the client sends it again: stored once); most get
# through, and what matters is below: every acknowledged one everywhere, the nodes alike
check "most appends were acknowledged" '^ok$' -- sh -c "[ $acked -ge $(((rounds + 1) / 2)) ] && echo ok"

applied_of() { "$eligctl" stats "$dir/c/eligd$1/index.seg" | awk '$1 == "applied" { print $3 }'; }
converged() { # the three nodes at one applied LSN, and it is the last acknowledged one's or past it
    local a b c
    a=$(applied_of 1) b=$(applied_of 2) c=$(applied_of 3)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ] && [ "$a" -ge "$want" ]
}
want=0
for f in "$dir"/append.*; do
    lsn=$(sed -n 's/.*applied through LSN \([0-9]*\).*/\1/p' "$f")
    [ -n "$lsn" ] && [ "$lsn" -gt "$want" ] && want=$lsn
done
end=$((SECONDS + 60))
until converged || [ $SECONDS -ge $end ]; do sleep 0.2; done
check "the nodes caught up to every acknowledged append" '^converged$' -- \
    sh -c "$(declare -f applied_of converged); eligctl='$eligctl' dir='$dir' want=$want converged && echo converged"
for i in 1 2 3; do "$eligctl" dump "$dir/c/eligd$i/index.seg" | sha256sum | cut -d' ' -f1 >"$dir/digest.$i"; done
check "the three nodes hold the same records" '^1$' -- sh -c "cat '$dir'/digest.* | sort -u | wc -l"
check "and records they are" '^records +[1-9]' -- "$eligctl" stats "$dir/c/eligd1/index.seg"
# registration lag counted from the time the stream stored each chunk: the same on every node
# (this month and the last, should the test run across a month's end)
for i in 1 2 3; do
    for m in "$(date +%Y-%m)" "$(date -d '-1 month' +%Y-%m)"; do
        "$eligctl" report lag --data "$dir/c/eligd$i/data" --month "$m" 2>/dev/null
    done >"$dir/lag.$i"
done
check "the three nodes count the same registration lag" '^1$' -- \
    sh -c "sha256sum '$dir'/lag.* | cut -d' ' -f1 | sort -u | wc -l"
check "and count some" '^ok$' -- \
    sh -c "awk -F, '\$2 == \"all\" { n += \$3 } END { if (n > 0) print \"ok\" }' '$dir/lag.1'"
seq1=$(curl -s "http://127.0.0.1:$((base + 41))/metrics" | awk '$1 == "eligd_stream_applied_sequence" { print $2 }')
seq3=$(curl -s "http://127.0.0.1:$((base + 43))/metrics" | awk '$1 == "eligd_stream_applied_sequence" { print $2 }')
check "metrics: the nodes' stream positions are equal" '^[1-9][0-9]* [1-9][0-9]*$' -- \
    sh -c "[ '$seq1' = '$seq3' ] && echo '$seq1 $seq3'"
echo "cluster: $rounds rounds, $acked appends acknowledged, $failed not; converged at LSN $(applied_of 1)"
# ---- cut off from the stream (every nats-server stopped): checks are answered BEHIND
q() { "$eligctl" query --server "127.0.0.1:$((base + 32))" --facility 1310000001 \
    --card 00000000000A1001 --date 2025-08-01 2>&1 || true; }
cluster stop nats1 nats2 nats3 >/dev/null
end=$((SECONDS + 30))
until q | grep -q behind || [ $SECONDS -ge $end ]; do sleep 0.2; done
check "cut off: a check is answered behind, not from stale data" 'behind' -- q
cluster start nats1 nats2 nats3 >/dev/null
end=$((SECONDS + 60))
while q | grep -q behind && [ $SECONDS -lt $end ]; do sleep 0.2; done
check "back in contact: checks answered again" '^check as of' -- q
check "the refusals are counted" 'eligd_frames_refused_total\{reason="behind"\} [1-9]' -- \
    curl -s "http://127.0.0.1:$((base + 42))/metrics"

check "cluster status names every process" '^eligd3: running' -- cluster status
check "down stops everything" '^cluster: down$' -- cluster down --keep
left=$(pgrep -f "[n]ats-server -c $dir/" || true)
check "no nats-server of the test is left" '^none$' -- echo "${left:-none}"
finish

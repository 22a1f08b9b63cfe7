#!/usr/bin/env bash
# Integration: the durable store through eligctl. append makes feed events
# durable in the log and applies them to a segment; lookup answers from the
# segment exactly as feed query answers from the feed; a restart is warm and
# replays nothing; a lost or damaged segment is rebuilt from the log (cold);
# a torn log tail (a write that never completed) is cut with a message naming
# where, a corrupt record before the end is refused and changes nothing; an
# append run again applies nothing twice; the reject file carries no
# personal data.
set -euo pipefail

eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
root=${ELIG_SOURCE_ROOT:?set ELIG_SOURCE_ROOT to the source tree}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sample=$root/docs/examples/sample.feed

shm=$(scratch_dir elig-it)
data=$(mktemp -d)
export TMPDIR=$data
trap 'rm -rf "$shm" "$data"' EXIT
seg=$shm/index.seg
store=$data/store
append() { "$eligctl" append --data "$store" --segment "$seg" --capacity 1000 "$@"; }

check "first append: cold start" '^start: cold: no segment, 0 log records replayed' -- \
    append "$sample"

# lookup from the segment = feed query from the feed, for every kind of answer
queries=(
    "--insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-02-10"
    "--insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-11 --date 2025-02-10"
    "--insurer 33120015 --symbol A --number 7 --birth 1975-01-31 --date 2025-02-10"
    "--insurer 138057 --symbol 東 --number 900 --birth 1990-02-28 --date 2025-02-10"
    "--card 00000000000A1001 --date 2025-08-01 --consent"
    "--card 00000000000A1009 --date 2025-09-15"
    "--card 00000000000A1003 --date 2025-02-10"
    "--card 0000000000000BAD --date 2025-03-01"
)
same_answers() {
    local q a b
    for q in "${queries[@]}"; do
        # shellcheck disable=SC2086
        a=$("$eligctl" lookup --segment "$seg" $q)
        # shellcheck disable=SC2086
        b=$("$eligctl" feed query "$sample" $q | grep -v ' events applied, ')
        [ "$a" = "$b" ] || { echo "differs for: $q"; diff <(echo "$a") <(echo "$b") || true; return 1; }
    done
    echo "all ${#queries[@]} answers identical"
}
check "lookup = feed query" '^all 8 answers identical$' -- same_answers
check "lookup valid" '^validity: 1 valid$' -- "$eligctl" lookup --segment "$seg" --insurer 01130012 \
    --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-02-10
check_exit "lookup needs a segment" 2 -- "$eligctl" lookup --card 00000000000A1001

# restart: warm, nothing to replay; LSNs continue
empty=$data/empty.feed
: >"$empty"
# (21 events and the record naming their chunk)
check "restart is warm" '^start: warm, 0 log records replayed \(0 refused\), applied through LSN 22,' -- \
    append "$empty"
# the store records what it was made with: later runs need no --capacity, and another is refused
check "the store's record" '^capacity=1000$' -- cat "$store/store"
check "the store's id" '^id=[0-9a-f]{32}$' -- cat "$store/store"
record=$(sha256sum "$store/store" "$seg")
check "another --capacity is refused, naming the recorded one" \
    '--capacity 5000: the store was made with capacity 1000 \(DATA/store\)' -- \
    "$eligctl" append --data "$store" --segment "$seg" --capacity 5000 "$empty"
check_exit "another --capacity: exit 2" 2 -- \
    "$eligctl" append --data "$store" --segment "$seg" --capacity 5000 "$empty"
check "another --capacity: nothing changed" '^same$' -- \
    bash -c '[ "$1" = "$(sha256sum "$2" "$3")" ] && echo same' _ "$record" "$store/store" "$seg"
check "no --capacity: the recorded one" '^start: warm' -- \
    "$eligctl" append --data "$store" --segment "$seg" "$empty"
cp "$store/store" "$data/store.bak"
sed -i 's/^capacity=1000$/capacity=9000/' "$store/store"
check "an edited store file is refused" 'DATA/store does not check out' -- \
    "$eligctl" append --data "$store" --segment "$seg" "$empty"
cp "$data/store.bak" "$store/store"
# a log file of another store copied in: refused by the id in its header, nothing changed
"$eligctl" append --data "$data/b" --segment "$data/b.seg" "$sample" >/dev/null
cp "$(ls "$data/b/log"/log-*.eld | head -n 1)" "$store/log/log-00000000000000099999.eld"
check "another store's log file is refused" 'log file log-00000000000000099999.eld was written by another store' -- \
    "$eligctl" append --data "$store" --segment "$seg" "$empty"
rm -f "$store/log/log-00000000000000099999.eld"
check "without it the store opens" '^start: warm' -- "$eligctl" append --data "$store" --segment "$seg" "$empty"
# a snapshot of another store, newer than any of this one's: a cold start refuses it
"$eligctl" snapshot --data "$data/b" --segment "$data/b.seg" >/dev/null
mkdir -p "$store/snapshots"
cp "$(ls "$data/b/snapshots"/snapshot-*.els | head -n 1)" "$store/snapshots/snapshot-00000000000000099999.els"
cp -a "$seg" "$data/seg.keep"
rm -f "$seg"
check "another store's snapshot is refused" 'snapshot snapshot-00000000000000099999.els was written by another store' -- \
    "$eligctl" append --data "$store" --segment "$seg" "$empty"
rm -rf "$store/snapshots/snapshot-00000000000000099999.els" "$data/b" "$data/b.seg"
mv "$data/seg.keep" "$seg"
check "without it, warm again" '^start: warm' -- "$eligctl" append --data "$store" --segment "$seg" "$empty"
check "refusals named by file and line" 'bad\.feed:8: LOSS refused: no current qualification' -- \
    append "$root/tests/data/bad.feed"
# the same append again: its chunk was applied, nothing is logged twice; same report
check "bad lines named too" 'bad\.feed:9: given_kanji: invalid UTF-8' -- \
    append "$root/tests/data/bad.feed"
check "a repeated append is applied once" '^1 of 1 chunks had been applied before' -- \
    append "$root/tests/data/bad.feed"
check "its first result again" 'bad\.feed:8: LOSS refused: no current qualification' -- \
    append "$root/tests/data/bad.feed"

# the segment lost: rebuilt from the log, same answers
rm -f "$seg"
check "lost segment: cold, whole log replayed" '^start: cold: no segment, 26 log records replayed' -- \
    "$eligctl" append --data "$store" --segment "$seg" "$empty" # no --capacity: the recorded one
check "answers after the rebuild" '^all 8 answers identical$' -- same_answers
check "the rebuild took the recorded capacity" 'records +[0-9]+ of 1000 ' -- "$eligctl" stats "$seg"

# a damaged segment is not trusted
printf 'X' | dd of="$seg" bs=1 seek=0 conv=notrunc 2>/dev/null
check "damaged segment: cold" '^start: cold: not an eligd segment \(bad magic\), 26 log records replayed' -- \
    append "$empty"

# a torn log tail (what a write cut short leaves; never acknowledged): cut by a plain start
last=$(ls "$store/log"/log-*.eld | sort | tail -n 1)
size=$(stat -c %s "$last")
printf 'garbage after the tail' >>"$last"
check "torn tail cut" "LOG TAIL CUT \(torn write, never acknowledged\): .* at offset $size of $(basename "$last"); 22 bytes" -- \
    append "$empty"
check "log whole again" '^start: warm, 0 log records replayed' -- append "$empty"
# a corrupt record with good ones after it: refused, nothing changed
byte=$(dd if="$last" bs=1 skip=100 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "\\$(printf %03o $((byte ^ 1)))" | dd of="$last" bs=1 seek=100 conv=notrunc 2>/dev/null
before=$(sha256sum "$last" "$seg")
check "corruption refused" "^eligctl: the log has a corrupt record with good ones after it: record checksum mismatch at offset [0-9]+ of log-" -- append "$empty"
check_exit "corruption refused exit" 2 -- append "$empty"
check "corruption named" "record checksum mismatch at offset 64 of $(basename "$last")" -- append "$empty"
check "corruption: nothing changed" '^same$' -- bash -c '[ "$1" = "$(sha256sum "$2" "$3")" ] && echo same' _ \
    "$before" "$last" "$seg"
printf "\\$(printf %03o "$byte")" | dd of="$last" bs=1 seek=100 conv=notrunc 2>/dev/null
check "repaired log" '^start: warm, 0 log records replayed' -- append "$empty"

# operator mistakes: the live segment with a mistyped or another store's data directory is
# refused, and nothing changes (the segment byte for byte; the mistyped directory not made)
live=$(sha256sum "$seg" | cut -d' ' -f1)
check "a mistyped --data is refused" "the segment holds updates through LSN [0-9]+, this data directory's log through LSN 0: a mistyped --data" -- \
    "$eligctl" snapshot --data "$data/stroe" --segment "$seg"
check_exit "a mistyped --data: exit 2" 2 -- "$eligctl" snapshot --data "$data/stroe" --segment "$seg"
check_exit "a mistyped --data: nothing made" 1 -- test -e "$data/stroe"
mkdir "$data/other"
check "another store's data directory: refused" 'the segment belongs to another store .*Nothing was changed' -- \
    "$eligctl" append --data "$data/other" --segment "$seg" "$empty"
check "the live segment is unchanged" "^$live " -- sha256sum "$seg"
check "the store still opens warm" '^start: warm, 0 log records replayed' -- append "$empty"
cp -a "$seg" "$data/copy.seg"
check "--rebuild-segment replaces it on purpose" '^start: cold: segment replaced \(--rebuild-segment\), 0 log records replayed' -- \
    "$eligctl" append --data "$data/other" --segment "$data/copy.seg" --rebuild-segment "$empty"
rm -rf "$data/other" "$data/copy.seg"

# snapshots: a cold start loads the newest and replays only the log after it
snapshot() { "$eligctl" snapshot --data "$store" --segment "$seg" "$@"; }
check "snapshot written" '^snapshot at LSN 26: [0-9]+ records, [0-9]+ cards, 4 insurer names, [0-9]+ bytes$' -- \
    snapshot
rm -f "$seg"
check "cold start from the snapshot" '^start: cold: no segment, from the snapshot at LSN 26, 0 log records replayed' -- \
    append "$empty"
check "answers from the snapshot" '^all 8 answers identical$' -- same_answers
later=$data/later.feed
sed -n 7p "$root/tests/data/bad.feed" >"$later"
check "a later record replays after it" 'start: warm' -- append "$later"
rm -f "$seg"
check "snapshot + log tail" '^start: cold: no segment, from the snapshot at LSN 26, 2 log records replayed' -- \
    append "$empty"
# a damaged snapshot is named, skipped, and the log (still whole here) rebuilds it all
snap=$(ls "$store/snapshots"/snapshot-*.els | tail -n 1)
printf 'Z' | dd of="$snap" bs=1 seek=200 conv=notrunc 2>/dev/null
rm -f "$seg"
check "damaged snapshot named" "SNAPSHOT DAMAGED: $(basename "$snap")" -- append "$empty"
rm -f "$seg"
check "then the whole log" '^start: cold: no segment, 28 log records replayed' -- append "$empty"
check "answers after all that" '^all 8 answers identical$' -- same_answers
check_exit "snapshot takes no files" 2 -- snapshot "$empty"

# verify: a rebuild from snapshot and log, compared item by item
check "snapshot for verify" '^snapshot at LSN 28' -- snapshot
check "verify: identical" '^identical: [0-9]+ items live, [0-9]+ rebuilt; 0 only in the live index, 0 only in the rebuild$' -- \
    "$eligctl" verify --data "$store" --segment "$seg"
check_exit "verify exit" 0 -- "$eligctl" verify --data "$store" --segment "$seg"

# dump: every record, card and insurer name of the segment
check "dump header" '^# eligd index dump, applied through LSN 28' -- "$eligctl" dump "$seg"
check "dump a record" $'^RECORD\t01130012\t1234\t56\t00\t1001\t1980-05-10\t' -- "$eligctl" dump "$seg"
check "dump a card" $'^CARD\t00000000000A1003\t1003\treturned\t' -- "$eligctl" dump "$seg"
check "dump an insurer" $'^INSURER\t00138057\t' -- "$eligctl" dump "$seg"
dump_count() { # every record the stats count is in the dump
    local dumped held
    dumped=$("$eligctl" dump "$seg" | grep -c '^RECORD')
    held=$("$eligctl" stats "$seg" | awk '/^records/ { print $2 }')
    echo "$dumped of $held"
}
check "dump has every record" '^10 of 10$' -- dump_count

# the reject file: reasons and senders only
check "rejects recorded" $'^[0-9]+\tLOSS\t[0-9]{8}\tno current qualification for the key$' -- \
    cat "$store/rejects.tsv"
check_exit "no names or birth dates in the reject file" 1 -- \
    grep -E '山田|佐藤|ヤマダ|1980-05-10|1975-01-31|00000000000A' "$store/rejects.tsv"

# the key-string dictionary is sized by --key-strings: too small, and the index is full
check "key strings sized by the operator" 'index is full' -- \
    "$eligctl" append --data "$data/ks" --segment "$shm/ks.seg" --capacity 1000 \
    --key-strings 1 "$sample"
check "enough key strings" '21 events applied, 0 refused' -- \
    "$eligctl" append --data "$data/ks2" --segment "$shm/ks2.seg" --capacity 1000 \
    --key-strings 16 "$sample"

finish

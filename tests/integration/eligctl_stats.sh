#!/usr/bin/env bash
# Integration: elig-bench builds a real index segment and keeps it; eligctl
# attaches it read-only and reports its occupancy; damaged or foreign files
# are named and refused.
set -euo pipefail

eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
bench=${ELIG_BENCH:?set ELIG_BENCH to the elig-bench binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-it)
trap 'rm -rf "$dir"' EXIT

# a 5,000-record index; the bench names the kept segment on stderr
"$bench" index --records 5000 --seconds 0.05 --runs 1 --only single --dir "$dir" --keep \
    >"$dir/bench.out" 2>"$dir/bench.err"
seg=$(sed -n 's/^elig-bench: segment kept at //p' "$dir/bench.err")
check "bench kept a segment" "^$dir/elig-bench-[0-9]+\.seg\$" -- echo "$seg"

check "records" '^records +5000 of 5000 \(100\.0%\)$' -- "$eligctl" stats "$seg"
check "persons" '^persons +3906 of 3907 ' -- "$eligctl" stats "$seg"
check "clean after the writer closed" '^state +clean$' -- "$eligctl" stats "$seg"
check "pages reported" '^pages +(4KiB|2MiB-thp|2MiB-hugetlbfs)$' -- "$eligctl" stats "$seg"
check_exit "stats exit" 0 -- "$eligctl" stats "$seg"

# read-only: the file is unchanged by an attach
before=$(sha256sum <"$seg")
"$eligctl" stats "$seg" >/dev/null
check "attach changes nothing" "^$before\$" -- sha256sum <"$seg"

# foreign, truncated and missing files are refused with the reason
head -c 8192 /dev/zero >"$dir/zero.seg"
check "not a segment" 'zero\.seg: not an eligd segment \(bad magic\)' -- "$eligctl" stats "$dir/zero.seg"
cp "$seg" "$dir/short.seg"
truncate -s -4096 "$dir/short.seg"
check "truncated" 'short\.seg: segment file truncated or of the wrong size' -- \
    "$eligctl" stats "$dir/short.seg"
check_exit "truncated exit" 2 -- "$eligctl" stats "$dir/short.seg"
check "missing" 'nope\.seg: No such file or directory' -- "$eligctl" stats "$dir/nope.seg"
check_exit "usage" 2 -- "$eligctl" stats

finish

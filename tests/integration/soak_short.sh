#!/usr/bin/env bash
# The soak's code path, short: scripts/soak for three replayed hours of a
# Monday morning at 1,800x (a hundredth of the nation's volume, 20,000
# records), with an update slice applied and SIGHUP sent each replayed hour
# while the replay runs. Every check must be answered, no frame may fail,
# and eligd's memory and open files must stay flat; the report and plot are
# written. The full soak (a week at 100x) is `scripts/soak`.
set -euo pipefail
eligd=${ELIGD:?set ELIGD to the eligd binary}
root=${ELIG_SOURCE_ROOT:?set ELIG_SOURCE_ROOT to the source tree}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-soak)
trap 'rm -rf "$dir"' EXIT
build=$(dirname "$eligd")

check "soak: flat, every check answered" '^\| private memory and files, first hour vs last \| flat ' -- \
    "$root/scripts/soak" --build "$build" --hours 3 --speed 1800 --records 20000 \
    --start 2025-02-03T08 --checks 2358396 --sample 1 --out "$dir/out"
check "soak: no frame errors" '^\| frame errors \| 0 \|$' -- cat "$dir/out/soak.md"
check "soak: every check answered" '^\| checks sent / answered \| ([0-9]+) / \1 \|$' -- cat "$dir/out/soak.md"
check "soak: updates applied while serving" '^\| update slices applied \| [1-9]' -- cat "$dir/out/soak.md"
check "soak: SIGHUP sent each replayed hour" $'\thup' -- cat "$dir/out/monitor.tsv"
check "soak: the plot is a PNG" '^89504e47$' -- sh -c "head -c 4 '$dir/out/soak.png' | od -An -tx1 | tr -d ' \n'"

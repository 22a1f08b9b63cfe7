#!/usr/bin/env bash
# Every program, invoked wrongly, says why and exits non-zero: a table of bad
# invocations (unknown commands and options, missing or malformed values,
# files that are not there), each run in an empty scratch directory that
# must stay empty. And --help works on every program and every subcommand.
set -euo pipefail
eligd=${ELIGD:?set ELIGD to the eligd binary}
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
loadgen=${ELIG_LOADGEN:?set ELIG_LOADGEN to the elig-loadgen binary}
bench=${ELIG_BENCH:?set ELIG_BENCH to the elig-bench binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-inv)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

# refused PROGRAM ARGS...: a non-zero exit, a reason on stderr, nothing written here
refused() {
    local err rc
    checks=$((checks + 1))
    set +e
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    set -e
    if [ "$rc" -eq 0 ] || [ -z "$err" ] || [ -n "$(ls -A "$dir")" ]; then
        echo "FAIL: $(basename "$1") ${*:2}: exit $rc, reason '${err}', scratch: $(ls -A "$dir" | tr '\n' ' ')"
        failures=$((failures + 1))
        rm -rf "${dir:?}"/* "$dir"/.[!.]* 2>/dev/null || true
    fi
}

store=(--data "$dir/d" --segment "$dir/s.seg")
refused "$eligd"
refused "$eligd" --no-such-option
refused "$eligd" "${store[@]}" --capacity 0
refused "$eligd" "${store[@]}" --capacity many
refused "$eligd" "${store[@]}" --capacity -5
refused "$eligd" "${store[@]}" --workers 0
refused "$eligd" "${store[@]}" --facility-burst 5
refused "$eligd" "${store[@]}" --listen 127.0.0.1
refused "$eligd" "${store[@]}" --listen '[::1:7700'
refused "$eligd" "${store[@]}" --listen no-such-host.invalid:7700
refused "$eligd" "${store[@]}" --admin-listen 0.0.0.0:0
refused "$eligd" "${store[@]}" --trust-network --facilities "$dir/f"
refused "$eligd" --attach "$dir/none.seg"
refused "$eligd" "${store[@]}" --dpdk-port 3
refused "$eligd" "${store[@]}" extra-argument

refused "$eligctl"
refused "$eligctl" no-such-command
refused "$eligctl" feed
refused "$eligctl" feed no-such-subcommand
refused "$eligctl" feed check
refused "$eligctl" feed check "$dir/none.feed"
refused "$eligctl" append "$dir/none.feed"
refused "$eligctl" append --admin "$dir/none.sock" "$dir/none.feed"
refused "$eligctl" snapshot --data "$dir/d"
refused "$eligctl" grow --data "$dir/d"
refused "$eligctl" append --data "$dir/d" --segment "$dir/s.seg" --capacity abc "$dir/none.feed"
refused "$eligctl" snapshot --data "$dir/d" --segment "$dir/s.seg" --key-strings 0
refused "$loadgen" population --records abc
refused "$loadgen" replay --server 127.0.0.1:1 --records 10 --checks x
refused "$eligctl" grow --capacity -5 --admin "$dir/none.sock"
refused "$eligctl" grow --admin "$dir/none.sock"
refused "$eligctl" grow --admin "$dir/none.sock" extra
refused "$eligctl" verify --segment "$dir/s.seg"
refused "$eligctl" lookup --card 00000000000A1001
refused "$eligctl" lookup --segment "$dir/none.seg" --card 00000000000A1001
refused "$eligctl" query --server 127.0.0.1:1 --card 00000000000A1001
refused "$eligctl" query --server no-such-host.invalid:7700 --card 00000000000A1001
refused "$eligctl" ping
refused "$eligctl" ping --server '[::1'
refused "$eligctl" server-stats --admin "$dir/none.sock"
refused "$eligctl" stats "$dir/none.seg"
refused "$eligctl" dump
refused "$eligctl" facility
refused "$eligctl" facility add 1310000001
refused "$eligctl" facility frobnicate
refused "$eligctl" key

refused "$loadgen"
refused "$loadgen" no-such-command
refused "$loadgen" population --records many
refused "$loadgen" population --out "$dir/x/y/pop.feed" --records 10
refused "$loadgen" traffic --month 2023-01
refused "$loadgen" replay --server 127.0.0.1:1 --records 100 --checks 10
refused "$loadgen" replay --records 100
refused "$loadgen" replay --server 127.0.0.1:1 --start yesterday

refused "$bench"
refused "$bench" no-such-benchmark
refused "$bench" index --records many

# --help: every program and every subcommand, on stdout, exit 0
helps=(
    "$eligd --help" "$eligctl --help" "$loadgen --help" "$bench --help"
    "$eligctl feed check --help" "$eligctl feed query --help" "$eligctl append --help"
    "$eligctl snapshot --help" "$eligctl grow --help" "$eligctl verify --help" "$eligctl lookup --help"
    "$eligctl query --help" "$eligctl ping --help" "$eligctl server-stats --help"
    "$eligctl dump --help" "$eligctl stats --help" "$eligctl facility --help"
    "$eligctl key --help"
    "$loadgen population --help" "$loadgen updates --help" "$loadgen traffic --help"
    "$loadgen replay --help" "$loadgen redis-load --help"
    "$bench index --help" "$bench log --help" "$bench store --help" "$bench server --help"
    "$bench dpdk --help"
)
for h in "${helps[@]}"; do
    # shellcheck disable=SC2086
    check "$(basename "${h%% *}") ${h#* }" '^usage: ' -- $h
    # shellcheck disable=SC2086
    check_exit "$(basename "${h%% *}") ${h#* }: exit 0" 0 -- $h
done
# every program reads its options the same way (elig_opt): an unknown option,
# a value out of range, a missing value are each named in one line alike
check "eligd names an unknown option" '^eligd: unknown option --colour \(--help lists them\)$' -- \
    "$eligd" --colour
check "eligctl names an unknown option" \
    '^eligctl append: unknown option --colour \(--help lists them\)$' -- "$eligctl" append --colour
check "elig-loadgen names an unknown option" \
    '^elig-loadgen replay: unknown option --colour \(--help lists them\)$' -- \
    "$loadgen" replay --colour
check "elig-bench names an unknown option" \
    '^elig-bench index: unknown option --colour \(--help lists them\)$' -- "$bench" index --colour
check "a range is named alike" '^eligd: --workers 0: not a whole number from 1 to 256$' -- \
    "$eligd" "${store[@]}" --workers 0
check "a range is named alike (eligctl)" \
    '^eligctl grow: --persons 0: not a whole number from 1 to 1073741824$' -- \
    "$eligctl" grow --persons 0 --admin x
check "a range is named alike (elig-loadgen)" \
    '^elig-loadgen replay: --depth 0: not a whole number from 1 to 4096$' -- \
    "$loadgen" replay --depth 0
check "a missing value is named" '^elig-bench server: --runs needs a value$' -- \
    "$bench" server --runs
check "a refused date is not echoed" '^elig-loadgen population: --date: not a date \(YYYY-MM-DD\)$' -- \
    "$loadgen" population --date 1980-02-30
check "options and operands mix" '^eligctl key: name INSURER SYMBOL NUMBER \[BRANCH\]' -- \
    "$eligctl" key 06130012

check "elig-bench cluster names what it needs" '^elig-bench cluster: give --admin SOCKET' -- \
    "$bench" cluster --servers 127.0.0.1:1
check_exit "and exits 2" 2 -- "$bench" cluster

# the top-level help names every subcommand
for c in "feed check" "feed query" append snapshot bootstrap grow verify lookup query ping server-stats dump stats facility key; do
    check "eligctl --help names $c" "^  $c " -- "$eligctl" --help
done
finish

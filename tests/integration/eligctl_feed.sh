#!/usr/bin/env bash
# Integration: run the real eligctl binary on the sample and a bad feed, and
# check every answer the rules give, the file:line:field reports, and that no
# personal data from a rejected line is echoed back.
set -euo pipefail

eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
root=${ELIG_SOURCE_ROOT:?set ELIG_SOURCE_ROOT to the source tree}
sample=$root/docs/examples/sample.feed
bad=$root/tests/data/bad.feed
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# feed query builds a private index under TMPDIR: it must leave nothing behind
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch

q() { "$eligctl" feed query "$sample" "$@"; }

check "version" '^eligctl [0-9]+\.[0-9]+\.[0-9]+$' -- "$eligctl" --version
check_exit "help" 0 -- "$eligctl" --help
check_exit "unknown command" 2 -- "$eligctl" frobnicate
check_exit "query without a key" 2 -- "$eligctl" feed query "$sample" --date 2025-01-01

# feed check
check "sample is clean" '^21 accepted, 0 rejected$' -- "$eligctl" feed check "$sample"
check_exit "sample exit status" 0 -- "$eligctl" feed check "$sample"
check_exit "bad feed exit status" 1 -- "$eligctl" feed check "$bad"
expected="$bad:3: birth_date: impossible or out-of-range date
$bad:4: kind: unknown event kind
$bad:5: insurer: check digit does not match
$bad:6: copay: value outside its allowed set
$bad:9: given_kanji: invalid UTF-8
3 accepted, 5 rejected"
set +e
got=$("$eligctl" feed check "$bad" 2>&1)
set -e
checks=$((checks + 1))
if [ "$got" != "$expected" ]; then
    echo "FAIL: bad feed report differs:"
    diff <(echo "$expected") <(echo "$got") || true
    failures=$((failures + 1))
fi
checks=$((checks + 1))
if grep -Eq '渡辺|秘密子|1977-02-30|01130013|ナカムラ|2002|2003' <<<"$got"; then
    echo "FAIL: a rejection report quotes personal data"
    failures=$((failures + 1))
fi
check "apply-time refusal names file and line" "$bad:8: LOSS refused: no current qualification" \
    -- "$eligctl" feed query "$bad" --card 00000000000A1001 --date 2025-01-01
check_exit "missing file" 2 -- "$eligctl" feed check /nonexistent/feed

# every validity code by number
check "1 valid" '^validity: 1 valid$' -- \
    q --insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-02-10
check "4 birth mismatch" '^validity: 4 no-match$' -- \
    q --insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-11 --date 2025-02-10
check "3 lost, newer exists" '^validity: 3 lost-newer-exists$' -- \
    q --insurer 33120015 --symbol A --number 7 --birth 1975-01-31 --date 2025-02-10
check "1 valid on a past date" '^validity: 1 valid$' -- \
    q --insurer 33120015 --symbol A --number 7 --birth 1975-01-31 --date 2020-02-10
check "2 lost" '^validity: 2 lost$' -- \
    q --insurer 138057 --symbol 東 --number 900 --birth 1990-02-28 --date 2025-02-10
check "full-width typed key" '^validity: 2 lost$' -- \
    q --insurer １３８０５７ --symbol " 東 " --number ９００ --birth 1990-02-28 --date 2025-02-10
check "4 unknown key" '^validity: 4 no-match$' -- \
    q --insurer 01130012 --number 404 --birth 1980-05-10 --date 2025-02-10
check "co-payment before a change" 'co-payment: +30%' -- \
    q --insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-07-31
check "co-payment after a change" 'co-payment: +20%' -- \
    q --insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-08-01
check "limit withheld without consent" 'limit category: \(withheld' -- \
    q --insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-02-10
check "limit shown with consent" 'limit category: A02' -- \
    q --insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-02-10 --consent
check "elderly certificate ratio applies" 'co-payment: +20%' -- \
    q --insurer 01130012 --symbol 1234 --number 1010 --branch 1 --birth 1953-06-15 --date 2025-02-10

# by card
check "card 1 valid" '^validity: 1 valid$' -- q --card 00000000000a1001 --date 2025-02-10
check "card 5 multiple" '^validity: 5 multiple$' -- q --card 00000000000A1009 --date 2025-02-10
check "card renewal alert" 'renewal alert' -- q --card 00000000000A1009 --date 2025-09-15
check "card grace" 'grace period' -- q --card 00000000000A1009 --date 2026-02-28
check "card expired: paper certificate" 'refused: certificate-expired-use-paper-certificate' -- \
    q --card 00000000000A1009 --date 2026-03-01
check "card returned" '^refused: card-returned$' -- q --card 00000000000A1003 --date 2024-12-01
check "card works until de-registration" '^validity: 1 valid$' -- \
    q --card 00000000000A1002 --date 2025-02-28
check "card de-registered" '^refused: card-deregistered$' -- \
    q --card 00000000000A1002 --date 2025-03-01
check "card never registered" '^refused: card-unregistered$' -- \
    q --card 0000000000000BAD --date 2025-03-01
check_exit "card id malformed" 2 -- q --card 12345

# key
check "key normalisation" 'insurer: 00138057 \(national-health-insurance\)' -- \
    "$eligctl" key １３８０５７ "" "9 0 0"
check "key check digit" 'invalid: insurer: check digit' -- "$eligctl" key 01130013 "" 1
check_exit "key invalid exit" 1 -- "$eligctl" key 01130013 "" 1

check "feed query leaves no files" '^0$' -- bash -c "ls -A '$scratch' | wc -l"

finish

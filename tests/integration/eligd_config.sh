#!/usr/bin/env bash
# eligd --config: the shipped example names every option and starts the
# demo's store (the command line over it); bad files are refused with
# FILE:LINE: reason before anything is written; --check-config prints the
# effective configuration and opens nothing; SIGHUP reads the file again,
# applies what may change live (the log file, the facilities' allowance),
# names what needs a restart, and keeps serving when the new file is bad.
set -euo pipefail
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
root=${ELIG_SOURCE_ROOT:?set ELIG_SOURCE_ROOT to the source tree}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
example=$root/docs/examples/eligd.conf

with_scratch elig-conf

# ---- the example has a key for every option of eligd --help
missing=
for opt in $("$eligd" --help | grep -oE '^  --[a-z-]+' | sed 's/^  --//'); do
    case $opt in config | check-config | help) continue ;; esac
    grep -qE "^;?$opt =" "$example" || missing="$missing $opt"
done
check "the example names every option" '^none$' -- echo "${missing:-none}"

# ---- the systemd unit the build makes: systemd-analyze accepts it (where installed)
unit=$(dirname "$eligd")/eligd.service
if command -v systemd-analyze >/dev/null && [ -f "$unit" ]; then
    sed "s|^ExecStart=[^ ]*|ExecStart=$eligd|" "$unit" >"$dir/eligd.service"
    check "systemd-analyze verify accepts the unit" '^ok$' -- \
        sh -c "systemd-analyze verify --man=no '$dir/eligd.service' && echo ok"
    check "the unit runs eligd with the configuration file" \
        '^ExecStart=[^ ]*/eligd --config [^ ]*/eligd/eligd.conf$' -- cat "$unit"
    check "the unit is Type=notify with a watchdog" '^ok$' -- sh -c \
        "grep -q '^Type=notify$' '$unit' && grep -q '^WatchdogSec=' '$unit' && echo ok"
fi

# ---- bad files: FILE:LINE: reason, exit 2, nothing written
bad() { # bad NAME CONTENT REGEX
    printf '%b' "$2" >"$dir/$1.conf"
    check "$1: refused with file:line" "^eligd: $dir/$1.conf:$3" -- \
        "$eligd" --config "$dir/$1.conf" --data "$dir/never" --segment "$dir/never.seg"
    check_exit "$1: exit 2" 2 -- \
        "$eligd" --config "$dir/$1.conf" --data "$dir/never" --segment "$dir/never.seg"
}
bad unknown 'capacity = 1000\nworkrs = 2\n' '2: workrs: unknown key'
bad value 'capacity = 1000\n\nworkers = many\n' '3: workers: not a whole number from 1 to 256'
bad duplicate 'listen = 127.0.0.1:0\nlisten = 127.0.0.1:1\n' \
    '2: listen: given twice \(first on line 1\)'
bad flag 'no-audit = sometimes\n' '1: no-audit: not true or false'
bad section '[eligd]\nworkers = 1\n' '2: \[eligd\]: this file has no sections'
bad words 'workers 2\n' '1: not "key = value"'
bad nested 'config = /etc/eligd/other.conf\n' '1: config: given on the command line only'
check "a missing file: refused" "^eligd: $dir/absent.conf: No such file or directory" -- \
    "$eligd" --config "$dir/absent.conf" --data "$dir/never" --segment "$dir/never.seg"
check "a directory: refused" "^eligd: $dir: not a regular file" -- \
    "$eligd" --config "$dir" --data "$dir/never" --segment "$dir/never.seg"
check_exit "nothing was written" 1 -- test -e "$dir/never"
check_exit "no segment was made" 1 -- test -e "$dir/never.seg"

# ---- --check-config: the file, the command line over it; nothing opened
check "check-config: the command line overrides the file" "^data = $dir/data$" -- \
    "$eligd" --config "$example" --data "$dir/data" --segment "$dir/index.seg" --check-config
check "check-config: the file's values" '^listen = 127.0.0.1:7700$' -- \
    "$eligd" --config "$example" --data "$dir/data" --segment "$dir/index.seg" --check-config
check "check-config: the defaults eligd derives" "^audit = $dir/data/audit$" -- \
    "$eligd" --config "$example" --data "$dir/data" --segment "$dir/index.seg" --check-config
check "check-config: what follows from the options is checked too" \
    'not a loopback address' -- \
    "$eligd" --config "$example" --data "$dir/data" --listen 0.0.0.0:0 --check-config \
    --segment "$dir/index.seg"
check_exit "check-config opened nothing" 1 -- test -e "$dir/data"

# ---- the example starts the demo's store
"$eligctl" append --data "$dir/data" --segment "$dir/index.seg" --capacity 100000 \
    "$root/docs/examples/sample.feed" >/dev/null
"$eligctl" facility add 1310000001 --type clinic --data "$dir/data" --key-out "$dir/clinic.key" \
    >/dev/null
sed -e "s|^data = .*|data = $dir/data|" -e "s|^segment = .*|segment = $dir/index.seg|" \
    -e "s|^listen = .*|listen = 127.0.0.1:0|" -e "s|^;log-file = .*|log-file = $dir/eligd.log|" \
    "$example" >"$dir/eligd.conf"
eligd_start --config "$dir/eligd.conf"
query() {
    "$eligctl" query --server 127.0.0.1:$port --facility 1310000001 --key-file "$dir/clinic.key" \
        --insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-02-10
}
check "the example's eligd answers a check" 'valid' -- query

# ---- SIGHUP: live keys applied, the others named, the log moved
sed -i -e 's|^;facility-rate = .*|facility-rate = 100|' -e 's|^;workers =.*|workers = 1|' \
    -e "s|^log-file = .*|log-file = $dir/moved.log|" "$dir/eligd.conf"
kill -HUP "$pid"
wait_for_line "$dir/moved.log" 'SIGHUP: facility registry .* reloaded' 10 || true
check "SIGHUP: the old log says where messages go now" \
    "SIGHUP: log-file changed in $dir/eligd.conf: messages go to $dir/moved.log from now" -- \
    cat "$dir/eligd.log"
check "SIGHUP: the log file changed, applied" \
    "SIGHUP: log-file changed in $dir/eligd.conf: applied" -- cat "$dir/moved.log"
check "SIGHUP: facility-rate applied" \
    "info SIGHUP: facility-rate changed in $dir/eligd.conf: applied" -- cat "$dir/moved.log"
check "SIGHUP: workers needs a restart" \
    "warn SIGHUP: workers changed in $dir/eligd.conf: needs a restart" -- cat "$dir/moved.log"
check "SIGHUP: the registry read again" 'SIGHUP: facility registry .* reloaded: 1 facilities' -- \
    cat "$dir/moved.log"
check "after SIGHUP eligd answers" 'valid' -- query

# a second SIGHUP with nothing changed: workers is still pending, nothing else
kill -HUP "$pid"
wait_for_line "$dir/moved.log" 'reloaded: 1 facilities' 10 || true
n=$(grep -c 'facility-rate changed' "$dir/moved.log" || true)
check "SIGHUP again: an applied change is not applied twice" '^1$' -- echo "$n"

# a bad file on SIGHUP: said, nothing changed, still serving
printf 'bogus = 1\n' >>"$dir/eligd.conf"
lines=$(wc -l <"$dir/eligd.conf")
kill -HUP "$pid"
wait_for_line "$dir/moved.log" 'nothing changed' 10 || true
check "SIGHUP with a bad file: refused with file:line, nothing changed" \
    "error SIGHUP: $dir/eligd.conf:$lines: bogus: unknown key .*: nothing changed" -- \
    cat "$dir/moved.log"
check "with a bad file eligd still answers" 'valid' -- query

check_stop
finish

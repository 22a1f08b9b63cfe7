#!/usr/bin/env bash
# Shared by the integration scripts: check NAME REGEX -- CMD..., check_exit
# NAME STATUS -- CMD..., finish (prints the tally, fails if any failed),
# scratch_dir NAME, with_scratch NAME, eligd_start ARGS..., check_stop, json KEY FILE and
# metric_sum FILE REGEX.
failures=0
checks=0

check() { # check NAME EXPECTED-REGEX -- COMMAND...
    local name=$1 want=$2 out rc
    shift 3
    checks=$((checks + 1))
    set +e
    out=$("$@" 2>&1)
    rc=$?
    set -e
    if ! grep -Eq -- "$want" <<<"$out"; then
        echo "FAIL: $name: wanted /$want/ (exit $rc), got:"
        sed 's/^/    /' <<<"$out"
        failures=$((failures + 1))
    fi
}

check_exit() { # check_exit NAME STATUS -- COMMAND...
    local name=$1 want=$2 rc
    shift 3
    checks=$((checks + 1))
    set +e
    "$@" >/dev/null 2>&1
    rc=$?
    set -e
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $name: exit $rc, wanted $want"
        failures=$((failures + 1))
    fi
}

finish() {
    echo "$((checks - failures)) passed, $failures failed"
    [ "$failures" -eq 0 ]
}

scratch_dir() { # scratch_dir NAME: a new directory in /dev/shm (segments) or /tmp
    local base=/tmp
    [ -w /dev/shm ] && base=/dev/shm
    mktemp -d "$base/$1-XXXXXX"
}

wait_for_line() { # wait_for_line FILE REGEX SECONDS: until a line of FILE matches (status 0) or time is up
    local pid rc
    exec 9< <(exec timeout "$3" tail -n +1 -F "$1" 2>/dev/null)
    pid=$!
    grep -m1 -qE "$2" <&9
    rc=$?
    kill "$pid" 2>/dev/null || true
    exec 9<&-
    return $rc
}

json() { # json KEY FILE: the number after "KEY": in a one-line JSON report
    grep -o "\"$1\":[0-9.]*" "$2" | head -1 | cut -d: -f2
}

with_scratch() { # with_scratch NAME: $dir, a new scratch directory, and $pid, for a server
    # the test starts; at exit that server gets SIGTERM and is waited for, and $dir goes
    dir=$(scratch_dir "$1")
    pid=
    trap 'if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$dir"' EXIT
}

eligd_start() { # eligd_start ARGS...: $ELIGD ARGS in the background, synchronised on its
    # ready line: sets $pid, $ready, $port and $mport (the metrics port, 0 without)
    rm -f "$dir/ready"
    mkfifo "$dir/ready"
    "${ELIGD:?}" "$@" >"$dir/ready" &
    pid=$!
    read -r -t 30 ready <"$dir/ready"
    port=${ready#*ready port=}
    port=${port%% *}
    mport=${ready#*metrics_port=}
    mport=${mport%% *}
}

check_stop() { # check_stop: SIGTERM to $pid, waited for; it must exit 0 (a check)
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    pid=
    check "SIGTERM: exit 0" '^0$' -- echo "$rc"
}

metric_sum() { # metric_sum FILE REGEX: the sum of the values of FILE's samples matching REGEX
    grep -E "$2" "$1" | awk '{ s += $NF } END { printf "%d\n", s }'
}

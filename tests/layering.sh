#!/usr/bin/env bash
# The layers, checked on the sources: index/ includes nothing of server/,
# loadgen/ or bench/; server/ nothing of loadgen/ or bench/; loadgen/ and
# bench/ reach server/ only through the client library's public headers
# (client_headers in server/meson.build: the codec, the client core and the
# blocking client, the datagram client, TLS, the facility key, the error
# names); the client library itself (client_sources, client_dpdk_sources)
# includes no header of the server's. A header is placed by the directory
# that holds it.
set -euo pipefail
root=${ELIG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root"
# list NAME: the file names of server/meson.build's files() list NAME, as headers
list() {
    awk -v n="$1" '$0 ~ "^" n " = files\\(" { on = 1 } on { print } on && /\)/ { on = 0 }' \
        server/meson.build | grep -o "'[a-z_]*\\.[ch]'" | tr -d "'" | sed 's/\.c$/.h/' | tr '\n' ' '
}
public=$(list client_headers)
client="$(list client_sources)$(list client_dpdk_sources)"
[ -n "$public" ] && [ -n "$client" ] ||
    { echo "FAIL: client_headers or client_sources not found in server/meson.build"; exit 1; }
failures=0

where() { # where HEADER: the directory holding it, or "-" (system, generated)
    local d
    for d in index server loadgen bench; do
        [ -f "$d/$1" ] && echo "$d" && return
    done
    echo -
}

# check DIR FORBIDDEN...: no file of DIR includes a header of a FORBIDDEN directory
check() {
    local dir=$1 f h at
    shift
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -f "$f" ] || continue
        while read -r h; do
            at=$(where "$h")
            for bad in "$@"; do
                if [ "$at" = "$bad" ]; then
                    if [ "$bad" = server ] && [[ " $public " == *" $h "* ]]; then
                        continue
                    fi
                    echo "FAIL: $f includes $at/$h"
                    failures=$((failures + 1))
                fi
            done
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
    done
}

check index server loadgen bench
check server loadgen bench
check loadgen server bench
check bench server

# the client library's own files include, of server/, only each other
for h in $client; do
    for f in "server/$h" "server/${h%.h}.c"; do
        [ -f "$f" ] || continue
        while read -r inc; do
            if [ "$(where "$inc")" = server ] && [[ " $client " != *" $inc "* ]]; then
                echo "FAIL: $f (client library) includes server/$inc"
                failures=$((failures + 1))
            fi
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
    done
done

# and the load generator and the benchmarks link no server library
if [ -n "${ELIG_BUILD_ROOT:-}" ]; then
    for prog in elig-loadgen elig-bench; do
        libs=$(awk -v t="build $prog:" 'index($0, t) == 1' "$ELIG_BUILD_ROOT/build.ninja" |
            grep -o 'lib[a-z]*\.a' | sort -u | tr '\n' ' ')
        if [ -z "$libs" ] || [[ " $libs" == *" libeligsrv.a "* ]] || [[ " $libs" == *" libeligdpdk.a "* ]]; then
            echo "FAIL: $prog links: ${libs:-nothing found}"
            failures=$((failures + 1))
        fi
    done
fi
echo "layering: $failures violation(s)"
[ "$failures" -eq 0 ]

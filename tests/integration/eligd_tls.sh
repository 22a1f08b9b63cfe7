#!/usr/bin/env bash
# TLS on the facility port end to end: a CA made with eligctl, eligd's
# certificate, facilities' certificates (issued, and signed from a
# facility's own request); eligd serving the sample feed over TLS 1.3 with
# client certificates. A check over TLS answers exactly what the same check
# over plaintext answers; a certificate of another CA, a plaintext client,
# a facility the registry does not know, a revoked facility are refused and
# counted, and eligd goes on answering the others; its log says why without
# personal data. Refused before anything is written: a non-loopback address
# without TLS, a missing certificate file.
set -euo pipefail
eligctl=${ELIGCTL:?set ELIGCTL to the eligctl binary}
eligd=${ELIGD:?set ELIGD to the eligd binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-tls)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT
data=$dir/data
feed=${ELIG_SOURCE_ROOT:?}/docs/examples/sample.feed

# ---- the CA and the certificates
check "ca init" 'CA made in .*/ca: ca.key \(mode 0600' -- "$eligctl" ca init --dir "$dir/ca"
check "the CA key is 0600" '^600$' -- stat -c %a "$dir/ca/ca.key"
check "ca init twice: refused" 'already there \(never overwritten\)' -- \
    "$eligctl" ca init --dir "$dir/ca"
check "eligd's certificate" 'server certificate for 127.0.0.1' -- \
    "$eligctl" ca server --dir "$dir/ca" --name 127.0.0.1 --key-out "$dir/server.key" \
    --cert-out "$dir/server.crt"
check "a facility with its certificate" 'TLS key .*/certs/1310000001.key \(mode 0600\) and certificate' -- \
    "$eligctl" facility add 1310000001 --type clinic --data "$data" --key-out "$dir/clinic.key" \
    --ca "$dir/ca" --cert-out "$dir/certs"
"$eligctl" facility add 1340000002 --type pharmacy --data "$data" --key-out "$dir/pharm.key" \
    --ca "$dir/ca" --cert-out "$dir/certs" >/dev/null
# a facility that makes its own key and request; the CA signs it
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=2730000006 \
    -keyout "$dir/dental.key" -out "$dir/dental.csr" 2>/dev/null
"$eligctl" facility add 2730000006 --type dental --data "$data" --key-out "$dir/dental.hmac" \
    >/dev/null
check "sign: a request for another code is refused" 'the request is not one' -- \
    "$eligctl" facility sign 1310000001 --data "$data" --ca "$dir/ca" --csr "$dir/dental.csr" \
    --cert-out "$dir/wrong.crt"
check "sign: the facility's own request" 'facility 2730000006: certificate' -- \
    "$eligctl" facility sign 2730000006 --data "$data" --ca "$dir/ca" --csr "$dir/dental.csr" \
    --cert-out "$dir/dental.crt"
# another CA, with a certificate for the same code
"$eligctl" ca init --dir "$dir/rogue" >/dev/null
# our CA's certificate for a code eligd's registry does not hold (registered elsewhere)
"$eligctl" facility add 1310000009 --type clinic --registry "$dir/elsewhere" \
    --ca "$dir/ca" --cert-out "$dir/unregistered" >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=1310000001 \
    -keyout "$dir/rogue/clinic.key" -out "$dir/rogue/clinic.csr" 2>/dev/null
openssl x509 -req -in "$dir/rogue/clinic.csr" -CA "$dir/rogue/ca.crt" -CAkey "$dir/rogue/ca.key" \
    -CAcreateserial -days 30 -out "$dir/rogue/clinic.crt" 2>/dev/null

# ---- refused before anything is written
check "a public address without TLS: refused" 'is not a loopback address: .*--plaintext' -- \
    "$eligd" --data "$dir/pub" --segment "$dir/pub.seg" --listen 0.0.0.0:0
check "a missing certificate file: refused, named" '^eligd: TLS: certificate .*/none.crt: No such file' -- \
    "$eligd" --data "$dir/pub" --segment "$dir/pub.seg" --tls-cert "$dir/none.crt" \
    --tls-key "$dir/server.key" --tls-ca "$dir/ca/ca.crt"
check "a key that is not the certificate's: refused" '^eligd: TLS: key .*/1310000001.key: key values mismatch' -- \
    "$eligd" --data "$dir/pub" --segment "$dir/pub.seg" --tls-cert "$dir/server.crt" \
    --tls-key "$dir/certs/1310000001.key" --tls-ca "$dir/ca/ca.crt"
check_exit "nothing was written" 1 -- test -e "$dir/pub"

# ---- eligd over TLS, and a plaintext eligd on the same index for comparison
"$eligctl" append --data "$data" --segment "$dir/index.seg" --capacity 1000 "$feed" >/dev/null
start() { # start NAME ARGS...: eligd in the background; its port in $port
    local name=$1
    shift
    mkfifo "$dir/$name.ready"
    "$eligd" "$@" --listen 127.0.0.1:0 --log-file "$dir/$name.log" >"$dir/$name.ready" &
    pids+=($!)
    read -r -t 30 ready <"$dir/$name.ready"
    port=${ready#*port=}
    port=${port%% *}
}
start tls --data "$data" --segment "$dir/index.seg" --tls-cert "$dir/server.crt" \
    --tls-key "$dir/server.key" --tls-ca "$dir/ca/ca.crt" --frame-timeout-ms 1000
tport=$port
start plain --attach "$dir/index.seg" --trust-network --no-audit
pport=$port

tls=(--tls-cert "$dir/certs/1310000001.crt" --tls-key "$dir/certs/1310000001.key"
    --tls-ca "$dir/ca/ca.crt")
person=(--insurer 01130012 --symbol 1234 --number 56 --birth 1980-05-10 --date 2025-02-10)
"$eligctl" query --server 127.0.0.1:$tport --facility 1310000001 "${tls[@]}" "${person[@]}" \
    >"$dir/over-tls.txt"
"$eligctl" query --server 127.0.0.1:$pport --facility 1310000001 "${person[@]}" \
    | grep -v '^reference' >"$dir/plain.txt"
check "over TLS: answered" '^validity: 1 valid' -- cat "$dir/over-tls.txt"
check "over TLS: the same answer as plaintext" '^same$' -- sh -c \
    "grep -v '^reference' '$dir/over-tls.txt' | cmp -s - '$dir/plain.txt' && echo same"
check "a facility's own key (signed request): answered" '^validity' -- \
    "$eligctl" query --server 127.0.0.1:$tport --facility 2730000006 --tls-cert "$dir/dental.crt" \
    --tls-key "$dir/dental.key" --tls-ca "$dir/ca/ca.crt" --card 00000000000A1001 --date 2025-03-01
check "ping over TLS" '^pong' -- "$eligctl" ping --server 127.0.0.1:$tport "${tls[@]}"

# ---- on the wire: a capture of the loopback during a check holds none of its personal data
# over TLS, and (so that the check can fail) all of it over plaintext
capture() { # capture PORT FILE COMMAND...: the packets of PORT while COMMAND runs
    local port=$1 file=$2 tdpid line
    shift 2
    rm -f "$dir/td.fifo"
    mkfifo "$dir/td.fifo"
    tcpdump -i lo -U --immediate-mode -n -Z root -w "$file" "tcp port $port" 2>"$dir/td.fifo" &
    tdpid=$!
    exec 5<"$dir/td.fifo"
    read -r -t 10 line <&5 # "listening on lo ...": capturing from now on
    "$@" >/dev/null
    "$@" >/dev/null # twice: by the end of the second, the first's packets are all written
    kill -TERM "$tdpid"
    wait "$tdpid" || true
    exec 5<&-
}
holds() { # holds FILE BYTES: whether FILE holds BYTES (perl escapes; across newline bytes too)
    perl -0777 -ne "exit(index(\$_, \"$2\") < 0)" "$1"
}
secrets() { # secrets FILE: which of the check's personal data FILE holds, as bytes
    local found=()
    grep -qaF '01130012' "$1" && found+=(insurer-number)
    grep -qaF '1234' "$1" && found+=(symbol)
    holds "$1" '\xbe\x21\x2e\x01' && found+=(birth-date) # 19800510 as a u32
    holds "$1" '\x01\x10\x0a\x00\x00\x00\x00\x00' && found+=(card-id) # 00000000000A1001
    grep -qaF "$(sed -n 's/^ *name: *\([^ ]*\).*/\1/p' "$dir/plain.txt" | head -1)" "$1" &&
        found+=(name) # the family name, in kanji
    echo "${found[*]:-none}"
}
both_checks() { # both_checks PORT [OPTIONS...]: a check by number, then one by card
    local port=$1
    shift
    "$eligctl" query --server 127.0.0.1:$port --facility 1310000001 "$@" "${person[@]}" &&
        "$eligctl" query --server 127.0.0.1:$port --facility 1310000001 "$@" \
            --card 00000000000A1001 --date 2025-02-10
}
capture $tport "$dir/tls.pcap" both_checks $tport "${tls[@]}"
check "a capture of a check over TLS: packets taken" '^[1-9]' -- \
    sh -c "tcpdump -Z root -r '$dir/tls.pcap' 2>/dev/null | wc -l"
check "a capture of a check over TLS: no personal data" '^none$' -- secrets "$dir/tls.pcap"
capture $pport "$dir/plain.pcap" both_checks $pport
check "the same checks in plaintext: all of it" '^insurer-number symbol birth-date card-id name$' -- \
    secrets "$dir/plain.pcap"

# ---- refusals; each one counted, and eligd goes on
check "a certificate of another CA: refused" 'TLS|closed the connection' -- \
    "$eligctl" query --server 127.0.0.1:$tport --facility 1310000001 \
    --tls-cert "$dir/rogue/clinic.crt" --tls-key "$dir/rogue/clinic.key" \
    --tls-ca "$dir/ca/ca.crt" "${person[@]}"
# certificates of eligd's own CA outside their validity, made with openssl ca (eligctl never
# issues one)
mkdir "$dir/ossl"
touch "$dir/ossl/index.txt"
echo 01 >"$dir/ossl/serial"
printf '[ca]\ndefault_ca = d\n[d]\ndatabase = %s\nserial = %s\nnew_certs_dir = %s\ndefault_md = sha256\nunique_subject = no\npolicy = p\n[p]\ncommonName = supplied\n' \
    "$dir/ossl/index.txt" "$dir/ossl/serial" "$dir/ossl" >"$dir/ossl/ca.cnf"
dated() { # dated NAME START END: CODE 1310000001's certificate valid from START to END
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=1310000001 \
        -keyout "$dir/$1.key" -out "$dir/$1.csr" 2>/dev/null
    openssl ca -batch -config "$dir/ossl/ca.cnf" -cert "$dir/ca/ca.crt" -keyfile "$dir/ca/ca.key" \
        -in "$dir/$1.csr" -out "$dir/$1.crt" -startdate "$2" -enddate "$3" >/dev/null 2>&1
}
dated expired 20200101000000Z 20200201000000Z
dated early 20990101000000Z 20991231000000Z
# (the client hears why in the alert; eligd's log is limited to a line a second)
for c in "expired:alert certificate expired" "early:alert bad certificate"; do
    check "a certificate ${c%%:*}: refused with its alert" "TLS: .*${c#*:}" -- \
        "$eligctl" query --server 127.0.0.1:$tport --facility 1310000001 \
        --tls-cert "$dir/${c%%:*}.crt" --tls-key "$dir/${c%%:*}.key" --tls-ca "$dir/ca/ca.crt" \
        "${person[@]}"
done
check "a plaintext client on the TLS port: refused" 'eligctl: ping: ' -- \
    "$eligctl" ping --server 127.0.0.1:$tport
check "the server's certificate for another name: refused by the client" 'TLS: .*mismatch' -- \
    "$eligctl" ping --server localhost:$tport "${tls[@]}"
check "a facility the registry does not know: refused" 'unauthenticated|closed the connection' -- \
    "$eligctl" query --server 127.0.0.1:$tport --facility 1310000009 \
    --tls-cert "$dir/unregistered/1310000009.crt" --tls-key "$dir/unregistered/1310000009.key" \
    --tls-ca "$dir/ca/ca.crt" "${person[@]}"
# a live TLS connection of the facility about to be revoked: admitted (a PING answered)
mkfifo "$dir/live.in"
openssl s_client -connect 127.0.0.1:$tport -alpn eligd/1 -quiet -CAfile "$dir/ca/ca.crt" \
    -cert "$dir/certs/1340000002.crt" -key "$dir/certs/1340000002.key" \
    <"$dir/live.in" >"$dir/live.out" 2>/dev/null &
spid=$!
pids+=($spid)
exec 7>"$dir/live.in"
printf 'EL\001\001\000\000\000\000\007\000\000\000\000\000\000\000' >&7 # PING, id 7
check "a live TLS connection: its PING answered" '^answered$' -- \
    bash -c "$(declare -f wait_for_line); wait_for_line '$dir/live.out' 'EL' 10 && echo answered"
check "a revoked facility" 'facility 1340000002 revoked' -- \
    "$eligctl" facility revoke 1340000002 --data "$data"
check "revoking closed its live connection" '^closed$' -- \
    sh -c "timeout 10 tail --pid=$spid -f /dev/null && echo closed"
exec 7>&-
check "and said so" 'facility 1340000002 revoked: its connection is closed' -- cat "$dir/tls.log"
check "a revoked facility's certificate: refused" 'unauthenticated|closed the connection' -- \
    "$eligctl" query --server 127.0.0.1:$tport --facility 1340000002 \
    --tls-cert "$dir/certs/1340000002.crt" --tls-key "$dir/certs/1340000002.key" \
    --tls-ca "$dir/ca/ca.crt" "${person[@]}"
closed_within() { # closed_within SECONDS [BYTES]: eligd closes a raw connection sending BYTES
    exec 3<>/dev/tcp/127.0.0.1/$tport
    [ -n "${2:-}" ] && printf '%s' "$2" >&3
    timeout "$1" cat <&3 >/dev/null 2>&1 && echo closed || echo "still open"
    exec 3<&-
}
check "a handshake that stalls: closed (frame timeout)" '^closed$' -- closed_within 10
check "garbage instead of a ClientHello: closed" '^closed$' -- \
    closed_within 5 $'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
check "one facility's certificate, another's code in the frames: refused" 'answered bad-facility' -- \
    "$eligctl" query --server 127.0.0.1:$tport --facility 2730000006 "${tls[@]}" "${person[@]}"
check "a client that ends TLS (close_notify) after its handshake" 'Verify return code: 0' -- \
    sh -c "openssl s_client -connect 127.0.0.1:$tport -alpn eligd/1 -CAfile '$dir/ca/ca.crt' \
        -cert '$dir/certs/1310000001.crt' -key '$dir/certs/1310000001.key' </dev/null 2>&1"
check "and the others are still answered" '^validity: 1 valid' -- \
    "$eligctl" query --server 127.0.0.1:$tport --facility 1310000001 "${tls[@]}" "${person[@]}"
# a renewed server certificate: put in place, SIGHUP, served to new connections
serial() { # the serial number of the certificate eligd serves now
    { openssl s_client -connect 127.0.0.1:$tport -alpn eligd/1 </dev/null 2>/dev/null || true; } |
        openssl x509 -noout -serial
}
before=$(serial)
check "the served certificate is eligd's" '^serial=' -- echo "$before"
"$eligctl" ca server --dir "$dir/ca" --name 127.0.0.1 --key-out "$dir/server2.key" \
    --cert-out "$dir/server2.crt" >/dev/null
mv "$dir/server2.key" "$dir/server.key"
mv "$dir/server2.crt" "$dir/server.crt"
kill -HUP "${pids[0]}"
wait_for_line "$dir/tls.log" 'SIGHUP: TLS' 10 || true
check "SIGHUP: the TLS files reloaded (logged)" 'SIGHUP: TLS certificate .* reloaded' -- \
    cat "$dir/tls.log"
after=$(serial)
check "SIGHUP: new connections get the renewed certificate" '^renewed$' -- \
    sh -c "[ -n '$after' ] && [ '$after' != '$before' ] && echo renewed"
check "SIGHUP: and are answered" '^validity: 1 valid' -- \
    "$eligctl" query --server 127.0.0.1:$tport --facility 1310000001 "${tls[@]}" "${person[@]}"

# a handshake flood: one source may start 2 at once (--tls-handshake-rate 1, burst 2), and a
# worker holds at most 3 in progress; the others are closed at accept, before any TLS work
start flood --attach "$dir/index.seg" --trust-network --workers 1 --tls-cert "$dir/server.crt" \
    --tls-key "$dir/server.key" --tls-ca "$dir/ca/ca.crt" --tls-handshake-rate 1 \
    --tls-handshakes 3
fport=$port
exec 6<>/dev/tcp/127.0.0.1/$fport 7<>/dev/tcp/127.0.0.1/$fport 8<>/dev/tcp/127.0.0.1/$fport
check "flood: the third handshake from one source is closed at once" '^closed$' -- \
    sh -c 'timeout 5 cat <&8 >/dev/null && echo closed'
check "flood: the first two wait for their handshakes" '^still open$' -- \
    sh -c 'timeout 1 cat <&6 >/dev/null && echo closed || echo "still open"'
exec 6<&- 7<&- 8<&-
check "flood: counted" '^tls_refused +[1-9]' -- \
    "$eligctl" server-stats --server 127.0.0.1:$fport "${tls[@]}"

stats() { "$eligctl" server-stats --server 127.0.0.1:$tport "${tls[@]}"; }
check "handshakes counted" '^tls_handshakes +([4-9]|[1-9][0-9]+)$' -- stats
check "refusals counted" '^tls_refused +([3-9]|[1-9][0-9]+)$' -- stats
check "the stalled one counted" '^frames_timed_out +[1-9]' -- stats
check "the log says why, once a second at most" 'TLS connection refused: ' -- cat "$dir/tls.log"
check_exit "no names in the log" 1 -- grep -E '佐藤|鈴木|高橋|1980-05-10' "$dir/tls.log"
finish

#!/usr/bin/env bash
# elig-bench server end to end, briefly: eligd (plain; --secure, whose
# connections authenticate through the client core's handshake after eligctl
# registered the benchmark's facility; --tls, TLS 1.3 with certificates
# eligctl made) and redis when it is installed, each answering every
# workload; nothing of the run is left in its directories.
set -euo pipefail
bench=${ELIG_BENCH:?set ELIG_BENCH to the elig-bench binary}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(scratch_dir elig-bench-server)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/shm" "$dir/audit"
peers=none
command -v redis-server >/dev/null && peers=redis

"$bench" server --records 20000 --peers $peers --secure --tls --seconds 0.2 --runs 1 \
    --connections 4 --dir "$dir/shm" --audit-dir "$dir/audit" --json >"$dir/out.json" \
    2>"$dir/err" || { cat "$dir/err"; exit 1; }
rows() { # rows SYSTEM: its result rows with a positive rate
    grep -o "\"system\":\"$1\",[^}]*" "$dir/out.json" | grep -vc '"requests_per_s":0,' || true
}
check "eligd answers depth 1, 16 and BATCH" '^3$' -- rows eligd
check "eligd-secure (HELLO/AUTH, audit) answers depth 1 and 16" '^2$' -- rows eligd-secure
check "eligd-tls answers depth 1, 16 and BATCH" '^3$' -- rows eligd-tls
if [ $peers = redis ]; then
    check "redis answers depth 1 and 16" '^2$' -- rows redis
fi
check "the run left no file (segment, registry, key, certificates, audit log)" '^$' -- \
    find "$dir/shm" "$dir/audit" -mindepth 1

# elig-bench tls: handshakes between the client core's TLS and eligd's, in memory
"$bench" tls --seconds 0.2 --runs 1 --dir "$dir/shm" --json >"$dir/tls.json" 2>"$dir/err" ||
    { cat "$dir/err"; exit 1; }
check "tls: handshakes made" '"server_per_s":[1-9]' -- cat "$dir/tls.json"
check "tls: the resumed ones resumed" '"handshake":"resumed","pairs_per_s":[1-9][0-9]*,"server_per_s":[1-9][0-9]*,"resumed_share":1.000' -- cat "$dir/tls.json"
check "tls: its CA and certificates removed" '^$' -- find "$dir/shm" -mindepth 1
finish

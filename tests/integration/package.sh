#!/usr/bin/env bash
# The Debian package: scripts/package builds it from a clone of the
# committed tree, lintian finds no errors, it holds the binaries, the unit,
# the configuration and the man pages; installed with dpkg -i it makes the
# eligd user and its directories, systemd-analyze accepts its unit, and
# eligd started as that user with the packaged configuration answers; then
# it is purged and the machine left as it was. Skipped (77) where dpkg -i is
# not allowed: not root, or an eligd package already installed (an
# operator's, not to be touched).
set -euo pipefail
root=${ELIG_SOURCE_ROOT:?set ELIG_SOURCE_ROOT to the source tree}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "package: not root: dpkg -i is not allowed here (skipped)"
    exit 77
fi
if dpkg-query -W -f='${Status}' eligd 2>/dev/null | grep -q 'install ok installed'; then
    echo "package: an eligd package is installed already: not touched (skipped)"
    exit 77
fi
had_user=0
getent passwd eligd >/dev/null && had_user=1

dir=$(mktemp -d /tmp/elig-package-XXXXXX)
pid=
installed=0
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    if [ "$installed" = 1 ]; then
        dpkg --purge eligd >/dev/null 2>&1 || true
        rm -rf /var/lib/eligd /dev/shm/eligd.seg
        [ "$had_user" = 1 ] || userdel eligd 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

# ---- built from a clone (what is committed), checked by lintian inside
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    git clone -q "$root" "$dir/src"
else
    cp -a "$root" "$dir/src"
fi
check "scripts/package builds it, lintian without errors" 'package: lintian: no errors' -- \
    "$dir/src/scripts/package" --out "$dir/out"
deb=$(ls "$dir"/out/eligd_*_*.deb)
contents=$(dpkg -c "$deb")
for f in ./usr/sbin/eligd ./usr/bin/eligctl ./usr/bin/elig-loadgen ./usr/bin/elig-bench \
    ./lib/systemd/system/eligd.service ./etc/eligd/eligd.conf ./usr/share/man/man8/eligd.8.gz \
    ./usr/share/man/man1/eligctl.1.gz ./usr/share/man/man1/elig-loadgen.1.gz \
    ./usr/share/man/man1/elig-bench.1.gz ./usr/share/doc/eligd/copyright \
    ./usr/share/doc/eligd/examples/hugepages.conf ./usr/share/doc/eligd/operations.md; do
    check "the package holds $f" " $f\$" -- echo "$contents"
done
check "the configuration is a conffile" '^/etc/eligd/eligd.conf$' -- dpkg-deb -I "$deb" conffiles
check "its files are root's" '^$' -- sh -c "dpkg -c '$deb' | grep -v ' root/root '"

# ---- installed
check "dpkg -i installs it" 'Setting up eligd' -- dpkg -i "$deb"
installed=1
check "the eligd user exists" '^eligd:' -- getent passwd eligd
check "its store directory is the user's, 0700" '^eligd 700$' -- stat -c '%U %a' /var/lib/eligd
check "eligd is on the path of root" '^eligd [0-9]' -- /usr/sbin/eligd --version
check "its man page reads" 'eligd - the eligibility server' -- sh -c 'man -P cat eligd 2>/dev/null'
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze accepts the unit" '^ok$' -- sh -c \
        'systemd-analyze verify --man=no /lib/systemd/system/eligd.service && echo ok'
fi
check "the packaged configuration checks out" '^data = /var/lib/eligd$' -- \
    setpriv --reuid eligd --regid eligd --init-groups /usr/sbin/eligd \
    --config /etc/eligd/eligd.conf --check-config

# ---- started as the eligd user with the packaged configuration (any free port)
mkfifo "$dir/ready"
chmod 0755 "$dir"
setpriv --reuid eligd --regid eligd --init-groups /usr/sbin/eligd --config /etc/eligd/eligd.conf \
    --listen 127.0.0.1:0 >"$dir/ready" 2>"$dir/eligd.err" &
pid=$!
ready=
read -r -t 30 ready <"$dir/ready" || true
port=${ready#*port=}
port=${port%% *}
check "eligd of the package starts" '^eligd: ready port=[0-9]+' -- echo "$ready"
check "and answers" 'pong|alive|ok' -- /usr/bin/eligctl ping --server "127.0.0.1:$port"
check "its store is in /var/lib/eligd" '^eligd$' -- stat -c %U /var/lib/eligd/log
check_stop
finish

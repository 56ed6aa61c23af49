#!/usr/bin/env bash
# Run apt-get/apt-cache against Debian trixie without touching the system's
# sources: a private apt config dir under $HANTRO_CACHE/trixie-apt.
# Usage: scripts/trixie-apt.sh apt-get download linux-libc-dev
set -euo pipefail
CACHE=${HANTRO_CACHE:-$HOME/.cache/hantro}
ARCH=${TRIXIE_ARCH:-amd64}
D=$CACHE/trixie-apt-$ARCH
here=$(cd "$(dirname "$0")" && pwd)
# the Debian mirror this machine's apt uses (or $GUEST_MIRROR)
MIRROR=$("$here/apt-mirror.sh")
mkdir -p "$D"/{lists/partial,archives/partial,etc/preferences.d,etc/apt.conf.d}
src="deb [arch=$ARCH signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main"
# another mirror than last time: fetch the lists again
[ "$(cat "$D/etc/sources.list" 2>/dev/null)" = "$src" ] || rm -f "$D/lists/.updated"
echo "$src" > "$D/etc/sources.list"
: > "$D/status"
opts=(-o Dir::Etc="$D/etc" -o Dir::Etc::sourcelist="$D/etc/sources.list"
      -o Dir::Etc::sourceparts=- -o Dir::State="$D" -o Dir::State::lists="$D/lists"
      -o Dir::State::status="$D/status" -o Dir::Cache="$D"
      -o Dir::Cache::archives="$D/archives" -o APT::Architecture="$ARCH"
      -o APT::Architectures::="$ARCH" -o Debug::NoLocking=1)
if [ ! -e "$D/lists/.updated" ] || [ -n "$(find "$D/lists/.updated" -mmin +1440 2>/dev/null)" ]; then
  apt-get "${opts[@]}" -q update >&2
  touch "$D/lists/.updated"
fi
tool=$1; shift
exec "$tool" "${opts[@]}" "$@"

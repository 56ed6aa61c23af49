#!/usr/bin/env bash
# The one place that installs host (Debian) packages: every setup script
# calls it with the packages it needs. Installs only what dpkg does not
# already list as installed; runs apt-get through sudo when not root;
# messages go to stderr (callers may print shell exports on stdout).
#
# Usage: scripts/host-install.sh WHO PACKAGE...   (WHO names the caller in messages)
# Env:   HOST_INSTALL_UPDATE_SOFT=1: a failing `apt-get update` only warns
#        (a third-party source without indices for a foreign architecture);
#        a real problem then shows up in the install.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 WHO PACKAGE..." >&2; exit 2; }
who=$1; shift
# one install at a time (scripts/test-all.sh runs tests in parallel lanes;
# apt-get fails, not waits, on dpkg's lock); the check is repeated under
# the lock, so a package another caller just installed is not installed again
exec 9>"${TMPDIR:-/tmp}/hantro-host-install.lock"
flock 9
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo_=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "$who: missing host packages: ${missing[*]} (run as root, or apt-get install them)" >&2; exit 1; }
  sudo_=(sudo)
fi
echo "$who: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if [ "${HOST_INSTALL_UPDATE_SOFT:-0}" = 1 ]; then
  "${sudo_[@]}" apt-get update -q >&2 || echo "$who: apt-get update reported errors" >&2
else
  "${sudo_[@]}" apt-get update -q >&2
fi
"${sudo_[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2

#!/usr/bin/env bash
# Host packages the benchmarks need on top of scripts/setup-host.sh
# (which provides ffmpeg, mpv, GStreamer, libva): valgrind (callgrind, DHAT)
# and perf (task-clock). Idempotent: installs only what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/setup-host.sh"
pkgs=(valgrind linux-perf time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

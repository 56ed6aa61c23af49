#!/usr/bin/env bash
# Host packages the benchmarks need on top of scripts/setup-host.sh
# (which provides ffmpeg, mpv, GStreamer, libva): valgrind (callgrind, DHAT)
# and perf (task-clock). Idempotent: installs only what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/setup-host.sh"
pkgs=(valgrind linux-perf time)
"$here/host-install.sh" bench-setup "${pkgs[@]}"

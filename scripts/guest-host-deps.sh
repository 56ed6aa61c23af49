#!/usr/bin/env bash
# The host tools the test guests need (Debian host): debootstrap, qemu
# (TCG), a static busybox, cpio, xz, file, ffmpeg (corpus), flock.
# Installed through scripts/host-install.sh when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/host-install.sh" guest-host-deps qemu-system-x86 debootstrap busybox-static cpio xz-utils file ffmpeg util-linux

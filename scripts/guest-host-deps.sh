#!/usr/bin/env bash
# Make sure the host tools the test guest needs are installed (Debian host):
# debootstrap, qemu (TCG), a static busybox, cpio, xz, file, ffmpeg+libx264.
# Installs missing ones with apt-get when running as root; otherwise says
# what is missing and fails.
set -euo pipefail
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
command -v file >/dev/null || need+=(file)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v flock >/dev/null || need+=(util-linux)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "guest-host-deps: missing host packages: ${need[*]} (run as root or apt-get install them)" >&2
  exit 1
fi
echo "guest-host-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -q update >&2 || true
apt-get -q -y install --no-install-recommends "${need[@]}" >&2

#!/usr/bin/env bash
# Print the directory that contains linux/videodev2.h from Debian trixie's
# linux-libc-dev (kernel 6.12 uAPI: AV1, current stateless controls), fetching
# and unpacking it once into the cache. Bookworm's own headers are 6.1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${HANTRO_CACHE:-$HOME/.cache/hantro}
ARCH=${TRIXIE_ARCH:-amd64}
out=$CACHE/uapi-$ARCH
case "$ARCH" in
  amd64) triplet=x86_64-linux-gnu ;;
  arm64) triplet=aarch64-linux-gnu ;;
  *) echo "uapi-headers: unsupported arch $ARCH" >&2; exit 2 ;;
esac
# asm/ioctl.h must resolve: the package's per-triplet asm dirs are links
if [ ! -e "$out/include/linux/videodev2.h" ] || [ ! -e "$out/include/asm/ioctl.h" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && "$here/trixie-apt.sh" apt-get -q download "linux-libc-dev:$ARCH" >&2)
  rm -rf "$out.new"; mkdir -p "$out.new"
  dpkg-deb -x "$tmp"/linux-libc-dev_*.deb "$out.new/root"
  mkdir -p "$out.new/include"
  for d in linux asm-generic drm misc mtd rdma scsi sound video xen; do
    [ -d "$out.new/root/usr/include/$d" ] && cp -a "$out.new/root/usr/include/$d" "$out.new/include/"
  done
  # asm/ of this architecture only: links into usr/lib/linux/uapi, so
  # dereference them (-L) while the unpacked tree is still there
  cp -rL "$out.new/root/usr/include/$triplet/asm" "$out.new/include/asm"
  rm -rf "$out.new/root" "$tmp" "$out"
  mv "$out.new" "$out"
fi
# v4l2r's build script watches <dir>/videodev2.h; without this link it would
# rerun (and rebuild everything after it) on every build.
[ -e "$out/include/videodev2.h" ] || ln -s linux/videodev2.h "$out/include/videodev2.h"
echo "$out/include"

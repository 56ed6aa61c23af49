#!/usr/bin/env bash
# Print the directory that contains linux/videodev2.h from Debian trixie's
# linux-libc-dev (kernel 6.12 uAPI: AV1, current stateless controls), fetching
# and unpacking it once into the cache. Bookworm's own headers are 6.1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${HANTRO_CACHE:-$HOME/.cache/hantro}
ARCH=${TRIXIE_ARCH:-amd64}
out=$CACHE/uapi-$ARCH
if [ ! -e "$out/include/linux/videodev2.h" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && "$here/trixie-apt.sh" apt-get -q download "linux-libc-dev:$ARCH" >&2)
  rm -rf "$out.new"; mkdir -p "$out.new"
  dpkg-deb -x "$tmp"/linux-libc-dev_*.deb "$out.new/root"
  mkdir -p "$out.new/include"
  cp -a "$out.new/root/usr/include/." "$out.new/include/"
  # arch-specific asm headers live in the multiarch dir; fold them in
  for d in "$out.new/root/usr/include/"*-linux-gnu*; do
    [ -d "$d" ] && cp -a "$d/." "$out.new/include/"
  done
  rm -rf "$out.new/root" "$tmp" "$out"
  mv "$out.new" "$out"
fi
# v4l2r's build script watches <dir>/videodev2.h; without this link it would
# rerun (and rebuild everything after it) on every build.
[ -e "$out/include/videodev2.h" ] || ln -s linux/videodev2.h "$out/include/videodev2.h"
echo "$out/include"

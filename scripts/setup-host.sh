#!/usr/bin/env bash
# Installs what building and testing needs on a fresh Debian bookworm host
# (Rust, gcc, python are assumed): Debian packages, and trixie's 6.12 uAPI
# headers in the cache (scripts/uapi-headers.sh), linked as target/uapi.
# Idempotent: installs only what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
pkgs=(
  # build: libva headers for bindgen, libclang for bindgen, pkg-config
  libva-dev libclang-dev clang pkg-config libdrm-dev
  # simulator: Debian's FFmpeg libraries
  libavcodec-dev libavutil-dev libavformat-dev libswscale-dev
  # host VA clients and references
  ffmpeg vainfo mpv xvfb xauth gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  # real-kernel plane: trixie guest under QEMU/TCG
  debootstrap qemu-system-x86 busybox-static zstd cpio bc kmod file
  # simulator: v4l2-compliance cross-check
  v4l-utils
  # packages (tests/packages.rs): dpkg-buildpackage + debhelper, and
  # Debian's makepkg for the Arch package (bsdtar, zstd packages)
  dpkg-dev debhelper fakeroot makepkg libarchive-tools
  # makepkg 6.0 exits at start (ERR trap) when `type -P pacman` finds nothing,
  # even with --nodeps
  pacman-package-manager
  # memory-error checks (tests/memcheck.rs)
  valgrind
)
"$here/host-install.sh" setup-host "${pkgs[@]}"
"$here/uapi-link.sh"

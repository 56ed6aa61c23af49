#!/usr/bin/env bash
# Builds the Arch Linux package hantro-drv-video-<ver>-<rel>-<arch>.pkg.tar.zst
# from this checkout with makepkg (packaging/arch/PKGBUILD), on a Debian host
# (package makepkg), into an output directory:
#
#   scripts/package-arch.sh [x86_64|aarch64] [OUTDIR]   (default: the
#                                      machine's architecture, target/packages)
#
# aarch64 on x86_64 is a cross build (CARCH=aarch64; PKGBUILD then uses
# scripts/aarch64-setup.sh's cross environment, target/aarch64). makepkg's strip is binutils'
# plain `strip`, which on Debian knows only x86 objects: for the cross build
# a directory put first in PATH makes `strip` aarch64-linux-gnu-strip.
#
# makepkg refuses to run as root (pacman 6.0 has no option or variable to
# allow it; --asroot went in 4.2). As root, this script runs it in a user
# namespace where it is uid/gid 1000 (unshare --map-user): the files it reads
# and writes stay root's, the tree and the toolchain in root's home stay
# reachable. This satisfies makepkg's check without the protection it is
# meant to give (the mapped user owns root's files): fine for this PKGBUILD,
# which writes only into the makepkg directories and the project's target/,
# not for untrusted PKGBUILDs. --nodeps: the dependencies are Arch package
# names, which pacman on Debian does not have (scripts/setup-host.sh installs
# the Debian ones).
# Prints the path of the package as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
tree=$PWD
machine=$(uname -m)
carch=${1:-$machine}
out=$(realpath -m "${2:-target/packages}")
case "$carch" in x86_64|aarch64) ;; *) echo "package-arch: unsupported architecture $carch" >&2; exit 2 ;; esac
for t in makepkg bsdtar fakeroot zstd; do
  command -v "$t" >/dev/null || { echo "package-arch: no $t (run scripts/setup-host.sh)" >&2; exit 1; }
done

work=$out/arch-$carch
rm -rf "$work"
mkdir -p "$work/build" "$work/src" "$work/bin"
if [ "$carch" != "$machine" ]; then
  [ "$carch" = aarch64 ] && [ "$machine" = x86_64 ] || { echo "package-arch: no cross build $machine -> $carch" >&2; exit 2; }
  # the cross toolchain first (installs it when missing; also needs root)
  eval "$("$here/aarch64-setup.sh")"
  ln -s "$(command -v aarch64-linux-gnu-strip)" "$work/bin/strip"
fi

run=()
[ "$(id -u)" != 0 ] || run=(unshare --user --map-user=1000 --map-group=1000)
ver=$(sed -n 's/^pkgver=//p' packaging/arch/PKGBUILD)
rel=$(sed -n 's/^pkgrel=//p' packaging/arch/PKGBUILD)
pkg=$out/hantro-drv-video-$ver-$rel-$carch.pkg.tar.zst
rm -f "$pkg"
(
  cd packaging/arch
  PATH=$work/bin:$PATH CARCH=$carch BUILDDIR=$work/build SRCDEST=$work/src PKGDEST=$out \
    PKGEXT=.pkg.tar.zst "${run[@]}" makepkg --nodeps --noconfirm --force --cleanbuild
) >&2
test -f "$pkg"
# makepkg leaves its src/pkg trees in BUILDDIR only
rm -rf "$work"
echo "$pkg"

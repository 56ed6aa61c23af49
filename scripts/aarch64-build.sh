#!/usr/bin/env bash
# Cross-compiles the driver and the simulator for aarch64-unknown-linux-gnu
# on an x86_64 Debian bookworm host, installing what that needs first
# (scripts/aarch64-setup.sh, idempotent), and checks that the results are
# arm64 ELF shared objects.
#
#   scripts/aarch64-build.sh [--debug] [extra cargo args]
#
# Output: $CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/<profile>/
#   libhantro_drv_video.so  (install as <libva driverdir>/hantro_drv_video.so)
#   libhantro_sim.so
# CARGO_TARGET_DIR defaults to target/aarch64 so that a cross build never
# waits for (or invalidates) the host build in target/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
profile=release
if [ "${1:-}" = --debug ]; then profile=debug; shift; fi
eval "$("$here/aarch64-setup.sh")"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/aarch64}
T=aarch64-unknown-linux-gnu
flags=(--target "$T" -p hantro_drv_video -p hantro_sim)
[ "$profile" = release ] && flags+=(--release)
cargo build "${flags[@]}" "$@"
out=$CARGO_TARGET_DIR/$T/$profile
for so in libhantro_drv_video.so libhantro_sim.so; do
  f=$out/$so
  desc=$(file -b "$f")
  case "$desc" in
    *"ELF 64-bit LSB shared object, ARM aarch64"*) ;;
    *) echo "aarch64-build: $f is not an arm64 shared object: $desc" >&2; exit 1 ;;
  esac
done
# The driver must export the libva entry point for the libva it was built
# against (arm64 libva-dev from bookworm: 1.17).
aarch64-linux-gnu-nm -D --defined-only "$out/libhantro_drv_video.so" | grep -q ' T __vaDriverInit_1_[0-9]' \
  || { echo "aarch64-build: no __vaDriverInit_1_* in the driver" >&2; exit 1; }
echo "aarch64-build: $out/libhantro_drv_video.so $out/libhantro_sim.so"

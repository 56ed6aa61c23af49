#!/usr/bin/env bash
# Installs what cross-building and testing for aarch64-unknown-linux-gnu needs
# on a Debian bookworm x86_64 host, and prints the shell exports that point
# cargo, bindgen, pkg-config and the ABI probe at the arm64 side:
#
#   eval "$(scripts/aarch64-setup.sh)"
#
# - the cross toolchain (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross),
#   qemu-user (qemu-aarch64) to run the test binaries,
# - the arm64 libva/libdrm/FFmpeg headers and libraries from bookworm's own
#   archive via multiarch (dpkg --add-architecture arm64),
# - the Rust target (rustup target add),
# - trixie's 6.12 kernel uAPI headers with the arm64 asm/ headers
#   ($HANTRO_CACHE/uapi-aarch64/include).
# Idempotent: installs only what is missing. Messages go to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${HANTRO_CACHE:-$HOME/.cache/hantro}
RUST_TARGET=aarch64-unknown-linux-gnu
GNU=aarch64-linux-gnu

sudo_=()
[ "$(id -u)" = 0 ] || sudo_=(sudo)

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "aarch64-setup: dpkg --add-architecture arm64" >&2
  "${sudo_[@]}" dpkg --add-architecture arm64
fi
pkgs=(
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  # qemu-aarch64 runs test binaries against the multiarch libc (no -L)
  libc6:arm64
  libva-dev:arm64 libdrm-dev:arm64
  libavcodec-dev:arm64 libavutil-dev:arm64
  # arm64 guest (scripts/guest-arm64-*): the VA client links libavformat
  libavformat-dev:arm64
  # the host side still needs these for bindgen and pkg-config
  libclang-dev clang pkg-config file
)
# A third-party source without arm64 indices only warns on update.
HOST_INSTALL_UPDATE_SOFT=1 "$here/host-install.sh" aarch64-setup "${pkgs[@]}"

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$RUST_TARGET"; then
  echo "aarch64-setup: rustup target add $RUST_TARGET" >&2
  rustup target add "$RUST_TARGET" >&2
fi

# Kernel uAPI headers (trixie, 6.12). linux-libc-dev is arch "all" there: the
# per-architecture asm/ directories are symlinks into usr/lib/linux/uapi/;
# take the arm64 one, dereferenced.
uapi=$CACHE/uapi-aarch64
if [ ! -e "$uapi/include/asm/ioctl.h" ] || [ ! -e "$uapi/include/linux/videodev2.h" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && TRIXIE_ARCH=arm64 "$here/trixie-apt.sh" apt-get -q download linux-libc-dev:arm64 >&2)
  dpkg-deb -x "$tmp"/linux-libc-dev_*.deb "$tmp/root"
  rm -rf "$uapi.new"; mkdir -p "$uapi.new/include"
  for d in "$tmp/root/usr/include/"*; do
    case "$(basename "$d")" in *-linux-gnu*) continue ;; esac
    cp -a "$d" "$uapi.new/include/"
  done
  rm -rf "$uapi.new/include/asm"
  cp -rL "$tmp/root/usr/include/$GNU/asm" "$uapi.new/include/asm"
  ln -s linux/videodev2.h "$uapi.new/include/videodev2.h"
  rm -rf "$tmp" "$uapi"
  mv "$uapi.new" "$uapi"
fi
# asm/ must be the arm64 one (the probe would otherwise silently use x86's).
grep -q 'aarch64\|__AARCH64\|sve' "$uapi/include/asm/sigcontext.h" \
  || { echo "aarch64-setup: $uapi/include/asm is not the arm64 asm/" >&2; exit 1; }

cat <<EOF
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$GNU-gcc
export CC_aarch64_unknown_linux_gnu=$GNU-gcc
export AR_aarch64_unknown_linux_gnu=$GNU-ar
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR=/usr/lib/$GNU/pkgconfig:/usr/share/pkgconfig
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--target=$RUST_TARGET"
export V4L2R_VIDEODEV2_H_PATH=$uapi/include
export HANTRO_UAPI_INCLUDE=$uapi/include
export HANTRO_PROBE_CC=$GNU-gcc
export HANTRO_PROBE_CFLAGS=-static
export HANTRO_PROBE_RUNNER=qemu-aarch64
EOF

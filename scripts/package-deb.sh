#!/usr/bin/env bash
# Builds the Debian package hantro-drv-video_<version>_<arch>.deb from this
# checkout with dpkg-buildpackage (debian/), into an output directory instead
# of the parent directory:
#
#   scripts/package-deb.sh [amd64|arm64] [OUTDIR]   (default: the host's
#                                                   architecture, target/packages)
#
# arm64 on an amd64 host is a cross build (dpkg-buildpackage -a arm64; the
# driver is built with scripts/aarch64-setup.sh's cross environment, in
# target/aarch64 like scripts/aarch64-build.sh).
# Build dependencies: dpkg-checkbuilddeps must find all of them except
# rustc/cargo, which on bookworm come from rustup (its rustc is older than
# the 1.80 the crate needs): those are checked here by version instead, and
# dpkg-buildpackage then runs with -d. Anything else missing is an error
# (scripts/setup-host.sh installs it).
# Prints the path of the .deb as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
host=$(dpkg-architecture -qDEB_BUILD_ARCH)
arch=${1:-$host}
out=$(realpath -m "${2:-target/packages}")
mkdir -p "$out"
case "$arch" in amd64|arm64) ;; *) echo "package-deb: unsupported architecture $arch" >&2; exit 2 ;; esac

# Build dependencies, rustc/cargo aside.
unmet=$(dpkg-checkbuilddeps -a "$arch" 2>&1 | sed -n 's/.*Unmet build dependencies: //p' || true)
if ! dpkg-checkbuilddeps -a "$arch" >/dev/null 2>&1; then
  [ -n "$unmet" ] || { dpkg-checkbuilddeps -a "$arch" >&2; exit 1; }
  rest=$(printf '%s\n' $unmet | sed -E '/^\(|\)$|^[<>=]/d; /^(rustc|cargo)(:native)?$/d' | tr '\n' ' ')
  [ -z "${rest// }" ] || { echo "package-deb: unmet build dependencies: $rest(run scripts/setup-host.sh)" >&2; exit 1; }
fi
need=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
have=$(rustc --version | awk '{print $2}')
dpkg --compare-versions "$have" ge "$need" || { echo "package-deb: rustc $have is older than $need" >&2; exit 1; }
command -v cargo >/dev/null || { echo "package-deb: no cargo" >&2; exit 1; }

ver=$(dpkg-parsechangelog -S Version)
base=hantro-drv-video_${ver}_${arch}
rm -f "$out/$base.deb" "$out/$base.buildinfo" "$out/$base.changes"
cross=()
if [ "$arch" != "$host" ]; then
  # the package's test step is empty anyway; CC names the cross compiler
  # dpkg-architecture expects (cargo's comes from aarch64-setup.sh; the
  # driver has no C code, so CC does not change its build)
  export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }nocheck"
  cross=(-Pcross,nocheck)
  export CC=$(dpkg-architecture -a "$arch" -qDEB_HOST_GNU_TYPE 2>/dev/null)-gcc
fi
HANTRO_DEB_DESTDIR=$out dpkg-buildpackage "${cross[@]}" -b --no-sign -d -a "$arch" \
  --buildinfo-file="$out/$base.buildinfo" --buildinfo-option=-u"$out" \
  --changes-file="$out/$base.changes" --changes-option=-u"$out" >&2
test -f "$out/$base.deb"
# leave no package tree behind in debian/ (target/ is kept: see debian/rules)
debian/rules clean >&2
echo "$out/$base.deb"

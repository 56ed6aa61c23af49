#!/usr/bin/env bash
# Builds libva-utils' conformance suite, test_va_api, and runs it on our
# driver: on the host over the simulator, or (with --guest) in the trixie
# guest on visl.
#
#   scripts/test-va-api.sh [--guest] [--build-only] [-- GTEST_ARGS...]
#
# Needs the sources of libva-utils and libva (for the 2.22 headers the suite
# is built against, the libva of Debian trixie), as directories or git
# repositories: LIBVA_UTILS_SRC (default: the git mirror
# /work/.mirror/intel+libva-utils/repo), LIBVA_SRC (default
# /work/.mirror/intel+libva/repo), tag LIBVA_UTILS_TAG (2.22.0) and LIBVA_TAG
# (2.22.0) when they are git repositories. Nothing is downloaded; a missing
# source, compiler or library is an error.
#
# The suite is built with g++ and its bundled googletest, like its meson
# build (test/meson.build: same sources and flags; gtest_main.cc, which
# meson links from a static library, is unused there as test_main.cpp has main), against the 2.22
# headers and linked with the machine's libva/libdrm (ABI-stable sonames).
# One patch to test/test_va_api_fixture.cpp, as documented in README.md
# ("libva conformance"):
#   * getDrmDisplay skips vgem's DRM node; on visl the only DRM node is vgem's
#     (a V4L2 decoder has none of its own), so the vgem condition is
#     disabled when TEST_VA_ALLOW_VGEM=1 (the condition the issue's author
#     patched);
#   * with TEST_VA_DRM_NODE=PATH the display is opened on that node instead
#     of enumerating /dev/dri with drmGetDevices2 (the simulator emulates a
#     render node's open/ioctl, not sysfs/opendir enumeration).
# Nothing else in the suite is changed: its expectations are libva's.
#
# Output: the binary at target/test_va_api/libva-<tag>/test_va_api, then the run's
# output; exit status: the suite's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
guest=0 build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --guest) guest=1 ;;
    --build-only) build_only=1 ;;
    --) shift; break ;;
    *) echo "test-va-api: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
UTILS=${LIBVA_UTILS_SRC:-/work/.mirror/intel+libva-utils/repo}
LIBVA=${LIBVA_SRC:-/work/.mirror/intel+libva/repo}
UTILS_TAG=${LIBVA_UTILS_TAG:-2.22.0}
# The headers of the libva the suite runs with: trixie's 2.22 in the guest,
# the machine's own on the host (test_va_api checks that vaInitialize
# reports at least the VA-API version it was built against).
if [ "$guest" = 1 ]; then
  LIBVA_TAG=${LIBVA_TAG:-2.22.0}
else
  LIBVA_TAG=${LIBVA_TAG:-2.$(pkg-config --modversion libva 2>/dev/null | cut -d. -f2-)}
fi
out=$repo/target/test_va_api/libva-$LIBVA_TAG
die() { echo "test-va-api: $*" >&2; exit 1; }
command -v g++ >/dev/null || die "g++ missing (apt-get install g++)"
pkg-config --exists libva libva-drm libdrm || die "libva-dev/libdrm-dev missing (pkg-config libva libva-drm libdrm)"

# $1: source (dir or git repo), $2: tag, $3: subdir, $4: destination
extract() {
  rm -rf "$4" && mkdir -p "$4"
  if [ -d "$1/$3" ]; then
    cp -r "$1/$3" "$4/"
  elif git --git-dir="$1" rev-parse -q --verify "$2^{commit}" >/dev/null 2>&1; then
    git --git-dir="$1" archive "$2" "$3" | tar -x -C "$4"
  elif git -C "$1" rev-parse -q --verify "$2^{commit}" >/dev/null 2>&1; then
    git -C "$1" archive "$2" "$3" | tar -x -C "$4"
  else
    die "$1: neither a source tree with $3/ nor a git repository with tag $2"
  fi
}

mkdir -p "$out"
stamp="$UTILS_TAG-$LIBVA_TAG-$(sha256sum "$0" | cut -c1-12)"
if [ ! -x "$out/test_va_api" ] || [ "$(cat "$out/stamp" 2>/dev/null)" != "$stamp" ]; then
  extract "$UTILS" "$UTILS_TAG" test "$out/src"
  extract "$LIBVA" "$LIBVA_TAG" va "$out/inc"
  # va_version.h, as libva's build generates it
  ver=${LIBVA_TAG#libva-}
  major=1 minor=$(echo "$ver" | cut -d. -f2) micro=$(echo "$ver" | cut -d. -f3)
  sed -e "s/@VA_API_MAJOR_VERSION@/$major/; s/@VA_API_MINOR_VERSION@/$minor/; s/@VA_API_MICRO_VERSION@/$micro/" \
      -e "s/@VA_API_VERSION@/$major.$minor.$micro/g" "$out/inc/va/va_version.h.in" >"$out/inc/va/va_version.h"
  fx=$out/src/test/test_va_api_fixture.cpp
  grep -q 'if (!strncmp(version->name, "vgem", 4)) {' "$fx" || die "$fx: the vgem condition to patch is not there"
  sed -i 's|if (!strncmp(version->name, "vgem", 4)) {|if (!getenv("TEST_VA_ALLOW_VGEM") \&\& !strncmp(version->name, "vgem", 4)) {|' "$fx"
  grep -q '^static VADisplay getDrmDisplay(int &fd)$' "$fx" || die "$fx: getDrmDisplay not found"
  sed -i '/^static VADisplay getDrmDisplay(int &fd)$/{n;a\
    if (const char* node = getenv("TEST_VA_DRM_NODE")) {\
        fd = open(node, O_RDWR);\
        VADisplay d = fd < 0 ? NULL : vaGetDisplayDRM(fd);\
        if (!d \&\& fd >= 0) { close(fd); fd = -1; }\
        return d;\
    }
}' "$fx"
  flags=(-O1 -std=c++14 -DGTEST_USE_OWN_TR1_TUPLE=0 -DGTEST_LANG_CXX11=1 -DGTEST_HAS_TR1_TUPLE=1 -DGTEST_HAS_PTHREAD=1 -DPTHREADS
         -I"$out/inc" -I"$out/src/test/gtest" -I"$out/src/test/gtest/include" -I"$out/src/test" $(pkg-config --cflags libdrm))
  objs=()
  for f in gtest/src/gtest-all.cc test_main.cpp test_internal.cpp test_va_api_fixture.cpp \
           test_va_api_get_create_config.cpp test_va_api_config_attribs.cpp test_va_api_createsurfaces.cpp \
           test_va_api_createcontext.cpp test_va_api_createbuffer.cpp test_va_api_display_attribs.cpp \
           test_va_api_get_max_values.cpp test_va_api_init_terminate.cpp test_va_api_query_config.cpp \
           test_va_api_query_vendor.cpp; do
    o=$out/obj/$(basename "$f").o
    mkdir -p "$out/obj"
    # googletest does not change with the suite's tag: built once
    if [ "$f" = gtest/src/gtest-all.cc ] && [ -s "$o" ]; then objs+=("$o"); continue; fi
    g++ "${flags[@]}" -c "$out/src/test/$f" -o "$o" || die "compiling $f failed"
    objs+=("$o")
  done
  g++ -o "$out/test_va_api" "${objs[@]}" $(pkg-config --libs libva libva-drm libdrm) -pthread || die "linking failed"
  echo "$stamp" >"$out/stamp"
fi
echo "test-va-api: built $out/test_va_api (libva-utils $UTILS_TAG, VA-API headers of libva $LIBVA_TAG)"
[ "$build_only" = 1 ] && exit 0

if [ "$guest" = 1 ]; then
  job=$(mktemp -d "${TMPDIR:-/tmp}/hantro-test-va-api.XXXXXX")
  cp "$out/test_va_api" "$job/"
  printf '%s\n' "$@" >"$job/gtest-args"
  # ~20000 cases, each with its own vaInitialize on visl under TCG: well
  # over guest-run's default 10 minutes.
  GUEST_TIMEOUT=${GUEST_TIMEOUT:-3000} exec "$here/guest-run.sh" --job "$job" "$repo/tests/guest/test-va-api.sh"
fi

drv=${HANTRO_DRIVER_SO:-$repo/target/release/libhantro_drv_video.so}
sim=${HANTRO_SIM_SO:-$repo/target/release/libhantro_sim.so}
[ -f "$drv" ] || die "$drv missing (cargo build --release --workspace)"
[ -f "$sim" ] || die "$sim missing (cargo build --release --workspace)"
d=$(mktemp -d "${TMPDIR:-/tmp}/hantro-vadrv.XXXXXX")
ln -s "$drv" "$d/hantro_drv_video.so"
LD_PRELOAD=$sim HANTRO_SIM_QUIET=1 LIBVA_DRIVER_NAME=hantro LIBVA_DRIVERS_PATH=$d LIBVA_MESSAGING_LEVEL=1 \
  TEST_VA_DRM_NODE=${TEST_VA_DRM_NODE:-/dev/dri/renderD128} "$out/test_va_api" "$@"

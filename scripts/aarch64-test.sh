#!/usr/bin/env bash
# The arm64 test run on an x86_64 host: cross-compiles the test binaries for
# aarch64-unknown-linux-gnu and runs them under qemu-aarch64 (qemu-user):
#
#   * the driver's unit tests,
#   * the ABI probe (tests/abi.rs): Rust layouts of the aarch64 build against
#     a C probe compiled by aarch64-linux-gnu-gcc with bookworm's arm64 libva
#     headers and trixie's 6.12 arm64 uAPI headers, run under qemu-aarch64,
#   * the dlopen test's child (the driver's arm64 .so loaded by dlopen, init
#     without a decoder fails cleanly, log names the path),
#   * the simulator's unit tests (uAPI ioctl numbers, bit reader, H.264
#     parsers, layouts, MD5).
#
# Tests that re-execute their own binary (the dlopen parent) cannot do so
# under qemu-user without binfmt_misc; the child half is run here directly
# with the environment the parent would set, and the parent's checks are
# repeated on its output.
#   * end to end on the simulator: an arm64 VA client (tests/clients/
#     vaclient.c: libavcodec's VA-API hwaccel over libva's DRM display)
#     with the arm64 driver and the arm64 simulator preloaded, one stream
#     of every codec each personality has (H.264 on hantro-g1, rkvdec and
#     cedrus; MPEG-2 and VP8 on hantro-g1 and cedrus), every frame
#     bit-exact with arm64 libavcodec's software decode of the stream
#     (tests/clients/swdec.c under qemu-aarch64: the simulator decodes with
#     arm64 libavcodec, whose MPEG-2 IDCT is not x86's, so the reference
#     is made by the same libavcodec), the driver's per-picture log
#     proving the pictures went through it.
# Not run here: the Rust tests that drive the driver through the LD_PRELOAD
# simulator (hostile, lifecycle, faults, concurrency, sim_e2e) re-execute
# their own binary, which qemu-user without binfmt_misc cannot; step 5
# covers the same path (the simulator's copy_to_user/copy_from_user fall
# back to /proc/self/mem where qemu-user lacks process_vm_readv/writev).
#
# Prints one "aarch64-test: PASS <what>" line per step and ends with
# "aarch64-test: all N steps passed"; exits non-zero at the first failure.
# CARGO_TARGET_DIR defaults to target/aarch64 (see aarch64-build.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
eval "$("$here/aarch64-setup.sh")"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/aarch64}
# The host test run (scripts/test-all.sh) points these at x86_64 builds.
unset HANTRO_DRIVER_SO HANTRO_SIM_SO LD_PRELOAD
T=aarch64-unknown-linux-gnu
out=$CARGO_TARGET_DIR/$T/release
log=$CARGO_TARGET_DIR/aarch64-test-logs
rm -rf "$log"; mkdir -p "$log"
steps=0
pass() { steps=$((steps + 1)); echo "aarch64-test: PASS $*"; }
fail() { echo "aarch64-test: FAIL $*" >&2; exit 1; }

# The cdylibs (the dlopen child loads the driver) and the
# test binaries.
"$here/aarch64-build.sh" >&2
cargo test --release --target "$T" -p hantro_drv_video --lib --test abi --test dlopen --no-run >&2
cargo test --release --target "$T" -p hantro_sim --lib --no-run >&2

# Runs one cargo test invocation under the runner, output to $log/$1.
# Every listed check must report "test result: ok. N passed" with N >= $2.
run() {
  local name=$1 min=$2; shift 2
  if ! cargo test --release --target "$T" "$@" -- --test-threads=1 --nocapture >"$log/$name" 2>&1; then
    tail -40 "$log/$name" >&2
    fail "$name (cargo test $*), log $log/$name"
  fi
  local n
  n=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log/$name" | awk '{s+=$1} END {print s+0}')
  grep -q "^test result: FAILED" "$log/$name" && fail "$name: a test failed, log $log/$name"
  [ "$n" -ge "$min" ] || fail "$name: only $n tests passed (expected >= $min), log $log/$name"
  pass "$name: $n tests under qemu-aarch64"
}

bin() { # newest test binary named $1-<hash>
  ls -t "$out/deps/$1"-* 2>/dev/null | grep -v '\.d$' | head -1
}

# 1. driver unit tests
run unit 50 -p hantro_drv_video --lib
# 2. ABI probe, C side cross-compiled and run under qemu-aarch64
run abi 1 -p hantro_drv_video --test abi
n=$(grep -o '[0-9]* layout checks against the C headers passed' "$log/abi" | cut -d' ' -f1 || true)
[ -n "$n" ] && [ "$n" -gt 200 ] || fail "abi: no '<N> layout checks ... passed' line, log $log/abi"
pass "abi: $n layout checks (aarch64 Rust vs aarch64-linux-gnu-gcc, arm64 libva $(pkg-config --modversion libva) + trixie 6.12 arm64 uAPI)"

# 3. dlopen: the child half of exports_init_symbols_and_fails_cleanly_without_a_decoder
b=$(bin dlopen)
HANTRO_DLOPEN_CHILD=1 HANTRO_MEDIA_DEVICE=/nonexistent/media9 HANTRO_LOG=error \
  qemu-aarch64 "$b" --exact child_init_without_decoder --nocapture --test-threads=1 \
  >"$log/dlopen" 2>"$log/dlopen.err" || fail "dlopen child, log $log/dlopen*"
grep -q "child: status=0xffffffff nulls=0 data=false" "$log/dlopen" || fail "dlopen: init status/vtable line missing, log $log/dlopen"
grep -q "no V4L2 stateless decoder found" "$log/dlopen.err" && grep -q /nonexistent/media9 "$log/dlopen.err" \
  || fail "dlopen: the log must say where it looked, log $log/dlopen.err"
syms=$(aarch64-linux-gnu-nm -D --defined-only "$out/libhantro_drv_video.so" | grep -c ' T __vaDriverInit_1_')
[ "$syms" -ge 2 ] || fail "dlopen: expected __vaDriverInit_1_0 and _1_<minor>, found $syms"
pass "dlopen: arm64 .so loaded, vtable full, init fails cleanly without a decoder"

# 4. simulator unit tests
run sim-unit 5 -p hantro_sim --lib

# 5. end to end on the simulator under qemu-aarch64
cache=${HANTRO_CACHE:-$HOME/.cache/hantro}
mkdir -p "$cache"
for c in "" -mpeg2 -vp8; do
  flock "$cache/corpus$c.lock" bash "$here/corpus$c.sh" "$cache/corpus$c" >"$log/corpus$c" 2>&1 || fail "scripts/corpus$c.sh, log $log/corpus$c"
done
clients=$CARGO_TARGET_DIR/aarch64-clients
mkdir -p "$clients"
# shellcheck disable=SC2046 # pkg-config output is a list of flags
aarch64-linux-gnu-gcc -O2 -g -Wall -Werror -pthread -o "$clients/vaclient" tests/clients/vaclient.c \
  $(pkg-config --cflags --libs libavformat libavcodec libavutil libva libva-drm) || fail "cross-compiling vaclient"
# shellcheck disable=SC2046
aarch64-linux-gnu-gcc -O2 -g -Wall -Werror -o "$clients/swdec" tests/clients/swdec.c \
  $(pkg-config --cflags --libs libavformat libavcodec libavutil) || fail "cross-compiling swdec"
drivers=$clients/drivers
mkdir -p "$drivers"
ln -sf "$out/libhantro_drv_video.so" "$drivers/hantro_drv_video.so"
e2e=0 frames=0
for run in hantro-g1:corpus/cabac_main_bpyr.h264 rkvdec:corpus/ref16.h264 cedrus:corpus/odd_size.h264 \
  hantro-g1:corpus-mpeg2/main_open_gop.m2v cedrus:corpus-mpeg2/field_pictures.m2v \
  hantro-g1:corpus-vp8/key_inter.ivf cedrus:corpus-vp8/partitions4.ivf; do
  p=${run%%:*} stream=$cache/${run#*:} name=$p-$(basename "${run#*:}")
  [ -f "$stream" ] || fail "e2e: $stream missing"
  rm -rf "$clients/out-$name"; mkdir -p "$clients/out-$name"
  qemu-aarch64 "$clients/swdec" "$stream" "$clients/out-$name/ref.nv12" >"$log/e2e-$name.ref" 2>&1 \
    || fail "e2e $name: software reference, log $log/e2e-$name.ref"
  # qemu-user passes the environment on; LD_PRELOAD only through -E (it
  # would apply to qemu itself), and -E splits its value at commas
  HANTRO_SIM_QUIET=1 HANTRO_SIM_PERSONALITY="$p" LIBVA_DRIVER_NAME=hantro LIBVA_DRIVERS_PATH="$drivers" \
    LIBVA_MESSAGING_LEVEL=1 HANTRO_LOG=error,hantro_drv_video::decoded=info \
    qemu-aarch64 -E LD_PRELOAD="$out/libhantro_sim.so" "$clients/vaclient" "$clients/out-$name" "$stream" >"$log/e2e-$name" 2>"$log/e2e-$name.err" \
    || fail "e2e $name: vaclient, log $log/e2e-$name*"
  n=$(sed -n 's/^swdec frames=\([0-9]*\)$/\1/p' "$log/e2e-$name.ref")
  [ -n "$n" ] && [ "$n" -gt 0 ] || fail "e2e $name: no reference frames"
  grep -q "^stream 0 frames=$n errors=0\$" "$log/e2e-$name" || fail "e2e $name: not $n frames without error, log $log/e2e-$name"
  ! grep -q "decode-error\|transfer-error" "$log/e2e-$name" || fail "e2e $name: decode errors, log $log/e2e-$name"
  d=$(grep -c "decoded a picture into CAPTURE buffer" "$log/e2e-$name.err" || true)
  [ "$d" -ge "$n" ] || fail "e2e $name: the driver logged $d decoded pictures for $n frames, log $log/e2e-$name.err"
  cmp -s "$clients/out-$name/0.nv12" "$clients/out-$name/ref.nv12" \
    || fail "e2e $name: output differs from arm64 libavcodec's software decode ($clients/out-$name)"
  e2e=$((e2e + 1)) frames=$((frames + n))
  rm -rf "$clients/out-$name"
done
pass "sim-e2e: $e2e streams ($frames frames) bit-exact under qemu-aarch64 on hantro-g1, rkvdec, cedrus"

echo "aarch64-test: all $steps steps passed"

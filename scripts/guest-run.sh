#!/usr/bin/env bash
# Boot a cached test guest (building it first if needed) under QEMU/TCG and
# run one guest script or command in it. One runner for both guests:
#
#   scripts/guest-run.sh [--arch x86_64|arm64] [--job DIR] SCRIPT [ARGS...]   run a script file
#   scripts/guest-run.sh [--arch x86_64|arm64] [--job DIR] -- CMD [ARGS...]   run a command
#
#   x86_64 (default): the Debian trixie guest of scripts/guest-build.sh
#     (9p root; clients, compositor, browsers), qemu-system-x86_64.
#   arm64: the busybox + libva guest of scripts/guest-arm64-build.sh,
#     qemu-system-aarch64 -M virt; the driver is the cross-built one.
#
# The job dir (default: a fresh temp dir, kept) is the guest's /job (9p):
#   /job/<script>        the script, run with /job as cwd
#   /job/lib.sh          helpers (scripts/guest-lib.sh): trace_reset, trace_save NAME, video_dev, ...
#   /job/driver/hantro_drv_video.so   the VA driver ($HANTRO_DRIVER_SO)
#   /job/bin/vaclient    (arm64) tests/clients/vaclient.c cross-built
#   /job/corpus/         the H.264 corpus (scripts/corpus.sh, cached)
#   /job/out/            results: rc, output.log, console.log, init.log,
#                        boot_seconds, versions.txt, traces
# The guest loads videodev, v4l2-mem2mem, visl (params: $VISL_PARAMS), vgem
# (/dev/dri/renderD128) and enables all visl_* trace events plus v4l2/vb2
# qbuf/dqbuf events before the script runs.
#
# Exit status: the guest command's, or 124 on timeout, 125 if the guest
# failed to produce a result. Output: the command's output on stdout.
# Env: GUEST_ARCH (as --arch), HANTRO_CACHE, HANTRO_DRIVER_SO (default
#      target/release/libhantro_drv_video.so; arm64:
#      target/aarch64/aarch64-unknown-linux-gnu/release/libhantro_drv_video.so),
#      GUEST_TIMEOUT (s, default 1500; arm64 1800: a hang guard, with room for
#      a loaded machine: scripts/test-all.sh runs three lanes on two cores), GUEST_MEM (MiB, 2048),
#      GUEST_SMP (2), GUEST_CPU (x86_64: max, arm64: cortex-a72), GUEST_VERBOSE=1 (stream
#      the console to stderr), VISL_PARAMS, TRACE_BUFFER_KB (default 65536),
#      GUEST_ENV ("VAR1 VAR2": also pass these), HANTRO_GUEST (boot this
#      built guest dir instead of the recipe's).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
CACHE=${HANTRO_CACHE:-$HOME/.cache/hantro}
die() { echo "guest-run: $*" >&2; exit 125; }

job=
arch=${GUEST_ARCH:-x86_64}
while [ $# -gt 0 ]; do
  case "$1" in
    --job) job=$2; shift 2 ;;
    --job=*) job=${1#--job=}; shift ;;
    --arch) arch=$2; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    --) break ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
case "$arch" in
  x86_64|amd64) arch=x86_64 ;;
  arm64|aarch64) arch=arm64 ;;
  *) die "unknown --arch $arch (x86_64 or arm64)" ;;
esac
[ $# -gt 0 ] || die "usage: guest-run.sh [--arch x86_64|arm64] [--job DIR] SCRIPT [ARGS] | -- CMD [ARGS]"

# --- the guest -------------------------------------------------------------
if [ $arch = x86_64 ]; then
  "$here/guest-host-deps.sh" || die "host tools missing (scripts/guest-host-deps.sh)"
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed"
  build=$here/guest-build.sh
  so=${HANTRO_DRIVER_SO:-$repo/target/release/libhantro_drv_video.so}
  timeout_s=${GUEST_TIMEOUT:-1500}
else
  eval "$("$here/aarch64-setup.sh")" # cross gcc and the arm64 libraries (vaclient)
  build=$here/guest-arm64-build.sh
  so=${HANTRO_DRIVER_SO:-$repo/target/aarch64/aarch64-unknown-linux-gnu/release/libhantro_drv_video.so}
  timeout_s=${GUEST_TIMEOUT:-1800}
fi
if [ -n "${HANTRO_GUEST:-}" ]; then
  guest=$HANTRO_GUEST # an already built guest dir (e.g. while the recipe's own is being built)
  echo "guest-run: using HANTRO_GUEST=$guest, not the recipe's guest" >&2
else
  # one build per architecture at a time (tests in parallel lanes boot
  # the same guest; the arm64 recipe has no lock of its own)
  mkdir -p "$CACHE"
  guest=$(flock "$CACHE/guest-build-$arch.lock" "$build") || die "guest build failed ($build)"
fi
[ -e "$guest/stamp.done" ] || die "guest build produced no guest in $guest"

# --- job dir ---------------------------------------------------------------
if [ -z "$job" ]; then job=$(mktemp -d "${TMPDIR:-/tmp}/hantro-job.XXXXXX"); fi
mkdir -p "$job"; job=$(cd "$job" && pwd)
rm -rf "$job/out" "$job/driver" "$job/bin" "$job/.cmd" "$job/.env"
mkdir -p "$job/out" "$job/driver"
cp "$here/guest-lib.sh" "$job/lib.sh"
if [ $arch = x86_64 ]; then
  # PID 1 after switch_root to the 9p root (guest-init.sh copies the
  # recorded versions to out/versions.txt)
  cp "$here/guest-init.sh" "$job/.guest-init"; chmod 755 "$job/.guest-init"
  if [ -f "$so" ]; then
    cp "$so" "$job/driver/hantro_drv_video.so"
  else
    echo "guest-run: note: no driver at $so (running without it)" >&2
  fi
else
  # the initrd's own init runs the job; the versions were recorded at build
  if [ -s "$guest/versions.txt" ]; then
    cp "$guest/versions.txt" "$job/out/versions.txt"
    sed 's/^/guest-run: version: /' "$guest/versions.txt" >&2
  else
    echo "guest-run: $guest has no versions.txt" >&2
  fi
  [ -f "$so" ] || die "no arm64 driver at $so (scripts/aarch64-build.sh)"
  file -b "$so" | grep -q "ARM aarch64" || die "$so is not an arm64 library"
  cp "$so" "$job/driver/hantro_drv_video.so"
  mkdir -p "$job/bin"
  # shellcheck disable=SC2046 # pkg-config output is a word list
  aarch64-linux-gnu-gcc -O2 -Wall -pthread -o "$job/bin/vaclient" "$repo/tests/clients/vaclient.c" \
    $(pkg-config --cflags --libs libavformat libavcodec libavutil libva libva-drm) || die "cross-building vaclient failed"
fi

# corpus: generated once per recipe into the cache, hard-linked into the job
corpus=$CACHE/corpus
mkdir -p "$CACHE"
( flock 8; "$here/corpus.sh" "$corpus" >/dev/null ) 8>"$CACHE/corpus.lock" || die "corpus generation failed"
rm -rf "$job/corpus"
cp -al "$corpus" "$job/corpus" 2>/dev/null || cp -a "$corpus" "$job/corpus"

q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
{
  echo "cd /job"
  if [ "$1" = -- ]; then
    shift
    [ $# -gt 0 ] || die "nothing to run after --"
    line=""
  else
    script=$1; shift
    [ -f "$script" ] || die "no such guest script: $script"
    name=$(basename "$script")
    case "$name" in lib.sh|driver|corpus|out|bin) name="script-$name" ;; esac
    if [ "$(cd "$(dirname "$script")" && pwd)/$(basename "$script")" != "$job/$name" ]; then
      cp "$script" "$job/$name"
    fi
    chmod +x "$job/$name"
    # the arm64 guest has only busybox sh: scripts run with it whatever their #!
    if [ $arch = x86_64 ] && head -c2 "$job/$name" | grep -q '#!'; then line=$(q "./$name"); else line="sh $(q "./$name")"; fi
  fi
  for a in "$@"; do line+="${line:+ }$(q "$a")"; done
  echo "$line"
  echo 'echo $? > /job/out/.rc'
} > "$job/.cmd"

{
  for v in VISL_PARAMS TRACE_BUFFER_KB ${GUEST_ENV:-}; do
    [ -n "${!v+x}" ] && echo "$v=$(q "${!v}")"
  done
} > "$job/.env"

# --- boot ------------------------------------------------------------------
console=$job/out/console.log
: > "$console"
common=(-m "${GUEST_MEM:-2048}" -smp "${GUEST_SMP:-2}"
  -nodefaults -no-user-config -display none -no-reboot -nic none
  -serial "file:$console" -monitor none
  -virtfs "local,path=$job,mount_tag=job,security_model=none,multidevs=remap")
if [ $arch = x86_64 ]; then
  qemu=(qemu-system-x86_64 -accel tcg -cpu "${GUEST_CPU:-max}" "${common[@]}"
    -kernel "$guest/vmlinuz" -initrd "$guest/initrd.img"
    -append "console=ttyS0 quiet loglevel=4 panic=-1 hantro.init=/job/.guest-init"
    -virtfs "local,path=$guest/root,mount_tag=root,security_model=none,multidevs=remap")
else
  qemu=(qemu-system-aarch64 -M virt -accel tcg -cpu "${GUEST_CPU:-cortex-a72}" "${common[@]}"
    -kernel "$guest/Image" -initrd "$guest/initrd.img"
    -append "console=ttyAMA0 quiet loglevel=4 panic=-1")
fi
tail_pid=
if [ "${GUEST_VERBOSE:-0}" = 1 ]; then tail -n +1 -f "$console" >&2 & tail_pid=$!; fi
t0=$(date +%s.%N)
set +e
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$job/out/qemu.log" 2>&1
qrc=$?
set -e
t1=$(date +%s.%N)
[ -n "$tail_pid" ] && { sleep 0.2; kill "$tail_pid" 2>/dev/null; wait "$tail_pid" 2>/dev/null || true; }
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
echo "$secs" > "$job/out/boot_seconds"

if [ $qrc = 124 ] || [ $qrc = 137 ]; then
  echo "guest-run: TIMEOUT: $arch guest killed after ${timeout_s}s (GUEST_TIMEOUT); job dir $job" >&2
  tail -30 "$console" >&2
  exit 124
fi
if [ ! -s "$job/out/rc" ]; then
  echo "guest-run: FAILED: $arch guest produced no exit status (qemu rc $qrc); job dir $job" >&2
  cat "$job/out/qemu.log" >&2
  tail -40 "$console" >&2
  [ -f "$job/out/init.log" ] && cat "$job/out/init.log" >&2
  exit 125
fi
rc=$(cat "$job/out/rc")
[ -f "$job/out/output.log" ] && cat "$job/out/output.log"
echo "guest-run: exit $rc after ${secs}s ($arch); job dir $job" >&2
exit "$rc"

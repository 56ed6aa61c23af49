#!/usr/bin/env bash
# Boot the arm64 test guest (scripts/guest-arm64-build.sh, cached) under
# qemu-system-aarch64 (TCG, -M virt) and run one guest script or command:
#
#   scripts/guest-arm64-run.sh [--job DIR] SCRIPT [ARGS...]
#   scripts/guest-arm64-run.sh [--job DIR] -- CMD [ARGS...]
#
# The job dir is the guest's /job (9p), laid out like scripts/guest-run.sh's:
#   /job/driver/hantro_drv_video.so  the arm64 driver ($HANTRO_DRIVER_SO,
#                                    default target/aarch64/aarch64-unknown-linux-gnu/release/)
#   /job/lib.sh                      scripts/guest-lib.sh
#   /job/bin/vaclient                tests/clients/vaclient.c cross-built for arm64
#   /job/corpus/                     the H.264 corpus
#   /job/out/                        rc, output.log, init.log, console.log, boot_seconds
# The guest has busybox, vainfo, the arm64 libva/libavcodec, visl + vgem
# loaded and the visl/v4l2/vb2 trace events on.
# Exit status: the command's; 124 on timeout, 125 if the guest gave no result.
# Env: HANTRO_CACHE, HANTRO_DRIVER_SO, GUEST_TIMEOUT (s, 1800), GUEST_MEM
#      (MiB, 2048), GUEST_SMP (2), GUEST_CPU (cortex-a72), VISL_PARAMS,
#      TRACE_BUFFER_KB, GUEST_ENV.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
CACHE=${HANTRO_CACHE:-$HOME/.cache/hantro}
die() { echo "guest-arm64-run: $*" >&2; exit 125; }
job=
while [ $# -gt 0 ]; do
  case "$1" in
    --job) job=$2; shift 2 ;;
    --) break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || die "usage: guest-arm64-run.sh [--job DIR] SCRIPT [ARGS] | -- CMD [ARGS]"
guest=$("$here/guest-arm64-build.sh") || die "guest build failed"
eval "$("$here/aarch64-setup.sh")"

if [ -z "$job" ]; then job=$(mktemp -d "${TMPDIR:-/tmp}/hantro-arm64-job.XXXXXX"); fi
mkdir -p "$job"; job=$(cd "$job" && pwd)
rm -rf "$job/out" "$job/driver" "$job/bin" "$job/.cmd" "$job/.env"
mkdir -p "$job/out" "$job/driver" "$job/bin"
# what the guest runs (recorded at build): out/versions.txt, also on stderr
if [ -s "$guest/versions.txt" ]; then
  cp "$guest/versions.txt" "$job/out/versions.txt"
  sed 's/^/guest-arm64-run: version: /' "$guest/versions.txt" >&2
else
  echo "guest-arm64-run: $guest has no versions.txt" >&2
fi
cp "$here/guest-lib.sh" "$job/lib.sh"
so=${HANTRO_DRIVER_SO:-$repo/target/aarch64/aarch64-unknown-linux-gnu/release/libhantro_drv_video.so}
[ -f "$so" ] || die "no arm64 driver at $so (scripts/aarch64-build.sh)"
file -b "$so" | grep -q "ARM aarch64" || die "$so is not an arm64 library"
cp "$so" "$job/driver/hantro_drv_video.so"
aarch64-linux-gnu-gcc -O2 -Wall -pthread -o "$job/bin/vaclient" "$repo/tests/clients/vaclient.c" \
  $(pkg-config --cflags --libs libavformat libavcodec libavutil libva libva-drm) || die "cross-building vaclient failed"
corpus=$CACHE/corpus
( flock 8; "$here/corpus.sh" "$corpus" >/dev/null ) 8>"$CACHE/corpus.lock" || die "corpus generation failed"
rm -rf "$job/corpus"; cp -al "$corpus" "$job/corpus" 2>/dev/null || cp -a "$corpus" "$job/corpus"

q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
{
  echo "cd /job"
  if [ "$1" = -- ]; then
    shift; line=""
  else
    script=$1; shift
    [ -f "$script" ] || die "no such guest script: $script"
    name=$(basename "$script")
    cp "$script" "$job/$name"
    line="sh $(q "./$name")"
  fi
  for a in "$@"; do line+="${line:+ }$(q "$a")"; done
  echo "$line"
  echo 'echo $? > /job/out/.rc'
} > "$job/.cmd"
for v in VISL_PARAMS TRACE_BUFFER_KB ${GUEST_ENV:-}; do
  [ -n "${!v+x}" ] && echo "$v=$(q "${!v}")"
done > "$job/.env"

timeout_s=${GUEST_TIMEOUT:-1800}
t0=$(date +%s.%N)
set +e
timeout -k 10 "$timeout_s" qemu-system-aarch64 -M virt -accel tcg -cpu "${GUEST_CPU:-cortex-a72}" \
  -m "${GUEST_MEM:-2048}" -smp "${GUEST_SMP:-2}" \
  -nodefaults -no-user-config -display none -no-reboot -nic none \
  -serial "file:$job/out/console.log" -monitor none \
  -kernel "$guest/Image" -initrd "$guest/initrd.img" \
  -append "console=ttyAMA0 quiet loglevel=4 panic=-1" \
  -virtfs "local,path=$job,mount_tag=job,security_model=none,multidevs=remap" \
  </dev/null >"$job/out/qemu.log" 2>&1
qrc=$?
set -e
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
echo "$secs" > "$job/out/boot_seconds"
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
  echo "guest-arm64-run: TIMEOUT after ${timeout_s}s; job dir $job" >&2; tail -30 "$job/out/console.log" >&2; exit 124
fi
if [ ! -s "$job/out/rc" ]; then
  echo "guest-arm64-run: FAILED: no exit status (qemu rc $qrc); job dir $job" >&2
  cat "$job/out/qemu.log" >&2; tail -40 "$job/out/console.log" >&2
  [ -f "$job/out/init.log" ] && cat "$job/out/init.log" >&2
  exit 125
fi
rc=$(cat "$job/out/rc")
[ -f "$job/out/output.log" ] && cat "$job/out/output.log"
echo "guest-arm64-run: exit $rc after ${secs}s; job dir $job" >&2
exit "$rc"

#!/usr/bin/env bash
# Real-kernel benchmark: one boot of the QEMU guest with visl
# (visl_transtime_ms = simulated hardware time); our VA path (ffmpeg,
# GStreamer vah264dec; async and HANTRO_SYNC_DECODE=1) vs GStreamer's
# v4l2slh264dec on the same stream. Uses the bench-counters driver build.
#   scripts/bench-guest.sh [TRANSTIME_MS] [REPEAT]
#   BENCH_GUEST_SIZE=640x360 BENCH_GUEST_FRAMES=90
# Output: the job dir's out/bench.tsv (printed), see bench/guest-bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
ms=${1:-20}
rep=${2:-2}
size=${BENCH_GUEST_SIZE:-640x360}
frames=${BENCH_GUEST_FRAMES:-90}
export CARGO_TARGET_DIR="$root/target/bench"
scripts/uapi-link.sh
cargo build -q --release --features bench-counters -p hantro_drv_video
cache=${HANTRO_CACHE:-$HOME/.cache/hantro}/bench
mkdir -p "$cache"
stream="$cache/guest-$size-$frames.h264"
if [ ! -s "$stream" ]; then
    ffmpeg -v error -y -f lavfi -i "testsrc2=size=$size:rate=30" -frames:v "$frames" -c:v libx264 -preset veryfast \
        -pix_fmt yuv420p -x264-params keyint=60 "$stream.tmp.h264"
    mv "$stream.tmp.h264" "$stream"
fi
job=${BENCH_JOB:-$(mktemp -d "${TMPDIR:-/tmp}/hantro-bench-guest.XXXXXX")}
mkdir -p "$job/bench"
cp "$stream" "$job/bench/stream.h264"
gcc -O2 -o "$job/bench/va_init" bench/va_init.c $(pkg-config --cflags --libs libva libva-drm)
echo "job: $job (visl_transtime_ms=$ms, $size, $frames frames)"
HANTRO_DRIVER_SO="$CARGO_TARGET_DIR/release/libhantro_drv_video.so" VISL_PARAMS="visl_transtime_ms=$ms" \
    GUEST_TIMEOUT=${GUEST_TIMEOUT:-1500} scripts/guest-run.sh --job "$job" bench/guest-bench.sh bench/stream.h264 "$rep"
echo "--- $job/out/bench.tsv"
cat "$job/out/bench.tsv"

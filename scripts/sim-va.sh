#!/bin/sh
# Decode a file with ffmpeg's VA-API hwaccel through hantro_drv_video on the
# simulated device and compare with software decoding.
#   scripts/sim-va.sh in.h264 [personality]
# Env: any HANTRO_SIM_* knob (see simulator/README.md).
set -e
in="$1"; pers="${2:-hantro-g1}"
[ -n "$in" ] || { echo "usage: $0 in.h264 [hantro-g1|rkvdec|cedrus]" >&2; exit 2; }
cd "$(dirname "$0")/.."
root="$PWD"
[ -e target/uapi/include ] || { mkdir -p target/uapi && ln -sfn "$(scripts/uapi-headers.sh)" target/uapi/include; }
cargo build -q -p hantro_sim -p hantro_drv_video
drv="${TMPDIR:-/tmp}/hantro-sim-vadrv"
mkdir -p "$drv" && ln -sf "$root/target/debug/libhantro_drv_video.so" "$drv/hantro_drv_video.so"
out="${TMPDIR:-/tmp}/hantro-sim-va.md5"
ref="${TMPDIR:-/tmp}/hantro-sim-ref.md5"
ffmpeg -v error -y -i "$in" -f framemd5 "$ref"
HANTRO_SIM_PERSONALITY="$pers" LD_PRELOAD="$root/target/debug/libhantro_sim.so" \
LIBVA_DRIVER_NAME=hantro LIBVA_DRIVERS_PATH="$drv" \
    ffmpeg -v warning -hwaccel vaapi -hwaccel_device /dev/dri/renderD128 -hwaccel_output_format vaapi \
    -i "$in" -vf hwdownload,format=nv12 -pix_fmt yuv420p -f framemd5 -y "$out"
if diff -q "$ref" "$out" >/dev/null; then echo "bit-exact: $(grep -vc '^#' "$out") frames"; else diff "$ref" "$out" | head; exit 1; fi

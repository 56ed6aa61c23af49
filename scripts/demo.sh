#!/usr/bin/env bash
# The main job on a machine without a stateless decoder: build the driver and
# the decoder simulator, decode a clip through hantro_drv_video with a real
# VA client (ffmpeg -hwaccel vaapi) on the simulated hantro G1, and write
#   out/demo/frame.png    a decoded frame, as the VA path produced it
#   out/demo/report.txt   frames, bit-exact yes/no against software decode, fps
# Usage: scripts/demo.sh [clip.h264|.mp4] [hantro-g1|rkvdec|cedrus]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
clip=${1:-}
personality=${2:-hantro-g1}
out=$repo/out/demo
mkdir -p "$out"

scripts/setup-host.sh
cargo build --release -p hantro_drv_video -p hantro_sim >&2
stage=$repo/target/stage
mkdir -p "$stage"
cp -f target/release/libhantro_drv_video.so "$stage/hantro_drv_video.so"
sim=$repo/target/release/libhantro_sim.so

if [ -z "$clip" ]; then
  clip=$out/clip.h264
  if [ ! -s "$clip" ]; then
    # 3 s of 640x360 with B-frames (CABAC Main): a moving fractal zoom.
    ffmpeg -v error -y -f lavfi -i "mandelbrot=size=640x360:rate=25" -frames:v 75 \
      -pix_fmt yuv420p -c:v libx264 -profile:v main -preset medium -bf 2 -g 50 -threads 1 \
      -x264-params "bitexact=1" -bsf:v h264_mp4toannexb "$clip"
  fi
fi

# Software reference (libavcodec).
ffmpeg -v error -y -i "$clip" -f framemd5 "$out/software.framemd5"

# The VA path: ffmpeg -> libva -> hantro_drv_video -> V4L2 stateless uAPI
# (served by the simulator through LD_PRELOAD) -> DRM PRIME surfaces.
export LIBVA_DRIVER_NAME=hantro LIBVA_DRIVERS_PATH=$stage HANTRO_SIM_PERSONALITY=$personality
va=(ffmpeg -v error -y -hwaccel vaapi -hwaccel_device /dev/dri/renderD128 -hwaccel_output_format vaapi -i "$clip")
t0=$(date +%s.%N)
LD_PRELOAD=$sim "${va[@]}" -vf hwdownload,format=nv12 -pix_fmt yuv420p -f framemd5 "$out/va.framemd5"
t1=$(date +%s.%N)
LD_PRELOAD=$sim "${va[@]}" -vf "select=eq(n\,40),hwdownload,format=nv12" -frames:v 1 -update 1 "$out/frame.png"

frames=$(grep -vc '^#' "$out/va.framemd5" || true)
ref_frames=$(grep -vc '^#' "$out/software.framemd5" || true)
if diff -q <(grep -v '^#' "$out/software.framemd5") <(grep -v '^#' "$out/va.framemd5") >/dev/null; then exact=yes; else exact=no; fi
fps=$(awk -v n="$frames" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
{
  echo "clip:        $clip"
  echo "device:      simulated $personality (V4L2 stateless H.264, LD_PRELOAD simulator decoding with libavcodec)"
  echo "client:      $(ffmpeg -version | head -1 | cut -d' ' -f1-3) -hwaccel vaapi, driver $(strings "$stage/hantro_drv_video.so" | grep -m1 -o 'hantro_drv_video [0-9.]*')"
  echo "frames:      $frames decoded through VA, $ref_frames by software decode"
  echo "bit-exact:   $exact (every frame's md5 against libavcodec software decode)"
  echo "fps:         $fps (whole ffmpeg run incl. start-up, simulated decode without hardware delay)"
  echo "frame.png:   $out/frame.png (frame 40)"
} | tee "$out/report.txt"
[ "$exact" = yes ] && [ "$frames" -gt 0 ] && [ "$frames" = "$ref_frames" ]

#!/usr/bin/env bash
# Generate the VP8 test corpus deterministically with the host's ffmpeg +
# libvpx (one thread, synthetic lavfi sources), into OUTDIR. Nothing here
# goes into git: the corpus is regenerated (and cached by the callers) at
# test time.
#
# Usage: scripts/corpus-vp8.sh OUTDIR
# Output: OUTDIR/<name>.ivf and OUTDIR/manifest.tsv:
#         name<TAB>coded frames<TAB>width<TAB>height<TAB>what
# (coded frames counts hidden alt-ref frames too; ffmpeg shows fewer).
# Re-running is cheap: a stream whose file exists is kept (OUTDIR/.recipe
# holds the hash of this script; a different hash regenerates everything).
#
# Which libvpx settings make which feature (checked by the simulator's own
# header parse):
# * hidden alt-ref frames: -auto-alt-ref 1 with -lag-in-frames > 0 in a
#   2-pass encode (1-pass makes none) -- the ARF is coded with show_frame = 0,
#   sign_bias_alternate = 1, refresh_last = 0;
# * golden refresh and copy to altref (golden -> altref): every good-quality
#   stream without an active ARF refreshes golden periodically;
# * frames that refresh golden/altref only, not last: -ts-parameters with
#   3 temporal layers (ts_layering_mode=3);
# * segmentation (map + data updates, delta mode): -error-resilient default in
#   realtime mode (-deadline realtime) turns on libvpx's cyclic background
#   refresh, which codes segment 1 with a quantiser delta; also
#   refresh_entropy_probs = 0 on every frame;
# * static threshold: -static-thresh (more skipped macroblocks);
# * 2/4/8 token partitions: -slices 2/4/8 (log2 of it is the partition count);
# * loop-filter sharpness: -sharpness; mode/ref deltas: libvpx always
#   sends them on key frames (mode_ref_lf_delta_update);
# * quantiser deltas (y2dc, y2ac, uvdc): only at q index 0 (-qmin 0 -qmax 0);
# * versions 1 and 3 (simple loop filter, bilinear / full-pixel): -profile:v.
# Gaps: no libvpx setting makes absolute-value segment data
# (segment_feature_mode = 1), sign_bias_golden = 1, copy_buffer_to_golden,
# mb_no_skip_coeff = 0 or a horizontal/vertical scale code (tried: the
# settings above, -error-resilient, -static-thresh, temporal layers,
# near-lossless); the driver's unit tests (src/codecs/vp8/tests.rs) code
# them with their own bool encoder instead. The feature census is
# simulator/src/codecs/vp8/tests.rs.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
command -v ffmpeg >/dev/null || { echo "corpus-vp8: ffmpeg not found" >&2; exit 1; }
ffmpeg -hide_banner -h encoder=libvpx >/dev/null 2>&1 ||
  { echo "corpus-vp8: ffmpeg has no libvpx encoder" >&2; exit 1; }
recipe=$(sha256sum "$0" | cut -c1-16)
mkdir -p "$out"
if [ "$(cat "$out/.recipe" 2>/dev/null)" != "$recipe" ]; then
  rm -f "$out"/*.ivf "$out"/manifest.tsv
  echo "$recipe" > "$out/.recipe"
fi
manifest=$out/manifest.tsv.new
: > "$manifest"

# Frames in an IVF file (every coded frame, hidden ones included).
ivf_frames() {
  python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
hl = struct.unpack_from('<H', d, 6)[0]
p, n = hl, 0
while p + 12 <= len(d):
    sz = struct.unpack_from('<I', d, p)[0]
    p += 12 + sz
    n += 1
print(n)
EOF
}

# name frames WxH source "libvpx options" description
enc() {
  local name=$1 frames=$2 size=$3 src=$4 opts=$5 what=$6
  local w=${size%x*} h=${size#*x} f=$out/$name.ivf
  if [ ! -s "$f" ]; then
    local run=(ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1
      -f lavfi -i "$src" -frames:v "$frames" -pix_fmt yuv420p
      -map_metadata -1 -fflags +bitexact -flags +bitexact -c:v libvpx -threads 1)
    if [ "${PASSES:-1}" = 2 ]; then
      # shellcheck disable=SC2086
      "${run[@]}" $opts -pass 1 -passlogfile "$out/$name.pass" -f null -
      # shellcheck disable=SC2086
      "${run[@]}" $opts -pass 2 -passlogfile "$out/$name.pass" -f ivf "$f.tmp"
      rm -f "$out/$name".pass*
    else
      # shellcheck disable=SC2086
      "${run[@]}" $opts -f ivf "$f.tmp"
    fi
    mv "$f.tmp" "$f"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$(ivf_frames "$f")" "$w" "$h" "$what" >> "$manifest"
}

ts() { echo "testsrc2=size=$1:rate=25"; }
mb() { echo "mandelbrot=size=$1:rate=25"; }
# moving content with flat areas: cyclic refresh and static skips have work
mv_src() { echo "testsrc=size=$1:rate=25"; }

enc key_inter      16 320x240   "$(ts 320x240)" \
  "-b:v 400k -g 8 -deadline good -cpu-used 4" "key every 8 frames, inter frames"
PASSES=2 enc altref_hidden  24 320x240   "$(mb 320x240)" \
  "-b:v 300k -g 120 -deadline good -cpu-used 2 -auto-alt-ref 1 -lag-in-frames 16 -arnr-maxframes 5 -arnr-strength 3" \
  "2-pass: hidden alt-ref frames (auto-alt-ref, lag 16), golden/altref use"
PASSES=2 enc altref_long   60 320x240   "$(ts 320x240)" \
  "-b:v 250k -g 60 -deadline good -cpu-used 1 -auto-alt-ref 1 -lag-in-frames 25 -arnr-maxframes 7 -arnr-strength 5" \
  "2-pass: several hidden alt-ref frames, golden refreshes"
enc partitions2    10 320x240   "$(ts 320x240)" \
  "-b:v 500k -g 30 -slices 2 -deadline good -cpu-used 4" "2 token partitions"
enc partitions4    10 320x240   "$(ts 320x240)" \
  "-b:v 500k -g 30 -slices 4 -deadline good -cpu-used 4" "4 token partitions"
enc partitions8    10 352x288   "$(ts 352x288)" \
  "-b:v 600k -g 30 -slices 8 -deadline good -cpu-used 4" "8 token partitions"
enc error_res      20 320x240   "$(mv_src 320x240)" \
  "-b:v 300k -g 60 -error-resilient default -deadline realtime -cpu-used 8" \
  "error-resilient, realtime: cyclic-refresh segmentation, refresh_entropy_probs = 0"
enc segment_static 20 320x240   "$(mv_src 320x240)" \
  "-b:v 200k -g 60 -deadline realtime -cpu-used 8 -static-thresh 1000 -error-resilient default -noise-sensitivity 0" \
  "realtime, static threshold skips, segmentation"
enc sharpness      12 320x240   "$(mb 320x240)" \
  "-b:v 150k -g 60 -sharpness 5 -deadline good -cpu-used 4" "loop-filter sharpness 5"
enc temporal       18 320x240   "$(ts 320x240)" \
  "-b:v 300k -g 60 -deadline realtime -cpu-used 8 -ts-parameters ts_number_layers=3:ts_target_bitrate=100,200,300:ts_rate_decimator=4,2,1:ts_periodicity=4:ts_layer_id=0,2,1,2:ts_layering_mode=3" \
  "3 temporal layers: frames refreshing golden/altref only, not last"
enc near_lossless  8  176x144   "$(mb 176x144)" \
  "-qmin 0 -qmax 0 -b:v 20M -g 60 -deadline good -cpu-used 4" \
  "q index 0: libvpx codes y2dc/y2ac/uvdc quantiser deltas"
enc version3       8  176x144   "$(ts 176x144)" \
  "-b:v 200k -g 30 -profile:v 3 -deadline good -cpu-used 4" "version 3 (simple filter, full-pixel chroma)"
enc version1       8  176x144   "$(ts 176x144)" \
  "-b:v 200k -g 30 -profile:v 1 -deadline good -cpu-used 4" "version 1 (simple loop filter, bilinear)"
enc odd_size       12 210x142   "$(ts 210x142)" \
  "-b:v 300k -g 60 -deadline good -cpu-used 4" "210x142: not a multiple of 16"
enc full_hd        6  1920x1080 "$(ts 1920x1080)" \
  "-b:v 3000k -g 60 -deadline good -cpu-used 8 -slices 4" "1920x1080, 4 token partitions"
mv "$manifest" "$out/manifest.tsv"
echo "$out"

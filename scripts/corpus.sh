#!/usr/bin/env bash
# Generate the H.264 test corpus deterministically with the host's ffmpeg +
# libx264 (bit-exact flags, one thread, synthetic lavfi sources), plus the
# streams x264 cannot make (PAFF fields, long-term references, MMCO, POC
# types 1/2, wraps: gen_*, written by testplane's h264gen), into OUTDIR.
# Nothing here goes into git: the corpus is regenerated (and cached by the
# callers) at test time.
#
# Usage: scripts/corpus.sh OUTDIR
# Output: OUTDIR/<name>.h264 (raw Annex-B), OUTDIR/<name>.mp4 for a few, and
#         OUTDIR/manifest.tsv: name<TAB>frames<TAB>width<TAB>height<TAB>what
# Re-running is cheap: a stream whose file exists is kept (OUTDIR/.recipe
# holds the hash of this script; a different hash regenerates everything).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
command -v ffmpeg >/dev/null || { echo "corpus: ffmpeg not found" >&2; exit 1; }
ffmpeg -hide_banner -h encoder=libx264 >/dev/null 2>&1 ||
  { echo "corpus: ffmpeg has no libx264 encoder" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)
gen_src=("$repo/testplane/src/bin/h264gen.rs" "$repo/simulator/src/bits.rs")
recipe=$(cat "$0" "${gen_src[@]}" | sha256sum | cut -c1-16)
mkdir -p "$out"
if [ "$(cat "$out/.recipe" 2>/dev/null)" != "$recipe" ]; then
  rm -f "$out"/*.h264 "$out"/*.mp4 "$out"/manifest.tsv "$out"/*.cqm "$out"/gen.tsv
  echo "$recipe" > "$out/.recipe"
fi
manifest=$out/manifest.tsv.new
: > "$manifest"

# A custom (non-flat, non-JVT-default) scaling matrix set for x264's cqmfile.
cqm=$out/custom.cqm
gen_matrix() { # size seed
  local n=$1 s=$2 i v line=""
  for ((i = 0; i < n * n; i++)); do
    v=$(( 8 + ((i % n) + (i / n)) * 3 + (s * 7 + i * 5) % 6 ))
    line+="${v}"; [ $i -lt $((n * n - 1)) ] && line+=","
  done
  echo "$line"
}
{
  echo "INTRA4X4_LUMA ="; gen_matrix 4 1
  echo "INTRA4X4_CHROMAU ="; gen_matrix 4 2
  echo "INTRA4X4_CHROMAV ="; gen_matrix 4 3
  echo "INTER4X4_LUMA ="; gen_matrix 4 4
  echo "INTER4X4_CHROMAU ="; gen_matrix 4 5
  echo "INTER4X4_CHROMAV ="; gen_matrix 4 6
  echo "INTRA8X8_LUMA ="; gen_matrix 8 7
  echo "INTER8X8_LUMA ="; gen_matrix 8 8
} > "$cqm"

# name frames WxH source profile x264-params mp4(0/1) description
enc() {
  local name=$1 frames=$2 size=$3 src=$4 profile=$5 params=$6 mp4=$7 what=$8
  local w=${size%x*} h=${size#*x} f=$out/$name.h264
  if [ ! -s "$f" ]; then
    ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1 \
      -f lavfi -i "$src" -frames:v "$frames" -pix_fmt yuv420p \
      -map_metadata -1 -fflags +bitexact -flags +bitexact \
      -c:v libx264 -threads 1 -profile:v "$profile" \
      -x264-params "threads=1:lookahead-threads=1:sliced-threads=0:$params" \
      -f h264 "$f.tmp"
    mv "$f.tmp" "$f"
  fi
  if [ "$mp4" = 1 ] && [ ! -s "$out/$name.mp4" ]; then
    ffmpeg -nostdin -hide_banner -loglevel error -y -fflags +bitexact \
      -r 25 -i "$f" -c copy -map_metadata -1 -flags +bitexact \
      -movflags +faststart -f mp4 "$out/$name.mp4.tmp"
    mv "$out/$name.mp4.tmp" "$out/$name.mp4"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$frames" "$w" "$h" "$what" >> "$manifest"
}

ts() { echo "testsrc2=size=$1:rate=25"; }
mb() { echo "mandelbrot=size=$1:rate=25"; }

enc cavlc_baseline    16 320x240   "$(ts 320x240)" baseline \
  "cabac=0:bframes=0:ref=3:keyint=250" 1 "CAVLC, baseline, P only"
enc cabac_main_bpyr   17 320x240   "$(ts 320x240)" main \
  "cabac=1:bframes=3:b-pyramid=normal:b-adapt=0:ref=4:weightp=0:weightb=0:8x8dct=0" 1 \
  "CABAC main, 3 B-frames, B-pyramid"
enc high_8x8_cqm      12 320x240   "$(mb 320x240)" high \
  "8x8dct=1:cqmfile=$cqm:bframes=2:ref=2" 0 "High, 8x8 transform, custom scaling matrices"
enc weightp_explicit  16 320x240   "$(ts 320x240),fade=in:0:16" main \
  "weightp=2:bframes=0:ref=3" 0 "explicit weighted prediction (fade)"
enc weightb_implicit  17 320x240   "$(ts 320x240),fade=out:0:17" main \
  "weightp=0:weightb=1:bframes=3:b-adapt=0:b-pyramid=none:ref=3" 0 "implicit weighted bi-prediction"
enc slices4           12 320x240   "$(ts 320x240)" main \
  "slices=4:bframes=1:ref=2" 0 "4 slices per picture"
enc mbaff             12 320x240   "$(ts 320x240)" main \
  "interlaced=1:tff=1:bframes=2:ref=2" 0 "MBAFF interlaced"
enc ref16             24 176x144   "$(mb 176x144)" high \
  "ref=16:bframes=0:level=4.1:keyint=250" 0 "16 reference frames"
enc idr_mid           20 320x240   "$(ts 320x240)" main \
  "keyint=8:min-keyint=8:scenecut=0:bframes=2:b-adapt=0:ref=3" 0 "IDR every 8 frames (mid-stream IDRs)"
enc full_hd           10 1920x1080 "$(ts 1920x1080)" high \
  "bframes=2:ref=3" 1 "1920x1080 (1088 coded, cropped)"
enc odd_size          12 210x142   "$(ts 210x142)" main \
  "bframes=1:ref=2" 0 "210x142: not a multiple of 16 (cropped)"
# The generated streams (tiny build of its own target dir: no lock shared
# with a cargo that may be running the tests that called this script).
if [ ! -s "$out/gen.tsv" ]; then
  cargo build --release -q -p testplane --bin h264gen --manifest-path "$repo/Cargo.toml" \
    --target-dir "$repo/target/corpus-tools" >&2
  "$repo/target/corpus-tools/release/h264gen" "$out" > "$out/gen.tsv.tmp"
  mv "$out/gen.tsv.tmp" "$out/gen.tsv"
fi
cat "$out/gen.tsv" >> "$manifest"
mv "$manifest" "$out/manifest.tsv"
echo "$out"

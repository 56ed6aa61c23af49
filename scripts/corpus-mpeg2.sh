#!/usr/bin/env bash
# Generate the MPEG-2 test corpus deterministically with the host's ffmpeg
# (its mpeg2video encoder: bit-exact flags, one thread, synthetic lavfi
# sources), into OUTDIR. Nothing here goes into git.
#
# Usage: scripts/corpus-mpeg2.sh OUTDIR
# Output: OUTDIR/<name>.m2v (MPEG-2 elementary streams) and
#         OUTDIR/manifest.tsv: name<TAB>frames<TAB>width<TAB>height<TAB>what
# A stream whose file exists is kept (OUTDIR/.recipe holds the hash of this
# script; a different hash regenerates everything).
#
# Gaps (no encoder in the registries produces them; ffmpeg's mpeg2video is
# the only MPEG-2 encoder there): field pictures (picture_structure top or
# bottom: mpeg2video codes frame pictures only, interlaced or not),
# repeat_first_field (mpeg2video sets it only for frames with repeat_pict,
# which no lavfi source or filter produces) and concealment_motion_vectors
# (mpeg2video always writes 0).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
command -v ffmpeg >/dev/null || { echo "corpus-mpeg2: ffmpeg not found" >&2; exit 1; }
ffmpeg -hide_banner -h encoder=mpeg2video >/dev/null 2>&1 ||
  { echo "corpus-mpeg2: ffmpeg has no mpeg2video encoder" >&2; exit 1; }
recipe=$(sha256sum "$0" | cut -c1-16)
mkdir -p "$out"
if [ "$(cat "$out/.recipe" 2>/dev/null)" != "$recipe" ]; then
  rm -f "$out"/*.m2v "$out"/manifest.tsv
  echo "$recipe" > "$out/.recipe"
fi
manifest=$out/manifest.tsv.new
: > "$manifest"

# 64 comma-separated matrix entries (zigzag order as ffmpeg takes them;
# the first intra entry must be 8).
matrix() { # seed first
  local s=$1 first=$2 i v line=""
  for ((i = 0; i < 64; i++)); do
    if [ $i -eq 0 ]; then v=$first; else v=$(( 10 + i + (s * 13 + i * 7) % 11 )); fi
    line+="$v"; [ $i -lt 63 ] && line+=","
  done
  echo "$line"
}

# name frames WxH source filter "encoder options" description
enc() {
  local name=$1 frames=$2 size=$3 src=$4 vf=$5 opts=$6 what=$7
  local w=${size%x*} h=${size#*x} f=$out/$name.m2v
  if [ ! -s "$f" ]; then
    # shellcheck disable=SC2086
    ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1 \
      -f lavfi -i "$src" -frames:v "$frames" -vf "$vf" -pix_fmt yuv420p \
      -map_metadata -1 -fflags +bitexact -flags +bitexact \
      -c:v mpeg2video -threads 1 $opts -f mpeg2video "$f.tmp"
    mv "$f.tmp" "$f"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$frames" "$w" "$h" "$what" >> "$manifest"
}

ts() { echo "testsrc2=size=$1:rate=25"; }
mb() { echo "mandelbrot=size=$1:rate=25"; }
pal=720x576

enc simple_ip          20 $pal "$(ts $pal)" null \
  "-profile:v 5 -level:v 8 -bf 0 -g 10 -b:v 4M" "Simple profile, I/P only"
enc main_closed_gop    25 $pal "$(ts $pal)" null \
  "-bf 2 -g 12 -flags +cgop+bitexact -sc_threshold 1000000000 -b:v 5M" "Main, I/P/B, closed GOPs of 12"
enc main_open_gop      30 $pal "$(mb $pal)" null \
  "-bf 2 -g 9 -b:v 5M" "Main, I/P/B, open GOPs of 9"
enc interlaced_tff     20 $pal "$(ts $pal)" setfield=tff \
  "-flags +ildct+ilme+bitexact -bf 2 -g 12 -b:v 6M" "interlaced frame pictures, top field first"
enc interlaced_bff     20 $pal "$(mb $pal)" setfield=bff \
  "-flags +ildct+ilme+bitexact -bf 2 -g 12 -b:v 6M" "interlaced frame pictures, bottom field first"
enc altscan_nlq_ivlc   20 $pal "$(ts $pal)" setfield=tff \
  "-flags +ildct+ilme+bitexact -alternate_scan 1 -non_linear_quant 1 -intra_vlc 1 -dc 10 -bf 2 -g 12 -qmax 28 -qscale:v 6" \
  "alternate_scan, q_scale_type (non-linear), intra_vlc_format, intra_dc_precision 10 bits"
enc custom_matrices    20 $pal "$(mb $pal)" null \
  "-intra_matrix $(matrix 1 8) -inter_matrix $(matrix 2 16) -bf 2 -g 12 -b:v 5M" \
  "custom intra and non-intra quantiser matrices"
enc full_hd            10 1920x1080 "$(ts 1920x1080)" null \
  "-bf 2 -g 12 -b:v 15M" "1920x1080 (1088 coded)"
enc odd_size           12 210x142 "$(ts 210x142)" null \
  "-bf 1 -g 6 -b:v 1M" "210x142: not a multiple of 16 (cropped)"
mv "$manifest" "$out/manifest.tsv"
echo "$out"

#!/usr/bin/env bash
# Generate the HEVC test corpus deterministically with the host's ffmpeg +
# libx265 (one thread, no frame threads, synthetic lavfi sources), into
# OUTDIR as Annex-B elementary streams. Nothing here goes into git: the
# corpus is regenerated (and cached by the callers) at test time.
#
# Usage: scripts/corpus-hevc.sh OUTDIR
# Output: OUTDIR/<name>.hevc and OUTDIR/manifest.tsv:
#         name<TAB>decoded frames<TAB>width<TAB>height<TAB>what
# Re-running is cheap: a stream whose file exists is kept (OUTDIR/.recipe
# holds the hash of this script; a different hash regenerates everything).
#
# Which x265 settings make which feature:
# * (an all-intra stream is left out: x265 signals it as the RExt
#   Main Intra profile, which has no VA profile)
# * WPP (entropy_coding_sync, entry points): x265's default (wpp=1);
#   no-wpp streams have none;
# * sign data hiding: x265's default (signhide=1);
# * CRA / open GOP with RASL pictures: open-gop=1 (default) with a short
#   keyint; closed GOP with IDR_W_RADL: open-gop=0; RADL pictures: radl=2;
# * B pyramid over a long GOP: bframes=4:b-pyramid=1:keyint=60;
# * several slices per picture: slices=4, with pools=1 (one worker
#   thread; still deterministic): with pools=none x265 3.5 writes
#   multi-slice streams with CABAC errors (FFmpeg reports out-of-range
#   cu_qp_delta, and single- and frame-threaded decodes differ) or crashes;
# * scaling lists: scaling-list=default (the default lists, sent in the
#   SPS) and a custom HM-format list file written here;
# * weighted prediction: weightp/weightb on a fading source;
# * transform skip: tskip=1; transquant bypass: lossless=1;
# * SAO off, deblocking off / with offsets, AMP, constrained intra;
# * conformance-window cropping: 318x238 (coded 320x240);
# * one 1920x1080 stream (conformance window: coded 1920x1088).
# Gaps (no encoder on this host makes them; tried libx265 3.5 options):
# tiles and dependent slice segments (x265 has neither; kvazaar from
# Debian trixie makes tiles but is not wired in yet), long-term reference
# pictures, PCM, num_extra_slice_header_bits > 0, pic_output_flag,
# BLA pictures (IDR_N_LP: x265 writes it for IDRs without leading
# pictures, e.g. in slices4), scaling-list prediction from a reference list
# (x265 writes every list explicitly), 10-bit (the driver has no 10-bit
# surfaces yet).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
command -v ffmpeg >/dev/null || { echo "corpus-hevc: ffmpeg not found" >&2; exit 1; }
ffmpeg -hide_banner -h encoder=libx265 >/dev/null 2>&1 ||
  { echo "corpus-hevc: ffmpeg has no libx265 encoder" >&2; exit 1; }
recipe=$(sha256sum "$0" | cut -c1-16)
mkdir -p "$out"
if [ "$(cat "$out/.recipe" 2>/dev/null)" != "$recipe" ]; then
  rm -f "$out"/*.hevc "$out"/manifest.tsv
  echo "$recipe" > "$out/.recipe"
fi
manifest=$out/manifest.tsv.new
: > "$manifest"

# A custom scaling list in HM's format (intra/inter lists of each size and
# the DC values), flat 16 bent towards the high frequencies.
sl=$out/custom-scaling.txt
python3 - "$sl" <<'EOF'
import sys
rows = []
def lst(n, base, slope):
    return [min(255, base + slope * (i // n + i % n)) for i in range(n * n)]
names = {4: "4X4", 8: "8X8", 16: "16X16", 32: "32X32"}
for size in (4, 8, 16, 32):
    for kind in ("INTRA", "INTER"):
        for comp in ("LUMA", "CHROMAU", "CHROMAV"):
            if size == 32 and comp != "LUMA":
                continue
            n = min(size, 8)
            base = 16 if kind == "INTRA" else 18
            rows.append(f"{kind}{names[size]}_{comp} =")
            v = lst(n, base, 2 if comp == "LUMA" else 3)
            for r in range(n):
                rows.append(", ".join(str(x) for x in v[r * n:(r + 1) * n]))
            if size >= 16:
                rows.append(f"{kind}{names[size]}_{comp}_DC =")
                rows.append(str(base + 4))
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
EOF

# name frames WxH source "x265-params" description
enc() {
  local name=$1 frames=$2 size=$3 src=$4 params=$5 what=$6
  local w=${size%x*} h=${size#*x} f=$out/$name.hevc
  if [ ! -s "$f" ]; then
    ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1 \
      -f lavfi -i "$src" -frames:v "$frames" -pix_fmt yuv420p \
      -map_metadata -1 -fflags +bitexact -flags +bitexact -c:v libx265 \
      -x265-params "log-level=error:pools=none:frame-threads=1:$params" -f hevc "$f.tmp"
    # a stream libavcodec decodes differently single- and frame-threaded
    # is broken (not a reference): refuse it
    local a b
    a=$(ffmpeg -v error -threads 1 -i "$f.tmp" -f framemd5 - | md5sum)
    b=$(ffmpeg -v error -threads 4 -i "$f.tmp" -f framemd5 - | md5sum)
    [ "$a" = "$b" ] || { echo "corpus-hevc: $name decodes differently with 1 and 4 threads" >&2; exit 1; }
    mv "$f.tmp" "$f"
  fi
  local n
  n=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$f")
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$n" "$w" "$h" "$what" >> "$manifest"
}

ts() { echo "testsrc2=size=$1:rate=25"; }
mb() { echo "mandelbrot=size=$1:rate=25"; }
fade() { echo "testsrc2=size=$1:rate=25,fade=in:0:12"; }

enc ip_closed     12 320x240 "$(ts 320x240)" "preset=fast:keyint=6:open-gop=0:bframes=0" "closed GOPs (IDR_W_RADL), P pictures"
enc open_gop      24 320x240 "$(mb 320x240)" "preset=fast:keyint=8:min-keyint=8:open-gop=1:bframes=3" "CRA every 8 with RASL pictures, B frames"
enc b_pyramid     32 320x240 "$(ts 320x240)" "preset=medium:keyint=60:bframes=4:b-pyramid=1:ref=4" "long GOP, B pyramid, 4 references"
enc radl          16 320x240 "$(ts 320x240)" "preset=fast:keyint=8:open-gop=0:bframes=3:radl=2" "IDR with RADL pictures"
enc slices4       10 320x240 "$(ts 320x240)" "pools=1:preset=fast:keyint=30:slices=4:bframes=2" "4 slices per picture (one x265 pool thread: see the header)"
enc no_wpp        10 320x240 "$(ts 320x240)" "preset=fast:keyint=30:wpp=0:bframes=2" "no WPP: no entry points"
enc scaling_def   8  320x240 "$(mb 320x240)" "preset=fast:keyint=30:scaling-list=default" "default scaling lists"
enc scaling_custom 8 320x240 "$(mb 320x240)" "preset=fast:keyint=30:scaling-list=$sl" "custom scaling lists (SPS)"
enc weighted      16 320x240 "$(fade 320x240)" "preset=medium:keyint=30:bframes=3:weightp=1:weightb=1" "weighted prediction (P and B) on a fade"
enc tskip         8  320x240 "$(ts 320x240)" "preset=slow:keyint=30:tskip=1:bframes=0" "transform skip"
enc lossless      4  320x240 "$(ts 320x240)" "preset=fast:keyint=30:lossless=1:bframes=0" "lossless: transquant bypass"
enc filters       10 320x240 "$(mb 320x240)" "preset=fast:keyint=30:sao=0:deblock=2,-2:amp=1:rect=1:constrained-intra=1" "no SAO, deblocking offsets, AMP, constrained intra"
enc no_deblock    8  320x240 "$(ts 320x240)" "preset=fast:keyint=30:deblock=0:bframes=2" "deblocking disabled"
enc cropped       10 318x238 "$(ts 318x238)" "preset=fast:keyint=30:bframes=2" "318x238: conformance-window cropping"
enc full_hd       4  1920x1080 "$(ts 1920x1080)" "preset=ultrafast:keyint=30:bframes=1" "1920x1080 (coded 1920x1088)"
mv "$manifest" "$out/manifest.tsv"
echo "$out"

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
# Field pictures: ffmpeg's mpeg2video (the only MPEG-2 encoder in the
# registries) codes frame pictures only, interlaced or not, so the stream
# field_pictures is written by the generator below (python3, the MPEG-2
# syntax by hand: I/P field pairs, intra DC-only and zero-motion field
# predicted macroblocks, P fields predicting from the same frame's first
# field too). Gaps (nothing produces them): repeat_first_field (mpeg2video
# sets it only for frames with repeat_pict, which no lavfi source or filter
# produces), concealment_motion_vectors (mpeg2video always writes 0), and
# field B pictures.
#
# manifest columns: name, frames, width, height, what, pictures (coded
# pictures: two per frame for field pictures).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
command -v ffmpeg >/dev/null || { echo "corpus-mpeg2: ffmpeg not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "corpus-mpeg2: python3 not found (field-picture generator)" >&2; exit 1; }
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
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$frames" "$w" "$h" "$what" "$frames" >> "$manifest"
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
f=$out/field_pictures.m2v
if [ ! -s "$f" ]; then
  python3 - "$f.tmp" 352 288 8 <<'PY'
# MPEG-2 field-picture stream generator (ISO/IEC 13818-2 syntax written by
# hand): 4:2:0 Main profile, every frame coded as two field pictures (top
# first), the first field of frame 0 an I field, every other field a P field
# whose macroblocks are either intra (DC only) or forward field-predicted
# with zero motion from a field chosen per macroblock (the same frame's
# first field included). Deterministic.
import sys
W, H, FRAMES = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = bytearray()
class BW:
    def __init__(s): s.b = bytearray(); s.c = 0; s.n = 0
    def put(s, n, v):
        for i in range(n - 1, -1, -1):
            s.c = s.c << 1 | (v >> i & 1); s.n += 1
            if s.n == 8: s.b.append(s.c); s.c = 0; s.n = 0
    def bits(s, t):
        for ch in t: s.put(1, ch == '1')
    def start(s, code):
        while s.n: s.put(1, 0)
        s.b += bytes([0, 0, 1, code])
w = BW()
LUMA = ['100', '00', '01', '101', '110', '1110', '11110', '111110', '1111110']
CHROMA = ['00', '01', '10', '110', '1110', '11110', '111110', '1111110', '11111110']
def dc(table, pred, val):
    d = val - pred
    size = abs(d).bit_length()
    w.bits(table[size])
    if size:
        w.put(size, d if d > 0 else d + (1 << size) - 1)
    return val
mbw, mbh = (W + 15) // 16, (H + 31) // 32  # field rows
w.start(0xB3); w.put(12, W); w.put(12, H); w.put(4, 2); w.put(4, 3)
w.put(18, 20000); w.put(1, 1); w.put(10, 112); w.put(1, 0); w.put(1, 0); w.put(1, 0)
w.start(0xB5); w.put(4, 1); w.put(8, 0x48); w.put(1, 0); w.put(2, 1); w.put(2, 0); w.put(2, 0)
w.put(12, 0); w.put(1, 1); w.put(8, 0); w.put(1, 0); w.put(2, 0); w.put(5, 0)
w.start(0xB8); w.put(25, 1 << 12); w.put(1, 1); w.put(1, 0)  # time_code (marker bit set), closed_gop
for k in range(FRAMES):
    for field in (1, 2):  # top, bottom
        intra_pic = k == 0 and field == 1
        w.start(0x00); w.put(10, k); w.put(3, 1 if intra_pic else 2); w.put(16, 0xFFFF)
        if not intra_pic:
            w.put(1, 0); w.put(3, 7)
        w.put(1, 0)
        w.start(0xB5); w.put(4, 8)
        for f in ((15, 15, 15, 15) if intra_pic else (1, 1, 15, 15)):
            w.put(4, f)
        w.put(2, 0); w.put(2, field)
        w.put(1, 0); w.put(1, 0); w.put(1, 0); w.put(1, 0); w.put(1, 0); w.put(1, 0); w.put(1, 0)
        w.put(1, 0); w.put(1, 0); w.put(1, 0)  # chroma_420_type, progressive_frame, composite
        for row in range(mbh):
            w.start(row + 1); w.put(5, 8); w.put(1, 0)
            pred = [128, 128, 128]
            for x in range(mbw):
                w.put(1, 1)  # macroblock_address_increment 1
                intra = intra_pic or (x + row + k + field) % 5 == 0
                if intra:
                    w.bits('1' if intra_pic else '00011')
                    base = (x * 9 + row * 13 + k * 21 + field * 40) % 200 + 20
                    for b in range(4):
                        pred[0] = dc(LUMA, pred[0], (base + b * 7) % 256)
                        w.bits('10')
                    pred[1] = dc(CHROMA, pred[1], (base * 3 + k * 5) % 200 + 28); w.bits('10')
                    pred[2] = dc(CHROMA, pred[2], (255 - base) % 200 + 28); w.bits('10')
                else:
                    pred = [128, 128, 128]
                    w.bits('001')      # MC, not coded
                    w.bits('01')       # field_motion_type: field
                    # the same frame's first field (top) is the only field
                    # there is for the second field of frame 0
                    sel = 0 if (k == 0 and field == 2) else (x + k) & 1
                    w.put(1, sel)
                    w.bits('1'); w.bits('1')  # motion_code 0, 0
w.start(0xB7)
open(sys.argv[1], 'wb').write(bytes(w.b))
PY
  mv "$f.tmp" "$f"
fi
printf '%s\t%s\t%s\t%s\t%s\t%s\n' field_pictures 8 352 288 "field pictures (generated): I/P top+bottom field pairs" 16 >> "$manifest"
mv "$manifest" "$out/manifest.tsv"
echo "$out"

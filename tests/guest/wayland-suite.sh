#!/bin/sh
# Guest script: the zero-copy path of the VA driver in a real compositor.
# weston 14 (headless backend, GL renderer on llvmpipe over vgem's
# /dev/dri/renderD128, kiosk shell, --debug for the screenshooter) shows
# dmabufs exported by our driver (decoding on visl); screenshots are compared
# with the surfaces read back through vaGetImage (limited-range BT.601).
#
# Parts (default: all):
#   client   tests/guest/wayland/dmabuf-check.c: every surface exported with
#            COMPOSED_LAYERS and with SEPARATE_LAYERS, shown through
#            zwp_linux_dmabuf_v1, screenshot == vaGetImage (frames whose
#            CAPTURE buffer is exported for the first time); H.264, VP8
#            (/job/vp8corpus) and MPEG-2 (/job/corpus-mpeg2) streams
#   reexport re-shows: 8 frames of cavlc_baseline in 6 surfaces, so later
#            frames are shown from buffers shown before; screenshot and the
#            client's mmap of the export == vaGetImage (see part_reexport)
#   mpv      mpv --hwdec=vaapi --vo=dmabuf-wayland: screenshot == one decoded
#            frame, the driver decoded at least the pictures shown (driver
#            log, HANTRO_LOG=$DECODED_LOG), no fallback/decode error, no
#            export error; then a full unpaused playback: exit 0, every frame
#            decoded through the driver (gdb backtrace if it crashes)
#   gst      GStreamer vah264dec ! waylandsink (GST_VA_ALL_DRIVERS=1): DMABuf
#            caps negotiated, screenshot == one decoded frame
#   firefox  firefox-esr plays a local H.264 <video>: vaapitest, only the RDD
#            process decoded through the driver (driver log), at least the
#            pictures that reached the screen, screenshot shows video
#            content, no crash
# Needs /job/wayland/ (a copy of tests/guest/wayland/) and /job/driver.
# Results: out/wayland-results.tsv (part, check, PASS|FAIL, detail), logs and
# screenshots in out/. Exit 0 only if every check passed.
#
# Host: mkdir -p J && cp -r tests/guest/wayland J/ &&
#       GUEST_TIMEOUT=1800 scripts/guest-run.sh --job J tests/guest/wayland-suite.sh [PART...]
set -u
. /job/lib.sh
cd /job
SRC=/job/wayland
B=/tmp/wl
OUT=/job/out
RES=$OUT/wayland-results.tsv
: > "$RES"
mkdir -p "$B"
[ $# -gt 0 ] || set -- client reexport mpv gst firefox
fails=0
result() { # part check PASS|FAIL detail
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$RES"
  echo "RESULT $1 $2 $3 $4"
  [ "$3" = PASS ] || [ "$3" = INFO ] || fails=$((fails + 1))
}
[ -f driver/hantro_drv_video.so ] || { echo "no driver in /job/driver"; exit 1; }
[ -d "$SRC" ] || { echo "no $SRC (copy tests/guest/wayland into the job dir)"; exit 1; }

# ---- versions -------------------------------------------------------------
{
  echo "weston: $(weston --version 2>&1 | head -1)"
  echo "mpv: $(mpv --version 2>/dev/null | head -1)"
  echo "gstreamer: $(gst-launch-1.0 --version 2>/dev/null | sed -n 2p)"
  echo "firefox: $(firefox-esr --version 2>/dev/null | head -1)"
  echo "mesa: $(dpkg-query -W -f='${Version}' libgl1-mesa-dri 2>/dev/null)"
  echo "ffmpeg: $(ffmpeg -version 2>/dev/null | head -1)"
  echo "libva: $(dpkg-query -W -f='${Version}' libva2 2>/dev/null)"
} | tee "$OUT/client-versions.txt"
# the guest's package versions (guest-init.sh: out/versions.txt)
sed 's/^/package: /' "$OUT/versions.txt"

# ---- build the helpers ---------------------------------------------------------
t0=$(date +%s)
P=/usr/share/wayland-protocols
xdg=$P/stable/xdg-shell/xdg-shell.xml
dmx=$P/unstable/linux-dmabuf/linux-dmabuf-unstable-v1.xml
if ! {
  gcc -O2 -Wall -shared -fPIC -o $B/dumbmap-shim.so $SRC/dumbmap-shim.c -ldl &&
  gcc -O2 -Wall -o $B/png2rgb $SRC/png2rgb.c "$(gcc -print-file-name=libz.so.1)" &&
  wayland-scanner client-header $xdg $B/xdg-shell-client-protocol.h &&
  wayland-scanner private-code $xdg $B/xdg-shell-protocol.c &&
  wayland-scanner client-header $dmx $B/linux-dmabuf-unstable-v1-client-protocol.h &&
  wayland-scanner private-code $dmx $B/linux-dmabuf-protocol.c &&
  gcc -O2 -Wall -I$B -o $B/dmabuf-check $SRC/dmabuf-check.c $B/xdg-shell-protocol.c $B/linux-dmabuf-protocol.c \
    $(pkg-config --cflags --libs wayland-client libva libavcodec libavformat libavutil) -lm
} > $OUT/build.log 2>&1; then
  cat $OUT/build.log
  result build helpers FAIL "compilation failed (out/build.log)"
  exit 1
fi
echo "helpers built in $(( $(date +%s) - t0 ))s"

# SHOT BASE: screenshot of the whole output -> BASE.png, BASE.rgb (RGB24), BASE.size "W H"
cat > $B/shot.sh <<'SH'
#!/bin/sh
base=$1
d=$(mktemp -d /tmp/shot.XXXXXX)
cd "$d" || exit 1
HOME=$d weston-screenshooter > "$base.shooter.log" 2>&1 || { cat "$base.shooter.log" >&2; exit 1; }
f=$(ls "$d"/*.png 2>/dev/null | head -1)
[ -n "$f" ] || { echo "shot.sh: weston-screenshooter wrote no png" >&2; exit 1; }
mv "$f" "$base.png"
# PNG -> RGB24 + "W H" (png2rgb.c; one small process, not ffprobe + ffmpeg)
"$(dirname "$0")/png2rgb" "$base.png" "$base.rgb" "$base.size" || exit 1
rm -rf "$d"
SH
chmod +x $B/shot.sh

WPID=
start_weston() { # NAME W H [SHELL: kiosk (default) | desktop]
  stop_weston
  export WAYLAND_DISPLAY=wl-$1
  rm -f "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY"
  LD_PRELOAD=$B/dumbmap-shim.so DUMBMAP_SHIM_LOG=1 weston --backend=headless --renderer="${WESTON_RENDERER:-gl}" --shell="${4:-kiosk}" \
    --width="$2" --height="$3" --debug --socket="$WAYLAND_DISPLAY" --idle-time=0 --no-config \
    --log="$OUT/weston-$1.log" > "$OUT/weston-$1.out" 2>&1 &
  WPID=$!
  WNAME=$1
  i=0
  while [ ! -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY" ]; do
    i=$((i + 1))
    if [ $i -gt 120 ] || ! kill -0 $WPID 2>/dev/null; then
      echo "weston did not start:"; cat "$OUT/weston-$1.log" "$OUT/weston-$1.out"
      WPID=
      return 1
    fi
    sleep 0.5
  done
  sleep 1
  grep -E 'dmabuf|renderer|EGL|GL_RENDERER' "$OUT/weston-$1.log" | head -8
  return 0
}
stop_weston() {
  [ -n "$WPID" ] || return 0
  if ! kill -0 $WPID 2>/dev/null; then
    wait $WPID; rc=$?
    result weston "$WNAME alive" FAIL "weston exited (status $rc) before the end of its part"
  else
    kill $WPID; wait $WPID 2>/dev/null
  fi
  WPID=
}

# wait (up to $2 s) until file $1 contains regex $3
wait_log() { # FILE SECONDS REGEX: wait (guest time, not iterations: under TCG
  # an iteration takes well over 0.5 s) until a line of FILE matches REGEX
  t_end=$(awk -v s="$2" '{printf "%d", $1 + s}' /proc/uptime)
  while ! grep -qE "$3" "$1" 2>/dev/null; do
    [ "$(cut -d. -f1 /proc/uptime)" -ge "$t_end" ] && return 1; sleep 0.5
  done
  return 0
}

size_of() { awk -v s="$1" '$1 == s {print $3, $4}' corpus/manifest.tsv; }

# ---- part: client ----------------------------------------------------------------
# Streams: NAME:FRAMES (corpus/NAME.h264) or DIR/FILE:FRAMES for the other
# codecs' corpora staged in the job (check name FILE, e.g.
# odd_size.ivf; size from DIR/manifest.tsv).
part_client() {
  for spec in ${CLIENT_STREAMS:-cavlc_baseline:2 odd_size:2 cabac_main_bpyr:2 full_hd:1 \
      vp8corpus/odd_size.ivf:2 vp8corpus/altref_hidden.ivf:2 corpus-mpeg2/interlaced_tff.m2v:2 corpus-mpeg2/odd_size.m2v:2}; do
    f=${spec%%:*}; n=${spec#*:}
    case $f in
      */*) dir=${f%/*}; s=${f##*/} ;;
      *) dir=corpus; s=$f; f=corpus/$f.h264 ;;
    esac
    set -- $(awk -v s="${s%.*}" '$1 == s {print $3, $4}' "$dir/manifest.tsv"); w=$1; h=$2
    [ -f "$f" ] && [ -n "$w" ] || { result client "$s" FAIL "no $f in the job (or not in $dir/manifest.tsv)"; continue; }
    start_weston "client-$s" "$w" "$h" || { result client "$s" FAIL "weston did not start"; continue; }
    mkdir -p "$OUT/client-$s"
    va_env DMABUF_CHECK_TOL=${DMABUF_CHECK_TOL:-0} $B/dmabuf-check "$f" "$n" composed,separate \
      "$OUT/client-$s" $B/shot.sh > "$OUT/client-$s.log" 2>&1
    rc=$?
    cat "$OUT/client-$s.log"
    nchk=$(grep -c '^CHECK.*result=PASS' "$OUT/client-$s.log")
    want=$((n * 2))
    if [ $rc = 0 ] && [ "$nchk" = "$want" ]; then
      result client "$s" PASS "$nchk/$want screenshots equal vaGetImage ($(grep -o 'maxdiff=[0-9]*' "$OUT/client-$s.log" | sort -u | tr '\n' ' '))"
    else
      result client "$s" FAIL "rc=$rc, $nchk/$want checks passed"
    fi
    stop_weston
    grep -c 'dumbmap-shim: map' "$OUT/weston-client-$s.out" | sed "s/^/dumbmap-shim maps served for $s: /"
  done
}

# Re-shows: a CAPTURE buffer shown, decoded into again, shown again. Only 6
# surfaces (DMABUF_CHECK_POOL), so frames 6 and 7 of cavlc_baseline go into
# surfaces shown before (RESHOW lines). Each showing: a fresh export, a new
# wl_buffer, screenshot == vaGetImage pixel for pixel, and the export mapped
# by the client equals vaGetImage (MMAP). PASS needs all 8 checks, all 8
# mmaps and at least one re-show. (The old INFO finding "frame 2 shows
# frame 0" was dumbmap-shim mapping a recycled GEM handle to the previous
# dma_buf; part reshow-probe has the differential evidence.)
part_reexport() {
  s=cavlc_baseline
  set -- $(size_of "$s"); w=$1; h=$2
  make_refs "$s" || { result reexport refs FAIL "reference decode failed"; return; }
  start_weston reexport "$w" "$h" || { result reexport weston FAIL "weston did not start"; return; }
  mkdir -p "$OUT/reexport"
  va_env DMABUF_CHECK_POOL=6 DMABUF_CHECK_MMAP=1 $B/dmabuf-check "corpus/$s.h264" 8 composed "$OUT/reexport" $B/shot.sh > "$OUT/reexport.log" 2>&1
  rc=$?
  grep -E '^(CHECK|MMAP|RESHOW|SUMMARY|INFO surface)|dmabuf-check:' "$OUT/reexport.log"
  npass=$(grep -c '^CHECK.*result=PASS' "$OUT/reexport.log")
  nmmap=$(grep -c '^MMAP.*result=PASS' "$OUT/reexport.log")
  nre=$(grep -c '^RESHOW' "$OUT/reexport.log")
  detail=""
  for f in $(sed -n 's/^RESHOW frame=\([0-9]*\) .*/\1/p' "$OUT/reexport.log"); do
    m=$($B/dmabuf-check --match "$OUT/reexport/shot-$f-composed" "$OUT/ref-$s" | sed 's/.*best=\(frame[0-9]*\).*maxdiff=\([0-9]*\).*/\1 maxdiff \2/')
    detail="$detail re-shown frame $f shows $m;"
  done
  if [ $rc = 0 ] && [ "$npass" = 8 ] && [ "$nmmap" = 8 ] && [ "$nre" -ge 1 ]; then
    result reexport cavlc_baseline PASS "$npass/8 screenshots and $nmmap/8 client mmaps equal vaGetImage, $nre re-shows of a surface shown before;$detail"
  else
    result reexport cavlc_baseline FAIL "rc=$rc, $npass/8 screenshots, $nmmap/8 mmaps equal vaGetImage, $nre re-shows;$detail"
  fi
  stop_weston
}

# references for the players: every frame of STREAM through our driver
# (vaGetImage). Made without the test-hooks fault (HANTRO_TEST_PANIC_IN,
# passed in with GUEST_ENV to prove that a client check fails when the client
# cannot decode through the driver): the fault is for the client under test;
# with broken references every check would fail for the wrong reason.
make_refs() { # STREAM
  [ -d "$OUT/ref-$1" ] && return 0
  mkdir -p "$OUT/ref-$1"
  (unset HANTRO_TEST_PANIC_IN; va_env DMABUF_CHECK_REFS="$OUT/ref-$1" $B/dmabuf-check "corpus/$1.h264" 0 none "$OUT" none > "$OUT/ref-$1.log" 2>&1) ||
    { cat "$OUT/ref-$1.log"; return 1; }
}

# ---- part: mpv -------------------------------------------------------------------
# mpv 0.40's vo_dmabuf_wayland resize() dereferences vo->target_params before
# the first reconfig when the compositor's first configure has a non-zero size
# (kiosk shell, tiling shells): mpv issue 16202, fixed by 43ce03c5 in 0.41.0.
# The kiosk run documents that crash (INFO, with a gdb backtrace); the checks
# run under weston's desktop shell, whose first configure is 0x0.
part_mpv() {
  s=${MPV_STREAM:-cavlc_baseline}
  set -- $(size_of "$s"); w=$1; h=$2
  make_refs "$s" || { result mpv refs FAIL "reference decode failed"; return; }
  mpvargs="--no-config --hwdec=vaapi --vo=dmabuf-wayland --msg-level=all=v"

  start_weston mpv-kiosk "$w" "$h" kiosk || { result mpv weston FAIL "weston did not start"; return; }
  va_env timeout 300 gdb -batch -ex run -ex bt -ex 'info registers rip' --args mpv $mpvargs --log-file="$OUT/mpv-kiosk.log" \
    "corpus/$s.mp4" > "$OUT/mpv-kiosk-gdb.log" 2>&1
  if grep -q 'received signal SIGSEGV' "$OUT/mpv-kiosk-gdb.log"; then
    grep -A8 'received signal' "$OUT/mpv-kiosk-gdb.log"
    result mpv kiosk-shell INFO "SIGSEGV in thread $(grep -o 'Thread [0-9]* "[a-z]*" received' "$OUT/mpv-kiosk-gdb.log" | head -1) before hwdec init (mpv 0.40 bug, issue 16202, fixed in 0.41.0)"
  else
    result mpv kiosk-shell INFO "no crash under the kiosk shell"
  fi
  stop_weston

  start_weston mpv 640 480 desktop || { result mpv weston FAIL "weston did not start"; return; }
  # 1. paused on the first frame: screenshot (once the driver has decoded a
  # picture for mpv and mpv's VO is up)
  va_env HANTRO_LOG=$DECODED_LOG mpv $mpvargs --pause --log-file="$OUT/mpv-paused.log" "corpus/$s.mp4" > "$OUT/mpv-paused.out" 2>&1 &
  mp=$!
  if wait_log "$OUT/mpv-paused.out" 180 'decoded a picture into CAPTURE buffer' &&
     wait_log "$OUT/mpv-paused.log" 60 'VO: \[dmabuf-wayland\]'; then
    sleep 5
    $B/shot.sh "$OUT/mpv-shot" 2>&1
    DMABUF_CHECK_SEARCH=1 $B/dmabuf-check --match "$OUT/mpv-shot" "$OUT/ref-$s" 0 | tee "$OUT/mpv-match.log"
    if grep -q 'result=PASS' "$OUT/mpv-match.log"; then
      result mpv screenshot PASS "$(sed 's/.*best=/best=/' "$OUT/mpv-match.log")"
    else
      result mpv screenshot FAIL "$(cat "$OUT/mpv-match.log")"
    fi
  else
    result mpv screenshot FAIL "mpv did not start vaapi decoding + dmabuf-wayland output"
  fi
  if kill -0 $mp 2>/dev/null; then kill $mp; wait $mp 2>/dev/null; else wait $mp; result mpv paused-alive FAIL "mpv exited early (status $?)"; fi
  grep -E 'Using hardware decoding|VO: \[dmabuf-wayland\]|libva|Trying to use hardware decoding' "$OUT/mpv-paused.log" | head -12
  # hwdec: what mpv did: the pictures on screen were decoded by the device
  # through our driver (frame k shown: >= k + 1 decoded), no fallback/error
  shown=$(sed -n 's/.* best=frame\([0-9][0-9]*\) .*result=PASS.*/\1/p' "$OUT/mpv-match.log" 2>/dev/null | head -1)
  npaused=$(decoded_count "$OUT/mpv-paused.out")
  fb=$(mpv_fallback_lines "$OUT/mpv-paused.log" "$OUT/mpv-paused.out" | head -3)
  if [ -n "$shown" ] && [ "$npaused" -ge $((shown + 1)) ] && [ -z "$fb" ]; then
    result mpv hwdec PASS "paused: frame $shown on screen, $npaused pictures decoded through the driver ($(decoded_by_pid "$OUT/mpv-paused.out" | tr '\n' ' ')), no fallback"
  else
    result mpv hwdec FAIL "paused: frame '${shown:-none}' on screen, $npaused pictures decoded through the driver; fallback/errors: ${fb:-none}"
  fi
  # 2. full playback, unpaused: does the vo thread survive, and did every
  # frame go through the driver?
  va_env HANTRO_LOG=$DECODED_LOG timeout 300 mpv $mpvargs --log-file="$OUT/mpv-play.log" "corpus/$s.mp4" > "$OUT/mpv-play.out" 2>&1
  rc=$?
  nframes=$(awk -v s="$s" '$1 == s {print $2}' corpus/manifest.tsv)
  nplay=$(decoded_count "$OUT/mpv-play.out")
  fb=$(mpv_fallback_lines "$OUT/mpv-play.log" "$OUT/mpv-play.out" | head -3)
  if [ $rc = 0 ] && [ "$nplay" = "$nframes" ] && [ -z "$fb" ]; then
    result mpv playback PASS "exit 0 after playing $s to the end; $nplay/$nframes pictures decoded through the driver, no fallback"
  else
    result mpv playback FAIL "exit status $rc, $nplay/$nframes pictures decoded through the driver; fallback/errors: ${fb:-none}"
  fi
  # errors/fatal messages, and any complaint about the export (mpv logs
  # "vaExportSurfaceHandle() failed (...)" or "... not supported.")
  errs=$(grep -hE '\]\[(e|f)\]|vaExportSurfaceHandle|is not supported\.|not supported by the compositor' "$OUT/mpv-paused.log" "$OUT/mpv-play.log" | head -5)
  if [ -z "$errs" ]; then result mpv export-errors PASS "no error/fatal line, no export complaint in the logs"; else result mpv export-errors FAIL "$errs"; fi
  stop_weston
}

# ---- part: gst -------------------------------------------------------------------
part_gst() {
  s=${GST_STREAM:-cavlc_baseline}
  set -- $(size_of "$s"); w=$1; h=$2
  make_refs "$s" || { result gst refs FAIL "reference decode failed"; return; }
  start_weston gst "$w" "$h" || { result gst weston FAIL "weston did not start"; return; }
  # Only the first access unit (the IDR): at its EOS the decoder drains and
  # waylandsink keeps frame 0 on screen; an unrelated live branch
  # (videotestsrc ! fakesink) never ends, so gst-launch keeps the pipeline
  # (and the window) up for the screenshot. Frame 0 (IDR, empty DPB) is the
  # frame whose visl overlay text does not depend on the order of the
  # client's reference frame list, so it is comparable across clients.
  len=$($B/dmabuf-check --first-au "corpus/$s.h264" 1) || { result gst first-au FAIL "cannot cut $s"; stop_weston; return; }
  head -c "$len" "corpus/$s.h264" > $B/gst-first.h264
  va_env GST_VA_ALL_DRIVERS=1 GST_DEBUG=vah264dec:4,waylandsink:4 \
    stdbuf -oL gst-launch-1.0 -v filesrc location=$B/gst-first.h264 ! h264parse ! vah264dec ! waylandsink \
    videotestsrc is-live=true pattern=black ! video/x-raw,width=16,height=16,framerate=5/1 ! fakesink \
    > "$OUT/gst.log" 2>&1 &
  gp=$!
  if wait_log "$OUT/gst.log" 180 'waylandsink.*sink: caps'; then
    sleep 10
    $B/shot.sh "$OUT/gst-shot" 2>&1
    DMABUF_CHECK_SEARCH=1 $B/dmabuf-check --match "$OUT/gst-shot" "$OUT/ref-$s" 0 | tee "$OUT/gst-match.log"
    if grep -q 'result=PASS' "$OUT/gst-match.log"; then
      result gst screenshot PASS "$(sed 's/.*best=/best=/' "$OUT/gst-match.log")"
    else
      result gst screenshot FAIL "$(cat "$OUT/gst-match.log")"
    fi
  else
    result gst screenshot FAIL "waylandsink never negotiated caps"
  fi
  caps=$(grep -m1 'waylandsink.*sink: caps' "$OUT/gst.log")
  echo "$caps"
  case "$caps" in
    *memory:DMABuf*|*memory:VAMemory*) result gst caps PASS "${caps##*caps = }" ;;
    *) result gst caps FAIL "waylandsink did not get dmabufs: $caps" ;;
  esac
  if kill -0 $gp 2>/dev/null; then
    kill $gp; wait $gp 2>/dev/null
  else
    wait $gp; result gst alive FAIL "pipeline exited early (status $?)"
  fi
  pat='^ERROR:|[[:space:]](ERROR|CRITICAL)[[:space:]]'
  if grep -qE "$pat" "$OUT/gst.log"; then result gst errors FAIL "$(grep -E "$pat" "$OUT/gst.log" | head -3)"; else result gst errors PASS "none"; fi
  stop_weston
}

part_reshow_probe() {
  if [ -f "$SRC/reshow-probe.sh" ]; then . "$SRC/reshow-probe.sh"; reshow_probe_run; else result reshow-probe run FAIL "no reshow-probe.sh"; fi
}

part_firefox() {
  if [ -f "$SRC/firefox-part.sh" ]; then . "$SRC/firefox-part.sh"; firefox_run; else result firefox run FAIL "no firefox-part.sh"; fi
}

for p in "$@"; do
  echo "==== part $p ($(cut -d' ' -f1 /proc/uptime)s)"
  case $p in
    client) part_client ;;
    reexport) part_reexport ;;
    mpv) part_mpv ;;
    gst) part_gst ;;
    firefox) part_firefox ;;
    reshow-probe) part_reshow_probe ;;
    *) echo "unknown part $p"; exit 2 ;;
  esac
done
stop_weston
echo "==== results"
cat "$RES"
npass=$(grep -c '	PASS	' "$RES")
echo "wayland-suite: $npass passed, $fails failed"
[ $fails = 0 ] && [ "$npass" -gt 0 ]

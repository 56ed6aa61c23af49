# Sourced by tests/guest/wayland-suite.sh for part "reshow-probe" (not in the
# default parts: it is the evidence behind part_reexport, kept reproducible).
# Where does a re-shown decode buffer's stale picture come from? The same
# re-show pattern (a CAPTURE buffer shown again after a later decode into
# it), on the same weston, through different paths:
#   va-export   dmabuf-check: our driver's vaExportSurfaceHandle per showing,
#               a new wl_buffer each time (what part_reexport does)
#   va-keep     the same, but one wl_buffer per surface, attached again
#               (what mpv and waylandsink do)
#   va-fresh    a new dma_buf per showing: VIDIOC_EXPBUF of the same
#               CAPTURE buffer on the driver's fd (no driver export involved)
#   va-mmap     (in every va-* run) the export mapped by the client itself
#   gst         GStreamer v4l2slh264dec ! waylandsink on visl, no VA driver:
#               the last frame (in a reused CAPTURE buffer) on screen at EOS
#   pixman      va-export on weston's pixman renderer, if it takes NV12 dmabufs
# Output: RESULT reshow-probe <variant> INFO "frame 2 shows ..., frame 3 ...".
reshow_probe_run() {
  s=cavlc_baseline
  set -- $(size_of "$s"); w=$1; h=$2
  make_refs "$s" || { result reshow-probe refs FAIL "reference decode failed"; return; }
  shows() { # DIR MODE: "frame 2 shows frameK maxdiff D; frame 3 ..."
    for f in 2 3; do
      printf 'frame %s shows %s; ' "$f" "$($B/dmabuf-check --match "$1/shot-$f-$2" "$OUT/ref-$s" | sed 's/.*best=\(frame[0-9]*\).*maxdiff=\([0-9]*\).*/\1 maxdiff \2/')"
    done
  }
  for v in export keep fresh; do
    start_weston "probe-$v" "$w" "$h" || { result reshow-probe "va-$v" FAIL "weston did not start"; continue; }
    mkdir -p "$OUT/probe-$v"
    case $v in export) e= ;; keep) e=DMABUF_CHECK_KEEP=1 ;; fresh) e=DMABUF_CHECK_FRESH=1 ;; esac
    va_env DMABUF_CHECK_MMAP=1 $e $B/dmabuf-check "corpus/$s.h264" 4 composed "$OUT/probe-$v" $B/shot.sh > "$OUT/probe-$v.log" 2>&1
    grep -E '^(CHECK|MMAP|FRESH|KEEP|EXPORT)' "$OUT/probe-$v.log"
    result reshow-probe "va-$v" INFO "$(grep -c '^CHECK.*result=PASS' "$OUT/probe-$v.log")/4 screenshots equal vaGetImage, $(grep -c '^MMAP.*result=PASS' "$OUT/probe-$v.log")/4 client mmaps equal vaGetImage; $(shows "$OUT/probe-$v" composed)"
    stop_weston
  done

  # GStreamer alone: its own references (raw NV12 out of v4l2slh264dec), then
  # the whole stream into waylandsink; at EOS the last frame stays on screen.
  gst-launch-1.0 -q filesrc location="corpus/$s.h264" ! h264parse ! v4l2slh264dec ! video/x-raw,format=NV12 ! \
    filesink location=$B/gst-ref.nv12 > "$OUT/gst-probe-ref.log" 2>&1
  mkdir -p "$OUT/gstref-$s"
  nref=$($B/dmabuf-check --nv12-refs $B/gst-ref.nv12 "$w" "$h" "$OUT/gstref-$s")
  nfr=$(awk -v s="$s" '$1 == s {print $2}' corpus/manifest.tsv)
  start_weston probe-gst "$w" "$h" || { result reshow-probe gst FAIL "weston did not start"; return; }
  trace_reset
  GST_DEBUG=waylandsink:5,wlbuffer:5,v4l2codecs-allocator:5 stdbuf -oL gst-launch-1.0 -v \
    filesrc location="corpus/$s.h264" ! h264parse ! v4l2slh264dec ! waylandsink \
    videotestsrc is-live=true pattern=black ! video/x-raw,width=16,height=16,framerate=5/1 ! fakesink \
    > "$OUT/gst-probe.log" 2>&1 &
  gp=$!
  wait_log "$OUT/gst-probe.log" 180 'waylandsink.*sink: caps' && sleep 15
  $B/shot.sh "$OUT/gst-probe-shot" 2>&1
  m=$($B/dmabuf-check --match "$OUT/gst-probe-shot" "$OUT/gstref-$s")
  echo "$m"
  kill $gp 2>/dev/null; wait $gp 2>/dev/null
  trace_save gst-probe.trace frame
  stop_weston
  caps=$(grep -m1 -o 'waylandsink.*sink: caps = .*' "$OUT/gst-probe.log" | sed 's/.*caps = //')
  nwl=$(grep -ciE 'creat(ed|ing) (a )?wl_buffer|wl_buffer.*creat' "$OUT/gst-probe.log")
  idx=$(grep 'vb2_buf_done' $OUT/gst-probe.trace | grep 'type = 9' | sed -n 's/.*index = \([0-9]*\).*/\1/p' | tr '\n' ' ')
  result reshow-probe gst INFO "no VA driver: $nfr frames (refs $nref), CAPTURE indices in decode order: $idx; wl_buffer creations logged: $nwl; at EOS the screen shows $(echo "$m" | sed 's/.*best=\(frame[0-9]*\).*maxdiff=\([0-9]*\).*/\1 maxdiff \2/') (last is frame$((nfr - 1))); caps $caps"

  # weston's pixman renderer
  WESTON_RENDERER=pixman start_weston probe-pixman "$w" "$h" || { result reshow-probe pixman INFO "weston --renderer=pixman did not start"; return; }
  mkdir -p "$OUT/probe-pixman"
  va_env DMABUF_CHECK_MMAP=1 $B/dmabuf-check "corpus/$s.h264" 4 composed "$OUT/probe-pixman" $B/shot.sh > "$OUT/probe-pixman.log" 2>&1
  grep -E '^(CHECK|MMAP|INFO)|dmabuf-check:' "$OUT/probe-pixman.log"
  if grep -q '^CHECK' "$OUT/probe-pixman.log"; then
    result reshow-probe pixman INFO "$(grep -c '^CHECK.*result=PASS' "$OUT/probe-pixman.log")/4 screenshots equal vaGetImage; $(shows "$OUT/probe-pixman" composed)"
  else
    result reshow-probe pixman INFO "no check ran: $(grep -m1 'dmabuf-check:' "$OUT/probe-pixman.log")"
  fi
  stop_weston
}

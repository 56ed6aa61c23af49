#!/bin/sh
# Guest script: record visl reference traces of GStreamer's v4l2slh264dec.
#
# Usage (host): scripts/guest-run.sh tests/guest/gst-traces.sh [STREAM...]
#   STREAM: a name from corpus/manifest.tsv, or "all" (default).
#   A name given twice is decoded again; the traces of that repeat get a
#   ".run2" suffix (".run3" ...).
#   GST_MODES (default "frame slice") selects visl's decode modes:
#     frame: DECODE_MODE_FRAME_BASED + START_CODE_ANNEX_B (hantro/rkvdec style)
#     slice: DECODE_MODE_SLICE_BASED + START_CODE_NONE   (cedrus style)
# Output: out/<stream>.<mode>[.runN].trace (first line "# decode_mode: MODE"),
#         out/times.tsv (stream, mode, run, seconds, rc).
set -eu
. /job/lib.sh
cd /job
[ $# -gt 0 ] || set -- all
if [ "$1" = all ]; then
  set -- $(cut -f1 corpus/manifest.tsv)
fi
gst-inspect-1.0 v4l2slh264dec >/dev/null 2>&1 || {
  echo "v4l2slh264dec not available; v4l2codecs elements:"; gst-inspect-1.0 v4l2codecs 2>&1 | head -20
  exit 1
}
modes=${GST_MODES:-frame slice}
seen=" "
fail=0
for s in "$@"; do
  f=corpus/$s.h264
  [ -f "$f" ] || { echo "no stream $f"; exit 1; }
  n=$(printf '%s' "$seen" | tr ' ' '\n' | grep -cx "$s" || true)
  seen="$seen$s "
  suffix=""
  [ "$n" -gt 0 ] && suffix=".run$((n + 1))"
  for m in $modes; do
    visl_mode "$m"
    trace_reset
    t0=$(date +%s.%N)
    rc=0
    gst_h264 "$f" > "out/$s.$m$suffix.gst.log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    trace_save "$s.$m$suffix.trace" "$m" || rc=$((rc ? rc : 3))
    secs=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')
    printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$m" "${suffix#.}" "$secs" "$rc" >> out/times.tsv
    n_dp=$(grep -c ' v4l2_ctrl_h264_decode_params:' "out/$s.$m$suffix.trace" || true)
    echo "$s $m${suffix:+ $suffix}: rc=$rc ${secs}s decode_params=$n_dp"
    if [ $rc != 0 ]; then fail=1; tail -5 "out/$s.$m$suffix.gst.log"; fi
  done
done
exit $fail

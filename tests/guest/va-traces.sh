#!/bin/sh
# Guest script: record visl traces of the VA driver (/job/driver) decoding
# corpus streams, to compare with tests/guest/gst-traces.sh references:
#   trace-compare out/<s>.<mode>.trace out/<s>.<mode>.va-<client>.trace
#
# Usage (host): scripts/guest-run.sh tests/guest/va-traces.sh [STREAM...|all]
#   VA_CLIENTS (default "ffmpeg gst"): ffmpeg -hwaccel vaapi, GStreamer vah264dec
#   GST_MODES  (default "frame slice"): visl's default decode mode (the driver
#              may set the control itself; the trace then shows what it did)
# Output: out/<stream>.<mode>.va-<client>.trace, out/<...>.log, out/times.tsv
set -eu
. /job/lib.sh
cd /job
[ -f driver/hantro_drv_video.so ] || { echo "no driver in /job/driver"; exit 1; }
[ $# -gt 0 ] || set -- all
[ "$1" = all ] && set -- $(cut -f1 corpus/manifest.tsv)
fail=0
for s in "$@"; do
  f=corpus/$s.h264
  [ -f "$f" ] || { echo "no stream $f"; exit 1; }
  for m in ${GST_MODES:-frame slice}; do
    for c in ${VA_CLIENTS:-ffmpeg gst}; do
      name=$s.$m.va-$c
      visl_mode "$m"
      trace_reset
      t0=$(date +%s.%N)
      rc=0
      case $c in
        ffmpeg) va_env ffmpeg -nostdin -hide_banner -loglevel warning -hwaccel vaapi \
                  -hwaccel_device /dev/dri/renderD128 -hwaccel_output_format vaapi \
                  -i "$f" -f null - > "out/$name.log" 2>&1 || rc=$? ;;
        gst) va_env GST_VA_ALL_DRIVERS=1 gst-launch-1.0 -q filesrc location="$f" ! h264parse ! \
                  vah264dec ! fakesink > "out/$name.log" 2>&1 || rc=$? ;;
        *) echo "unknown client $c"; exit 2 ;;
      esac
      t1=$(date +%s.%N)
      trace_save "$name.trace" || rc=$((rc ? rc : 3))
      secs=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')
      printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$m" "va-$c" "$secs" "$rc" >> out/times.tsv
      n_dp=$(grep -c ' v4l2_ctrl_h264_decode_params:' "out/$name.trace" || true)
      echo "$name: rc=$rc ${secs}s decode_params=$n_dp"
      if [ $rc != 0 ]; then fail=1; tail -5 "out/$name.log"; fi
    done
  done
done
exit $fail

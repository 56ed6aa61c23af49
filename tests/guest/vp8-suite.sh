#!/bin/sh
# Guest script: the VP8 suite of the real-kernel plane, in one boot.
#   1. vainfo and Firefox's vaapitest against the driver in /job/driver
#   2. for every VP8 corpus stream (/job/vp8corpus, staged by
#      testplane/tests/guest_vp8.rs): GStreamer's v4l2slvp8dec (the
#      reference), ffmpeg -hwaccel vaapi and GStreamer vavp8dec through our
#      driver, each with its visl trace and the driver's per-picture lines
# Usage (host): scripts/guest-run.sh --job JOB tests/guest/vp8-suite.sh [STREAM...]
# Output in out/: vainfo.txt, vaapitest.txt, <s>.{gst,ffmpeg,gstva}.trace and .log,
# runs.tsv (stream client rc seconds)
set -u
. /job/lib.sh
cd /job
[ -f driver/hantro_drv_video.so ] || { echo "no driver in /job/driver"; exit 1; }
[ -f vp8corpus/manifest.tsv ] || { echo "no VP8 corpus in /job/vp8corpus"; exit 1; }
[ $# -gt 0 ] || set -- $(cut -f1 vp8corpus/manifest.tsv)

va_env vainfo --display drm --device /dev/dri/renderD128 > out/vainfo.txt 2>&1
echo "vainfo rc=$?" >> out/vainfo.txt
if [ -x /usr/lib/firefox-esr/vaapitest ]; then
  va_env /usr/lib/firefox-esr/vaapitest -d /dev/dri/renderD128 > out/vaapitest.txt 2>&1
  echo "vaapitest rc=$?" >> out/vaapitest.txt
else
  echo "vaapitest missing" > out/vaapitest.txt
fi

run() { # stream client cmd...
  s=$1 c=$2; shift 2
  trace_reset
  t0=$(date +%s.%N)
  "$@" > "out/$s.$c.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  trace_save "$s.$c.trace" frame || rc=99
  printf '%s\t%s\t%s\t%s\n' "$s" "$c" "$rc" "$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')" >> out/runs.tsv
}
for s in "$@"; do
  f=vp8corpus/$s.ivf
  run "$s" gst gst-launch-1.0 -q filesrc location="$f" ! ivfparse ! v4l2slvp8dec ! fakesink
  run "$s" ffmpeg va_env HANTRO_LOG=$DECODED_LOG ffmpeg -nostdin -hide_banner \
    -loglevel warning -hwaccel vaapi -hwaccel_device /dev/dri/renderD128 \
    -hwaccel_output_format vaapi -i "$f" -f null -
  run "$s" gstva va_env HANTRO_LOG=$DECODED_LOG GST_VA_ALL_DRIVERS=1 \
    gst-launch-1.0 -q filesrc location="$f" ! ivfparse ! vavp8dec ! fakesink
done
echo suite-done

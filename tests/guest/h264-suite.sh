#!/bin/sh
# Guest script: the H.264 suite of the real-kernel plane, in one boot.
#   1. vainfo and Firefox's vaapitest against the driver in /job/driver
#   2. for every corpus stream and both visl decode modes: GStreamer's
#      v4l2slh264dec (the reference), ffmpeg -hwaccel vaapi and GStreamer
#      vah264dec through our driver, each with its visl trace
#   3. mpv --hwdec=vaapi-copy on a few streams (driver log + visl trace count
#      its pictures)
#   4. zero configuration: the driver installed into libva's directory under
#      the render node's name, vainfo/ffmpeg/mpv with no LIBVA_* variable
# Usage (host): scripts/guest-run.sh tests/guest/h264-suite.sh [STREAM...]
# Output in out/: vainfo.txt, diagnose.txt, diagnose-nobody.txt, vaapitest.txt, <s>.<mode>.{gst,ffmpeg,gstva}.trace
# and .log, mpv-<s>.{log,mpvlog,trace}, runs.tsv (stream mode client rc seconds),
# zc-install.txt, zc-vainfo.txt, zc-{ffmpeg,mpv}.{log,trace}, zc-mpv.mpvlog
set -u
. /job/lib.sh
cd /job
[ -f driver/hantro_drv_video.so ] || { echo "no driver in /job/driver"; exit 1; }
[ $# -gt 0 ] || set -- $(cut -f1 corpus/manifest.tsv)

va_env vainfo --display drm --device /dev/dri/renderD128 > out/vainfo.txt 2>&1
echo "vainfo rc=$?" >> out/vainfo.txt
# the diagnostics a user is told to run (README "Troubleshooting"), as root
# and as a user who may not open the decoder nodes
va_env HANTRO_LOG=info vainfo --display drm --device /dev/dri/renderD128 > out/diagnose.txt 2>&1
echo "vainfo rc=$?" >> out/diagnose.txt
# the guest has no udev: give the nodes what Debian's udev rules give them
# (render nodes 0666; video4linux and media nodes root:video 0660)
chmod 0666 /dev/dri/renderD128
chgrp video /dev/media0 /dev/video0 && chmod 0660 /dev/media0 /dev/video0
ls -l /dev/media0 /dev/video0 > out/diagnose-nobody.txt 2>&1
# (/job is root's: the driver goes where uid 65534 can read it)
mkdir -p /tmp/nobody-drv && cp /job/driver/hantro_drv_video.so /tmp/nobody-drv/ && chmod -R a+rX /tmp/nobody-drv
env LIBVA_DRIVERS_PATH=/tmp/nobody-drv LIBVA_DRIVER_NAME=hantro HANTRO_LOG=info \
  setpriv --reuid=65534 --regid=65534 --clear-groups vainfo --display drm --device /dev/dri/renderD128 >> out/diagnose-nobody.txt 2>&1
echo "vainfo rc=$?" >> out/diagnose-nobody.txt
if [ -x /usr/lib/firefox-esr/vaapitest ]; then
  va_env /usr/lib/firefox-esr/vaapitest -d /dev/dri/renderD128 > out/vaapitest.txt 2>&1
  echo "vaapitest rc=$?" >> out/vaapitest.txt
else
  echo "vaapitest missing" > out/vaapitest.txt
fi

run() { # stream mode client cmd...
  s=$1 m=$2 c=$3; shift 3
  trace_reset
  t0=$(date +%s.%N)
  "$@" > "out/$s.$m.$c.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  trace_save "$s.$m.$c.trace" "$m" || rc=99
  printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$m" "$c" "$rc" "$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')" >> out/runs.tsv
}
for s in "$@"; do
  f=corpus/$s.h264
  for m in frame slice; do
    visl_mode "$m"
    run "$s" "$m" gst gst_h264 "$f"
    run "$s" "$m" ffmpeg va_env HANTRO_H264_DECODE_MODE=$m ffmpeg -nostdin -hide_banner \
      -loglevel warning -hwaccel vaapi -hwaccel_device /dev/dri/renderD128 \
      -hwaccel_output_format vaapi -i "$f" -f null -
    run "$s" "$m" gstva va_env HANTRO_H264_DECODE_MODE=$m GST_VA_ALL_DRIVERS=1 \
      gst-launch-1.0 -q filesrc location="$f" ! h264parse ! vah264dec ! fakesink
  done
done
# mpv: what it did, not what it said: the driver's per-picture lines
# (HANTRO_LOG=$DECODED_LOG, on mpv's stderr in mpv-<s>.log) and visl's trace
# (mpv-<s>.trace) must both count every frame; mpv's own log file
# (mpv-<s>.mpvlog, with levels) must have no error/fatal line and no fallback.
visl_mode frame
for s in cavlc_baseline cabac_main_bpyr; do
  trace_reset
  va_env HANTRO_LOG=$DECODED_LOG mpv --no-config --msg-level=all=v --hwdec=vaapi-copy --vo=null --ao=null \
    --untimed --log-file="out/mpv-$s.mpvlog" "corpus/$s.h264" > "out/mpv-$s.log" 2>&1
  echo "mpv rc=$?" >> "out/mpv-$s.log"
  trace_save "mpv-$s.trace" frame || echo "mpv trace lost events" >> "out/mpv-$s.log"
  echo "decoded pictures by pid: $(decoded_by_pid "out/mpv-$s.log" | tr '\n' ' ')" >> "out/mpv-$s.log"
done
# Zero configuration (README "Install"): the driver installed into libva's
# own driver directory with the link for this render node's DRM name (vgem),
# as `make install` links panfrost, rockchip, ... on the boards; no LIBVA_*
# variable set: vainfo, ffmpeg and mpv must load it (libva's own "Trying to
# open" line) and decode every frame through it (driver log + visl trace).
zero_config_install vgem > out/zc-install.txt 2>&1
echo "install rc=$?" >> out/zc-install.txt
s=cavlc_baseline
zc_env LIBVA_MESSAGING_LEVEL=2 vainfo --display drm --device /dev/dri/renderD128 > out/zc-vainfo.txt 2>&1
echo "vainfo rc=$?" >> out/zc-vainfo.txt
trace_reset
zc_env LIBVA_MESSAGING_LEVEL=2 HANTRO_LOG=$DECODED_LOG ffmpeg -nostdin -hide_banner -loglevel verbose -hwaccel vaapi \
  -hwaccel_device /dev/dri/renderD128 -hwaccel_output_format vaapi -i "corpus/$s.h264" -f null - > out/zc-ffmpeg.log 2>&1
echo "ffmpeg rc=$?" >> out/zc-ffmpeg.log
trace_save zc-ffmpeg.trace frame || echo "ffmpeg trace lost events" >> out/zc-ffmpeg.log
trace_reset
zc_env LIBVA_MESSAGING_LEVEL=2 HANTRO_LOG=$DECODED_LOG mpv --no-config --msg-level=all=v --hwdec=vaapi-copy --vo=null \
  --ao=null --untimed --log-file=out/zc-mpv.mpvlog "corpus/$s.h264" > out/zc-mpv.log 2>&1
echo "mpv rc=$?" >> out/zc-mpv.log
trace_save zc-mpv.trace frame || echo "mpv trace lost events" >> out/zc-mpv.log
echo suite-done

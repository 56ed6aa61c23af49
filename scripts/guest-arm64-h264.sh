#!/bin/sh
# Guest script (arm64 guest, busybox): vainfo, then every given corpus stream
# decoded through the arm64 hantro_drv_video on visl by the VA client
# (libavcodec's VA-API hwaccel, tests/clients/vaclient.c) in visl's
# frame-based and slice-based modes, each with its visl trace.
# Usage (host): scripts/guest-run.sh --arch arm64 scripts/guest-arm64-h264.sh [STREAM...]
# Output in out/: vainfo.txt, <s>.<mode>.va.trace and .log,
# runs.tsv (stream mode rc seconds frames).
set -u
. /job/lib.sh
cd /job
[ $# -gt 0 ] || set -- $(cut -f1 corpus/manifest.tsv)
va_env vainfo --display drm --device /dev/dri/renderD128 > out/vainfo.txt 2>&1
echo "vainfo rc=$?" >> out/vainfo.txt
for s in "$@"; do
  for m in frame slice; do
    visl_mode "$m"
    rm -rf /tmp/frames; mkdir -p /tmp/frames
    trace_reset
    t0=$(cut -d" " -f1 /proc/uptime)
    va_env HANTRO_H264_DECODE_MODE=$m /job/bin/vaclient --device /dev/dri/renderD128 /tmp/frames "corpus/$s.h264" \
      > "out/$s.$m.va.log" 2>&1
    rc=$?
    t1=$(cut -d" " -f1 /proc/uptime)
    trace_save "$s.$m.va.trace" "$m" || rc=99
    grep -q "^decode-error" "out/$s.$m.va.log" && rc=98
    n=$(sed -n 's/^stream 0 frames=\([0-9]*\).*/\1/p' "out/$s.$m.va.log")
    printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$m" "$rc" "$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')" "${n:-0}" >> out/runs.tsv
  done
done
echo arm64-suite-done

#!/bin/sh
# Guest script: probe the VA driver staged in /job/driver with vainfo and
# Firefox's vaapitest (the helper Firefox runs to decide on VA-API use).
# Usage (host): cargo build --release && scripts/guest-run.sh tests/guest/vainfo.sh
# Output: out/vainfo.txt, out/vaapitest.txt (each ends with "exit status N").
# Exit status: 0 only if both succeed.
set -u
. /job/lib.sh
cd /job
dev=/dev/dri/renderD128
if [ ! -f /job/driver/hantro_drv_video.so ]; then
  echo "no driver in /job/driver (set HANTRO_DRIVER_SO or build target/release/libhantro_drv_video.so)"
fi
echo "== vainfo"
va_env vainfo --display drm --device $dev > out/vainfo.txt 2>&1
rc1=$?
echo "exit status $rc1" >> out/vainfo.txt
cat out/vainfo.txt
echo "== vaapitest"
va_env LIBVA_MESSAGING_LEVEL=2 /usr/lib/firefox-esr/vaapitest -d $dev > out/vaapitest.txt 2>&1
rc2=$?
echo "exit status $rc2" >> out/vaapitest.txt
cat out/vaapitest.txt
[ $rc1 = 0 ] && [ $rc2 = 0 ]

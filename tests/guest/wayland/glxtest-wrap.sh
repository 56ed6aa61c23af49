#!/bin/sh
# Harness-side wrapper around Firefox's GL probe (bind-mounted over
# /usr/lib/firefox-esr/glxtest by firefox-part.sh; never installed for users).
# Runs the real glxtest (GLXTEST_REAL) and rewrites its answer so that
# Firefox treats the test plane's llvmpipe as accelerated GL on the vgem
# render node: MESA_ACCELERATED -> TRUE, "llvmpipe" in RENDERER renamed (Firefox
# marks any llvmpipe renderer unaccelerated; DRI_DRIVER "swrast" likewise),
# DRM_RENDERDEVICE set to
# /dev/dri/renderD128 when glxtest found none. Firefox only runs the real
# vaapitest (which judges our VA driver) when glxtest says this; the GL
# answers themselves are untouched. Both answers are saved in /job/out.
fd=1
args=
while [ $# -gt 0 ]; do
  case "$1" in
    -f) fd=$2; shift 2 ;;
    *) args="$args $1"; shift ;;
  esac
done
real=$("${GLXTEST_REAL:-/tmp/wl/glxtest.real}" -f 1 $args 2>>/job/out/glxtest-stderr.log)
rc=$?
printf '%s\n' "$real" > /job/out/glxtest-real.txt
answer=$(printf '%s\n' "$real" | awk '
  NR % 2 == 1 { key = $0; print; next }
  {
    v = $0
    if (key == "MESA_ACCELERATED") v = "TRUE"
    if (key == "RENDERER") gsub(/llvmpipe/, "test-plane-gl", v)
    if (key == "DRI_DRIVER" && v == "swrast") v = "test-plane-swrast"
    if (key == "DRM_RENDERDEVICE") { if (v == "") v = "/dev/dri/renderD128"; drm = 1 }
    if (key == "MESA_ACCELERATED") acc = 1
    print v
  }
  END {
    if (!drm) { print "DRM_RENDERDEVICE"; print "/dev/dri/renderD128" }
    if (!acc) { print "MESA_ACCELERATED"; print "TRUE" }
  }')
printf '%s\n' "$answer" > /job/out/glxtest-answer.txt
# dash cannot redirect to descriptors above 9 (Firefox passes e.g. 45): write
# through /proc, which opens the same pipe
if [ "$fd" = 1 ]; then printf '%s\n' "$answer"; else printf '%s\n' "$answer" > "/proc/$$/fd/$fd"; fi
exit $rc

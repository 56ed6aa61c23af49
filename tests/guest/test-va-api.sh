#!/bin/sh
# Guest script: libva-utils' conformance suite, test_va_api, on our driver
# over visl, with the trixie guest's libva (2.22). The binary is built on the
# host (g++ is not in the guest) by scripts/test-va-api.sh --guest, which
# stages it as /job/test_va_api and runs this script. vgem is the guest's
# only DRM node: TEST_VA_ALLOW_VGEM=1 lets the suite's fixture use it (the
# one patched condition, see scripts/test-va-api.sh).
# Output: out/test_va_api.txt (gtest's output), out/test_va_api.xml.
# Exit status: the suite's.
set -u
. /job/lib.sh
cd /job
[ -x /job/test_va_api ] || { echo "no /job/test_va_api (run scripts/test-va-api.sh --guest)"; exit 2; }
[ -f /job/driver/hantro_drv_video.so ] || { echo "no driver in /job/driver"; exit 2; }
args=$(cat /job/gtest-args 2>/dev/null)
echo "== vainfo"
va_env vainfo --display drm --device /dev/dri/renderD128 2>&1 | grep -E "Driver version|VAProfile" || true
echo "== test_va_api $args"
# shellcheck disable=SC2086
va_env TEST_VA_ALLOW_VGEM=1 LIBVA_MESSAGING_LEVEL=1 HANTRO_LOG=error \
  /job/test_va_api --gtest_output=xml:out/test_va_api.xml $args > out/test_va_api.txt 2>&1
rc=$?
grep -E "^\[  (PASSED|FAILED) |^\[==========\]|FAILED TEST" out/test_va_api.txt
echo "exit status $rc"
exit $rc

#!/bin/sh
# Decodes a file with GStreamer's stateless V4L2 decoder (v4l2slh264dec) on
# the simulated device and compares the frames with ffmpeg software
# decoding, so the simulator's checker sees GStreamer's controls.
# GStreamer finds V4L2 codecs only through udev, so this builds a minimal
# fake sysfs + udev database in a private mount namespace (needs root or
# CAP_SYS_ADMIN for unshare -m; nothing is visible outside the namespace).
#   scripts/sim-gst.sh in.h264 [hantro-g1|rkvdec|cedrus]
#   SIM_GST_CMD="gst-inspect-1.0 v4l2codecs" scripts/sim-gst.sh
# Env: HANTRO_SIM_LIB=/path/libhantro_sim.so (skip cargo build), any HANTRO_SIM_* knob;
# HANTRO_SIM_LOG=FILE collects the checker's findings (a relative FILE is the
# caller's, not the repository's); with it, a finding fails the comparison.
set -e
case "${HANTRO_SIM_LOG:-}" in
    ""|/*) ;;
    *) export HANTRO_SIM_LOG="$PWD/$HANTRO_SIM_LOG" ;;
esac
cd "$(dirname "$0")/.."
root="$PWD"
if [ -z "$SIM_GST_INNER" ]; then
    if [ -z "$HANTRO_SIM_LIB" ]; then
        [ -e target/uapi/include ] || { mkdir -p target/uapi && ln -sfn "$(scripts/uapi-headers.sh)" target/uapi/include; }
        cargo build -q -p hantro_sim
    fi
    exec env SIM_GST_INNER=1 unshare -m --propagation private "$0" "$@"
fi
lib="${HANTRO_SIM_LIB:-$root/target/debug/libhantro_sim.so}"
stage=$(mktemp -d)
mount -t tmpfs none "$stage"
dev=/sys/devices/platform/hantro-sim
# sysfs: tmpfs over /sys/devices/platform, /sys/class and /sys/dev
for d in devices class dev udev; do mkdir -p "$stage/$d"; done
mkdir -p "$stage/devices/hantro-sim/media0" "$stage/devices/hantro-sim/video4linux/video0" \
         "$stage/class/media" "$stage/class/video4linux" "$stage/dev/char" "$stage/dev/block" "$stage/udev/data"
printf 'MAJOR=238\nMINOR=0\nDEVNAME=media0\n' > "$stage/devices/hantro-sim/media0/uevent"
printf '238:0\n' > "$stage/devices/hantro-sim/media0/dev"
printf 'MAJOR=81\nMINOR=0\nDEVNAME=video0\n' > "$stage/devices/hantro-sim/video4linux/video0/uevent"
printf '81:0\n' > "$stage/devices/hantro-sim/video4linux/video0/dev"
printf 'hantro-sim\n' > "$stage/devices/hantro-sim/video4linux/video0/name"
ln -s /sys/class/media "$stage/devices/hantro-sim/media0/subsystem"
ln -s /sys/class/video4linux "$stage/devices/hantro-sim/video4linux/video0/subsystem"
ln -s "$dev/media0" "$stage/class/media/media0"
ln -s "$dev/video4linux/video0" "$stage/class/video4linux/video0"
ln -s "$dev/media0" "$stage/dev/char/238:0"
ln -s "$dev/video4linux/video0" "$stage/dev/char/81:0"
# udev database: libudev enumerates devices with a devnode only once udev
# has "initialized" them
printf 'I:1\n' > "$stage/udev/data/c238:0"
printf 'I:1\n' > "$stage/udev/data/c81:0"
# the emulated DRM render node, for GStreamer's va plugin (vah264dec)
mkdir -p "$stage/devices/hantro-sim/drm/renderD128" "$stage/class/drm"
printf 'MAJOR=226\nMINOR=128\nDEVNAME=dri/renderD128\nDEVTYPE=drm_minor\n' > "$stage/devices/hantro-sim/drm/renderD128/uevent"
printf '226:128\n' > "$stage/devices/hantro-sim/drm/renderD128/dev"
ln -s /sys/class/drm "$stage/devices/hantro-sim/drm/renderD128/subsystem"
ln -s "$dev/drm/renderD128" "$stage/class/drm/renderD128"
ln -s "$dev/drm/renderD128" "$stage/dev/char/226:128"
printf 'I:1\n' > "$stage/udev/data/c226:128"
mount --bind "$stage/devices" /sys/devices/platform
mount --bind "$stage/class" /sys/class
mount --bind "$stage/dev" /sys/dev
mkdir -p /run/udev
mount --bind "$stage/udev" /run/udev
export GST_REGISTRY="$stage/registry.bin"
export LD_PRELOAD="$lib"
export HANTRO_SIM_PERSONALITY="${2:-${HANTRO_SIM_PERSONALITY:-hantro-g1}}"
# libudev insists that device directories are on sysfs (statfs magic)
export HANTRO_SIM_FAKE_SYSFS=1
if [ -n "$SIM_GST_CMD" ]; then
    exec sh -c "$SIM_GST_CMD"
fi
in="$1"
[ -n "$in" ] || { echo "usage: $0 in.h264 [hantro-g1|rkvdec|cedrus]" >&2; exit 2; }
size=$(LD_PRELOAD= ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=s=x:p=0 "$in")
gst-launch-1.0 -q filesrc location="$in" ! h264parse ! v4l2slh264dec ! videoconvert ! video/x-raw,format=I420 ! filesink location="$stage/gst.yuv"
LD_PRELOAD= ffmpeg -v error -f rawvideo -pix_fmt yuv420p -s "$size" -i "$stage/gst.yuv" -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}' > "$stage/gst.md5"
LD_PRELOAD= ffmpeg -v error -i "$in" -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}' > "$stage/ref.md5"
if [ -n "${HANTRO_SIM_LOG:-}" ] && grep -q '^job ' "$HANTRO_SIM_LOG"; then
    echo "GStreamer v4l2slh264dec on $HANTRO_SIM_PERSONALITY: the simulator's checker flagged controls:"
    grep '^job ' "$HANTRO_SIM_LOG" | head
    exit 1
elif cmp -s "$stage/gst.md5" "$stage/ref.md5"; then
    echo "GStreamer v4l2slh264dec on $HANTRO_SIM_PERSONALITY: bit-exact, $(wc -l < "$stage/ref.md5") frames"
else
    echo "GStreamer v4l2slh264dec on $HANTRO_SIM_PERSONALITY: output differs from software decoding"
    diff "$stage/ref.md5" "$stage/gst.md5" | head
    exit 1
fi

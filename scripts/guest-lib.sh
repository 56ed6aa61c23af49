# Helper functions for guest scripts; staged as /job/lib.sh. Use: . /job/lib.sh
T=/sys/kernel/tracing

# Empty the trace ring buffer (tracing stays on).
trace_reset() {
  echo 0 > $T/tracing_on
  : > $T/trace
  echo 1 > $T/tracing_on
}

# Copy the trace to /job/out/NAME. Fails if the ring buffer overflowed (lost
# events would make a comparison meaningless): raise TRACE_BUFFER_KB then.
# With a second argument, "# decode_mode: MODE" is written as the first line
# (read by trace-compare).
trace_save() {
  [ $# -ge 1 ] || { echo "usage: trace_save NAME [frame|slice]" >&2; return 2; }
  echo 0 > $T/tracing_on
  if [ $# -ge 2 ]; then
    { echo "# decode_mode: $2"; cat $T/trace; } > "/job/out/$1"
  else
    cp $T/trace "/job/out/$1"
  fi
  lost=$(cat $T/per_cpu/cpu*/stats 2>/dev/null | awk '/^overrun:/ {s += $2} END {print s + 0}')
  echo 1 > $T/tracing_on
  if [ "$lost" != 0 ]; then
    echo "trace_save: $lost events lost (ring buffer overrun)" >&2
    return 1
  fi
}

# Print the /dev/videoN node of the driver named $1 (default visl).
video_dev() {
  for d in /sys/class/video4linux/video*; do
    [ "$(cat "$d/name" 2>/dev/null)" = "${1:-visl}" ] && { echo "/dev/${d##*/}"; return 0; }
  done
  return 1
}

# Decode an Annex-B H.264 file with GStreamer's stateless V4L2 decoder.
gst_h264() {
  gst-launch-1.0 -q filesrc location="$1" ! h264parse ! v4l2slh264dec ! fakesink
}

# Run a VA-API client against the driver staged in /job/driver.
# Usage: va_env [VAR=value]... CMD [ARGS]
va_env() {
  env LIBVA_DRIVERS_PATH=/job/driver LIBVA_DRIVER_NAME=hantro "$@"
}

# Zero configuration: install /job/driver/hantro_drv_video.so into libva's
# own driver directory as `make install` does, with the link libva looks for
# on this guest's render node (<DRM driver name>_drv_video.so; vgem here, the
# way panfrost/rockchip/... are linked on the boards), so that clients find
# the driver with no LIBVA_DRIVER_NAME / LIBVA_DRIVERS_PATH. The guest's root
# is the shared cache, so the directory is copied to a tmpfs and bind-mounted
# over the original for this boot only. Prints the directory and the link.
# Usage: zero_config_install [DRM_NAME (default vgem, the guest's render node)]
zero_config_install() {
  zc_dir=
  for d in /usr/lib/x86_64-linux-gnu/dri /usr/lib/aarch64-linux-gnu/dri /usr/lib/dri; do
    [ -d "$d" ] && { zc_dir=$d; break; }
  done
  [ -n "$zc_dir" ] || { echo "zero_config_install: no libva driver directory" >&2; return 1; }
  name=${1:-vgem}
  mkdir -p /tmp/zc-dri && mount -t tmpfs zc-dri /tmp/zc-dri && cp -a "$zc_dir"/. /tmp/zc-dri/ &&
    cp /job/driver/hantro_drv_video.so /tmp/zc-dri/hantro_drv_video.so &&
    ln -sfn hantro_drv_video.so "/tmp/zc-dri/${name}_drv_video.so" &&
    mount --bind /tmp/zc-dri "$zc_dir" || { echo "zero_config_install: install failed" >&2; return 1; }
  echo "$zc_dir/${name}_drv_video.so -> $(readlink "$zc_dir/${name}_drv_video.so")"
}

# Run CMD with libva's driver selection left to libva (no LIBVA_* set).
zc_env() {
  env -u LIBVA_DRIVER_NAME -u LIBVA_DRIVERS_PATH "$@"
}

# Select visl's default H.264/HEVC decode mode and start code for the next
# open of the device (GStreamer adopts the driver's defaults):
#   frame: FRAME_BASED + ANNEX_B start codes;  slice: SLICE_BASED + no start code
visl_mode() {
  P=/sys/module/visl/parameters
  case "$1" in
    frame) dm=1 sc=1 ;;
    slice) dm=0 sc=0 ;;
    *) echo "visl_mode: frame|slice" >&2; return 2 ;;
  esac
  echo $dm > $P/h264_decode_mode && echo $sc > $P/h264_start_code &&
  echo $dm > $P/hevc_decode_mode && echo $sc > $P/hevc_start_code
}

# HANTRO_LOG value that makes the driver log one line per picture the device
# decoded (target hantro_drv_video::decoded, on the client's stderr):
#   pid <pid>: <node> decoded a picture into CAPTURE buffer <i> (timestamp <t> ns)
DECODED_LOG=warn,hantro_drv_video::decoded=info

# Print "<count> <pid>" for every pid with decoded-picture lines in FILE...
decoded_by_pid() {
  cat "$@" 2>/dev/null | sed -n 's/.*pid \([0-9][0-9]*\): .* decoded a picture into CAPTURE buffer .*/\1/p' |
    sort | uniq -c | awk '{print $1, $2}'
}

# Number of decoded-picture lines in FILE... (all pids)
decoded_count() {
  cat "$@" 2>/dev/null | grep -c 'decoded a picture into CAPTURE buffer'
}

# Lines of FILE... in which mpv reports falling back from hardware decoding
# or a decode error (empty: none).
mpv_fallback_lines() {
  grep -hE 'Falling back to software|Attempting next decoding method|Using software decoding|Error while decoding frame|Failed to (end|issue|sync|create|render|begin)|hwaccel initiali[sz]ation returned error|Failed setup for format|hardware decoding (failed|not available)|Could not create (device|decoder)' "$@" 2>/dev/null
}

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
trace_save() {
  [ $# -eq 1 ] || { echo "usage: trace_save NAME" >&2; return 2; }
  echo 0 > $T/tracing_on
  cp $T/trace "/job/out/$1"
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
va_env() {
  LIBVA_DRIVERS_PATH=/job/driver LIBVA_DRIVER_NAME=hantro "$@"
}

#!/bin/sh
# Guest script (real kernel, visl): throughput of our VA path (ffmpeg
# -hwaccel vaapi, GStreamer vah264dec; asynchronous and HANTRO_SYNC_DECODE=1)
# against GStreamer's own v4l2slh264dec, in one boot. visl's
# visl_transtime_ms (VISL_PARAMS on the host) is the simulated hardware time.
# Run by scripts/bench-guest.sh, which stages bench/*.h264 in the job dir.
#   guest-bench.sh STREAM [REPEAT]
# Output: out/bench.tsv: client mode rep wall_s frames fps_kernel [driver counters]
#   fps_kernel: CAPTURE buffers completed per second (vb2_buf_done trace
#   events, from the frame a quarter in to the last), the same measure for
#   every client.
set -u
. /job/lib.sh
cd /job
stream=$1
rep_n=${2:-2}
[ -f "$stream" ] || { echo "no stream $stream"; exit 1; }
visl_mode frame
echo "visl: transtime_ms=$(cat /sys/module/visl/parameters/visl_transtime_ms 2>/dev/null || echo '?')"
uname -r
: > out/bench.tsv
# only the buffer events are needed (the visl control dumps cost time)
T=/sys/kernel/tracing
for e in $T/events/visl*/enable; do echo 0 > "$e" 2>/dev/null; done
echo 1 > $T/events/vb2/vb2_buf_done/enable 2>/dev/null || true

kernel_fps() {
    # vb2_buf_done of the CAPTURE queue (type 9 = VIDEO_CAPTURE_MPLANE,
    # 1 = VIDEO_CAPTURE): completions per second from a quarter in to the last
    awk '/vb2_buf_done:/ {
        t = ""
        for (i = 1; i < NF; i++) if ($(i + 1) == "vb2_buf_done:") { t = $i; sub(/:$/, "", t) }
        if (!match($0, /type = [0-9]+/)) next
        ty = substr($0, RSTART + 7, RLENGTH - 7) + 0
        if (ty != 9 && ty != 1) next
        n++; ts[n] = t
    }
    END {
        if (n < 8) { print n " 0"; exit }
        first = int(n / 4); if (first < 1) first = 1
        dt = ts[n] - ts[first]
        fps = 0; if (dt > 0) fps = (n - first) / dt
        printf "%d %.2f\n", n, fps
    }' $T/trace
}

run() { # client mode rep
    c=$1 mode=$2 r=$3 sync=0
    [ "$mode" = sync ] && sync=1
    rm -f out/bench.counters
    echo > $T/trace
    t0=$(date +%s.%N)
    case $c in
    ffmpeg) va_env HANTRO_SYNC_DECODE=$sync HANTRO_BENCH_OUT=/job/out/bench.counters ffmpeg -nostdin -v error -hwaccel vaapi \
              -hwaccel_device /dev/dri/renderD128 -hwaccel_output_format vaapi -i "$stream" -f null - ;;
    gst-va) va_env HANTRO_SYNC_DECODE=$sync HANTRO_BENCH_OUT=/job/out/bench.counters GST_VA_ALL_DRIVERS=1 gst-launch-1.0 -q \
              filesrc location="$stream" ! h264parse ! vah264dec ! fakesink sync=false ;;
    gst-v4l2sl) gst-launch-1.0 -q filesrc location="$stream" ! h264parse ! v4l2slh264dec ! fakesink sync=false ;;
    esac > out/bench.log 2>&1
    rc=$?
    t1=$(date +%s.%N)
    kf=$(kernel_fps)
    cnt=$(grep -v '^frames=0 ' out/bench.counters 2>/dev/null | tail -1)
    wall=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$mode" "$r" "$rc" "$wall" "$(echo $kf | cut -d' ' -f1)" "$(echo $kf | cut -d' ' -f2)" "$cnt" | tee -a out/bench.tsv
    [ $rc = 0 ] || tail -3 out/bench.log
}

# vaInitialize latency on the real kernel (TCG: CPU-bound work runs ~10-30x slower)
if [ -x bench/va_init ]; then
    : > out/va_init.txt
    for i in 1 2 3 4 5 6 7 8 9 10; do va_env HANTRO_BENCH_OUT=/dev/null bench/va_init /dev/dri/renderD128 >> out/va_init.txt 2>&1; done
    cat out/va_init.txt
fi

# warm-up (page cache, GStreamer registry)
run gst-v4l2sl async 0 > /dev/null
grep -m2 vb2_buf_done $T/trace > out/vb2_sample.txt || true
for r in $(seq 1 "$rep_n"); do
    for c in ffmpeg gst-va gst-v4l2sl; do
        for mode in async sync; do
            [ "$c" = gst-v4l2sl ] && [ "$mode" = sync ] && continue
            run "$c" "$mode" "$r"
        done
    done
done

#!/bin/sh
# PID 1 of the test guest after switch_root (staged by guest-run.sh as
# /job/.guest-init; not part of the cached image, so editing it needs no
# rebuild). Sets up the system, loads videodev + v4l2-mem2mem + visl + vgem,
# enables the visl/v4l2/vb2 trace events, runs /job/.cmd with /job as cwd,
# writes /job/out/rc and powers off with sysrq 'o'.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp/home LANG=C.UTF-8 TERM=dumb
out=/job/out
mkdir -p $out
poweroff_now() {
  sync
  umount /job 2>/dev/null
  echo o > /proc/sysrq-trigger
  sleep 30
}
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
for d in /tmp /run /var/tmp /var/log; do mount -t tmpfs tmpfs $d; done
mkdir -p $HOME /run/user/0 && chmod 700 /run/user/0
export XDG_RUNTIME_DIR=/run/user/0
echo 1 > /proc/sys/kernel/sysrq
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname hantro-guest 2>/dev/null

# host-provided environment (VISL_PARAMS, TRACE_BUFFER_KB, test variables)
set -a; [ -f /job/.env ] && . /job/.env; set +a

step() { echo "guest-init: $*" >> $out/init.log; }
ok=1
stamp() { step "uptime $(cut -d' ' -f1 /proc/uptime): $*"; }
stamp "init start"
load() { # modprobe with diagnostics
  if ! modprobe "$@" >> $out/init.log 2>&1; then step "modprobe $* FAILED"; ok=0; fi
}
# media core, buffer helpers, test pattern generator, virtual GEM (render node)
load mc
load videodev
load videobuf2-common
load videobuf2-v4l2
load videobuf2-vmalloc
load videobuf2-dma-contig
load videobuf2-memops
load v4l2-tpg
load vgem
stamp "distro modules loaded"
insmod /opt/hantro/modules/v4l2-mem2mem.ko >> $out/init.log 2>&1 || { step "insmod v4l2-mem2mem FAILED"; ok=0; }
# shellcheck disable=SC2086
insmod /opt/hantro/modules/visl.ko ${VISL_PARAMS:-} >> $out/init.log 2>&1 || { step "insmod visl ${VISL_PARAMS:-} FAILED"; ok=0; }

stamp "visl loaded"
T=/sys/kernel/tracing
echo "${TRACE_BUFFER_KB:-65536}" > $T/buffer_size_kb
echo 0 > $T/tracing_on
for e in $T/events/visl_*; do [ -d "$e" ] && echo 1 > "$e/enable"; done
for e in v4l2_qbuf v4l2_dqbuf vb2_buf_done vb2_buf_queue vb2_v4l2_buf_queue vb2_v4l2_buf_done; do
  for f in $T/events/*/$e/enable; do [ -f "$f" ] && echo 1 > "$f"; done
done
: > $T/trace
echo 1 > $T/tracing_on

# GStreamer: start from the registry prebuilt in the image (fast under TCG)
export GST_REGISTRY=/tmp/gst-registry.bin
cp /opt/hantro/gst-registry.bin $GST_REGISTRY 2>/dev/null

# versions of the clients/libraries under test (recorded at guest build;
# older guests: asked now), for the tests to print
if [ -s /opt/hantro/versions.txt ]; then
  cp /opt/hantro/versions.txt $out/versions.txt
else
  dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package} ${Version}\n' firefox-esr mpv 'libmpv[0-9]*' \
    'gstreamer1.0-plugins-*' 'libgstreamer1.0-[0-9]*' ffmpeg 'libavcodec[0-9]*' 'libva[0-9]*' 'libva-*[0-9]' \
    vainfo 'mesa-*' libgl1-mesa-dri 'libegl-mesa[0-9]*' 'libgbm[0-9]*' weston 'libweston-[0-9]*' \
    'libwayland-client[0-9]*' 'linux-image-[0-9]*' 2>/dev/null | awk '$1 == "ii" { print $2, $3 }' | sort > $out/versions.txt
fi
{
  echo "kernel: $(uname -r)"
  ls -l /dev/video* /dev/media* /dev/dri 2>&1
  echo "enabled events: $(cat $T/set_event | tr '\n' ' ')"
} >> $out/init.log 2>&1
[ -e /dev/dri/renderD128 ] || step "no /dev/dri/renderD128"
[ $ok = 1 ] || dmesg | tail -30 >> $out/init.log

stamp "setup done"
if [ $ok = 1 ]; then
  cd /job || exit 1
  echo "==== guest: running $(sed -n 2p /job/.cmd)"
  sh /job/.cmd 2>&1 | tee $out/output.log
  # rc from the command (tee's own status is not it)
  rc=$(cat $out/.rc 2>/dev/null || echo 255)
else
  echo "guest-init: setup failed:"; cat $out/init.log
  rc=254
fi
echo "$rc" > $out/rc
echo "==== guest: exit status $rc"
poweroff_now

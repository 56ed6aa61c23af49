#!/usr/bin/env bash
# Build (once) and cache the arm64 test guest for qemu-system-aarch64 (TCG):
# Debian trixie's arm64 6.12 kernel, a busybox initramfs with the media
# modules (mc, videodev, videobuf2, v4l2-mem2mem, v4l2-tpg from the kernel
# package; visl cross-built for it, with the same decode-mode module
# parameters as the x86 guest), vgem, 9p, and an arm64 user space made of
# bookworm's arm64 libraries (multiarch on the host): vainfo, libva, and
# libavcodec/libavformat for the VA client tests/clients/vaclient.c.
# No debootstrap (a foreign-arch root needs binfmt_misc or a slow TCG
# second stage): everything is unpacked from .debs on the host.
#
# Prints the guest directory: ${HANTRO_CACHE:-~/.cache/hantro}/arm64-guest-<hash>
# (not guest-*: scripts/guest-build.sh removes every other guest-* dir).
#   Image        kernel (gzip Image from linux-image-*-arm64-unsigned)
#   initrd.img   busybox + modules + arm64 user space
#   kver
#   versions.txt "package version" of the kernel, vainfo, libva, libavcodec...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${HANTRO_CACHE:-$HOME/.cache/hantro}
hash=$(cat "$here/guest-arm64-build.sh" | sha256sum | cut -c1-16)
out=$CACHE/arm64-guest-$hash
[ -e "$out/stamp.done" ] && { echo "$out"; exit 0; }
log() { echo "guest-arm64-build: $*" >&2; }
t0=$(date +%s)

eval "$("$here/aarch64-setup.sh")" # cross gcc, arm64 multiarch libraries
HOST_INSTALL_UPDATE_SOFT=1 "$here/host-install.sh" guest-arm64-build qemu-system-arm cpio kmod xz-utils

tmp=$out.tmp
rm -rf "$tmp"; mkdir -p "$tmp/debs"
cd "$tmp/debs"
# kernel version: what trixie's linux-image-arm64 points at
kdep=$(TRIXIE_ARCH=arm64 "$here/trixie-apt.sh" apt-cache depends linux-image-arm64 | sed -n 's/.*Depends: \(linux-image-.*-arm64\)$/\1/p' | head -1)
kver=${kdep#linux-image-}
[ -n "$kver" ] || { log "cannot resolve linux-image-arm64 in trixie"; exit 1; }
kbase=${kver%-arm64}
log "kernel $kver"
TRIXIE_ARCH=arm64 "$here/trixie-apt.sh" apt-get -q download "linux-image-$kver-unsigned" "linux-headers-$kver" \
  "linux-headers-$kbase-common" linux-source-6.12 >&2 2>/dev/null
# kbuild host tools (x86_64) and the trixie libc they need (modpost wants GLIBC_2.38)
TRIXIE_ARCH=amd64 "$here/trixie-apt.sh" apt-get -q download "linux-kbuild-$kbase" libc6 >&2 2>/dev/null
apt-get -q download busybox-static:arm64 vainfo:arm64 >&2 2>/dev/null
cd "$tmp"
x() { for d in "$@"; do dpkg-deb -x "$d" "$tmp/x"; done; }
x debs/linux-image-*.deb debs/linux-headers-*.deb debs/linux-kbuild-*.deb
mkdir -p tlibc && dpkg-deb -x debs/libc6_*_amd64.deb tlibc
mkdir -p bb && dpkg-deb -x debs/busybox-static_*.deb bb && dpkg-deb -x debs/vainfo_*.deb bb

# ---- visl, cross-built against the arm64 headers ------------------------------
H=$tmp/x/usr/src/linux-headers-$kver
K=$tmp/x/usr/lib/linux-kbuild-$kbase
sed -i "s|include /usr/src/|include $tmp/x/usr/src/|" "$H/Makefile"
L=$tmp/tlibc/usr/lib/x86_64-linux-gnu
for m in "$K"/scripts/mod/modpost.real-*; do
  mv "$m" "$m.bin"
  printf '#!/bin/sh\nexec %s/ld-linux-x86-64.so.2 --library-path %s %s.bin "$@"\n' "$L" "$L" "$m" > "$m"
  chmod +x "$m"
done
# the kernel was built with gcc-14; bookworm's cross gcc is 12
cat > cc-wrap <<'EOF'
#!/bin/bash
args=()
for a in "$@"; do
  case "$a" in -fmin-function-alignment=*) args+=("-falign-functions=${a#*=}") ;; *) args+=("$a") ;; esac
done
exec aarch64-linux-gnu-gcc "${args[@]}"
EOF
chmod +x cc-wrap
src=$(ls debs/linux-source-6.12_*.deb)
dpkg-deb --fsys-tarfile "$src" | tar -x -C "$tmp/x" --wildcards './usr/src/linux-source-6.12.tar.*'
top=linux-source-6.12
v=$tmp/visl
mkdir -p "$v/drivers/media/test-drivers" "$v/x/y"
tar -xf "$tmp"/x/usr/src/linux-source-6.12.tar.* -C "$tmp" "$top/drivers/media/test-drivers/visl"
mv "$tmp/$top/drivers/media/test-drivers/visl" "$v/drivers/media/test-drivers/"
vc=$v/drivers/media/test-drivers/visl/visl-core.c
# Same module parameters as scripts/guest-build.sh adds (decode mode/start
# code defaults, per open): tests/guest scripts use visl_mode from lib.sh.
[ "$(grep -c '^static int visl_init_ctrls(struct visl_ctx \*ctx)$' "$vc")" = 1 ] &&
[ "$(grep -c '^	ctx->fh.ctrl_handler = hdl;$' "$vc")" = 1 ] || { log "visl-core.c has an unexpected shape"; exit 1; }
awk '
  /^static int visl_init_ctrls\(struct visl_ctx \*ctx\)$/ {
    print "static int h264_decode_mode = -1, h264_start_code = -1;"
    print "static int hevc_decode_mode = -1, hevc_start_code = -1;"
    print "module_param(h264_decode_mode, int, 0644);"
    print "module_param(h264_start_code, int, 0644);"
    print "module_param(hevc_decode_mode, int, 0644);"
    print "module_param(hevc_start_code, int, 0644);"
    print "static void visl_menu_default(struct v4l2_ctrl_handler *hdl, u32 id, int def)"
    print "{"
    print "\tstruct v4l2_ctrl *c = v4l2_ctrl_find(hdl, id);"
    print "\tif (c && def >= c->minimum && def <= c->maximum) {"
    print "\t\tv4l2_ctrl_modify_range(c, c->minimum, c->maximum, c->menu_skip_mask, def);"
    print "\t\tv4l2_ctrl_s_ctrl(c, def);"
    print "\t}"
    print "}"
  }
  /^\tctx->fh.ctrl_handler = hdl;$/ {
    print "\tvisl_menu_default(hdl, V4L2_CID_STATELESS_H264_DECODE_MODE, h264_decode_mode);"
    print "\tvisl_menu_default(hdl, V4L2_CID_STATELESS_H264_START_CODE, h264_start_code);"
    print "\tvisl_menu_default(hdl, V4L2_CID_STATELESS_HEVC_DECODE_MODE, hevc_decode_mode);"
    print "\tvisl_menu_default(hdl, V4L2_CID_STATELESS_HEVC_START_CODE, hevc_start_code);"
  }
  { print }' "$vc" > "$vc.new" && mv "$vc.new" "$vc"
cat > "$v/drivers/media/test-drivers/visl/Kbuild" <<EOF
visl-y := visl-core.o visl-video.o visl-dec.o visl-trace-points.o
visl-\$(CONFIG_VISL_DEBUGFS) += visl-debugfs.o
obj-m := visl.o
ccflags-y += -I$v/x/y -DCONFIG_VISL_DEBUGFS=1
EOF
log "cross-building visl"
make -C "$H" M="$v/drivers/media/test-drivers/visl" CC="$tmp/cc-wrap" CONFIG_VISL_DEBUGFS=y \
  CONFIG_DEBUG_INFO_BTF_MODULES= -j"$(nproc)" modules >"$tmp/visl.log" 2>&1 ||
  { tail -30 "$tmp/visl.log" >&2; log "visl build failed"; exit 1; }
modinfo -F vermagic "$v/drivers/media/test-drivers/visl/visl.ko" | grep -q "^$kver .*aarch64" || { log "visl vermagic"; exit 1; }

# ---- initramfs ---------------------------------------------------------------
ir=$tmp/ir
mkdir -p "$ir"/{bin,sbin,dev,proc,sys,tmp,run,job,etc,root,opt/hantro/modules,lib/modules/$kver}
cp bb/bin/busybox "$ir/bin/busybox"
for a in $(qemu-aarch64 bb/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ir/bin/$a"; done
M=$tmp/x/usr/lib/modules/$kver
depmod -b "$tmp/x/usr" "$kver"
declare -A seen=()
resolve() {
  local name=$1 line path deps d
  line=$(grep -E "(^|/)$name\.ko(\.xz|\.zst|\.gz)?:" "$M/modules.dep" | head -1) || true
  if [ -z "$line" ]; then grep -qE "/$name\.ko" "$M/modules.builtin" && return 0; log "module $name not found"; exit 1; fi
  path=${line%%:*}; deps=${line#*:}
  [ -n "${seen[$path]:-}" ] && return 0
  seen[$path]=1
  for d in $deps; do d=$(basename "$d"); resolve "${d%%.ko*}"; done
  mkdir -p "$ir/lib/modules/$kver/$(dirname "$path")"
  case "$path" in
    *.xz) xz -dc "$M/$path" > "$ir/lib/modules/$kver/${path%.xz}" ;;
    *.zst) zstd -qdc "$M/$path" > "$ir/lib/modules/$kver/${path%.zst}" ;;
    *) cp "$M/$path" "$ir/lib/modules/$kver/$path" ;;
  esac
}
for m in netfs 9pnet 9pnet_virtio 9p mc videodev videobuf2-common videobuf2-v4l2 videobuf2-vmalloc \
         videobuf2-dma-contig videobuf2-memops v4l2-tpg v4l2-mem2mem vgem; do resolve "$m"; done
cp "$v/drivers/media/test-drivers/visl/visl.ko" "$ir/opt/hantro/modules/"
cp "$M"/modules.builtin* "$M"/modules.order "$ir/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$ir" "$kver"

# arm64 user space: vainfo, libva + drivers' deps, libavcodec/libavformat
# (for tests/clients/vaclient.c, built per run), ld.so, and their closure.
mkdir -p "$ir/usr/bin" "$ir/lib/aarch64-linux-gnu" "$ir/usr/lib/aarch64-linux-gnu"
cp bb/usr/bin/vainfo "$ir/usr/bin/"
libpath=(/lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
declare -A have=()
closure() {
  local f=$1 n p
  for n in $(aarch64-linux-gnu-readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${have[$n]:-}" ] && continue
    have[$n]=1
    p=
    for d in "${libpath[@]}"; do [ -e "$d/$n" ] && { p=$d/$n; break; }; done
    [ -n "$p" ] || { log "library $n (needed by $f) not found"; exit 1; }
    cp -L "$p" "$ir/usr/lib/aarch64-linux-gnu/$n"
    closure "$p"
  done
}
for l in libva.so.2 libva-drm.so.2 libavcodec.so.59 libavformat.so.59 libavutil.so.57 libgcc_s.so.1 libm.so.6 libc.so.6 libpthread.so.0 libdl.so.2; do
  for d in "${libpath[@]}"; do [ -e "$d/$l" ] && { cp -L "$d/$l" "$ir/usr/lib/aarch64-linux-gnu/"; have[$l]=1; closure "$d/$l"; break; }; done
done
closure "$ir/usr/bin/vainfo"
cp -L /lib/ld-linux-aarch64.so.1 "$ir/lib/ld-linux-aarch64.so.1"
echo "/usr/lib/aarch64-linux-gnu" > "$ir/etc/ld.so.conf"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$ir/etc/passwd"

cat > "$ir/init" <<'EOF'
#!/bin/sh
# PID 1: mount, load modules, mount the job dir (9p tag "job"), run
# /job/.cmd, write /job/out/rc, power off.
export PATH=/usr/bin:/bin:/sbin LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu HOME=/root
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
echo 1 > /proc/sys/kernel/sysrq
t_init=$(cut -d' ' -f1 /proc/uptime)
for m in 9pnet_virtio 9p; do modprobe $m; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 job /job || { echo "init: no 9p job"; echo o > /proc/sysrq-trigger; }
out=/job/out; mkdir -p $out
set -a; [ -f /job/.env ] && . /job/.env; set +a
ok=1
for m in mc videodev videobuf2-common videobuf2-v4l2 videobuf2-vmalloc videobuf2-dma-contig v4l2-tpg v4l2-mem2mem vgem; do
  modprobe $m >> $out/init.log 2>&1 || { echo "modprobe $m FAILED" >> $out/init.log; ok=0; }
done
insmod /opt/hantro/modules/visl.ko ${VISL_PARAMS:-} >> $out/init.log 2>&1 || { echo "insmod visl FAILED" >> $out/init.log; ok=0; }
mount -t tracefs tracefs /sys/kernel/tracing; mount -t debugfs debugfs /sys/kernel/debug
T=/sys/kernel/tracing
echo "${TRACE_BUFFER_KB:-65536}" > $T/buffer_size_kb
echo 0 > $T/tracing_on
for e in $T/events/visl_*; do [ -d "$e" ] && echo 1 > "$e/enable"; done
for e in v4l2_qbuf v4l2_dqbuf vb2_buf_done vb2_buf_queue vb2_v4l2_buf_queue vb2_v4l2_buf_done; do
  for f in $T/events/*/$e/enable; do [ -f "$f" ] && echo 1 > "$f"; done
done
: > $T/trace; echo 1 > $T/tracing_on
t_ready=$(cut -d' ' -f1 /proc/uptime)
{ echo "kernel: $(uname -r) $(uname -m)"; echo "uptime at init $t_init, ready $t_ready"; ls -l /dev/video* /dev/media* /dev/dri; } >> $out/init.log 2>&1
if [ $ok = 1 ]; then cd /job && sh /job/.cmd > $out/output.log 2>&1; rc=$(cat $out/.rc 2>/dev/null || echo 255)
else rc=254; dmesg | tail -30 >> $out/init.log; fi
echo "$(cut -d' ' -f1 /proc/uptime)" > $out/uptime_end
echo $rc > $out/rc
sync; umount /job; echo o > /proc/sysrq-trigger; sleep 30
EOF
chmod 755 "$ir/init"
(cd "$ir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$tmp/initrd.img"
cp "$tmp/x/boot/vmlinuz-$kver" "$tmp/Image"
echo "$kver" > "$tmp/kver"
# versions of what the guest runs (guest-run.sh --arch arm64 copies this to
# out/versions.txt and prints it): the .debs unpacked here, and the host's
# arm64 packages that own the libraries copied into the initramfs
{
  for d in debs/linux-image-*.deb debs/busybox-static_*.deb debs/vainfo_*.deb; do
    dpkg-deb -f "$d" Package Version | paste -sd' ' | sed 's/^Package: \(.*\) Version: /\1:arm64 /'
  done
  for l in "$ir"/usr/lib/aarch64-linux-gnu/*; do
    n=$(basename "$l")
    for d in "${libpath[@]}"; do [ -e "$d/$n" ] && { dpkg-query -S "$d/$n" 2>/dev/null || dpkg-query -S "$(readlink -f "$d/$n")" 2>/dev/null; break; }; done
  done | sed 's/: .*//; s/, /\n/g' | sort -u | while read -r p; do
    dpkg-query -W -f='${binary:Package} ${Version}\n' "$p" 2>/dev/null
  done
} | sort -u > "$tmp/versions.txt"
grep -q '^libva2:arm64 ' "$tmp/versions.txt" && grep -q '^vainfo:arm64 ' "$tmp/versions.txt" ||
  { log "cannot record the package versions"; cat "$tmp/versions.txt" >&2; exit 1; }
rm -rf "$tmp/x" "$tmp/debs" "$tmp/ir" "$tmp/bb" "$tmp/tlibc" "$tmp/$top"
touch "$tmp/stamp.done"
rm -rf "$out"; mv "$tmp" "$out"
# guests of older recipes (~70 MB each; GUEST_KEEP_OLD=1 keeps them)
if [ "${GUEST_KEEP_OLD:-0}" != 1 ]; then
  for old in "$CACHE"/arm64-guest-*; do
    case "$old" in "$out"|"$out".tmp) continue ;; esac
    rm -rf "$old"
  done
fi
log "guest ready in $out ($(( $(date +%s) - t0 ))s, initrd $(du -h "$out/initrd.img" | cut -f1))"
echo "$out"

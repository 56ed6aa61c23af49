#!/usr/bin/env bash
# Build (once) and cache the test guest: a Debian trixie root file system with
# the 6.12 kernel, GStreamer/ffmpeg/vainfo/mpv/firefox-esr, and out-of-tree
# builds of v4l2-mem2mem and visl (the virtual stateless decoder), plus a tiny
# busybox initramfs that mounts that root over virtio-9p.
#
# Prints the guest directory on stdout. It is
#   ${HANTRO_CACHE:-$HOME/.cache/hantro}/guest-<hash>
# where <hash> covers this script and the initramfs init, so editing the
# recipe builds a new guest. The build happens in guest-<hash>.tmp and is
# renamed into place only on success (a failed build resumes from its last
# finished stage on the next call). Layout of the result:
#   root/                  trixie root fs (9p root of the guest)
#   vmlinuz, initrd.img    kernel and busybox initramfs
#   kver                   kernel release
#   root/opt/hantro/modules/{v4l2-mem2mem,visl}.ko
#   root/opt/hantro/src/   visl + v4l2 trace headers (trace formats reference)
#   root/opt/hantro/versions.txt  "package version" of the tested clients/libs
#   mirror                 the Debian mirror it was built from
#
# Env: HANTRO_CACHE, GUEST_MIRROR (Debian archive URL; default: the one this
# machine's apt uses, found by scripts/apt-mirror.sh; the mirror is not part
# of the recipe hash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${HANTRO_CACHE:-$HOME/.cache/hantro}
recipe=("$here/guest-build.sh" "$here/guest-initramfs-init")
hash=$(cat "${recipe[@]}" | sha256sum | cut -c1-16)
out=$CACHE/guest-$hash
if [ -e "$out/stamp.done" ]; then echo "$out"; exit 0; fi

log() { echo "guest-build: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root (debootstrap/chroot)"; exit 1; }
for t in debootstrap chroot cpio xz; do
  command -v $t >/dev/null || { log "missing host tool: $t"; exit 1; }
done
BUSYBOX=${GUEST_BUSYBOX:-/bin/busybox}
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
  { log "$BUSYBOX is not a static busybox (apt-get install busybox-static)"; exit 1; }

mkdir -p "$CACHE/debs"
tmp=$out.tmp
mkdir -p "$tmp"
exec 9>"$tmp.lock"
flock 9
if [ -e "$out/stamp.done" ]; then echo "$out"; exit 0; fi
root=$tmp/root
t0=$(date +%s)
MIRROR=$("$here/apt-mirror.sh") || { log "no Debian mirror to build from (see above)"; exit 1; }
log "mirror $MIRROR"

mounted=()
cleanup() {
  local i
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { mkdir -p "$2"; mount "${@:3}" "$1" "$2"; mounted+=("$2"); }
stage() { [ -e "$tmp/stamp.$1" ]; }
done_stage() { touch "$tmp/stamp.$1"; log "stage $1 done after $(( $(date +%s) - t0 ))s"; }

# ---- 1. debootstrap -------------------------------------------------------
if ! stage debootstrap; then
  rm -rf "$root"
  log "debootstrap trixie (minbase)"
  debootstrap --variant=minbase --cache-dir="$CACHE/debs" trixie "$root" "$MIRROR" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -30 "$tmp/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
  done_stage debootstrap
fi

chroot_mounts() {
  bind proc "$root/proc" -t proc
  bind sysfs "$root/sys" -t sysfs
  bind /dev "$root/dev" --bind
  bind devpts "$root/dev/pts" -t devpts
  bind "$CACHE/debs" "$root/var/cache/apt/archives" --bind
}
inchroot() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# ---- 2. packages -------------------------------------------------------------
pkgs=(linux-image-amd64 linux-headers-amd64 linux-source-6.12
      make gcc libc6-dev bc flex bison kmod xz-utils
      gstreamer1.0-tools gstreamer1.0-plugins-bad gstreamer1.0-plugins-base
      gstreamer1.0-plugins-good ffmpeg vainfo libva-drm2 libva2 mpv firefox-esr
      v4l-utils busybox ca-certificates
      weston wayland-utils libwayland-dev libwayland-bin wayland-protocols libva-dev
      libavcodec-dev libavformat-dev libavutil-dev pkgconf gdb)
if ! stage packages; then
  chroot_mounts
  cat > "$root/etc/apt/sources.list" <<EOF
deb $MIRROR trixie main
EOF
  cat > "$root/etc/apt/apt.conf.d/90hantro" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dpkg::Options { "--force-confold"; };
EOF
  # the guest never boots through initramfs-tools: skip generating its initrd
  mkdir -p "$root/etc/initramfs-tools"
  printf 'update_initramfs=no\n' > "$root/etc/initramfs-tools/update-initramfs.conf"
  mkdir -p "$root/usr/sbin"
  log "apt-get install (${#pkgs[@]} packages + deps)"
  { inchroot apt-get -q update && inchroot apt-get -q -y install "${pkgs[@]}"; } >"$tmp/apt.log" 2>&1 ||
    { tail -40 "$tmp/apt.log" >&2; log "apt-get install failed (log: $tmp/apt.log)"; exit 1; }
  inchroot apt-get clean >/dev/null 2>&1 || true
  cleanup; mounted=()
  done_stage packages
fi

kver=$(ls "$root/lib/modules" | grep -- '-amd64$' | sort -V | tail -1)
[ -n "$kver" ] && [ -e "$root/boot/vmlinuz-$kver" ] || { log "no kernel in $root/boot"; exit 1; }
[ -d "$root/usr/src/linux-headers-$kver" ] || { log "linux-headers-$kver missing"; exit 1; }
echo "$kver" > "$tmp/kver"

# ---- 3. out-of-tree modules: v4l2-mem2mem, visl ------------------------------
if ! stage modules; then
  chroot_mounts
  src=$(ls "$root"/usr/src/linux-source-6.12.tar.* | head -1)
  b=$root/opt/hantro/build
  rm -rf "$b"; mkdir -p "$b"
  log "extracting visl/v4l2-mem2mem from $(basename "$src")"
  top=$(basename "$src"); top=${top%.tar.*}
  tar -xf "$src" -C "$b" \
    "$top/drivers/media/v4l2-core/v4l2-mem2mem.c" \
    "$top/drivers/media/test-drivers/visl" \
    "$top/include/trace/events/v4l2.h" \
    "$top/include/trace/events/vb2.h" \
    "$top/include/media/v4l2-ctrls.h" \
    "$top/include/uapi/linux/v4l2-controls.h"
  mv "$b/$top" "$b/src"
  # m2m
  mkdir -p "$b/m2m"
  cp "$b/src/drivers/media/v4l2-core/v4l2-mem2mem.c" "$b/m2m/"
  echo 'obj-m := v4l2-mem2mem.o' > "$b/m2m/Kbuild"
  # visl: sources at <dir>/drivers/media/test-drivers/visl so that its trace
  # headers' TRACE_INCLUDE_PATH (../../drivers/media/test-drivers/visl) resolves
  # from -I<dir>/x/y.
  v=$b/visl
  mkdir -p "$v/drivers/media/test-drivers" "$v/x/y"
  cp -r "$b/src/drivers/media/test-drivers/visl" "$v/drivers/media/test-drivers/"
  # Test-plane addition: writable module parameters choosing the default of
  # the DECODE_MODE/START_CODE menu controls. Userspace such as GStreamer's
  # v4l2codecs adopts whatever the driver reports, so this is how a test picks
  # frame-based or slice-based decoding (per open; no reload needed).
  vc=$v/drivers/media/test-drivers/visl/visl-core.c
  [ "$(grep -c '^static int visl_init_ctrls(struct visl_ctx \*ctx)$' "$vc")" = 1 ] &&
  [ "$(grep -c '^	ctx->fh.ctrl_handler = hdl;$' "$vc")" = 1 ] ||
    { log "visl-core.c does not have the expected shape; cannot add mode params"; exit 1; }
  awk '
    /^static int visl_init_ctrls\(struct visl_ctx \*ctx\)$/ {
      print "static int h264_decode_mode = -1, h264_start_code = -1;"
      print "static int hevc_decode_mode = -1, hevc_start_code = -1;"
      print "module_param(h264_decode_mode, int, 0644);"
      print "MODULE_PARM_DESC(h264_decode_mode, \" default H.264 decode mode (0 slice, 1 frame)\");"
      print "module_param(h264_start_code, int, 0644);"
      print "MODULE_PARM_DESC(h264_start_code, \" default H.264 start code (0 none, 1 annex-b)\");"
      print "module_param(hevc_decode_mode, int, 0644);"
      print "MODULE_PARM_DESC(hevc_decode_mode, \" default HEVC decode mode (0 slice, 1 frame)\");"
      print "module_param(hevc_start_code, int, 0644);"
      print "MODULE_PARM_DESC(hevc_start_code, \" default HEVC start code (0 none, 1 annex-b)\");"
      print ""
      print "static void visl_menu_default(struct v4l2_ctrl_handler *hdl, u32 id, int def)"
      print "{"
      print "\tstruct v4l2_ctrl *c = v4l2_ctrl_find(hdl, id);"
      print ""
      print "\tif (c && def >= c->minimum && def <= c->maximum) {"
      print "\t\tv4l2_ctrl_modify_range(c, c->minimum, c->maximum, c->menu_skip_mask, def);"
      print "\t\tv4l2_ctrl_s_ctrl(c, def);"
      print "\t}"
      print "}"
      print ""
    }
    /^\tctx->fh.ctrl_handler = hdl;$/ {
      print "\tvisl_menu_default(hdl, V4L2_CID_STATELESS_H264_DECODE_MODE, h264_decode_mode);"
      print "\tvisl_menu_default(hdl, V4L2_CID_STATELESS_H264_START_CODE, h264_start_code);"
      print "\tvisl_menu_default(hdl, V4L2_CID_STATELESS_HEVC_DECODE_MODE, hevc_decode_mode);"
      print "\tvisl_menu_default(hdl, V4L2_CID_STATELESS_HEVC_START_CODE, hevc_start_code);"
    }
    { print }' "$vc" > "$vc.new" && mv "$vc.new" "$vc"
  cat > "$v/drivers/media/test-drivers/visl/Kbuild" <<'EOF'
visl-y := visl-core.o visl-video.o visl-dec.o visl-trace-points.o
visl-$(CONFIG_VISL_DEBUGFS) += visl-debugfs.o
obj-m := visl.o
ccflags-y += -I/opt/hantro/build/visl/x/y -DCONFIG_VISL_DEBUGFS=1
EOF
  cat > "$b/build.sh" <<EOF
set -e
K=/usr/src/linux-headers-$kver
make -C \$K M=/opt/hantro/build/m2m -j\$(nproc) modules
make -C \$K M=/opt/hantro/build/visl/drivers/media/test-drivers/visl -j\$(nproc) \
  KBUILD_EXTRA_SYMBOLS=/opt/hantro/build/m2m/Module.symvers CONFIG_VISL_DEBUGFS=y modules
EOF
  log "building modules against linux-headers-$kver"
  inchroot sh /opt/hantro/build/build.sh >"$tmp/modules.log" 2>&1 ||
    { tail -40 "$tmp/modules.log" >&2; log "module build failed (log: $tmp/modules.log)"; exit 1; }
  grep -i 'WARNING' "$tmp/modules.log" >&2 || true
  mkdir -p "$root/opt/hantro/modules" "$root/opt/hantro/src"
  cp "$b/m2m/v4l2-mem2mem.ko" "$v/drivers/media/test-drivers/visl/visl.ko" "$root/opt/hantro/modules/"
  cp -r "$b/src/." "$root/opt/hantro/src/"
  cleanup; mounted=()
  done_stage modules
fi

# ---- 4. guest tweaks ----------------------------------------------------------
if ! stage tweaks; then
  chroot_mounts
  mkdir -p "$root/job"
  echo hantro-guest > "$root/etc/hostname"
  # Pre-build the GStreamer registry (scanning ~300 plugins over 9p under TCG
  # is slow); the guest copies it to tmpfs and lets it update for visl.
  inchroot env GST_REGISTRY=/opt/hantro/gst-registry.bin gst-inspect-1.0 >/dev/null 2>"$tmp/gst.log" || true
  [ -s "$root/opt/hantro/gst-registry.bin" ] || { log "gst registry not built"; exit 1; }
  ls "$root/usr/lib/firefox-esr/vaapitest" >/dev/null
  # The versions of the clients and libraries the tests exercise, as
  # installed (guest-init.sh copies this to /job/out/versions.txt on every
  # boot and the tests print it): a check that breaks after a rebuild names
  # the package that changed.
  # (dpkg-query fails for a pattern that matches nothing; the others print)
  { inchroot dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package} ${Version}\n' \
      firefox-esr mpv 'libmpv[0-9]*' 'gstreamer1.0-plugins-*' 'libgstreamer1.0-[0-9]*' ffmpeg \
      'libavcodec[0-9]*' 'libva[0-9]*' 'libva-*[0-9]' vainfo 'mesa-*' 'libgl1-mesa-dri' 'libegl-mesa[0-9]*' \
      'libgbm[0-9]*' weston 'libweston-[0-9]*' 'libwayland-client[0-9]*' 'linux-image-[0-9]*' \
      2>/dev/null || true; } | awk '$1 == "ii" { print $2, $3 }' | sort > "$root/opt/hantro/versions.txt"
  grep -q '^firefox-esr ' "$root/opt/hantro/versions.txt" || { log "cannot record package versions"; exit 1; }
  echo "mirror $MIRROR" > "$tmp/mirror"
  cleanup; mounted=()
  done_stage tweaks
fi

# ---- 5. kernel + initramfs ----------------------------------------------------
if ! stage initramfs; then
  cp "$root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
  ir=$tmp/initramfs
  rm -rf "$ir"; mkdir -p "$ir"/{bin,dev,proc,sys,newroot,lib/mod}
  cp "$BUSYBOX" "$ir/bin/busybox"
  cp "$here/guest-initramfs-init" "$ir/init"; chmod 755 "$ir/init"
  moddir=$root/lib/modules/$kver
  # resolve dependencies from modules.dep (kernel/...: deps), in load order
  declare -A seen=()
  order=()
  resolve() {
    local name=$1 line path deps d
    line=$(grep -E "(^|/)$name\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep" | head -1) || true
    if [ -z "$line" ]; then
      grep -qE "/$name\.ko" "$moddir/modules.builtin" && return 0
      log "module $name not found"; exit 1
    fi
    path=${line%%:*}; deps=${line#*:}
    [ -n "${seen[$path]:-}" ] && return 0
    seen[$path]=1
    for d in $deps; do d=$(basename "$d"); resolve "${d%%.ko*}"; done
    order+=("$path")
  }
  for m in virtio_pci netfs 9pnet 9pnet_virtio 9p; do resolve "$m"; done
  : > "$ir/modules.order"
  for p in "${order[@]}"; do
    f=$(basename "$p"); base=${f%%.ko*}
    case "$f" in
      *.xz) xz -dc "$moddir/$p" > "$ir/lib/mod/$base.ko" ;;
      *.zst) zstd -qdc "$moddir/$p" > "$ir/lib/mod/$base.ko" ;;
      *.gz) gzip -dc "$moddir/$p" > "$ir/lib/mod/$base.ko" ;;
      *) cp "$moddir/$p" "$ir/lib/mod/$base.ko" ;;
    esac
    echo "$base.ko" >> "$ir/modules.order"
  done
  (cd "$ir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$tmp/initrd.img"
  rm -rf "$ir"
  done_stage initramfs
fi

touch "$tmp/stamp.done"
rm -f "$tmp.lock"
mv "$tmp" "$out"
# Guests of older recipes are 2 GB each: drop them (GUEST_KEEP_OLD=1 keeps).
if [ "${GUEST_KEEP_OLD:-0}" != 1 ]; then
  for old in "$CACHE"/guest-*; do
    case "$old" in "$out"|"$out".*) continue ;; esac
    [ -d "$old" ] || { rm -f "$old"; continue; }
    grep -qs " ${old}/root/" /proc/mounts && continue
    log "removing old guest $old"; rm -rf "$old" "$old.lock"
  done
fi
log "guest ready in $out ($(( $(date +%s) - t0 ))s)"
echo "$out"

//! Zero configuration (issue 20, first part): without LIBVA_DRIVER_NAME,
//! libva loads `<DRM driver name>_drv_video.so`, the name coming from
//! drmGetVersion on the display's device (libva 2.17 and 2.22,
//! va/drm/va_drm_utils.c: none of the board names below is in its map, so
//! the kernel name itself is used, verbatim, '-' included). `make install`
//! links `<name>_drv_video.so -> hantro_drv_video.so` for every board name;
//! here the real Makefile installs into a DESTDIR, and the real libva
//! (vainfo, ffmpeg) must pick our driver through each link, with the
//! simulator (LD_PRELOAD) answering DRM_IOCTL_VERSION on /dev/dri/renderD128
//! with `HANTRO_SIM_DRM_NAME`, and the driver must decode every frame on the
//! (emulated) device. A name with no link, or an install without the links,
//! must not load our driver.
//!
//! Names libva would not resolve: none on libva >= 2.16 (the host's 2.17,
//! trixie's 2.22). Both fall back to the
//! kernel name when it is not in the map (i915, xe, pvrsrvkm, radeon,
//! amdgpu, nvidia-drm, and in 2.22 vgem -> WSL only on a WSL kernel) and
//! build the path as `<dir>/<name>_drv_video.so` without touching the name.
//! (libva < 2.16 had no fallback, commit 317c0fbe: LIBVA_DRIVER_NAME=hantro.)
//!
//! Needs target/release/libhantro_drv_video.so and libhantro_sim.so
//! (HANTRO_DRIVER_SO / HANTRO_SIM_SO override); fails, never skips, without
//! them or without vainfo/ffmpeg.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The boards' DRM driver names: GPU render nodes, then display nodes.
/// Must equal the Makefile's DRM_NAMES (checked below).
const BOARD_NAMES: [&str; 9] = [
    "panfrost",  // RK3566/RK3568/RK3399, Allwinner H6
    "panthor",   // RK3588
    "lima",      // Allwinner A64/H5
    "etnaviv",   // i.MX8M
    "rockchip",  // Rockchip display
    "sun4i-drm", // Allwinner display
    "imx-drm",   // i.MX display
    "imx-dcss",  // i.MX8MQ display
    "mxsfb-drm", // i.MX8MM/MN display (LCDIF)
];

const DRIVERDIR: &str = "usr/lib/dri";
const DRIVER_LOG: &str = "error,hantro_drv_video::decoded=info";
const DECODED: &str = "decoded a picture into CAPTURE buffer";
const VENDOR: &str = "hantro_drv_video";
const CLIP: &str = "cavlc_baseline";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn built(env: &str, default: &str) -> PathBuf {
    let p = std::env::var(env).map(PathBuf::from).unwrap_or_else(|_| repo().join(default));
    assert!(p.exists(), "{} missing: build it first (cargo build --release --workspace)", p.display());
    p
}

fn fresh(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `make <target> DESTDIR=<destdir> PREFIX=/usr DRIVERDIR=/usr/lib/dri`
/// with the prebuilt driver (`-o build`: make does not run cargo again).
fn make(target: &str, destdir: &Path, extra: &[&str]) -> Output {
    let so = built("HANTRO_DRIVER_SO", "target/release/libhantro_drv_video.so");
    let o = Command::new("make")
        .arg("-C")
        .arg(repo())
        .args(["-o", "build", target])
        .arg(format!("DESTDIR={}", destdir.display()))
        .args(["PREFIX=/usr", &format!("DRIVERDIR=/{DRIVERDIR}")])
        .arg(format!("SO={}", so.display()))
        .args(extra)
        .output()
        .expect("run make");
    assert!(o.status.success(), "make {target} failed:\n{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    o
}

/// Installs into a fresh DESTDIR; returns the driver directory in it.
fn install(name: &str, extra: &[&str]) -> PathBuf {
    let dest = fresh(name);
    make("install", &dest, extra);
    dest.join(DRIVERDIR)
}

/// `*_drv_video.so` entries of a directory, sorted.
fn drivers_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with("_drv_video.so")).collect();
    v.sort();
    v
}

fn clip() -> (PathBuf, usize) {
    let dir =
        std::env::var("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/hantro")).join("corpus");
    let st = Command::new("bash").arg(repo().join("scripts/corpus.sh")).arg(&dir).status().expect("run scripts/corpus.sh");
    assert!(st.success(), "corpus generation failed");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest");
    let frames = manifest
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{CLIP}\t")))
        .and_then(|rest| rest.split('\t').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{CLIP} not in the corpus manifest"));
    (dir.join(format!("{CLIP}.h264")), frames)
}

/// A VA client under the simulator whose DRM node reports `drm_name`, with
/// LIBVA_DRIVER_NAME removed and LIBVA_DRIVERS_PATH = `drivers`.
fn client(prog: &str, drivers: &Path, drm_name: &str, log: &Path) -> Command {
    let sim = built("HANTRO_SIM_SO", "target/release/libhantro_sim.so");
    let _ = std::fs::remove_file(log);
    let mut c = Command::new(prog);
    c.env_remove("LIBVA_DRIVER_NAME")
        .env("LD_PRELOAD", sim)
        .env("LIBVA_DRIVERS_PATH", drivers)
        .env("HANTRO_SIM_DRM_NAME", drm_name)
        .env("HANTRO_SIM_LOG", log)
        .env("HANTRO_SIM_QUIET", "1")
        .env("HANTRO_LOG", DRIVER_LOG)
        .stdin(std::process::Stdio::null());
    c
}

struct Run {
    ok: bool,
    out: String,
    decoded: usize,
}

fn vainfo(drivers: &Path, drm_name: &str, log: &Path) -> Run {
    let o = client("vainfo", drivers, drm_name, log).args(["--display", "drm", "--device", "/dev/dri/renderD128"]).output().expect("run vainfo");
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    Run { ok: o.status.success(), out, decoded: 0 }
}

/// ffmpeg keeps the frames in VA surfaces (`-hwaccel_output_format vaapi`,
/// `hwdownload`): no software fallback can succeed.
fn ffmpeg(drivers: &Path, drm_name: &str, clip: &Path, log: &Path) -> Run {
    let o = client("ffmpeg", drivers, drm_name, log)
        .args(["-nostdin", "-v", "verbose", "-hwaccel", "vaapi", "-hwaccel_device", "/dev/dri/renderD128", "-hwaccel_output_format", "vaapi", "-i"])
        .arg(clip)
        .args(["-vf", "hwdownload,format=nv12", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let err = String::from_utf8_lossy(&o.stderr);
    let decoded = err.lines().filter(|l| l.contains(DECODED)).count();
    let out = err
        .lines()
        .filter(|l| !l.contains(DECODED))
        .filter(|l| l.contains("libva") || l.contains("VAAPI") || l.contains("rror") || l.contains("ailed"))
        .collect::<Vec<_>>()
        .join("\n");
    Run { ok: o.status.success(), out, decoded }
}

fn opened(run: &Run, drivers: &Path, name: &str) -> bool {
    run.out.contains(&format!("Trying to open {}/{name}_drv_video.so", drivers.display()))
}

fn findings(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter(|l| l.starts_with("job ")).map(String::from).collect()
}

#[test]
fn make_install_links_every_board_name_and_uninstall_removes_them() {
    let so = built("HANTRO_DRIVER_SO", "target/release/libhantro_drv_video.so");
    let dest = fresh("zero-config-layout");
    let dir = dest.join(DRIVERDIR);
    // A driver of one of the names that is not ours must survive install and uninstall.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lima_drv_video.so"), b"someone else's").unwrap();
    let o = make("install", &dest, &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not linking lima_drv_video.so"), "install must report the foreign lima_drv_video.so");
    assert_eq!(std::fs::read(dir.join("lima_drv_video.so")).unwrap(), b"someone else's", "install replaced a foreign lima_drv_video.so");
    std::fs::remove_file(dir.join("lima_drv_video.so")).unwrap();
    // Reinstall (idempotent) with the name free.
    make("install", &dest, &[]);
    make("install", &dest, &[]);
    let main = dir.join("hantro_drv_video.so");
    assert!(std::fs::symlink_metadata(&main).unwrap().file_type().is_file(), "hantro_drv_video.so must be a regular file");
    assert_eq!(std::fs::read(&main).unwrap(), std::fs::read(&so).unwrap(), "installed hantro_drv_video.so differs from {}", so.display());
    let mut want: Vec<String> = BOARD_NAMES.iter().map(|n| format!("{n}_drv_video.so")).chain(["hantro_drv_video.so".into()]).collect();
    want.sort();
    assert_eq!(
        drivers_in(&dir),
        want,
        "installed drivers must be hantro_drv_video.so + one link per board name (Makefile DRM_NAMES = this test's BOARD_NAMES)"
    );
    for n in BOARD_NAMES {
        let l = dir.join(format!("{n}_drv_video.so"));
        assert!(std::fs::symlink_metadata(&l).unwrap().file_type().is_symlink(), "{} is not a symlink", l.display());
        assert_eq!(std::fs::read_link(&l).unwrap(), PathBuf::from("hantro_drv_video.so"), "{} must be a relative link in the same directory", l.display());
    }
    // The udev rule that gives the seat's user the decoder nodes.
    let rule = dest.join("usr/lib/udev/rules.d/70-hantro_drv_video.rules");
    let text = std::fs::read_to_string(&rule).unwrap_or_else(|e| panic!("{}: {e}", rule.display()));
    assert!(text.lines().any(|l| l.starts_with("SUBSYSTEM==\"media\"") && l.contains("TAG+=\"uaccess\"")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("SUBSYSTEM==\"video4linux\"") && l.contains("TAG+=\"uaccess\"")), "{text}");
    // DRM_NAMES overrides the list.
    let only = install("zero-config-only", &["DRM_NAMES=panfrost"]);
    assert_eq!(drivers_in(&only), ["hantro_drv_video.so", "panfrost_drv_video.so"]);
    // Uninstall removes our links and the driver, nothing else.
    std::fs::write(dir.join("other_drv_video.so"), b"x").unwrap();
    make("uninstall", &dest, &[]);
    assert_eq!(drivers_in(&dir), ["other_drv_video.so"], "uninstall must remove hantro_drv_video.so and every link, only those");
    assert!(!rule.exists(), "uninstall must remove {}", rule.display());
}

#[test]
fn libva_loads_the_driver_by_each_board_drm_name_without_libva_driver_name() {
    let drivers = install("zero-config", &[]);
    let (clip, frames) = clip();
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zero-config-sim.log");
    let mut bad = Vec::new();
    for n in BOARD_NAMES {
        let v = vainfo(&drivers, n, &log);
        if !(v.ok && opened(&v, &drivers, n) && v.out.contains(&format!("Driver version: {VENDOR}"))) {
            bad.push(format!("{n}: vainfo ok={} (want: opened {n}_drv_video.so, vendor {VENDOR}):\n{}", v.ok, v.out));
        }
        let f = ffmpeg(&drivers, n, &clip, &log);
        let flagged = findings(&log);
        if !(f.ok && opened(&f, &drivers, n) && f.out.contains(&format!("VAAPI driver: {VENDOR}")) && f.decoded == frames && flagged.is_empty()) {
            bad.push(format!("{n}: ffmpeg ok={}, {} of {frames} pictures decoded by the device, checker {flagged:?}:\n{}", f.ok, f.decoded, f.out));
        }
    }
    assert!(bad.is_empty(), "{} of {} board names failed:\n{}", bad.len(), BOARD_NAMES.len() * 2, bad.join("\n\n"));
    eprintln!(
        "{} board DRM names: libva opened <name>_drv_video.so -> hantro_drv_video.so, vainfo + ffmpeg decoded {frames}/{frames} frames each",
        BOARD_NAMES.len()
    );
}

#[test]
fn names_without_a_link_do_not_load_the_driver() {
    let (clip, _) = clip();
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zero-config-neg.log");
    // vgem: a DRM name we do not link (libva still asks for it: the
    // simulator's answer reached libva).
    let full = install("zero-config-neg", &[]);
    // panfrost with the links not installed.
    let bare = install("zero-config-bare", &["DRM_NAMES="]);
    assert_eq!(drivers_in(&bare), ["hantro_drv_video.so"]);
    for (drivers, n) in [(&full, "vgem"), (&bare, "panfrost")] {
        let v = vainfo(drivers, n, &log);
        assert!(opened(&v, drivers, n), "{n}: libva did not try {n}_drv_video.so:\n{}", v.out);
        assert!(!v.ok && !v.out.contains(&format!("Driver version: {VENDOR}")), "{n}: vainfo must not find a driver:\n{}", v.out);
        let f = ffmpeg(drivers, n, &clip, &log);
        assert!(opened(&f, drivers, n), "{n}: ffmpeg's libva did not try {n}_drv_video.so:\n{}", f.out);
        assert!(
            !f.ok && f.decoded == 0 && !f.out.contains(&format!("VAAPI driver: {VENDOR}")),
            "{n}: ffmpeg must fail without our driver (ok={}, {} decoded):\n{}",
            f.ok,
            f.decoded,
            f.out
        );
    }
}

//! Loads the built hantro_drv_video.so the way libva does (dlopen + dlsym
//! of __vaDriverInit_1_*), without libva, with a hand-built
//! VADriverContext: checks the exported symbols, that every vtable slot is
//! filled, and the init failure path when no decoder exists.
//!
//! `cargo test` builds the library for the tests (with `test-hooks`) but not
//! the shipped cdylib, so target/<profile>/libhantro_drv_video.so can be
//! older than the source. The parent test therefore runs `$CARGO build
//! --lib` for this package, with this test's profile, target directory and
//! target, before loading the .so, and hands that path to its child
//! (HANTRO_DLOPEN_SO). A child run on its own (scripts/aarch64-test.sh
//! under qemu-aarch64, right after aarch64-build.sh) loads the .so next
//! to its deps/ directory.
use hantro_drv_video::ffi::va;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;

const SO: &str = "libhantro_drv_video.so";

/// target[/<triple>]/<profile>/deps/dlopen-<hash> -> target[/<triple>]/<profile>/
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/").to_path_buf()
}

/// Builds the cdylib as `cargo build` would ship it (no test features) for
/// this test's profile, target directory and target; returns its path.
fn build_cdylib() -> PathBuf {
    let pdir = profile_dir();
    let dir_name = pdir.file_name().unwrap().to_str().unwrap().to_string();
    let profile = if dir_name == "debug" { "dev".to_string() } else { dir_name };
    // Cargo keeps .rustc_info.json at the top of the target directory; with
    // --target the profile directory sits one level deeper, under the triple.
    let top = |d: &Path| d.join(".rustc_info.json").exists();
    let up = pdir.parent().unwrap();
    let (target_dir, triple) = if top(up) {
        (up.to_path_buf(), None)
    } else {
        let root = up.parent().unwrap();
        assert!(top(root), "cannot tell the target directory of {}", pdir.display());
        (root.to_path_buf(), Some(up.file_name().unwrap().to_str().unwrap().to_string()))
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut c = Command::new(cargo);
    c.args(["build", "--lib", "-p", "hantro_drv_video", "--profile", &profile, "--message-format=short"])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    if let Some(t) = &triple {
        c.args(["--target", t]);
    }
    let out = c.output().expect("run cargo build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo build of the cdylib failed:\n{stderr}");
    let so = pdir.join(SO);
    assert!(so.exists(), "cargo build did not produce {}:\n{stderr}", so.display());
    eprintln!("dlopen: built {} ({})", so.display(), stderr.lines().last().unwrap_or("").trim());
    so
}

fn cdylib() -> PathBuf {
    if let Some(p) = std::env::var_os("HANTRO_DLOPEN_SO") {
        return PathBuf::from(p);
    }
    let p = profile_dir().join(SO);
    assert!(p.exists(), "{} not built: run `cargo build` first (the README's test command does)", p.display());
    p
}

type InitFn = unsafe extern "C" fn(va::VADriverContextP) -> va::VAStatus;

fn load(so: &Path) -> (*mut libc::c_void, Vec<(String, InitFn)>) {
    let path = CString::new(so.to_str().unwrap()).unwrap();
    // SAFETY: loading our own cdylib; RTLD_NOW resolves every symbol now,
    // which is what libva does too.
    let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!h.is_null(), "dlopen failed");
    let mut inits = Vec::new();
    for minor in 0..=40 {
        let name = format!("__vaDriverInit_1_{minor}");
        let c = CString::new(name.clone()).unwrap();
        // SAFETY: dlsym on a live handle.
        let s = unsafe { libc::dlsym(h, c.as_ptr()) };
        if !s.is_null() {
            // SAFETY: the symbol is the driver's init function with this C type.
            inits.push((name, unsafe { std::mem::transmute::<*mut libc::c_void, InitFn>(s) }));
        }
    }
    (h, inits)
}

/// Calls an init function on a zeroed context; returns status, the
/// number of NULL vtable slots, and whether pDriverData was set.
fn init_on_blank_context(f: InitFn) -> (va::VAStatus, usize, bool) {
    let mut vt: Box<va::VADriverVTable> = Box::new(unsafe { std::mem::zeroed() });
    let mut ctx: Box<va::VADriverContext> = Box::new(unsafe { std::mem::zeroed() });
    ctx.vtable = &mut *vt;
    // SAFETY: a context laid out as libva's, with a vtable to fill.
    let status = unsafe { f(&mut *ctx) };
    let words = std::mem::size_of::<va::VADriverVTable>() / std::mem::size_of::<usize>() - vt.reserved.len();
    // SAFETY: reading the vtable's function-pointer slots as words.
    let slots: &[usize] = unsafe { std::slice::from_raw_parts(&*vt as *const _ as *const usize, words) };
    let nulls = slots.iter().filter(|&&w| w == 0).count();
    (status, nulls, !ctx.pDriverData.is_null())
}

#[test]
fn exports_init_symbols_and_fails_cleanly_without_a_decoder() {
    if std::env::var("HANTRO_DLOPEN_CHILD").is_ok() {
        return; // the child run only does the logging test
    }
    // This build's artifact, never a stale one; the child loads the same.
    let so = build_cdylib();
    let (_h, inits) = load(&so);
    let names: Vec<&str> = inits.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"__vaDriverInit_1_0"), "{names:?}");
    let built = format!("__vaDriverInit_1_{}", va::VA_MINOR_VERSION);
    assert!(names.contains(&built.as_str()), "{names:?} lacks {built}");

    // No decoder: a media node that does not exist.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_init_without_decoder", "--nocapture", "--test-threads=1"])
        .env("HANTRO_DLOPEN_CHILD", "1")
        .env("HANTRO_DLOPEN_SO", &so)
        .env("HANTRO_MEDIA_DEVICE", "/nonexistent/media9")
        .env("HANTRO_LOG", "error")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("child: status=0xffffffff nulls=0 data=false"), "{stdout}\n{stderr}");
    assert!(stderr.contains("no V4L2 stateless decoder found") && stderr.contains("/nonexistent/media9"), "log line must say where it looked:\n{stderr}");
}

#[test]
fn child_init_without_decoder() {
    if std::env::var("HANTRO_DLOPEN_CHILD").is_err() {
        return;
    }
    let (_h, inits) = load(&cdylib());
    let (_, f) = inits.iter().find(|(n, _)| n == "__vaDriverInit_1_0").unwrap();
    let (status, nulls, data) = init_on_blank_context(*f);
    println!("child: status={:#x} nulls={nulls} data={data}", status as u32);
}

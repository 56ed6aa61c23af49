//! Loads the built hantro_drv_video.so the way libva does (dlopen + dlsym
//! of __vaDriverInit_1_*), without libva, with a hand-built
//! VADriverContext: checks the exported symbols, that every vtable slot is
//! filled, and the init failure path when no decoder exists.
use hantro_drv_video::ffi::va;
use std::ffi::CString;
use std::path::PathBuf;
use std::process::Command;

fn cdylib() -> PathBuf {
    // target/<profile>/deps/dlopen-<hash> -> target/<profile>/libhantro_drv_video.so
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("libhantro_drv_video.so");
    assert!(p.exists(), "{} not built: run `cargo build` first (the README's test command does)", p.display());
    p
}

type InitFn = unsafe extern "C" fn(va::VADriverContextP) -> va::VAStatus;

fn load() -> (*mut libc::c_void, Vec<(String, InitFn)>) {
    let path = CString::new(cdylib().to_str().unwrap()).unwrap();
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
    let (_h, inits) = load();
    let names: Vec<&str> = inits.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"__vaDriverInit_1_0"), "{names:?}");
    let built = format!("__vaDriverInit_1_{}", va::VA_MINOR_VERSION);
    assert!(names.contains(&built.as_str()), "{names:?} lacks {built}");

    // No decoder: a media node that does not exist.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_init_without_decoder", "--nocapture", "--test-threads=1"])
        .env("HANTRO_DLOPEN_CHILD", "1")
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
    let (_h, inits) = load();
    let (_, f) = inits.iter().find(|(n, _)| n == "__vaDriverInit_1_0").unwrap();
    let (status, nulls, data) = init_on_blank_context(*f);
    println!("child: status={:#x} nulls={nulls} data={data}", status as u32);
}

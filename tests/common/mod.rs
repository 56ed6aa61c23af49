//! Shared helpers of the hostile-input, lifecycle, fault, concurrency and
//! sandbox tests.
//!
//! * [`Va`]: the driver initialised the way libva does it
//!   (`__vaDriverInit_1_0` on a hand-made `VADriverContext`), every call
//!   going through the vtable the driver filled in. The test binary links
//!   the driver's rlib, built with the `test-hooks` feature (self
//!   dev-dependency in Cargo.toml).
//! * [`child`] / [`run_child`]: a test re-executes its own binary with the
//!   simulator (`libhantro_sim.so`) in `LD_PRELOAD`, so the driver's real
//!   ioctl code runs against an emulated stateless decoder.
//! * [`vaclient`]: the C client (`tests/clients/vaclient.c`, libavcodec's
//!   VA-API hwaccel over libva) compiled with gcc on first use.
#![allow(dead_code)]
pub use hantro_drv_video::ffi::va;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub type St = va::VAStatus;
pub const OK: St = va::VA_STATUS_SUCCESS as St;

/// Name of a VAStatus for tables and messages.
pub fn status_name(s: St) -> String {
    let n = match s as u32 {
        0 => "SUCCESS",
        va::VA_STATUS_ERROR_OPERATION_FAILED => "OPERATION_FAILED",
        va::VA_STATUS_ERROR_ALLOCATION_FAILED => "ALLOCATION_FAILED",
        va::VA_STATUS_ERROR_INVALID_CONFIG => "INVALID_CONFIG",
        va::VA_STATUS_ERROR_INVALID_CONTEXT => "INVALID_CONTEXT",
        va::VA_STATUS_ERROR_INVALID_SURFACE => "INVALID_SURFACE",
        va::VA_STATUS_ERROR_INVALID_BUFFER => "INVALID_BUFFER",
        va::VA_STATUS_ERROR_INVALID_IMAGE => "INVALID_IMAGE",
        va::VA_STATUS_ERROR_ATTR_NOT_SUPPORTED => "ATTR_NOT_SUPPORTED",
        va::VA_STATUS_ERROR_MAX_NUM_EXCEEDED => "MAX_NUM_EXCEEDED",
        va::VA_STATUS_ERROR_UNSUPPORTED_PROFILE => "UNSUPPORTED_PROFILE",
        va::VA_STATUS_ERROR_UNSUPPORTED_ENTRYPOINT => "UNSUPPORTED_ENTRYPOINT",
        va::VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT => "UNSUPPORTED_RT_FORMAT",
        va::VA_STATUS_ERROR_UNSUPPORTED_BUFFERTYPE => "UNSUPPORTED_BUFFERTYPE",
        va::VA_STATUS_ERROR_SURFACE_BUSY => "SURFACE_BUSY",
        va::VA_STATUS_ERROR_INVALID_PARAMETER => "INVALID_PARAMETER",
        va::VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED => "RESOLUTION_NOT_SUPPORTED",
        va::VA_STATUS_ERROR_UNIMPLEMENTED => "UNIMPLEMENTED",
        va::VA_STATUS_ERROR_INVALID_IMAGE_FORMAT => "INVALID_IMAGE_FORMAT",
        va::VA_STATUS_ERROR_DECODING_ERROR => "DECODING_ERROR",
        va::VA_STATUS_ERROR_INVALID_VALUE => "INVALID_VALUE",
        va::VA_STATUS_ERROR_HW_BUSY => "HW_BUSY",
        va::VA_STATUS_ERROR_UNSUPPORTED_MEMORY_TYPE => "UNSUPPORTED_MEMORY_TYPE",
        va::VA_STATUS_ERROR_TIMEDOUT => "TIMEDOUT",
        va::VA_STATUS_ERROR_UNKNOWN => "UNKNOWN",
        _ => return format!("{:#x}", s as u32),
    };
    n.to_string()
}

/// target/<profile>/ (the test binary lives in target/<profile>/deps/).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

/// The simulator library. Built by `cargo build/test --workspace`; a
/// missing library is a failure, not a skip.
pub fn sim_so() -> PathBuf {
    let p = std::env::var_os("HANTRO_SIM_SO").map(PathBuf::from).unwrap_or_else(|| target_dir().join("libhantro_sim.so"));
    assert!(p.exists(), "{} missing: build the workspace first (cargo build --release --workspace)", p.display());
    p
}

pub fn driver_so() -> PathBuf {
    let p = std::env::var_os("HANTRO_DRIVER_SO").map(PathBuf::from).unwrap_or_else(|| target_dir().join("libhantro_drv_video.so"));
    assert!(p.exists(), "{} missing: build the workspace first (cargo build --release --workspace)", p.display());
    p
}

const CHILD_ENV: &str = "HANTRO_TEST_CHILD";

/// True in the re-executed child that should run test `name`.
pub fn child(name: &str) -> bool {
    std::env::var(CHILD_ENV).ok().as_deref() == Some(name)
}

/// Runs test `name` of this binary in a child process with the simulator
/// preloaded and `env` set; returns its output (not checked).
pub fn run_child(name: &str, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(std::env::current_exe().expect("current_exe"));
    c.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    c.env(CHILD_ENV, name).env("LD_PRELOAD", sim_so()).env("HANTRO_SIM_QUIET", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("spawn child test")
}

/// [`run_child`] and assert it passed; returns (stdout, stderr).
pub fn run_child_ok(name: &str, env: &[(&str, &str)]) -> (String, String) {
    let o = run_child(name, env);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "child {name} failed ({:?}):\n--- stdout\n{out}\n--- stderr\n{err}", o.status);
    assert!(out.contains("test result: ok. 1 passed"), "child {name} did not run:\n{out}\n{err}");
    (out, err)
}

/// The driver behind a hand-made VADriverContext, as libva sets it up.
pub struct Va {
    pub ctx: Box<va::VADriverContext>,
    pub vt: Box<va::VADriverVTable>,
    pub init_status: St,
}

/// Calls vtable entry `$f` of a [`Va`] with the context first.
#[macro_export]
macro_rules! vcall {
    ($va:expr, $f:ident $(, $a:expr)* $(,)?) => {{
        let v: &$crate::common::Va = &$va;
        let f = v.vt.$f.expect(concat!(stringify!($f), " not filled"));
        // SAFETY: the test passes arguments as the VA API describes, or
        // deliberately hostile ones the driver must reject (the argument
        // expressions are the test's own, evaluated inside on purpose).
        #[allow(clippy::macro_metavars_in_unsafe)]
        unsafe { f(v.ptr() $(, $a)*) }
    }};
}

impl Va {
    /// __vaDriverInit_1_0 on a zeroed context (status in `init_status`).
    pub fn init() -> Va {
        // SAFETY: plain C structs; all-zero is how libva starts them too.
        let mut vt: Box<va::VADriverVTable> = Box::new(unsafe { std::mem::zeroed() });
        let mut ctx: Box<va::VADriverContext> = Box::new(unsafe { std::mem::zeroed() });
        ctx.vtable = &mut *vt;
        // SAFETY: a context laid out as libva's, with a vtable to fill.
        let init_status = unsafe { hantro_drv_video::va::init::__vaDriverInit_1_0(&mut *ctx) };
        Va { ctx, vt, init_status }
    }

    pub fn init_ok() -> Va {
        let v = Va::init();
        assert_eq!(v.init_status, OK, "vaInitialize failed: {}", status_name(v.init_status));
        v
    }

    pub fn ptr(&self) -> va::VADriverContextP {
        &*self.ctx as *const va::VADriverContext as va::VADriverContextP
    }

    pub fn create_config(&self, profile: va::VAProfile) -> (St, u32) {
        let mut id = va::VA_INVALID_ID;
        let s = vcall!(self, vaCreateConfig, profile, va::VAEntrypointVLD, std::ptr::null_mut(), 0, &mut id);
        (s, id)
    }

    pub fn config(&self) -> u32 {
        let (s, id) = self.create_config(va::VAProfileH264Main);
        assert_eq!(s, OK, "vaCreateConfig: {}", status_name(s));
        id
    }

    pub fn create_surfaces(&self, w: u32, h: u32, n: usize) -> (St, Vec<u32>) {
        let mut ids = vec![va::VA_INVALID_ID; n];
        let s = vcall!(self, vaCreateSurfaces2, va::VA_RT_FORMAT_YUV420, w, h, ids.as_mut_ptr(), n as u32, std::ptr::null_mut(), 0);
        (s, ids)
    }

    pub fn surfaces(&self, w: u32, h: u32, n: usize) -> Vec<u32> {
        let (s, ids) = self.create_surfaces(w, h, n);
        assert_eq!(s, OK, "vaCreateSurfaces2: {}", status_name(s));
        ids
    }

    pub fn create_context(&self, config: u32, w: i32, h: i32, targets: &mut [u32]) -> (St, u32) {
        let mut id = va::VA_INVALID_ID;
        let p = if targets.is_empty() { std::ptr::null_mut() } else { targets.as_mut_ptr() };
        let s = vcall!(self, vaCreateContext, config, w, h, va::VA_PROGRESSIVE as i32, p, targets.len() as i32, &mut id);
        (s, id)
    }

    pub fn context(&self, config: u32, w: i32, h: i32, targets: &mut [u32]) -> u32 {
        let (s, id) = self.create_context(config, w, h, targets);
        assert_eq!(s, OK, "vaCreateContext: {}", status_name(s));
        id
    }

    pub fn create_buffer(&self, context: u32, t: va::VABufferType, size: u32, num: u32, data: Option<&[u8]>) -> (St, u32) {
        let mut id = va::VA_INVALID_ID;
        let p = data.map_or(std::ptr::null_mut(), |d| d.as_ptr() as *mut libc::c_void);
        let s = vcall!(self, vaCreateBuffer, context, t, size, num, p, &mut id);
        (s, id)
    }

    pub fn buffer(&self, context: u32, t: va::VABufferType, size: u32, num: u32, data: Option<&[u8]>) -> u32 {
        let (s, id) = self.create_buffer(context, t, size, num, data);
        assert_eq!(s, OK, "vaCreateBuffer: {}", status_name(s));
        id
    }

    pub fn create_image(&self, w: i32, h: i32) -> (St, va::VAImage) {
        let mut f = va::VAImageFormat { fourcc: va::VA_FOURCC_NV12, byte_order: va::VA_LSB_FIRST, bits_per_pixel: 12, ..Default::default() };
        let mut img = va::VAImage::default();
        let s = vcall!(self, vaCreateImage, &mut f, w, h, &mut img);
        (s, img)
    }

    pub fn derive_image(&self, surface: u32) -> (St, va::VAImage) {
        let mut img = va::VAImage::default();
        let s = vcall!(self, vaDeriveImage, surface, &mut img);
        (s, img)
    }

    /// Exports a surface (composed layers) and returns the descriptor;
    /// the caller closes the fds.
    pub fn export(&self, surface: u32, flags: u32) -> (St, va::VADRMPRIMESurfaceDescriptor) {
        let mut d = va::VADRMPRIMESurfaceDescriptor::default();
        let s = vcall!(
            self,
            vaExportSurfaceHandle,
            surface,
            va::VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2,
            flags | va::VA_EXPORT_SURFACE_READ_ONLY,
            &mut d as *mut _ as *mut libc::c_void
        );
        (s, d)
    }

    pub fn terminate(&self) -> St {
        vcall!(self, vaTerminate)
    }
}

pub fn close_fds(d: &va::VADRMPRIMESurfaceDescriptor) {
    for o in &d.objects[..(d.num_objects as usize).min(4)] {
        // SAFETY: the export handed us these fds; the client closes them.
        unsafe { libc::close(o.fd) };
    }
}

/// Process resources that a leak would grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub fds: usize,
    pub maps: usize,
    pub rss_kib: u64,
}

pub fn resources() -> Resources {
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    let maps = std::fs::read_to_string("/proc/self/maps").map(|s| s.lines().count()).unwrap_or(0);
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    Resources { fds, maps, rss_kib }
}

/// The simulator's fault report of one run (HANTRO_SIM_FAULT_LOG): one
/// `armed ...` line per fault it understood, `bad-spec ...` per one it did
/// not, `fired ...` per fault injected (simulator/README.md). The file is
/// removed on drop.
pub struct FaultLog {
    pub path: PathBuf,
}

impl FaultLog {
    pub fn new(tag: &str) -> FaultLog {
        let path = std::env::temp_dir().join(format!("hantro-faultlog-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        FaultLog { path }
    }

    /// The variable that makes the simulator write this log.
    pub fn env(&self) -> (&'static str, String) {
        ("HANTRO_SIM_FAULT_LOG", self.path.display().to_string())
    }

    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.path).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// The simulator armed exactly `armed` (`ioctl SPEC`, `error-frame
    /// job=N`, `hang job=N`) and injected each: exactly once, at least once
    /// for a `K+` rule. Returns the `fired` lines, or what is wrong.
    pub fn check(&self, armed: &[String]) -> Result<Vec<String>, String> {
        let lines = self.lines();
        let mut want: Vec<&str> = armed.iter().map(|s| s.as_str()).collect();
        let mut got: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("armed ")).collect();
        want.sort();
        got.sort();
        let mut why = Vec::new();
        if got != want {
            why.push(format!("armed {got:?}, expected {want:?}"));
        }
        why.extend(lines.iter().filter(|l| l.starts_with("bad-spec ")).cloned());
        for a in armed {
            let n = lines.iter().filter(|l| l.strip_prefix("fired ").is_some_and(|f| f.starts_with(&format!("{a} ")))).count();
            let repeated = a.split(':').nth(1).is_some_and(|k| k.ends_with('+'));
            if n == 0 || (n > 1 && !repeated) {
                why.push(format!("{a}: fired {n} times, expected {}", if repeated { "at least once" } else { "once" }));
            }
        }
        if why.is_empty() {
            Ok(lines.into_iter().filter(|l| l.starts_with("fired ")).collect())
        } else {
            Err(format!("{}\n--- {}:\n{}", why.join("\n"), self.path.display(), lines.join("\n")))
        }
    }
}

impl Drop for FaultLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The H.264 corpus: scripts/corpus.sh into $HANTRO_CACHE/corpus
/// (default ~/.cache/hantro/corpus), once per process (cheap when cached;
/// flock against other test processes generating it at the same time).
pub fn corpus() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
        let cache = std::env::var_os("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|| home.join(".cache/hantro"));
        let dir = cache.join("corpus");
        std::fs::create_dir_all(&cache).expect("cache dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/corpus.sh");
        let o = Command::new("flock").arg(cache.join("corpus.lock")).arg("bash").arg(&script).arg(&dir).output().expect("run scripts/corpus.sh");
        assert!(o.status.success(), "scripts/corpus.sh failed: {}", String::from_utf8_lossy(&o.stderr));
        assert!(dir.join("manifest.tsv").exists(), "no corpus in {}", dir.display());
        dir
    })
    .clone()
}

/// (name, frames, width, height) of every corpus stream.
pub fn manifest() -> Vec<(String, usize, u32, u32)> {
    let m = std::fs::read_to_string(corpus().join("manifest.tsv")).expect("manifest");
    m.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some((f.first()?.to_string(), f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
        })
        .collect()
}

/// The C VA client, compiled on first use into target/<profile>/vaclient.
pub fn vaclient() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/vaclient.c");
    let out = target_dir().join("hantro-test-vaclient");
    let fresh = match (std::fs::metadata(&src).and_then(|m| m.modified()), std::fs::metadata(&out).and_then(|m| m.modified())) {
        (Ok(s), Ok(o)) => o >= s,
        _ => false,
    };
    if !fresh {
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "gcc -O2 -g -Wall -Werror -pthread -o '{}' '{}' $(pkg-config --cflags --libs libavformat libavcodec libavutil libva libva-drm)",
                tmp.display(),
                src.display()
            ))
            .output()
            .expect("gcc");
        assert!(o.status.success(), "building vaclient failed:\n{}", String::from_utf8_lossy(&o.stderr));
        std::fs::rename(&tmp, &out).expect("rename vaclient");
    }
    out
}

/// An x264 clip made at test time, cached in the target dir: `frames`
/// frames of testsrc2 at `w`x`h`, no B-frames, IDR every `gop`.
pub fn x264_clip(w: u32, h: u32, frames: usize, gop: usize) -> PathBuf {
    let p = target_dir().join(format!("hantro-clip-{w}x{h}-{frames}-g{gop}.h264"));
    if !p.exists() {
        let tmp = p.with_extension(format!("tmp{}.h264", std::process::id()));
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", &format!("testsrc2=size={w}x{h}:rate=25"), "-frames:v", &frames.to_string()])
            .args(["-c:v", "libx264", "-bf", "0", "-g", &gop.to_string(), "-keyint_min", &gop.to_string(), "-sc_threshold", "0", "-f", "h264"])
            .arg(&tmp)
            .status()
            .expect("ffmpeg");
        assert!(st.success(), "x264 encode failed");
        std::fs::rename(&tmp, &p).unwrap();
    }
    p
}

/// One VA buffer of a recorded picture.
#[derive(Clone)]
pub struct RecordedBuffer {
    pub ty: va::VABufferType,
    pub size: u32,
    pub num: u32,
    pub data: Vec<u8>,
}

/// Records the VA buffers libavcodec renders for the first picture (an
/// IDR) of `stream` (vaclient with VACLIENT_DUMP_VA on the simulator) into
/// a directory for [`load_picture`]; replayed through the vtable, they
/// decode that picture.
pub fn record_first_picture(stream: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hantro-va-dump-{}-{}", std::process::id(), stream.file_stem().unwrap().to_string_lossy()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut c = Command::new(vaclient());
    c.arg("--serial").arg(&out).arg(stream);
    for (k, v) in va_env() {
        c.env(k, v);
    }
    let o = c.env("HANTRO_SIM_QUIET", "1").env("HANTRO_LOG", "error").env("VACLIENT_DUMP_VA", &dir).output().expect("vaclient");
    assert!(o.status.success(), "vaclient failed: {}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&out);
    dir
}

/// The buffers [`record_first_picture`] wrote, in render order.
pub fn load_picture(dir: &Path) -> Vec<RecordedBuffer> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".bin")).collect();
    names.sort();
    let bufs: Vec<RecordedBuffer> = names
        .iter()
        .map(|n| {
            // <nn>-t<type>-s<size>-n<num>.bin
            let f: Vec<&str> = n.trim_end_matches(".bin").split('-').collect();
            let num = |p: &str| f.iter().find_map(|x| x.strip_prefix(p)).and_then(|v| v.parse::<u32>().ok()).unwrap_or_else(|| panic!("dump name {n}"));
            RecordedBuffer { ty: num("t") as va::VABufferType, size: num("s"), num: num("n"), data: std::fs::read(dir.join(n)).unwrap() }
        })
        .collect();
    assert!(
        bufs.iter().any(|b| b.ty == va::VAPictureParameterBufferType) && bufs.iter().any(|b| b.ty == va::VASliceDataBufferType),
        "no picture recorded in {}",
        dir.display()
    );
    bufs
}

impl Va {
    /// Decodes a recorded picture into `target` (its CurrPic names the
    /// target) and waits for it: the status of vaSyncSurface, or the first
    /// failing call's.
    pub fn decode(&self, ctx: u32, target: u32, pic: &[RecordedBuffer]) -> Result<(), (&'static str, St)> {
        let step = |what: &'static str, s: St| if s == OK { Ok(()) } else { Err((what, s)) };
        step("vaBeginPicture", vcall!(self, vaBeginPicture, ctx, target))?;
        let mut ids = Vec::with_capacity(pic.len());
        let mut r = Ok(());
        for b in pic {
            let mut data = b.data.clone();
            if b.ty == va::VAPictureParameterBufferType {
                assert!(data.len() >= std::mem::size_of::<va::VAPictureParameterBufferH264>());
                // SAFETY: the recorded bytes are a VAPictureParameterBufferH264.
                unsafe {
                    let pp = data.as_mut_ptr() as *mut va::VAPictureParameterBufferH264;
                    let mut v = std::ptr::read_unaligned(pp);
                    v.CurrPic.picture_id = target;
                    std::ptr::write_unaligned(pp, v);
                }
            }
            let (s, id) = self.create_buffer(ctx, b.ty, b.size, b.num, Some(&data));
            if s != OK {
                r = Err(("vaCreateBuffer", s));
                break;
            }
            ids.push(id);
        }
        if r.is_ok() {
            r = step("vaRenderPicture", vcall!(self, vaRenderPicture, ctx, ids.as_mut_ptr(), ids.len() as i32));
        }
        let end = step("vaEndPicture", vcall!(self, vaEndPicture, ctx));
        for id in ids {
            assert_eq!(vcall!(self, vaDestroyBuffer, id), OK);
        }
        r?;
        end?;
        step("vaSyncSurface", vcall!(self, vaSyncSurface, target))
    }

    /// `surface` read back with vaGetImage as NV12 (cropped rows).
    pub fn read_nv12(&self, surface: u32, w: u32, h: u32) -> Vec<u8> {
        let (s, img) = self.create_image(w as i32, h as i32);
        assert_eq!(s, OK, "vaCreateImage: {}", status_name(s));
        assert_eq!(vcall!(self, vaGetImage, surface, 0, 0, w, h, img.image_id), OK);
        let mut p: *mut libc::c_void = std::ptr::null_mut();
        assert_eq!(vcall!(self, vaMapBuffer, img.buf, &mut p), OK);
        let mut out = Vec::with_capacity(nv12_frame_size(w, h));
        let cw = w.div_ceil(2) * 2;
        for (plane, rows, width) in [(0usize, h, w), (1, h.div_ceil(2), cw)] {
            for y in 0..rows as usize {
                let at = img.offsets[plane] as usize + y * img.pitches[plane] as usize;
                // SAFETY: the mapped image holds every plane row at offset + y*pitch.
                out.extend_from_slice(unsafe { std::slice::from_raw_parts((p as *const u8).add(at), width as usize) });
            }
        }
        assert_eq!(vcall!(self, vaUnmapBuffer, img.buf), OK);
        assert_eq!(vcall!(self, vaDestroyImage, img.image_id), OK);
        out
    }
}

/// Environment that points libva at the driver and preloads the simulator.
pub fn va_env() -> Vec<(String, String)> {
    let drv = driver_so();
    let dir = std::env::temp_dir().join(format!("hantro-test-vadrv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let link = dir.join("hantro_drv_video.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&drv, &link).expect("symlink driver");
    vec![
        ("LD_PRELOAD".into(), sim_so().display().to_string()),
        ("LIBVA_DRIVER_NAME".into(), "hantro".into()),
        ("LIBVA_DRIVERS_PATH".into(), dir.display().to_string()),
        ("LIBVA_MESSAGING_LEVEL".into(), "1".into()),
    ]
}

/// Software reference: every frame of `stream` as NV12 (display order,
/// cropped), decoded by the ffmpeg CLI.
pub fn reference_nv12(stream: &Path) -> Vec<u8> {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "1", "-i"])
        .arg(stream)
        .args(["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "nv12", "-"])
        .output()
        .expect("ffmpeg (scripts/setup-host.sh installs it)");
    assert!(o.status.success(), "ffmpeg reference decode of {} failed: {}", stream.display(), String::from_utf8_lossy(&o.stderr));
    o.stdout
}

pub fn nv12_frame_size(w: u32, h: u32) -> usize {
    (w * h + w.div_ceil(2) * 2 * h.div_ceil(2)) as usize
}

/// Splits two NV12 dumps into frames and returns the indices that differ
/// (plus a count mismatch as an error string).
pub fn diff_frames(got: &[u8], want: &[u8], w: u32, h: u32) -> Result<Vec<usize>, String> {
    let fs = nv12_frame_size(w, h);
    if got.len() % fs != 0 || want.len() % fs != 0 {
        return Err(format!("sizes {} / {} are not multiples of the {w}x{h} frame size {fs}", got.len(), want.len()));
    }
    if got.len() != want.len() {
        return Err(format!("{} frames decoded, reference has {}", got.len() / fs, want.len() / fs));
    }
    Ok(got.chunks(fs).zip(want.chunks(fs)).enumerate().filter(|(_, (a, b))| a != b).map(|(i, _)| i).collect())
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A built artifact: `$env`, else `default` under the repository.
pub fn built(env: &str, default: &str) -> PathBuf {
    let p = std::env::var(env).map(PathBuf::from).unwrap_or_else(|_| repo().join(default));
    assert!(p.exists(), "{} missing: build it first (scripts/test-all.sh does)", p.display());
    p
}

/// A LIBVA_DRIVERS_PATH directory holding `so` as hantro_drv_video.so.
pub fn stage(name: &str, so: &Path) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(so, d.join("hantro_drv_video.so")).unwrap();
    d
}

/// The per-frame md5s of ffmpeg `-f framemd5` output.
pub fn md5_lines(text: &str) -> Vec<String> {
    text.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.rsplit(',').next()).map(|s| s.trim().to_string()).collect()
}

/// The per-frame md5s of libavcodec's software decode of `file` (yuv420p),
/// without the simulator preloaded: the pixel reference.
pub fn software_md5(file: &Path) -> Vec<String> {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-pix_fmt", "yuv420p", "-f", "framemd5", "-"])
        .env_remove("LD_PRELOAD")
        .output()
        .expect("ffmpeg (software decode) must be installed");
    assert!(o.status.success(), "software decode of {} failed", file.display());
    md5_lines(&String::from_utf8_lossy(&o.stdout))
}

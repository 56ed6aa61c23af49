//! Faults injected by the simulator (simulator/README.md):
//!
//! * a request completing with V4L2_BUF_FLAG_ERROR → vaSyncSurface returns
//!   VA_STATUS_ERROR_DECODING_ERROR, vaQuerySurfaceError describes it, the
//!   next IDR (and everything before the fault) is bit-exact;
//! * a request that never completes → vaSyncSurface returns an error after
//!   HANTRO_SYNC_TIMEOUT_MS, the client finishes, nothing hangs;
//! * the device vanishing mid-stream (every decode ioctl from some call on
//!   fails with ENODEV) → errors, no crash, no leak;
//! * EBUSY / ENOMEM / EIO on single decode-path ioctls (libavcodec client)
//!   and on setup ioctls (driver vtable directly): an error status, no fd
//!   leak, no crash, and the next picture / next attempt works.
mod common;
use common::{close_fds, reference_nv12, resources, run_child, status_name, va, va_env, vaclient, Va, OK};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const W: u32 = 320;
const H: u32 = 240;
const FRAMES: usize = 15;

/// 15 frames, IDR every 5 (0, 5, 10), no B-frames: decode order = output
/// order = simulator job index (one request per frame on hantro-g1).
fn idr_stream() -> PathBuf {
    let p = common::target_dir().join("hantro-faults-idr5.h264");
    if !p.exists() {
        let tmp = p.with_extension(format!("tmp{}.h264", std::process::id()));
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", &format!("testsrc2=size={W}x{H}:rate=25"), "-frames:v", &FRAMES.to_string()])
            .args(["-c:v", "libx264", "-bf", "0", "-g", "5", "-keyint_min", "5", "-sc_threshold", "0", "-f", "h264"])
            .arg(&tmp)
            .status()
            .expect("ffmpeg");
        assert!(st.success(), "x264 encode failed");
        std::fs::rename(&tmp, &p).unwrap();
    }
    p
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
    frames: Vec<u8>,
    secs: f64,
}

impl Run {
    fn sync_of(&self, n: usize) -> Option<&str> {
        self.stdout.lines().find(|l| l.starts_with(&format!("frame 0 {n} sync=")))
    }
    fn errors(&self) -> usize {
        self.stdout.lines().filter(|l| l.starts_with("decode-error") || l.contains("transfer-error") || (l.contains(" sync=") && !l.contains(" sync=0"))).count()
    }
    /// The client's fd table after vaTerminate equals the one before
    /// av_hwdevice_ctx_create (vaclient lists every fd that is new).
    fn fds_balanced(&self) -> bool {
        self.stdout.lines().any(|l| l.starts_with("fds ")) && self.leaked().is_empty()
    }
    fn leaked(&self) -> Vec<&str> {
        self.stdout.lines().filter(|l| l.starts_with("leaked fd ")).collect()
    }
    /// Reference frames (indices) that appear nowhere in the output. A
    /// client drops pictures whose decode failed, so output frames are
    /// matched by content, not position.
    fn bad_frames(&self, want: &[u8]) -> Vec<usize> {
        let fs = common::nv12_frame_size(W, H);
        let got: std::collections::HashSet<&[u8]> = self.frames.chunks(fs).filter(|c| c.len() == fs).collect();
        (0..want.len() / fs).filter(|&i| !got.contains(&want[i * fs..(i + 1) * fs])).collect()
    }
}

fn client(tag: &str, env: &[(&str, &str)], deadline: Duration) -> Run {
    let out = std::env::temp_dir().join(format!("hantro-faults-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let mut c = Command::new(vaclient());
    c.arg("--sync-check").arg(&out).arg(idr_stream()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in va_env() {
        c.env(k, v);
    }
    c.env("HANTRO_SIM_QUIET", "1").env("HANTRO_LOG", "error");
    for (k, v) in env {
        c.env(k, v);
    }
    let t = Instant::now();
    let mut child = c.spawn().expect("spawn vaclient");
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if t.elapsed() > deadline {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("{tag}: client hung (> {deadline:?}):\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = child.wait_with_output().unwrap();
    let frames = std::fs::read(out.join("0.nv12")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out);
    Run { ok: o.status.success(), stdout: String::from_utf8_lossy(&o.stdout).into_owned(), stderr: String::from_utf8_lossy(&o.stderr).into_owned(), frames, secs: t.elapsed().as_secs_f64() }
}

fn reference() -> Vec<u8> {
    let r = reference_nv12(&idr_stream());
    assert_eq!(r.len(), FRAMES * common::nv12_frame_size(W, H));
    r
}

#[test]
fn clean_run_is_bit_exact() {
    let r = client("clean", &[], Duration::from_secs(60));
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.errors(), 0, "{}", r.stdout);
    assert!(r.bad_frames(&reference()).is_empty());
    assert!(r.fds_balanced(), "{}", r.stdout);
}

#[test]
fn request_completing_with_error() {
    let want = reference();
    let r = client("error6", &[("HANTRO_SIM_ERROR_FRAME", "6")], Duration::from_secs(60));
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    // 320x240 = 300 macroblocks, all reported as VADecodeMBError (1).
    let line = r.sync_of(6).unwrap_or_else(|| panic!("no sync line for frame 6:\n{}", r.stdout));
    assert_eq!(line, format!("frame 0 6 sync={} mb=0-299:1", va::VA_STATUS_ERROR_DECODING_ERROR), "{}", r.stdout);
    for n in (0..FRAMES).filter(|&n| n != 6) {
        assert_eq!(r.sync_of(n), Some(format!("frame 0 {n} sync=0").as_str()), "{}", r.stdout);
    }
    let bad = r.bad_frames(&want);
    assert!(bad.iter().all(|&b| (6..10).contains(&b)), "reference frames {bad:?} missing from the output; only 6..9 (the fault and frames predicting from it) may be");
    assert!(r.fds_balanced(), "{}", r.stdout);
    eprintln!("ERROR on job 6: {line}; reference frames not in the output: {bad:?}; next IDR (10..14) bit-exact");
}

#[test]
fn request_that_never_completes() {
    let want = reference();
    let r = client("hang6", &[("HANTRO_SIM_HANG_FRAME", "6"), ("HANTRO_SYNC_TIMEOUT_MS", "200")], Duration::from_secs(90));
    assert!(r.ok, "client crashed:\n{}\n{}", r.stdout, r.stderr);
    let line = r.sync_of(6).unwrap_or_else(|| panic!("no sync line for frame 6:\n{}", r.stdout));
    assert_eq!(line, format!("frame 0 6 sync={}", va::VA_STATUS_ERROR_TIMEDOUT), "{}", r.stdout);
    let bad = r.bad_frames(&want);
    assert!(bad.iter().all(|&b| b >= 6), "frames before the hang differ: {bad:?}");
    assert!(r.fds_balanced(), "{}", r.stdout);
    eprintln!("hang on job 6: {line}; client finished in {:.1} s; {} error lines; reference frames missing from the output: {bad:?}", r.secs, r.errors());
}

/// The decoder vanishes after a few frames: every decode-path ioctl fails
/// with ENODEV from its n-th call on (the simulator has no unplug switch;
/// this is what the driver sees of an unbound device).
#[test]
fn device_vanishing_mid_stream() {
    // (ioctl, first failing call): from about the 6th picture submitted and
    // the 4th read back (counted in a clean run's HANTRO_SIM_TRACE: QBUF 2
    // per picture, S_EXT_CTRLS 1 plus setup, DMA_BUF sync 2 per read-back).
    let from = [
        ("VIDIOC_QBUF", 11),
        ("VIDIOC_DQBUF", 17),
        ("VIDIOC_S_EXT_CTRLS", 7),
        ("MEDIA_REQUEST_IOC_QUEUE", 6),
        ("MEDIA_REQUEST_IOC_REINIT", 6),
        ("VIDIOC_STREAMON", 3),
        ("VIDIOC_STREAMOFF", 1),
        ("VIDIOC_EXPBUF", 4),
        ("DMA_BUF_IOCTL_SYNC", 8),
    ];
    let mut fail = Vec::new();
    for (n, k0) in from {
        for k in k0..k0 + 400 {
            fail.push(format!("{n}:{k}:19")); // ENODEV
        }
    }
    let fail = fail.join(",");
    let want = reference();
    let r = client("vanish", &[("HANTRO_SIM_FAIL_IOCTL", &fail), ("HANTRO_SYNC_TIMEOUT_MS", "200")], Duration::from_secs(90));
    assert!(r.ok, "client crashed:\n{}\n{}", r.stdout, r.stderr);
    assert!(r.errors() > 0, "no error reported:\n{}", r.stdout);
    // Decoding runs ahead of the read-back thread, so when the device goes
    // even finished pictures may not be collectable any more (their DQBUF
    // fails). What is delivered must be right, though.
    let fs = common::nv12_frame_size(W, H);
    let refs: std::collections::HashSet<&[u8]> = want.chunks(fs).collect();
    let delivered: Vec<&[u8]> = r.frames.chunks(fs).filter(|f| f.iter().any(|&b| b != 0)).collect();
    assert!(delivered.iter().all(|f| refs.contains(f)), "a delivered frame is not a frame of the stream\n{}", r.stdout);
    let bad = r.bad_frames(&want);
    // Closing a request fd while its request is queued (the device is gone,
    // STREAMOFF failed) is legal; the simulator then keeps its own end of
    // the request's socket pair for good (device.rs close(): requests whose
    // fd was closed are only freed if not queued). Those sockets are the
    // simulator's, not the driver's: the driver's fds (video, media,
    // request, dmabuf) must all be closed.
    let driver_leaks: Vec<&str> = r.leaked().into_iter().filter(|l| !l.contains("socket:")).collect();
    assert!(driver_leaks.is_empty() && r.stdout.contains("fds before="), "{}", r.stdout);
    eprintln!("device vanished: {} error lines, {} frames delivered (all bit-exact), reference frames not delivered {bad:?}, finished in {:.1} s, simulator request sockets left: {}", r.errors(), delivered.len(), r.secs, r.leaked().len());
}

/// One decode-path ioctl call fails; the picture it belongs to may be lost,
/// the client sees an error, nothing leaks or crashes, and the next IDR
/// (frame 10) onwards is bit-exact again.
#[test]
fn single_ioctl_failures_while_decoding() {
    let want = reference();
    let table: &[(&str, &str)] = &[
        ("VIDIOC_QBUF:9", "EBUSY"),
        ("VIDIOC_QBUF:10", "ENOMEM"),
        ("VIDIOC_S_EXT_CTRLS:8", "EBUSY"),
        ("VIDIOC_S_EXT_CTRLS:8", "ENOMEM"),
        ("MEDIA_REQUEST_IOC_QUEUE:6", "EBUSY"),
        ("MEDIA_REQUEST_IOC_QUEUE:6", "ENOMEM"),
        ("MEDIA_REQUEST_IOC_REINIT:3", "EBUSY"),
        ("VIDIOC_DQBUF:6", "EIO"),
        ("VIDIOC_DQBUF:7", "ENOMEM"),
        ("VIDIOC_STREAMON:1", "EBUSY"),
        ("DMA_BUF_IOCTL_SYNC:5", "ENOMEM"),
        ("VIDIOC_EXPBUF:3", "ENOMEM"),
    ];
    let mut failures = Vec::new();
    for (what, errno) in table {
        let spec = format!("{what}:{errno}");
        let r = client(&spec.replace(':', "_"), &[("HANTRO_SIM_FAIL_IOCTL", &spec), ("HANTRO_SYNC_TIMEOUT_MS", "500")], Duration::from_secs(60));
        let bad = r.bad_frames(&want);
        let recovered = bad.iter().all(|&b| b < 10);
        let summary = format!("{spec:<32} errors={:<3} reference frames missing from the output={bad:?} fds balanced={} exit ok={}", r.errors(), r.fds_balanced(), r.ok);
        eprintln!("{summary}");
        if !r.ok || !r.fds_balanced() || !recovered || (r.errors() == 0 && !bad.is_empty()) {
            failures.push(format!("{summary}\n{}\n{}", r.stdout, r.stderr.lines().filter(|l| !l.starts_with("  ")).take(20).collect::<Vec<_>>().join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- setup-path faults through the vtable (no libavcodec in between)

const SETUP_IOCTLS: &[&str] = &["VIDIOC_S_FMT", "VIDIOC_G_FMT", "VIDIOC_S_EXT_CTRLS", "VIDIOC_REQBUFS", "VIDIOC_CREATE_BUFS", "VIDIOC_QUERYBUF", "VIDIOC_EXPBUF", "MEDIA_IOC_REQUEST_ALLOC", "DMA_BUF_IOCTL_SYNC", "VIDIOC_QUERYCAP", "MEDIA_IOC_G_TOPOLOGY"];

/// One create/use/destroy round; returns the first failing call.
fn setup_round(v: &Va) -> Result<(), (String, va::VAStatus)> {
    let fail = |what: &str, s: va::VAStatus| if s == OK { Ok(()) } else { Err((what.to_string(), s)) };
    let cfg = v.config();
    let (s, mut surf) = v.create_surfaces(W, H, 4);
    let r = (|| {
        fail("vaCreateSurfaces2", s)?;
        let (s, ctx) = v.create_context(cfg, W as i32, H as i32, &mut surf);
        fail("vaCreateContext", s)?;
        let r = (|| {
            let (s, d) = v.export(surf[0], va::VA_EXPORT_SURFACE_COMPOSED_LAYERS);
            if s == OK {
                close_fds(&d);
            }
            fail("vaExportSurfaceHandle", s)?;
            let (s, img) = v.derive_image(surf[1]);
            fail("vaDeriveImage", s)?;
            let mut p = std::ptr::null_mut();
            let s = vcall!(v, vaMapBuffer, img.buf, &mut p);
            let _ = vcall!(v, vaUnmapBuffer, img.buf);
            assert_eq!(vcall!(v, vaDestroyImage, img.image_id), OK);
            fail("vaMapBuffer(derived)", s)?;
            let (s, img) = v.create_image(W as i32, H as i32);
            fail("vaCreateImage", s)?;
            let s = vcall!(v, vaGetImage, surf[2], 0, 0, W, H, img.image_id);
            assert_eq!(vcall!(v, vaDestroyImage, img.image_id), OK);
            fail("vaGetImage", s)
        })();
        assert_eq!(vcall!(v, vaDestroyContext, ctx), OK);
        r
    })();
    if s == OK {
        assert_eq!(vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), 4), OK);
    }
    assert_eq!(vcall!(v, vaDestroyConfig, cfg), OK);
    r
}

#[test]
fn single_ioctl_failures_during_setup() {
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for name in SETUP_IOCTLS {
        for errno in ["EBUSY", "ENOMEM"] {
            for k in 1..=4 {
                let spec = format!("{name}:{k}:{errno}");
                let o = run_child("child_setup_fault", &[("HANTRO_SIM_FAIL_IOCTL", &spec), ("HANTRO_LOG", "off")]);
                let out = String::from_utf8_lossy(&o.stdout);
                let line = out.lines().find_map(|l| l.find("setup-fault:").map(|i| l[i..].to_string())).unwrap_or_default();
                rows.push(format!("{spec:<32} {line}"));
                if !o.status.success() || line.is_empty() {
                    failures.push(format!("{spec}: child failed ({:?})\n{out}\n{}", o.status, String::from_utf8_lossy(&o.stderr).lines().filter(|l| !l.starts_with("  ")).take(30).collect::<Vec<_>>().join("\n")));
                }
            }
        }
    }
    for r in &rows {
        eprintln!("{r}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs in a child with one injected fault: vaInitialize or a setup round
/// may fail (with an error status, not a crash); nothing leaks; the next
/// round (the fault was one call) works.
#[test]
fn child_setup_fault() {
    if !common::child("child_setup_fault") {
        return;
    }
    let before = resources();
    let v = Va::init();
    if v.init_status != OK {
        let status = v.init_status;
        drop(v);
        assert_eq!(resources().fds, before.fds, "failed vaInitialize leaked fds");
        // the fault was consumed: a second vaInitialize works
        let v = Va::init_ok();
        setup_round(&v).unwrap_or_else(|(w, s)| panic!("{w} failed after the fault: {}", status_name(s)));
        assert_eq!(v.terminate(), OK);
        println!("setup-fault: vaInitialize -> {}, retry ok", status_name(status));
        return;
    }
    let base = resources();
    // The k-th call may come in any of the first rounds (k <= 4).
    let mut failed = None;
    for round in 0..5 {
        if let Err(e) = setup_round(&v) {
            failed = Some((round, e));
            break;
        }
    }
    assert_eq!(resources().fds, base.fds, "fds left after the rounds");
    setup_round(&v).unwrap_or_else(|(w, s)| panic!("{w} failed on the round after the fault: {}", status_name(s)));
    assert_eq!(v.terminate(), OK);
    drop(v);
    assert_eq!(resources().fds, before.fds, "fds leaked");
    match failed {
        None => println!("setup-fault: absorbed (no VA call failed), retry ok"),
        Some((round, (w, s))) => {
            assert_ne!(s, OK);
            println!("setup-fault: round {round}: {w} -> {}, retry ok", status_name(s));
        }
    }
}

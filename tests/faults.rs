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
//!
//! Every run asks the simulator for its fault report (HANTRO_SIM_FAULT_LOG)
//! and fails unless each fault it armed was injected: a fault whose call
//! never comes is a failure, not a pass. Decode-path faults are named by
//! what they hit ("the first OUTPUT QBUF once 6 requests were queued",
//! `VIDIOC_QBUF/OUTPUT@6:1`), not by a call number of today's ioctl order;
//! setup-path faults are every ioctl of a clean run's trace, one at a time.
//! Each row has one exact expected outcome.
mod common;
use common::{close_fds, reference_nv12, resources, run_child, status_name, va, va_env, vaclient, FaultLog, Va, OK};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const W: u32 = 320;
const H: u32 = 240;
const FRAMES: usize = 15;

/// 15 frames, IDR every 5 (0, 5, 10), no B-frames: decode order = output
/// order = simulator job index (one request per frame on hantro-g1).
fn idr_stream() -> PathBuf {
    intra_every_5("hantro-faults-idr5.h264", &["-c:v", "libx264", "-bf", "0", "-g", "5", "-keyint_min", "5", "-sc_threshold", "0", "-f", "h264"])
}

/// [`FRAMES`] frames of `W`x`H` encoded with `codec` (ffmpeg arguments),
/// an intra picture every 5 frames and no B-frames, cached in the target
/// directory as `name`.
fn intra_every_5(name: &str, codec: &[&str]) -> PathBuf {
    let p = common::target_dir().join(name);
    if !p.exists() {
        let tmp = p.with_extension(format!("tmp{}.{}", std::process::id(), p.extension().unwrap().to_str().unwrap()));
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", &format!("testsrc2=size={W}x{H}:rate=25"), "-frames:v", &FRAMES.to_string()])
            .args(codec)
            .arg(&tmp)
            .status()
            .expect("ffmpeg");
        assert!(st.success(), "encode of {name} failed");
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
    /// the simulator's `fired` lines, once every armed fault fired
    fired: Result<Vec<String>, String>,
    /// the whole fault report
    fault_lines: Vec<String>,
}

/// What a client saw, exactly: compared whole with a row's expectation.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// frames libavcodec output
    frames: usize,
    /// (output frame, VAStatus) of every vaSyncSurface that did not succeed
    syncs: Vec<(usize, u32)>,
    /// output frames that could not be read back
    transfer_errors: Vec<usize>,
    /// pictures libavcodec reported as not decoded
    decode_errors: usize,
    /// reference frames (display order) that are not in the output bit-exact
    lost: Vec<usize>,
}

impl Run {
    fn sync_of(&self, n: usize) -> Option<&str> {
        self.stdout.lines().find(|l| l.starts_with(&format!("frame 0 {n} sync=")))
    }
    fn errors(&self) -> usize {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("decode-error") || l.contains("transfer-error") || (l.contains(" sync=") && !l.contains(" sync=0")))
            .count()
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
    fn outcome(&self, want: &[u8]) -> Outcome {
        let field = |l: &str, i: usize| l.split_whitespace().nth(i).and_then(|w| w.parse::<usize>().ok());
        let mut o = Outcome { frames: 0, syncs: Vec::new(), transfer_errors: Vec::new(), decode_errors: 0, lost: self.bad_frames(want) };
        for l in self.stdout.lines() {
            if let Some(v) = l.strip_prefix("stream 0 frames=") {
                o.frames = v.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
            } else if l.starts_with("decode-error ") {
                o.decode_errors += 1;
            } else if l.starts_with("frame 0 ") && l.contains(" transfer-error=") {
                o.transfer_errors.extend(field(l, 2));
            } else if let (true, Some(st)) = (l.starts_with("frame 0 "), l.split(" sync=").nth(1)) {
                let st: u32 = st.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(u32::MAX);
                if st != 0 {
                    o.syncs.push((field(l, 2).unwrap_or(usize::MAX), st));
                }
            }
        }
        o
    }
}

/// Runs vaclient on the stream with `env`; `serial`: one thread (every VA
/// call in one order, so a fault meets the same picture in every run), else
/// decode and read-back threads as a player has. `armed`: the faults the
/// simulator must report armed (and fired) for `fired` to be Ok.
fn client(tag: &str, serial: bool, env: &[(&str, &str)], armed: &[String], deadline: Duration) -> Run {
    client_on(&idr_stream(), tag, serial, env, armed, deadline)
}

/// [`client`] on another stream.
fn client_on(stream: &std::path::Path, tag: &str, serial: bool, env: &[(&str, &str)], armed: &[String], deadline: Duration) -> Run {
    let out = std::env::temp_dir().join(format!("hantro-faults-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let faults = FaultLog::new(tag);
    let mut c = Command::new(vaclient());
    c.arg("--sync-check");
    if serial {
        c.arg("--serial");
    }
    c.arg(&out).arg(stream).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in va_env() {
        c.env(k, v);
    }
    c.env("HANTRO_SIM_QUIET", "1").env("HANTRO_LOG", "error");
    let (k, v) = faults.env();
    c.env(k, v);
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
    Run {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        frames,
        secs: t.elapsed().as_secs_f64(),
        fired: faults.check(armed),
        fault_lines: faults.lines(),
    }
}

fn reference() -> Vec<u8> {
    let r = reference_nv12(&idr_stream());
    assert_eq!(r.len(), FRAMES * common::nv12_frame_size(W, H));
    r
}

/// `armed` lines of HANTRO_SIM_FAIL_IOCTL items.
fn ioctl_faults(spec: &str) -> Vec<String> {
    spec.split(',').map(|i| format!("ioctl {i}")).collect()
}

#[test]
fn clean_run_is_bit_exact() {
    for serial in [false, true] {
        let r = client(if serial { "clean-serial" } else { "clean" }, serial, &[], &[], Duration::from_secs(60));
        assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
        assert_eq!(r.fired, Ok(vec![]), "a clean run injected a fault");
        assert_eq!(r.outcome(&reference()), Outcome { frames: FRAMES, syncs: vec![], transfer_errors: vec![], decode_errors: 0, lost: vec![] }, "{}", r.stdout);
        assert!(r.fds_balanced(), "{}", r.stdout);
    }
}

#[test]
fn request_completing_with_error() {
    let want = reference();
    let r = client("error6", false, &[("HANTRO_SIM_ERROR_FRAME", "6")], &["error-frame job=6".into()], Duration::from_secs(60));
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    let fired = r.fired.as_ref().unwrap_or_else(|e| panic!("{e}"));
    // 320x240 = 300 macroblocks, all reported as VADecodeMBError (1).
    let line = r.sync_of(6).unwrap_or_else(|| panic!("no sync line for frame 6:\n{}", r.stdout));
    assert_eq!(line, format!("frame 0 6 sync={} mb=0-299:1", va::VA_STATUS_ERROR_DECODING_ERROR), "{}", r.stdout);
    for n in (0..FRAMES).filter(|&n| n != 6) {
        assert_eq!(r.sync_of(n), Some(format!("frame 0 {n} sync=0").as_str()), "{}", r.stdout);
    }
    // The simulator decodes the picture anyway (only the flag is set), so
    // the pixels are right; the client reads back whatever it is given.
    let bad = r.bad_frames(&want);
    assert!(
        bad.iter().all(|&b| (6..10).contains(&b)),
        "reference frames {bad:?} missing from the output; only 6..9 (the fault and frames predicting from it) may be"
    );
    assert!(r.fds_balanced(), "{}", r.stdout);
    eprintln!("ERROR on job 6: {line}; {fired:?}; reference frames not in the output: {bad:?}; next IDR (10..14) bit-exact");
}

/// The same fault on the hantro G1's other codecs: an MPEG-2 P picture and
/// a VP8 inter frame whose request completes with V4L2_BUF_FLAG_ERROR. The
/// client's vaSyncSurface reports VA_STATUS_ERROR_DECODING_ERROR for that
/// frame only, vaQuerySurfaceError describes every macroblock as
/// VADecodeMBError, and the frames from the next intra picture on are
/// bit-exact (the error handling is the driver's, not the codec's).
#[test]
fn request_completing_with_error_mpeg2_and_vp8() {
    let streams = [
        ("mpeg2", intra_every_5("hantro-faults-i5.m2v", &["-c:v", "mpeg2video", "-bf", "0", "-g", "5", "-b:v", "2M", "-f", "mpeg2video"])),
        ("vp8", intra_every_5("hantro-faults-key5.ivf", &["-c:v", "libvpx", "-g", "5", "-keyint_min", "5", "-auto-alt-ref", "0", "-b:v", "1M", "-f", "ivf"])),
    ];
    for (codec, stream) in streams {
        let want = reference_nv12(&stream);
        assert_eq!(want.len(), FRAMES * common::nv12_frame_size(W, H), "{codec}: reference decode");
        let r =
            client_on(&stream, &format!("error6-{codec}"), false, &[("HANTRO_SIM_ERROR_FRAME", "6")], &["error-frame job=6".into()], Duration::from_secs(60));
        assert!(r.ok, "{codec}: {}\n{}", r.stdout, r.stderr);
        r.fired.as_ref().unwrap_or_else(|e| panic!("{codec}: {e}"));
        let line = r.sync_of(6).unwrap_or_else(|| panic!("{codec}: no sync line for frame 6:\n{}", r.stdout));
        assert_eq!(line, format!("frame 0 6 sync={} mb=0-299:1", va::VA_STATUS_ERROR_DECODING_ERROR), "{codec}: {}", r.stdout);
        for n in (0..FRAMES).filter(|&n| n != 6) {
            assert_eq!(r.sync_of(n), Some(format!("frame 0 {n} sync=0").as_str()), "{codec}: {}", r.stdout);
        }
        let bad = r.bad_frames(&want);
        assert!(bad.iter().all(|&b| (6..10).contains(&b)), "{codec}: reference frames {bad:?} missing from the output; only 6..9 may be");
        assert!(r.fds_balanced(), "{codec}: {}", r.stdout);
        eprintln!("{codec}: ERROR on job 6: {line}; reference frames not in the output: {bad:?}");
    }
}

#[test]
fn request_that_never_completes() {
    let want = reference();
    let r = client("hang6", false, &[("HANTRO_SIM_HANG_FRAME", "6"), ("HANTRO_SYNC_TIMEOUT_MS", "400")], &["hang job=6".into()], Duration::from_secs(90));
    assert!(r.ok, "client crashed:\n{}\n{}", r.stdout, r.stderr);
    let fired = r.fired.as_ref().unwrap_or_else(|e| panic!("{e}"));
    let line = r.sync_of(6).unwrap_or_else(|| panic!("no sync line for frame 6:\n{}", r.stdout));
    assert_eq!(line, format!("frame 0 6 sync={}", va::VA_STATUS_ERROR_TIMEDOUT), "{}", r.stdout);
    for n in 0..6 {
        assert_eq!(r.sync_of(n), Some(format!("frame 0 {n} sync=0").as_str()), "{}", r.stdout);
    }
    let bad = r.bad_frames(&want);
    assert!(bad.iter().all(|&b| b >= 6), "frames before the hang differ: {bad:?}");
    assert!(r.fds_balanced(), "{}", r.stdout);
    eprintln!(
        "hang on job 6: {line}; {fired:?}; client finished in {:.1} s; {} error lines; reference frames missing from the output: {bad:?}",
        r.secs,
        r.errors()
    );
}

/// The check every row relies on: a fault whose call never comes (a call
/// number past the end), a fault the simulator does not understand, and an
/// ERROR frame past the last job are failures, not passes.
#[test]
fn faults_that_never_fire_are_failures() {
    let r = client(
        "never",
        true,
        &[("HANTRO_SIM_FAIL_IOCTL", "VIDIOC_QBUF/OUTPUT@99:1:EBUSY")],
        &ioctl_faults("VIDIOC_QBUF/OUTPUT@99:1:EBUSY"),
        Duration::from_secs(60),
    );
    let e = r.fired.expect_err("a fault past the last request passed as injected");
    assert!(e.contains("ioctl VIDIOC_QBUF/OUTPUT@99:1:EBUSY: fired 0 times, expected once"), "{e}");
    let r = client(
        "bogus",
        true,
        &[("HANTRO_SIM_FAIL_IOCTL", "VIDIOC_QBUFF:1:EBUSY,VIDIOC_QBUF/REQUEST:1:EIO")],
        &ioctl_faults("VIDIOC_QBUFF:1:EBUSY,VIDIOC_QBUF/REQUEST:1:EIO"),
        Duration::from_secs(60),
    );
    let e = r.fired.expect_err("faults the simulator cannot parse passed as injected");
    assert!(e.contains("bad-spec HANTRO_SIM_FAIL_IOCTL item \"VIDIOC_QBUFF:1:EBUSY\": unknown ioctl VIDIOC_QBUFF"), "{e}");
    assert!(e.contains("selector REQUEST does not apply to VIDIOC_QBUF"), "{e}");
    let r = client("late-error", true, &[("HANTRO_SIM_ERROR_FRAME", "99")], &["error-frame job=99".into()], Duration::from_secs(60));
    let e = r.fired.expect_err("an ERROR frame past the last job passed as injected");
    assert!(e.contains("error-frame job=99: fired 0 times"), "{e}");
}

/// The decoder vanishes once 6 requests were queued: from then on every
/// ioctl of the decode and teardown paths fails with ENODEV (what the
/// driver sees of an unbound device; the simulator has no unplug switch).
/// One thread, so the cut falls at the same place every run: pictures 0..4
/// were read back, picture 5 is being collected, 6.. are being submitted.
#[test]
fn device_vanishing_mid_stream() {
    let names = [
        "VIDIOC_QBUF",
        "VIDIOC_DQBUF",
        "VIDIOC_S_EXT_CTRLS",
        "MEDIA_REQUEST_IOC_QUEUE",
        "MEDIA_REQUEST_IOC_REINIT",
        "VIDIOC_STREAMOFF",
        "VIDIOC_REQBUFS",
        "VIDIOC_EXPBUF",
        "DMA_BUF_IOCTL_SYNC",
    ];
    let spec: Vec<String> = names.iter().map(|n| format!("{n}@6:1+:ENODEV")).collect();
    let spec = spec.join(",");
    let want = reference();
    let r = client("vanish", true, &[("HANTRO_SIM_FAIL_IOCTL", &spec)], &[], Duration::from_secs(90));
    assert!(r.ok, "client crashed:\n{}\n{}", r.stdout, r.stderr);
    let mut armed: Vec<&str> = r.fault_lines.iter().filter_map(|l| l.strip_prefix("armed ioctl ")).collect();
    armed.sort();
    let mut want_armed: Vec<&str> = spec.split(',').collect();
    want_armed.sort();
    assert_eq!(armed, want_armed, "{}", r.fault_lines.join("\n"));
    // Not every rule has a call to fail: each submission after the cut
    // stops at its first ioctl, the DQBUF of the reap that makes room. That
    // one and the teardown's must have failed.
    let fired: Vec<&String> = r.fault_lines.iter().filter(|l| l.starts_with("fired ")).collect();
    for must in ["VIDIOC_DQBUF", "VIDIOC_STREAMOFF", "VIDIOC_REQBUFS"] {
        assert!(fired.iter().any(|l| l.starts_with(&format!("fired ioctl {must}@6:1+:ENODEV "))), "{must} never failed:\n{}", r.fault_lines.join("\n"));
    }
    let o = r.outcome(&want);
    // 0..4 read back bit-exact; 5: its DQBUF fails (sync OPERATION_FAILED,
    // no read-back); 6..14: vaEndPicture fails, libavcodec drops them.
    let failed = va::VA_STATUS_ERROR_OPERATION_FAILED;
    assert_eq!(
        o,
        Outcome { frames: 6, syncs: vec![(5, failed)], transfer_errors: vec![5], decode_errors: 9, lost: (5..FRAMES).collect() },
        "{}\n{}",
        r.stdout,
        r.fault_lines.join("\n")
    );
    // Closing a request fd while its request is queued (the device is gone,
    // STREAMOFF failed) is legal; the simulator then keeps its own end of
    // the request's socket pair for good (device.rs close(): requests whose
    // fd was closed are only freed if not queued). Those sockets are the
    // simulator's, not the driver's: the driver's fds (video, media,
    // request, dmabuf) must all be closed.
    let driver_leaks: Vec<&str> = r.leaked().into_iter().filter(|l| !l.contains("socket:")).collect();
    assert!(driver_leaks.is_empty() && r.stdout.contains("fds before="), "{}", r.stdout);
    eprintln!(
        "device vanished after 6 requests: {o:?}; {} faults injected; finished in {:.1} s; simulator request sockets left: {}",
        fired.len(),
        r.secs,
        r.leaked().len()
    );
}

/// One decode-path fault, one thread (so it meets the same picture every
/// run), and the exact outcome. The stream: IDR at 0, 5, 10, P-frames
/// between (x264 ref=3: each P-frame may predict from the 3 before it).
struct Row {
    spec: &'static str,
    expect: Outcome,
}

/// Outcome of a picture whose submission failed: libavcodec drops it
/// (one decode-error, 14 frames out); the next three predict from it and the
/// simulator flags them (a reference that was never decoded), so they sync
/// with DECODING_ERROR and cannot be read back; the next IDR is bit-exact.
fn lost_picture(p: usize) -> Outcome {
    let dec = va::VA_STATUS_ERROR_DECODING_ERROR;
    // output index of picture q > p is q - 1
    let flagged: Vec<usize> = (p + 1..p + 4).map(|q| q - 1).collect();
    Outcome { frames: FRAMES - 1, syncs: flagged.iter().map(|&n| (n, dec)).collect(), transfer_errors: flagged, decode_errors: 1, lost: (p..p + 4).collect() }
}

fn decode_rows() -> Vec<Row> {
    let ok = || Outcome { frames: FRAMES, syncs: vec![], transfer_errors: vec![], decode_errors: 0, lost: vec![] };
    let sync_fails = |n: usize, st: u32| Outcome { syncs: vec![(n, st)], ..ok() };
    let unreadable = |n: usize| Outcome { transfer_errors: vec![n], lost: vec![n], ..ok() };
    vec![
        // submission of picture 6 (P) fails at each of its ioctls
        Row { spec: "VIDIOC_S_EXT_CTRLS/REQUEST@6:1:EBUSY", expect: lost_picture(6) },
        Row { spec: "VIDIOC_S_EXT_CTRLS/REQUEST@6:1:ENOMEM", expect: lost_picture(6) },
        Row { spec: "VIDIOC_QBUF/CAPTURE@6:1:EBUSY", expect: lost_picture(6) },
        Row { spec: "VIDIOC_QBUF/OUTPUT@6:1:EBUSY", expect: lost_picture(6) },
        Row { spec: "VIDIOC_QBUF/OUTPUT@6:1:ENOMEM", expect: lost_picture(6) },
        Row { spec: "MEDIA_REQUEST_IOC_QUEUE@6:1:EBUSY", expect: lost_picture(6) },
        Row { spec: "MEDIA_REQUEST_IOC_QUEUE@6:1:ENOMEM", expect: lost_picture(6) },
        // the first STREAMON (picture 0, the IDR) fails: 1..3 predict from it;
        // 4 predicts from 1..3 only, which were flagged but decoded, so it
        // syncs fine with wrong pixels
        Row { spec: "VIDIOC_STREAMON/OUTPUT:1:EBUSY", expect: Outcome { lost: (0..5).collect(), ..lost_picture(0) } },
        Row { spec: "VIDIOC_STREAMON/CAPTURE:1:EBUSY", expect: Outcome { lost: (0..5).collect(), ..lost_picture(0) } },
        // collecting picture 6 fails once: vaSyncSurface says so, the buffer
        // stays done in the queue and the read-back collects it bit-exact
        Row { spec: "VIDIOC_DQBUF/CAPTURE/DONE:7:EIO", expect: sync_fails(6, va::VA_STATUS_ERROR_OPERATION_FAILED) },
        Row { spec: "VIDIOC_DQBUF/OUTPUT/DONE:7:ENOMEM", expect: sync_fails(6, va::VA_STATUS_ERROR_ALLOCATION_FAILED) },
        // recycling the request of picture 5 fails: the slot is re-initialised
        // before its next use, nothing is lost
        Row { spec: "MEDIA_REQUEST_IOC_REINIT@6:1:EBUSY", expect: ok() },
        // CPU access: the read-back of picture 5 (first DMA-BUF sync after it
        // was queued) and of picture 2 (its buffer's first export) fail
        Row { spec: "DMA_BUF_IOCTL_SYNC@6:1:ENOMEM", expect: unreadable(5) },
        Row { spec: "VIDIOC_EXPBUF/CAPTURE@3:1:ENOMEM", expect: unreadable(2) },
    ]
}

#[test]
fn single_ioctl_failures_while_decoding() {
    let want = reference();
    let mut failures = Vec::new();
    for row in decode_rows() {
        let r = client(&row.spec.replace([':', '/', '@'], "_"), true, &[("HANTRO_SIM_FAIL_IOCTL", row.spec)], &ioctl_faults(row.spec), Duration::from_secs(60));
        let got = r.outcome(&want);
        let fired = match &r.fired {
            Ok(f) => f.join("; "),
            Err(e) => format!("FAULT NOT INJECTED AS ARMED: {e}"),
        };
        let summary = format!("{:<40} {got:?} fds balanced={} exit ok={}\n    {fired}", row.spec, r.fds_balanced(), r.ok);
        eprintln!("{summary}");
        if !r.ok || !r.fds_balanced() || r.fired.is_err() || got != row.expect {
            failures.push(format!(
                "{summary}\n    expected {:?}\n{}\n{}",
                row.expect,
                r.stdout,
                r.stderr.lines().filter(|l| !l.starts_with("  ")).take(20).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- setup-path faults through the vtable (no libavcodec in between)

/// Marks the start of a VA call in the simulator's log (HANTRO_SIM_LOG,
/// appended in call order with the simulator's own trace lines) when the
/// child records a trace.
fn mark(step: &str) {
    if std::env::var_os("HANTRO_TEST_MARKS").is_none() {
        return;
    }
    if let Some(p) = std::env::var_os("HANTRO_SIM_LOG") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p).expect("HANTRO_SIM_LOG");
        writeln!(f, "mark: {step}").unwrap();
    }
}

/// One create/use/destroy round; returns the first failing call. Every VA
/// call is a step named in the trace (`mark`).
fn setup_round(v: &Va) -> Result<(), (String, va::VAStatus)> {
    let fail = |what: &str, s: va::VAStatus| if s == OK { Ok(()) } else { Err((what.to_string(), s)) };
    mark("vaCreateConfig");
    let (s, cfg) = v.create_config(va::VAProfileH264Main);
    fail("vaCreateConfig", s)?;
    mark("vaCreateSurfaces2");
    let (s, mut surf) = v.create_surfaces(W, H, 4);
    let r = (|| {
        fail("vaCreateSurfaces2", s)?;
        mark("vaCreateContext");
        let (s, ctx) = v.create_context(cfg, W as i32, H as i32, &mut surf);
        fail("vaCreateContext", s)?;
        let r = (|| {
            mark("vaExportSurfaceHandle");
            let (s, d) = v.export(surf[0], va::VA_EXPORT_SURFACE_COMPOSED_LAYERS);
            if s == OK {
                close_fds(&d);
            }
            fail("vaExportSurfaceHandle", s)?;
            mark("vaDeriveImage");
            let (s, img) = v.derive_image(surf[1]);
            fail("vaDeriveImage", s)?;
            let mut p = std::ptr::null_mut();
            mark("vaMapBuffer(derived)");
            let s = vcall!(v, vaMapBuffer, img.buf, &mut p);
            mark("vaUnmapBuffer(derived)");
            let s2 = vcall!(v, vaUnmapBuffer, img.buf);
            mark("vaDestroyImage(derived)");
            assert_eq!(vcall!(v, vaDestroyImage, img.image_id), OK);
            fail("vaMapBuffer(derived)", s)?;
            fail("vaUnmapBuffer(derived)", s2)?;
            mark("vaCreateImage");
            let (s, img) = v.create_image(W as i32, H as i32);
            fail("vaCreateImage", s)?;
            mark("vaGetImage");
            let s = vcall!(v, vaGetImage, surf[2], 0, 0, W, H, img.image_id);
            mark("vaDestroyImage");
            assert_eq!(vcall!(v, vaDestroyImage, img.image_id), OK);
            fail("vaGetImage", s)
        })();
        mark("vaDestroyContext");
        assert_eq!(vcall!(v, vaDestroyContext, ctx), OK);
        r
    })();
    if s == OK {
        mark("vaDestroySurfaces");
        assert_eq!(vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), 4), OK);
    }
    mark("vaDestroyConfig");
    assert_eq!(vcall!(v, vaDestroyConfig, cfg), OK);
    mark("-");
    r
}

/// One emulated ioctl call of a clean child run (vaInitialize, one setup
/// round): the VA call making it, the ioctl, its occurrence within that VA
/// call (1-based) and within the run (the K of HANTRO_SIM_FAIL_IOCTL).
struct Call {
    step: String,
    ioctl: String,
    nth_in_step: u32,
    k: u32,
}

fn child_line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines().find_map(|l| l.find(prefix).map(|i| &l[i + prefix.len()..])).unwrap_or_default()
}

/// The clean run's calls, from the simulator's HANTRO_SIM_TRACE with the
/// child's marks in between, and its profile list.
fn setup_trace() -> (Vec<Call>, String) {
    let log = std::env::temp_dir().join(format!("hantro-faults-setup-trace-{}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let o = run_child(
        "child_setup_fault",
        &[("HANTRO_SIM_TRACE", "1"), ("HANTRO_SIM_LOG", &log.display().to_string()), ("HANTRO_TEST_MARKS", "1"), ("HANTRO_LOG", "off")],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && child_line(&out, "setup-fault: ") == "none", "clean traced child failed:\n{out}\n{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&log).expect("trace log");
    let _ = std::fs::remove_file(&log);
    let mut step = String::from("vaInitialize");
    let mut calls: Vec<Call> = Vec::new();
    for l in text.lines() {
        if let Some(m) = l.strip_prefix("mark: ") {
            if m == "-" {
                break; // the end of the first round
            }
            step = m.to_string();
        } else if let Some(t) = l.strip_prefix("trace: fd ") {
            let ioctl = t.split_whitespace().nth(1).expect("trace line").to_string();
            let k = 1 + calls.iter().filter(|c| c.ioctl == ioctl).count() as u32;
            let nth_in_step = 1 + calls.iter().filter(|c| c.ioctl == ioctl && c.step == step).count() as u32;
            calls.push(Call { step: step.clone(), ioctl, nth_in_step, k });
        }
    }
    (calls, child_line(&out, "profiles: ").to_string())
}

/// Faults the driver rightly survives without a failing VA call or a lost
/// profile: (VA call, ioctl, occurrence within the call, why).
const ABSORBED: &[(&str, &str, u32, &str)] = &[
    // (no VIDIOC_ENUM_FMT here: only EINVAL ends a format list; any other
    // error fails vaInitialize instead of silently dropping a coded format
    // and its profiles, e.g. MPEG-2 or VP8 behind H.264 on hantro-g1)
    // optional probes: without them the driver keeps its defaults
    ("vaInitialize", "VIDIOC_ENUM_FRAMESIZES", 1, "size range unknown: no limit advertised"),
    ("vaInitialize", "VIDIOC_ENUM_FRAMESIZES", 2, "size range unknown: no limit advertised (MPEG-2)"),
    ("vaInitialize", "VIDIOC_ENUM_FRAMESIZES", 3, "VP8 size range unknown: no limit advertised"),
    ("vaInitialize", "VIDIOC_QUERY_EXT_CTRL", 1, "decode-mode menu unknown: default"),
    ("vaInitialize", "VIDIOC_QUERY_EXT_CTRL", 2, "start-code menu unknown: default"),
    ("vaInitialize", "VIDIOC_QUERY_EXT_CTRL", 3, "profile menu unknown: all profiles"),
    ("vaInitialize", "VIDIOC_QUERY_EXT_CTRL", 4, "optional control"),
    ("vaInitialize", "VIDIOC_QUERY_EXT_CTRL", 5, "optional control"),
    ("vaInitialize", "VIDIOC_QUERY_EXT_CTRL", 6, "optional control (VP8_FRAME)"),
    // (no VIDIOC_QUERYMENU here: only EINVAL means "entry skipped"; any
    // other error fails vaInitialize instead of silently dropping a mode
    // or a profile)
    // the first CAPTURE allocation: CREATE_BUFS (with the G_FMT it starts
    // from) falls back to REQBUFS (drivers without CREATE_BUFS)
    ("vaCreateSurfaces2", "VIDIOC_G_FMT", 2, "CREATE_BUFS falls back to REQBUFS"),
    ("vaCreateSurfaces2", "VIDIOC_CREATE_BUFS", 1, "falls back to REQBUFS"),
    // DMA_BUF_SYNC_END after the CPU access: nothing to undo (logged)
    ("vaUnmapBuffer(derived)", "DMA_BUF_IOCTL_SYNC", 1, "SYNC_END after the access"),
    ("vaGetImage", "DMA_BUF_IOCTL_SYNC", 2, "SYNC_END after the access"),
    // freeing buffers on close: closing the fd frees them anyway
    ("vaDestroySurfaces", "VIDIOC_REQBUFS", 1, "teardown: the close frees them"),
    ("vaDestroySurfaces", "VIDIOC_REQBUFS", 2, "teardown: the close frees them"),
];

/// What `child_setup_fault` must print for a fault on `c`: the VA call
/// making the ioctl fails with the errno's status (vaInitialize: UNKNOWN,
/// no decoder); nothing fails where the driver absorbs it.
fn expected_setup_outcome(c: &Call, errno: &str) -> String {
    if ABSORBED.iter().any(|a| a.0 == c.step && a.1 == c.ioctl && a.2 == c.nth_in_step) {
        return "none".into();
    }
    let status = match (c.step.as_str(), errno) {
        ("vaInitialize", _) => va::VA_STATUS_ERROR_UNKNOWN,
        (_, "ENOMEM") => va::VA_STATUS_ERROR_ALLOCATION_FAILED,
        _ => va::VA_STATUS_ERROR_OPERATION_FAILED,
    };
    format!("{} -> {}", c.step, status_name(status as va::VAStatus))
}

#[test]
fn single_ioctl_failures_during_setup() {
    let (trace, clean_profiles) = setup_trace();
    assert!(trace.iter().any(|c| c.step == "vaInitialize") && trace.iter().any(|c| c.step == "vaCreateSurfaces2"), "trace without the expected steps");
    // every absorbed entry must still name a call of the clean run
    for a in ABSORBED {
        assert!(trace.iter().any(|c| c.step == a.0 && c.ioctl == a.1 && c.nth_in_step == a.2), "ABSORBED entry {a:?} is no call of the clean run any more");
    }
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for c in &trace {
        for errno in ["EBUSY", "ENOMEM"] {
            let spec = format!("{}:{}:{errno}", c.ioctl, c.k);
            let faults = FaultLog::new(&spec.replace(':', "_"));
            let (fk, fv) = faults.env();
            let o = run_child("child_setup_fault", &[("HANTRO_SIM_FAIL_IOCTL", &spec), ("HANTRO_LOG", "off"), (fk, &fv)]);
            let out = String::from_utf8_lossy(&o.stdout);
            let mut line = child_line(&out, "setup-fault: ").to_string();
            let prof = child_line(&out, "profiles: ");
            // a profile silently missing after a transient error (QUERYMENU
            // EBUSY once read as "entry skipped") is never an expected outcome
            if !prof.is_empty() && prof != clean_profiles {
                line += "; lost a profile";
            }
            let want = expected_setup_outcome(c, errno);
            let fired = faults.check(&[format!("ioctl {spec}")]);
            rows.push(format!("{spec:<32} {} #{} {:<24} {line}", c.ioctl, c.nth_in_step, c.step));
            if !o.status.success() || line != want || fired.is_err() {
                failures.push(format!(
                    "{spec} ({} #{} of {}): got {line:?}, expected {want:?}; {fired:?}\n{out}\n{}",
                    c.ioctl,
                    c.nth_in_step,
                    c.step,
                    String::from_utf8_lossy(&o.stderr).lines().filter(|l| !l.starts_with("  ")).take(30).collect::<Vec<_>>().join("\n")
                ));
            }
        }
    }
    for r in &rows {
        eprintln!("{r}");
    }
    eprintln!(
        "{} setup faults ({} ioctl calls of a clean vaInitialize + round, EBUSY and ENOMEM each), all injected, each with its expected outcome",
        rows.len(),
        trace.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn profiles(v: &Va) -> Vec<i32> {
    let mut l = [0; 32];
    let mut n = 0;
    assert_eq!(vcall!(v, vaQueryConfigProfiles, l.as_mut_ptr(), &mut n), OK);
    l[..n as usize].to_vec()
}

/// Runs in a child with one injected fault: vaInitialize or the first
/// setup round fails (with an error status, not a crash) or nothing fails;
/// nothing leaks; the next round (the fault was one call) works. Prints
/// `setup-fault: <VA call> -> <status>` or `setup-fault: none`.
#[test]
fn child_setup_fault() {
    if !common::child("child_setup_fault") {
        return;
    }
    let before = resources();
    mark("vaInitialize");
    let v = Va::init();
    if v.init_status != OK {
        let status = v.init_status;
        drop(v);
        assert_eq!(resources().fds, before.fds, "failed vaInitialize leaked fds");
        // the fault was consumed: a second vaInitialize works
        let v = Va::init_ok();
        setup_round(&v).unwrap_or_else(|(w, s)| panic!("{w} failed after the fault: {}", status_name(s)));
        assert_eq!(v.terminate(), OK);
        println!("setup-fault: vaInitialize -> {}", status_name(status));
        return;
    }
    println!("profiles: {:?}", profiles(&v));
    let base = resources();
    let failed = setup_round(&v).err();
    assert_eq!(resources().fds, base.fds, "fds left after the round");
    // a profile missing after vaInitialize stays missing: no retry then
    if !failed.as_ref().is_some_and(|(w, _)| w == "vaCreateConfig") {
        setup_round(&v).unwrap_or_else(|(w, s)| panic!("{w} failed on the round after the fault: {}", status_name(s)));
    }
    assert_eq!(v.terminate(), OK);
    drop(v);
    // a traced run: the simulator opened HANTRO_SIM_LOG during vaInitialize
    let log_fd = usize::from(std::env::var_os("HANTRO_TEST_MARKS").is_some());
    assert_eq!(resources().fds, before.fds + log_fd, "fds leaked");
    match failed {
        None => println!("setup-fault: none"),
        Some((w, s)) => println!("setup-fault: {w} -> {}", status_name(s)),
    }
}

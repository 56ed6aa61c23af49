//! The H.264 suite of the real-kernel plane through hantro_drv_video: in one
//! guest boot (tests/guest/h264-suite.sh), every corpus stream is decoded in
//! visl's frame-based and slice-based modes by GStreamer's v4l2slh264dec
//! (the reference, written independently of us) and through our VA driver by
//! `ffmpeg -hwaccel vaapi` and GStreamer's `vah264dec`. The V4L2 controls our
//! driver sent must equal GStreamer's, frame by frame; the trace must hold
//! the hardware's decode_params for every frame (no software fallback).
//! vainfo, Firefox's vaapitest and mpv --hwdec=vaapi-copy run in the same
//! boot; mpv must have decoded every frame through the driver (the driver's
//! per-picture log lines and visl's trace both count them) with no fallback
//! or decode error. Never skips: a missing driver or guest fails the test;
//! every failure is reported, not only the first. `H264_STREAMS="a b"` runs
//! only those streams (plus mpv's two) and then fails: not the whole corpus.
//! The same boot's GStreamer traces are the reference of the arm64 test
//! below (one arm64 boot: the arm64 driver on the corpus in both modes).
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use testplane::compare::{compare_texts, Options};
use testplane::guest::{env_words, mpv_decoded_every_frame, read_manifest, repo_root, shared_run, suite_run, versions_in, GuestRun, Stream};
use testplane::visl::analyse_text;

/// Fields VA-API does not carry, so a VA driver cannot know them; every
/// other field of every control is compared.
/// - `sps.level_idc`: not in VAPictureParameterBufferH264 (the driver
///   derives the lowest level whose limits fit; x264 may signal a higher one).
/// - `sps.constraint_set_flags`: not in VAPictureParameterBufferH264 either;
///   the driver puts what the VA profile implies (SET1 for Main, as x264
///   writes) and encoders differ (h264gen's Main streams set none). Of the
///   stateless decoders only rkvdec reads a flag, constraint_set3 (level 1b
///   in Baseline/Main, the intra profiles in High), which none of the VA
///   profiles advertised implies; the driver leaves it clear.
/// - `pps.num_ref_idx_l{0,1}_default_active_minus1`: VA only has each slice's
///   active counts; the driver learns the PPS default from slices that do not
///   override it, and cannot know it while every slice overrides (then the
///   default is unused by the decoding process and by the hardware, which
///   reads the override from the slice header).
const NOT_IN_VA: [&str; 4] =
    ["sps.level_idc", "sps.constraint_set_flags", "pps.num_ref_idx_l0_default_active_minus1", "pps.num_ref_idx_l1_default_active_minus1"];

/// `H264_STREAMS="a b"`: only these corpus streams (to iterate quickly);
/// such a run always fails at the end, it is not the whole corpus.
fn subset() -> Vec<String> {
    env_words("H264_STREAMS")
}

/// The suite's one boot (tests/guest/h264-suite.sh), shared by this
/// binary's tests: its GStreamer traces (both decode modes) are also the
/// arm64 test's reference (a stream's controls do not depend on the CPU).
fn suite() -> &'static GuestRun {
    static RUN: OnceLock<Result<GuestRun, String>> = OnceLock::new();
    shared_run(&RUN, || {
        let subset = subset();
        let args: Vec<&str> = subset.iter().map(String::as_str).collect();
        suite_run(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-va-h264"), "h264-suite.sh", &[], &args)
    })
}

#[test]
fn h264_corpus_through_the_va_driver_equals_gstreamer_on_visl() {
    let run = suite();
    let job = &run.job;
    let subset = subset();
    assert_eq!(run.status, 0, "guest suite failed:\n{}\n{}\n{}", run.stdout, run.stderr, run.versions());
    assert!(run.stdout.contains("suite-done"), "suite did not finish:\n{}", run.stdout);
    let read = |f: &str| run.read_out(f).unwrap_or_else(|e| panic!("{e}"));

    // vainfo: the driver initialises on visl and lists the H.264 profiles.
    let vainfo = read("vainfo.txt");
    eprintln!("--- vainfo ---\n{vainfo}");
    assert!(vainfo.contains("Driver version: hantro_drv_video") && vainfo.contains("on visl"), "{vainfo}");
    for p in ["VAProfileH264ConstrainedBaseline", "VAProfileH264Main", "VAProfileH264High"] {
        assert!(vainfo.lines().any(|l| l.contains(p) && l.contains("VAEntrypointVLD")), "{p} missing:\n{vainfo}");
    }
    // Diagnostics (`HANTRO_LOG=info vainfo`): the decoder, what it offers,
    // what is advertised and why the rest is not; for a user who may not
    // open the nodes, the permission problem and its fix.
    let diag = read("diagnose.txt");
    eprintln!("--- HANTRO_LOG=info vainfo ---\n{diag}");
    for want in ["decoder visl (visl", "/dev/media0 + /dev/video0", "S264: ", "CAPTURE NV12", "advertised: VA profile 7 (H.264) on /dev/video0", "vainfo rc=0"]
    {
        assert!(diag.contains(want), "diagnostics lack {want:?}:\n{diag}");
    }
    // visl offers every stateless format: each registered codec other than
    // H.264 is either advertised or explained.
    assert!(!diag.contains("not advertised: H.264"), "{diag}");
    let nobody = read("diagnose-nobody.txt");
    eprintln!("--- HANTRO_LOG=info vainfo as uid 65534 ---\n{nobody}");
    assert!(
        nobody.contains("/dev/media0: permission denied") && nobody.contains("add this user to group") && nobody.contains("70-hantro_drv_video.rules"),
        "no permission diagnosis for a user without access:\n{nobody}"
    );
    assert!(!nobody.contains("vainfo rc=0") && !nobody.contains("MOZ_DISABLE_RDD_SANDBOX"), "{nobody}");

    // Firefox's own probe, real binary from firefox-esr.
    let vaapitest = read("vaapitest.txt");
    eprintln!("--- vaapitest ---\n{vaapitest}");
    assert!(vaapitest.contains("VAAPI_SUPPORTED\nTRUE") && vaapitest.contains("vaapitest rc=0"), "{vaapitest}");
    let hwcodecs: u32 = vaapitest.lines().skip_while(|l| *l != "VAAPI_HWCODECS").nth(1).and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    assert!(hwcodecs & 16 != 0, "vaapitest does not report H.264 (bit 16 of VAAPI_HWCODECS): {hwcodecs}");

    // Every failure below is collected and reported together (a client that
    // failed, a trace that differs, mpv not decoding through the driver), so
    // one broken client does not hide what the others did.
    let mut failures = Vec::new();
    let runs = read("runs.tsv");
    for l in runs.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.get(3) != Some(&"0") {
            failures.push(format!("client failed: {l}\n{}", tail(&read(&format!("{}.{}.{}.log", f[0], f[1], f[2])), 10)));
        }
    }
    let manifest = read_manifest(&job.join("corpus/manifest.tsv")).expect("manifest");
    let mut table = String::new();
    if let Some(s) = subset.iter().find(|s| !manifest.iter().any(|m| &m.name == *s)) {
        failures.push(format!("H264_STREAMS: {s} is not in the corpus"));
    }
    for s in manifest.iter().filter(|m| subset.is_empty() || subset.contains(&m.name)) {
        for mode in ["frame", "slice"] {
            let reference = read(&format!("{}.{mode}.gst.trace", s.name));
            for client in ["ffmpeg", "gstva"] {
                let ours = read(&format!("{}.{mode}.{client}.trace", s.name));
                let (line, bad) = compare_stream(&reference, &ours, s, mode, client);
                table.push_str(&format!("{:<18} {mode:<5} {client:<6} {line}\n", s.name));
                failures.extend(bad);
            }
        }
    }
    eprintln!("--- our controls vs GStreamer's on visl ---\n{table}");

    // mpv --hwdec=vaapi-copy: judged by what it did. Every frame must have
    // been decoded by the device through our driver (the driver's
    // per-picture lines on mpv's stderr, and visl's requests in the trace),
    // with no fallback to software and no decode error or error-level line.
    let versions = run.versions();
    for s in ["cavlc_baseline", "cabac_main_bpyr"] {
        let frames = manifest.iter().find(|m| m.name == s).unwrap_or_else(|| panic!("{s} not in the manifest")).frames;
        let log = read(&format!("mpv-{s}.log"));
        let (summary, why) = mpv_decoded_every_frame(&log, &read(&format!("mpv-{s}.mpvlog")), &read(&format!("mpv-{s}.trace")), frames);
        eprintln!("mpv {s}: {summary}");
        if !why.is_empty() {
            failures.push(format!("mpv on {s}: {}\n--- mpv-{s}.log (tail) ---\n{}", why.join("; "), tail(&log, 30)));
        }
    }
    // Zero configuration: installed into libva's own directory under the
    // render node's DRM name (vgem_drv_video.so -> hantro_drv_video.so, what
    // `make install` does for the boards' names), no LIBVA_* variable set:
    // libva itself opens the link, and ffmpeg and mpv decode every frame
    // through the driver on visl.
    let install = read("zc-install.txt");
    let zc_vainfo = read("zc-vainfo.txt");
    eprintln!(
        "--- zero configuration ---
{install}{zc_vainfo}"
    );
    if !install.contains("/dri/vgem_drv_video.so -> hantro_drv_video.so") || !install.contains("install rc=0") {
        failures.push(format!("zero-config install failed:\n{install}"));
    }
    let opened = |log: &str| log.lines().any(|l| l.contains("Trying to open") && l.contains("/dri/vgem_drv_video.so"));
    if !opened(&zc_vainfo) || !zc_vainfo.contains("Driver version: hantro_drv_video") || !zc_vainfo.contains("vainfo rc=0") {
        failures.push(format!("vainfo without LIBVA_DRIVER_NAME did not load the driver through vgem_drv_video.so:\n{zc_vainfo}"));
    }
    let zc_frames = manifest.iter().find(|m| m.name == "cavlc_baseline").expect("cavlc_baseline in the manifest").frames;
    let zc_ffmpeg = read("zc-ffmpeg.log");
    let zc_trace = analyse_text(&read("zc-ffmpeg.trace"));
    let zc_decoded = testplane::guest::decoded_by_pid(&zc_ffmpeg);
    eprintln!("zero-config ffmpeg: driver decoded {zc_decoded:?} (pid: pictures), visl {} frames", zc_trace.frames.len());
    if !opened(&zc_ffmpeg)
        || !zc_ffmpeg.contains("ffmpeg rc=0")
        || zc_decoded.values().copied().collect::<Vec<_>>() != vec![zc_frames]
        || zc_trace.frames.len() != zc_frames
    {
        failures.push(format!("zero-config ffmpeg did not decode all {zc_frames} frames through the driver:\n{}", tail(&zc_ffmpeg, 30)));
    }
    let zc_mpv = read("zc-mpv.log");
    let zc_mpvlog = read("zc-mpv.mpvlog");
    let (summary, why) = mpv_decoded_every_frame(&zc_mpv, &zc_mpvlog, &read("zc-mpv.trace"), zc_frames);
    eprintln!("zero-config mpv: {summary}");
    // mpv routes libva's messages into its own log
    let mpv_opened = opened(&zc_mpv) || opened(&zc_mpvlog);
    if !why.is_empty() || !mpv_opened {
        failures.push(format!("zero-config mpv: {} (libva opened vgem_drv_video.so: {mpv_opened})\n{}", why.join("; "), tail(&zc_mpv, 30)));
    }
    if !subset.is_empty() {
        failures.push(format!("H264_STREAMS={}: only part of the corpus was run", subset.join(" ")));
    }
    assert!(failures.is_empty(), "{} failures:\n{}\n{versions}", failures.len(), failures.join("\n"));
}

/// One client's visl trace of stream `s` in decode `mode` against
/// GStreamer's: the hardware path (one decode_params per request, as many
/// requests as the reference: frames, or slices in slice mode) and every
/// control equal but for [`NOT_IN_VA`], slice-level controls compared in
/// slice mode. Returns the table summary and the failures.
fn compare_stream(reference: &str, ours: &str, s: &Stream, mode: &str, client: &str) -> (String, Vec<String>) {
    let (rd, od) = (analyse_text(reference), analyse_text(ours));
    assert_eq!(rd.frames.len(), s.frames, "{} {mode}: reference frames", s.name);
    let mut failures = Vec::new();
    if od.decode_params_events != rd.decode_params_events || od.frames.len() != s.frames {
        failures.push(format!(
            "{} {mode} {client}: {} frames / {} decode_params in the trace, reference {} / {}",
            s.name,
            od.frames.len(),
            od.decode_params_events,
            rd.frames.len(),
            rd.decode_params_events
        ));
    }
    let opts = Options { ignore: NOT_IN_VA.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    let report = compare_texts(reference, ours, &opts);
    if !report.all_equal() || report.frames_total != s.frames {
        failures.push(format!("{} {mode} {client}:\n{}", s.name, report.text()));
    }
    if mode == "slice" && !report.slice_level_compared {
        failures.push(format!("{} {client}: slice-level controls were not compared", s.name));
    }
    (report.summary(), failures)
}

fn tail(s: &str, n: usize) -> String {
    let l: Vec<&str> = s.lines().collect();
    l[l.len().saturating_sub(n)..].join("\n")
}

/// The real-kernel plane on arm64: Debian trixie's arm64 6.12 kernel under
/// qemu-system-aarch64 (TCG) with visl cross-built for it
/// (scripts/guest-arm64-build.sh), the driver cross-built for
/// aarch64-unknown-linux-gnu (scripts/aarch64-build.sh), libva/vainfo and
/// libavcodec's VA-API hwaccel (tests/clients/vaclient.c) from Debian's
/// arm64 packages. In one arm64 boot: vainfo, then every corpus stream in
/// visl's frame- and slice-based modes (scripts/guest-arm64-h264.sh). The
/// reference is GStreamer's v4l2slh264dec on visl in the x86 suite's boot
/// ([`suite`]): the controls of a stream do not depend on the CPU, so the
/// arm64 driver's controls must equal them frame by frame, with the same
/// exclusions as the x86 clients. Never skips: a missing toolchain, guest
/// or driver fails the test.
#[test]
fn arm64_guest_h264_equals_gstreamer() {
    let root = repo_root();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));

    // 1. The arm64 driver.
    let b = Command::new(root.join("scripts/aarch64-build.sh"))
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", root.join("target/aarch64"))
        .output()
        .expect("run scripts/aarch64-build.sh");
    assert!(b.status.success(), "aarch64 build failed:\n{}", String::from_utf8_lossy(&b.stderr));
    let so = root.join("target/aarch64/aarch64-unknown-linux-gnu/release/libhantro_drv_video.so");

    // 2. arm64 guest: vainfo + every stream through our driver.
    let job = tmp.join("guest-arm64");
    let _ = std::fs::remove_dir_all(&job);
    std::fs::create_dir_all(&job).unwrap();
    let t0 = std::time::Instant::now();
    let subset = subset();
    let g = Command::new("bash")
        .arg(root.join("scripts/guest-run.sh"))
        .args(["--arch", "arm64", "--job"])
        .arg(&job)
        .arg(root.join("scripts/guest-arm64-h264.sh"))
        .args(&subset)
        .current_dir(&root)
        .env("HANTRO_DRIVER_SO", &so)
        .output()
        .expect("run scripts/guest-run.sh --arch arm64");
    let gout = String::from_utf8_lossy(&g.stdout);
    let gerr = String::from_utf8_lossy(&g.stderr);
    // what the arm64 guest ran (recorded by guest-arm64-build.sh)
    let versions = versions_in(&job);
    eprint!("{versions}");
    assert!(g.status.success() && gout.contains("arm64-suite-done"), "arm64 guest run failed ({:?}):\n{gout}\n{gerr}\n{versions}", g.status);
    assert!(versions.contains("\nlibva2:arm64 ") && versions.contains("\nvainfo:arm64 "), "versions not recorded:\n{versions}");
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let init = read(job.join("out/init.log"));
    eprintln!("arm64 guest (build if needed + boot + suite): {:.1}s\n{init}", t0.elapsed().as_secs_f64());
    assert!(init.contains("aarch64"), "not an arm64 kernel:\n{init}");
    let vainfo = read(job.join("out/vainfo.txt"));
    eprintln!("--- vainfo (arm64) ---\n{vainfo}");
    assert!(vainfo.contains("Driver version: hantro_drv_video") && vainfo.contains("on visl") && vainfo.contains("vainfo rc=0"), "{vainfo}");
    for p in ["VAProfileH264ConstrainedBaseline", "VAProfileH264Main", "VAProfileH264High"] {
        assert!(vainfo.lines().any(|l| l.contains(p) && l.contains("VAEntrypointVLD")), "{p} missing:\n{vainfo}");
    }
    let runs = read(job.join("out/runs.tsv"));
    eprintln!("--- arm64 runs (stream mode rc seconds frames) ---\n{runs}");

    // 3. Reference traces: GStreamer on visl in the x86 suite's boot.
    let r = suite();
    assert_eq!(r.status, 0, "x86 guest suite failed:\n{}\n{}", r.stdout, r.stderr);

    // 4. Compare, stream by stream and mode by mode.
    let manifest = read_manifest(&job.join("corpus/manifest.tsv")).expect("manifest");
    let mut failures = Vec::new();
    let mut table = String::new();
    for s in manifest.iter().filter(|m| subset.is_empty() || subset.contains(&m.name)) {
        for mode in ["frame", "slice"] {
            let line = runs.lines().find(|l| l.starts_with(&format!("{}\t{mode}\t", s.name)));
            let f: Vec<&str> = line.map(|l| l.split('\t').collect()).unwrap_or_default();
            if f.get(2) != Some(&"0") || f.get(4) != Some(&s.frames.to_string().as_str()) {
                failures.push(format!(
                    "{} {mode}: client run {line:?}, expected rc 0 and {} frames\n{}",
                    s.name,
                    s.frames,
                    read(job.join(format!("out/{}.{mode}.va.log", s.name)))
                ));
                continue;
            }
            let reference = r.read_out(&format!("{}.{mode}.gst.trace", s.name)).unwrap_or_else(|e| panic!("{e}"));
            let ours = read(job.join(format!("out/{}.{mode}.va.trace", s.name)));
            let (line, bad) = compare_stream(&reference, &ours, s, mode, "arm64");
            table.push_str(&format!("{:<18} {mode:<5} {:>6}s {line}\n", s.name, f[3]));
            failures.extend(bad);
        }
    }
    eprintln!("--- arm64 driver's controls vs GStreamer's (x86 guest) on visl ---\n{table}");
    if !subset.is_empty() {
        failures.push(format!("H264_STREAMS={}: only part of the corpus was run", subset.join(" ")));
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}\n{versions}", failures.len(), failures.join("\n"));
}

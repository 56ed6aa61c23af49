//! The users' pipelines in a real compositor, in one guest boot
//! (tests/guest/wayland-suite.sh): weston 14 (headless, GL renderer on
//! llvmpipe over vgem) displays dmabufs our driver exports from visl CAPTURE
//! buffers, and screenshots are compared with the same surfaces read back
//! through vaGetImage (limited-range BT.601):
//! - dmabuf-check (tests/guest/wayland/dmabuf-check.c): every checked frame
//!   exported with COMPOSED_LAYERS and with SEPARATE_LAYERS, shown through
//!   zwp_linux_dmabuf_v1, screenshot equal to vaGetImage pixel for pixel
//!   (vaGetImage before and after the screenshot: the surface is stable);
//! - re-shows (part reexport): 8 frames decoded into 6 surfaces, so frames are
//!   shown again from CAPTURE buffers shown before; every screenshot and the
//!   client's own mmap of each export equal vaGetImage, and at least one
//!   re-show happened. (The former INFO "frame 2 shows frame 0" was the test
//!   compositor's dumbmap-shim mapping a recycled GEM handle to the previous
//!   dma_buf — not a re-show, not weston, not the driver: part reshow-probe,
//!   run on demand, has the differential evidence.)
//! - mpv --hwdec=vaapi --vo=dmabuf-wayland (desktop shell): the paused
//!   first frame equals decoded frame 0 pixel for pixel and the driver
//!   decoded at least the pictures shown (its per-picture log lines,
//!   HANTRO_LOG=...,hantro_drv_video::decoded=info), no fallback, decode
//!   error or export complaint; full playback exits 0 with every frame
//!   decoded through the driver; under the kiosk shell mpv 0.40 crashes
//!   before decoding (mpv issue 16202, fixed in 0.41), reported INFO;
//! - GStreamer vah264dec ! waylandsink: DMABuf caps, frame 0 on screen equal
//!   to decoded frame 0 pixel for pixel, no error;
//! - Firefox ESR: the real vaapitest reports H.264; exactly one process
//!   decoded through the driver and it is the RDD process (driver log lines
//!   by pid, /proc/<pid>/comm); a decoded frame k reaches the screen (within
//!   2 levels on >= 90% of the pixels: WebRender's own YUV conversion samples
//!   chroma bilinearly, so chroma edges differ) and the RDD process decoded
//!   at least k + 1 pictures; no crash. Firefox's own log wording is only
//!   reported (it changed between 140 and 153).
//!
//! The guest's package versions (out/versions.txt) are printed, and are part
//! of every failure message.
//! Every check of the suite must be present and PASS; never skips.
use std::path::PathBuf;
use testplane::guest::{codec_corpus, copy_files, driver_so, env_words, repo_root, run_script};

/// The streams of part client (each exported COMPOSED and SEPARATE, every
/// screenshot equal to vaGetImage): H.264 by name, VP8 and MPEG-2 by file
/// (odd sizes, 8-bit NV12 from every coded format the device offers).
const CLIENT: [&str; 8] =
    ["cavlc_baseline", "odd_size", "cabac_main_bpyr", "full_hd", "odd_size.ivf", "altref_hidden.ivf", "interlaced_tff.m2v", "odd_size.m2v"];

/// (part, check) rows the suite must report as PASS.
const REQUIRED: &[(&str, &str)] = &[
    ("reexport", "cavlc_baseline"),
    ("mpv", "screenshot"),
    ("mpv", "hwdec"),
    ("mpv", "export-errors"),
    ("mpv", "playback"),
    ("gst", "screenshot"),
    ("gst", "caps"),
    ("gst", "errors"),
    ("firefox", "vaapitest"),
    ("firefox", "vaapi-decoding"),
    ("firefox", "vaapi-frames"),
    ("firefox", "screenshot"),
    ("firefox", "no-crash"),
];

#[test]
fn users_pipelines_in_weston_show_the_decoded_surfaces() {
    let so = driver_so();
    let job = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-wayland");
    let _ = std::fs::remove_dir_all(&job);
    std::fs::create_dir_all(&job).unwrap();
    copy_files(&repo_root().join("tests/guest/wayland"), &job.join("wayland")).unwrap();
    // the other codecs' corpora, where part client finds them
    for (name, dir) in [("vp8", "vp8corpus"), ("mpeg2", "corpus-mpeg2")] {
        let c = codec_corpus(name).unwrap_or_else(|e| panic!("{e}"));
        copy_files(&c, &job.join(dir)).unwrap();
    }
    let parts = env_words("WAYLAND_PARTS");
    let args: Vec<&str> = parts.iter().map(String::as_str).collect();
    let script = repo_root().join("tests/guest/wayland-suite.sh");
    let run = run_script(&job, &script, &args, &[("HANTRO_DRIVER_SO", so.to_str().unwrap()), ("GUEST_TIMEOUT", "2400"), ("GUEST_MEM", "4096")])
        .unwrap_or_else(|e| panic!("guest run failed: {e}"));
    eprintln!("{}", run.stdout);
    eprintln!("guest boot + suite: {:.1}s", run.elapsed.as_secs_f64());
    let versions = run.versions();
    let results = run.read_out("wayland-results.tsv").unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr));
    let rows: Vec<Vec<&str>> = results.lines().map(|l| l.splitn(4, '\t').collect()).filter(|r: &Vec<&str>| r.len() == 4).collect();
    let failed: Vec<String> = rows.iter().filter(|r| r[2] != "PASS" && r[2] != "INFO").map(|r| r.join(" ")).collect();
    assert!(failed.is_empty(), "failed checks:\n{}\n--- output ---\n{}\n{versions}", failed.join("\n"), run.stdout);
    let required: Vec<&(&str, &str)> = REQUIRED.iter().filter(|(p, _)| args.is_empty() || args.contains(p)).collect();
    let client = CLIENT.iter().map(|c| ("client", *c)).filter(|(p, _)| args.is_empty() || args.contains(p));
    for (part, check) in required.into_iter().copied().chain(client) {
        assert!(
            rows.iter().any(|r| r[0] == part && r[1] == check && r[2] == "PASS"),
            "{part} {check}: no PASS row in wayland-results.tsv:\n{results}\n{versions}"
        );
    }
    // informational rows that must be present (what mpv 0.40 does under a
    // kiosk shell; whether Firefox's content process reported a media error)
    for (part, check) in [("mpv", "kiosk-shell"), ("firefox", "playback")] {
        if !args.is_empty() && !args.contains(&part) {
            continue;
        }
        let row = rows.iter().find(|r| r[0] == part && r[1] == check);
        assert!(row.is_some(), "{part} {check}: no row in wayland-results.tsv:\n{results}");
        eprintln!("{part} {check}: {}", row.map(|r| r[3]).unwrap_or_default());
    }
    // pixel-exact: every client check reports maxdiff=0 (DMABUF_CHECK_TOL is 0)
    for f in CLIENT {
        if !args.is_empty() && !args.contains(&"client") {
            continue;
        }
        let log = run.read_out(&format!("client-{f}.log")).unwrap_or_else(|e| panic!("{e}"));
        let checks: Vec<&str> = log.lines().filter(|l| l.starts_with("CHECK ")).collect();
        assert!(!checks.is_empty(), "{f}: no checks:\n{log}");
        for c in &checks {
            assert!(c.contains("maxdiff=0 ") && c.ends_with("result=PASS"), "{f}: {c}");
        }
        assert_eq!(
            checks.iter().filter(|c| c.contains("mode=composed")).count(),
            checks.iter().filter(|c| c.contains("mode=separate")).count(),
            "{f}: both export modes"
        );
    }
    assert_eq!(run.status, 0, "suite failed:\n{}\n{}", run.stdout, run.stderr);
}

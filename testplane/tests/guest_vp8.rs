//! The VP8 suite of the real-kernel plane through hantro_drv_video: in one
//! guest boot (tests/guest/vp8-suite.sh) every VP8 corpus stream
//! (scripts/corpus-vp8.sh, staged into the job as /job/vp8corpus) is decoded
//! on visl by GStreamer's v4l2slvp8dec (the reference, written independently
//! of us) and through our VA driver by `ffmpeg -hwaccel vaapi` and
//! GStreamer's `vavp8dec`; vainfo must list VAProfileVP8Version0_3 and
//! Firefox's vaapitest must report VP8. visl must have decoded exactly the frames of the
//! stream (hidden alt-ref frames included) for every client, the driver must
//! have logged one decoded picture per coded frame, and every picture's
//! V4L2_CID_STATELESS_VP8_FRAME must equal GStreamer's field by field after
//! timestamp normalisation, except for the differences listed in
//! [`allowed`] (each with its reason). Never skips: a missing driver, tool
//! or guest fails the test. `VP8_STREAMS="a b"` runs only those streams and
//! then fails: not the whole corpus.
use std::path::PathBuf;
use std::sync::OnceLock;
use testplane::compare::{compare_texts, Options};
use testplane::guest::{arm64_va_run, codec_corpus, env_words, read_manifest, shared_run, suite_run, GuestRun};
use testplane::visl::analyse_text;

/// The VP8 corpus, generated (cached) on the host.
fn corpus() -> PathBuf {
    codec_corpus("vp8").unwrap_or_else(|e| panic!("{e}"))
}

/// Whether a difference line of the comparison (`frame N control.field:
/// reference=X ours=Y`) is one VA-API cannot avoid (the reason), or `None`.
/// `key` tells whether frame N is a key frame (from the reference trace).
fn allowed(line: &str, client: &str, key: &dyn Fn(usize) -> bool) -> Option<&'static str> {
    let rest = line.strip_prefix("frame ")?;
    let (n, rest) = rest.split_once(' ')?;
    let n: usize = n.parse().ok()?;
    let (key_name, vals) = rest.split_once(": ")?;
    let (reference, ours) = vals.strip_prefix("reference=")?.split_once(" ours=")?;
    // show_frame: FFmpeg's VA client hands over the frame without its
    // frame tag and VA has no show_frame, so the driver rebuilds the tag
    // with show_frame = 1. Neither hantro nor cedrus reads the flag (the
    // client, not the decoder, decides what is shown).
    if client == "ffmpeg" && key_name == "frame.flags" && !reference.contains("SHOW_FRAME") && ours.contains("SHOW_FRAME") {
        let strip = |s: &str| s.split('|').filter(|f| !f.contains("SHOW_FRAME")).collect::<Vec<_>>().join("|");
        if strip(reference) == strip(ours) {
            return Some("show_frame: not in VA (FFmpeg strips the frame tag)");
        }
    }
    // Reference timestamps of a key frame: a key frame reads no reference
    // (it replaces all three), so the hardware ignores them; GStreamer's
    // va client sends VA_INVALID_SURFACE for them (the driver then passes 0)
    // while v4l2slvp8dec passes the previous references, and GStreamer's
    // "none" (0) is also its first frame's timestamp.
    if key(n) && key_name.ends_with("_frame_ts") {
        return Some("key-frame reference timestamps: read by no decoder, not sent by every VA client");
    }
    None
}

/// `VP8_STREAMS`, split: the streams to run (empty: the whole corpus).
fn subset() -> Vec<String> {
    env_words("VP8_STREAMS")
}

/// The suite's one boot (tests/guest/vp8-suite.sh), shared by this
/// binary's tests: its GStreamer traces are also the arm64 test's
/// reference (a stream's controls do not depend on the CPU).
fn suite() -> &'static GuestRun {
    static RUN: OnceLock<Result<GuestRun, String>> = OnceLock::new();
    shared_run(&RUN, || {
        let subset = subset();
        let args: Vec<&str> = subset.iter().map(String::as_str).collect();
        suite_run(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-vp8"), "vp8-suite.sh", &[("vp8", "vp8corpus")], &args)
    })
}

#[test]
fn vp8_corpus_through_the_va_driver_equals_gstreamer_on_visl() {
    let run = suite();
    let job = &run.job;
    let subset = subset();
    assert_eq!(run.status, 0, "guest suite failed:\n{}\n{}\n{}", run.stdout, run.stderr, run.versions());
    assert!(run.stdout.contains("suite-done"), "suite did not finish:\n{}", run.stdout);
    let read = |f: &str| run.read_out(f).unwrap_or_else(|e| panic!("{e}"));

    let vainfo = read("vainfo.txt");
    eprintln!("--- vainfo ---\n{vainfo}");
    assert!(vainfo.contains("Driver version: hantro_drv_video") && vainfo.contains("on visl"), "{vainfo}");
    assert!(vainfo.lines().any(|l| l.contains("VAProfileVP8Version0_3") && l.contains("VAEntrypointVLD")), "VAProfileVP8Version0_3 missing:\n{vainfo}");

    // Firefox's own probe (firefox-esr's vaapitest): VP8 decoding is
    // CODEC_HW_DEC_VP8 = 1 << 6 of VAAPI_HWCODECS in Firefox 153
    // (widget/gtk/GfxInfo.cpp; H.264 is 1 << 4, encoders take the odd bits).
    let vaapitest = read("vaapitest.txt");
    eprintln!("--- vaapitest ---\n{vaapitest}");
    assert!(vaapitest.contains("VAAPI_SUPPORTED\nTRUE") && vaapitest.contains("vaapitest rc=0"), "{vaapitest}");
    let hwcodecs: u32 = vaapitest.lines().skip_while(|l| *l != "VAAPI_HWCODECS").nth(1).and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    assert!(hwcodecs & 64 != 0, "vaapitest does not report VP8 decoding (1 << 6 of VAAPI_HWCODECS): {hwcodecs}");

    let mut failures = Vec::new();
    for l in read("runs.tsv").lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.get(2) != Some(&"0") {
            failures.push(format!("client failed: {l}\n{}", read(&format!("{}.{}.log", f[0], f[1]))));
        }
    }
    let manifest = read_manifest(&job.join("vp8corpus/manifest.tsv")).expect("manifest");
    if let Some(s) = subset.iter().find(|s| !manifest.iter().any(|m| &m.name == *s)) {
        failures.push(format!("VP8_STREAMS: {s} is not in the corpus"));
    }
    let mut table = String::new();
    let mut excused: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in manifest.iter().filter(|m| subset.is_empty() || subset.contains(&m.name)) {
        let reference = read(&format!("{}.gst.trace", s.name));
        let rd = analyse_text(&reference);
        if rd.frames.len() != s.frames {
            failures.push(format!("{}: reference decoded {} frames, the stream codes {}", s.name, rd.frames.len(), s.frames));
        }
        for client in ["ffmpeg", "gstva"] {
            let ours = read(&format!("{}.{client}.trace", s.name));
            let od = analyse_text(&ours);
            if od.frames.len() != s.frames || od.decode_params_events != s.frames {
                failures.push(format!(
                    "{} {client}: visl decoded {} frames ({} VP8_FRAME controls), the stream codes {}",
                    s.name,
                    od.frames.len(),
                    od.decode_params_events,
                    s.frames
                ));
            }
            let pictures = read(&format!("{}.{client}.log", s.name)).lines().filter(|l| l.contains("decoded a picture into CAPTURE buffer")).count();
            if pictures != s.frames {
                failures.push(format!("{} {client}: the driver decoded {pictures} pictures, the stream codes {}", s.name, s.frames));
            }
            let report = compare_texts(&reference, &ours, &Options::default());
            let key = |n: usize| rd.frames.get(n).and_then(|f| f.fields.get("frame.flags")).is_some_and(|v| v.contains("KEY_FRAME"));
            let mut bad = Vec::new();
            for l in &report.lines {
                match allowed(l, client, &key) {
                    Some(why) => *excused.entry(why).or_default() += 1,
                    None if l.starts_with("frame ") => bad.push(l.clone()),
                    None => {}
                }
            }
            table.push_str(&format!("{:<16} {client:<6} {}\n", s.name, report.summary()));
            if report.frames_total != s.frames || !bad.is_empty() {
                failures.push(format!("{} {client}: {} of {} frames compared\n{}", s.name, report.frames_total, s.frames, bad.join("\n")));
            }
        }
    }
    eprintln!("--- our VP8 controls vs GStreamer's on visl ---\n{table}excused differences: {excused:?}");
    if !subset.is_empty() {
        failures.push(format!("VP8_STREAMS={}: only part of the corpus was run", subset.join(" ")));
    }
    assert!(failures.is_empty(), "{} failures:\n{}\n{}", failures.len(), failures.join("\n"), run.versions());
}

/// Two VP8 streams (one with hidden alt-ref frames, one with 8 token
/// partitions) through the arm64 driver on visl in the arm64 guest: the
/// controls must equal GStreamer's v4l2slvp8dec's from the x86 guest (the
/// controls of a stream do not depend on the CPU), with the same excused
/// differences as the x86 FFmpeg client, and visl must decode every coded
/// frame.
#[test]
fn arm64_guest_vp8_equals_gstreamer() {
    const STREAMS: [&str; 2] = ["altref_hidden", "partitions8"];
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let corpus = corpus();
    let a = arm64_va_run(&tmp.join("guest-arm64-vp8"), &corpus, "vp8corpus", "ivf", &STREAMS).unwrap_or_else(|e| panic!("{e}"));
    assert!(a.vainfo.lines().any(|l| l.contains("VAProfileVP8Version0_3") && l.contains("VAEntrypointVLD")), "arm64 vainfo:\n{}", a.vainfo);

    // GStreamer's reference traces: the x86 suite's boot (VP8_STREAMS
    // must then include these streams).
    let r = suite();
    assert_eq!(r.status, 0, "x86 guest suite failed:\n{}\n{}", r.stdout, r.stderr);
    let manifest = read_manifest(&corpus.join("manifest.tsv")).expect("manifest");
    let mut failures = Vec::new();
    let mut table = String::new();
    for name in STREAMS {
        let s = manifest.iter().find(|m| m.name == name).expect("stream in the manifest");
        if a.rc.get(name) != Some(&0) {
            failures.push(format!("{name}: arm64 client failed ({:?})\n{}", a.rc, a.log(name).unwrap_or_else(|e| e)));
            continue;
        }
        let pictures = a.pictures(name);
        let reference = r.read_out(&format!("{name}.gst.trace")).unwrap_or_else(|e| panic!("{e}"));
        let ours = a.trace(name).unwrap_or_else(|e| panic!("{e}"));
        let (rd, od) = (analyse_text(&reference), analyse_text(&ours));
        if rd.frames.len() != s.frames || od.frames.len() != s.frames || pictures != s.frames {
            failures.push(format!(
                "{name}: stream codes {}, reference {} frames, arm64 visl {} frames, driver {pictures} pictures",
                s.frames,
                rd.frames.len(),
                od.frames.len()
            ));
        }
        let key = |n: usize| rd.frames.get(n).and_then(|f| f.fields.get("frame.flags")).is_some_and(|v| v.contains("KEY_FRAME"));
        let report = compare_texts(&reference, &ours, &Options::default());
        let bad: Vec<&String> = report.lines.iter().filter(|l| l.starts_with("frame ") && allowed(l, "ffmpeg", &key).is_none()).collect();
        table.push_str(&format!("{name:<16} arm64 {}\n", report.summary()));
        if report.frames_total != s.frames || !bad.is_empty() {
            failures.push(format!("{name} arm64: {} of {} frames compared\n{bad:?}", report.frames_total, s.frames));
        }
    }
    eprintln!("--- arm64 driver's VP8 controls vs GStreamer's (x86 guest) ---\n{table}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

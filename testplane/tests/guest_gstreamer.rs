//! Guest integration test: boots the QEMU/TCG guest once (building it first
//! when not cached: needs root, debootstrap, qemu-system-x86 and network to
//! the Debian mirror) and records GStreamer v4l2slh264dec reference traces
//! through visl in both decode modes. Never skips: if the guest cannot be
//! built or booted this test fails with the reason.

use std::path::PathBuf;
use testplane::compare::{compare_texts, Options};
use testplane::guest::{read_manifest, repo_root, run_script};
use testplane::visl::{analyse_text, Mode};

/// Streams: A decoded twice, B once (B has 4 slices per picture).
const A: &str = "cabac_main_bpyr";
const B: &str = "slices4";
const SLICES_B: usize = 4;

fn job_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-gstreamer");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create job dir");
    d
}

#[test]
fn gstreamer_reference_traces_through_visl() {
    let job = job_dir();
    let script = repo_root().join("tests/guest/gst-traces.sh");
    let run = run_script(&job, &script, &[A, B, A], &[]).unwrap_or_else(|e| panic!("guest run failed: {e}"));
    eprintln!("{}", run.stdout);
    eprintln!("guest boot + run: {:.1}s", run.elapsed.as_secs_f64());
    if let Ok(t) = run.read_out("times.tsv") {
        eprintln!("per-run times (stream, mode, run, seconds, rc):\n{t}");
    }
    assert_eq!(run.status, 0, "guest script failed:\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let manifest = read_manifest(&job.join("corpus/manifest.tsv")).expect("manifest");
    let frames = |name: &str| manifest.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name} not in manifest")).frames;
    let read = |f: &str| run.read_out(f).unwrap_or_else(|e| panic!("{e}"));

    for (stream, slices) in [(A, 1usize), (B, SLICES_B)] {
        let n = frames(stream);
        for mode in ["frame", "slice"] {
            let name = format!("{stream}.{mode}.trace");
            let text = read(&name);
            let d = analyse_text(&text);
            assert!(d.warnings.iter().all(|w| !w.contains("lost")), "{name}: {:?}", d.warnings);
            assert_eq!(d.codec.map(|c| c.name), Some("h264"), "{name}");
            assert_eq!(d.frames.len(), n, "{name}: frames");
            let runs_per_frame = if mode == "frame" { 1 } else { slices };
            assert_eq!(d.decode_params_events, n * runs_per_frame, "{name}: decode_params events");
            assert!(d.frames.iter().all(|f| f.slices.len() == runs_per_frame), "{name}: runs per frame");
            if mode == "frame" {
                // one decode_params per frame, as the brief for the VA side requires
                assert_eq!(d.decode_params_events, n, "{name}: one decode_params per frame");
            }
            if slices > 1 {
                assert_eq!(d.mode, if mode == "slice" { Mode::Slice } else { Mode::Unknown }, "{name}");
            }
        }
    }

    // Same stream, same mode, two runs: all frames equal.
    for mode in ["frame", "slice"] {
        let a1 = read(&format!("{A}.{mode}.trace"));
        let a2 = read(&format!("{A}.{mode}.run2.trace"));
        let r = compare_texts(&a1, &a2, &Options::default());
        let n = frames(A);
        assert_eq!(r.summary(), format!("frames equal: {n}/{n}"), "{mode}:\n{}", r.text());
        assert!(r.all_equal());
        assert_eq!(r.slice_level_compared, mode == "slice");

        // The same trace with one field changed is caught.
        let changed = a2.replacen("\nframe_num 1\n", "\nframe_num 9\n", 1);
        assert_ne!(changed, a2, "no decode_params frame_num 1 in {A}.{mode}.run2.trace");
        let r = compare_texts(&a1, &changed, &Options::default());
        assert!(!r.all_equal());
        assert!(r.lines.iter().any(|l| l.ends_with("decode_params.frame_num: reference=1 ours=9")), "{}", r.text());
        assert_eq!(r.frames_equal, n - 1, "{}", r.text());
    }

    // Two different streams: not equal.
    let r = compare_texts(&read(&format!("{A}.frame.trace")), &read(&format!("{B}.frame.trace")), &Options::default());
    assert!(!r.all_equal(), "{}", r.text());

    // Frame-based vs slice-based GStreamer on the same stream: frame-level
    // controls and DPB agree; slice-level ones are not compared.
    for s in [A, B] {
        let r = compare_texts(&read(&format!("{s}.frame.trace")), &read(&format!("{s}.slice.trace")), &Options::default());
        assert!(!r.slice_level_compared);
        assert!(r.all_equal(), "{s} frame vs slice mode:\n{}", r.text());
    }

    // The binary agrees and exits non-zero on difference.
    let bin = env!("CARGO_BIN_EXE_trace-compare");
    let out = std::process::Command::new(bin).arg(run.out(&format!("{A}.frame.trace"))).arg(run.out(&format!("{A}.frame.run2.trace"))).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let out = std::process::Command::new(bin).arg(run.out(&format!("{A}.frame.trace"))).arg(run.out(&format!("{B}.frame.trace"))).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").starts_with("frames equal: "));
}

//! The real-kernel plane on arm64: Debian trixie's arm64 6.12 kernel under
//! qemu-system-aarch64 (TCG) with visl cross-built for it
//! (scripts/guest-arm64-build.sh), the driver cross-built for
//! aarch64-unknown-linux-gnu (scripts/aarch64-build.sh), libva/vainfo and
//! libavcodec's VA-API hwaccel (tests/clients/vaclient.c) from Debian's
//! arm64 packages. In one arm64 boot: vainfo, then every corpus stream in
//! visl's frame- and slice-based modes (scripts/guest-arm64-h264.sh).
//! Reference: GStreamer's v4l2slh264dec on visl in the x86 guest
//! (tests/guest/gst-traces.sh) — the controls of a stream do not depend on
//! the CPU, so the arm64 driver's controls must equal them frame by frame.
//! Never skips: a missing toolchain, guest or driver fails the test.
use std::path::PathBuf;
use std::process::Command;
use testplane::compare::{compare_texts, Options};
use testplane::guest::{read_manifest, repo_root, run_script, versions_in};
use testplane::visl::analyse_text;

/// Same as guest_va_h264.rs: fields VA-API does not carry.
const NOT_IN_VA: [&str; 4] =
    ["sps.level_idc", "sps.constraint_set_flags", "pps.num_ref_idx_l0_default_active_minus1", "pps.num_ref_idx_l1_default_active_minus1"];

#[test]
fn arm64_guest_h264_controls_equal_gstreamer() {
    let root = repo_root();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));

    // 1. The arm64 driver.
    let t0 = std::time::Instant::now();
    let b = Command::new(root.join("scripts/aarch64-build.sh"))
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", root.join("target/aarch64"))
        .output()
        .expect("run scripts/aarch64-build.sh");
    assert!(b.status.success(), "aarch64 build failed:\n{}", String::from_utf8_lossy(&b.stderr));
    let so = root.join("target/aarch64/aarch64-unknown-linux-gnu/release/libhantro_drv_video.so");
    eprintln!("aarch64 build: {:.0}s", t0.elapsed().as_secs_f64());

    // 2. arm64 guest: vainfo + every stream through our driver.
    let job = tmp.join("guest-arm64");
    let _ = std::fs::remove_dir_all(&job);
    std::fs::create_dir_all(&job).unwrap();
    let t0 = std::time::Instant::now();
    let g = Command::new("bash")
        .arg(root.join("scripts/guest-run.sh"))
        .arg("--arch")
        .arg("arm64")
        .arg("--job")
        .arg(&job)
        .arg(root.join("scripts/guest-arm64-h264.sh"))
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

    // 3. Reference traces: GStreamer on visl in the x86 guest.
    let manifest = read_manifest(&job.join("corpus/manifest.tsv")).expect("manifest");
    let names: Vec<&str> = manifest.iter().map(|s| s.name.as_str()).collect();
    let rjob = tmp.join("guest-arm64-gstref");
    let _ = std::fs::remove_dir_all(&rjob);
    std::fs::create_dir_all(&rjob).unwrap();
    let r = run_script(&rjob, &root.join("tests/guest/gst-traces.sh"), &names, &[]).unwrap_or_else(|e| panic!("x86 guest: {e}"));
    assert_eq!(r.status, 0, "GStreamer reference run failed:\n{}\n{}", r.stdout, r.stderr);

    // 4. Compare, stream by stream and mode by mode.
    let opts = Options { ignore: NOT_IN_VA.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    let mut failures = Vec::new();
    let mut table = String::new();
    for s in &manifest {
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
            let reference = r.read_out(&format!("{}.{mode}.trace", s.name)).unwrap_or_else(|e| panic!("{e}"));
            let ours = read(job.join(format!("out/{}.{mode}.va.trace", s.name)));
            let (rd, od) = (analyse_text(&reference), analyse_text(&ours));
            assert_eq!(rd.frames.len(), s.frames, "{} {mode}: reference frames", s.name);
            if od.decode_params_events != rd.decode_params_events || od.frames.len() != s.frames {
                failures.push(format!(
                    "{} {mode}: {} frames / {} decode_params, reference {} / {}",
                    s.name,
                    od.frames.len(),
                    od.decode_params_events,
                    rd.frames.len(),
                    rd.decode_params_events
                ));
            }
            let report = compare_texts(&reference, &ours, &opts);
            table.push_str(&format!("{:<18} {mode:<5} {:>6}s {}\n", s.name, f[3], report.summary()));
            if !report.all_equal() || report.frames_total != s.frames {
                failures.push(format!("{} {mode}:\n{}", s.name, report.text()));
            }
            if mode == "slice" {
                assert!(report.slice_level_compared, "{}: slice-level controls were not compared", s.name);
            }
        }
    }
    eprintln!("--- arm64 driver's controls vs GStreamer's (x86 guest) on visl ---\n{table}");
    assert!(failures.is_empty(), "{} mismatches:\n{}\n{versions}", failures.len(), failures.join("\n"));
}

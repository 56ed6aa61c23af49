//! Memory errors at the C boundary (issue 22): valgrind's memcheck over
//! the hostile-input table (tests/hostile.rs), the refused-render checks
//! (tests/buffers.rs), the lifecycle test (tests/lifecycle.rs: its
//! object/decode/export cycles, fewer of them, and the bit-exact replay)
//! and one decode per codec (H.264, MPEG-2, VP8) through a libavcodec
//! client (tests/clients/vaclient.c, libva's DRM display) on the simulator.
//! Each run must report 0 errors and 0 bytes definitely lost; memcheck sees
//! the driver, the simulator (preloaded into the same process), libva and
//! FFmpeg alike. Suppressions: tests/valgrind.supp, if it exists (each entry
//! names the third-party code and why); none is needed today.
//!
//! The test binaries of hostile.rs, buffers.rs and lifecycle.rs are run
//! under valgrind as they are (cargo builds every test binary of the
//! package before running any); the newest one of each name is taken, so
//! run alone it needs them built too:
//! `cargo test --release --test memcheck --test hostile --test buffers --test lifecycle -- memcheck`.
//! About a minute in all.
mod common;
use common::{corpus, diff_frames, reference_nv12, sim_so, va_env, vaclient};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// valgrind on PATH (scripts/setup-host.sh installs it); missing is a failure.
fn valgrind() -> PathBuf {
    let o = Command::new("sh").args(["-c", "command -v valgrind"]).output().expect("sh");
    let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(o.status.success() && !p.is_empty(), "valgrind not found (scripts/setup-host.sh installs it)");
    PathBuf::from(p)
}

/// The newest test binary `name-<hash>` next to this one.
fn sibling_test(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let prefix = format!("{name}-");
    let found = std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.strip_prefix(&prefix).is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    found.unwrap_or_else(|| panic!("no test binary {name}-<hash> in {} (cargo test builds it)", deps.display()))
}

/// What one run under memcheck gave.
struct Run {
    status: std::process::ExitStatus,
    out: String,
    err: String,
    /// valgrind's own log
    report: String,
}

impl Run {
    fn errors_zero(&self) -> bool {
        self.report.lines().any(|l| l.contains("ERROR SUMMARY: 0 errors"))
    }

    fn nothing_definitely_lost(&self) -> bool {
        self.report.contains("All heap blocks were freed") || self.report.lines().any(|l| l.contains("definitely lost: 0 bytes in 0 blocks"))
    }
}

fn run_memcheck(label: &str, program: &Path, args: &[&str], env: &[(String, String)]) -> Run {
    let log = std::env::temp_dir().join(format!("hantro-memcheck-{}-{label}.log", std::process::id()));
    let supp = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valgrind.supp");
    let mut c = Command::new(valgrind());
    c.args(["--error-exitcode=99", "--leak-check=full", "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite", "--num-callers=40"]);
    c.arg(format!("--log-file={}", log.display()));
    if supp.exists() {
        c.arg(format!("--suppressions={}", supp.display()));
    }
    c.arg(program).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("spawn valgrind");
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    Run { status: o.status, out: String::from_utf8_lossy(&o.stdout).into_owned(), err: String::from_utf8_lossy(&o.stderr).into_owned(), report }
}

/// Runs `program args` under memcheck with `env`; asserts it exited 0 with
/// 0 errors and nothing definitely lost; returns (stdout, stderr).
fn memcheck(label: &str, program: &Path, args: &[&str], env: &[(String, String)]) -> (String, String) {
    let t = Instant::now();
    let r = run_memcheck(label, program, args, env);
    let (status, out, err, report) = (r.status, &r.out, &r.err, &r.report);
    assert!(r.errors_zero(), "{label}: memcheck found errors (exit {status:?}):\n{report}\n--- stdout\n{out}\n--- stderr\n{err}");
    assert!(r.nothing_definitely_lost(), "{label}: memory definitely lost:\n{report}");
    assert!(status.success(), "{label}: exit {status:?} under valgrind:\n--- stdout\n{out}\n--- stderr\n{err}\n--- valgrind\n{report}");
    let tail = |l: &str| l.split("== ").last().unwrap_or("").trim().to_string();
    let summary = report.lines().find(|l| l.contains("ERROR SUMMARY:")).map(tail).unwrap_or_default();
    let lost = report.lines().find(|l| l.contains("definitely lost:")).map_or("no leaks".to_string(), tail);
    eprintln!("{label}: {summary} ({lost}) in {:.1} s", t.elapsed().as_secs_f64());
    (r.out, r.err)
}

/// The harness fails where it must: a C program with a use after free and
/// a leak gives errors and a definite loss (so 0 elsewhere means something).
#[test]
fn memcheck_catches_a_use_after_free_and_a_leak() {
    let dir = std::env::temp_dir().join(format!("hantro-memcheck-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("bad.c");
    let c = "#include <stdio.h>\n#include <stdlib.h>\nint main(void) {\n    char *p = malloc(16);\n    free(p);\n    printf(\"%d\\n\", p[3]);\n    char *q = malloc(32);\n    q[0] = 1;\n    q = NULL;\n    return q != NULL;\n}\n";
    std::fs::write(&src, c).unwrap();
    let exe = dir.join("bad");
    let o = Command::new("gcc").args(["-O0", "-g", "-o"]).arg(&exe).arg(&src).output().expect("gcc");
    assert!(o.status.success(), "gcc: {}", String::from_utf8_lossy(&o.stderr));
    let r = run_memcheck("bad", &exe, &[], &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!r.errors_zero() && r.report.contains("Invalid read of size 1"), "use after free not reported:\n{}", r.report);
    assert!(!r.nothing_definitely_lost() && r.report.contains("32 bytes in 1 blocks are definitely lost"), "leak not reported:\n{}", r.report);
    assert_eq!(r.status.code(), Some(99), "valgrind's error exit code");
}

/// Environment of a child test of another test binary: the simulator
/// preloaded, as common::run_child sets it.
fn child_env(name: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut e = vec![
        ("HANTRO_TEST_CHILD".to_string(), name.to_string()),
        ("LD_PRELOAD".to_string(), sim_so().display().to_string()),
        ("HANTRO_SIM_QUIET".to_string(), "1".to_string()),
    ];
    e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    e
}

fn child_args(name: &str) -> [&str; 4] {
    ["--exact", name, "--nocapture", "--test-threads=1"]
}

#[test]
fn memcheck_hostile_table_and_refused_renders() {
    let (out, _) =
        memcheck("hostile", &sibling_test("hostile"), &child_args("child_hostile_vtable"), &child_env("child_hostile_vtable", &[("HANTRO_LOG", "off")]));
    assert!(out.contains("hostile: all"), "{out}");

    let clip = common::x264_clip(320, 240, 5, 5);
    let dir = common::record_first_picture(&clip);
    let reference = dir.join("reference0.nv12");
    std::fs::write(&reference, &reference_nv12(&clip)[..common::nv12_frame_size(320, 240)]).unwrap();
    let name = "child_refused_renders_leave_the_picture_usable";
    let (out, _) = memcheck(
        "buffers",
        &sibling_test("buffers"),
        &child_args(name),
        &child_env(name, &[("HANTRO_LOG", "error"), ("HANTRO_TEST_PICTURE", dir.to_str().unwrap()), ("HANTRO_TEST_REFERENCE", reference.to_str().unwrap())]),
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.contains("refused renders: ok"), "{out}");
}

#[test]
fn memcheck_lifecycle() {
    // the clip and recorded picture of tests/lifecycle.rs
    let clip = common::x264_clip(320, 240, 15, 5);
    let dir = common::record_first_picture(&clip);
    std::fs::write(dir.join("reference0.nv12"), &reference_nv12(&clip)[..common::nv12_frame_size(320, 240)]).unwrap();
    let bin = sibling_test("lifecycle");
    let picture = dir.to_str().unwrap();
    // 300 cycles (after 60 of warm-up) instead of 10,000: each cycle does
    // every kind of object, a decode, both exports and both image paths,
    // in rotating orders (4 variants), so 300 repeat each one 75 times.
    let (out, _) = memcheck(
        "lifecycle",
        &bin,
        &child_args("child_lifecycle"),
        &child_env(
            "child_lifecycle",
            &[
                ("HANTRO_LOG", "error"),
                ("HANTRO_SIM_SKIP_PIXELS", "1"),
                ("HANTRO_TEST_PICTURE", picture),
                ("HANTRO_TEST_LIFECYCLE_CYCLES", "300"),
                ("HANTRO_TEST_UNDER_VALGRIND", "1"),
            ],
        ),
    );
    assert!(out.contains("lifecycle: ok") && out.contains("300 cycles"), "{out}");
    let name = "child_replayed_picture_is_bit_exact";
    let (out, _) = memcheck("lifecycle-replay", &bin, &child_args(name), &child_env(name, &[("HANTRO_LOG", "error"), ("HANTRO_TEST_PICTURE", picture)]));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.contains("replay: 8 pictures bit-exact"), "{out}");
}

/// A corpus of scripts/corpus-<codec>.sh in the cache, generated if needed.
fn codec_corpus(codec: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let cache = std::env::var_os("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|| home.join(".cache/hantro"));
    let dir = cache.join(format!("corpus-{codec}"));
    std::fs::create_dir_all(&cache).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scripts/corpus-{codec}.sh"));
    let o = Command::new("flock").arg(cache.join(format!("corpus-{codec}.lock"))).arg("bash").arg(&script).arg(&dir).output().expect("corpus script");
    assert!(o.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&o.stderr));
    dir
}

#[test]
fn memcheck_one_decode_per_codec() {
    let streams = [
        ("h264-rkvdec", "rkvdec", corpus().join("cabac_main_bpyr.h264"), 320, 240),
        ("mpeg2-hantro-g1", "hantro-g1", codec_corpus("mpeg2").join("main_open_gop.m2v"), 720, 576),
        ("vp8-hantro-g1", "hantro-g1", codec_corpus("vp8").join("key_inter.ivf"), 320, 240),
    ];
    let client = vaclient();
    for (label, personality, stream, w, h) in streams {
        assert!(stream.exists(), "{} missing", stream.display());
        let out_dir = std::env::temp_dir().join(format!("hantro-memcheck-{}-{label}", std::process::id()));
        std::fs::create_dir_all(&out_dir).unwrap();
        let mut env: Vec<(String, String)> = va_env();
        env.push(("HANTRO_SIM_QUIET".into(), "1".into()));
        env.push(("HANTRO_SIM_PERSONALITY".into(), personality.into()));
        env.push(("HANTRO_LOG".into(), "error".into()));
        let (out, err) = memcheck(label, &client, &[out_dir.to_str().unwrap(), stream.to_str().unwrap()], &env);
        assert!(!out.lines().any(|l| l.starts_with("decode-error") || l.contains("transfer-error")), "{label}: decode errors:\n{out}\n{err}");
        let got = std::fs::read(out_dir.join("0.nv12")).unwrap();
        let want = reference_nv12(&stream);
        let bad = diff_frames(&got, &want, w, h).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(bad.is_empty(), "{label}: frames {bad:?} differ from software decoding");
        assert!(!want.is_empty(), "{label}: no reference frames");
        let _ = std::fs::remove_dir_all(&out_dir);
    }
}

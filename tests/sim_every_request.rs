//! The simulator checks the frame-level controls (SPS, PPS, scaling matrix,
//! decode params) of every request, not only of a picture's first one: on
//! the slice-based cedrus personality each slice is its own request, and a
//! wrong control in request 2..N of a picture must be flagged even though
//! the picture decodes right with the first request's controls. A driver
//! built with `test-hooks` corrupts the second request of every picture
//! (`HANTRO_TEST_CORRUPT=slice2_*`, src/driver/hooks.rs) of the 4-slice
//! corpus stream. Needs target/hooks/release/libhantro_drv_video.so and
//! target/release/libhantro_sim.so (scripts/test-all.sh builds them); fails,
//! never skips, without them.
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{built, md5_lines, repo, software_md5};

fn corpus_file(name: &str) -> PathBuf {
    let dir =
        std::env::var("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/hantro")).join("corpus");
    let st = Command::new("bash").arg(repo().join("scripts/corpus.sh")).arg(&dir).status().expect("run scripts/corpus.sh");
    assert!(st.success(), "corpus generation failed");
    let f = dir.join(format!("{name}.h264"));
    assert!(f.exists(), "{} not in the corpus", f.display());
    f
}

struct Run {
    ok: bool,
    md5: Vec<String>,
    findings: Vec<String>,
    stderr: String,
}

/// ffmpeg -hwaccel vaapi through the hooks driver on simulated cedrus.
fn decode(file: &Path, corrupt: Option<&str>, tag: &str) -> Run {
    let so = built("HANTRO_DRIVER_HOOKS_SO", "target/hooks/release/libhantro_drv_video.so");
    let sim = built("HANTRO_SIM_SO", "target/release/libhantro_sim.so");
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let drivers = tmp.join("sim-every-request-hooks");
    std::fs::create_dir_all(&drivers).unwrap();
    std::fs::copy(so, drivers.join("hantro_drv_video.so")).unwrap();
    let log = tmp.join(format!("sim-every-request-{tag}.log"));
    let _ = std::fs::remove_file(&log);
    let mut c = Command::new("ffmpeg");
    c.env("LD_PRELOAD", &sim)
        .env("LIBVA_DRIVER_NAME", "hantro")
        .env("LIBVA_DRIVERS_PATH", &drivers)
        .env("HANTRO_SIM_PERSONALITY", "cedrus")
        .env("HANTRO_SIM_LOG", &log)
        .env("HANTRO_SIM_QUIET", "1")
        .env("HANTRO_LOG", "error")
        .env_remove("HANTRO_TEST_CORRUPT");
    if let Some(v) = corrupt {
        c.env("HANTRO_TEST_CORRUPT", v);
    }
    let o = c
        .args(["-v", "error", "-hwaccel", "vaapi", "-hwaccel_device", "/dev/dri/renderD128", "-hwaccel_output_format", "vaapi", "-i"])
        .arg(file)
        .args(["-vf", "hwdownload,format=nv12", "-pix_fmt", "yuv420p", "-f", "framemd5", "-"])
        .output()
        .unwrap();
    let findings = std::fs::read_to_string(&log).unwrap_or_default().lines().filter(|l| l.starts_with("job ")).map(String::from).collect();
    Run { ok: o.status.success(), md5: md5_lines(&String::from_utf8_lossy(&o.stdout)), findings, stderr: String::from_utf8_lossy(&o.stderr).into_owned() }
}

#[test]
fn wrong_frame_level_control_in_second_slice_request_is_caught() {
    let f = corpus_file("slices4");
    // Same hooks build, no corruption: bit-exact and clean, so whatever the
    // corrupted runs report comes from the corruption.
    let clean = decode(&f, None, "clean");
    let reference = software_md5(&f);
    assert!(
        clean.ok && clean.md5 == reference && clean.findings.is_empty(),
        "hooks build without corruption must be clean on cedrus: {:?}\n{}",
        clean.findings,
        clean.stderr
    );
    assert_eq!(reference.len(), 12);

    // PPS wrong only in the second slice's request: the picture still
    // decodes right (the simulator rebuilds the PPS of the first request),
    // so only the every-request check can see it.
    let pps = decode(&f, Some("slice2_pps"), "pps");
    assert!(!pps.findings.is_empty(), "a wrong PPS in request 2 of each picture was not flagged");
    assert!(
        pps.findings.iter().all(|l| l.contains("pps: request 2 of the picture differs from its first request") && l.contains("pic_init_qp_minus26")),
        "checker must name the PPS of request 2: {:?}",
        pps.findings
    );
    // (ffmpeg gives up after a few failed pictures: at least one finding,
    // and no other)
    assert!(!pps.ok, "the decode must fail (CAPTURE buffers flagged ERROR)");

    // decode_params.frame_num wrong only in the second request: against the
    // first request and against the slice header of that request.
    let dp = decode(&f, Some("slice2_frame_num"), "frame_num");
    let (vs_first, vs_header): (Vec<&String>, Vec<&String>) = dp.findings.iter().partition(|l| l.contains("request 2 of the picture"));
    assert!(
        !vs_first.is_empty() && vs_first.iter().all(|l| l.contains("decode_params.frame_num: request 2 of the picture differs from its first request")),
        "checker must compare request 2 with the picture's first request: {:?}",
        dp.findings
    );
    assert!(
        vs_header.len() == vs_first.len() && vs_header.iter().all(|l| l.contains("decode_params.frame_num: expected ")),
        "checker must compare request 2 with its own slice header: {:?}",
        dp.findings
    );
    assert!(!dp.ok, "the decode must fail (CAPTURE buffers flagged ERROR)");
}

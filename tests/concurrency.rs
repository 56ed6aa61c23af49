//! Concurrency: 4 decoders (4 VA contexts on one VADisplay) decoding
//! different corpus streams at once from 8 threads (per stream a decode
//! thread and a read-back thread, see tests/clients/vaclient.c), on the
//! simulator; every frame must be bit-exact with ffmpeg's software decode.
mod common;
use common::{corpus, diff_frames, reference_nv12, va_env, vaclient};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the client with a deadline (a hang is a failure, not a stuck CI).
pub fn run_client(args: &[&str], streams: &[PathBuf], out: &Path, extra_env: &[(&str, &str)], deadline: Duration) -> (bool, String, String) {
    let mut c = Command::new(vaclient());
    c.args(args).arg(out).args(streams).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in va_env() {
        c.env(k, v);
    }
    c.env("HANTRO_SIM_QUIET", "1");
    for (k, v) in extra_env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("spawn vaclient");
    let t = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if t.elapsed() > deadline {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!("vaclient hung for {deadline:?}:\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().expect("output");
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Decodes `names` at once, checks every frame; returns the client's stdout.
fn decode_at_once(names: &[&str], personality: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = corpus();
    let manifest = common::manifest();
    let streams: Vec<PathBuf> = names.iter().map(|n| dir.join(format!("{n}.h264"))).collect();
    let out = std::env::temp_dir().join(format!("hantro-concurrency-{}-{personality}-{}", std::process::id(), names.join("-")));
    std::fs::create_dir_all(&out).unwrap();
    let mut e = vec![("HANTRO_SIM_PERSONALITY", personality)];
    e.extend_from_slice(env);
    let t = Instant::now();
    let (ok, stdout, stderr) = run_client(args, &streams, &out, &e, Duration::from_secs(120));
    let took = t.elapsed();
    assert!(ok, "vaclient failed:\n{stdout}\n{stderr}");
    assert!(!stdout.lines().any(|l| l.starts_with("decode-error") || l.contains("transfer-error")), "decode errors:\n{stdout}\n{stderr}");
    let complaints: Vec<&str> = stderr.lines().filter(|l| l.starts_with("hantro-sim: job")).collect();
    assert!(complaints.is_empty(), "simulator flagged controls:\n{}", complaints.join("\n"));
    let mut total = 0;
    for (i, n) in names.iter().enumerate() {
        let (_, frames, w, h) = manifest.iter().find(|m| m.0 == *n).cloned().unwrap_or_else(|| panic!("{n} not in the manifest"));
        let got = std::fs::read(out.join(format!("{i}.nv12"))).unwrap();
        let want = reference_nv12(&streams[i]);
        let bad = diff_frames(&got, &want, w, h).unwrap_or_else(|e| panic!("{personality} {n}: {e}"));
        assert!(bad.is_empty(), "{personality} {n}: frames {bad:?} differ from software decoding");
        assert_eq!(want.len() / common::nv12_frame_size(w, h), frames, "{n}: reference frame count");
        total += frames;
    }
    let fds = stdout.lines().find(|l| l.starts_with("fds ")).unwrap_or("");
    eprintln!("{personality}: {} streams, {total} frames bit-exact in {:.2} s, {fds}", names.len(), took.as_secs_f64());
    let _ = std::fs::remove_dir_all(&out);
    stdout
}

/// Different sizes: 4 sessions, B-pyramid, 16 refs, cropping, 1080p.
const MIXED: &[&str] = &["cabac_main_bpyr", "ref16", "odd_size", "full_hd"];

#[test]
fn four_streams_eight_threads_hantro_g1() {
    decode_at_once(MIXED, "hantro-g1", &[], &[]);
}

#[test]
fn four_streams_eight_threads_cedrus() {
    // slice-based requests, tiled CAPTURE (vaGetImage path), HOLD_CAPTURE_BUF
    decode_at_once(MIXED, "cedrus", &[], &[]);
}

#[test]
fn four_streams_eight_threads_rkvdec_slow_hardware() {
    // 3 ms per request on the simulated hardware: many requests in flight
    // and completions racing the read-back threads.
    decode_at_once(MIXED, "rkvdec", &[], &[("HANTRO_SIM_DECODE_US", "3000")]);
}

/// Four decoders of the same size started 40 ms apart (each with
/// 5 ms/frame simulated hardware time, so they overlap): each must get
/// its own session.
#[test]
fn four_same_size_streams_overlapping() {
    decode_at_once(&["cavlc_baseline", "weightp_explicit", "idr_mid", "slices4"], "hantro-g1", &["--stagger-ms", "40"], &[("HANTRO_SIM_DECODE_US", "5000")]);
}

/// The stress test of issue 22: four decoders of the same size set up at
/// the same moment (no stagger: before the fix two of them could be put in
/// one session, and one failed), while 8 more threads create and destroy
/// configs (every advertised profile), surfaces and contexts on the same
/// VADisplay in the three orders clients use (vaclient --churn). Every
/// frame bit-exact, every churn call successful and its surfaces in its
/// context's session (vaBeginPicture takes them).
#[test]
fn churn_eight_threads_while_four_same_size_decoders_start_at_once() {
    for personality in ["hantro-g1", "rkvdec"] {
        let out =
            decode_at_once(&["cavlc_baseline", "weightp_explicit", "idr_mid", "slices4"], personality, &["--churn", "8"], &[("HANTRO_SIM_DECODE_US", "3000")]);
        let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("churn-error")).collect();
        assert!(errors.is_empty(), "{personality}: churn calls failed:\n{}", errors.join("\n"));
        let rounds: Vec<(u32, u32)> = out
            .lines()
            .filter_map(|l| l.strip_prefix("churn "))
            .map(|l| {
                let field = |k: &str| l.split_whitespace().find_map(|w| w.strip_prefix(k)).and_then(|v| v.parse().ok()).expect("churn line");
                (field("rounds="), field("errors="))
            })
            .collect();
        assert_eq!(rounds.len(), 8, "{personality}: 8 churn threads report:\n{out}");
        assert!(rounds.iter().all(|&(r, e)| r >= 20 && e == 0), "{personality}: churn {rounds:?}");
        eprintln!("{personality}: churn rounds per thread {:?}", rounds.iter().map(|r| r.0).collect::<Vec<_>>());
    }
}

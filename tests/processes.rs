//! Several processes at once (issue 22), on the simulator: two and four
//! VA client processes (tests/clients/vaclient.c: libavcodec + libva's DRM
//! display, one decoder each) decoding different streams, of three codecs,
//! at the same time, each bit-exact with libavcodec's software decode; and
//! a process killed (SIGKILL) in the middle of a decode while another one
//! decodes, after which that one is still bit-exact and a new process
//! decodes bit-exact too.
//!
//! What this proves, and what not: the simulator (simulator/src/preload.rs)
//! is preloaded into each process and emulates the device inside it (its
//! state is per process, like the open file handles of a real m2m device,
//! but nothing is shared between the processes' devices). So this checks
//! the driver's side: it keeps no state between processes (no shared
//! memory, files or locks that a second process, or one dying mid-decode,
//! could disturb), and a process's death mid-decode leaves nothing behind
//! for the next. Whether the kernel's m2m/request code serves several
//! processes on one device node, and cleans up after a killed one, is the
//! kernel's part, which only the real-kernel plane (visl) could show.
mod common;
use common::{corpus, diff_frames, reference_nv12, va_env, vaclient};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A stream and its size.
struct Stream {
    path: PathBuf,
    width: u32,
    height: u32,
}

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

fn streams() -> Vec<Stream> {
    let h264 = corpus();
    vec![
        Stream { path: h264.join("cabac_main_bpyr.h264"), width: 320, height: 240 },
        Stream { path: codec_corpus("mpeg2").join("main_closed_gop.m2v"), width: 720, height: 576 },
        Stream { path: codec_corpus("vp8").join("altref_hidden.ivf"), width: 320, height: 240 },
        Stream { path: h264.join("weightp_explicit.h264"), width: 320, height: 240 },
    ]
}

fn out_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hantro-processes-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One vaclient process decoding `stream` into `out` (slowed hardware, so
/// the processes overlap).
fn spawn(stream: &Path, out: &Path, extra_args: &[&str]) -> Child {
    let mut c = Command::new(vaclient());
    c.args(extra_args).arg(out).arg(stream).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in va_env() {
        c.env(k, v);
    }
    c.env("HANTRO_SIM_QUIET", "1").env("HANTRO_SIM_PERSONALITY", "hantro-g1").env("HANTRO_SIM_DECODE_US", "3000").env("HANTRO_LOG", "error");
    c.spawn().expect("spawn vaclient")
}

/// Waits for `child` (60 s at most) and checks its output is `s` decoded
/// bit-exact, `loops` times over.
fn check(label: &str, child: Child, s: &Stream, out: &Path, loops: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut child = child;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{label}: vaclient hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{label}: vaclient failed:\n{stdout}\n{stderr}");
    assert!(!stdout.lines().any(|l| l.starts_with("decode-error") || l.contains("transfer-error")), "{label}: decode errors:\n{stdout}\n{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("stream 0 frames=") && !l.starts_with("stream 0 frames=0 ")), "{label}: no frames:\n{stdout}");
    let got = std::fs::read(out.join("0.nv12")).unwrap();
    let want = reference_nv12(&s.path).repeat(loops);
    assert!(!want.is_empty(), "{label}: empty reference");
    let bad = diff_frames(&got, &want, s.width, s.height).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert!(bad.is_empty(), "{label}: frames {bad:?} differ from software decoding");
    eprintln!("{label}: {} frames bit-exact", want.len() / common::nv12_frame_size(s.width, s.height));
}

#[test]
fn two_and_four_processes_decode_at_once() {
    let all = streams();
    for n in [2usize, 4] {
        let t = Instant::now();
        let runs: Vec<(Child, &Stream, PathBuf)> = all[..n]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let out = out_dir(&format!("{n}-{i}"));
                (spawn(&s.path, &out, &[]), s, out)
            })
            .collect();
        for (i, (child, s, out)) in runs.into_iter().enumerate() {
            check(&format!("{n} processes, #{i} {}", s.path.file_name().unwrap().to_string_lossy()), child, s, &out, 1);
            let _ = std::fs::remove_dir_all(&out);
        }
        eprintln!("{n} processes at once: {:.1} s", t.elapsed().as_secs_f64());
    }
}

#[test]
fn process_killed_mid_decode_leaves_the_device_usable() {
    let all = streams();
    let (victim_stream, other) = (&all[0], &all[1]);
    // the victim decodes its clip 50 times over; killed after 20 frames
    let victim_out = out_dir("victim");
    let mut victim = spawn(&victim_stream.path, &victim_out, &["--loop", "50", "--no-output", "--stats-every", "5"]);
    let other_out = out_dir("survivor");
    let mut survivor = spawn(&other.path, &other_out, &["--loop", "4"]);
    let mut lines = BufReader::new(victim.stdout.take().unwrap()).lines();
    let mut frames = 0;
    while frames < 20 {
        match lines.next() {
            // stats frames=<n> ...: every 5 frames read back
            Some(Ok(l)) if l.starts_with("stats frames=") => frames += 5,
            Some(Ok(_)) => {}
            _ => panic!("the victim ended before 20 frames"),
        }
    }
    assert!(survivor.try_wait().expect("wait").is_none(), "the other process finished before the kill: make it longer");
    victim.kill().expect("SIGKILL"); // std's kill is SIGKILL
    let st = victim.wait().expect("wait");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGKILL), "the victim was killed, not finished: {st:?}");
    eprintln!("victim killed after {frames} frames, mid-decode");
    check("survivor of the kill", survivor, other, &other_out, 4);
    let next_out = out_dir("next");
    check("next process on the victim's stream", spawn(&victim_stream.path, &next_out, &[]), victim_stream, &next_out, 1);
    for d in [victim_out, other_out, next_out] {
        let _ = std::fs::remove_dir_all(d);
    }
}

//! Helpers for integration tests that run commands in the QEMU guest through
//! `scripts/guest-run.sh`. Nothing here skips: failures to build or boot the
//! guest are returned as errors carrying the reason, and tests fail on them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("testplane lives inside the repository").to_path_buf()
}

/// Result of one guest boot.
#[derive(Debug)]
pub struct GuestRun {
    pub job: PathBuf,
    /// Exit status of the guest command (guest-run.sh's status).
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl GuestRun {
    pub fn out(&self, name: &str) -> PathBuf {
        self.job.join("out").join(name)
    }
    pub fn read_out(&self, name: &str) -> Result<String, String> {
        std::fs::read_to_string(self.out(name)).map_err(|e| format!("{}: {e}", self.out(name).display()))
    }
    /// The guest's `out/versions.txt` ("package version" lines of the clients
    /// and libraries it ran, recorded when the guest was built), for failure
    /// messages: a check that breaks after a rebuild names what changed.
    pub fn versions(&self) -> String {
        versions_in(&self.job)
    }
}

/// `JOB/out/versions.txt` as text, or a line saying it is missing.
pub fn versions_in(job: &Path) -> String {
    let p = job.join("out/versions.txt");
    match std::fs::read_to_string(&p) {
        Ok(t) if !t.trim().is_empty() => format!("guest versions ({}):\n{t}", p.display()),
        Ok(_) => format!("guest versions: {} is empty\n", p.display()),
        Err(e) => format!("guest versions: {}: {e}\n", p.display()),
    }
}

/// Run `scripts/guest-run.sh --job JOB SCRIPT ARGS...`. `env` is passed to
/// the host script (and names listed in GUEST_ENV reach the guest).
pub fn run_script(job: &Path, script: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<GuestRun, String> {
    let root = repo_root();
    let runner = root.join("scripts/guest-run.sh");
    let t0 = Instant::now();
    let mut cmd = Command::new("bash");
    cmd.arg(&runner).arg("--job").arg(job).arg(script).args(args).current_dir(&root);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| format!("cannot run {}: {e}", runner.display()))?;
    let run = GuestRun {
        job: job.to_path_buf(),
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: t0.elapsed(),
    };
    // every guest test prints what it ran against
    eprint!("{}", run.versions());
    match run.status {
        124 => Err(format!("guest timed out:\n{}", run.stderr)),
        125 => Err(format!("guest could not be built/booted or gave no result:\n{}", run.stderr)),
        _ => Ok(run),
    }
}

/// One line of the corpus manifest (corpus/manifest.tsv).
#[derive(Debug, Clone)]
pub struct Stream {
    pub name: String,
    pub frames: usize,
    pub width: u32,
    pub height: u32,
    pub what: String,
}

pub fn read_manifest(path: &Path) -> Result<Vec<Stream>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            if c.len() < 5 {
                return Err(format!("bad manifest line: {l}"));
            }
            Ok(Stream {
                name: c[0].to_string(),
                frames: c[1].parse().map_err(|_| format!("bad frame count: {l}"))?,
                width: c[2].parse().map_err(|_| format!("bad width: {l}"))?,
                height: c[3].parse().map_err(|_| format!("bad height: {l}"))?,
                what: c[4].to_string(),
            })
        })
        .collect()
}

/// The driver's per-picture log lines (HANTRO_LOG with
/// `hantro_drv_video::decoded=info`, src/v4l2/session.rs `reap`):
/// `pid <pid>: <node> decoded a picture into CAPTURE buffer <i> (timestamp <t> ns)`.
/// Returns the number of such lines per pid.
pub fn decoded_by_pid(log: &str) -> std::collections::BTreeMap<u32, usize> {
    let mut m = std::collections::BTreeMap::new();
    for l in log.lines() {
        if !l.contains(" decoded a picture into CAPTURE buffer ") {
            continue;
        }
        let Some(rest) = l.split("pid ").nth(1) else { continue };
        let Some(pid) = rest.split(':').next().and_then(|p| p.trim().parse::<u32>().ok()) else { continue };
        *m.entry(pid).or_insert(0) += 1;
    }
    m
}

/// Lines in which mpv reports falling back from hardware decoding, a decode
/// error, or (in a `--log-file`, whose lines carry the level) any error or
/// fatal message. Empty: none.
pub fn mpv_bad_lines(log: &str) -> Vec<String> {
    const FALLBACK: &[&str] = &[
        "Falling back to software",
        "Attempting next decoding method",
        "Using software decoding",
        "Error while decoding frame",
        "Failed to end picture",
        "Failed to issue",
        "Failed to sync",
        "Failed to create decode",
        "hwaccel initialisation returned error",
        "Failed setup for format",
        "Could not create device",
    ];
    log.lines().filter(|l| FALLBACK.iter().any(|p| l.contains(p)) || l.contains("][e][") || l.contains("][f][")).map(String::from).collect()
}

/// mpv decoding a stream of `frames` frames through the driver, judged by
/// what it did: `log` is its stdout+stderr (with the driver's per-picture
/// lines and the `mpv rc=N` line the suite appends), `mpvlog` its
/// `--log-file`, `trace` visl's trace of the run (frame-based mode). Every
/// frame must have been decoded by the device through our driver — one pid
/// with `frames` per-picture lines, and `frames` requests in the trace —
/// with no fallback, decode error or error-level line, and exit status 0.
/// Returns (summary, reasons it failed; empty: passed).
pub fn mpv_decoded_every_frame(log: &str, mpvlog: &str, trace: &str, frames: usize) -> (String, Vec<String>) {
    let decoded = decoded_by_pid(log);
    let t = crate::visl::analyse_text(trace);
    let mut bad = mpv_bad_lines(log);
    bad.extend(mpv_bad_lines(mpvlog));
    let summary = format!(
        "{frames} frames; driver decoded {decoded:?} (pid: pictures); visl: {} frames / {} requests; mpv says: {}",
        t.frames.len(),
        t.decode_params_events,
        log.lines().find(|l| l.contains("Using hardware decoding")).unwrap_or("(no 'Using hardware decoding' line)")
    );
    let mut why = Vec::new();
    if !log.contains("mpv rc=0") {
        why.push("mpv did not exit 0".to_string());
    }
    if !bad.is_empty() {
        why.push(format!("fallback/error lines:\n  {}", bad.join("\n  ")));
    }
    if decoded.len() != 1 || decoded.values().next() != Some(&frames) {
        why.push(format!("driver decoded {decoded:?} (pid: pictures), want one pid with {frames}"));
    }
    if t.frames.len() != frames || t.decode_params_events != frames {
        why.push(format!("visl trace: {} frames / {} requests, want {frames} / {frames}", t.frames.len(), t.decode_params_events));
    }
    (summary, why)
}

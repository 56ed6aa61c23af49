//! Helpers for integration tests that run commands in the QEMU guest through
//! `scripts/guest-run.sh`. Nothing here skips: failures to build or boot the
//! guest are returned as errors carrying the reason, and tests fail on them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testplane lives inside the repository")
        .to_path_buf()
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
        std::fs::read_to_string(self.out(name))
            .map_err(|e| format!("{}: {e}", self.out(name).display()))
    }
}

/// Run `scripts/guest-run.sh --job JOB SCRIPT ARGS...`. `env` is passed to
/// the host script (and names listed in GUEST_ENV reach the guest).
pub fn run_script(
    job: &Path,
    script: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<GuestRun, String> {
    let root = repo_root();
    let runner = root.join("scripts/guest-run.sh");
    let t0 = Instant::now();
    let mut cmd = Command::new("bash");
    cmd.arg(&runner)
        .arg("--job")
        .arg(job)
        .arg(script)
        .args(args)
        .current_dir(&root);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", runner.display()))?;
    let run = GuestRun {
        job: job.to_path_buf(),
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: t0.elapsed(),
    };
    match run.status {
        124 => Err(format!("guest timed out:\n{}", run.stderr)),
        125 => Err(format!(
            "guest could not be built/booted or gave no result:\n{}",
            run.stderr
        )),
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

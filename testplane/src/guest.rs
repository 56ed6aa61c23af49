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

/// The x86_64 driver the guest tests load: `$HANTRO_DRIVER_SO`, or the
/// release build. Panics (the test fails) when it is not built.
pub fn driver_so() -> PathBuf {
    let p = std::env::var("HANTRO_DRIVER_SO").map(PathBuf::from).unwrap_or_else(|_| repo_root().join("target/release/libhantro_drv_video.so"));
    assert!(p.exists(), "driver {} not built (run `cargo build --release` first; scripts/test-all.sh does)", p.display());
    p
}

/// `$HANTRO_CACHE`, default `~/.cache/hantro`.
pub fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    std::env::var_os("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|| home.join(".cache/hantro"))
}

/// The corpus of `scripts/corpus-<name>.sh`, generated (or reused: the
/// script caches by recipe hash) into `$HANTRO_CACHE/corpus-<name>` under a
/// lock, so that tests running at the same time share one generation.
pub fn codec_corpus(name: &str) -> Result<PathBuf, String> {
    let cache = cache_dir();
    let dir = cache.join(format!("corpus-{name}"));
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let script = repo_root().join(format!("scripts/corpus-{name}.sh"));
    let o = Command::new("flock")
        .arg(cache.join(format!("corpus-{name}.lock")))
        .arg("bash")
        .arg(&script)
        .arg(&dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !o.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&o.stderr)));
    }
    Ok(dir)
}

/// Copies the files (not subdirectories) of `from` into `to`, creating it.
pub fn copy_files(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for e in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        if e.file_type().map_err(|e| e.to_string())?.is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).map_err(|err| format!("{}: {err}", e.path().display()))?;
        }
    }
    Ok(())
}

/// What [`arm64_va_run`] saw in the arm64 guest.
#[derive(Debug)]
pub struct Arm64Run {
    pub job: PathBuf,
    /// vainfo on the arm64 driver (with its `vainfo rc=N` line).
    pub vainfo: String,
    /// The guest kernel's boot log (to show it really was arm64).
    pub init: String,
    /// Per stream: the client's exit status (0 ok, 98 the client reported a
    /// decode error, 99 no trace), as the guest script recorded it.
    pub rc: std::collections::BTreeMap<String, i32>,
}

impl Arm64Run {
    /// The client's log of `stream` (its output and the driver's
    /// per-picture lines).
    pub fn log(&self, stream: &str) -> Result<String, String> {
        let p = self.job.join(format!("out/{stream}.va.log"));
        std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
    }
    /// visl's trace of `stream` (frame-based mode).
    pub fn trace(&self, stream: &str) -> Result<String, String> {
        let p = self.job.join(format!("out/{stream}.va.trace"));
        std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
    }
    /// Pictures the driver reports decoded (its per-picture log lines).
    pub fn pictures(&self, stream: &str) -> usize {
        self.log(stream).map(|l| l.lines().filter(|l| l.contains("decoded a picture into CAPTURE buffer")).count()).unwrap_or(0)
    }
}

/// The arm64 guest script of [`arm64_va_run`]: vainfo, then each stream
/// `$DIR/$s.$EXT` through the arm64 driver by the VA client (libavcodec's
/// VA-API hwaccel, tests/clients/vaclient.c), each with its visl trace and
/// the driver's per-picture lines.
const ARM64_SCRIPT: &str = r#"#!/bin/sh
set -u
. /job/lib.sh
cd /job
dir=$1 ext=$2; shift 2
va_env vainfo --display drm --device /dev/dri/renderD128 > out/vainfo.txt 2>&1
echo "vainfo rc=$?" >> out/vainfo.txt
: > out/runs.tsv
for s in "$@"; do
  rm -rf /tmp/frames; mkdir -p /tmp/frames
  trace_reset
  va_env HANTRO_LOG=$DECODED_LOG /job/bin/vaclient --device /dev/dri/renderD128 /tmp/frames "$dir/$s.$ext" > "out/$s.va.log" 2>&1
  rc=$?
  trace_save "$s.va.trace" frame || rc=99
  grep -q "^decode-error" "out/$s.va.log" && rc=98
  printf '%s\t%s\n' "$s" "$rc" >> out/runs.tsv
done
echo arm64-va-done
"#;

/// Cross-builds the driver for aarch64 (scripts/aarch64-build.sh into
/// target/aarch64), stages `corpus` as `/job/<dir_name>` of a fresh `job`,
/// and decodes each of `streams` (`<dir_name>/<s>.<ext>`) through the arm64
/// driver on visl in one boot of the arm64 guest. Errors carry the reason
/// (build, boot, not an arm64 kernel); per-stream failures are in the
/// result for the caller to judge.
pub fn arm64_va_run(job: &Path, corpus: &Path, dir_name: &str, ext: &str, streams: &[&str]) -> Result<Arm64Run, String> {
    let root = repo_root();
    let b = Command::new(root.join("scripts/aarch64-build.sh"))
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", root.join("target/aarch64"))
        .output()
        .map_err(|e| format!("cannot run scripts/aarch64-build.sh: {e}"))?;
    if !b.status.success() {
        return Err(format!("aarch64 build failed:\n{}", String::from_utf8_lossy(&b.stderr)));
    }
    let so = root.join("target/aarch64/aarch64-unknown-linux-gnu/release/libhantro_drv_video.so");
    let _ = std::fs::remove_dir_all(job);
    copy_files(corpus, &job.join(dir_name))?;
    // outside the job: the runner copies the script into it
    let script = job.with_extension("sh");
    std::fs::write(&script, ARM64_SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    let g = Command::new("bash")
        .arg(root.join("scripts/guest-run.sh"))
        .args(["--arch", "arm64", "--job"])
        .arg(job)
        .arg(&script)
        .args([dir_name, ext])
        .args(streams)
        .current_dir(&root)
        .env("HANTRO_DRIVER_SO", &so)
        .output()
        .map_err(|e| format!("cannot run scripts/guest-run.sh --arch arm64: {e}"))?;
    let gout = String::from_utf8_lossy(&g.stdout);
    if !g.status.success() || !gout.contains("arm64-va-done") {
        return Err(format!("arm64 guest run failed ({:?}):\n{gout}\n{}", g.status, String::from_utf8_lossy(&g.stderr)));
    }
    let read = |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()));
    let init = read(job.join("out/init.log"))?;
    if !init.contains("aarch64") {
        return Err(format!("not an arm64 kernel:\n{init}"));
    }
    let rc = read(job.join("out/runs.tsv"))?.lines().filter_map(|l| l.split_once('\t')).map(|(s, r)| (s.to_string(), r.trim().parse().unwrap_or(-1))).collect();
    Ok(Arm64Run { job: job.to_path_buf(), vainfo: read(job.join("out/vainfo.txt"))?, init, rc })
}

/// Runs the guest suite `tests/guest/<suite>` with `args` in a fresh `job`,
/// with the driver under test ([`driver_so`]) and the codec corpora
/// `(name, dir)` (`scripts/corpus-<name>.sh`, see [`codec_corpus`]) staged
/// as `/job/<dir>`.
pub fn suite_run(job: &Path, suite: &str, corpora: &[(&str, &str)], args: &[&str]) -> Result<GuestRun, String> {
    let _ = std::fs::remove_dir_all(job);
    std::fs::create_dir_all(job).map_err(|e| format!("{}: {e}", job.display()))?;
    for (name, dir) in corpora {
        copy_files(&codec_corpus(name)?, &job.join(dir))?;
    }
    let so = driver_so();
    let run = run_script(job, &repo_root().join("tests/guest").join(suite), args, &[("HANTRO_DRIVER_SO", so.to_str().unwrap())])?;
    eprintln!("guest boot + suite ({suite}): {:.1}s", run.elapsed.as_secs_f64());
    Ok(run)
}

/// The run in `cell`, made by `run` on first use: one guest boot shared by
/// the tests of a test binary (they run in one process). A failed run fails
/// every test that asks for it, with the reason.
pub fn shared_run(cell: &'static std::sync::OnceLock<Result<GuestRun, String>>, run: impl FnOnce() -> Result<GuestRun, String>) -> &'static GuestRun {
    cell.get_or_init(run).as_ref().unwrap_or_else(|e| panic!("guest run failed: {e}"))
}

/// The whitespace-separated words of environment variable `var` (empty
/// when unset): the `H264_STREAMS` / `VP8_STREAMS` / `WAYLAND_PARTS`
/// subsets of the guest suites.
pub fn env_words(var: &str) -> Vec<String> {
    std::env::var(var).map(|v| v.split_whitespace().map(String::from).collect()).unwrap_or_default()
}

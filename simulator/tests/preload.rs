//! The LD_PRELOAD boundary from plain C (tests/sim/preload-smoke.c) and
//! v4l2-compliance, for every personality: every compliance test passes but
//! the failures listed in EXPECTED_FAILURES, with their reasons. Fails (never
//! skips) when libhantro_sim.so has not been built (CI builds it; locally:
//! cargo build -p hantro_sim), or when cc / v4l2-compliance are missing.
use std::path::PathBuf;
use std::process::Command;

fn sim_lib() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HANTRO_SIM_SO") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("libhantro_sim.so");
    p.exists().then_some(p)
}

fn uapi_include() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let t = root.join("target/uapi/include");
    if t.join("linux/videodev2.h").exists() {
        t
    } else {
        PathBuf::from("/usr/include")
    }
}

#[test]
fn c_smoke_test_under_ld_preload() {
    let Some(lib) = sim_lib() else {
        panic!("libhantro_sim.so not built (scripts/test-all.sh builds it)");
    };
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/sim/preload-smoke.c");
    let bin = std::env::temp_dir().join(format!("hantro-sim-smoke-{}", std::process::id()));
    let Ok(st) = Command::new("cc").arg("-O1").arg("-I").arg(uapi_include()).arg(&src).arg("-o").arg(&bin).status() else {
        panic!("no C compiler (cc) to build the smoke test");
    };
    assert!(st.success(), "compiling preload-smoke.c failed");
    for p in ["hantro-g1", "rkvdec", "cedrus"] {
        let o = Command::new(&bin).env("LD_PRELOAD", &lib).env("HANTRO_SIM_QUIET", "1").env("HANTRO_SIM_PERSONALITY", p).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{p}:\n{out}");
        assert!(out.contains(", 0 failed"), "{p}:\n{out}");
    }
}

/// The v4l2-compliance failures that remain, each with why the simulator
/// keeps the behaviour: (personality or "*" for all, the test as
/// v4l2-compliance names it, text of its `fail:` line, reason). Every other
/// test must pass, and each listed failure must still occur (if a v4l-utils
/// upgrade fixes one, remove it here), so a new failure fails the test.
const EXPECTED_FAILURES: &[(&str, &str, &str, &str)] = &[
    (
        "*",
        "VIDIOC_REQBUFS/CREATE_BUFS/QUERYBUF",
        "check_0(crbufs.reserved, sizeof(crbufs.reserved))",
        "v4l-utils 1.22 still treats the word after v4l2_create_buffers.flags as reserved; since Linux 6.8 it is \
         max_num_buffers, which the kernel (vb2_create_bufs) and the simulator fill in (32)",
    ),
    (
        "cedrus",
        "VIDIOC_(TRY_)DECODER_CMD",
        "v4l2-test-codecs.cpp(122): ret != 0",
        "v4l-utils 1.22 expects the stateful V4L2_DEC_CMD_STOP to succeed; a stateless decoder only takes \
         V4L2_DEC_CMD_FLUSH (dev-stateless-decoder.rst; the kernel's v4l2_m2m_ioctl_stateless_try_decoder_cmd \
         returns EINVAL for anything else, as the simulator does); later v4l-utils check stateless decoders \
         for exactly that (FLUSH succeeds, STOP/START/PAUSE/RESUME fail)",
    ),
];

/// Runs v4l2-compliance on the simulated `personality`; returns its report.
fn compliance(lib: &PathBuf, personality: &str, env: &[(&str, &str)]) -> String {
    let o = Command::new("v4l2-compliance")
        .args(["-m", "/dev/media0"])
        .env("LD_PRELOAD", lib)
        .env("HANTRO_SIM_QUIET", "1")
        .env("HANTRO_SIM_PERSONALITY", personality)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Each failed test of a v4l2-compliance report: (test name, its `fail:` lines).
fn failed_tests(out: &str) -> Vec<(String, Vec<String>)> {
    let mut r = Vec::new();
    let mut pending = Vec::new();
    for l in out.lines() {
        let t = l.trim();
        if let Some(f) = t.strip_prefix("fail: ") {
            pending.push(f.to_string());
        } else if let Some(name) = t.strip_prefix("test ").and_then(|t| t.strip_suffix(": FAIL")) {
            r.push((name.to_string(), std::mem::take(&mut pending)));
        } else if t.starts_with("test ") {
            pending.clear();
        }
    }
    if !pending.is_empty() {
        r.push(("(no test line)".to_string(), pending));
    }
    r
}

/// What is wrong with a v4l2-compliance report of `personality`, measured
/// against EXPECTED_FAILURES; empty when it is as expected.
fn compliance_problems(personality: &str, out: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let expected: Vec<_> = EXPECTED_FAILURES.iter().filter(|e| e.0 == "*" || e.0 == personality).collect();
    let failed = failed_tests(out);
    for (name, lines) in &failed {
        let known = expected.iter().any(|e| e.1 == name && lines.len() == 1 && lines[0].contains(e.2));
        if !known {
            problems.push(format!("new failure: test {name}: {lines:?}"));
        }
    }
    for e in &expected {
        if !failed.iter().any(|(name, lines)| name == e.1 && lines.iter().any(|l| l.contains(e.2))) {
            problems.push(format!("listed failure did not occur (remove it from EXPECTED_FAILURES if v4l-utils now accepts it): {} {}", e.1, e.2));
        }
    }
    let total = out.lines().find(|l| l.starts_with("Grand Total"));
    let want = format!("Failed: {}, ", expected.len());
    if !total.is_some_and(|t| t.contains(&want)) {
        problems.push(format!("Grand Total should report exactly {} failed tests: {total:?}", expected.len()));
    }
    problems
}

#[test]
fn v4l2_compliance_under_ld_preload() {
    let Some(lib) = sim_lib() else {
        panic!("libhantro_sim.so not built (scripts/test-all.sh builds it)");
    };
    if Command::new("v4l2-compliance").arg("--version").output().is_err() {
        panic!("v4l2-compliance (v4l-utils) missing (scripts/setup-host.sh installs it)");
    }
    for p in ["hantro-g1", "rkvdec", "cedrus"] {
        let out = compliance(&lib, p, &[]);
        let problems = compliance_problems(p, &out);
        assert!(problems.is_empty(), "{p}: v4l2-compliance differs from the expected failures:\n{}\n{out}", problems.join("\n"));
        eprintln!("{p}: {}", out.lines().find(|l| l.starts_with("Grand Total")).unwrap_or_default());
    }
}

/// The check above can fail: a decoder-command failure injected into the
/// simulator (VIDIOC_DECODER_CMD answering EINVAL, as if the ioctl existed
/// on hantro-g1) is a new v4l2-test-codecs.cpp failure and is reported.
#[test]
fn new_compliance_failure_is_reported() {
    let Some(lib) = sim_lib() else {
        panic!("libhantro_sim.so not built (scripts/test-all.sh builds it)");
    };
    if Command::new("v4l2-compliance").arg("--version").output().is_err() {
        panic!("v4l2-compliance (v4l-utils) missing (scripts/setup-host.sh installs it)");
    }
    let out = compliance(&lib, "hantro-g1", &[("HANTRO_SIM_FAIL_IOCTL", "VIDIOC_DECODER_CMD:1:EINVAL")]);
    let problems = compliance_problems("hantro-g1", &out);
    assert!(
        problems.iter().any(|l| l.starts_with("new failure: test VIDIOC_(TRY_)DECODER_CMD") && l.contains("v4l2-test-codecs.cpp")),
        "injected DECODER_CMD failure not reported: {problems:?}\n{out}"
    );
}

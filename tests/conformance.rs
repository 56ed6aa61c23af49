//! libva's conformance rules (libva-utils' test_va_api) without libva-utils:
//! `tests/clients/conformance.c` restates the suite's checks (its fixture,
//! test_data.h's profiles, entrypoints, resolutions and attribute masks, and
//! each test's expected statuses) and adds one of ours, that each profile's
//! size limits are the device's VIDIOC_ENUM_FRAMESIZES range. It runs
//! through libva's DRM display on the simulator, for every profile and
//! entrypoint the driver advertises on each personality (codecs added later
//! are checked as soon as they are advertised), and for every one it does
//! not (which must be refused as the suite expects).
//!
//! `scripts/test-va-api.sh` runs the real suite (host on the simulator, or
//! `--guest` on visl).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The client, compiled with gcc against the machine's libva on first use.
fn conformance_client() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/conformance.c");
    let out = common::target_dir().join("hantro-test-conformance");
    let fresh = match (std::fs::metadata(&src).and_then(|m| m.modified()), std::fs::metadata(&out).and_then(|m| m.modified())) {
        (Ok(s), Ok(o)) => o >= s,
        _ => false,
    };
    if !fresh {
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        // linux/videodev2.h: the 6.12 uAPI headers scripts/setup-host.sh links
        // (cargo's C_INCLUDE_PATH holds an #error naming that step otherwise).
        let uapi = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/uapi/include");
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "gcc -O2 -g -Wall -Werror -I'{}' -o '{}' '{}' $(pkg-config --cflags --libs libva libva-drm)",
                uapi.display(),
                tmp.display(),
                src.display()
            ))
            .output()
            .expect("gcc (scripts/setup-host.sh installs it)");
        assert!(o.status.success(), "building the conformance client failed:\n{}", String::from_utf8_lossy(&o.stderr));
        std::fs::rename(&tmp, &out).expect("rename conformance client");
    }
    out
}

fn run(personality: &str) {
    let mut c = Command::new(conformance_client());
    c.args(["/dev/dri/renderD128", "/dev/video0"]);
    for (k, v) in common::va_env() {
        c.env(k, v);
    }
    c.env("HANTRO_SIM_QUIET", "1").env("HANTRO_SIM_PERSONALITY", personality).env("RUST_LOG", "error");
    let o = c.output().expect("spawn the conformance client");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL ")).collect();
    let shown: Vec<&str> = fails.iter().take(40).copied().collect();
    assert!(
        o.status.success() && fails.is_empty(),
        "{personality}: {} conformance failures ({:?}):\n{}\n--- stderr (tail)\n{}",
        fails.len(),
        o.status,
        shown.join("\n"),
        err.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    let summary = out.lines().find(|l| l.starts_with("conformance: ")).unwrap_or_else(|| panic!("{personality}: no summary line:\n{out}\n{err}"));
    let pairs: usize = summary.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("pair count");
    let profiles: Vec<&str> = out.lines().filter(|l| l.starts_with("profile ")).collect();
    assert!(pairs > 0 && profiles.len() == pairs, "{personality}: {pairs} pairs checked, {} profile lines:\n{out}", profiles.len());
    println!("{personality}: {summary}");
    for p in profiles {
        println!("  {p}");
    }
}

#[test]
fn conformance_hantro_g1() {
    run("hantro-g1");
}

#[test]
fn conformance_rkvdec() {
    run("rkvdec");
}

#[test]
fn conformance_cedrus() {
    run("cedrus");
}

//! What a new user types first, on a fresh clone of this commit: plain
//! `cargo build` before the set-up step must stop with a message naming
//! that step (not generate v4l2r's bindings from the system's older uAPI
//! headers), and after the step the same target directory must build
//! without `cargo clean` (a link created later must not leave a stale
//! build behind). Only v4l2r is built: it is the crate whose bindings the
//! headers decide, and building it alone keeps this to about a minute.
//! The clone is of HEAD: uncommitted changes are not part of the check.
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cargo_v4l2r(clone: &Path, target: &Path) -> (bool, String) {
    let o = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "-q", "-p", "v4l2r", "--target-dir"])
        .arg(target)
        .current_dir(clone)
        // the outer cargo's settings must not leak into the fresh clone
        .env_remove("V4L2R_VIDEODEV2_H_PATH")
        .env_remove("C_INCLUDE_PATH")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run cargo");
    (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn fresh_clone_builds_after_the_setup_step_and_says_so_before() {
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fresh-clone");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let clone = work.join("src");
    let st = Command::new("git").args(["clone", "-q", "--no-hardlinks"]).arg(repo()).arg(&clone).status().expect("git clone");
    assert!(st.success(), "git clone failed");
    assert!(!clone.join("target/uapi/include").exists());
    // The clone's own target/ (where .cargo/config.toml points v4l2r), built
    // into a separate directory so that the link can be added later.
    let target = work.join("target");

    let (ok, err) = cargo_v4l2r(&clone, &target);
    assert!(!ok, "cargo build succeeded without the 6.12 uAPI headers: it used the system's");
    assert!(err.contains("Run scripts/setup-host.sh"), "the failure does not name the set-up step:\n{err}");

    // The set-up step's header part (the packages are there: this test runs
    // after the README's test command installed them).
    let st = Command::new("bash").arg(clone.join("scripts/uapi-link.sh")).status().expect("uapi-link.sh");
    assert!(st.success(), "scripts/uapi-link.sh failed");
    let (ok, err) = cargo_v4l2r(&clone, &target);
    assert!(ok, "after the set-up step the same target dir does not build:\n{err}");
    // v4l2r's bindings now come from the 6.12 headers: AV1 is there.
    let found = walk(&target.join("debug/build"))
        .into_iter()
        .filter(|p| p.ends_with("bindings.rs") && p.to_string_lossy().contains("v4l2r-"))
        .any(|p| std::fs::read_to_string(p).unwrap_or_default().contains("v4l2_ctrl_av1_sequence"));
    assert!(found, "v4l2r's bindings lack the 6.12 AV1 controls: built from stale headers");
    let _ = std::fs::remove_dir_all(&work);
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

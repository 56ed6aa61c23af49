//! The fuzz inputs as a regression test of the driver's suite: runs the
//! fuzz workspace's own test (fuzz/tests/regressions.rs), which feeds the
//! seed corpus fuzz/corpus/<target>/* and every crash input kept in
//! fuzz/regressions/<target>/ through the same entry points the fuzz
//! targets call (fuzz/src/lib.rs) and fails on any panic. The fuzz crate is
//! its own workspace (it needs `arbitrary` and libfuzzer-sys), so this runs
//! `$CARGO test` on its manifest, with its own target directory
//! (fuzz/target, plain build: no sanitizer, overflow checks on).
use std::path::Path;
use std::process::Command;

#[test]
fn fuzz_inputs_do_not_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let out = Command::new(cargo)
        .args(["test", "--test", "regressions", "--manifest-path"])
        .arg(fuzz.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(fuzz.join("target"))
        .args(["--", "--nocapture"])
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo test in fuzz/");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fuzz regressions failed:\n{stdout}\n{stderr}");
    let line = stdout.lines().find(|l| l.starts_with("regressions: ") && l.contains(" inputs, ")).unwrap_or_else(|| panic!("no summary line:\n{stdout}\n{stderr}"));
    let n: usize = line["regressions: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(n >= 24, "only {n} inputs ran (the seed corpus alone has 24): {line}");
    for l in stdout.lines().filter(|l| l.starts_with("regressions: ")) {
        eprintln!("{l}");
    }
}

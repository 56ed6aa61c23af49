//! arm64 is the platform the driver is for (RK35xx, RK3399, i.MX8M, H6):
//! CI cross-compiles the driver and the simulator for
//! aarch64-unknown-linux-gnu and runs the unit tests, the ABI probe (C side
//! compiled by aarch64-linux-gnu-gcc against the arm64 libva and 6.12 uAPI
//! headers), the dlopen check and, end to end on the simulator, one stream
//! of every codec of every personality decoded by an arm64 VA client
//! (bit-exact with arm64 libavcodec's software decode) under qemu-aarch64,
//! via scripts/aarch64-test.sh. The script installs what is missing (cross
//! gcc, qemu-user, arm64 libraries via multiarch, the Rust target); if that
//! fails, this test fails — it never skips.
//!
//! On an aarch64 host the whole normal suite already is the arm64 run, so
//! this cross test exists only on x86_64.
#![cfg(target_arch = "x86_64")]
use std::path::Path;
use std::process::Command;

#[test]
fn aarch64_cross_build_abi_probe_and_unit_tests_under_qemu() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let t0 = std::time::Instant::now();
    let out = Command::new(repo.join("scripts/aarch64-test.sh"))
        .current_dir(repo)
        // Own target dir: never wait for the lock of the build this test
        // runs in, never invalidate the host build.
        .env("CARGO_TARGET_DIR", repo.join("target/aarch64"))
        .output()
        .expect("run scripts/aarch64-test.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = stderr.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    assert!(out.status.success(), "scripts/aarch64-test.sh failed ({:?}):\n{stdout}\n--- stderr (tail)\n{tail}", out.status);
    eprintln!("{stdout}aarch64 run took {:.0} s", t0.elapsed().as_secs_f64());

    // Every step must have reported, with its numbers.
    let num = |prefix: &str, suffix: &str| -> u64 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix)?.split_once(suffix)?.0.trim().parse().ok())
            .unwrap_or_else(|| panic!("no line '{prefix}<N>{suffix}' in:\n{stdout}"))
    };
    assert!(num("aarch64-test: PASS unit: ", " tests under qemu-aarch64") >= 50);
    assert!(num("aarch64-test: PASS abi: ", " layout checks (aarch64 Rust vs aarch64-linux-gnu-gcc") > 200);
    assert!(stdout.contains("aarch64-test: PASS dlopen: arm64 .so loaded"), "{stdout}");
    assert!(num("aarch64-test: PASS sim-unit: ", " tests under qemu-aarch64") >= 5);
    // hantro-g1: H.264, MPEG-2, VP8; rkvdec: H.264; cedrus: H.264, MPEG-2, VP8
    assert!(num("aarch64-test: PASS sim-e2e: ", " streams (") >= 7, "{stdout}");
    assert!(stdout.contains("bit-exact under qemu-aarch64 on hantro-g1, rkvdec, cedrus"), "{stdout}");
    assert_eq!(num("aarch64-test: all ", " steps passed"), 6, "{stdout}");

    // The cross-built libraries are arm64 ELF shared objects (the script
    // checks them with file(1); check the ELF header here too).
    for so in ["libhantro_drv_video.so", "libhantro_sim.so"] {
        let p = repo.join("target/aarch64/aarch64-unknown-linux-gnu/release").join(so);
        let b = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(&b[..4], b"\x7fELF", "{}", p.display());
        assert_eq!(b[4], 2, "{}: not ELFCLASS64", p.display());
        assert_eq!(u16::from_le_bytes([b[18], b[19]]), 183, "{}: e_machine is not EM_AARCH64", p.display());
    }
}

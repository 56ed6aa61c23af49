#!/usr/bin/env bash
# Everything CI runs: host setup, rustfmt and clippy (-D warnings), release
# build of the driver (the guest tests load it), then every test of the
# workspace: unit tests, ABI probe,
# dlopen test, simulator end-to-end tests, and the real-kernel plane (visl
# in a QEMU guest, built and cached under ~/.cache/hantro on first use),
# then a short fuzz run of every fuzz target.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
scripts/setup-host.sh
# style and lints first: they fail in seconds
cargo fmt --all --check
cargo clippy --release --workspace --all-targets -- -D warnings
# a driver with the test-only hooks (panic injection, control corruption),
# built in the same target dir (only this crate differs, no dependency is
# built twice) and copied aside before the plain build replaces it
cargo build --release -p hantro_drv_video --features test-hooks
mkdir -p target/hooks/release
cp target/release/libhantro_drv_video.so target/hooks/release/libhantro_drv_video.so
export HANTRO_DRIVER_HOOKS_SO=$PWD/target/hooks/release/libhantro_drv_video.so
cargo build --release --workspace
# the plain driver, copied aside too: `cargo test` builds the crate's lib
# with the test-hooks feature (the integration tests' dev-dependency) and
# writes that variant to the same target/release/libhantro_drv_video.so
mkdir -p target/plain/release
cp target/release/libhantro_drv_video.so target/plain/release/libhantro_drv_video.so
export HANTRO_DRIVER_SO=$PWD/target/plain/release/libhantro_drv_video.so
export HANTRO_SIM_SO=$PWD/target/release/libhantro_sim.so
cargo test --release --workspace -- --test-threads=1 "$@"
# bounded fuzzing of every fuzz target (stable toolchain, libFuzzer + ASan);
# fails on any crash
scripts/fuzz-ci.sh

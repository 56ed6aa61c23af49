#!/usr/bin/env bash
# Everything CI runs: host setup, rustfmt and clippy (-D warnings), release
# build of the driver (the guest tests load it), then every test of the
# workspace: unit tests, ABI probe, dlopen test, simulator end-to-end tests,
# the real-kernel plane (visl in QEMU guests, built and cached under
# ~/.cache/hantro on first use), and a short fuzz run of every fuzz target.
#
# The tests run in three lanes at once, each one test at a time (the
# machine has 2 cores; a TCG guest or a host test keeps about one busy):
#   host     every package but testplane, then scripts/fuzz-ci.sh
#   guest-a  testplane: GUEST_A below (the compositor suite and MPEG-2)
#   guest-b  testplane: its lib, bins and every other test file
# Each lane's lines are prefixed with its name; the script fails if any
# lane failed. Extra arguments go to every lane's test binaries (after --).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
scripts/setup-host.sh
# the arm64 cross environment (packages, arm64 uAPI headers) now, not from
# two lanes at once
scripts/aarch64-setup.sh >/dev/null
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
# every test binary, built once before the lanes start
cargo test --release --workspace --no-run

# testplane's test files of lane guest-a; lane guest-b runs all the others
GUEST_A=(guest_gstreamer guest_mpeg2 guest_wayland)
guest_b=()
for f in testplane/tests/*.rs; do
  t=$(basename "$f" .rs)
  [[ " ${GUEST_A[*]} " == *" $t "* ]] || guest_b+=(--test "$t")
done
guest_a=()
for t in "${GUEST_A[@]}"; do
  [ -f "testplane/tests/$t.rs" ] || { echo "test-all: GUEST_A names $t, not in testplane/tests" >&2; exit 1; }
  guest_a+=(--test "$t")
done

lanes=$(mktemp -d)
lane() { # NAME CMD...: CMD in the background, output prefixed, status in $lanes/NAME
  local name=$1
  shift
  (
    set +e
    start=$(date +%s)
    "$@" 2>&1 | sed -u "s/^/[$name] /"
    rc=${PIPESTATUS[0]}
    echo "[$name] lane exit $rc after $(($(date +%s) - start)) s"
    echo "$rc" > "$lanes/$name"
  ) &
}
host_lane() {
  cargo test --release --workspace --exclude testplane -- --test-threads=1 "$@" &&
    cargo test --release -p testplane --doc -- --test-threads=1 "$@" &&
    scripts/fuzz-ci.sh
}
lane host host_lane "$@"
lane guest-a cargo test --release -p testplane "${guest_a[@]}" -- --test-threads=1 "$@"
lane guest-b cargo test --release -p testplane --lib --bins "${guest_b[@]}" -- --test-threads=1 "$@"
wait
status=0
for name in host guest-a guest-b; do
  rc=$(cat "$lanes/$name" 2>/dev/null || echo "no status")
  echo "test-all: lane $name: exit $rc"
  [ "$rc" = 0 ] || status=1
done
rm -rf "$lanes"
exit $status

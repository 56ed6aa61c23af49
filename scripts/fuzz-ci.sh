#!/usr/bin/env bash
# CI's bounded fuzz run: every fuzz target for FUZZ_SECONDS (default 30)
# seconds from the committed seeds, stable toolchain (see scripts/fuzz.sh;
# installs cargo-fuzz into target/tools/ on first use). Crash inputs go to
# a fresh target/fuzz-ci-artifacts/<target>/ (old local finds in
# fuzz/artifacts/ do not fail CI); exits 1 if any target crashed, leaked,
# timed out or ran out of memory, and prints the SUMMARY and the input to
# copy into fuzz/regressions/<target>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
export FUZZ_ARTIFACTS="$repo/target/fuzz-ci-artifacts"
rm -rf "$FUZZ_ARTIFACTS"
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$repo/fuzz/Cargo.toml" | grep -v '^hantro_drv_video-fuzz$')
status=0
# shellcheck disable=SC2086
"$here/fuzz.sh" "${FUZZ_SECONDS:-30}" $targets || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz-ci: FAIL; crash inputs:" >&2
  find "$FUZZ_ARTIFACTS" -type f >&2 || true
  exit 1
fi
echo "fuzz-ci: PASS ($(echo $targets | wc -w) targets, ${FUZZ_SECONDS:-30} s each, no crash)"

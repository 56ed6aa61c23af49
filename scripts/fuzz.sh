#!/usr/bin/env bash
# Bounded fuzzing of the H.264 slice-header parser and the VA -> V4L2
# translation (cargo-fuzz, libFuzzer + ASan) with the machine's stable
# toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc take the -Z flags
# cargo-fuzz passes (-Zsanitizer=address); the ASan runtime ships in
# stable's rust-std for x86_64-unknown-linux-gnu (librustc-stable_rt.asan.a).
# No nightly toolchain is installed or used.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60, all targets)
#
# cargo-fuzz: the one on PATH, else `cargo install --locked cargo-fuzz`
# into target/tools/ (once). Starts from the committed seeds
# (fuzz/corpus/<target>, see fuzz/make_seeds.py) in a scratch corpus under
# target/fuzz-corpus/, so nothing the run finds changes the tree. Crashes
# land in $FUZZ_ARTIFACTS/<target>/ (default fuzz/artifacts/): copy each
# into fuzz/regressions/<target>/ (tests/fuzz_regressions.rs runs them)
# before fixing it. Prints per target: executions, CPU seconds, corpus
# size, crashes; exits 1 on any crash.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(slice_header translate)
export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-stable} RUSTC_BOOTSTRAP=1
artifacts=${FUZZ_ARTIFACTS:-$repo/fuzz/artifacts}
if ! command -v cargo-fuzz >/dev/null; then
  export PATH="$repo/target/tools/bin:$PATH"
  command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --root "$repo/target/tools" >&2
fi
cd "$repo/fuzz"
cargo fuzz build -O >&2
status=0
for t in "${targets[@]}"; do
  work="$repo/target/fuzz-corpus/$t"
  mkdir -p "$work" "$artifacts/$t"
  cp -n "$repo/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  log="$repo/target/fuzz-$t.log"
  set +e
  /usr/bin/time -f "%U %S" -o "$repo/target/fuzz-$t.time" \
    cargo fuzz run -O "$t" "$work" -- -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  read -r user sys < "$repo/target/fuzz-$t.time" || { user=0; sys=0; }
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(find "$artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  echo "fuzz $t: ${secs}s wall, $(awk "BEGIN{print $user + $sys}") CPU s, ${execs:-?} executions, corpus $(ls "$work" | wc -l) inputs, rc $rc, crash artifacts: $crashes"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    grep -E "^==[0-9]+==|panicked at|SUMMARY" "$log" | head -20 >&2 || true
  fi
done
exit $status

#!/usr/bin/env bash
# Bounded fuzzing of the H.264 slice-header parser and the VA -> V4L2
# translation (cargo-fuzz, nightly, libFuzzer + ASan).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60, all targets)
#
# Starts from the committed seeds (fuzz/corpus/<target>, see
# fuzz/make_seeds.py) in a scratch corpus under target/fuzz-corpus/, so
# nothing the run finds changes the tree. Crashes land in
# fuzz/artifacts/<target>/: turn each into a regression test in
# src/codecs/h264/ (see tests/fuzz_regressions.rs) before fixing it.
# Prints per target: executions, CPU seconds, corpus size, crashes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(slice_header translate)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
cd "$repo/fuzz"
rustup run nightly cargo fuzz build -O >&2
status=0
for t in "${targets[@]}"; do
  work="$repo/target/fuzz-corpus/$t"
  mkdir -p "$work" "$repo/fuzz/artifacts/$t"
  cp -n "$repo/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  log="$repo/target/fuzz-$t.log"
  set +e
  /usr/bin/time -f "%U %S" -o "$repo/target/fuzz-$t.time" \
    rustup run nightly cargo fuzz run -O "$t" "$work" -- -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$repo/fuzz/artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  read -r user sys < "$repo/target/fuzz-$t.time" || { user=0; sys=0; }
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(find "$repo/fuzz/artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  echo "fuzz $t: ${secs}s wall, $(awk "BEGIN{print $user + $sys}") CPU s, ${execs:-?} executions, corpus $(ls "$work" | wc -l) inputs, rc $rc, crash artifacts: $crashes"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    grep -E "^==[0-9]+==|panicked at|SUMMARY" "$log" | head -20 >&2 || true
  fi
done
exit $status

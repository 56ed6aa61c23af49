#!/bin/sh
# Builds libhantro_sim.so and runs tests/sim/preload-smoke.c under LD_PRELOAD
# for every personality.
set -e
cd "$(dirname "$0")/.."
[ -e target/uapi/include ] || { mkdir -p target/uapi && ln -sfn "$(scripts/uapi-headers.sh)" target/uapi/include; }
cargo build -p hantro_sim ${CARGO_PROFILE:+--profile $CARGO_PROFILE}
lib="$PWD/target/${CARGO_PROFILE:-debug}/libhantro_sim.so"
out="${TMPDIR:-/tmp}/hantro-sim-smoke"
cc -O1 -Wall -I target/uapi/include tests/sim/preload-smoke.c -o "$out"
rc=0
for p in hantro-g1 rkvdec cedrus; do
    echo "== $p"
    HANTRO_SIM_QUIET=1 HANTRO_SIM_PERSONALITY=$p LD_PRELOAD="$lib" "$out" || rc=1
done
exit $rc

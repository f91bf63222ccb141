#!/bin/sh
# Runs on the GPU machine (see scripts/device-bundle.sh): the Node/Dawn bench
# at the issue's full sizes. Extra arguments go to the bench. Output:
# $OUT/bench.json, $OUT/bench.log. (The device check is scripts/device-check.sh.)
set -e
cd "$(dirname "$0")/.."
. scripts/device-setup.sh
set +e
timeout ${BENCH_TIMEOUT:-380} $B/node $B/bench-node.mjs --run-node-bench --node --full --out "$OUTDIR/bench.json" "$@" 2>&1 | tee "$OUTDIR/bench.log"

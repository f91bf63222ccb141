#!/bin/sh
# Runs on the GPU machine, as one command of the device tool, after
# scripts/device-bundle.sh here (carry .devbench):
#   sh scripts/device-check.sh [flags of bench/device-args.ts]
# The device check (bench/device-sections.ts) at full size: adapter, the
# correctness gate of every registered variant, per-kernel times ours vs
# TF.js, the six workloads; section budgets 40 + 150 + 130 s (--budgets),
# killed at DEVICE_TIMEOUT (350 s) whatever happens. $OUT/device.json is
# rewritten after every item, so a kill keeps what was measured;
# $OUT/device.log has the log.
set -e
cd "$(dirname "$0")/.."
. scripts/device-setup.sh
set +e
timeout ${DEVICE_TIMEOUT:-350} $B/node $B/device-node.mjs --run-device --out "$OUTDIR/device.json" "$@" 2>&1 | tee "$OUTDIR/device.log"

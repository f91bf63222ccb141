#!/bin/sh
# Runs on the GPU machine, as one command of the device tool, after
# scripts/device-bundle.sh here (carry .devbench):
#   sh scripts/device-check.sh [flags of bench/device-args.ts]
# The device check (bench/device-sections.ts) at full size, one Node process
# per section so that a crash (a driver or Dawn fault in one kernel) loses
# only that section: adapter, the correctness gate of every registered
# variant, per-kernel times ours vs TF.js, the six workloads. Budgets
# 35 + 140 + 120 s (bench/device-args.ts), each process killed 10-15 s past
# its budget: at most about 350 s in all. $OUT/device-<section>.json is
# rewritten after every item, so a kill or crash keeps what was measured;
# $OUT/device.log has the log.
set -e
cd "$(dirname "$0")/.."
. scripts/device-setup.sh
set +e
run() {  # section, seconds, the flags given to this script
  section=$1; limit=$2; shift 2
  echo "== process for $section (killed after $limit s)"
  timeout "$limit" $B/node $B/device-node.mjs --run-device --sections "$section" --out "$OUTDIR/device-$section.json" "$@"
  echo "== $section exited with $?"
}
{
  run adapter 15 "$@"
  run gate 45 "$@"
  run kernels 155 "$@"
  run workloads 135 "$@"
} 2>&1 | tee "$OUTDIR/device.log"

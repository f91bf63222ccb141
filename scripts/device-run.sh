#!/bin/sh
# Runs on the GPU machine (see scripts/device-bundle.sh): Vulkan loader from
# .gl/*.deb, node and dawn.node from .devbench/, then the Node/Dawn bench at
# the issue's full sizes. Extra arguments go to the bench. Output: $OUT/bench.json, $OUT/bench.log.
set -e
cd "$(dirname "$0")/.."
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
unxz_to() {  # xz-utils may be missing on a bare machine: Python's lzma then
  if command -v xz >/dev/null; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
B=/tmp/devbench; mkdir -p $B/node_modules/webgpu/dist/linux-x64
unxz_to .devbench/node.xz $B/node; chmod +x $B/node
unxz_to .devbench/node_modules/webgpu/dist/linux-x64/dawn.node.xz $B/node_modules/webgpu/dist/linux-x64/dawn.node
cp .devbench/node_modules/webgpu/index.js .devbench/node_modules/webgpu/package.json $B/node_modules/webgpu/
cp .devbench/bench-node.mjs $B/
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
OUTDIR=${OUT:-/tmp/out}; mkdir -p "$OUTDIR"
set +e
timeout ${BENCH_TIMEOUT:-380} $B/node $B/bench-node.mjs --run-node-bench --node --full --out "$OUTDIR/bench.json" "$@" 2>&1 | tee "$OUTDIR/bench.log"

#!/bin/sh
# Prepares .devbench/ (git-ignored through .git/info/exclude, which this adds)
# for running the Node/Dawn benchmark and device check on a machine that has
# a GPU but no node, npm or network; pass it as a `carry` path:
#   .devbench/bench-node.mjs   bench/node.ts and everything it imports (TF.js included), one ES module
#   .devbench/device-node.mjs  bench/device-node.ts (the device check, bench/device-sections.ts), likewise
#   .devbench/node_modules/webgpu/  the `webgpu` package's loader and its linux-x64 dawn.node (xz)
#   .devbench/node.xz          this machine's x86-64 node binary
#   .devbench/lib/libvulkan.so.1  this machine's Vulkan loader (the GPU machine has the driver's ICD, maybe no loader)
# On the device: scripts/device-check.sh (the device check) or scripts/device-run.sh (the bench).
set -e
cd "$(dirname "$0")/.."
exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
if ! grep -qx '.devbench/' "$exclude" 2>/dev/null; then echo '.devbench/' >> "$exclude"; fi
mkdir -p .devbench/node_modules/webgpu/dist/linux-x64 .devbench/lib
bundle() {  # entry outfile
  npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --outfile="$2" --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
}
bundle bench/node.ts .devbench/bench-node.mjs
bundle bench/device-node.ts .devbench/device-node.mjs
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .devbench/node_modules/webgpu/
[ -f .devbench/node_modules/webgpu/dist/linux-x64/dawn.node.xz ] || xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .devbench/node_modules/webgpu/dist/linux-x64/dawn.node.xz
[ -f .devbench/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .devbench/node.xz
loader=$(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1.* 2>/dev/null | head -n 1)
if [ -n "$loader" ]; then cp "$loader" .devbench/lib/libvulkan.so.1
else echo "no Vulkan loader here (apt-get install libvulkan1): the device must have its own" >&2; fi
du -sh .devbench
du -ab .devbench | sort -n | tail -n 8

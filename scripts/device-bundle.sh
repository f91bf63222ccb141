#!/bin/sh
# Prepares .devbench/ (git-ignored via .git/info/exclude) for running the
# benchmark's Node/Dawn path on a machine that has a GPU but no node or npm:
#   .devbench/bench-node.mjs   bench/node.ts and everything it imports (TF.js included), one ES module
#   .devbench/node_modules/webgpu/  the `webgpu` package's loader and its linux-x64 dawn.node (xz)
#   .devbench/node.xz          this machine's x86-64 node binary
# On the device: scripts/device-run.sh unpacks them and runs the bench.
set -e
cd "$(dirname "$0")/.."
mkdir -p .devbench/node_modules/webgpu/dist/linux-x64
npx esbuild bench/node.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.devbench/bench-node.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .devbench/node_modules/webgpu/
[ -f .devbench/node_modules/webgpu/dist/linux-x64/dawn.node.xz ] || xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .devbench/node_modules/webgpu/dist/linux-x64/dawn.node.xz
[ -f .devbench/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .devbench/node.xz
du -sh .devbench

// npm run topk -- --model <file> --images <folder> [--layers conv1,conv2] [--k 9] [--channels 0,3] [--out topk-out] [--host dawn|chromium]
// The k strongest activations per channel of the chosen layers (default: every
// Conv2D) over a folder of images, each with its image patch and DeconvNet
// projection (Zeiler & Fergus 2014, Fig. 2): <out>/topk.json and one PNG per
// channel, <out>/<layer>-c<channel>.png (projections left, patches right).
// Node on Dawn where it finds an adapter (PNG images), else headless Chromium.
import { arg } from './chromium-runner.js';
import { runOnHost, modelFiles, imageFiles, browserNeededFor } from './node-gpu.js';
import type { TopkArgs } from './topk-page.js';

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const images = imageFiles(arg('images', '.'));
const args: TopkArgs = {
  modelFiles: modelFiles(arg('model', '')),
  images,
  layers: list(arg('layers', '')),
  k: Number(arg('k', '9')),
  channels: arg('channels', '') ? list(arg('channels', '')).map(Number) : null,
  out: arg('out', 'topk-out'),
};
await runOnHost('scripts/topk-page.ts', { ...args }, browserNeededFor(images));

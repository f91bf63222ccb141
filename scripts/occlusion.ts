// npm run occlusion -- --model <file> --image <file> [--layer conv4] [--size 8] [--stride 4] [--class 5] [--out occlusion-out] [--host dawn|chromium]
// Occlusion sensitivity of one image (Zeiler & Fergus 2014, Fig. 7): a grey
// square slid over the image, with (a) the total activation of the layer's
// strongest feature map, (b) the class probability, (c) the most probable
// class at each position: <out>/occlusion.json and feature.png,
// probability.png, label.png. Node on Dawn where it finds an adapter (PNG
// image), else headless Chromium.
import { arg } from './chromium-runner.js';
import { runOnHost, modelFiles, browserNeededFor } from './node-gpu.js';
import type { OcclusionArgs } from './occlusion-page.js';

const image = arg('image', '');
const args: OcclusionArgs = {
  modelFiles: modelFiles(arg('model', '')),
  image,
  layer: arg('layer', ''),
  size: Number(arg('size', '0')),
  stride: Number(arg('stride', '0')),
  classIndex: Number(arg('class', '-1')),
  out: arg('out', 'occlusion-out'),
};
await runOnHost('scripts/occlusion-page.ts', { ...args }, browserNeededFor([image]));

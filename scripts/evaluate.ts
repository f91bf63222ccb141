// npm run evaluate [-- --data DIR --model demo/public/models/fashion-zfnet --host dawn|chromium]
// Runs a saved model over the 10,000 Fashion-MNIST test images on WebGPU:
// in Node on Dawn where it finds an adapter, else in headless Chromium.
import { arg } from './chromium-runner.js';
import { runOnHost } from './node-gpu.js';

await runOnHost('scripts/evaluate-page.ts', {
  dir: arg('data', '/usr/share/datasets/fashion-mnist'),
  model: arg('model', 'demo/public/models/fashion-zfnet'),
});

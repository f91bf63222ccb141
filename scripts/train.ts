// npm run train [-- --epochs 4 --batch 64 --lr 0.002 --data DIR --out demo/public/models/fashion-zfnet --limit N --host dawn|chromium]
// Trains the default ZFNet-style model on the Fashion-MNIST training set on
// WebGPU, evaluating on the test set and saving the weights after every
// epoch: in Node on Dawn where it finds an adapter, else in headless Chromium.
import { arg } from './chromium-runner.js';
import { runOnHost } from './node-gpu.js';

await runOnHost('scripts/train-page.ts', {
  dir: arg('data', '/usr/share/datasets/fashion-mnist'),
  out: arg('out', 'demo/public/models/fashion-zfnet'),
  epochs: Number(arg('epochs', '4')),
  batchSize: Number(arg('batch', '64')),
  learningRate: Number(arg('lr', '0.002')),
  limit: Number(arg('limit', '0')),
  command: `npm run train -- ${process.argv.slice(2).join(' ')}`.trim(),
});

// npm run train [-- --epochs 4 --batch 64 --lr 0.002 --data DIR --out demo/public/models/fashion-zfnet --limit N]
// Trains the default ZFNet-style model on the Fashion-MNIST training set on
// WebGPU in headless Chromium, evaluating on the test set and saving the
// weights after every epoch.
import { runInChromium, arg } from './chromium-runner.js';

const args = {
  dir: arg('data', '/usr/share/datasets/fashion-mnist'),
  out: arg('out', 'demo/public/models/fashion-zfnet'),
  epochs: Number(arg('epochs', '4')),
  batchSize: Number(arg('batch', '64')),
  learningRate: Number(arg('lr', '0.002')),
  limit: Number(arg('limit', '0')),
  command: `npm run train -- ${process.argv.slice(2).join(' ')}`.trim(),
};
await runInChromium('scripts/train-page.ts', args);

// npm run evaluate [-- --data DIR --model demo/public/models/fashion-zfnet]
// Runs the committed model over the 10,000 Fashion-MNIST test images on WebGPU (headless Chromium).
import { runInChromium, arg } from './chromium-runner.js';

await runInChromium('scripts/evaluate-page.ts', {
  dir: arg('data', '/usr/share/datasets/fashion-mnist'),
  model: arg('model', 'demo/public/models/fashion-zfnet'),
});

// npm run evaluate [-- --data DIR --model demo/models/fashion-zfnet]
// Runs the committed model over the 10,000 Fashion-MNIST test images on WebGPU.
import { readFileSync } from 'node:fs';
import { createRuntime } from '../src/index.js';
import { loadModel } from '../src/model/serialize.js';
import { evaluate } from '../src/train/trainer.js';
import { nodeGpu, arg } from './node-gpu.js';
import { loadFashionMnist, DEFAULT_DIR } from './fashion-mnist.js';

const dir = arg('data', DEFAULT_DIR);
const stem = arg('model', 'demo/models/fashion-zfnet');
const runtime = await createRuntime({ gpu: await nodeGpu() });
const model = loadModel(runtime, JSON.parse(readFileSync(`${stem}.json`, 'utf8')), new Uint8Array(readFileSync(`${stem}.bin`)), `${stem}.json`);
const test = await loadFashionMnist(dir, 't10k');
const started = performance.now();
const result = await evaluate(model, test, { batchSize: 250 });
console.log(`${result.count} images in ${((performance.now() - started) / 1000).toFixed(1)} s on ${runtime.device.adapterInfo?.description || runtime.device.adapterInfo?.vendor || 'WebGPU'}; mean loss ${result.loss.toFixed(4)}`);
console.log(`test accuracy: ${(100 * result.accuracy).toFixed(2)}%`);
model.destroy();
runtime.destroy();
process.exit(0);

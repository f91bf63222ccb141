// npx tsx scripts/dawn-evaluate.ts [--kernel-style tiled|direct] [--limit 500] [--model demo/public/models/fashion-zfnet]
// The evaluation of `npm run evaluate` on Node + Dawn only, on the first
// --limit Fashion-MNIST test images with the kernel family forced: the check
// that the current code runs the `tiled` kernels (workgroup memory +
// barriers), which the crashing evaluate of 631fbfd^ used, without crashing
// (docs/node-dawn.md). Prints the images, the seconds and the accuracy.
import { installDawn } from './node-gpu.js';
import { arg } from './chromium-runner.js';
import { loadFashionMnist, DEFAULT_DIR } from './fashion-mnist.js';
import { createRuntime, loadSavedModel, type KernelStyle } from '../src/index.js';
import { evaluate } from '../src/train/trainer.js';
import { readFileSync } from 'node:fs';

const style = arg('kernel-style', 'tiled') as KernelStyle;
const limit = Number(arg('limit', '500'));
const stem = arg('model', 'demo/public/models/fashion-zfnet');

if (!(await installDawn())) throw new Error('the webgpu package did not load');
const runtime = await createRuntime({ kernelStyle: style });
const model = loadSavedModel(runtime, JSON.parse(readFileSync(`${stem}.json`, 'utf8')), new Uint8Array(readFileSync(`${stem}.bin`)), `${stem}.json`);
const all = await loadFashionMnist(arg('data', DEFAULT_DIR), 't10k');
const count = Math.min(limit, all.count);
const perImage = all.images.length / all.count;
const test = { images: all.images.subarray(0, count * perImage), labels: all.labels.subarray(0, count), count };
const started = performance.now();
const result = await evaluate(model, test, { batchSize: 250 });
console.log(`${result.count} images, kernelStyle '${runtime.kernelStyle}', ${((performance.now() - started) / 1000).toFixed(1)} s; test accuracy ${(100 * result.accuracy).toFixed(2)}%`);
model.destroy();
runtime.destroy();
process.exit(0);

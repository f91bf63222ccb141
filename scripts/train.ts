// npm run train [-- --epochs 8 --batch 64 --lr 0.002 --data DIR --out demo/models/fashion-zfnet]
// Trains the default ZFNet-style model on the Fashion-MNIST training set on
// WebGPU (Node + Dawn; SwiftShader on a machine without a GPU), evaluating on
// the test set and saving the weights after every epoch.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRuntime, createModel, FASHION_MNIST_CLASSES } from '../src/index.js';
import { fashionZFNetLayers } from '../src/model/architectures.js';
import { saveModel } from '../src/model/serialize.js';
import { train, evaluate } from '../src/train/trainer.js';
import { nodeGpu, arg } from './node-gpu.js';
import { loadFashionMnist, DEFAULT_DIR } from './fashion-mnist.js';

const dir = arg('data', DEFAULT_DIR);
const out = arg('out', 'demo/models/fashion-zfnet');
const epochs = Number(arg('epochs', '8'));
const batchSize = Number(arg('batch', '64'));
const learningRate = Number(arg('lr', '0.002'));
const limit = Number(arg('limit', '0')); // train on the first N images only (quick runs)

const runtime = await createRuntime({ gpu: await nodeGpu() });
const model = createModel(runtime, { inputShape: [1, 28, 28], layers: fashionZFNetLayers(1) });
const full = await loadFashionMnist(dir, 'train');
const trainSet = limit > 0 ? { images: full.images.subarray(0, limit * 784), labels: full.labels.subarray(0, limit), count: limit } : full;
const testSet = await loadFashionMnist(dir, 't10k');
console.log(`training on ${trainSet.count} images, ${epochs} epochs, batch ${batchSize}, Adam lr ${learningRate} (cosine), on ${runtime.device.adapterInfo?.description || 'WebGPU'}`);

const started = performance.now();
const history: Array<{ epoch: number; testAccuracy: number; seconds: number }> = [];
mkdirSync(dirname(out), { recursive: true });
await train(model, trainSet, {
  epochs, batchSize, seed: 1,
  optimizer: { kind: 'adam', learningRate },
  schedule: 'cosine',
  logEvery: 100,
  onLog: (e) => console.log(`epoch ${e.epoch.toFixed(2)} step ${e.step}: loss ${e.loss.toFixed(4)} accuracy ${(100 * e.accuracy).toFixed(1)}% lr ${e.learningRate.toExponential(2)} (${((performance.now() - started) / 1000).toFixed(0)} s)`),
  onEpoch: async (epoch) => {
    const test = await evaluate(model, testSet, { batchSize: 250 });
    const seconds = (performance.now() - started) / 1000;
    history.push({ epoch, testAccuracy: test.accuracy, seconds });
    console.log(`== epoch ${epoch}: test accuracy ${(100 * test.accuracy).toFixed(2)}% (${seconds.toFixed(0)} s)`);
    const { manifest, weights } = await saveModel(model, {
      classes: FASHION_MNIST_CLASSES,
      trainedOn: 'Fashion-MNIST training set (60,000 images), Debian dataset-fashion-mnist, MIT licence (Zalando SE)',
      command: `npm run train -- --epochs ${epochs} --batch ${batchSize} --lr ${learningRate}`,
      epochsDone: epoch,
      testAccuracy: test.accuracy,
      history,
    });
    writeFileSync(`${out}.json`, JSON.stringify(manifest, null, 1) + '\n');
    writeFileSync(`${out}.bin`, weights);
  },
});
console.log(`done in ${((performance.now() - started) / 60000).toFixed(1)} min; weights in ${out}.json/.bin`);
model.destroy();
runtime.destroy();
process.exit(0);

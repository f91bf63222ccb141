// Runs in Node on Dawn or in Chromium (see train.ts): trains the default model on Fashion-MNIST
// and writes its weights after every epoch.
import { createRuntime, createModel, FASHION_MNIST_CLASSES } from '../src/index.js';
import { fashionZFNetLayers } from '../src/model/architectures.js';
import { saveModel } from '../src/model/serialize.js';
import { train, evaluate } from '../src/train/trainer.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { writeBytes, writeText } from './page-io.js';

export interface TrainArgs { dir: string; out: string; epochs: number; batchSize: number; learningRate: number; limit: number; command: string }

export async function main(a: TrainArgs) {
  const runtime = await createRuntime();
  const model = createModel(runtime, { inputShape: [1, 28, 28], layers: fashionZFNetLayers(1) });
  const full = await loadFashionMnist(a.dir, 'train');
  const trainSet = a.limit > 0 ? { images: full.images.subarray(0, a.limit * 784), labels: full.labels.subarray(0, a.limit), count: a.limit } : full;
  const testSet = await loadFashionMnist(a.dir, 't10k');
  const adapter = runtime.device.adapterInfo;
  console.log(`training on ${trainSet.count} images, ${a.epochs} epochs, batch ${a.batchSize}, Adam lr ${a.learningRate} (cosine), adapter ${adapter?.vendor} ${adapter?.architecture} ${adapter?.description}`);
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(0);
  const history: Array<{ epoch: number; testAccuracy: number; seconds: number }> = [];
  await train(model, trainSet, {
    epochs: a.epochs, batchSize: a.batchSize, seed: 1,
    optimizer: { kind: 'adam', learningRate: a.learningRate },
    schedule: 'cosine',
    logEvery: 100,
    onLog: (e) => console.log(`epoch ${e.epoch.toFixed(2)} step ${e.step}: loss ${e.loss.toFixed(4)} accuracy ${(100 * e.accuracy).toFixed(1)}% lr ${e.learningRate.toExponential(2)} (${seconds()} s)`),
    onEpoch: async (epoch) => {
      const test = await evaluate(model, testSet, { batchSize: 250 });
      history.push({ epoch, testAccuracy: test.accuracy, seconds: Number(seconds()) });
      console.log(`== epoch ${epoch}: test accuracy ${(100 * test.accuracy).toFixed(2)}% (${seconds()} s)`);
      const { manifest, weights } = await saveModel(model, {
        classes: FASHION_MNIST_CLASSES,
        trainedOn: 'Fashion-MNIST training set, Debian dataset-fashion-mnist (MIT licence, Zalando SE)',
        command: a.command,
        epochsDone: epoch,
        testAccuracy: test.accuracy,
        history,
      });
      await writeText(`${a.out}.json`, JSON.stringify(manifest, null, 1) + '\n');
      await writeBytes(`${a.out}.bin`, weights);
    },
  });
  console.log(`done in ${(Number(seconds()) / 60).toFixed(1)} min; weights in ${a.out}.json and ${a.out}.bin`);
  model.destroy();
  runtime.destroy();
}

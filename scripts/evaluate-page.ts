// Runs in Node on Dawn or in Chromium (see evaluate.ts): a saved model over the test set.
import { createRuntime, loadSavedModel } from '../src/index.js';
import { evaluate } from '../src/train/trainer.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { readBytes } from './page-io.js';

export async function main(a: { dir: string; model: string }) {
  const runtime = await createRuntime();
  const manifest = JSON.parse(new TextDecoder().decode(await readBytes(`${a.model}.json`)));
  const model = loadSavedModel(runtime, manifest, await readBytes(`${a.model}.bin`), `${a.model}.json`);
  const test = await loadFashionMnist(a.dir, 't10k');
  const started = performance.now();
  const result = await evaluate(model, test, { batchSize: 250 });
  const info = runtime.device.adapterInfo;
  console.log(`${result.count} images in ${((performance.now() - started) / 1000).toFixed(1)} s on ${info?.vendor} ${info?.architecture}; mean loss ${result.loss.toFixed(4)}`);
  console.log(`test accuracy: ${(100 * result.accuracy).toFixed(2)}%`);
  model.destroy();
  runtime.destroy();
}

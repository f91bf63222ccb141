// Long analyses keep only a few submits queued on the GPU: their progress
// reports work done (not merely queued) and an abort stops them within a
// batch or two. Measured by wrapping the device queue: every submit is
// counted, and its completion is seen through onSubmittedWorkDone.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createModel, Conv2D, MaxPool2D, Flatten, Dense, Softmax, type Runtime, type Model } from '../src/index.js';
import { occlusionSensitivity } from '../src/analysis/occlusion.js';
import { invarianceCurves, transformSeries } from '../src/analysis/invariance.js';
import { topActivations } from '../src/analysis/topk.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';

const SHAPE = [3, 48, 48];
let rt: Runtime;
let model: Model;
const image = makeRandom(3).array(3 * 48 * 48, 0, 1);

beforeAll(async () => {
  rt = await getRuntime();
  const rnd = makeRandom(5);
  model = createModel(rt, {
    inputShape: SHAPE,
    layers: [
      new Conv2D({ name: 'conv1', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernel: rnd.array(16 * 27, -0.3, 0.3), bias: rnd.array(16, -0.1, 0.1) }),
      new Conv2D({ name: 'conv2', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernel: rnd.array(16 * 144, -0.2, 0.2), bias: rnd.array(16, -0.1, 0.1) }),
      new MaxPool2D({ name: 'pool', kernel: 4, stride: 4 }),
      new Flatten({ name: 'flatten' }),
      new Dense({ name: 'fc', units: 4, kernel: rnd.array(4 * 16 * 144, -0.05, 0.05), bias: rnd.array(4, -0.1, 0.1) }),
      new Softmax({ name: 'prob' }),
    ],
  });
});
afterAll(() => model?.destroy());

/** Counts submits and completed submits while `run` goes; returns the most ever unfinished at a progress report. */
async function watchQueue(run: (onProgress: () => void) => Promise<unknown>) {
  const queue = rt.device.queue;
  const submit = queue.submit;
  let submitted = 0, completed = 0, mostInFlight = 0, reports = 0;
  queue.submit = function (buffers: Iterable<GPUCommandBuffer>) {
    submit.call(queue, buffers);
    const n = ++submitted;
    void queue.onSubmittedWorkDone().then(() => { completed = Math.max(completed, n); });
  };
  try {
    await run(() => { reports++; mostInFlight = Math.max(mostInFlight, submitted - completed); });
    await queue.onSubmittedWorkDone();
  } finally {
    queue.submit = submit;
  }
  return { submitted, mostInFlight, reports };
}

describe('pacing of long analyses', () => {
  it('occlusion keeps few submits in flight', async () => {
    const { submitted, mostInFlight, reports } = await watchQueue((onProgress) => occlusionSensitivity(model, image, {
      layer: 'conv2', size: 8, stride: 4, batchSize: 1, onProgress, // one submit a batch (incremental path): 121 + 2
    }));
    expect(submitted).toBeGreaterThan(100);
    expect(reports).toBeGreaterThan(1);
    expect(mostInFlight).toBeLessThanOrEqual(8);
  });

  it('invariance keeps few submits in flight', async () => {
    const { submitted, mostInFlight, reports } = await watchQueue((onProgress) => invarianceCurves(model, image, {
      layers: ['conv1'], transforms: transformSeries('rotate', 0, 360, 120), batchSize: 2, onProgress,
    }));
    expect(submitted).toBeGreaterThan(50);
    expect(reports).toBeGreaterThan(1);
    expect(mostInFlight).toBeLessThanOrEqual(8);
  });

  it('top-k keeps few submits in flight in its dataset pass', async () => {
    const images = Array.from({ length: 200 }, (_, i) => makeRandom(100 + i).array(3 * 48 * 48, 0, 1));
    const { submitted, mostInFlight, reports } = await watchQueue((onProgress) => topActivations(model, images, {
      layers: ['conv2'], k: 2, channels: [0], batchSize: 2, projections: false, onProgress,
    }));
    expect(submitted).toBeGreaterThan(50);
    expect(reports).toBeGreaterThan(1);
    expect(mostInFlight).toBeLessThanOrEqual(8);
  });
});

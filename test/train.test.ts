import { describe, it, expect } from 'vitest';
import {
  createModel, TrainingDivergedError, OutOfRangeError, isTrainable, topActivations,
} from '../src/index.js';
import { train, evaluate, learningRateAt } from '../src/train/trainer.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { makeTinyNet, TINY_INPUT_SHAPE } from './helpers/nets.js';
import { refForward, type RefLayer } from './ref/net.js';

function refLoss(params: Float64Array[], images: Float64Array, labels: Uint8Array, n: number): number {
  const [w1, b1, w2, b2] = params;
  const ref: RefLayer[] = [
    { kind: 'conv', weight: w1!, bias: b1!, outC: 2, k: 3, stride: 1, pad: [0, 0, 0, 0], dilation: 1, groups: 1, relu: true },
    { kind: 'maxpool', k: 2, stride: 2, pad: [0, 0, 0, 0] },
    { kind: 'flatten' }, { kind: 'dense', weight: w2!, bias: b2!, units: 3, relu: false }, { kind: 'softmax' },
  ];
  const probs = refForward(ref, { data: images, shape: [n, 1, 6, 6] }).at(-1)!.output.data;
  let loss = 0;
  for (let i = 0; i < n; i++) loss -= Math.log(probs[i * 3 + labels[i]!]!);
  return loss / n;
}

describe('train', () => {
  it('one SGD step equals a float64 step with the finite-difference gradient of the mean loss', async () => {
    const rt = await getRuntime();
    const net = makeTinyNet(3);
    const n = 4, lr = 0.5;
    const images = makeRandom(8).array(n * 36, 0, 1), labels = Uint8Array.from([0, 2, 1, 2]);
    const model = createModel(rt, { inputShape: TINY_INPUT_SHAPE, layers: net.layers() });
    await train(model, { images, labels, count: n }, { epochs: 1, batchSize: n, optimizer: { kind: 'sgd', learningRate: lr, momentum: 0 } });

    const params = net.params.map((p) => Float64Array.from(p));
    const x = Float64Array.from(images);
    const trained = model.layers.flatMap((l) => (isTrainable(l) ? l.parameters() : []));
    for (let k = 0; k < params.length; k++) {
      const expected = new Float64Array(params[k]!.length);
      for (let i = 0; i < expected.length; i++) {
        const keep = params[k]![i]!, eps = 1e-6;
        params[k]![i] = keep + eps; const up = refLoss(params, x, labels, n);
        params[k]![i] = keep - eps; const down = refLoss(params, x, labels, n);
        params[k]![i] = keep;
        expected[i] = keep - lr * (up - down) / (2 * eps);
      }
      expectClose(await trained[k]!.read(), expected, `parameter ${k} after one step`, { rel: 1e-5, elem: 1e-4 });
    }
    model.destroy();
  });

  it('learns a separable task and evaluate() agrees', async () => {
    const rt = await getRuntime();
    // class c: a bright 2x2 blob in quadrant c (0..2) plus noise
    const rnd = makeRandom(5);
    const n = 96;
    const images = new Float32Array(n * 36), labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      labels[i] = c;
      for (let p = 0; p < 36; p++) images[i * 36 + p] = rnd.uniform(0, 0.2);
      const [y0, x0] = [[0, 0], [0, 3], [3, 0]][c]!;
      for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) images[i * 36 + (y0! + 1 + dy!) * 6 + x0! + 1 + dx!] = 1;
    }
    const model = createModel(rt, { inputShape: TINY_INPUT_SHAPE, layers: makeTinyNet(11).layers() });
    const before = await evaluate(model, { images, labels, count: n });
    const probe = { images: images.subarray(0, 12 * 36), count: 12 };
    const { log, snapshots } = await train(model, { images, labels, count: n }, {
      epochs: 15, batchSize: 16, logEvery: 6, optimizer: { kind: 'adam', learningRate: 0.05 }, schedule: 'cosine',
      snapshots: { epochs: [1, 5, 15], probe, features: [{ layer: 'conv', channel: 0 }, { layer: 'conv', channel: 1 }, { layer: 'fc', channel: 2 }] },
    });
    // Fig. 4 data: one strongest activation + projection per feature and snapshot epoch;
    // the last one equals what topActivations finds with the final weights.
    expect(snapshots.map((s) => [s.epoch, s.layer, s.channel])).toEqual([
      [1, 'conv', 0], [1, 'conv', 1], [1, 'fc', 2], [5, 'conv', 0], [5, 'conv', 1], [5, 'fc', 2], [15, 'conv', 0], [15, 'conv', 1], [15, 'fc', 2],
    ]);
    const [now] = await topActivations(model, probe, { layers: ['fc'], channels: [2], k: 1 });
    const last = snapshots.at(-1)!;
    expect([last.imageIndex, last.value]).toEqual([now!.top[2]![0]!.imageIndex, now!.top[2]![0]!.value]);
    expect(Array.from(last.projection!.data)).toEqual(Array.from(now!.top[2]![0]!.projection!.data));
    expect(snapshots[0]!.value).not.toBe(last.value); // the features changed while training
    const after = await evaluate(model, { images, labels, count: n }, { batchSize: 40 });
    expect(log.length).toBeGreaterThanOrEqual(15);
    expect(log.at(-1)!.loss).toBeLessThan(log[0]!.loss);
    expect(after.accuracy).toBe(1);
    expect(after.loss).toBeLessThan(before.loss);
    expect(log.at(-1)!.accuracy).toBeCloseTo(1, 5);
    model.destroy();
  });

  it('reports divergence with the step, and rejects out-of-range labels', async () => {
    const rt = await getRuntime();
    const model = createModel(rt, { inputShape: TINY_INPUT_SHAPE, layers: makeTinyNet(2).layers() });
    const images = makeRandom(1).array(8 * 36, 0, 1);
    const labels = Uint8Array.from([0, 1, 2, 0, 1, 2, 0, 1]);
    await expect(train(model, { images, labels, count: 8 }, { epochs: 1, batchSize: 8, optimizer: { kind: 'sgd', learningRate: 1e38, momentum: 0 }, logEvery: 1 }))
      .resolves.toBeTruthy(); // the first step's loss was computed with finite weights
    let err: unknown;
    try {
      await train(model, { images, labels, count: 8 }, { epochs: 2, batchSize: 4, optimizer: { kind: 'sgd', learningRate: 1e38, momentum: 0 }, logEvery: 1 });
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as Error).message).toMatch(/training diverged at step \d+: loss is (NaN|Infinity)/);
    await expect(train(model, { images, labels: Uint8Array.from([0, 1, 2, 3, 0, 1, 2, 0]), count: 8 }, { epochs: 1, optimizer: { kind: 'sgd', learningRate: 0.1 } }))
      .rejects.toThrow(OutOfRangeError);
    model.destroy();
  });

  it('learning-rate schedules', () => {
    expect(learningRateAt(0.1, 'cosine', 0, 10)).toBeCloseTo(0.1);
    expect(learningRateAt(0.1, 'cosine', 5, 10)).toBeCloseTo(0.05);
    expect(learningRateAt(0.1, { every: 2, factor: 0.5 }, 4.5, 10)).toBeCloseTo(0.025);
    expect(learningRateAt(0.1, (e) => 1 / (1 + e), 1, 10)).toBeCloseTo(0.5);
  });
});

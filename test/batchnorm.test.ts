import { describe, expect, it } from 'vitest';
import { foldBatchNorm, channelAffine, channelAffineBackward, type BatchNormWeights } from '../src/ops/batchnorm.js';
import { OutOfRangeError, ShapeError } from '../src/gpu/errors.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { expectError } from './helpers/errors.js';
import { makeRandom } from './helpers/random.js';
import { batchNormRef, batchNormBackwardRef } from './ref/batchnorm.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function weights(seed: number, channels: number, epsilon?: number): BatchNormWeights {
  const rnd = makeRandom(seed);
  return {
    scale: rnd.array(channels, -2, 2),
    bias: rnd.array(channels, -1, 1),
    mean: rnd.array(channels, -1, 1),
    variance: rnd.array(channels, 0.05, 3),
    ...(epsilon !== undefined ? { epsilon } : {}),
  };
}

const CASES: Array<{ shape: number[]; epsilon?: number }> = [
  { shape: [1, 1, 1, 1] },
  { shape: [2, 3, 5, 7] },
  { shape: [3, 16, 9, 11] },
  { shape: [4, 10] },
  { shape: [2, 6, 4, 3, 5] },
  { shape: [1, 5, 8, 8], epsilon: 1e-3 },
];

describe('batch normalisation (folded) forward and backward', () => {
  CASES.forEach((c, i) => {
    it(`[${c.shape}]${c.epsilon !== undefined ? ` eps ${c.epsilon}` : ''}`, async () => {
      const rt = await getRuntime();
      const channels = c.shape[1]!;
      const w = weights(70 + i, channels, c.epsilon);
      const { multiplier, offset } = foldBatchNorm(w);
      const rnd = makeRandom(170 + i);
      const xData = rnd.array(size(c.shape), -3, 3), gData = rnd.array(size(c.shape));
      const x = rt.createTensor(c.shape, xData), g = rt.createTensor(c.shape, gData);
      const m = rt.createTensor([channels], multiplier), o = rt.createTensor([channels], offset);
      const [y, dx] = await rt.run('batchnorm', (rec) => [channelAffine(rec, x, m, o), channelAffineBackward(rec, g, m)]);
      expect(y.shape).toEqual(c.shape);
      expectClose(await y.read(), batchNormRef(xData, c.shape, w), 'batchnorm');
      expectClose(await dx.read(), batchNormBackwardRef(gData, c.shape, w), 'batchnorm backward');
      for (const t of [x, g, m, o, y, dx]) t.release();
    });
  });

  it('folds in float64 with the default epsilon 1e-5', () => {
    const w: BatchNormWeights = {
      scale: Float32Array.of(2, 0.5), bias: Float32Array.of(1, -1), mean: Float32Array.of(3, 0.25), variance: Float32Array.of(4 - 1e-5, 1e-8),
    };
    const { multiplier, offset } = foldBatchNorm(w);
    const m1 = 0.5 / Math.sqrt(Math.fround(1e-8) + 1e-5);
    expect(Array.from(multiplier)).toEqual([Math.fround(2 / Math.sqrt(Math.fround(4 - 1e-5) + 1e-5)), Math.fround(m1)]);
    expect(Array.from(offset)).toEqual([
      Math.fround(1 - 3 * (2 / Math.sqrt(Math.fround(4 - 1e-5) + 1e-5))), Math.fround(-1 - 0.25 * m1),
    ]);
  });
});


describe('batchnorm errors', () => {
  it('channel-count mismatch in channelAffine', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([2, 3, 4, 4], new Float32Array(96));
    const c3 = rt.createTensor([3], new Float32Array(3)), c4 = rt.createTensor([4], new Float32Array(4));
    await expectError((rec) => channelAffine(rec, x, c4, c3), ShapeError, ['channelAffine', 'multiplier', '4', '3 channels']);
    await expectError((rec) => channelAffine(rec, x, c3, c4), ShapeError, ['channelAffine', 'offset', '4', '3 channels']);
    await expectError((rec) => channelAffineBackward(rec, x, c4), ShapeError, ['channelAffine backward', '4', '3 channels']);
    await expectError((rec) => channelAffine(rec, c3, c3, c3), ShapeError, ['channelAffine', '[3]']);
  });

  it('inconsistent or invalid batchnorm weights', () => {
    const w = weights(1, 3);
    expect(() => foldBatchNorm({ ...w, mean: new Float32Array(4) })).toThrow(ShapeError);
    expect(() => foldBatchNorm({ ...w, mean: new Float32Array(4) })).toThrow(/mean has 4 values, scale has 3/);
    expect(() => foldBatchNorm({ ...w, variance: Float32Array.of(1, -1, 1) })).toThrow(OutOfRangeError);
    expect(() => foldBatchNorm({ ...w, variance: Float32Array.of(1, -1, 1) })).toThrow(/channel 1/);
    expect(() => foldBatchNorm({ ...w, epsilon: -1 })).toThrow(OutOfRangeError);
  });
});

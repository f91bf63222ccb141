import { describe, expect, it } from 'vitest';
import { lrn, lrnBackward, type LrnAttrs } from '../src/ops/lrn.js';
import { ShapeError, OutOfRangeError } from '../src/gpu/errors.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { lrnRef, lrnBackwardRef, type LrnRefAttrs } from './ref/lrn.js';
import { dot, numericGradient } from './ref/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface LrnCase { name: string; shape: number[]; attrs: LrnAttrs }

// Channel counts are not multiples of the window; alpha is large enough that
// the normalisation (and the cross-channel terms of the gradient) matter.
const CASES: LrnCase[] = [
  { name: 'size 5, AlexNet constants', shape: [2, 7, 5, 3], attrs: { size: 5, alpha: 1e-4, beta: 0.75, bias: 2 } },
  { name: 'size 5, strong', shape: [2, 7, 5, 3], attrs: { size: 5, alpha: 0.5, beta: 0.75, bias: 1 } },
  { name: 'size 3', shape: [1, 8, 4, 5], attrs: { size: 3, alpha: 0.3, beta: 0.6, bias: 1.5 } },
  { name: 'even size 4 (window one wider after)', shape: [2, 5, 3, 3], attrs: { size: 4, alpha: 0.4, beta: 0.75, bias: 1 } },
  { name: 'size 1', shape: [1, 3, 4, 4], attrs: { size: 1, alpha: 0.5, beta: 1.2, bias: 0.5 } },
  { name: 'window wider than C', shape: [2, 4, 3, 2], attrs: { size: 9, alpha: 0.2, beta: 0.75, bias: 1 } },
  { name: 'defaults', shape: [1, 6, 2, 3], attrs: { size: 5 } },
  { name: 'more elements than a workgroup, 2-D', shape: [3, 11, 13], attrs: { size: 3, alpha: 0.3, beta: 0.75, bias: 1 } },
];

const refAttrs = (a: LrnAttrs): LrnRefAttrs => ({ size: a.size, alpha: a.alpha ?? 1e-4, beta: a.beta ?? 0.75, bias: a.bias ?? 1 });

async function run(c: LrnCase, data: Float32Array, gData: Float32Array) {
  const rt = await getRuntime();
  const x = rt.createTensor(c.shape, data), g = rt.createTensor(c.shape, gData);
  const { y, dx } = await rt.run('lrn', (rec) => ({ y: lrn(rec, x, c.attrs), dx: lrnBackward(rec, g, x, c.attrs) }));
  const result = { y: await y.read(), dx: await dx.read() };
  for (const t of [x, g, y, dx]) t.release();
  return result;
}

describe('lrn forward and backward', () => {
  for (const c of CASES) {
    it(`${c.name} [${c.shape}]`, async () => {
      const n = size(c.shape);
      const data = makeRandom(n).array(n, -2, 2), gData = makeRandom(n + 1).array(n, -1, 1);
      const got = await run(c, data, gData);
      const a = refAttrs(c.attrs);
      expectClose(got.y, lrnRef(data, c.shape, a), 'lrn');
      const analytic = lrnBackwardRef(gData, data, c.shape, a);
      expectClose(got.dx, analytic, 'lrn backward vs analytic ref');
      const numeric = numericGradient((xd) => dot(gData, lrnRef(xd, c.shape, a)), data, 1e-5);
      expectClose(analytic, numeric, 'analytic ref vs central differences');
      expectClose(got.dx, numeric, 'lrn backward vs central differences');
    });
  }

  it('the cross-channel term is not negligible in the strong cases', () => {
    // Otherwise the backward tests would pass with the diagonal dx = g * D^-beta alone.
    const c = CASES[1]!, n = size(c.shape);
    const data = makeRandom(n).array(n, -2, 2), gData = makeRandom(n + 1).array(n, -1, 1);
    const a = refAttrs(c.attrs);
    const y = lrnRef(data, c.shape, a);
    const full = lrnBackwardRef(gData, data, c.shape, a);
    const cross = full.map((v, i) => Math.abs(v - gData[i]! * (y[i]! / data[i]!)));
    expect(Math.max(...cross)).toBeGreaterThan(0.1);
  });
});

describe('lrn errors', () => {
  const bad: Array<[string, LrnAttrs, RegExp]> = [
    ['size 0', { size: 0 }, /lrn: size must be an integer >= 1, got 0/],
    ['size 2.5', { size: 2.5 }, /lrn: size .* got 2.5/],
    ['bias 0', { size: 3, bias: 0 }, /lrn: bias must be > 0, got 0/],
    ['negative alpha', { size: 3, alpha: -1 }, /lrn: alpha must be >= 0, got -1/],
  ];
  for (const [what, attrs, message] of bad) {
    it(what, async () => {
      const rt = await getRuntime();
      const x = rt.createTensor([1, 3, 2, 2], new Float32Array(12));
      const attempt = rt.run('lrn error', (rec) => lrn(rec, x, attrs));
      await expect(attempt).rejects.toThrow(OutOfRangeError);
      await expect(attempt).rejects.toThrow(message);
      x.release();
    });
  }

  it('backward with a signal of another shape', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 3, 2, 2], new Float32Array(12)), g = rt.createTensor([1, 3, 4], new Float32Array(12));
    const attempt = rt.run('lrn error', (rec) => lrnBackward(rec, g, x, { size: 3 }));
    await expect(attempt).rejects.toThrow(ShapeError);
    await expect(attempt).rejects.toThrow(/lrnBackward: signal \[1,3,4\] and forward input \[1,3,2,2\]/);
  });

  it('1-D input', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([12], new Float32Array(12));
    await expect(rt.run('lrn error', (rec) => lrn(rec, x, { size: 3 }))).rejects.toThrow(/lrn: input must be \[N, C, \.\.\.\], got \[12\]/);
  });
});

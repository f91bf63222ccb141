import { describe, expect, it } from 'vitest';
import { avgPool2d, avgPool2dBackward, globalAvgPool2d, type AvgPool2dAttrs } from '../src/ops/avgpool2d.js';
import { ShapeError, OutOfRangeError } from '../src/gpu/errors.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { POOL_CASES, avgPoolBackwardRef, avgPoolRef, dot, windowTaps, type PoolCase } from './ref/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

async function forwardAndBackward(data: Float32Array, gData: Float32Array, c: PoolCase, attrs: AvgPool2dAttrs) {
  const rt = await getRuntime();
  const x = rt.createTensor(c.shape, data);
  const g = rt.createTensor([c.shape[0], c.shape[1], c.geom.outH, c.geom.outW], gData);
  const { y, dx } = await rt.run('avgPool2d', (rec) => ({
    y: avgPool2d(rec, x, attrs),
    dx: avgPool2dBackward(rec, g, c.shape, attrs),
  }));
  const result = { yShape: y.shape, y: await y.read(), dx: await dx.read() };
  for (const t of [x, g, y, dx]) t.release();
  return result;
}

/** Whether some window of the case reaches into the padding, so the two divisors differ. */
function touchesPadding(c: PoolCase): boolean {
  for (let oy = 0; oy < c.geom.outH; oy++) {
    for (let ox = 0; ox < c.geom.outW; ox++) {
      const { taps, padded } = windowTaps(c.shape[2], c.shape[3], c.geom, oy, ox);
      if (taps.length !== padded) return true;
    }
  }
  return false;
}

describe('avgPool2d forward, backward and adjoint', () => {
  for (const include of [false, true]) {
    for (const c of POOL_CASES) {
      it(`${c.name} [${c.shape}] countIncludePad=${include}`, async () => {
        const attrs = { ...c.attrs, countIncludePad: include };
        const n = size(c.shape), m = c.shape[0] * c.shape[1] * c.geom.outH * c.geom.outW;
        const data = makeRandom(n).array(n, -2, 2), gData = makeRandom(m + 1).array(m, -1, 1);
        const got = await forwardAndBackward(data, gData, c, attrs);
        expect(got.yShape).toEqual([c.shape[0], c.shape[1], c.geom.outH, c.geom.outW]);
        expectClose(got.y, avgPoolRef(data, c.shape, c.geom, include), 'avgPool2d');
        expectClose(got.dx, avgPoolBackwardRef(gData, c.shape, c.geom, include), 'avgPool2d backward');
        const lhs = dot(got.y, gData), rhs = dot(data, got.dx);
        expect(Math.abs(lhs - rhs), `<avgpool(x), g> = ${lhs}, <x, backward(g)> = ${rhs}`).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + 1));
      });
    }
  }

  it('the padded cases do exercise both divisors', () => {
    const padded = POOL_CASES.filter(touchesPadding).map((c) => c.name);
    expect(padded.length).toBeGreaterThanOrEqual(6);
    // ceil mode with no padding still has windows running past the input: padded = in-input there.
    const ceil = POOL_CASES.find((c) => c.name.startsWith('3x3 s2 ceilMode'))!;
    expect(touchesPadding(ceil)).toBe(false);
  });

  it('count_include_pad divisor by hand: 3x3 pad 1 corner window = sum / 9 vs sum / 4', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 1, 3, 3], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const attrs: AvgPool2dAttrs = { kernel: 3, stride: 2, padding: [1, 1, 1, 1] };
    const [a, b] = await rt.run('by hand', (rec) => [
      avgPool2d(rec, x, attrs), avgPool2d(rec, x, { ...attrs, countIncludePad: true }),
    ]);
    expectClose(await a!.read(), [12 / 4, 16 / 4, 24 / 4, 28 / 4]);
    expectClose(await b!.read(), [12 / 9, 16 / 9, 24 / 9, 28 / 9]);
  });
});

describe('globalAvgPool2d', () => {
  it('one mean per (n, c) of [2, 5, 7, 9]', async () => {
    const rt = await getRuntime();
    const shape = [2, 5, 7, 9];
    const data = makeRandom(8).array(size(shape), -1, 3);
    const x = rt.createTensor(shape, data);
    const y = await rt.run('gap', (rec) => globalAvgPool2d(rec, x));
    expect(y.shape).toEqual([2, 5, 1, 1]);
    const ref = Array.from({ length: 10 }, (_, p) => data.subarray(p * 63, (p + 1) * 63).reduce((s, v) => s + v, 0) / 63);
    expectClose(await y.read(), ref, 'globalAvgPool2d');
    x.release(); y.release();
  });
});

describe('avgPool2d errors', () => {
  it('kernel bigger than the padded input', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 2, 3, 3], new Float32Array(18));
    const run = rt.run('err', (rec) => avgPool2d(rec, x, { kernel: 4, padding: [0, 0, 0, 0] }));
    await expect(run).rejects.toThrow(ShapeError);
    await expect(run).rejects.toThrow(/avgPool2d.*4x4.*3x3/);
  });
  it('pad >= kernel', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 2, 8, 8], new Float32Array(128));
    await expect(rt.run('err', (rec) => avgPool2d(rec, x, { kernel: 3, padding: [1, 3, 1, 1] }))).rejects.toThrow(OutOfRangeError);
  });
  it('zero stride', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 2, 8, 8], new Float32Array(128));
    await expect(rt.run('err', (rec) => avgPool2d(rec, x, { kernel: 3, stride: 0 }))).rejects.toThrow(/avgPool2d: stride.*0/);
  });
  it('backward signal of the wrong shape', async () => {
    const rt = await getRuntime();
    const g = rt.createTensor([1, 2, 3, 4], new Float32Array(24));
    const run = rt.run('err', (rec) => avgPool2dBackward(rec, g, [1, 2, 8, 8], { kernel: 2 }));
    await expect(run).rejects.toThrow(ShapeError);
    await expect(run).rejects.toThrow(/avgPool2dBackward: signal \[1,2,3,4\].*\[1,2,4,4\]/);
  });
});

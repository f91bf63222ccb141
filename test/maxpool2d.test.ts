import { beforeAll, describe, expect, it } from 'vitest';
import { maxPool2d } from '../src/ops/maxpool2d.js';
import { poolGeometry, type Pool2dAttrs } from '../src/ops/pool_geometry.js';
import { ShapeError, OutOfRangeError } from '../src/gpu/errors.js';
import { KERNEL_STYLES, styledRuntime } from './helpers/kernel_styles.js';
import type { KernelStyle } from '../src/gpu/runtime.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { POOL_CASES, maxPoolRef, type RefGeometry } from './ref/pool.js';

/** The kernel style of the describe block running now (set by its beforeAll). */
let currentStyle: KernelStyle = 'tiled';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

async function runMaxPool(data: Float32Array, shape: number[], attrs: Pool2dAttrs) {
  const rt = await styledRuntime(currentStyle);
  const x = rt.createTensor(shape, data);
  const { output, switches } = await rt.run('maxPool2d', (rec) => maxPool2d(rec, x, attrs));
  const result = { shape: output.shape, values: await output.read(), switches: await rt.readU32(switches) };
  x.release(); output.release(); switches.release();
  return result;
}

async function expectMatchesRef(data: Float32Array, shape: number[], attrs: Pool2dAttrs, geom: RefGeometry) {
  const got = await runMaxPool(data, shape, attrs);
  const ref = maxPoolRef(data, shape, geom);
  expect(got.shape).toEqual([shape[0], shape[1], geom.outH, geom.outW]);
  expect(Array.from(got.switches), 'switches').toEqual(Array.from(ref.switches));
  // A selection, so the value is the input's bits, not an approximation.
  expect(Array.from(got.values), 'values').toEqual(Array.from(Float32Array.from(ref.values)));
  return got;
}

describe('poolGeometry', () => {
  for (const c of POOL_CASES) {
    it(c.name, () => {
      expect(poolGeometry(c.shape, c.attrs, 'maxPool2d')).toEqual(c.geom);
    });
  }
});

for (const style of KERNEL_STYLES) describe(`maxPool2d forward and switches [${style}]`, () => {
  beforeAll(() => { currentStyle = style; });
  for (const c of POOL_CASES) {
    it(`${c.name} [${c.shape}]`, async () => {
      const data = makeRandom(size(c.shape) + c.name.length).array(size(c.shape), -4, 4);
      await expectMatchesRef(data, c.shape, c.attrs, c.geom);
    });
  }
});

for (const style of KERNEL_STYLES) describe(`maxPool2d ties [${style}]`, () => {
  beforeAll(() => { currentStyle = style; });
  it('a constant input picks the first position inside the input of every window', async () => {
    const c = POOL_CASES.find((k) => k.name.startsWith('3x3 s2 asymmetric'))!;
    const got = await expectMatchesRef(new Float32Array(size(c.shape)).fill(0.5), c.shape, c.attrs, c.geom);
    // Window (0, 0) covers rows 0..2, columns -1..1: its first tap inside the input is (0, 0).
    // Window (1, 1) covers rows 2..4, columns 1..3: first tap (2, 1) = 2 * 7 + 1.
    expect(got.switches[0]).toBe(0);
    expect(got.switches[1 * 4 + 1]).toBe(2 * 7 + 1);
  });

  it('repeated values (4 levels) in overlapping windows: first in (ky, kx) order wins', async () => {
    const c = POOL_CASES.find((k) => k.name.startsWith('ZFNet'))!;
    const rnd = makeRandom(99);
    const data = Float32Array.from({ length: size(c.shape) }, () => rnd.int(0, 3));
    await expectMatchesRef(data, c.shape, c.attrs, c.geom);
  });

  it('a window of equal maxima chooses its top-left one, even after a smaller first tap', async () => {
    // Plane 4x4, 2x2 s2: window (0,0) = [1 3; 3 3] -> switch 1 (row 0, col 1);
    // window (0,1) = [2 2; 2 2] -> 2; window (1,0) = [0 1; 5 5] -> 12; window (1,1) = [-1 -2; -2 -1] -> 10.
    const data = new Float32Array([
      1, 3, 2, 2,
      3, 3, 2, 2,
      0, 1, -1, -2,
      5, 5, -2, -1,
    ]);
    const got = await runMaxPool(data, [1, 1, 4, 4], { kernel: 2 });
    expect(Array.from(got.switches)).toEqual([1, 2, 12, 10]);
    expect(Array.from(got.values)).toEqual([3, 2, 5, -1]);
  });

  it('-inf inputs are chosen over padding', async () => {
    const data = new Float32Array(2 * 5 * 5).fill(-Infinity);
    data[30] = 1;
    const attrs: Pool2dAttrs = { kernel: 3, stride: 2, padding: [1, 1, 1, 1] };
    const geom = poolGeometry([1, 2, 5, 5], attrs, 'test');
    const got = await runMaxPool(data, [1, 2, 5, 5], attrs);
    const ref = maxPoolRef(data, [1, 2, 5, 5], geom);
    expect(Array.from(got.switches)).toEqual(Array.from(ref.switches));
    expect(Array.from(got.values)).toEqual(Array.from(ref.values));
    expect(got.values[0]).toBe(-Infinity);
    expect(got.switches[0]).toBe(0);
  });
});

for (const style of KERNEL_STYLES) describe(`maxPool2d NaN [${style}]`, () => {
  beforeAll(() => { currentStyle = style; });
  it('propagates NaN as the value; the switch is the first NaN of the window', async () => {
    const data = makeRandom(5).array(36, -1, 1);
    data[1 * 6 + 1] = NaN;   // window (0, 0), 3x3 s2 pad 0 on a 6x6 plane -> windows cover rows/cols 0..2, 2..4
    data[2 * 6 + 2] = NaN;   // in windows (0,0), (0,1), (1,0), (1,1); first NaN of (0, 0) is position 7
    const got = await runMaxPool(data, [1, 1, 6, 6], { kernel: 3, stride: 2 });
    expect(got.values.every((v) => Number.isNaN(v)), `values ${Array.from(got.values)}`).toBe(true);
    expect(Array.from(got.switches)).toEqual([7, 14, 14, 14]);
  });
});

describe('maxPool2d errors', () => {
  const cases: Array<{ what: string; shape: number[]; attrs: Pool2dAttrs; error: typeof ShapeError | typeof OutOfRangeError; message: RegExp }> = [
    { what: 'kernel bigger than the padded input', shape: [1, 1, 4, 4], attrs: { kernel: 5, padding: [0, 0, 0, 0] }, error: ShapeError, message: /maxPool2d.*5x5.*4x4/ },
    { what: 'kernel bigger than the padded input (one axis)', shape: [1, 1, 4, 6], attrs: { kernel: [6, 3], padding: [1, 0, 0, 0] }, error: ShapeError, message: /maxPool2d.*6x3.*5x6/ },
    { what: 'pad equal to the kernel', shape: [1, 1, 8, 8], attrs: { kernel: 2, padding: [0, 2, 0, 0] }, error: OutOfRangeError, message: /maxPool2d.*0,2,0,0.*2x2/ },
    { what: 'pad >= dilated kernel', shape: [1, 1, 8, 8], attrs: { kernel: 2, dilation: 2, padding: [3, 0, 0, 0] }, error: OutOfRangeError, message: /maxPool2d.*3,0,0,0.*3x3/ },
    { what: 'zero stride', shape: [1, 1, 8, 8], attrs: { kernel: 2, stride: [1, 0] }, error: OutOfRangeError, message: /maxPool2d: stride.*\[1,0\]/ },
    { what: 'zero kernel', shape: [1, 1, 8, 8], attrs: { kernel: 0 }, error: OutOfRangeError, message: /maxPool2d: kernel.*0/ },
    { what: 'negative padding', shape: [1, 1, 8, 8], attrs: { kernel: 3, padding: [-1, 0, 0, 0] }, error: OutOfRangeError, message: /maxPool2d: padding/ },
    { what: 'dilated window wholly in the padding', shape: [1, 1, 2, 8], attrs: { kernel: 2, stride: 1, dilation: 3, padding: [3, 0, 3, 0] }, error: OutOfRangeError, message: /maxPool2d: output row 2.*padding/ },
    { what: '3-D input', shape: [1, 8, 8], attrs: { kernel: 2 }, error: ShapeError, message: /maxPool2d: input must be 4-D.*1,8,8/ },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const rt = await getRuntime();
      const x = rt.createTensor(c.shape, new Float32Array(size(c.shape)));
      const attempt = rt.run('maxPool2d error', (rec) => maxPool2d(rec, x, c.attrs));
      await expect(attempt).rejects.toThrow(c.error);
      await expect(attempt).rejects.toThrow(c.message);
      x.release();
    });
  }

  it('rejects a u32 input', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 1, 4, 4], new Uint32Array(16), 'u32');
    await expect(rt.run('maxPool2d u32', (rec) => maxPool2d(rec, x, { kernel: 2 }))).rejects.toThrow(/maxPool2d: input must be f32/);
    x.release();
  });
});

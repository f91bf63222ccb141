import { describe, expect, it } from 'vitest';
import { pad2d, pad2dBackward, type Pad2dAttrs } from '../src/ops/pad2d.js';
import { ShapeError, OutOfRangeError } from '../src/gpu/errors.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { padRef, padBackwardRef, padOutShape } from './ref/pad.js';
import { dot } from './ref/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface PadCase { name: string; shape: number[]; attrs: Pad2dAttrs }

const CASES: PadCase[] = [
  { name: 'constant 0, symmetric', shape: [2, 3, 5, 4], attrs: { pads: [2, 2, 2, 2] } },
  { name: 'constant 1.5, asymmetric', shape: [2, 3, 5, 4], attrs: { pads: [1, 2, 3, 0], mode: 'constant', value: 1.5 } },
  { name: 'constant crop and pad', shape: [1, 2, 6, 7], attrs: { pads: [-1, 0, 2, -2], mode: 'constant', value: -3 } },
  { name: 'constant crop only', shape: [2, 2, 6, 7], attrs: { pads: [-2, -1, -1, -3] } },
  { name: 'reflect, symmetric', shape: [2, 3, 5, 4], attrs: { pads: [2, 2, 2, 2], mode: 'reflect' } },
  { name: 'reflect, asymmetric up to size - 1', shape: [1, 2, 3, 7], attrs: { pads: [2, 6, 1, 3], mode: 'reflect' } },
  { name: 'reflect with a crop on the other side', shape: [2, 2, 5, 6], attrs: { pads: [-2, 3, 4, -1], mode: 'reflect' } },
  { name: 'edge, asymmetric', shape: [2, 3, 5, 4], attrs: { pads: [1, 2, 3, 0], mode: 'edge' } },
  { name: 'edge, pads larger than the input', shape: [1, 2, 2, 3], attrs: { pads: [5, 4, 3, 6], mode: 'edge' } },
  { name: 'edge of a single row', shape: [2, 1, 1, 4], attrs: { pads: [2, 1, 3, 1], mode: 'edge' } },
  { name: 'edge with a crop', shape: [1, 3, 5, 5], attrs: { pads: [-1, 2, 2, -3], mode: 'edge' } },
  { name: 'reflect, more elements than a workgroup', shape: [2, 4, 17, 15], attrs: { pads: [3, 1, 2, 4], mode: 'reflect' } },
];

describe('pad2d forward, backward and adjoint', () => {
  for (const c of CASES) {
    it(`${c.name} [${c.shape}] pads [${c.attrs.pads}]`, async () => {
      const rt = await getRuntime();
      const mode = c.attrs.mode ?? 'constant';
      const outShape = padOutShape(c.shape, c.attrs.pads);
      const n = size(c.shape), m = size(outShape);
      const data = makeRandom(n).array(n, -2, 2), gData = makeRandom(m).array(m, -1, 1);
      const x = rt.createTensor(c.shape, data), g = rt.createTensor(outShape, gData);
      const { y, dx } = await rt.run('pad2d', (rec) => ({
        y: pad2d(rec, x, c.attrs), dx: pad2dBackward(rec, g, c.shape, c.attrs),
      }));
      expect(y.shape).toEqual(outShape);
      const yData = await y.read(), dxData = await dx.read();
      expectClose(yData, padRef(data, c.shape, c.attrs.pads, mode, c.attrs.value ?? 0), 'pad2d');
      expectClose(dxData, padBackwardRef(gData, c.shape, c.attrs.pads, mode), 'pad2d backward');
      // The adjoint holds for the linear part only, so drop the constant: <pad(x) - pad(0), g> = <x, backward(g)>.
      const constant = padRef(new Float32Array(n), c.shape, c.attrs.pads, mode, c.attrs.value ?? 0);
      const lhs = dot(yData.map((v, i) => v - constant[i]!), gData), rhs = dot(data, dxData);
      expect(Math.abs(lhs - rhs), `${lhs} vs ${rhs}`).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + 1));
      for (const t of [x, g, y, dx]) t.release();
    });
  }

  it('reflect by hand: [1 2 3] padded by 2 each side is [3 2 1 2 3 2 1]', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 1, 1, 3], Float32Array.from([1, 2, 3]));
    const y = await rt.run('by hand', (rec) => pad2d(rec, x, { pads: [0, 2, 0, 2], mode: 'reflect' }));
    expect(Array.from(await y.read())).toEqual([3, 2, 1, 2, 3, 2, 1]);
  });

  it('edge backward by hand: a border element collects the whole pad', async () => {
    const rt = await getRuntime();
    const g = rt.createTensor([1, 1, 1, 7], Float32Array.from([1, 2, 4, 8, 16, 32, 64]));
    const dx = await rt.run('by hand', (rec) => pad2dBackward(rec, g, [1, 1, 1, 3], { pads: [0, 3, 0, 1], mode: 'edge' }));
    expect(Array.from(await dx.read())).toEqual([1 + 2 + 4 + 8, 16, 32 + 64]);
  });
});

describe('pad2d on more than 65535 workgroups (folded 2-D dispatch)', () => {
  it('constant pad and its backward on a 4096x4096 plane', async () => {
    const rt = await getRuntime();
    const H = 4096, W = 4096, n = H * W;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (i % 9973) - 4000;
    const x = rt.createTensor([1, 1, H, W], data);
    const attrs: Pad2dAttrs = { pads: [1, 0, 0, 0], value: 7 };
    const { y, dx } = await rt.run('big pad', (rec) => {
      const y = pad2d(rec, x, attrs);
      return { y, dx: pad2dBackward(rec, y, [1, 1, H, W], attrs) };
    });
    const yData = await y.read(), dxData = await dx.read();
    let wrong = 0;
    for (let i = 0; i < W; i++) if (yData[i] !== 7) wrong++;
    for (let i = 0; i < n; i++) if (yData[W + i] !== data[i] || dxData[i] !== data[i]) wrong++;
    expect(wrong).toBe(0);
    for (const t of [x, y, dx]) t.release();
  });
});

describe('pad2d errors', () => {
  const bad: Array<[string, number[], Pad2dAttrs, typeof ShapeError | typeof OutOfRangeError, RegExp]> = [
    ['reflect pad equal to the height', [1, 1, 3, 5], { pads: [3, 0, 0, 0], mode: 'reflect' }, OutOfRangeError, /pad2d: reflect pads \[3,0,0,0\].*3x5/],
    ['reflect pad larger than the width', [1, 1, 3, 5], { pads: [0, 0, 0, 7], mode: 'reflect' }, OutOfRangeError, /pad2d: reflect pads \[0,0,0,7\].*3x5/],
    ['reflect of a single column', [1, 1, 3, 1], { pads: [0, 1, 0, 0], mode: 'reflect' }, OutOfRangeError, /3x1/],
    ['crop to nothing', [1, 1, 3, 5], { pads: [-2, 0, -1, 0] }, ShapeError, /pad2d: pads \[-2,0,-1,0\] crop input \[1,1,3,5\] to nothing \(0x5\)/],
    ['fractional pad', [1, 1, 3, 5], { pads: [1.5, 0, 0, 0] }, OutOfRangeError, /pad2d: pads must be 4 integers/],
    ['unknown mode', [1, 1, 3, 5], { pads: [1, 1, 1, 1], mode: 'wrap' as 'edge' }, OutOfRangeError, /pad2d: mode .*wrap/],
    ['3-D input', [1, 3, 5], { pads: [1, 1, 1, 1] }, ShapeError, /pad2d: input must be 4-D/],
  ];
  for (const [what, shape, attrs, error, message] of bad) {
    it(what, async () => {
      const rt = await getRuntime();
      const x = rt.createTensor(shape, new Float32Array(size(shape)));
      const attempt = rt.run('pad2d error', (rec) => pad2d(rec, x, attrs));
      await expect(attempt).rejects.toThrow(error);
      await expect(attempt).rejects.toThrow(message);
      x.release();
    });
  }

  it('backward with a signal of the wrong shape', async () => {
    const rt = await getRuntime();
    const g = rt.createTensor([1, 1, 5, 5], new Float32Array(25));
    const attempt = rt.run('pad2d error', (rec) => pad2dBackward(rec, g, [1, 1, 3, 3], { pads: [1, 1, 1, 2] }));
    await expect(attempt).rejects.toThrow(ShapeError);
    await expect(attempt).rejects.toThrow(/pad2dBackward: signal \[1,1,5,5\] is not the padded shape \[1,1,5,6\]/);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { maxPool2d } from '../src/ops/maxpool2d.js';
import { unpool2d } from '../src/ops/unpool2d.js';
import type { Pool2dAttrs } from '../src/ops/pool_geometry.js';
import { ShapeError } from '../src/gpu/errors.js';
import { KERNEL_STYLES, styledRuntime } from './helpers/kernel_styles.js';
import type { KernelStyle } from '../src/gpu/runtime.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { POOL_CASES, dot, maxPoolRef, numericGradient, unpoolRef, type PoolCase } from './ref/pool.js';

/** The kernel style of the describe block running now (set by its beforeAll). */
let currentStyle: KernelStyle = 'tiled';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Max-pools x, then unpools g through the switches, in one submit. */
async function poolThenUnpool(data: Float32Array, gData: Float32Array, c: PoolCase) {
  const rt = await styledRuntime(currentStyle);
  const outShape = [c.shape[0], c.shape[1], c.geom.outH, c.geom.outW];
  const x = rt.createTensor(c.shape, data), g = rt.createTensor(outShape, gData);
  const { values, switches, dx } = await rt.run('pool + unpool', (rec) => {
    const { output, switches } = maxPool2d(rec, x, c.attrs);
    return { values: output, switches, dx: unpool2d(rec, g, switches, c.shape, c.attrs) };
  });
  const result = { values: await values.read(), switches: await rt.readU32(switches), dx: await dx.read() };
  for (const t of [x, g, values, switches, dx]) t.release();
  return result;
}

/** Random input with a few large spikes, each the maximum of every window around it. */
function spiky(c: PoolCase, seed: number): Float32Array {
  const rnd = makeRandom(seed);
  const data = rnd.array(size(c.shape), -1, 1);
  const [N, C, H, W] = c.shape;
  for (let plane = 0; plane < N * C; plane++) {
    for (let k = 0; k < 3; k++) data[plane * H * W + rnd.int(0, H - 1) * W + rnd.int(0, W - 1)] = 5 + k + plane;
  }
  return data;
}

/** Distinct values 0.01 apart, so a step of 1e-3 never changes which input is a window's maximum. */
function distinct(n: number, seed: number): Float32Array {
  const rnd = makeRandom(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = rnd.int(0, i); [order[i], order[j]] = [order[j]!, order[i]!]; }
  return Float32Array.from(order, (v) => (v - n / 2) * 0.01);
}

const OVERLAPPING = POOL_CASES.filter((c) => c.geom.sH < c.geom.kH || c.geom.sW < c.geom.kW);

for (const style of KERNEL_STYLES) describe(`unpool2d = scatter of g to the switches [${style}]`, () => {
  beforeAll(() => { currentStyle = style; });
  for (const c of POOL_CASES) {
    it(`${c.name} [${c.shape}]`, async () => {
      const data = spiky(c, size(c.shape));
      const gData = makeRandom(7).array(c.shape[0] * c.shape[1] * c.geom.outH * c.geom.outW, -1, 1);
      const got = await poolThenUnpool(data, gData, c);
      const ref = maxPoolRef(data, c.shape, c.geom);
      expect(Array.from(got.switches)).toEqual(Array.from(ref.switches));
      expectClose(got.dx, unpoolRef(gData, ref.switches, c.shape, c.geom.outH, c.geom.outW), 'unpool2d');
    });
  }

  it('the overlapping cases really make windows share a maximum', () => {
    // Without this the sums of the cases above would test nothing beyond placement.
    for (const c of OVERLAPPING) {
      const { switches } = maxPoolRef(spiky(c, size(c.shape)), c.shape, c.geom);
      const plane0 = Array.from(switches.subarray(0, c.geom.outH * c.geom.outW));
      const shared = plane0.some((s, i) => plane0.indexOf(s) !== i);
      expect(shared, c.name).toBe(true);
    }
  });

  it('one large value collects the sum of all windows that chose it (3x3 s2)', async () => {
    const c = POOL_CASES.find((k) => k.name.startsWith('ZFNet'))!;
    const [N, C, H, W] = c.shape;
    const data = makeRandom(3).array(size(c.shape), -1, 1);
    const spike = 4 * W + 4;           // in rows 2..4 and 4..6, columns 2..4 and 4..6: 4 windows
    for (let plane = 0; plane < N * C; plane++) data[plane * H * W + spike] = 100;
    const gData = makeRandom(4).array(N * C * c.geom.outH * c.geom.outW, -1, 1);
    const got = await poolThenUnpool(data, gData, c);
    const out = c.geom.outW;
    const expected = gData[1 * out + 1]! + gData[1 * out + 2]! + gData[2 * out + 1]! + gData[2 * out + 2]!;
    expect(got.dx[spike]).toBeCloseTo(expected, 5);
    expectClose(got.dx, unpoolRef(gData, maxPoolRef(data, c.shape, c.geom).switches, c.shape, c.geom.outH, out));
  });
});

for (const style of KERNEL_STYLES) describe(`unpool2d is the gradient of max pooling [${style}]`, () => {
  beforeAll(() => { currentStyle = style; });
  const cases = ['ZFNet', '3x3 s2 asymmetric', '3x3 dilation 2 stride 2', '3x3 s2 ceilMode', "'same' 3x3 s2"]
    .map((prefix) => POOL_CASES.find((c) => c.name.startsWith(prefix))!);
  for (const c of cases) {
    it(`central differences of sum(g * maxpool(x)), ${c.name}`, async () => {
      const n = size(c.shape);
      const data = distinct(n, n);
      const gData = makeRandom(11).array(c.shape[0] * c.shape[1] * c.geom.outH * c.geom.outW, -1, 1);
      const got = await poolThenUnpool(data, gData, c);
      const f = (xd: Float64Array) => dot(gData, maxPoolRef(xd, c.shape, c.geom).values);
      expectClose(got.dx, numericGradient(f, data, 1e-3), 'unpool2d vs numerical gradient');
    });

    it(`adjoint: <maxpool-as-selection(x), g> = <x, unpool(g)>, ${c.name}`, async () => {
      const data = makeRandom(21).array(size(c.shape), -1, 1);
      const gData = makeRandom(22).array(c.shape[0] * c.shape[1] * c.geom.outH * c.geom.outW, -1, 1);
      const got = await poolThenUnpool(data, gData, c);
      const lhs = dot(got.values, gData), rhs = dot(data, got.dx);
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + 1));
    });
  }
});

describe('unpool2d errors', () => {
  const attrs: Pool2dAttrs = { kernel: 3, stride: 2 };
  const xShape = [2, 3, 9, 9];   // pools to [2, 3, 4, 4]

  async function attempt(gShape: number[], sShape: number[], sType: 'u32' | 'f32', shape = xShape, a = attrs) {
    const rt = await getRuntime();
    const g = rt.createTensor(gShape, new Float32Array(size(gShape)));
    const s = rt.createTensor(sShape, new Uint32Array(size(sShape)), sType);
    const run = rt.run('unpool2d error', (rec) => unpool2d(rec, g, s, shape, a));
    await run.catch(() => undefined);
    g.release(); s.release();
    return run;
  }

  it('switches of another shape', async () => {
    await expect(attempt([2, 3, 4, 4], [2, 3, 4, 5], 'u32')).rejects.toThrow(ShapeError);
    await expect(attempt([2, 3, 4, 4], [2, 3, 4, 5], 'u32')).rejects.toThrow(/unpool2d: switches \[2,3,4,5\].*\[2,3,4,4\].*\[2,3,9,9\]/);
  });
  it('signal of another shape', async () => {
    await expect(attempt([2, 3, 5, 4], [2, 3, 4, 4], 'u32')).rejects.toThrow(/unpool2d: signal \[2,3,5,4\].*\[2,3,4,4\]/);
  });
  it('f32 switches', async () => {
    await expect(attempt([2, 3, 4, 4], [2, 3, 4, 4], 'f32')).rejects.toThrow(/unpool2d: switches must be u32/);
  });
  it('bad geometry is reported as unpool2d', async () => {
    await expect(attempt([2, 3, 4, 4], [2, 3, 4, 4], 'u32', xShape, { kernel: 3, stride: 0 })).rejects.toThrow(/unpool2d: stride/);
  });
});

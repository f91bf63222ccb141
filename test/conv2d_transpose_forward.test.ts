// The 'forward-conv' variant of conv2dTranspose: stride 1 as a forward
// convolution of the flipped, channel-swapped weight; stride s as s_h*s_w
// sub-pixel forward convolutions interleaved into the output. Checked against
// the float64 reference of test/ref/conv.ts, and the path that ran (which
// variants the chooser gave, which kernels were dispatched) is asserted.
import { describe, expect, it } from 'vitest';
import { conv2dTranspose, conv2dTransposeOutputShape, type Conv2dTransposeAttrs } from '../src/ops/conv2d_transpose.js';
import { axisPhases } from '../src/ops/conv2d_transpose_phases.js';
import { pair } from '../src/ops/conv_geometry.js';
import { createRuntime, type Runtime } from '../src/index.js';
import { defaultVariant } from '../src/gpu/tuning.js';
import { counted, expectClose, getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { conv2dTransposeRef } from './ref/conv.js';

type Shape4 = [number, number, number, number];

/**
 * `out` and `padBegin` by hand from the ONNX formulas (full = (in-1)*stride + (k-1)*dil + 1 + outputPadding,
 * out = full - pads); `phases`: the sub-pixel phases that have taps on both axes (worked out by hand from
 * k*dil ≡ r + pad (mod stride)); `fallback`: a forward pad would be negative, the gather kernels run.
 */
interface Case {
  name: string; x: Shape4; w: Shape4; attrs?: Conv2dTransposeAttrs; bias?: boolean;
  out: [number, number]; padBegin: [number, number]; phases: number; fallback?: boolean;
}

const CASES: Case[] = [
  { name: 'stride 1, 1x1, 5 -> 6 channels', x: [1, 5, 6, 7], w: [5, 6, 1, 1], bias: true, out: [6, 7], padBegin: [0, 0], phases: 1 },
  { name: 'stride 1, 2x2, asymmetric pads [1,0,0,1], batch 2', x: [2, 3, 5, 6], w: [3, 5, 2, 2], attrs: { padding: [1, 0, 0, 1] }, bias: true, out: [5, 6], padBegin: [1, 0], phases: 1 },
  { name: 'stride 1, 3x3 pads 1 (VGG-like), 6 -> 7 channels, 9x11', x: [1, 6, 9, 11], w: [6, 7, 3, 3], attrs: { padding: [1, 1, 1, 1] }, bias: true, out: [9, 11], padBegin: [1, 1], phases: 1 },
  { name: 'stride 1, 4x4, pads [2,1,1,2]', x: [1, 3, 5, 7], w: [3, 5, 4, 4], attrs: { padding: [2, 1, 1, 2] }, out: [5, 7], padBegin: [2, 1], phases: 1 },
  { name: 'stride 1, 5x5 dilation 2, pads 2', x: [1, 3, 8, 7], w: [3, 6, 5, 5], attrs: { dilation: 2, padding: [2, 2, 2, 2] }, bias: true, out: [12, 11], padBegin: [2, 2], phases: 1 },
  { name: 'stride 1, groups 2, pads [0,1,2,1]', x: [1, 6, 7, 5], w: [6, 3, 3, 3], attrs: { groups: 2, padding: [0, 1, 2, 1] }, bias: true, out: [7, 5], padBegin: [0, 1], phases: 1 },
  { name: 'stride 1, dilation 3, outputPadding [2,0]', x: [1, 2, 5, 5], w: [2, 2, 2, 2], attrs: { dilation: 3, outputPadding: [2, 0] }, out: [10, 8], padBegin: [0, 0], phases: 1 },
  { name: 'stride 2, 2x2 (decoder upsampling), batch 2', x: [2, 5, 6, 7], w: [5, 6, 2, 2], attrs: { stride: 2 }, bias: true, out: [12, 14], padBegin: [0, 0], phases: 4 },
  { name: 'stride 2, 3x3 pads 1, outputPadding 1', x: [1, 3, 5, 4], w: [3, 4, 3, 3], attrs: { stride: 2, padding: [1, 1, 1, 1], outputPadding: 1 }, bias: true, out: [10, 8], padBegin: [1, 1], phases: 4 },
  { name: 'stride 3, 5x5, pads [2,1,0,3]', x: [1, 4, 4, 5], w: [4, 5, 5, 5], attrs: { stride: 3, padding: [2, 1, 0, 3] }, out: [12, 13], padBegin: [2, 1], phases: 9 },
  { name: 'stride [2,3], 3x4, groups 2, batch 2', x: [2, 4, 4, 3], w: [4, 3, 3, 4], attrs: { stride: [2, 3], groups: 2, padding: [1, 0, 0, 2] }, bias: true, out: [8, 8], padBegin: [1, 0], phases: 6 },
  { name: 'stride 3, 2x2: phases no tap reaches get the bias', x: [1, 3, 4, 4], w: [3, 5, 2, 2], attrs: { stride: 3 }, bias: true, out: [11, 11], padBegin: [0, 0], phases: 4 },
  { name: 'stride 2, dilation 2, outputPadding [1,0]: odd phases empty', x: [1, 2, 4, 4], w: [2, 3, 3, 3], attrs: { stride: 2, dilation: 2, outputPadding: [1, 0] }, out: [12, 11], padBegin: [0, 0], phases: 1 },
  { name: 'stride 2, 9 -> 70 channels, 5x6, outputPadding 1', x: [1, 9, 5, 6], w: [9, 70, 3, 3], attrs: { stride: 2, padding: [1, 1, 1, 1], outputPadding: 1 }, bias: true, out: [10, 12], padBegin: [1, 1], phases: 4 },
  { name: "1x1 at stride 2 'same' (outputs past the full one)", x: [1, 2, 4, 3], w: [2, 3, 1, 1], attrs: { stride: 2, padding: 'same' }, out: [8, 6], padBegin: [0, 0], phases: 1 },
  { name: 'pads past the kernel span (forward pad -1): gather fallback', x: [1, 2, 6, 6], w: [2, 3, 3, 3], attrs: { padding: [3, 0, 0, 0] }, out: [5, 8], padBegin: [3, 0], phases: 0, fallback: true },
];

/** Runtimes with 'forward-conv' pinned; the forward convolutions take the adapter family's default, or a pinned conv2d variant. */
const SETUPS: { name: string; style: 'tiled' | 'direct'; conv2d?: string }[] = [
  { name: 'GPU default (tiled-vec4)', style: 'tiled' },
  { name: 'direct', style: 'direct' },
  { name: 'tiled', style: 'tiled', conv2d: 'tiled' },
];

const runtimes = new Map<string, Promise<Runtime>>();
function setupRuntime(s: (typeof SETUPS)[number]): Promise<Runtime> {
  let rt = runtimes.get(s.name);
  if (!rt) {
    const pinnedKernels = { conv2dTranspose: 'forward-conv', ...(s.conv2d ? { conv2d: s.conv2d } : {}) };
    rt = getRuntime().then((base) => createRuntime({ device: base.device, kernelStyle: s.style, poisonNewTensors: true, pinnedKernels }));
    runtimes.set(s.name, rt);
  }
  return rt;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const count = (keys: string[], prefix: string) => keys.filter((k) => k.startsWith(prefix)).length;

for (const setup of SETUPS) describe(`conv2dTranspose 'forward-conv' [${setup.name}]`, () => {
  CASES.forEach((c, index) => {
    it(c.name, async () => {
      const rt = await setupRuntime(setup);
      const rnd = makeRandom(1300 + index);
      const groups = c.attrs?.groups ?? 1;
      const cout = c.w[1] * groups;
      const xData = rnd.array(size(c.x)), wData = rnd.array(size(c.w)), bData = c.bias ? rnd.array(cout) : null;
      const x = rt.createTensor(c.x, xData), w = rt.createTensor(c.w, wData), b = bData ? rt.createTensor([cout], bData) : null;
      const shape = [c.x[0], cout, ...c.out];
      expect(conv2dTransposeOutputShape(c.x, c.w, c.attrs)).toEqual(shape);

      const first = await counted(rt, c.name, (rec) => conv2dTranspose(rec, x, w, b, c.attrs));
      const ref = conv2dTransposeRef(xData, c.x, wData, c.w, bData, {
        stride: pair(c.attrs?.stride, 1), dilation: pair(c.attrs?.dilation, 1), groups, padBegin: c.padBegin, outH: c.out[0], outW: c.out[1],
      });
      expect(first.result.shape).toEqual(shape);
      expectClose(await first.result.read(), ref, `${setup.name} ${c.name}`);

      // The path: one conv2d choice per phase with taps, none of the gather kernels, one interleave pass per phase at stride > 1.
      const stride = pair(c.attrs?.stride, 1);
      const interleaved = stride[0] * stride[1] === 1 || c.fallback ? 0 : Math.min(stride[0], c.out[0]) * Math.min(stride[1], c.out[1]);
      expect(first.variants[0]).toBe('forward-conv');
      expect(first.variants.slice(1)).toEqual(Array(c.phases).fill(setup.conv2d ?? defaultVariant('conv2d', setup.style)));
      expect(count(first.keys, 'conv2d-transpose:')).toBe(c.fallback ? 1 : 0);
      expect(count(first.keys, 'conv2d-transpose-interleave')).toBe(interleaved);
      expect(count(first.keys, 'conv2d-transpose-phase-weight')).toBe(c.phases);

      // The phase weights are cached with the weight: a second call builds none, a write to the weight rebuilds them.
      const second = await counted(rt, c.name, (rec) => conv2dTranspose(rec, x, w, b, c.attrs));
      expect(count(second.keys, 'conv2d-transpose-phase-weight')).toBe(0);
      expectClose(await second.result.read(), ref, `${setup.name} ${c.name} (cached weights)`);
      const wData2 = rnd.array(size(c.w));
      rt.writeTensor(w, wData2);
      const third = await counted(rt, c.name, (rec) => conv2dTranspose(rec, x, w, b, c.attrs));
      expect(count(third.keys, 'conv2d-transpose-phase-weight')).toBe(c.phases);
      const ref2 = conv2dTransposeRef(xData, c.x, wData2, c.w, bData, {
        stride, dilation: pair(c.attrs?.dilation, 1), groups, padBegin: c.padBegin, outH: c.out[0], outW: c.out[1],
      });
      expectClose(await third.result.read(), ref2, `${setup.name} ${c.name} (rewritten weight)`);
      for (const t of [x, w, b, first.result, second.result, third.result]) t?.release();
    });
  });
});

describe('axisPhases', () => {
  it('stride 1 is the whole flipped kernel with forward pad (k-1)*d - pad', () => {
    expect(axisPhases(5, 1, 2, 3, 10)).toEqual([{ r: 0, outputs: 10, k0: 0, taps: 5, tapStep: 1, dilation: 2, pad: 5 }]);
  });
  it('stride 2, k 3, pad 1: phase 0 takes tap 1, phase 1 taps 0 and 2', () => {
    // o = 2q: o + 1 - k ≡ 0 (mod 2) -> k = 1, i = q. o = 2q + 1: k in {0, 2}, i = q + 1 - k/2.
    expect(axisPhases(3, 2, 1, 1, 7)).toEqual([
      { r: 0, outputs: 4, k0: 1, taps: 1, tapStep: 2, dilation: 1, pad: 0 },
      { r: 1, outputs: 3, k0: 0, taps: 2, tapStep: 2, dilation: 1, pad: 0 },
    ]);
  });
  it('null where a forward pad would be negative', () => {
    expect(axisPhases(3, 1, 1, 3, 5)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { conv2dTranspose, conv2dTransposeOutputShape, type Conv2dTransposeAttrs } from '../src/ops/conv2d_transpose.js';
import { conv2dTransposeShader, convLaunch, tilingKey } from '../shaders/conv2d_transpose.js';
import { pair } from '../src/ops/conv_geometry.js';
import { OutOfRangeError, ShapeError } from '../src/gpu/errors.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { KERNEL_STYLES, styledRuntime } from './helpers/kernel_styles.js';
import { makeRandom } from './helpers/random.js';
import { conv2dTransposeRef, type TransposeRefAttrs } from './ref/conv.js';

type Shape4 = [number, number, number, number];

/**
 * `out` and `padBegin` are worked out by hand from the ONNX ConvTranspose
 * formulas (full = (in-1)*stride + (k-1)*dil + 1 + outputPadding; 'same' and
 * outputShape: total = full - out, begin = floor(total/2)), so the op's shape
 * logic is checked independently of its own code.
 */
interface TransposeCase {
  name: string;
  x: Shape4;
  w: Shape4;
  attrs?: Conv2dTransposeAttrs;
  bias?: boolean;
  out: [number, number];
  padBegin: [number, number];
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const CASES: TransposeCase[] = [
  { name: 'stride 2, pads 1, outputPadding 1', x: [1, 3, 5, 4], w: [3, 4, 3, 3], attrs: { stride: 2, padding: [1, 1, 1, 1], outputPadding: 1 }, bias: true, out: [10, 8], padBegin: [1, 1] },
  { name: 'stride 1 valid, batch 2, odd 7x9', x: [2, 2, 7, 9], w: [2, 5, 3, 3], bias: true, out: [9, 11], padBegin: [0, 0] },
  { name: 'stride [3,2] asymmetric pads', x: [1, 2, 4, 5], w: [2, 3, 3, 2], attrs: { stride: [3, 2], padding: [2, 0, 1, 1] }, out: [9, 9], padBegin: [2, 0] },
  { name: 'dilation 2 asymmetric pads', x: [1, 3, 6, 5], w: [3, 2, 3, 3], attrs: { dilation: 2, padding: [1, 2, 0, 1] }, bias: true, out: [9, 6], padBegin: [1, 2] },
  { name: 'stride 2 dilation 2 outputPadding [1,0]', x: [1, 2, 4, 4], w: [2, 3, 3, 3], attrs: { stride: 2, dilation: 2, outputPadding: [1, 0] }, out: [12, 11], padBegin: [0, 0] },
  { name: 'stride 1 dilation 3 outputPadding 2 (< dilation)', x: [1, 2, 5, 5], w: [2, 2, 2, 2], attrs: { dilation: 3, outputPadding: [2, 0] }, out: [10, 8], padBegin: [0, 0] },
  { name: 'groups 2 stride 2, batch 2', x: [2, 4, 5, 6], w: [4, 3, 3, 3], attrs: { groups: 2, stride: 2, padding: [1, 1, 1, 1] }, bias: true, out: [9, 11], padBegin: [1, 1] },
  { name: 'groups 3 stride [2,1]', x: [1, 6, 4, 5], w: [6, 2, 2, 3], attrs: { groups: 3, stride: [2, 1] }, bias: true, out: [8, 7], padBegin: [0, 0] },
  { name: "depthwise x1 stride 2 'same', batch 2", x: [2, 5, 7, 6], w: [5, 1, 3, 3], attrs: { groups: 5, stride: 2, padding: 'same' }, bias: true, out: [14, 12], padBegin: [0, 0] },
  { name: "depthwise x2 stride 2 'same' even kernel", x: [1, 3, 5, 5], w: [3, 2, 4, 4], attrs: { groups: 3, stride: 2, padding: 'same' }, out: [10, 10], padBegin: [1, 1] },
  { name: "'same' odd kernel 5, stride 2", x: [1, 4, 5, 7], w: [4, 3, 5, 5], attrs: { stride: 2, padding: 'same' }, bias: true, out: [10, 14], padBegin: [1, 1] },
  { name: "'same' even kernel [4,2], stride 2", x: [1, 2, 6, 5], w: [2, 3, 4, 2], attrs: { stride: 2, padding: 'same' }, out: [12, 10], padBegin: [1, 0] },
  { name: "'same' even kernel [2,4], stride 1", x: [1, 2, 5, 6], w: [2, 2, 2, 4], attrs: { padding: 'same' }, bias: true, out: [5, 6], padBegin: [0, 1] },
  { name: "'same' 1x1 kernel at stride 2 (output beyond the full one)", x: [1, 2, 4, 3], w: [2, 3, 1, 1], attrs: { stride: 2, padding: 'same' }, out: [8, 6], padBegin: [0, 0] },
  { name: 'outputShape cropping [8,7]', x: [1, 2, 4, 4], w: [2, 2, 3, 3], attrs: { stride: 2, outputShape: [8, 7] }, bias: true, out: [8, 7], padBegin: [0, 1] },
  { name: 'outputShape with outputPadding', x: [1, 2, 4, 4], w: [2, 2, 3, 3], attrs: { stride: 2, outputPadding: 1, outputShape: [7, 8] }, out: [7, 8], padBegin: [1, 1] },
  { name: '70 output channels (2 channel tiles), 81 pixels', x: [1, 4, 4, 4], w: [4, 70, 3, 3], attrs: { stride: 2 }, bias: true, out: [9, 9], padBegin: [0, 0] },
  { name: 'K = 20*9 over many k-steps, batch 3', x: [3, 20, 3, 4], w: [20, 6, 3, 3], attrs: { stride: 2, padding: [1, 1, 0, 0], outputPadding: 1 }, out: [7, 9], padBegin: [1, 1] },
];

function inputs(rt: Runtime, c: TransposeCase, seed: number) {
  const rnd = makeRandom(seed);
  const cout = c.w[1] * (c.attrs?.groups ?? 1);
  const xData = rnd.array(size(c.x)), wData = rnd.array(size(c.w)), bData = c.bias ? rnd.array(cout) : null;
  return {
    xData, wData, bData, cout,
    x: rt.createTensor(c.x, xData),
    w: rt.createTensor(c.w, wData),
    b: bData ? rt.createTensor([cout], bData) : null,
  };
}

function refAttrs(c: TransposeCase): TransposeRefAttrs {
  const a = c.attrs ?? {};
  return {
    stride: pair(a.stride, 1), dilation: pair(a.dilation, 1), groups: a.groups ?? 1,
    padBegin: c.padBegin, outH: c.out[0], outW: c.out[1],
  };
}

for (const style of KERNEL_STYLES) describe(`conv2dTranspose [${style}]`, () => {
  CASES.forEach((c, index) => {
    it(c.name, async () => {
      const rt = await styledRuntime(style);
      const { xData, wData, bData, cout, x, w, b } = inputs(rt, c, 700 + index);
      const shape = [c.x[0], cout, ...c.out];
      expect(conv2dTransposeOutputShape(c.x, c.w, c.attrs)).toEqual(shape);
      const y = await rt.run(c.name, (rec) => conv2dTranspose(rec, x, w, b, c.attrs));
      expect(y.shape).toEqual(shape);
      expectClose(await y.read(), conv2dTransposeRef(xData, c.x, wData, c.w, bData, refAttrs(c)), c.name);
      for (const t of [x, w, b, y]) t?.release();
    });
  });

  it('matches the ONNX backend test convtranspose_output_shape', async () => {
    // X = 0..8 as 3x3, W = ones [1, 2, 3, 3], strides [3, 2], output_shape [10, 8]:
    // the output is one row and one column larger than the full one; they stay 0.
    const rt = await styledRuntime(style);
    const x = rt.createTensor([1, 1, 3, 3], Float32Array.from({ length: 9 }, (_, i) => i));
    const w = rt.createTensor([1, 2, 3, 3], new Float32Array(18).fill(1));
    const y = await rt.run('onnx output_shape', (rec) => conv2dTranspose(rec, x, w, null, { stride: [3, 2], outputShape: [10, 8] }));
    const rows = [[0, 0, 1, 1, 3, 2, 2, 0], [3, 3, 7, 4, 9, 5, 5, 0], [6, 6, 13, 7, 15, 8, 8, 0]];
    const channel = [...rows.flatMap((r) => [r, r, r]), [0, 0, 0, 0, 0, 0, 0, 0]].flat();
    expect(y.shape).toEqual([1, 2, 10, 8]);
    expect(Array.from(await y.read())).toEqual([...channel, ...channel]);
    for (const t of [x, w, y]) t.release();
  });

  if (style === 'tiled') it('folds x and z past the workgroup limit (depthwise, batch*groups 6 > 4)', async () => {
    const rt = await styledRuntime(style);
    const c: TransposeCase = { name: 'fold', x: [2, 3, 9, 8], w: [3, 1, 3, 3], attrs: { groups: 3, stride: 2 }, bias: true, out: [19, 17], padBegin: [0, 0] };
    const { xData, wData, bData, x, w, b } = inputs(rt, c, 900);
    const { tiling, params, dispatch } = convLaunch({
      batch: 2, groups: 3, inC: 3, inH: 9, inW: 8, outC: 3, outH: 19, outW: 17,
      kH: 3, kW: 3, stride: [2, 2], dilation: [1, 1], padT: 0, padL: 0, cinG: 1,
    }, 4);
    expect(dispatch[0]).toBeLessThanOrEqual(4);
    expect(dispatch[2]).toBeGreaterThan(1);
    const y = await rt.run('folded transpose', (rec) => {
      const out = rec.tensor([2, 3, 19, 17], 'folded conv2dTranspose');
      rec.dispatch({
        name: 'folded conv2dTranspose', key: `test-conv2d-transpose:${tilingKey(tiling)}`,
        shader: () => conv2dTransposeShader({ tiling, bias: true }),
        params, buffers: [x, w, out, b!], dispatch,
      });
      return out;
    });
    expectClose(await y.read(), conv2dTransposeRef(xData, c.x, wData, c.w, bData, refAttrs(c)), 'fold');
    for (const t of [x, w, b, y]) t?.release();
  });
});

describe('conv2dTranspose errors', () => {
  const cases: Array<[string, number[], number[], Conv2dTransposeAttrs, typeof ShapeError | typeof OutOfRangeError, RegExp]> = [
    ['input channels differ from the weight', [1, 3, 4, 4], [2, 4, 3, 3], {}, ShapeError, /3 channels, weight \[2,4,3,3\] has 2 input channels/],
    ['groups not dividing Cin', [1, 4, 4, 4], [4, 2, 3, 3], { groups: 3 }, ShapeError, /groups 3 does not divide the 4 input channels/],
    ['pads cropping everything', [1, 1, 2, 2], [1, 1, 2, 2], { padding: [2, 0, 1, 0] }, ShapeError, /pads 2\+1 on H crop all 3 positions/],
    ['5-D input', [1, 1, 2, 2, 2], [1, 1, 2, 2], {}, ShapeError, /must be 4-D/],
    ['outputPadding >= max(stride, dilation)', [1, 1, 4, 4], [1, 1, 3, 3], { stride: 2, outputPadding: [0, 2] }, OutOfRangeError, /outputPadding \[0,2\] must be below max\(stride, dilation\) = 2/],
    ['outputPadding without stride or dilation', [1, 1, 4, 4], [1, 1, 3, 3], { outputPadding: 1 }, OutOfRangeError, /max\(stride, dilation\) = 1/],
    ['stride 0', [1, 1, 4, 4], [1, 1, 3, 3], { stride: 0 }, OutOfRangeError, /stride \[0,0\] must be integers >= 1/],
    ['bad outputShape', [1, 1, 4, 4], [1, 1, 3, 3], { outputShape: [0, 5] }, OutOfRangeError, /outputShape \[0,5\]/],
    ['negative pad', [1, 1, 4, 4], [1, 1, 3, 3], { padding: [0, 0, -1, 0] }, OutOfRangeError, /padding \[0,0,-1,0\]/],
  ];
  for (const [name, x, w, attrs, type, message] of cases) {
    it(`${type.name}: ${name}`, () => {
      expect(() => conv2dTransposeOutputShape(x, w, attrs)).toThrow(type);
      expect(() => conv2dTransposeOutputShape(x, w, attrs)).toThrow(message);
    });
  }

  it('ShapeError: bias length', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 4, 3, 3]), w = rt.createTensor([4, 3, 2, 2]), b = rt.createTensor([3]);
    await expect(rt.run('bad bias', (rec) => conv2dTranspose(rec, x, w, b, { groups: 2 }))).rejects.toThrow(
      /bias \[3\] has 3 values.*2 groups has 6 output channels/);
    await expect(rt.run('bad bias', (rec) => conv2dTranspose(rec, x, w, b, { groups: 2 }))).rejects.toBeInstanceOf(ShapeError);
    for (const t of [x, w, b]) t.release();
  });
});

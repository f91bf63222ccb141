import { describe, expect, it } from 'vitest';
import { conv2d, conv2dBackwardInput, conv2dOutputShape, type Conv2dAttrs } from '../src/ops/conv2d.js';
import { pair, resolvePadding } from '../src/ops/conv_geometry.js';
import { conv2dShader, convLaunch, tilingKey } from '../shaders/conv2d.js';
import { OutOfRangeError, ShapeError } from '../src/gpu/errors.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { KERNEL_STYLES, styledRuntime } from './helpers/kernel_styles.js';
import { makeRandom } from './helpers/random.js';
import {
  conv2dInputGradRef, conv2dRef, convOutputShapeRef, dot, samePadsRef, type ConvRefAttrs,
} from './ref/conv.js';

type Shape4 = [number, number, number, number];

interface ConvCase {
  name: string;
  x: Shape4;
  w: Shape4;
  attrs?: Conv2dAttrs;
  bias?: boolean;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The reference's view of the attributes: pads explicit, 'same' resolved by the reference's own formula. */
function refAttrs(c: ConvCase): ConvRefAttrs {
  const a = c.attrs ?? {};
  const stride = pair(a.stride, 1), dilation = pair(a.dilation, 1);
  const pads = a.padding === 'same' ? samePadsRef(c.x[2], c.x[3], c.w[2], c.w[3], stride, dilation)
    : a.padding === undefined || a.padding === 'valid' ? [0, 0, 0, 0] as ConvRefAttrs['pads'] : a.padding;
  return { stride, dilation, pads, groups: a.groups ?? 1, relu: a.activation === 'relu' };
}

function inputs(rt: Runtime, c: ConvCase, seed: number) {
  const rnd = makeRandom(seed);
  const xData = rnd.array(size(c.x)), wData = rnd.array(size(c.w)), bData = c.bias ? rnd.array(c.w[0]) : null;
  return {
    xData, wData, bData,
    x: rt.createTensor(c.x, xData),
    w: rt.createTensor(c.w, wData),
    b: bData ? rt.createTensor([c.w[0]], bData) : null,
  };
}

// Tiles: 64 pixels x 64 channels for wide layers, 256 pixels x 1-16 channels for
// narrow ones, K in steps of 8-16; the sizes below straddle those boundaries.
const FORWARD: ConvCase[] = [
  { name: '3x3 valid, odd 7x9', x: [1, 3, 7, 9], w: [5, 3, 3, 3], bias: true },
  { name: "'same' 13x11, batch 2, fused relu", x: [2, 4, 13, 11], w: [6, 4, 3, 3], attrs: { padding: 'same', activation: 'relu' }, bias: true },
  { name: "stride 2 'same' even kernel", x: [1, 3, 9, 7], w: [7, 3, 4, 4], attrs: { stride: 2, padding: 'same' }, bias: true },
  { name: 'stride [3,2] explicit asymmetric pads', x: [2, 2, 13, 11], w: [5, 2, 3, 2], attrs: { stride: [3, 2], padding: [2, 0, 1, 3] } },
  { name: 'dilation 2', x: [1, 3, 11, 13], w: [4, 3, 3, 3], attrs: { dilation: 2, padding: [2, 2, 2, 2] }, bias: true },
  { name: "stride 2, dilation [2,1], 'same'", x: [1, 2, 10, 9], w: [3, 2, 3, 3], attrs: { stride: 2, dilation: [2, 1], padding: 'same' } },
  { name: 'stride 3 larger than kernel 2', x: [1, 2, 11, 10], w: [3, 2, 2, 2], attrs: { stride: 3 }, bias: true },
  { name: "groups 2 'same', batch 2", x: [2, 6, 9, 7], w: [10, 3, 3, 3], attrs: { groups: 2, padding: 'same' }, bias: true },
  { name: 'groups 3 stride 2 relu', x: [1, 9, 7, 9], w: [6, 3, 2, 3], attrs: { groups: 3, stride: 2, activation: 'relu' }, bias: true },
  { name: 'depthwise x1, 2 pixel tiles, relu, batch 2', x: [2, 5, 17, 19], w: [5, 1, 3, 3], attrs: { groups: 5, padding: 'same', activation: 'relu' }, bias: true },
  { name: 'depthwise x2 stride 2', x: [1, 4, 9, 11], w: [8, 1, 3, 3], attrs: { groups: 4, stride: 2, padding: [1, 1, 1, 1] } },
  { name: 'depthwise x3 no bias', x: [3, 2, 6, 5], w: [6, 1, 2, 2], attrs: { groups: 2, padding: [0, 1, 1, 0] } },
  { name: '70 output channels (2 channel tiles), 81 pixels (2 pixel tiles)', x: [1, 3, 9, 9], w: [70, 3, 3, 3], attrs: { padding: [1, 1, 1, 1] }, bias: true },
  { name: 'K = 180 over many k-steps, batch 3, no bias', x: [3, 20, 6, 5], w: [9, 20, 3, 3], attrs: { padding: 'same' } },
  { name: '1x1 conv', x: [2, 7, 5, 3], w: [5, 7, 1, 1], bias: true },
  { name: 'kernel exactly the padded input', x: [1, 2, 3, 4], w: [3, 2, 5, 4], attrs: { padding: [1, 0, 1, 0] }, bias: true },
  { name: '16 channels per group (narrow tiling with 4 channel columns)', x: [1, 3, 7, 6], w: [16, 3, 3, 3], attrs: { stride: [1, 2] } },
];

for (const style of KERNEL_STYLES) describe(`conv2d forward [${style}]`, () => {
  FORWARD.forEach((c, index) => {
    it(c.name, async () => {
      const rt = await styledRuntime(style);
      const { xData, wData, bData, x, w, b } = inputs(rt, c, 100 + index);
      const ra = refAttrs(c);
      const expectedShape = convOutputShapeRef(c.x, c.w, ra);
      expect(conv2dOutputShape(c.x, c.w, c.attrs)).toEqual(expectedShape);
      const y = await rt.run(c.name, (rec) => conv2d(rec, x, w, b, c.attrs));
      expect(y.shape).toEqual(expectedShape);
      expectClose(await y.read(), conv2dRef(xData, c.x, wData, c.w, bData, ra), c.name);
      for (const t of [x, w, b, y]) t?.release();
    });
  });

  // 65536 real workgroups take minutes on SwiftShader, so the fold is reached
  // by lowering the limit the launch folds at; the shader is the one conv2d uses.
  const FOLDED: Array<ConvCase & { limit: number }> = [
    { name: 'depthwise, batch*groups 6 > 5', x: [2, 3, 23, 23], w: [3, 1, 3, 3], attrs: { groups: 3, padding: 'same' }, bias: true, limit: 5 },
    { name: '2 pixel tiles x 4 images > 3, 2 channel tiles', x: [4, 4, 9, 9], w: [70, 4, 3, 3], attrs: { padding: [1, 1, 1, 1] }, bias: true, limit: 3 },
  ];
  if (style === 'tiled') FOLDED.forEach((c, index) => {
    it(`folds x and z past the workgroup limit: ${c.name}`, async () => {
      const rt = await styledRuntime(style);
      const { xData, wData, bData, x, w, b } = inputs(rt, c, 200 + index);
      const ra = refAttrs(c);
      const shape = convOutputShapeRef(c.x, c.w, ra);
      const { tiling, params, dispatch } = convLaunch({
        batch: c.x[0], groups: ra.groups, inC: c.x[1], inH: c.x[2], inW: c.x[3],
        outC: shape[1], outH: shape[2], outW: shape[3], kH: c.w[2], kW: c.w[3],
        stride: ra.stride, dilation: ra.dilation, padT: ra.pads[0], padL: ra.pads[1], cinG: c.w[1],
      }, c.limit);
      expect(dispatch[0]).toBeLessThanOrEqual(c.limit);
      expect(dispatch[2]).toBeLessThanOrEqual(c.limit);
      expect(dispatch[2]).toBeGreaterThan(1);
      const y = await rt.run(c.name, (rec) => {
        const out = rec.tensor(shape, 'folded conv2d');
        rec.dispatch({
          name: 'folded conv2d', key: `test-conv2d:${tilingKey(tiling)}`,
          shader: () => conv2dShader({ tiling, bias: true, relu: false }),
          params, buffers: [x, w, out, b!], dispatch,
        });
        return out;
      });
      expectClose(await y.read(), conv2dRef(xData, c.x, wData, c.w, bData, ra), c.name);
      for (const t of [x, w, b, y]) t?.release();
    });
  });

  if (style === 'tiled') it('keeps a 70000-group depthwise launch within 65535 workgroups per dimension', () => {
    const { dispatch } = convLaunch({
      batch: 1, groups: 70000, inC: 70000, inH: 1, inW: 1, outC: 70000, outH: 1, outW: 1,
      kH: 1, kW: 1, stride: [1, 1], dilation: [1, 1], padT: 0, padL: 0, cinG: 1,
    });
    expect(dispatch).toEqual([65535, 1, 2]);
  });
});

// Geometries where the forward conv drops trailing input rows/columns
// ((H + pads - span) % stride != 0) need the output padding to recover xShape.
const BACKWARD: ConvCase[] = [
  { name: 'stride 2 valid, (8-3)%2 = 1', x: [1, 3, 8, 8], w: [4, 3, 3, 3], attrs: { stride: 2 } },
  { name: 'stride 3 asymmetric pads, W remainder 2', x: [2, 2, 11, 10], w: [5, 2, 3, 2], attrs: { stride: 3, padding: [1, 2, 0, 1] } },
  { name: "stride 2 dilation 2 'same'", x: [1, 4, 9, 7], w: [6, 4, 3, 3], attrs: { stride: 2, dilation: 2, padding: 'same' } },
  { name: 'groups 2 stride 2', x: [2, 4, 7, 9], w: [6, 2, 3, 3], attrs: { groups: 2, stride: 2, padding: [1, 1, 0, 0] } },
  { name: "depthwise x2 stride 2 'same'", x: [1, 3, 10, 9], w: [6, 1, 3, 3], attrs: { groups: 3, stride: 2, padding: 'same' } },
  { name: "stride 1 'same' 5x5", x: [1, 2, 7, 6], w: [3, 2, 5, 5], attrs: { padding: 'same' } },
  { name: 'stride 3 with kernel 2 (untouched rows), remainder 1', x: [1, 2, 9, 8], w: [3, 2, 2, 2], attrs: { stride: 3 } },
  { name: '70 channels back to 3 (K = 630)', x: [1, 3, 9, 9], w: [70, 3, 3, 3], attrs: { stride: 2, padding: [1, 1, 1, 1] } },
];

for (const style of KERNEL_STYLES) describe(`conv2dBackwardInput [${style}]`, () => {
  BACKWARD.forEach((c, index) => {
    it(`equals the input gradient: ${c.name}`, async () => {
      const rt = await styledRuntime(style);
      const ra = refAttrs(c);
      const gShape = convOutputShapeRef(c.x, c.w, ra);
      const rnd = makeRandom(300 + index);
      const gData = rnd.array(size(gShape)), wData = rnd.array(size(c.w));
      const g = rt.createTensor(gShape, gData), w = rt.createTensor(c.w, wData);
      const dx = await rt.run(c.name, (rec) => conv2dBackwardInput(rec, g, w, c.x, c.attrs));
      expect(dx.shape).toEqual(c.x);
      expectClose(await dx.read(), conv2dInputGradRef(gData, c.x, wData, c.w, ra), c.name);
      for (const t of [g, w, dx]) t.release();
    });
  });

  BACKWARD.slice(0, 5).forEach((c, index) => {
    it(`adjoint identity <conv(x), g> = <x, backward(g)>: ${c.name}`, async () => {
      const rt = await styledRuntime(style);
      const rnd = makeRandom(500 + index);
      const xData = rnd.array(size(c.x)), wData = rnd.array(size(c.w));
      const gShape = conv2dOutputShape(c.x, c.w, c.attrs);
      const gData = rnd.array(size(gShape));
      const x = rt.createTensor(c.x, xData), w = rt.createTensor(c.w, wData), g = rt.createTensor(gShape, gData);
      const [y, dx] = await rt.run(c.name, (rec) => [
        conv2d(rec, x, w, null, c.attrs),
        conv2dBackwardInput(rec, g, w, c.x, c.attrs),
      ] as const);
      const yData = await y.read(), dxData = await dx.read();
      const lhs = dot(yData, gData), rhs = dot(xData, dxData);
      const scale = Math.sqrt(dot(yData, yData) * dot(gData, gData));
      expect(Math.abs(lhs - rhs), `<y,g> = ${lhs}, <x,dx> = ${rhs}`).toBeLessThan(1e-5 * scale);
      for (const t of [x, w, g, y, dx]) t.release();
    });
  });
});

describe('conv geometry', () => {
  it("resolves 'same' as TF / ONNX SAME_UPPER (extra pad at the bottom/right)", () => {
    expect(resolvePadding('same', 7, 7, 3, 3, [2, 2], [1, 1])).toEqual([1, 1, 1, 1]);
    expect(resolvePadding('same', 9, 8, 4, 4, [2, 2], [1, 1])).toEqual([1, 1, 2, 1]);
    expect(resolvePadding('same', 5, 5, 2, 2, [1, 1], [1, 1])).toEqual([0, 0, 1, 1]);
    expect(resolvePadding('same', 10, 10, 3, 3, [1, 1], [2, 2])).toEqual([2, 2, 2, 2]);
    expect(resolvePadding('same', 10, 10, 1, 1, [3, 3], [1, 1])).toEqual([0, 0, 0, 0]);
    expect(resolvePadding(undefined, 10, 10, 3, 3, [1, 1], [1, 1])).toEqual([0, 0, 0, 0]);
    expect(resolvePadding([1, 2, 3, 4], 10, 10, 3, 3, [1, 1], [1, 1])).toEqual([1, 2, 3, 4]);
  });

  it('computes the output sizes of known networks', () => {
    expect(conv2dOutputShape([1, 3, 224, 224], [96, 3, 7, 7], { stride: 2, padding: [1, 1, 1, 1] })).toEqual([1, 96, 110, 110]); // ZF net conv1
    expect(conv2dOutputShape([1, 3, 227, 227], [96, 3, 11, 11], { stride: 4 })).toEqual([1, 96, 55, 55]); // AlexNet conv1
    expect(conv2dOutputShape([2, 3, 224, 224], [64, 3, 7, 7], { stride: 2, padding: 'same' })).toEqual([2, 64, 112, 112]);
    expect(conv2dOutputShape([1, 32, 112, 112], [32, 1, 3, 3], { groups: 32, padding: [1, 1, 1, 1] })).toEqual([1, 32, 112, 112]); // MobileNet dw
  });
});

describe('conv2d errors', () => {
  const shapeCases: Array<[string, number[], number[], Conv2dAttrs, RegExp]> = [
    ['channel mismatch', [1, 3, 5, 5], [4, 2, 3, 3], {}, /3 channels.*2 per group x 1 groups = 2/],
    ['groups not dividing C', [1, 4, 5, 5], [6, 2, 3, 3], { groups: 3 }, /groups 3 does not divide the 4 input channels/],
    ['groups not dividing M', [1, 4, 5, 5], [5, 2, 3, 3], { groups: 2 }, /groups 2 does not divide the 5 output channels/],
    ['kernel larger than the padded input', [1, 1, 4, 4], [1, 1, 5, 5], { padding: [0, 0, 0, 0] }, /kernel 5x5 .*larger than the padded input 4x4/],
    ['dilated kernel larger than the input', [1, 1, 6, 5], [1, 1, 3, 3], { dilation: 3 }, /spanning 7x7.*6x5/],
    ['3-D input', [3, 5, 5], [4, 3, 3, 3], {}, /input \[3,5,5\] must be 4-D/],
  ];
  for (const [name, x, w, attrs, message] of shapeCases) {
    it(`ShapeError: ${name}`, () => {
      expect(() => conv2dOutputShape(x, w, attrs)).toThrow(ShapeError);
      expect(() => conv2dOutputShape(x, w, attrs)).toThrow(message);
    });
  }

  const rangeCases: Array<[string, Conv2dAttrs, RegExp]> = [
    ['stride 0', { stride: [1, 0] }, /stride \[1,0\] must be integers >= 1/],
    ['fractional dilation', { dilation: 1.5 }, /dilation \[1.5,1.5\]/],
    ['negative pad', { padding: [0, -1, 0, 0] }, /padding \[0,-1,0,0\]/],
    ['groups 0', { groups: 0 }, /groups 0 must be an integer >= 1/],
  ];
  for (const [name, attrs, message] of rangeCases) {
    it(`OutOfRangeError: ${name}`, () => {
      expect(() => conv2dOutputShape([1, 2, 5, 5], [2, 2, 3, 3], attrs)).toThrow(OutOfRangeError);
      expect(() => conv2dOutputShape([1, 2, 5, 5], [2, 2, 3, 3], attrs)).toThrow(message);
    });
  }

  it('ShapeError: bias length', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 2, 5, 5]), w = rt.createTensor([4, 2, 3, 3]), b = rt.createTensor([3]);
    await expect(rt.run('bad bias', (rec) => conv2d(rec, x, w, b))).rejects.toThrow(/bias \[3\] has 3 values.*4 output channels/);
    await expect(rt.run('bad bias', (rec) => conv2d(rec, x, w, b))).rejects.toBeInstanceOf(ShapeError);
    for (const t of [x, w, b]) t.release();
  });

  it('ShapeError: backward signal that is not the conv output', async () => {
    const rt = await getRuntime();
    const g = rt.createTensor([1, 4, 3, 4]), w = rt.createTensor([4, 2, 3, 3]);
    await expect(rt.run('bad signal', (rec) => conv2dBackwardInput(rec, g, w, [1, 2, 5, 5]))).rejects.toThrow(
      /signal \[1,4,3,4\] is not the conv2d output \[1,4,3,3\]/);
    for (const t of [g, w]) t.release();
  });
});

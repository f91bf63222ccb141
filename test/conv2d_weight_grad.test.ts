import { describe, expect, it } from 'vitest';
import {
  conv2dBackwardWeight, conv2dBackwardWeightPlanned, planWeightGrad, planWeightGradDirect, type WeightGradPlanOptions,
} from '../src/ops/conv2d_weight_grad.js';
import { conv2dOutputShape, type Conv2dAttrs } from '../src/ops/conv2d.js';
import { pair } from '../src/ops/conv_geometry.js';
import { chooseWeightGradTiling } from '../shaders/conv2d_weight_grad.js';
import { OutOfRangeError, ShapeError } from '../src/gpu/errors.js';
import type { Recorder } from '../src/gpu/recorder.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { expectClose, counted } from './helpers/gpu.js';
import { KERNEL_STYLES, styledRuntime } from './helpers/kernel_styles.js';
import { makeRandom } from './helpers/random.js';
import { conv2dRef, samePadsRef, type ConvRefAttrs } from './ref/conv.js';

type Shape4 = [number, number, number, number];

interface Case {
  name: string;
  x: Shape4;
  w: Shape4;
  attrs?: Conv2dAttrs;
  /** Split-K policy override (to put chunk boundaries everywhere on a small problem). */
  plan?: WeightGradPlanOptions;
  /** Expect the default policy to split K into at least this many chunks. */
  minChunks?: number;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function refAttrs(c: Case): ConvRefAttrs {
  const a = c.attrs ?? {};
  const stride = pair(a.stride, 1), dilation = pair(a.dilation, 1);
  const pads = a.padding === 'same' ? samePadsRef(c.x[2], c.x[3], c.w[2], c.w[3], stride, dilation)
    : a.padding === undefined || a.padding === 'valid' ? [0, 0, 0, 0] as ConvRefAttrs['pads'] : a.padding;
  return { stride, dilation, pads, groups: a.groups ?? 1 };
}

/**
 * dW[oc, ci, ky, kx] = sum over images b and output pixels (oy, ox) of
 * g[b, oc, oy, ox] * x[b, group(oc) * C/g + ci, oy*sh - top + ky*dh, ox*sw - left + kx*dw]
 * (zero outside the image): the definition, in float64.
 */
function weightGradRef(x: Float32Array, xs: Shape4, g: Float32Array, ws: Shape4, a: ConvRefAttrs): Float64Array {
  const [n, c, h, w] = xs;
  const [m, cg, kH, kW] = ws;
  const oh = Math.floor((h + a.pads[0] + a.pads[2] - (kH - 1) * a.dilation[0] - 1) / a.stride[0]) + 1;
  const ow = Math.floor((w + a.pads[1] + a.pads[3] - (kW - 1) * a.dilation[1] - 1) / a.stride[1]) + 1;
  const mg = m / a.groups;
  const dw = new Float64Array(size(ws));
  for (let oc = 0; oc < m; oc++) {
    const grp = Math.floor(oc / mg);
    for (let ci = 0; ci < cg; ci++) {
      for (let ky = 0; ky < kH; ky++) {
        for (let kx = 0; kx < kW; kx++) {
          let s = 0;
          for (let b = 0; b < n; b++) {
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * a.stride[0] - a.pads[0] + ky * a.dilation[0];
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < ow; ox++) {
                const ix = ox * a.stride[1] - a.pads[1] + kx * a.dilation[1];
                if (ix < 0 || ix >= w) continue;
                s += g[((b * m + oc) * oh + oy) * ow + ox]! * x[((b * c + grp * cg + ci) * h + iy) * w + ix]!;
              }
            }
          }
          dw[((oc * cg + ci) * kH + ky) * kW + kx] = s;
        }
      }
    }
  }
  return dw;
}

/** Float64 central differences of L(W) = sum(g * conv2d(x, W)) at the weight indices `at`. */
function numericWeightGrad(x: Float32Array, xs: Shape4, g: Float32Array, wData: Float32Array, ws: Shape4, a: ConvRefAttrs, at: number[], h = 1e-3): number[] {
  const wt = Float64Array.from(wData);
  const loss = () => {
    const y = conv2dRef(x, xs, wt, ws, null, a);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += g[i]! * y[i]!;
    return s;
  };
  return at.map((i) => {
    const keep = wt[i]!;
    wt[i] = keep + h; const up = loss();
    wt[i] = keep - h; const down = loss();
    wt[i] = keep;
    return (up - down) / (2 * h);
  });
}

/** Up to `k` weight indices spread over the whole tensor (first and last included). */
function sampleIndices(total: number, k: number): number[] {
  if (total <= k) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.round((i * (total - 1)) / (k - 1)));
}

/** Runs `fn` in one submit, counting its compute passes. */
const CASES: Case[] = [
  { name: 'odd 7x9, 3x3 valid', x: [1, 3, 7, 9], w: [5, 3, 3, 3] },
  { name: "stride 2 'same', even 4x4 kernel, batch 2", x: [2, 3, 9, 7], w: [4, 3, 4, 4], attrs: { stride: 2, padding: 'same' } },
  { name: 'stride [3,2], explicit asymmetric pads', x: [2, 2, 13, 11], w: [5, 2, 3, 2], attrs: { stride: [3, 2], padding: [2, 0, 1, 3] } },
  { name: "dilation 2 'same'", x: [1, 3, 11, 10], w: [4, 3, 3, 3], attrs: { dilation: 2, padding: 'same' } },
  { name: "stride 2, dilation [2,1], 'same'", x: [1, 2, 10, 9], w: [3, 2, 3, 3], attrs: { stride: 2, dilation: [2, 1], padding: 'same' } },
  { name: "groups 2 'same', batch 2", x: [2, 6, 9, 7], w: [10, 3, 3, 3], attrs: { groups: 2, padding: 'same' } },
  { name: 'groups 3, stride 2', x: [1, 9, 7, 9], w: [6, 3, 2, 3], attrs: { groups: 3, stride: 2 } },
  { name: "depthwise x1 'same', batch 2", x: [2, 5, 11, 13], w: [5, 1, 3, 3], attrs: { groups: 5, padding: 'same' } },
  { name: 'depthwise x2, stride 2, pads 1', x: [1, 4, 9, 11], w: [8, 1, 3, 3], attrs: { groups: 4, stride: 2, padding: [1, 1, 1, 1] } },
  { name: 'batch 3, 2x3 kernel, pads [0,1,1,0]', x: [3, 4, 8, 7], w: [6, 4, 2, 3], attrs: { padding: [0, 1, 1, 0] } },
  { name: '70 output channels (2 row tiles), pad 1', x: [1, 3, 9, 9], w: [70, 3, 3, 3], attrs: { padding: [1, 1, 1, 1] } },
  { name: '180 columns (3 column tiles), batch 2', x: [2, 20, 6, 5], w: [9, 20, 3, 3], attrs: { padding: 'same' } },
  { name: '1x1 conv, stride 2', x: [2, 7, 5, 6], w: [5, 7, 1, 1], attrs: { stride: 2 } },
  { name: 'kernel as large as the padded input', x: [1, 2, 3, 4], w: [3, 2, 5, 4], attrs: { padding: [1, 0, 1, 0] } },
  { name: 'K = 3*24*24 = 1728 split into chunks (boundaries inside images)', x: [3, 2, 26, 26], w: [4, 2, 3, 3], minChunks: 3 },
  { name: "depthwise, K = 2*30*30 split into chunks, 'same'", x: [2, 3, 30, 30], w: [3, 1, 3, 3], attrs: { groups: 3, padding: 'same' }, minChunks: 3 },
  { name: 'forced short chunks: groups 2, stride 2', x: [3, 4, 21, 17], w: [6, 2, 3, 3], attrs: { groups: 2, stride: 2, padding: [1, 0, 0, 1] }, plan: { minChunk: 16 } },
  { name: "5x5 'same', 6 channels (ragged direct tap and channel blocks)", x: [2, 2, 9, 8], w: [6, 2, 5, 5], attrs: { padding: 'same' } },
  { name: 'forced chunks with a wide tile (wgK 1)', x: [2, 16, 13, 10], w: [64, 16, 2, 2], plan: { minChunk: 16, targetWorkgroups: 64 } },
];

for (const style of KERNEL_STYLES) describe(`conv2dBackwardWeight [${style}]`, () => {
  CASES.forEach((c, index) => {
    it(c.name, async () => {
      const rt = await styledRuntime(style);
      const ra = refAttrs(c);
      const gShape = conv2dOutputShape(c.x, c.w, c.attrs) as Shape4;
      const rnd = makeRandom(700 + index);
      const xData = rnd.array(size(c.x)), gData = rnd.array(size(gShape)), wData = rnd.array(size(c.w));
      const x = rt.createTensor(c.x, xData), g = rt.createTensor(gShape, gData);
      const dw = await rt.run(c.name, (rec) => (c.plan
        ? conv2dBackwardWeightPlanned(rec, x, g, c.w, c.attrs ?? {}, c.plan)
        : conv2dBackwardWeight(rec, x, g, c.w, c.attrs)));
      expect(dw.shape).toEqual(c.w);
      const got = await dw.read();

      const direct = weightGradRef(xData, c.x, gData, c.w, ra);
      expectClose(got, direct, `${c.name} vs the direct formula`);

      // The loss is linear in W, so central differences are exact up to float64 rounding.
      const at = sampleIndices(direct.length, 48);
      const numeric = numericWeightGrad(xData, c.x, gData, wData, c.w, ra, at);
      const scale = Math.max(...direct.map(Math.abs));
      at.forEach((i, k) => expect(Math.abs(direct[i]! - numeric[k]!), `reference vs finite differences at ${i}`).toBeLessThan(1e-8 * scale));
      expectClose(at.map((i) => got[i]!), numeric, `${c.name} vs finite differences`);

      const planned = planWeightGrad({
        batch: c.x[0], groups: ra.groups, inC: c.x[1], inH: c.x[2], inW: c.x[3],
        outC: c.w[0], outH: gShape[2], outW: gShape[3], kH: c.w[2], kW: c.w[3],
        stride: ra.stride, dilation: ra.dilation, padT: ra.pads[0], padL: ra.pads[1],
      }, c.plan);
      if (c.minChunks) expect(planned.chunks).toBeGreaterThanOrEqual(c.minChunks);
      if (c.plan) expect(planned.chunks).toBeGreaterThan(4);
      for (const t of [x, g, dw]) t.release();
    });
  });

  it('is deterministic (split-K sums in a fixed order) and costs 1 submit, 2 passes when split, 1 when not', async () => {
    const rt = await styledRuntime(style);
    const rnd = makeRandom(9);
    const xs: Shape4 = [3, 2, 26, 26], ws: Shape4 = [4, 2, 3, 3];
    const x = rt.createTensor(xs, rnd.array(size(xs)));
    const g = rt.createTensor([3, 4, 24, 24], rnd.array(3 * 4 * 24 * 24));
    const a = await counted(rt, 'split', (rec) => conv2dBackwardWeight(rec, x, g, ws));
    const b = await counted(rt, 'split again', (rec) => conv2dBackwardWeight(rec, x, g, ws));
    expect(a.submits).toBe(1);
    expect(a.passes).toBe(2);
    const bytesBefore = rt.stats.bytesRead;
    expect(Array.from(await a.result.read())).toEqual(Array.from(await b.result.read()));
    expect(rt.stats.bytesRead - bytesBefore).toBe(2 * size(ws) * 4);

    const small = rt.createTensor([1, 2, 5, 5], rnd.array(50)), gs = rt.createTensor([1, 4, 3, 3], rnd.array(36));
    const c = await counted(rt, 'unsplit', (rec) => conv2dBackwardWeight(rec, small, gs, ws));
    expect(c.passes).toBe(1);
    for (const t of [x, g, a.result, b.result, small, gs, c.result]) t.release();
  });

  it('holds no extra GPU memory after repeated, failed and abandoned calls', async () => {
    const rt = await styledRuntime(style);
    const rnd = makeRandom(10);
    const xs: Shape4 = [2, 3, 30, 30], ws: Shape4 = [3, 1, 3, 3];
    const attrs: Conv2dAttrs = { groups: 3, padding: 'same' };
    const x = rt.createTensor(xs, rnd.array(size(xs))), g = rt.createTensor(xs, rnd.array(size(xs)));
    (await rt.run('warm-up', (rec) => conv2dBackwardWeight(rec, x, g, ws, attrs))).release();
    const held = rt.bytesHeld, inUse = rt.bytesInUse;
    for (let i = 0; i < 3; i++) (await rt.run('again', (rec) => conv2dBackwardWeight(rec, x, g, ws, attrs))).release();
    await expect(rt.run('bad', (rec) => conv2dBackwardWeight(rec, x, g, [3, 2, 3, 3], attrs))).rejects.toBeInstanceOf(ShapeError);
    let out: { release(): void } | null = null;
    await expect(rt.run('abandoned', (rec) => {
      out = conv2dBackwardWeight(rec, x, g, ws, attrs);
      throw new Error('cancelled');
    })).rejects.toThrow('cancelled');
    out!.release();
    // bytesInUse, not bytesHeld alone: a buffer taken from the pool and never returned leaves bytesHeld unchanged.
    expect(rt.bytesInUse).toBe(inUse);
    expect(rt.bytesHeld).toBe(held);
    x.release(); g.release();
  });

  it('plans: tiles narrow problems deep (WG_K), splits K only as far as it pays, folds large grids', () => {
    expect(chooseWeightGradTiling(1, 9)).toMatchObject({ wgM: 1, wgC: 4, wgK: 64 });
    expect(chooseWeightGradTiling(64, 576)).toMatchObject({ wgM: 16, wgC: 16, wgK: 1, rM: 4, rC: 4 });
    const conv = (batch: number, groups: number, inC: number, hw: number, outC: number, k: number) => planWeightGrad({
      batch, groups, inC, inH: hw, inW: hw, outC, outH: hw, outW: hw, kH: k, kW: k,
      stride: [1, 1], dilation: [1, 1], padT: 1, padL: 1,
    });
    // MNIST-size conv2 (64 x 32*9 weights, K = 64*14*14): few tiles, so K is cut into many chunks.
    const mid = conv(64, 1, 32, 14, 64, 3);
    expect(mid.chunks).toBeGreaterThan(8);
    expect(mid.chunkLen * mid.chunks).toBeGreaterThanOrEqual(64 * 14 * 14);
    // Depthwise 3x3 over 512 channels already has 512 tiles: at most a couple of chunks.
    expect(conv(8, 512, 512, 14, 512, 3).chunks).toBeLessThanOrEqual(2);
    // 70000 groups of 1x1: the linear grid folds into y.
    const wide = conv(1, 70000, 70000, 1, 70000, 1);
    expect(wide.dispatch[0]).toBeLessThanOrEqual(65535);
    expect(wide.dispatch[0] * wide.dispatch[1]).toBeGreaterThanOrEqual(wide.workgroups);
  });

  if (style === 'direct') it('direct plan: register blocks of taps x channels, rows split toward 1024 invocations', () => {
    const mnist = (inC: number, hw: number, outC: number, k: number) => planWeightGradDirect({
      batch: 64, groups: 1, inC, inH: hw, inW: hw, outC, outH: hw, outW: hw, kH: k, kW: k,
      stride: [1, 1], dilation: [1, 1], padT: (k - 1) / 2, padL: (k - 1) / 2,
    });
    const conv1 = mnist(1, 28, 16, 5);
    expect(conv1.block).toEqual({ rM: 16, rT: 13 });
    expect(conv1.chunks).toBeGreaterThan(64);
    expect(conv1.chunks * conv1.rowsPerChunk).toBeGreaterThanOrEqual(64 * 28);
    const conv2 = mnist(16, 13, 32, 3);
    expect(conv2.block).toEqual({ rM: 16, rT: 9 });
    expect(conv2.chunks).toBeGreaterThan(1);
    expect(conv2.invocations).toBeLessThanOrEqual(1024);
  });

  describe('errors', () => {
    it('ShapeError: output gradient that is not the conv output, naming both', async () => {
      const rt = await styledRuntime(style);
      const x = rt.createTensor([1, 2, 5, 5]), g = rt.createTensor([1, 4, 3, 4]);
      await expect(rt.run('bad g', (rec) => conv2dBackwardWeight(rec, x, g, [4, 2, 3, 3]))).rejects.toThrow(
        /output gradient \[1,4,3,4\] is not the conv2d output \[1,4,3,3\] of input \[1,2,5,5\] and weight \[4,2,3,3\]/);
      x.release(); g.release();
    });

    it('ShapeError / OutOfRangeError from the conv attributes and the weight shape', async () => {
      const rt = await styledRuntime(style);
      const x = rt.createTensor([1, 4, 5, 5]), g = rt.createTensor([1, 6, 3, 3]);
      const run = (ws: number[], attrs?: Conv2dAttrs) => rt.run('bad', (rec) => conv2dBackwardWeight(rec, x, g, ws, attrs));
      await expect(run([6, 3, 3, 3])).rejects.toThrow(/4 channels, weight \[6,3,3,3\] expects 3 per group/);
      await expect(run([6, 2, 3, 3], { groups: 3 })).rejects.toBeInstanceOf(ShapeError);
      await expect(run([6, 4, 3], {})).rejects.toThrow(/weight \[6,4,3\] must be 4-D/);
      await expect(run([6, 4, 3, 3], { stride: 0 })).rejects.toBeInstanceOf(OutOfRangeError);
      x.release(); g.release();
    });

    it('ShapeError: u32 input', async () => {
      const rt = await styledRuntime(style);
      const x = rt.createTensor([1, 2, 5, 5], new Uint32Array(50), 'u32'), g = rt.createTensor([1, 4, 3, 3]);
      await expect(rt.run('u32', (rec) => conv2dBackwardWeight(rec, x, g, [4, 2, 3, 3]))).rejects.toThrow(/input \[1,2,5,5\] must be f32, got u32/);
      x.release(); g.release();
    });
  });
});

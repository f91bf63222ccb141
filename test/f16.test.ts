// Half-precision weights in the GEMM core (docs/f16.md): every f16 variant
// against two float64 references, (1) computed from the f16-ROUNDED weights
// the GPU made (read back and decoded here from the IEEE-754 bits): only the
// f32 accumulation order differs, so the library's usual 1e-5 bar holds; and
// (2) computed from the full-precision weights, within the stated f16 bound:
// |y16 - y| <= sum_k |x_k| * delta(w_k), delta(w) = 2^-10 |w| (one f16 step,
// either neighbour) for |w| >= 2^-14, 2^-14 below (subnormals may flush), plus
// the f32 bar. SwiftShader has no 'shader-f16': the packed form runs here, the
// native one where the adapter has the feature (skipped otherwise; its WGSL is
// checked statically in test/node/f16_wgsl.test.ts).
import { describe, expect, it } from 'vitest';
import { conv2d } from '../src/ops/conv2d.js';
import { dense, denseBackwardInput, splitDenseKernel } from '../src/ops/dense.js';
import { sgdStep, setHyper } from '../src/ops/optimizer.js';
import {
  GEMM_CONV_VARIANTS, GEMM_MATMUL_VARIANTS, halfRowVec4s, halfRows, recordConvGemm, recordMatmulGemm,
  type ConvGemmGeometry, type GemmOptions, type GemmPlan, type HalfRowsLayout,
} from '../src/ops/gemm.js';
import { GEMM_TILES } from '../shaders/gemm.js';
import { derivedTensor } from '../src/gpu/derived.js';
import { defaultVariant } from '../src/gpu/tuning.js';
import { createRuntime, type Runtime } from '../src/index.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { OutOfRangeError, UnsupportedError } from '../src/gpu/errors.js';
import { counted, expectClose, getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { conv2dRef, convOutputShapeRef } from './ref/conv.js';
import { gemmRef } from './ref/matmul.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** An IEEE-754 binary16 bit pattern as a number (written from the format, not from the GPU's unpack). */
function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1, exponent = (bits >> 10) & 0x1f, fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The stated per-weight error of the f16 copy: one f16 step (2^-10 relative) in the normal range, 2^-14 below it. */
const halfStep = (w: number) => (Math.abs(w) < 2 ** -14 ? 2 ** -14 : 2 ** -10 * Math.abs(w));

/**
 * Reads the cached f16 copy of `source` (the same derived tensor the GEMM bound: a cache hit) and decodes
 * it to the rows x K values it holds, asserting each is within halfStep of the f32 weight and the row padding is zero.
 */
async function decodedCopy(rt: Runtime, source: Tensor, sourceData: Float32Array, l: HalfRowsLayout): Promise<Float64Array> {
  const builds = rt.derived.counts.builds;
  const rec = rt.record('f16 copy');
  const copy = halfRows(rec, source, l);
  await rec.submit();
  expect(rt.derived.counts.builds, 'the copy the GEMM used is cached: no rebuild').toBe(builds);
  const words = await rt.readU32(copy);
  const perRow = 4 * halfRowVec4s(l.K);
  expect(words.length * 2).toBe(l.rows * perRow);
  const out = new Float64Array(l.rows * l.K);
  for (let r = 0; r < l.rows; r++) {
    for (let k = 0; k < perRow; k++) {
      const flat = r * perRow + k;
      const h = halfValue((words[flat >> 1]! >>> (16 * (flat & 1))) & 0xffff);
      if (k >= l.K) { expect(h, `padding of row ${r} at ${k}`).toBe(0); continue; }
      const w = sourceData[r * l.ld + l.col + k]!;
      expect(Math.abs(h - w), `weight (${r}, ${k}) = ${w} as f16 ${h}`).toBeLessThanOrEqual(halfStep(w));
      out[r * l.K + k] = h;
    }
  }
  return out;
}

/** |ours - full| <= bound[i] + the f32 bar (1e-5 of the largest output) for every element. */
function expectWithinBound(ours: Float32Array, full: Float64Array, bound: Float64Array, what: string): void {
  const scale = full.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0, at = -1;
  for (let i = 0; i < full.length; i++) {
    const excess = Math.abs(ours[i]! - full[i]!) - bound[i]! - 1e-5 * scale;
    if (excess > worst) { worst = excess; at = i; }
  }
  expect(at, `${what}: element ${at} is ${ours[at]} vs ${full[at]}, bound ${bound[at]}`).toBe(-1);
  // The bound is not vacuous: it is a small fraction of the outputs.
  const meanBound = bound.reduce((s, v) => s + v, 0) / bound.length;
  expect(meanBound).toBeLessThan(1e-2 * Math.max(scale, 1e-30));
}

const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

/**
 * Against the reference from the f16-rounded weights: packed, only f32 accumulation order differs (the 1e-5 bar);
 * native, activations are rounded to f16 too and each slab's TK products summed in f16 (docs/f16.md):
 * (TK + 2) * 2^-11 * sum |w16 x|, plus TK * 2^-14 for products that flush.
 */
function expectNearRounded(ours: Float32Array, rounded: Float64Array, absSums: () => Float64Array, native: boolean, tk: number, what: string): void {
  if (!native) { expectClose(ours, rounded, `${what} vs the f16-rounded weights`); return; }
  expectWithinBound(ours, rounded, nativeBound(absSums(), tk), `${what} (native) vs the f16-rounded weights`);
}

const nativeBound = (absSums: Float64Array, tk: number) => absSums.map((s) => (tk + 2) * 2 ** -11 * s + tk * 2 ** -14);

// ---- convolution ----

interface ConvCase {
  x: [number, number, number, number]; outC: number; k: [number, number];
  stride?: [number, number]; dilation?: [number, number]; pads?: [number, number, number, number]; groups?: number; slices?: number;
}

const convName = (c: ConvCase) => `x [${c.x}] -> ${c.outC} k${c.k.join('x')} s${c.stride ?? [1, 1]} d${c.dilation ?? [1, 1]} `
  + `p[${c.pads ?? [0, 0, 0, 0]}] g${c.groups ?? 1}${c.slices ? ` slices ${c.slices}` : ''}`;

function geometryOf(c: ConvCase) {
  const groups = c.groups ?? 1, stride = c.stride ?? [1, 1], dilation = c.dilation ?? [1, 1], pads = c.pads ?? [0, 0, 0, 0];
  const wShape = [c.outC, c.x[1] / groups, c.k[0], c.k[1]] as const;
  const attrs = { stride, dilation, pads, groups, relu: true };
  const [, , outH, outW] = convOutputShapeRef(c.x, wShape, attrs);
  const g: ConvGemmGeometry = {
    batch: c.x[0], groups, inC: c.x[1], inH: c.x[2], inW: c.x[3], outC: c.outC, outH, outW,
    kH: c.k[0], kW: c.k[1], stride, dilation, padT: pads[0], padL: pads[1], cinG: c.x[1] / groups,
  };
  return { g, wShape, attrs, K: g.cinG * c.k[0] * c.k[1] };
}

/** Runs one f16 conv case through recordConvGemm and checks it against both references; returns the plan. */
async function convF16Case(rt: Runtime, c: ConvCase, variant: string, seed: number, options: GemmOptions): Promise<GemmPlan> {
  const native = options.f16Form === 'native';
  const { g, wShape, attrs, K } = geometryOf(c);
  const rnd = makeRandom(seed);
  const xd = rnd.array(size(c.x)), wd = rnd.array(size(wShape)), bd = rnd.array(c.outC);
  const x = rt.createTensor(c.x, xd), w = rt.createTensor(wShape, wd), b = rt.createTensor([c.outC], bd);
  try {
    let plan: GemmPlan | null = null;
    const run = await counted(rt, 'conv f16', (rec) => {
      const out = recordConvGemm(rec, x, w, b, g, true, GEMM_CONV_VARIANTS[variant]!, { slices: c.slices ?? 1, ...options });
      plan = out.plan;
      return out.y;
    });
    const gemmKeys = run.keys.filter((k) => k.includes('kind="conv"'));
    expect(gemmKeys, 'the GEMM pass ran its f16 form').toHaveLength(1);
    expect(gemmKeys[0]).toContain(`half={form="${native ? 'native' : 'packed'}",operand="a"}`);
    if (c.slices) expect(plan!.slices).toBe(c.slices);
    const ours = await run.result.read();
    run.result.release();
    const w16 = await decodedCopy(rt, w, wd, { rows: c.outC, K, ld: K, col: 0 });
    const linear = { ...attrs, relu: false };
    const absSums = () => conv2dRef(abs(xd), c.x, abs(w16), wShape, null, linear);
    const tk = GEMM_CONV_VARIANTS[variant]!.tile.tk;
    expectNearRounded(ours, conv2dRef(xd, c.x, w16, wShape, bd, attrs), absSums, native, tk, `${variant} ${convName(c)}`);
    const steps = conv2dRef(abs(xd), c.x, Float64Array.from(wd, halfStep), wShape, null, linear);
    const extra = native ? nativeBound(absSums(), tk) : new Float64Array(steps.length);
    expectWithinBound(ours, conv2dRef(xd, c.x, wd, wShape, bd, attrs), steps.map((s, i) => s + extra[i]!), `${variant} ${convName(c)} vs full precision`);
    return plan!;
  } finally {
    for (const t of [x, w, b]) t.release();
  }
}

// gemm64-conv tiles: 64 channels x 64 pixels. 133 channels (3 ragged row tiles) x 162 pixels (3 ragged column tiles),
// K = 5 x 3 x 3 = 45 (odd: rows padded from 45 to 48 halves; 133 x 45 = 5985 weights, an odd count); channels not
// divisible by 4 (5, 6, 9, 133); groups with stride and dilation; split-K of 1 slice, 4 slices and one slab per slice.
const CONV_CASES: Array<[string, ConvCase]> = [
  ['gemm64-conv', { x: [2, 5, 9, 9], outC: 133, k: [3, 3], pads: [1, 1, 1, 1] }],
  ['gemm64-conv', { x: [1, 6, 13, 11], outC: 9, k: [2, 3], stride: [2, 2], dilation: [2, 1], groups: 3, pads: [2, 1, 0, 3] }],
  ['gemm64-conv', { x: [1, 20, 6, 7], outC: 70, k: [3, 3], pads: [1, 1, 1, 1], slices: 4 }],
  ['gemm64-conv', { x: [2, 19, 5, 5], outC: 66, k: [3, 3], stride: [2, 1], pads: [0, 1, 2, 1], slices: 11 }],
  ['gemm128-conv', { x: [2, 7, 12, 11], outC: 131, k: [3, 3], pads: [1, 0, 1, 2] }],
];

describe('conv2d as implicit GEMM with f16 weights (packed form)', () => {
  CONV_CASES.forEach(([variant, c], i) => {
    it(`${variant}: ${convName(c)}`, async () => {
      const rt = await getRuntime();
      await convF16Case(rt, c, variant, 100 + i, { precision: 'f16', f16Form: 'packed' });
    });
  });

  it('gemm64-conv with the fused 2x2 max pooling epilogue reads the f16 copy too', async () => {
    const rt = await getRuntime();
    const c: ConvCase = { x: [2, 6, 10, 12], outC: 70, k: [3, 3], pads: [1, 1, 1, 1], groups: 2 };
    const { g, wShape, attrs, K } = geometryOf(c);
    const rnd = makeRandom(150);
    const xd = rnd.array(size(c.x)), wd = rnd.array(size(wShape)), bd = rnd.array(c.outC);
    const x = rt.createTensor(c.x, xd), w = rt.createTensor(wShape, wd), b = rt.createTensor([c.outC], bd);
    try {
      const run = await counted(rt, 'conv f16 pool', (rec) => recordConvGemm(rec, x, w, b, g, true, GEMM_CONV_VARIANTS['gemm64-conv']!, { pool: true, precision: 'f16-packed' }));
      expect(run.keys.find((k) => k.includes('pool=true'))).toContain('half={form="packed",operand="a"}');
      const { y, pooled } = run.result;
      const ours = await y.read(), pooledOurs = await pooled!.output.read();
      for (const t of [y, pooled!.output, pooled!.switches]) t.release();
      const w16 = await decodedCopy(rt, w, wd, { rows: c.outC, K, ld: K, col: 0 });
      const rounded = conv2dRef(xd, c.x, w16, wShape, bd, attrs);
      expectClose(ours, rounded, 'conv output vs the f16-rounded weights');
      // Each pooled value is the maximum of its window of the conv output (the switches are maxPool2d's, tested in gemm.test.ts).
      const [n, m, oh, ow] = [c.x[0], c.outC, g.outH, g.outW];
      const windows = new Float64Array(pooledOurs.length);
      for (let i = 0; i < windows.length; i++) {
        const plane = Math.floor(i / ((oh / 2) * (ow / 2))), rest = i % ((oh / 2) * (ow / 2));
        const ph = Math.floor(rest / (ow / 2)), pw = rest % (ow / 2), at = plane * oh * ow + 2 * ph * ow + 2 * pw;
        windows[i] = Math.max(rounded[at]!, rounded[at + 1]!, rounded[at + ow]!, rounded[at + ow + 1]!);
      }
      expect(windows.length).toBe(n * m * (oh / 2) * (ow / 2));
      expectClose(pooledOurs, windows, 'pooled vs the f16-rounded weights');
    } finally {
      for (const t of [x, w, b]) t.release();
    }
  });

  it('native form (shader-f16) where the adapter has it', async (ctx) => {
    const rt = await getRuntime();
    if (!rt.device.features.has('shader-f16')) {
      ctx.skip(`the adapter has no 'shader-f16' (SwiftShader): the native form is checked statically in test/node/f16_wgsl.test.ts`);
      return;
    }
    await convF16Case(rt, CONV_CASES[0]![1], 'gemm64-conv', 100, { precision: 'f16', f16Form: 'native' });
    await convF16Case(rt, CONV_CASES[2]![1], 'gemm64-conv', 102, { precision: 'f16', f16Form: 'native' });
  });
});

// ---- tiled-vec4 ----

describe('tiled-vec4 conv2d with f16 weights (packed form)', () => {
  // Channels per group a multiple of 4 (12; 4 per group of 2, stride 2, asymmetric pads) read the f16 copy of the
  // [C/g, kH, kW, M] weight; 6 channels (scalar weight loads) keep the f32 kernel.
  const cases: Array<{ x: [number, number, number, number]; w: [number, number, number, number]; stride: number; pads: [number, number, number, number]; groups: number; half: boolean }> = [
    { x: [2, 5, 9, 9], w: [12, 5, 3, 3], stride: 1, pads: [1, 1, 1, 1], groups: 1, half: true },
    { x: [1, 6, 10, 9], w: [8, 3, 3, 3], stride: 2, pads: [2, 0, 1, 1], groups: 2, half: true },
    { x: [1, 4, 7, 7], w: [6, 4, 3, 3], stride: 1, pads: [1, 1, 1, 1], groups: 1, half: false },
  ];
  cases.forEach((c, i) => {
    it(`x [${c.x}] w [${c.w}] stride ${c.stride} groups ${c.groups}: ${c.half ? 'the f16 copy' : 'f32 (no f16 form)'}`, async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(400 + i);
      const [M, cinG, kH, kW] = c.w;
      const xd = rnd.array(size(c.x)), wd = rnd.array(size(c.w)), bd = rnd.array(M);
      const x = rt.createTensor(c.x, xd), w = rt.createTensor(c.w, wd), b = rt.createTensor([M], bd);
      const attrs = { stride: [c.stride, c.stride] as [number, number], dilation: [1, 1] as [number, number], pads: c.pads, groups: c.groups, relu: true };
      rt.pinKernel('conv2d', 'tiled-vec4');
      rt.precision = 'f16';
      try {
        const run = await counted(rt, 'vec4 f16', (rec) => conv2d(rec, x, w, b, { stride: c.stride, padding: c.pads, groups: c.groups, activation: 'relu' }));
        expect(run.variants).toEqual(['tiled-vec4']);
        const key = run.keys.find((k) => k.startsWith('conv2d:vec4'))!;
        expect(key.includes('half=true')).toBe(c.half);
        const ours = await run.result.read();
        run.result.release();
        if (!c.half) { expectClose(ours, conv2dRef(xd, c.x, wd, c.w, bd, attrs), 'f32 fallback'); return; }
        // The weight as [C/g, kH, kW, M] (what the kernel's copy was made from), and the copy decoded back to [M, C/g, kH, kW].
        const taps = cinG * kH * kW;
        const ihwoData = new Float32Array(wd.length);
        for (let m = 0; m < M; m++) for (let t = 0; t < taps; t++) ihwoData[t * M + m] = wd[m * taps + t]!;
        const rec = rt.record('ihwo');
        const ihwo = derivedTensor(rec, w, 'ihwo', () => { throw new Error('the transposed weight was not cached'); });
        await rec.submit();
        const copy = await decodedCopy(rt, ihwo, ihwoData, { rows: taps, K: M, ld: M, col: 0 });
        const w16 = new Float64Array(wd.length);
        for (let m = 0; m < M; m++) for (let t = 0; t < taps; t++) w16[m * taps + t] = copy[t * M + m]!;
        expectClose(ours, conv2dRef(xd, c.x, w16, c.w, bd, attrs), 'tiled-vec4 vs the f16-rounded weights');
        const steps = conv2dRef(abs(xd), c.x, Float64Array.from(wd, halfStep), c.w, null, { ...attrs, relu: false });
        expectWithinBound(ours, conv2dRef(xd, c.x, wd, c.w, bd, attrs), steps, 'tiled-vec4 vs full precision');
      } finally {
        rt.precision = 'f32';
        rt.unpinKernel('conv2d');
        for (const t of [x, w, b]) t.release();
      }
    });
  });
});

describe('tiled-vec4 f16 copy of a derived (transposed) weight', () => {
  it('a write to the weight rebuilds the transpose and its f16 copy; the stale ones are freed', async () => {
    const rt = await getRuntime();
    const xShape = [1, 5, 8, 8] as [number, number, number, number], wShape = [12, 5, 3, 3] as [number, number, number, number];
    const rnd = makeRandom(600);
    const xd = rnd.array(size(xShape));
    const x = rt.createTensor(xShape, xd), w = rt.createTensor(wShape, rnd.array(size(wShape)));
    const attrs = { stride: [1, 1] as [number, number], dilation: [1, 1] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number], groups: 1 };
    rt.pinKernel('conv2d', 'tiled-vec4');
    rt.precision = 'f16-packed';
    try {
      const forward = async () => {
        const run = await counted(rt, 'vec4 f16', (rec) => conv2d(rec, x, w, null, { padding: attrs.pads }));
        expect(run.keys.find((k) => k.startsWith('conv2d:vec4'))).toContain('half=true');
        const y = await run.result.read();
        run.result.release();
        return { y, builds: run.keys.filter((k) => k.startsWith('gemm-f16-pack')).length };
      };
      expect((await forward()).builds).toBe(1);
      const held = rt.derivedBytes;
      expect((await forward()).builds, 'cached').toBe(0);
      const wd = rnd.array(size(wShape), -2, 2);
      rt.writeTensor(w, wd);
      const after = await forward();
      expect(after.builds, 'rebuilt after the write').toBe(1);
      expect(rt.derivedBytes, 'the stale transpose and copy were freed').toBe(held);
      const steps = conv2dRef(abs(xd), xShape, Float64Array.from(wd, halfStep), wShape, null, attrs);
      expectWithinBound(after.y, conv2dRef(xd, xShape, wd, wShape, null, attrs), steps, 'tiled-vec4 after the write vs full precision');
    } finally {
      rt.precision = 'f32';
      rt.unpinKernel('conv2d');
      x.release(); w.release();
    }
  });
});

// ---- matrix multiply ----

interface MatmulF16Case { M: number; N: number; K: number; operand: 'a' | 'b'; variant: string; slices?: number }

describe('matmul through the GEMM core with an f16 operand (packed form)', () => {
  // B transposed as f16: a dense layer's weight [out, in] (batch 3, 133 outputs in 3 ragged 64-tiles, 77 inputs: odd);
  // A as f16 with K = 301 in 5 slices and 2 ragged tiles per side.
  const cases: MatmulF16Case[] = [
    { M: 3, N: 133, K: 77, operand: 'b', variant: 'gemm64' },
    { M: 130, N: 140, K: 301, operand: 'a', variant: 'gemm64', slices: 5 },
  ];
  cases.forEach((c, i) => {
    it(`${c.variant}: ${c.M}x${c.N}x${c.K}, ${c.operand} as f16${c.slices ? `, ${c.slices} slices` : ''}`, async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(200 + i);
      const transposeB = c.operand === 'b';
      const aShape = [c.M, c.K], bShape = transposeB ? [c.N, c.K] : [c.K, c.N];
      const ad = rnd.array(c.M * c.K), bd = rnd.array(c.K * c.N), cd = rnd.array(c.N);
      const A = rt.createTensor(aShape, ad), B = rt.createTensor(bShape, bd), C = rt.createTensor([c.N], cd), y = rt.createTensor([c.M, c.N]);
      try {
        let plan: GemmPlan | null = null;
        const run = await counted(rt, 'matmul f16', (rec) => {
          plan = recordMatmulGemm(rec, {
            a: A, b: B, bias: C, y, M: c.M, N: c.N, K: c.K, transposeA: false, transposeB, alpha: 1, beta: 1, relu: true,
            biasStrides: { row: 0, col: 1 }, layout: { lda: c.K, aCol: 0, ldy: c.N, yCol: 0, biasOffset: 0, accumulate: false },
          }, GEMM_MATMUL_VARIANTS[c.variant]!, { precision: 'f16', f16Form: 'packed', slices: c.slices });
        });
        expect(plan!.slices).toBe(c.slices ?? 1);
        expect(run.keys.filter((k) => k.includes('half='))).toHaveLength(1);
        expect(run.keys.find((k) => k.includes('half='))).toContain(`operand="${c.operand}"`);
        const ours = await y.read();
        const [src, data, rows] = c.operand === 'a' ? [A, ad, c.M] : [B, bd, c.N];
        const half = await decodedCopy(rt, src, data, { rows, K: c.K, ld: c.K, col: 0 });
        const ref = (a: ArrayLike<number>, b: ArrayLike<number>, withBias: boolean, relu: boolean) =>
          gemmRef(a, aShape, b, bShape, withBias ? { data: cd, shape: [c.N] } : null, { transposeB, relu }).y;
        const [a16, b16] = c.operand === 'a' ? [half, bd] : [ad, half];
        expectClose(ours, ref(a16, b16, true, true), 'vs the f16-rounded operand');
        const steps = c.operand === 'a' ? ref(Float64Array.from(ad, halfStep), abs(bd), false, false) : ref(abs(ad), Float64Array.from(bd, halfStep), false, false);
        expectWithinBound(ours, ref(ad, bd, true, true), steps, 'vs full precision');
      } finally {
        for (const t of [A, B, C, y]) t.release();
      }
    });
  });
});

describe('Dense weights as f16 under the runtime precision (the GEMM core\'s matmul variants)', () => {
  it('whole and split into row chunks: the forward reads each chunk\'s f16 copy, the backward stays f32, non-GEMM variants stay f32', async () => {
    const base = await getRuntime();
    // 2 x 193 inputs (odd K) -> 70 units; 70 x 193 x 4 bytes = 54040: a 16 KiB binding limit splits it into chunks of 21, 21, 21 and 7 rows.
    const batch = 2, units = 70, inF = 193;
    const rnd = makeRandom(600);
    const xd = rnd.array(batch * inF), wd = rnd.array(units * inF), bd = rnd.array(units), gd = rnd.array(batch * units);
    for (const maxBindingSize of [undefined, 16 * 1024]) {
      const rt = await createRuntime({ device: base.device, poisonNewTensors: true, precision: 'f16-packed', pinnedKernels: { matmul: 'gemm64' }, ...(maxBindingSize ? { maxBindingSize } : {}) });
      const what = maxBindingSize ? 'split' : 'whole';
      const x = rt.createTensor([batch, inF], xd), b = rt.createTensor([units], bd), g = rt.createTensor([batch, units], gd);
      const chunks = splitDenseKernel(rt, wd, units, inF);
      expect(chunks.length, what).toBe(maxBindingSize ? 4 : 1);
      try {
        const run = await counted(rt, `dense f16 ${what}`, (rec) => dense(rec, x, chunks, b, { activation: 'relu' }));
        expect(run.variants.every((v) => v === 'gemm64')).toBe(true);
        expect(run.keys.filter((k) => k.includes('half={form="packed",operand="b"}')), `${what}: every chunk's GEMM reads its f16 copy`).toHaveLength(chunks.length);
        const ours = await run.result.read();
        run.result.release();
        // The f16 values the GPU made, chunk by chunk, against float64 from them (only accumulation order differs) and from the full weights (the stated bound).
        const w16 = new Float64Array(units * inF);
        let row = 0;
        for (const chunk of chunks) {
          const rows = chunk.shape[0]!;
          w16.set(await decodedCopy(rt, chunk, wd.subarray(row * inF, (row + rows) * inF), { rows, K: inF, ld: inF, col: 0 }), row * inF);
          row += rows;
        }
        const ref = (w: ArrayLike<number>, withBias: boolean, relu: boolean, xs: ArrayLike<number> = xd) =>
          gemmRef(xs, [batch, inF], w, [units, inF], withBias ? { data: bd, shape: [units] } : null, { transposeB: true, relu }).y;
        expectClose(ours, ref(w16, true, true), `${what} vs the f16-rounded weights`);
        expectWithinBound(ours, ref(wd, true, true), ref(Float64Array.from(wd, halfStep), false, false, abs(xd)), `${what} vs full precision`);

        // The DeconvNet / gradient step reads W untransposed (rows along N): f32, no copy, the full-precision reference.
        const back = await counted(rt, `dense backward ${what}`, (rec) => denseBackwardInput(rec, g, chunks));
        expect(back.keys.some((k) => k.includes('half='))).toBe(false);
        expectClose(await back.result.read(), gemmRef(gd, [batch, units], wd, [units, inF], null, {}).y, `${what} backward`);
        back.result.release();

        // A variant without an f16 form: f32 weights, the full-precision reference.
        rt.pinKernel('matmul', 'direct');
        const plain = await counted(rt, `dense direct ${what}`, (rec) => dense(rec, x, chunks, b, { activation: 'relu' }));
        expect(plain.keys.some((k) => k.includes('half='))).toBe(false);
        expectClose(await plain.result.read(), ref(wd, true, true), `${what} on direct`);
        plain.result.release();
      } finally {
        for (const t of [x, b, g, ...chunks]) t.release();
        rt.destroy();
      }
    }
  });

  it("on a 'tiled' (GPU) adapter the default matmul under f16 is gemm128-splitk, with the Dense weight's f16 copy", async () => {
    const shared = await getRuntime();
    const rt = await createRuntime({ device: shared.device, kernelStyle: 'tiled', precision: 'f16-packed' });
    const rnd = makeRandom(601);
    const x = rt.createTensor([1, 40], rnd.array(40)), w = rt.createTensor([12, 40], rnd.array(480));
    try {
      const run = await counted(rt, 'dense default', (rec) => dense(rec, x, w, null));
      expect(run.variants).toEqual(['gemm128-splitk']);
      expect(run.keys.some((k) => k.includes('operand="b"'))).toBe(true);
      run.result.release();
    } finally {
      x.release(); w.release();
      rt.destroy();
    }
  });
});

// ---- the runtime switch, the weight version, errors ----

describe('runtime precision f16', () => {
  it("conv2d (pinned gemm128-conv) reads the f16 copy; a training step on the weight rebuilds it; 'f16-packed' keeps f32 arithmetic", async () => {
    const rt = await getRuntime();
    const c: ConvCase = { x: [2, 7, 12, 11], outC: 131, k: [3, 3], pads: [1, 0, 1, 2] };
    const { wShape, attrs, K } = geometryOf(c);
    const rnd = makeRandom(300);
    const xd = rnd.array(size(c.x)), wd = rnd.array(size(wShape)), bd = rnd.array(c.outC), gd = rnd.array(size(wShape));
    const x = rt.createTensor(c.x, xd), w = rt.createTensor(wShape, wd), b = rt.createTensor([c.outC], bd);
    const grad = rt.createTensor(wShape, gd), velocity = rt.createTensor(wShape, new Float32Array(size(wShape))), hyper = rt.createTensor([1]);
    rt.pinKernel('conv2d', 'gemm128-conv');
    rt.precision = 'f16';
    const convAttrs = { padding: c.pads!, activation: 'relu' as const };
    const forward = async (weights: Float32Array, what: string, native: boolean) => {
      const builds = rt.derived.counts.builds;
      const run = await counted(rt, what, (rec) => conv2d(rec, x, w, b, convAttrs));
      expect(run.variants).toEqual(['gemm128-conv']);
      expect(run.keys.some((k) => k.startsWith('gemm-f16-pack')), `${what}: the copy is built`).toBe(true);
      expect(rt.derived.counts.builds - builds).toBe(1);
      expect(run.keys.find((k) => k.includes('kind="conv"'))).toContain(`half={form="${native ? 'native' : 'packed'}"`);
      const ours = await run.result.read();
      run.result.release();
      const w16 = await decodedCopy(rt, w, weights, { rows: c.outC, K, ld: K, col: 0 });
      const absSums = () => conv2dRef(abs(xd), c.x, abs(w16), wShape, null, { ...attrs, relu: false });
      expectNearRounded(ours, conv2dRef(xd, c.x, w16, wShape, bd, attrs), absSums, native, GEMM_TILES.gemm128.tk, what);
      // A second call reads the cached copy.
      const again = await counted(rt, `${what} again`, (rec) => conv2d(rec, x, w, b, convAttrs));
      expect(again.keys.some((k) => k.startsWith('gemm-f16-pack'))).toBe(false);
      again.result.release();
    };
    try {
      await forward(wd, 'before the step', rt.device.features.has('shader-f16'));
      // One SGD step (momentum 0): w -= 0.5 * grad, in place on the GPU (a write that bumps the weight's version).
      setHyper(hyper, [0.5]);
      const step = rt.record('sgd step');
      sgdStep(step, w, grad, velocity, hyper, { momentum: 0 });
      await step.submit();
      const stepped = await w.read();
      expect(stepped[0]).toBeCloseTo(wd[0]! - 0.5 * gd[0]!, 5);
      // 'f16-packed': the same copy (rebuilt: the weight moved on), read by the packed form on every device.
      rt.precision = 'f16-packed';
      await forward(stepped, 'after the step', false);
      // Back to f32: the plain kernel, no half.
      rt.precision = 'f32';
      const plain = await counted(rt, 'f32', (rec) => conv2d(rec, x, w, b, convAttrs));
      expect(plain.keys.some((k) => k.includes('half='))).toBe(false);
      plain.result.release();
    } finally {
      rt.precision = 'f32';
      rt.unpinKernel('conv2d');
      for (const t of [x, w, b, grad, velocity, hyper]) t.release();
    }
  });

  it("on a 'tiled' (GPU) adapter the chooser's default conv2d under f16 is gemm128-conv, its f16 form; pins still win", async () => {
    const shared = await getRuntime();
    // A GPU-style runtime on the same device (SwiftShader's own default is 'direct', which has no f16 form).
    const rt = await createRuntime({ device: shared.device, kernelStyle: 'tiled', precision: 'f16' });
    const rnd = makeRandom(500);
    const xShape = [1, 6, 9, 10], wShape = [10, 6, 3, 3];
    const x = rt.createTensor(xShape, rnd.array(size(xShape))), w = rt.createTensor(wShape, rnd.array(size(wShape)));
    const variantOf = async () => {
      const run = await counted(rt, 'default', (rec) => conv2d(rec, x, w, null, { padding: 'same' }));
      run.result.release();
      return { variant: run.variants[0], half: run.keys.some((k) => k.includes('half=')) };
    };
    try {
      expect(await variantOf()).toEqual({ variant: 'gemm128-conv', half: true });
      rt.pinKernel('conv2d', 'tiled');
      expect(await variantOf()).toEqual({ variant: 'tiled', half: false });
      rt.unpinKernel('conv2d');
      rt.precision = 'f32';
      expect(await variantOf()).toEqual({ variant: defaultVariant('conv2d', 'tiled'), half: false });
    } finally {
      x.release(); w.release();
      rt.destroy();
    }
  });

  it('refuses what it cannot do with typed errors', async () => {
    const rt = await getRuntime();
    expect(() => { rt.precision = 'f8' as never; }).toThrow(OutOfRangeError);
    expect(rt.precision).toBe('f32');
    const A = rt.createTensor([4, 8]), B = rt.createTensor([8, 4]), y = rt.createTensor([4, 4]);
    const call = {
      a: A, b: B, bias: null, y, M: 4, N: 4, K: 8, transposeA: false, transposeB: false, alpha: 1, beta: 0, relu: false,
      biasStrides: { row: 0, col: 0 }, layout: { lda: 8, aCol: 0, ldy: 4, yCol: 0, biasOffset: 0, accumulate: false },
    };
    const rec = rt.record('refusals');
    try {
      // B untransposed has its rows along N, not K: no f16 form.
      expect(() => recordMatmulGemm(rec, call, GEMM_MATMUL_VARIANTS.gemm64!, { precision: 'f16', f16Operand: 'b' })).toThrow(UnsupportedError);
      if (!rt.device.features.has('shader-f16')) {
        expect(() => recordMatmulGemm(rec, call, GEMM_MATMUL_VARIANTS.gemm64!, { precision: 'f16', f16Form: 'native' })).toThrow(UnsupportedError);
      }
      expect(() => recordMatmulGemm(rec, call, GEMM_MATMUL_VARIANTS.gemm64!, { precision: 'f12' as never })).toThrow(OutOfRangeError);
    } finally {
      rec.abandon();
      for (const t of [A, B, y]) t.release();
    }
  });
});

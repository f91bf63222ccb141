// The GEMM core (shaders/gemm.ts, src/ops/gemm.ts) against the float64
// references: matmul variants through the op (pinned, asserting the kernel
// that ran), forced split-K slice counts and both split-K reduces, and the
// forward convolution as implicit GEMM.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { matmul, type MatmulAttrs } from '../src/ops/matmul.js';
import { conv2d } from '../src/ops/conv2d.js';
import { GEMM_CONV_VARIANTS, GEMM_MATMUL_VARIANTS, convGemmCanPool, gemmPlan, recordConvGemm, recordMatmulGemm, type ConvGemmGeometry, type GemmPlan } from '../src/ops/gemm.js';
import { GEMM_TILES, INNER_LOOP_BEGIN, INNER_LOOP_END, gemmShader } from '../shaders/gemm.js';
import { createRuntime, type Runtime } from '../src/index.js';
import { counted, expectClose, getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { gemmRef } from './ref/matmul.js';
import { conv2dRef, convOutputShapeRef } from './ref/conv.js';
import { maxPoolRef } from './ref/pool.js';
import { OutOfRangeError } from '../src/gpu/errors.js';
import { GPU_ONLY_VARIANTS, KERNEL_VARIANTS } from '../src/gpu/tuning.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * One runtime for the file, on a device with 'subgroups' where the adapter has them (SwiftShader does), so
 * the split-K reduce defaults to its subgroup path; the plain reduce is forced with `subgroups: false`.
 * (Each kernel costs seconds of compiling on SwiftShader: one device, and few distinct kernels.)
 */
let runtime: Promise<Runtime> | null = null;
const uncaptured: string[] = [];
function gemmRuntime(): Promise<Runtime> {
  runtime ??= (async () => {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter?.features.has('subgroups')) return getRuntime();
    const device = await adapter.requestDevice({ requiredFeatures: ['subgroups' as GPUFeatureName], requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
    device.addEventListener('uncapturederror', (e) => { uncaptured.push((e as GPUUncapturedErrorEvent).error.message); });
    const rt = await createRuntime({ device, poisonNewTensors: true });
    ownDevice = device;
    return rt;
  })();
  return runtime;
}
let ownDevice: GPUDevice | null = null;
afterEach(() => { expect(uncaptured.splice(0), 'uncaptured WebGPU errors').toEqual([]); });
afterAll(async () => {
  if (ownDevice) { (await runtime)?.destroy(); ownDevice.destroy(); }
});

interface MatmulCase { M: number; N: number; K: number; attrs?: MatmulAttrs; bias?: (M: number, N: number) => number[] }

function operands(rt: Runtime, c: MatmulCase, seed: number) {
  const a = c.attrs ?? {};
  const rnd = makeRandom(seed);
  const aShape = a.transposeA ? [c.K, c.M] : [c.M, c.K];
  const bShape = a.transposeB ? [c.N, c.K] : [c.K, c.N];
  const cShape = c.bias ? c.bias(c.M, c.N) : null;
  const data = { a: rnd.array(size(aShape)), b: rnd.array(size(bShape)), c: cShape ? rnd.array(size(cShape)) : null };
  const A = rt.createTensor(aShape, data.a), B = rt.createTensor(bShape, data.b);
  const C = cShape ? rt.createTensor(cShape, data.c!) : null;
  const ref = gemmRef(data.a, aShape, data.b, bShape, cShape ? { data: data.c!, shape: cShape } : null, { ...a, relu: a.activation === 'relu' }).y;
  return { A, B, C, ref, release: () => { for (const t of [A, B, C]) t?.release(); } };
}

const name = (c: MatmulCase) => {
  const a = c.attrs ?? {};
  return `${c.M}x${c.N}x${c.K}${a.transposeA ? ' tA' : ''}${a.transposeB ? ' tB' : ''}${c.bias ? ` bias [${c.bias(c.M, c.N)}]` : ''}`
    + `${a.activation === 'relu' ? ' relu' : ''}${a.alpha !== undefined ? ` alpha ${a.alpha}` : ''}${a.beta !== undefined ? ` beta ${a.beta}` : ''}`;
};

const ROW_BIAS = (_M: number, N: number) => [N];
const COL_BIAS = (M: number) => [M, 1];
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;

// Sizes with >= 2 tiles per dimension and a ragged last tile (gemm128: 261 = 2 x 128 + 5; gemm64: 133 = 2 x 64 + 5),
// K below one slab, K not a multiple of 4, M/N/K = 1, whole interior tiles with full slabs only.
const MATMUL_CASES: Record<string, MatmulCase[]> = {
  // Transposes (nn covers k-fast A and row-fast B loads, tt the other two) on gemm128 only: the same generator.
  'gemm128': [
    { M: 261, N: 259, K: 3, bias: ROW_BIAS, attrs: { activation: 'relu' } },
    { M: 261, N: 133, K: 19, bias: ROW_BIAS, attrs: { activation: 'relu', transposeA: true, transposeB: true } },
    { M: 1, N: 1, K: 1, bias: ROW_BIAS, attrs: { activation: 'relu' } },
    { M: 1, N: 300, K: 41, bias: COL_BIAS, attrs: { activation: 'relu', alpha: -0.75, beta: 2.5 } },
    { M: 256, N: 128, K: 64, bias: COL_BIAS, attrs: { activation: 'relu', alpha: 0.5, beta: -2 } },
  ],
  'gemm64': [
    { M: 133, N: 150, K: 45, bias: COL_BIAS, attrs: { activation: 'relu', alpha: -0.75, beta: 2.5 } },
    { M: 129, N: 131, K: 6, bias: ROW_BIAS, attrs: { activation: 'relu' } },
    { M: 1, N: 1, K: 1, bias: COL_BIAS, attrs: { activation: 'relu' } },
    { M: 128, N: 64, K: 32, bias: ROW_BIAS, attrs: { activation: 'relu' } },
  ],
  'gemm128-splitk': [
    // 4 tiles, 38 slabs: split into slices by the plan.
    { M: 130, N: 140, K: 301, bias: ROW_BIAS, attrs: { activation: 'relu' } },
    { M: 3, N: 5, K: 7, bias: ROW_BIAS, attrs: { activation: 'relu' } },
  ],
};

describe('matmul through the GEMM core (pinned variants)', () => {
  for (const [variant, cases] of Object.entries(MATMUL_CASES)) {
    cases.forEach((c, i) => {
      it(`${variant}: ${name(c)}`, async () => {
        const rt = await gemmRuntime();
        const o = operands(rt, c, 1000 + i);
        rt.pinKernel('matmul', variant);
        try {
          const run = await counted(rt, variant, (rec) => matmul(rec, o.A, o.B, o.C, c.attrs));
          expect(run.variants).toEqual([variant]);
          const tile = GEMM_MATMUL_VARIANTS[variant]!.tile;
          const plan = gemmPlan(tile, c, { splitK: GEMM_MATMUL_VARIANTS[variant]!.splitK, maxPartialBytes: rt.maxBindingSize });
          expect(run.keys[0]).toContain(`tm=${tile.tm}`);
          expect(run.keys.length, 'passes: the GEMM, plus the reduce when split').toBe(plan.slices > 1 ? 2 : 1);
          if (variant === 'gemm128-splitk' && c.K > 300) expect(plan.slices).toBeGreaterThan(1);
          expectClose(await run.result.read(), o.ref, `${variant} ${name(c)}`);
          run.result.release();
        } finally {
          rt.unpinKernel('matmul');
          o.release();
        }
      });
    });
  }
});

/** Runs recordMatmulGemm with a forced slice count (and reduce path) into y, optionally accumulating onto y's contents. */
async function splitCase(rt: Runtime, c: MatmulCase, slices: number, subgroups: boolean | undefined, accumulate: boolean, seed: number) {
  const o = operands(rt, c, seed);
  const a = c.attrs ?? {};
  const start = makeRandom(seed + 1).array(c.M * c.N);
  const y = rt.createTensor([c.M, c.N], accumulate ? start : undefined);
  const cShape = c.bias?.(c.M, c.N);
  const cols = cShape && cShape.length > 0 ? cShape[cShape.length - 1]! : 1;
  const rows = cShape && cShape.length === 2 ? cShape[0]! : 1;
  let plan: GemmPlan | null = null;
  const run = await counted(rt, 'split', (rec) => {
    plan = recordMatmulGemm(rec, {
      a: o.A, b: o.B, bias: o.C, y, M: c.M, N: c.N, K: c.K,
      transposeA: !!a.transposeA, transposeB: !!a.transposeB, alpha: a.alpha ?? 1, beta: a.beta ?? 1, relu: a.activation === 'relu',
      biasStrides: { row: rows === 1 ? 0 : cols, col: cols === 1 ? 0 : 1 },
      layout: { lda: a.transposeA ? c.M : c.K, aCol: 0, ldy: c.N, yCol: 0, biasOffset: 0, accumulate },
    }, GEMM_MATMUL_VARIANTS['gemm128-splitk']!, { slices, subgroups });
  });
  const expected = accumulate ? o.ref.map((v, i) => v + start[i]!) : o.ref;
  expectClose(await y.read(), expected, `split ${slices} ${name(c)}`);
  o.release();
  y.release();
  return { plan: plan!, keys: run.keys };
}

describe('split-K', () => {
  const c: MatmulCase = { M: 133, N: 70, K: 67, bias: ROW_BIAS, attrs: { activation: 'relu', alpha: 1.5, beta: 0.5 } };
  // 67 = 8 slabs of 8 and a ragged 3: one slice, three slices, and one slab per slice (9).
  for (const slices of [1, 3, 9]) {
    it(`${slices} slice(s) of ${name(c)}, plain reduce`, async () => {
      const rt = await gemmRuntime();
      const { plan, keys } = await splitCase(rt, c, slices, false, false, 40 + slices);
      expect(plan.slices).toBe(slices);
      expect(keys.length).toBe(slices > 1 ? 2 : 1);
      if (slices > 1) expect(keys[1]).toContain('subgroups=false');
    });
  }

  it('more slices asked than slabs: one slab per slice', () => {
    const plan = gemmPlan(GEMM_TILES.gemm128, { M: 8, N: 8, K: 20 }, { splitK: true, slices: 50 });
    expect(plan.slices).toBe(3);
    expect(plan.kPerSlice).toBe(8);
  });

  it('the plan splits small grids to about 2 workgroups per SM of the 132-SM model, and not large ones', () => {
    // VGG16's 14x14x512 conv at batch 1: M = 512 channels, N = 196 pixels, K = 4608.
    const deep = gemmPlan(GEMM_TILES.gemm128, { M: 512, N: 196, K: 4608 }, { splitK: true });
    expect(deep.tilesM * deep.tilesN).toBe(8);
    expect(deep.slices).toBe(34);
    expect(deep.workgroups).toBeGreaterThanOrEqual(264);
    expect(gemmPlan(GEMM_TILES.gemm128, { M: 64, N: 224 * 224, K: 27 }, { splitK: true }).slices).toBe(1);
    // Never fewer than MIN_SLABS_PER_SLICE slabs per slice: K = 60 is 8 slabs, one slice.
    expect(gemmPlan(GEMM_TILES.gemm128, { M: 8, N: 8, K: 60 }, { splitK: true }).slices).toBe(1);
  });

  it('accumulates onto Y (split and unsplit), with a ragged bias [M, 1]', async () => {
    const rt = await gemmRuntime();
    const acc: MatmulCase = { M: 140, N: 131, K: 90, bias: COL_BIAS, attrs: { activation: 'relu' } };
    await splitCase(rt, acc, 1, false, true, 70);
    await splitCase(rt, acc, 4, false, true, 71);
    await splitCase(rt, acc, 3, undefined, true, 72);
  });

  it('subgroup reduce (4 lanes per output, shuffles) equals the reference', async (ctx) => {
    const rt = await gemmRuntime();
    if (!rt.device.features.has('subgroups')) { ctx.skip(); return; }
    for (const slices of [2, 5, 9]) {
      const { plan, keys } = await splitCase(rt, c, slices, undefined, false, 90 + slices);
      expect(plan.slices).toBe(slices);
      expect(keys[1], 'the reduce pass took the subgroup path').toContain('subgroups=true');
    }
  });
});

// ---- forward convolution as implicit GEMM ----

interface ConvCase {
  x: [number, number, number, number]; outC: number; k: [number, number];
  stride?: [number, number]; dilation?: [number, number]; pads?: [number, number, number, number]; groups?: number;
  bias?: boolean; relu?: boolean; slices?: number;
}

const convName = (c: ConvCase) => `x [${c.x}] -> ${c.outC} k${c.k.join('x')} s${c.stride ?? [1, 1]} d${c.dilation ?? [1, 1]} `
  + `p[${c.pads ?? [0, 0, 0, 0]}] g${c.groups ?? 1}${c.bias ? ' bias' : ''}${c.relu ? ' relu' : ''}${c.slices ? ` slices ${c.slices}` : ''}`;

async function convCase(rt: Runtime, c: ConvCase, variant: string, seed: number) {
  const groups = c.groups ?? 1, stride = c.stride ?? [1, 1], dilation = c.dilation ?? [1, 1], pads = c.pads ?? [0, 0, 0, 0];
  const wShape = [c.outC, c.x[1] / groups, c.k[0], c.k[1]] as const;
  const attrs = { stride, dilation, pads, groups, relu: c.relu };
  const [, , outH, outW] = convOutputShapeRef(c.x, wShape, attrs);
  const rnd = makeRandom(seed);
  const xd = rnd.array(size(c.x)), wd = rnd.array(size(wShape)), bd = c.bias ? rnd.array(c.outC) : null;
  const x = rt.createTensor(c.x, xd), w = rt.createTensor(wShape, wd), b = bd ? rt.createTensor([c.outC], bd) : null;
  const g: ConvGemmGeometry = {
    batch: c.x[0], groups, inC: c.x[1], inH: c.x[2], inW: c.x[3], outC: c.outC, outH, outW,
    kH: c.k[0], kW: c.k[1], stride, dilation, padT: pads[0], padL: pads[1], cinG: c.x[1] / groups,
  };
  let plan: GemmPlan | null = null;
  const run = await counted(rt, 'conv gemm', (rec) => {
    const out = recordConvGemm(rec, x, w, b, g, !!c.relu, GEMM_CONV_VARIANTS[variant]!, { slices: c.slices });
    plan = out.plan;
    return out.y;
  });
  expect(run.keys[0]).toContain('kind="conv"');
  expect(run.keys[0]).toContain(`tm=${GEMM_CONV_VARIANTS[variant]!.tile.tm}`);
  expect(run.keys.length).toBe(plan!.slices > 1 ? 2 : 1);
  if (c.slices) expect(plan!.slices).toBe(c.slices);
  expect(run.result.shape).toEqual([c.x[0], c.outC, outH, outW]);
  expectClose(await run.result.read(), conv2dRef(xd, c.x, wd, wShape, bd, attrs), `${variant} ${convName(c)}`);
  for (const t of [x, w, b, run.result]) t?.release();
}

// gemm64-conv tiles: 64 output channels x 64 pixels. >= 2 ragged tiles per dimension: 133 channels (3 row tiles),
// 2 images of 9x9 = 162 pixels (3 column tiles); channels not divisible by 4 (3, 5, 6, 133).
const CONV_CASES: Array<[string, ConvCase]> = [
  ['gemm64-conv', { x: [2, 5, 9, 9], outC: 133, k: [3, 3], pads: [1, 1, 1, 1], bias: true, relu: true }],
  ['gemm64-conv', { x: [1, 6, 13, 11], outC: 130, k: [3, 3], stride: [2, 2], dilation: [2, 2], pads: [2, 1, 0, 3], bias: true, relu: true }],
  ['gemm64-conv', { x: [2, 6, 7, 8], outC: 9, k: [2, 3], groups: 3, pads: [0, 2, 1, 0] }],
  ['gemm64-conv', { x: [1, 3, 5, 5], outC: 2, k: [1, 1] }],
  // Split-K through the conv: K = 20 x 3 x 3 = 180 = 11.25 slabs of 16; 4 and 12 (one slab each) slices; groups with slices.
  ['gemm64-conv', { x: [1, 20, 6, 7], outC: 70, k: [3, 3], pads: [1, 1, 1, 1], bias: true, relu: true, slices: 4 }],
  ['gemm64-conv', { x: [2, 20, 5, 5], outC: 66, k: [3, 3], stride: [2, 1], pads: [0, 1, 2, 1], bias: true, relu: true, slices: 12 }],
  ['gemm64-conv', { x: [1, 12, 6, 6], outC: 6, k: [3, 3], groups: 2, dilation: [2, 2], pads: [2, 2, 2, 2], bias: true, relu: true, slices: 4 }],
  ['gemm128-conv', { x: [2, 7, 12, 11], outC: 131, k: [3, 3], pads: [1, 0, 1, 2], bias: true, relu: true }],
];

describe('conv2d as implicit GEMM', () => {
  CONV_CASES.forEach(([variant, c], i) => {
    it(`${variant}: ${convName(c)}`, async () => convCase(await gemmRuntime(), c, variant, 300 + i));
  });

  // Through the op with the registry row pinned: the kernel chooser answers 'gemm128-conv' and the GEMM runs
  // (a deep K on a 4x4 map: one tile, split by the plan; and stride/dilation 2 with groups, unsplit).
  const PINNED: Array<{ x: [number, number, number, number]; w: [number, number, number, number]; attrs: Parameters<typeof conv2d>[4]; passes: number }> = [
    { x: [1, 64, 4, 4], w: [16, 64, 3, 3], attrs: { padding: [1, 1, 1, 1], activation: 'relu' }, passes: 2 },
    { x: [2, 6, 11, 9], w: [10, 3, 3, 3], attrs: { padding: [2, 0, 1, 3], stride: 2, dilation: 2, groups: 2, activation: 'relu' }, passes: 1 },
  ];
  PINNED.forEach((c, i) => {
    it(`conv2d op, pinned gemm128-conv: x [${c.x}] w [${c.w}] ${JSON.stringify(c.attrs)}`, async () => {
      const rt = await gemmRuntime();
      const rnd = makeRandom(800 + i);
      const xd = rnd.array(size(c.x)), wd = rnd.array(size(c.w)), bd = rnd.array(c.w[0]);
      const x = rt.createTensor(c.x, xd), w = rt.createTensor(c.w, wd), b = rt.createTensor([c.w[0]], bd);
      rt.pinKernel('conv2d', 'gemm128-conv');
      try {
        const run = await counted(rt, 'conv2d', (rec) => conv2d(rec, x, w, b, c.attrs));
        expect(run.variants).toEqual(['gemm128-conv']);
        expect(run.keys[0]).toContain('kind="conv"');
        expect(run.keys).toHaveLength(c.passes);
        const a = c.attrs!;
        const pair = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);
        const ref = conv2dRef(xd, c.x, wd, c.w, bd, {
          stride: pair(a.stride), dilation: pair(a.dilation), pads: a.padding as [number, number, number, number], groups: a.groups ?? 1, relu: true,
        });
        expectClose(await run.result.read(), ref, 'conv2d gemm128-conv');
        run.result.release();
      } finally {
        rt.unpinKernel('conv2d');
        for (const t of [x, w, b]) t.release();
      }
    });
  });

  it('every GEMM row of the registry is left out of tuning on CPU adapters (GPU_ONLY_VARIANTS), and nothing else', () => {
    const gemmRows = [...KERNEL_VARIANTS.matmul, ...KERNEL_VARIANTS.conv2d].filter((v) => v in GEMM_MATMUL_VARIANTS || v in GEMM_CONV_VARIANTS);
    expect(gemmRows.length).toBeGreaterThanOrEqual(4);
    expect(new Set(gemmRows)).toEqual(GPU_ONLY_VARIANTS);
  });

  it('no integer division or modulo inside the K loop of any generated kernel', () => {
    for (const tile of Object.values(GEMM_TILES)) {
      for (const operands of [{ kind: 'conv' as const }, ...TRANSPOSES.map(([tA, tB]) => ({ kind: 'matmul' as const, transposeA: tA, transposeB: tB }))]) {
        const wgsl = gemmShader({ tile, operands, epilogue: { kind: 'partial' } });
        const body = wgsl.slice(wgsl.indexOf(INNER_LOOP_BEGIN), wgsl.indexOf(INNER_LOOP_END));
        expect(body.length).toBeGreaterThan(100);
        expect(body.replace(/\/\/.*$/gm, '')).not.toMatch(/[/%]/);
      }
    }
  });
});

describe('conv2d as implicit GEMM with 2x2 max pooling in the epilogue', () => {
  // 70 channels (2 row tiles of 64, ragged), 2 images of 10x12 = 240 pixel columns (4 tiles of 64, ragged);
  // with ReLU many windows tie at 0 (the switch is the first in row-major order).
  const cases: Array<[string, ConvCase]> = [
    ['gemm64-conv', { x: [2, 6, 10, 12], outC: 70, k: [3, 3], pads: [1, 1, 1, 1], groups: 2, bias: true, relu: true }],
    ['gemm128-conv', { x: [1, 5, 9, 8], outC: 3, k: [2, 3], stride: [2, 1], dilation: [1, 2], pads: [1, 2, 2, 2] }],
  ];
  cases.forEach(([variant, c], i) => {
    it(`${variant}: ${convName(c)} + maxpool 2x2`, async () => {
      const rt = await gemmRuntime();
      const groups = c.groups ?? 1, stride = c.stride ?? [1, 1], dilation = c.dilation ?? [1, 1], pads = c.pads ?? [0, 0, 0, 0];
      const wShape = [c.outC, c.x[1] / groups, c.k[0], c.k[1]] as const;
      const attrs = { stride, dilation, pads, groups, relu: c.relu };
      const [, , outH, outW] = convOutputShapeRef(c.x, wShape, attrs);
      const rnd = makeRandom(600 + i);
      const xd = rnd.array(size(c.x)), wd = rnd.array(size(wShape)), bd = c.bias ? rnd.array(c.outC) : null;
      const x = rt.createTensor(c.x, xd), w = rt.createTensor(wShape, wd), b = bd ? rt.createTensor([c.outC], bd) : null;
      const g: ConvGemmGeometry = {
        batch: c.x[0], groups, inC: c.x[1], inH: c.x[2], inW: c.x[3], outC: c.outC, outH, outW,
        kH: c.k[0], kW: c.k[1], stride, dilation, padT: pads[0], padL: pads[1], cinG: c.x[1] / groups,
      };
      expect(convGemmCanPool(g)).toBe(true);
      const run = await counted(rt, 'conv gemm pool', (rec) => recordConvGemm(rec, x, w, b, g, !!c.relu, GEMM_CONV_VARIANTS[variant]!, { pool: true }));
      expect(run.keys).toHaveLength(1);
      expect(run.keys[0]).toContain('pool=true');
      const { y, pooled } = run.result;
      const ref = conv2dRef(xd, c.x, wd, wShape, bd, attrs);
      expectClose(await y.read(), ref, `${variant} conv`);
      const pool = maxPoolRef(ref, [c.x[0], c.outC, outH, outW], {
        kH: 2, kW: 2, sH: 2, sW: 2, dH: 1, dW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, outH: outH / 2, outW: outW / 2,
      });
      expect(pooled!.output.shape).toEqual([c.x[0], c.outC, outH / 2, outW / 2]);
      expectClose(await pooled!.output.read(), pool.values, `${variant} pooled`);
      // Switches compared where the window's maximum is unambiguous in float32 (or an exact tie, e.g. at 0 after ReLU).
      const got = await pooled!.switches.read();
      const plane = outH * outW;
      let checked = 0;
      for (let o = 0; o < got.length; o++) {
        const base = Math.floor(o / (plane / 4)) * plane;
        const best = ref[base + pool.switches[o]!]!, chosen = ref[base + got[o]!]!;
        if (got[o] !== pool.switches[o]) expect(Math.abs(best - chosen), `switch ${o}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(best)));
        else checked++;
      }
      expect(checked).toBeGreaterThan(got.length * 0.95);
      for (const t of [x, w, b, y, pooled!.output, pooled!.switches]) t?.release();
    });
  });

  it('refuses an odd output size and a split', async () => {
    const rt = await gemmRuntime();
    const x = rt.createTensor([1, 2, 5, 5]), w = rt.createTensor([4, 2, 3, 3]);
    const g: ConvGemmGeometry = {
      batch: 1, groups: 1, inC: 2, inH: 5, inW: 5, outC: 4, outH: 3, outW: 3, kH: 3, kW: 3, stride: [1, 1], dilation: [1, 1], padT: 0, padL: 0, cinG: 2,
    };
    const rec = rt.record('odd');
    expect(() => recordConvGemm(rec, x, w, null, g, false, GEMM_CONV_VARIANTS['gemm64-conv']!, { pool: true })).toThrow(OutOfRangeError);
    expect(() => recordConvGemm(rec, x, w, null, { ...g, inH: 6, inW: 6, outH: 4, outW: 4 }, false, GEMM_CONV_VARIANTS['gemm64-conv']!, { pool: true, slices: 2 })).toThrow(OutOfRangeError);
    rec.abandon();
    x.release(); w.release();
  });
});

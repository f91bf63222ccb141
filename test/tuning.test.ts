// Kernel variants chosen per adapter and layer shape (src/gpu/tuning.ts):
// every variant of every tunable op against the float64 references, and the
// chooser's rules (measured once and cached, pins win, same results whatever
// the choice).
import { describe, expect, it } from 'vitest';
import { conv2d, type Conv2dAttrs } from '../src/ops/conv2d.js';
import { conv2dTranspose, type Conv2dTransposeAttrs } from '../src/ops/conv2d_transpose.js';
import { matmul, type MatmulAttrs } from '../src/ops/matmul.js';
import { createRuntime, type Runtime } from '../src/gpu/runtime.js';
import { GPU_ONLY_VARIANTS, KERNEL_VARIANTS, KernelTimer, MIN_TUNE_REPEATS, defaultVariant, pickFastest, tuneRepeats, type TunableOp, type TuningStore } from '../src/gpu/tuning.js';
import { tuneModel } from '../src/deconv/tune_model.js';
import { OutOfRangeError } from '../src/gpu/errors.js';
import { createModel, Conv2D, MaxPool2D, Flatten, Dense } from '../src/index.js';
import { getRuntime, expectClose, counted } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { conv2dRef, conv2dTransposeRef, samePadsRef, type ConvRefAttrs } from './ref/conv.js';
import { gemmRef } from './ref/matmul.js';

type Shape4 = [number, number, number, number];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const pinned = new Map<string, Promise<Runtime>>();
/** A poisoning runtime on the shared test device whose `op` always uses `variant`. */
function pinnedRuntime(op: TunableOp, variant: string): Promise<Runtime> {
  const key = `${op}|${variant}`;
  let rt = pinned.get(key);
  if (!rt) {
    rt = getRuntime().then((base) => createRuntime({ device: base.device, poisonNewTensors: true, pinnedKernels: { [op]: variant } }));
    pinned.set(key, rt);
  }
  return rt;
}

/**
 * Whether `variant` computes a convolution of this kernel, stride, dilation and groups:
 * Winograd F(m x m, 3 x 3) is defined for one-group 3x3 kernels at stride 1, dilation 1;
 * every other variant takes any convolution. Where a pinned variant cannot, the chooser
 * runs the adapter default instead.
 */
function variantTakes(variant: string, w: Shape4, attrs: { stride?: number | [number, number]; dilation?: number | [number, number]; groups?: number }): boolean {
  if (!variant.startsWith('winograd')) return true;
  const ones = (v: number | [number, number] | undefined) => v === undefined || (typeof v === 'number' ? v === 1 : v[0] === 1 && v[1] === 1);
  return w[2] === 3 && w[3] === 3 && ones(attrs.stride) && ones(attrs.dilation) && (attrs.groups ?? 1) === 1;
}

/** The case name, saying where the variant cannot take the case and the adapter default runs instead. */
const caseTitle = (name: string, variant: string, takes: boolean) => (takes ? name : `${name} (${variant} cannot take it: the adapter default runs)`);

interface ConvCase { name: string; x: Shape4; w: Shape4; attrs: Conv2dAttrs; bias: boolean }

const CONV_CASES: ConvCase[] = [
  { name: "3x3 'same' relu batch 2, 70 channels (ragged channel blocks and tiles)", x: [2, 5, 13, 11], w: [70, 5, 3, 3], attrs: { padding: 'same', activation: 'relu' }, bias: true },
  { name: 'stride 2 dilation [2,1] explicit pads', x: [1, 3, 12, 9], w: [7, 3, 3, 3], attrs: { stride: 2, dilation: [2, 1], padding: [2, 1, 1, 2] }, bias: false },
  { name: 'groups 2, 16 channels per group', x: [1, 6, 9, 10], w: [32, 3, 3, 3], attrs: { groups: 2, padding: 'same' }, bias: true },
  { name: 'depthwise, 300 pixels', x: [2, 4, 15, 20], w: [4, 1, 3, 3], attrs: { groups: 4, padding: 'same', activation: 'relu' }, bias: true },
  { name: 'K = 288 (many k-steps), 1x1 output rows', x: [1, 32, 5, 7], w: [9, 32, 3, 3], attrs: { padding: [1, 1, 1, 1] }, bias: true },
  { name: '64 channels, 8463 pixels (ragged 64-pixel tiles, vec4 weight rows), K = 36', x: [1, 4, 91, 93], w: [64, 4, 3, 3], attrs: { padding: 'same', activation: 'relu' }, bias: true },
  { name: "3x3 stride 1, 40 -> 33 channels, asymmetric explicit pads (ragged Winograd tiles)", x: [1, 40, 10, 9], w: [33, 40, 3, 3], attrs: { padding: [0, 2, 1, 0] }, bias: true },
];

function convRefAttrs(c: ConvCase): ConvRefAttrs {
  const a = c.attrs;
  const pr = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);
  const stride = pr(a.stride), dilation = pr(a.dilation);
  const pads = a.padding === 'same' ? samePadsRef(c.x[2], c.x[3], c.w[2], c.w[3], stride, dilation)
    : a.padding === undefined || a.padding === 'valid' ? [0, 0, 0, 0] as ConvRefAttrs['pads'] : a.padding as ConvRefAttrs['pads'];
  return { stride, dilation, pads, groups: a.groups ?? 1, relu: a.activation === 'relu' };
}

/**
 * The GEMM core's rows compile for 8-15 s a pipeline on SwiftShader; test/gemm.test.ts
 * covers them case by case (ragged tiles, transposes, bias shapes, split-K, strides,
 * groups...), so here they run the registry's first and last case only.
 */
const casesFor = <T,>(variant: string, cases: T[]): T[] => (GPU_ONLY_VARIANTS.has(variant) ? [cases[0]!, cases[cases.length - 1]!] : cases);

for (const variant of KERNEL_VARIANTS.conv2d) describe(`conv2d variant ${variant}`, () => {
  casesFor(variant, CONV_CASES).forEach((c) => {
    const index = CONV_CASES.indexOf(c);
    const takes = variantTakes(variant, c.w, c.attrs);
    it(caseTitle(c.name, variant, takes), async () => {
      const rt = await pinnedRuntime('conv2d', variant);
      const rnd = makeRandom(500 + index);
      const xData = rnd.array(size(c.x)), wData = rnd.array(size(c.w)), bData = c.bias ? rnd.array(c.w[0]) : null;
      const x = rt.createTensor(c.x, xData), w = rt.createTensor(c.w, wData), b = bData ? rt.createTensor([c.w[0]], bData) : null;
      const { result: y, variants } = await counted(rt, c.name, (rec) => conv2d(rec, x, w, b, c.attrs));
      expect(variants).toEqual([takes ? variant : defaultVariant('conv2d', rt.kernelStyle)]);
      expectClose(await y.read(), conv2dRef(xData, c.x, wData, c.w, bData, convRefAttrs(c)), `${variant} ${c.name}`);
      for (const t of [x, w, b, y]) t?.release();
    });
  });
});

interface TransposeCase { name: string; x: Shape4; w: Shape4; attrs: Conv2dTransposeAttrs; bias: boolean; pad: [number, number]; out: [number, number] }

// out = (in - 1) * stride - pads + (k - 1) * dilation + 1 + outputPadding
const TRANSPOSE_CASES: TransposeCase[] = [
  { name: 'stride 2 3x3, 40 output channels, batch 2', x: [2, 6, 7, 5], w: [6, 40, 3, 3], attrs: { stride: 2, padding: [1, 1, 1, 1], outputPadding: [1, 0] }, bias: true, pad: [1, 1], out: [14, 9] },
  { name: 'stride 1 same-size (conv backward), dilation 2', x: [1, 9, 8, 11], w: [9, 5, 3, 3], attrs: { dilation: 2, padding: [2, 2, 2, 2] }, bias: false, pad: [2, 2], out: [8, 11] },
  { name: 'groups 3 stride [2,3]', x: [1, 6, 5, 4], w: [6, 2, 2, 3], attrs: { groups: 3, stride: [2, 3] }, bias: true, pad: [0, 0], out: [10, 12] },
  { name: 'stride 1 3x3 pads 1 (the input gradient of a same conv), 24 -> 37 channels, batch 2', x: [2, 24, 9, 10], w: [24, 37, 3, 3], attrs: { padding: [1, 1, 1, 1] }, bias: true, pad: [1, 1], out: [9, 10] },
  { name: "stride 1 3x3 'valid' (the full output)", x: [1, 5, 6, 7], w: [5, 6, 3, 3], attrs: {}, bias: false, pad: [0, 0], out: [8, 9] },
  { name: 'stride 1 3x3 outputShape past the full output (rows no input reaches)', x: [1, 3, 4, 5], w: [3, 4, 3, 3], attrs: { outputShape: [8, 7] }, bias: true, pad: [0, 0], out: [8, 7] },
];

for (const variant of KERNEL_VARIANTS.conv2dTranspose) describe(`conv2dTranspose variant ${variant}`, () => {
  TRANSPOSE_CASES.forEach((c, index) => {
    const takes = variantTakes(variant, c.w, c.attrs);
    it(caseTitle(c.name, variant, takes), async () => {
      const rt = await pinnedRuntime('conv2dTranspose', variant);
      const rnd = makeRandom(600 + index);
      const groups = c.attrs.groups ?? 1;
      const cout = c.w[1] * groups;
      const xData = rnd.array(size(c.x)), wData = rnd.array(size(c.w)), bData = c.bias ? rnd.array(cout) : null;
      const x = rt.createTensor(c.x, xData), w = rt.createTensor(c.w, wData), b = bData ? rt.createTensor([cout], bData) : null;
      const { result: y, variants } = await counted(rt, c.name, (rec) => conv2dTranspose(rec, x, w, b, c.attrs));
      // 'forward-conv' goes on to choose a conv2d variant per sub-pixel phase (test/conv2d_transpose_forward.test.ts checks those).
      expect(variant === 'forward-conv' ? variants.slice(0, 1) : variants).toEqual([takes ? variant : defaultVariant('conv2dTranspose', rt.kernelStyle)]);
      expect(y.shape).toEqual([c.x[0], cout, ...c.out]);
      const pr = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);
      const ref = conv2dTransposeRef(xData, c.x, wData, c.w, bData, {
        stride: pr(c.attrs.stride), dilation: pr(c.attrs.dilation), padBegin: c.pad, groups, outH: c.out[0], outW: c.out[1],
      });
      expectClose(await y.read(), ref, `${variant} ${c.name}`);
      for (const t of [x, w, b, y]) t?.release();
    });
  });
});

interface GemmCase { M: number; N: number; K: number; attrs: MatmulAttrs; bias: ((M: number, N: number) => number[]) | null }
const GEMM_CASES: GemmCase[] = [
  ...[[false, false], [true, false], [false, true], [true, true]].map(([tA, tB]) => ({ M: 37, N: 70, K: 33, attrs: { transposeA: tA, transposeB: tB }, bias: null })),
  { M: 1, N: 130, K: 257, attrs: { transposeB: true, activation: 'relu' }, bias: (_M, N) => [N] },
  { M: 65, N: 5, K: 9, attrs: { alpha: 0.5, beta: 2 }, bias: (M) => [M, 1] },
  { M: 3, N: 3, K: 1, attrs: {}, bias: (M, N) => [M, N] },
];

for (const variant of KERNEL_VARIANTS.matmul) describe(`matmul variant ${variant}`, () => {
  casesFor(variant, GEMM_CASES).forEach((c) => {
    const index = GEMM_CASES.indexOf(c);
    const name = `${c.M}x${c.N}x${c.K} ${JSON.stringify(c.attrs)}${c.bias ? ` bias [${c.bias(c.M, c.N)}]` : ''}`;
    it(name, async () => {
      const rt = await pinnedRuntime('matmul', variant);
      const rnd = makeRandom(700 + index);
      const aShape = c.attrs.transposeA ? [c.K, c.M] : [c.M, c.K];
      const bShape = c.attrs.transposeB ? [c.N, c.K] : [c.K, c.N];
      const cShape = c.bias ? c.bias(c.M, c.N) : null;
      const aData = rnd.array(size(aShape)), bData = rnd.array(size(bShape)), cData = cShape ? rnd.array(size(cShape)) : null;
      const A = rt.createTensor(aShape, aData), B = rt.createTensor(bShape, bData), C = cShape ? rt.createTensor(cShape, cData!) : null;
      const { result: Y, variants } = await counted(rt, name, (rec) => matmul(rec, A, B, C, c.attrs));
      expect(variants).toEqual([variant]);
      const ref = gemmRef(aData, aShape, bData, bShape, cShape ? { data: cData!, shape: cShape } : null, { ...c.attrs, relu: c.attrs.activation === 'relu' });
      expectClose(await Y.read(), ref.y, `${variant} ${name}`);
      for (const t of [A, B, C, Y]) t?.release();
    });
  });
});

/** A small net whose forward hits conv2d and matmul, and whose projection hits conv2dTranspose and matmul. */
function smallModel(rt: Runtime) {
  const rnd = makeRandom(42);
  return createModel(rt, {
    inputShape: [3, 12, 12],
    layers: [
      new Conv2D({ name: 'conv1', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernel: rnd.array(8 * 27, -0.5, 0.5) }),
      new MaxPool2D({ name: 'pool1', kernel: 2 }),
      new Conv2D({ name: 'conv2', filters: 12, kernelSize: 3, padding: 'same', activation: 'relu', kernel: rnd.array(12 * 72, -0.3, 0.3) }),
      new Flatten({ name: 'flat' }),
      new Dense({ name: 'fc', units: 10, kernel: rnd.array(10 * 432, -0.1, 0.1) }),
    ],
  });
}

class MemoryStore implements TuningStore {
  map = new Map<string, string>();
  getItem(key: string) { return this.map.get(key) ?? null; }
  setItem(key: string, value: string) { this.map.set(key, value); }
}

describe('kernel tuning', () => {
  it('times kernels with timestamp queries where the device has them', async () => {
    const rt = await getRuntime();
    const timer = new KernelTimer(rt);
    expect(timer.kind).toBe(rt.device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock');
    const a = rt.createTensor([64, 64], new Float32Array(4096).fill(1));
    const ms = await timer.timeRecording('matmul', (rec) => rec.temp(matmul(rec, a, a, null)));
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(ms)).toBe(true);
    timer.destroy();
    a.release();
  });

  it('runtime.profile times every pass of every submit a piece of work makes, in order, with its label', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([1, 4, 9, 9], new Float32Array(324).fill(0.5));
    const w = rt.createTensor([6, 4, 3, 3], new Float32Array(216).fill(0.1));
    const passes = await rt.profile(async () => {
      const y = await rt.run('conv', (rec) => conv2d(rec, x, w, null, { padding: 'same' }));
      const z = await rt.run('matmul', (rec) => matmul(rec, y.reshape([6, 81]), y.reshape([6, 81]), null, { transposeB: true }));
      y.release();
      z.release();
    });
    if (!rt.device.features.has('timestamp-query')) { expect(passes).toBeNull(); return; }
    expect(passes!.map((p) => p.operation)).toEqual(['conv', 'matmul']);
    expect(passes![0]!.label).toBe('conv2d');
    expect(passes![1]!.label).toMatch(/^matmul/);
    for (const p of passes!) expect(p.ms).toBeGreaterThanOrEqual(0);
    // Outside profile() nothing is timed, and a second profile starts empty.
    expect(await rt.profile(async () => undefined)).toEqual([]);
    x.release();
    w.release();
  });

  it('judges each candidate by its fastest of at least 3 timed runs, dropping clearly slower ones early', async () => {
    expect(tuneRepeats(undefined)).toBe(MIN_TUNE_REPEATS);
    expect(MIN_TUNE_REPEATS).toBeGreaterThanOrEqual(3);
    expect(tuneRepeats(1)).toBe(MIN_TUNE_REPEATS);
    expect(tuneRepeats(5.7)).toBe(5);
    // Scripted timings: warm-up first, then the timed runs. 'noisy' has slow (loaded machine) runs
    // but is the fastest at its best; its median or its first run would lose to 'steady'.
    const script: Record<string, number[]> = {
      steady: [12, 10, 10, 10, 10, 10],
      noisy: [25, 28, 6, 19, 18, 17],
      slow: [11, 16, 17, 16, 16],
      hopeless: [40, 40, 40, 40, 40],
    };
    const calls: Record<string, number> = {};
    const time = async (v: string) => { const k = calls[v] ?? 0; calls[v] = k + 1; return script[v]![k]!; };
    const picked = await pickFastest(['steady', 'noisy', 'slow', 'hopeless'], time, 3, true);
    expect(picked.best).toBe('noisy');
    expect(picked.ms).toEqual({ steady: 10, noisy: 6, slow: 16, hopeless: 40 });
    // The winner and the close candidate got every run (a slow warm-up or first run does not rule 'noisy' out);
    // 'slow' (min of two runs 16 > 1.5 x 6) stopped after two; 'hopeless' (over 3x) at its warm-up (GPU time).
    expect(picked.runs).toEqual({ steady: 3, noisy: 3, slow: 2, hopeless: 0 });
    expect(calls).toEqual({ steady: 4, noisy: 4, slow: 3, hopeless: 1 });
    // A wall-clock timer's warm-up includes compiling: never judged on it.
    for (const k of Object.keys(calls)) delete calls[k];
    const wall = await pickFastest(['steady', 'hopeless'], time, 3, false);
    expect(wall).toMatchObject({ best: 'steady', runs: { steady: 3, hopeless: 2 } });
    // More runs when asked.
    for (const k of Object.keys(calls)) delete calls[k];
    const five = await pickFastest(['steady', 'noisy'], time, 5, true);
    expect(five).toMatchObject({ best: 'noisy', ms: { steady: 10, noisy: 6 }, runs: { steady: 5, noisy: 5 } });
  });

  it('measures every (op, shape) of a model once, picks a candidate, reuses the cached choice, and pins win', async () => {
    const base = await getRuntime();
    const store = new MemoryStore();
    const rt = await createRuntime({ device: base.device, poisonNewTensors: true, tuningCache: store });
    const model = smallModel(rt);
    const image = makeRandom(7).array(2 * 3 * 12 * 12, 0, 1);
    const before = await model.forward(image);
    const reference = await before.readOutput();
    before.release();

    const results = await tuneModel(model, 2);
    const ops = new Set(results.map((r) => r.op));
    expect(ops).toEqual(new Set(['conv2d', 'conv2dTranspose', 'matmul']));
    for (const r of results) {
      expect(r.source).toBe('measured');
      expect(KERNEL_VARIANTS[r.op]).toContain(r.variant);
      expect(Object.keys(r.ms).length).toBeGreaterThanOrEqual(1);
      expect(r.ms[r.variant]).toBe(Math.min(...Object.values(r.ms)));
      expect(rt.kernels.explain(r.op, r.shapeKey)).toEqual({ op: r.op, shapeKey: r.shapeKey, variant: r.variant, source: 'measured' });
    }
    // The forward now runs on the measured choices, with the same result up to rounding.
    const measuredBefore = rt.kernels.counts.measured;
    const after = await model.forward(image);
    expect(rt.kernels.counts.measured).toBeGreaterThan(measuredBefore);
    expectClose(await after.readOutput(), reference, 'forward on tuned kernels');
    after.release();

    // Again: nothing is measured, every key is answered from the cache.
    const again = await tuneModel(model, 2);
    expect(again.map((r) => r.source)).toEqual(results.map(() => 'cached'));
    expect(again.every((r) => Object.keys(r.ms).length === 0)).toBe(true);

    // A second runtime on the same adapter with the same store starts with the choices.
    const rt2 = await createRuntime({ device: base.device, tuningCache: store });
    for (const r of results) expect(rt2.kernels.explain(r.op, r.shapeKey).source).toBe('measured');
    rt2.destroy();

    // Pins win over measurements: per shape, then per op; results unchanged.
    const conv = results.find((r) => r.op === 'conv2d')!;
    const other = KERNEL_VARIANTS.conv2d.find((v) => v !== conv.variant)!;
    rt.pinKernel('conv2d', other, conv.shapeKey);
    expect(rt.kernels.explain('conv2d', conv.shapeKey)).toMatchObject({ variant: other, source: 'pinned' });
    rt.unpinKernel('conv2d', conv.shapeKey);
    rt.pinKernel('conv2d', other);
    rt.pinKernel('matmul', 'direct');
    for (const r of results.filter((x) => x.op === 'conv2d')) expect(rt.kernels.explain('conv2d', r.shapeKey)).toMatchObject({ variant: other, source: 'pinned' });
    const pinnedRun = await model.forward(image);
    expectClose(await pinnedRun.readOutput(), reference, 'forward on pinned kernels');
    pinnedRun.release();
    const withPins = await tuneModel(model, 2, { force: true });
    expect(withPins.filter((r) => r.op !== 'conv2dTranspose').every((r) => r.source === 'pinned')).toBe(true);
    expect(() => rt.pinKernel('matmul', 'no-such-kernel')).toThrow(OutOfRangeError);
    model.destroy();
    rt.destroy();
  }, 300_000); // 70-90 s on a quiet 2-core machine; slower under load

  it('measures the shapes a nesting variant records inside (forward-conv\'s conv2d phases) in the same tune: a fixpoint', async () => {
    const base = await getRuntime();
    const rt = await createRuntime({ device: base.device, poisonNewTensors: true });
    const model = smallModel(rt);
    const { createDeconvNet } = await import('../src/index.js');
    const work = async () => {
      const fwd = await model.forward(makeRandom(9).array(3 * 12 * 12, 0, 1));
      (await createDeconvNet(model).project(fwd, { layer: 'conv2', channel: 1, mode: 'deconvnet', sparse: false })).release();
      fwd.release();
    };
    // The forward's own conv2d shapes, before any transposed convolution runs on forward kernels.
    const forwardConvs = (await rt.kernels.collect(async () => { (await model.forward(new Float32Array(3 * 12 * 12))).release(); }))
      .filter((k) => k.op === 'conv2d').map((k) => k.shapeKey);
    // The dense projection (its filter steps are transposed convolutions); forward-conv the only transposed candidate, so it wins and its phases' conv2d shapes appear only once it is chosen.
    const candidates = { conv2d: ['direct', 'direct-16x32'], conv2dTranspose: ['forward-conv'], matmul: ['direct'] };
    const results = await tuneModel(model, 1, { candidates, project: { layer: 'conv2', channel: 1, sparse: false } });
    const transposed = results.filter((r) => r.op === 'conv2dTranspose');
    expect(transposed.length).toBeGreaterThan(0);
    expect(transposed.every((r) => r.variant === 'forward-conv' && r.source === 'measured')).toBe(true);
    const inner = results.filter((r) => r.op === 'conv2d' && !forwardConvs.includes(r.shapeKey));
    expect(inner.length).toBeGreaterThan(0);
    expect(inner.every((r) => r.source === 'measured')).toBe(true);

    // The projection now meets no shape without a measured choice: nothing falls back to the default.
    const defaults = rt.kernels.counts.default;
    await work();
    expect(rt.kernels.counts.default).toBe(defaults);
    // And a second tune measures nothing.
    const again = await tuneModel(model, 1, { candidates, project: { layer: 'conv2', channel: 1, sparse: false } });
    expect(again.map((r) => r.source)).toEqual(results.map(() => 'cached'));
    model.destroy();
    rt.destroy();
  }, 300_000);

  it('gives the same forward and projection whichever variants are pinned', async () => {
    const base = await getRuntime();
    const outputs: Float32Array[] = [];
    const image = makeRandom(8).array(3 * 12 * 12, 0, 1);
    const { createDeconvNet } = await import('../src/index.js');
    // Every variant of every op at least once (lists of different lengths wrap around).
    const rounds = Math.max(3, ...Object.values(KERNEL_VARIANTS).map((l) => l.length));
    for (let i = 0; i < rounds; i++) {
      const pick = (list: readonly string[], k: number) => list[k % list.length]!;
      const rt = await createRuntime({
        device: base.device, poisonNewTensors: true,
        pinnedKernels: { conv2d: pick(KERNEL_VARIANTS.conv2d, i), conv2dTranspose: pick(KERNEL_VARIANTS.conv2dTranspose, i + 1), matmul: pick(KERNEL_VARIANTS.matmul, i) },
      });
      const model = smallModel(rt);
      const fwd = await model.forward(image);
      const proj = await createDeconvNet(model).project(fwd, { layer: 'conv2', channel: 3 });
      const out = await fwd.readOutput();
      const pix = (await proj.read()).data;
      outputs.push(Float32Array.from([...out, ...pix]));
      proj.release(); fwd.release(); model.destroy(); rt.destroy();
    }
    for (let i = 1; i < outputs.length; i++) expectClose(outputs[i]!, outputs[0]!, `variants set ${i + 1} vs 1`);
  }, 300_000); // 70-90 s on a quiet 2-core machine; slower under load
});

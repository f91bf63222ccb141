// The device check's sections (bench/device.ts runs them in headless Chromium
// or, bundled, in Node on Dawn: bench/device-node.ts). Each section has a time
// budget: it starts no new item past it, and an item still running at the
// budget's end is abandoned (recorded as such), so a slow section cannot eat
// the next ones. The JSON is saved after every item.
//   adapter   adapter info, features, limits, the flags the adapter was made with
//   gate      every registered variant of every tunable op against a float64
//             reference on small awkward shapes (ragged tiles, channels not a
//             multiple of 4, stride 2, asymmetric pads)
//   kernels   GPU time of every registered variant and the f16 rows (timestamp queries,
//             runtime.profile) and of TF.js (tf.time().kernelMs) for VGG16's
//             convolutions at batch 1 and 16, their transposed convolutions and
//             n^3 matmuls (bench/kernel-cases.ts)
//   workloads the benchmark's six workloads end to end, ours vs TF.js (bench/page.ts)
import * as tf from '@tensorflow/tfjs-core';
import { createRuntime, type Runtime } from '../src/gpu/runtime.js';
import type { Recorder } from '../src/gpu/recorder.js';
import type { Tensor } from '../src/gpu/tensor.js';
import type { TunableOp } from '../src/gpu/tuning.js';
import { conv2d, conv2dBackwardInput } from '../src/ops/conv2d.js';
import { matmul } from '../src/ops/matmul.js';
import { GEMM_CONV_F16_ROWS } from '../src/ops/gemm.js';
import { conv2dInputGradRef, conv2dRef, convOutputShapeRef, type ConvRefAttrs } from '../test/ref/conv.js';
import { gemmRef } from '../test/ref/matmul.js';
import { caseMacs, caseTensors, kernelCases, recordCase, type KernelCase } from './kernel-cases.js';
import { registeredOps, variantsOf, watchChooser } from './program-capture.js';
import { uniform } from './nets.js';
import { initTf } from './tfjs.js';
import { main as benchMain, type BenchArgs, type WorkloadResult } from './page.js';
import type { Section } from './device-args.js';


export interface DeviceArgs {
  /** Reduced sizes (the SwiftShader dry run). */
  dry: boolean;
  /** Seconds each timed section may take. */
  budgets: Record<Exclude<Section, 'adapter'>, number>;
  /** VGG16 input size for the kernels section, forward batches, matmul sides. */
  size: number;
  batches: number[];
  matmulNs: number[];
  /** Only the conv shapes of these VGG16 layers (default all 13). */
  layers?: string[];
  /** Timed runs per kernel after one warm-up run; the fastest counts. */
  repeats: number;
  /** The workloads to run (bench/page.ts names) and their settings. */
  workloads: string[];
  bench: BenchArgs;
  /** Only these sections (default all). */
  sections: Section[];
  /** Where the host runs and the flags its adapter was created with (timestamp quantization). */
  host: string;
  adapterFlags: string[];
}

/** What the page or Node process does with each saved JSON and log line. */
export interface DeviceHost {
  save(json: string): Promise<void>;
  log(line: string): void;
}

export interface DeviceReport {
  date: string;
  host: string;
  args: Omit<DeviceArgs, 'bench'> & { bench: BenchArgs };
  /** Per section: 'done', 'over budget (N items left)', 'error: ...'; and its seconds. */
  status: Partial<Record<Section, string>>;
  seconds: Partial<Record<Section, number>>;
  adapter?: AdapterSection;
  gate?: GateRow[];
  kernels?: KernelRow[];
  workloads?: {
    adapter?: unknown; versions?: unknown; ceilings?: unknown[]; results: WorkloadResult[];
    /** The workload still running when the budget ran out. */
    abandoned?: string;
  };
}

interface AdapterSection {
  info: Record<string, string>;
  features: string[];
  limits: Record<string, number>;
  flags: string[];
  /** Whether the device our runtime got can time passes (timestamp-query). */
  timestampQuery: boolean;
}

export interface GateRow {
  op: TunableOp;
  case: string;
  variant: string;
  /** What the chooser ran (a pin the shape cannot take falls back). */
  ran: string[];
  /** max |ours - reference| / max |reference|. */
  error: number | null;
  tolerance: number;
  pass: boolean;
  failure?: string;
}

export interface KernelRow {
  op: TunableOp;
  case: string;
  macs: number;
  /** Fastest GPU time of each variant (ms), what the chooser ran for it, and failures. */
  variants: Array<{ variant: string; ran: string[]; ms: number | null; tflops: number | null; error?: string }>;
  /** The variant the chooser picks with nothing pinned or tuned, and its time. */
  defaultVariant: string | null;
  defaultMs: number | null;
  best: { variant: string; ms: number } | null;
  tfjsMs: number | null;
  tfjsTimer: 'kernelMs' | 'wall-clock' | null;
  /** TF.js time / our best variant's time (> 1: ours faster); and against our default. */
  ratio: number | null;
  ratioDefault: number | null;
  error?: string;
}

/** Thrown when an item runs past its section's budget. */
class OverBudget extends Error {}

/** `p`, or an OverBudget rejection once `deadline` (performance.now() ms) passes. */
async function beforeDeadline<T>(p: Promise<T>, deadline: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, fail) => { timer = setTimeout(() => fail(new OverBudget('over budget')), Math.max(0, deadline - performance.now())); });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const message = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

// ---- adapter ---------------------------------------------------------------------

/** Every numeric field of a GPUSupportedLimits (own or inherited getters). */
function limitsOf(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  const names = new Set<string>();
  for (let o: object | null = limits; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) names.add(k);
  }
  for (const k in limits) names.add(k);
  for (const k of [...names].sort()) {
    const v = (limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

async function adapterSection(args: DeviceArgs, rt: Runtime): Promise<AdapterSection> {
  const gpu = (globalThis.navigator as Navigator).gpu;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter');
  const info = adapter.info as unknown as Record<string, unknown>;
  const infoText: Record<string, string> = {};
  for (const k of ['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize', 'isFallbackAdapter']) {
    if (info?.[k] !== undefined) infoText[k] = String(info[k]);
  }
  return {
    info: infoText,
    features: [...adapter.features].map(String).sort(),
    limits: limitsOf(adapter.limits),
    flags: args.adapterFlags,
    timestampQuery: rt.device.features.has('timestamp-query'),
  };
}

// ---- gate ------------------------------------------------------------------------

interface GateCase {
  op: TunableOp;
  label: string;
  /** Records the op on tensors made from `inputs`; returns its output. */
  run: (rt: Runtime) => Promise<Float32Array>;
  reference: Float64Array;
}

function convGateCases(): GateCase[] {
  const cases: Array<{ x: [number, number, number, number]; m: number; stride: number; pads: [number, number, number, number] }> = [
    { x: [2, 6, 11, 13], m: 10, stride: 1, pads: [1, 1, 1, 1] },
    { x: [1, 5, 17, 19], m: 12, stride: 2, pads: [1, 0, 2, 1] },
  ];
  return cases.flatMap(({ x: xShape, m, stride, pads }, i): GateCase[] => {
    const wShape = [m, xShape[1], 3, 3] as const;
    const a: ConvRefAttrs = { stride: [stride, stride], dilation: [1, 1], pads, groups: 1 };
    const x = uniform(xShape.reduce((p, d) => p * d), -1, 1, 100 + i);
    const w = uniform(wShape.reduce((p, d) => p * d), -1, 1, 200 + i);
    const b = uniform(m, -1, 1, 300 + i);
    const yShape = convOutputShapeRef(xShape, wShape, a);
    const dy = uniform(yShape.reduce((p, d) => p * d), -1, 1, 400 + i);
    const attrs = { stride, padding: pads };
    const label = `x [${xShape}] w [${wShape}] stride ${stride} pads [${pads}]`;
    return [
      {
        op: 'conv2d', label: `${label} bias relu`, reference: conv2dRef(x, xShape, w, wShape, b, { ...a, relu: true }),
        run: (rt) => runOp(rt, { x: [xShape, x], w: [wShape, w], b: [[m], b] }, (rec, t) => conv2d(rec, t.x!, t.w!, t.b!, { ...attrs, activation: 'relu' })),
      },
      {
        op: 'conv2dTranspose', label: `${label}, input gradient (DeconvNet filter step)`, reference: conv2dInputGradRef(dy, xShape, w, wShape, a),
        run: (rt) => runOp(rt, { dy: [yShape, dy], w: [wShape, w] }, (rec, t) => conv2dBackwardInput(rec, t.dy!, t.w!, xShape, attrs)),
      },
    ];
  });
}

function matmulGateCases(): GateCase[] {
  // Ragged small tiles; >= 2 ragged 128-tiles per side; a deep K on a small M x N (where split-K splits).
  return ([[37, 29, 45], [200, 70, 260], [64, 1500, 72]] as const).map(([M, K, N], i): GateCase => {
    const a = uniform(M * K, -1, 1, 500 + i), b = uniform(K * N, -1, 1, 600 + i);
    return {
      op: 'matmul', label: `[${M}, ${K}] x [${K}, ${N}]`, reference: gemmRef(a, [M, K], b, [K, N], null).y,
      run: (rt) => runOp(rt, { a: [[M, K], a], b: [[K, N], b] }, (rec, t) => matmul(rec, t.a!, t.b!, null)),
    };
  });
}

/** Uploads the inputs, records `op` once, reads its output back and frees everything. */
async function runOp(rt: Runtime, inputs: Record<string, [readonly number[], Float32Array]>, op: (rec: Recorder, t: Record<string, Tensor>) => Tensor): Promise<Float32Array> {
  const t = Object.fromEntries(Object.entries(inputs).map(([k, [shape, data]]) => [k, rt.createTensor(shape, data)]));
  try {
    const y = await rt.run('device gate', (rec) => op(rec, t));
    try { return await rt.read(y); } finally { y.release(); }
  } finally {
    for (const x of Object.values(t)) x.release();
  }
}

function relativeError(ours: Float32Array, ref: Float64Array): number {
  let err = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(ours[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return ours.length === ref.length ? err / Math.max(scale, 1e-30) : Infinity;
}

/** f32 variants: 1e-4 of the output's range (sums of <= 600 products; Winograd's transforms round more); f16 variants: 1e-2. */
const toleranceOf = (variant: string) => (variant.includes('f16') ? 1e-2 : 1e-4);

/**
 * The f16 weights of the GEMM core (docs/f16.md) as rows of the conv2d cases in the gate and the kernel times
 * ('f16': native where the device has 'shader-f16', packed elsewhere; 'f16-packed': packed everywhere), so both
 * forms are gated and timed on a GPU that has the feature.
 */
const gateVariants = (op: TunableOp) => [...variantsOf(op), ...(op === 'conv2d' ? Object.keys(GEMM_CONV_F16_ROWS) : [])];

async function gateSection(rt: Runtime, deadline: number, rows: GateRow[], save: () => Promise<void>): Promise<number> {
  const cases = [...convGateCases(), ...matmulGateCases()];
  for (const op of registeredOps().filter((o) => !cases.some((c) => c.op === o))) {
    rows.push({ op, case: '-', variant: variantsOf(op).join(','), ran: [], error: null, tolerance: 0, pass: false, failure: `no gate case for ${op}: add one to bench/device-sections.ts` });
  }
  const items = cases.flatMap((c) => gateVariants(c.op).map((variant) => ({ c, variant })));
  let done = 0;
  for (const { c, variant } of items) {
    if (performance.now() > deadline) break;
    const tolerance = toleranceOf(variant);
    const f16 = GEMM_CONV_F16_ROWS[variant];
    rt.pinKernel(c.op, f16?.pin ?? variant);
    rt.precision = f16?.precision ?? 'f32';
    let out: Float32Array | null = null;
    const row: GateRow = { op: c.op, case: c.label, variant, ran: [], error: null, tolerance, pass: false };
    try {
      row.ran = [...new Set(await watchChooser(rt, async () => { out = await beforeDeadline(c.run(rt), deadline); }))];
      row.error = relativeError(out!, c.reference);
      row.pass = row.error <= tolerance;
    } catch (e) {
      row.failure = message(e);
      if (e instanceof OverBudget) { rows.push(row); break; }
    } finally {
      rt.unpinKernel(c.op);
      rt.precision = 'f32';
    }
    rows.push(row);
    done++;
    await save();
  }
  return items.length - done;
}

// ---- kernels ---------------------------------------------------------------------

/** The fastest of `repeats` GPU times of `run` (sum of its passes), after one warm-up; wall clock without timestamps. */
async function fastest(rt: Runtime, run: () => Promise<void>, repeats: number): Promise<number> {
  await run();
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const passes = await rt.profile(run);
    if (passes) {
      best = Math.min(best, passes.reduce((s, p) => s + p.ms, 0));
    } else {
      const start = performance.now();
      await run();
      await rt.device.queue.onSubmittedWorkDone();
      best = Math.min(best, performance.now() - start);
    }
  }
  return best;
}

/** TF.js's counterpart of a case (NHWC, HWIO), timed with tf.time (kernelMs: its timestamp queries). */
async function tfjsTime(c: KernelCase, repeats: number): Promise<{ ms: number; timer: 'kernelMs' | 'wall-clock' }> {
  const made: tf.Tensor[] = [];
  const t = <T extends tf.Tensor>(x: T) => { made.push(x); return x; };
  let op: () => tf.Tensor;
  if (!c.conv) {
    const a = t(tf.zeros([c.n, c.n])), b = t(tf.zeros([c.n, c.n]));
    op = () => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  } else {
    const { inC, outC, size } = c.conv;
    const filter = t(tf.zeros([3, 3, inC, outC])) as tf.Tensor4D;
    if (c.op === 'conv2dTranspose') {
      const dy = t(tf.zeros([c.batch, size, size, outC])) as tf.Tensor4D;
      op = () => tf.conv2dTranspose(dy, filter, [c.batch, size, size, inC], 1, 'same');
    } else {
      const x = t(tf.zeros([c.batch, size, size, inC])) as tf.Tensor4D;
      const bias = t(tf.zeros([outC]));
      op = () => tf.fused.conv2d({ x, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
    }
  }
  try {
    const warm = op();
    await warm.data();
    warm.dispose();
    let best = Infinity;
    let timer: 'kernelMs' | 'wall-clock' = 'kernelMs';
    for (let i = 0; i < repeats; i++) {
      let y: tf.Tensor | null = null;
      const start = performance.now();
      const info = await tf.time(() => { y = op(); });
      await (y as tf.Tensor | null)?.data();
      const wall = performance.now() - start;
      (y as tf.Tensor | null)?.dispose();
      const k = info.kernelMs as unknown;
      if (typeof k === 'number') best = Math.min(best, k);
      else { timer = 'wall-clock'; best = Math.min(best, wall); }
    }
    return { ms: best, timer };
  } finally {
    tf.dispose(made);
  }
}

/** Matmuls first (cheap), then batch-1 convolutions, transposed ones, larger batches. */
function kernelOrder(cases: KernelCase[]): KernelCase[] {
  const rank = (c: KernelCase) => (c.op === 'matmul' ? 0 : c.op === 'conv2d' && c.batch === 1 ? 1 : c.op === 'conv2dTranspose' ? 2 : 3);
  return [...cases].sort((a, b) => rank(a) - rank(b));
}

async function kernelCase(rt: Runtime, c: KernelCase, repeats: number, deadline: number): Promise<KernelRow> {
  const row: KernelRow = {
    op: c.op, case: c.label, macs: caseMacs(c), variants: [], defaultVariant: null, defaultMs: null, best: null,
    tfjsMs: null, tfjsTimer: null, ratio: null, ratioDefault: null,
  };
  const tensors = caseTensors(rt, c);
  const run = async () => { (await rt.run(c.label, (rec) => recordCase(rec, c, tensors))).release(); };
  try {
    // The f16 rows are timed too (docs/f16.md), but `best` and the ratios compare the f32 kernels with TF.js's f32.
    for (const variant of gateVariants(c.op)) {
      if (performance.now() > deadline) { row.error = 'over budget'; break; }
      const f16 = GEMM_CONV_F16_ROWS[variant];
      rt.pinKernel(c.op, f16?.pin ?? variant);
      rt.precision = f16?.precision ?? 'f32';
      const entry: KernelRow['variants'][number] = { variant, ran: [], ms: null, tflops: null };
      try {
        let ms = 0;
        entry.ran = [...new Set(await watchChooser(rt, async () => { ms = await beforeDeadline(fastest(rt, run, repeats), deadline); }))];
        entry.ms = ms;
        entry.tflops = (2 * row.macs) / (ms / 1000) / 1e12;
      } catch (e) {
        entry.error = message(e);
      } finally {
        rt.unpinKernel(c.op);
        rt.precision = 'f32';
      }
      row.variants.push(entry);
    }
    const chosen = await watchChooser(rt, async () => { row.defaultMs = await beforeDeadline(fastest(rt, run, repeats), deadline); });
    row.defaultVariant = chosen.find((v) => v.startsWith(`${c.op}:`))?.slice(c.op.length + 1) ?? null;
    const timed = row.variants.filter((v) => v.ms !== null && !(v.variant in GEMM_CONV_F16_ROWS)).sort((a, b) => a.ms! - b.ms!)[0];
    row.best = timed ? { variant: timed.variant, ms: timed.ms! } : null;
    const tfjs = await beforeDeadline(tfjsTime(c, repeats), deadline);
    row.tfjsMs = tfjs.ms;
    row.tfjsTimer = tfjs.timer;
    row.ratio = row.best ? tfjs.ms / row.best.ms : null;
    row.ratioDefault = row.defaultMs ? tfjs.ms / row.defaultMs : null;
  } catch (e) {
    row.error = message(e);
  } finally {
    for (const t of Object.values(tensors)) t.release();
  }
  return row;
}

async function kernelsSection(args: DeviceArgs, rt: Runtime, deadline: number, rows: KernelRow[], save: () => Promise<void>, log: (l: string) => void): Promise<number> {
  const cases = kernelOrder(kernelCases({ size: args.size, batches: args.batches, matmulNs: args.matmulNs, ...(args.layers ? { layers: args.layers } : {}) }));
  let done = 0;
  for (const c of cases) {
    if (performance.now() > deadline) break;
    const row = await kernelCase(rt, c, args.repeats, deadline);
    rows.push(row);
    done++;
    const f = (x: number | null | undefined) => (x == null ? '-' : x.toFixed(3));
    log(`  ${c.label}: best ${row.best?.variant ?? '-'} ${f(row.best?.ms)} ms, default ${row.defaultVariant ?? '-'} ${f(row.defaultMs)} ms, tfjs ${f(row.tfjsMs)} ms (${row.tfjsTimer ?? '-'}), ratio ${row.ratio?.toFixed(2) ?? '-'}${row.error ? `; ${row.error}` : ''}`);
    await save();
  }
  return cases.length - done;
}

// ---- workloads -------------------------------------------------------------------

async function workloadsSection(args: DeviceArgs, deadline: number, out: NonNullable<DeviceReport['workloads']>, save: () => Promise<void>): Promise<number> {
  let done = 0;
  out.ceilings = [];
  for (const name of args.workloads) {
    if (performance.now() > deadline) break;
    let result;
    try {
      result = await beforeDeadline(benchMain({ ...args.bench, only: [name] }), deadline);
    } catch (e) {
      if (!(e instanceof OverBudget)) throw e;
      out.abandoned = name;
      break;
    }
    out.adapter ??= result.adapter;
    out.versions ??= result.versions;
    out.ceilings.push({ workload: name, ...result.ceilings });
    out.results.push(...result.workloads);
    done++;
    await save();
  }
  return args.workloads.length - done;
}

// ---- the run ---------------------------------------------------------------------

export async function deviceMain(args: DeviceArgs, host: DeviceHost): Promise<DeviceReport> {
  const report: DeviceReport = { date: new Date().toISOString(), host: args.host, args, status: {}, seconds: {} };
  const save = () => host.save(`${JSON.stringify(report, null, 1)}\n`);
  const rt = await createRuntime();
  await initTf();
  const wanted = (s: Section) => args.sections.includes(s);
  const section = async (name: Section, budget: number, body: (deadline: number) => Promise<number>) => {
    if (!wanted(name)) return;
    const start = performance.now();
    host.log(`== ${name} (budget ${budget} s)`);
    try {
      const left = await body(start + budget * 1000);
      report.status[name] = left > 0 ? `over budget (${left} items not run)` : 'done';
    } catch (e) {
      report.status[name] = e instanceof OverBudget ? 'over budget (an item was abandoned)' : `error: ${message(e)}`;
    }
    report.seconds[name] = Math.round((performance.now() - start) / 100) / 10;
    host.log(`   ${name}: ${report.status[name]} in ${report.seconds[name]} s`);
    await save();
  };
  try {
    await section('adapter', 30, async () => { report.adapter = await adapterSection(args, rt); return 0; });
    await section('gate', args.budgets.gate, async (deadline) => {
      report.gate = [];
      const left = await gateSection(rt, deadline, report.gate, save);
      const failed = report.gate.filter((r) => !r.pass);
      host.log(`   gate: ${report.gate.length - failed.length}/${report.gate.length} (case, variant) pairs within tolerance${failed.length ? `; failed: ${failed.map((r) => `${r.op} ${r.variant} [${r.case}] ${r.failure ?? r.error?.toExponential(1)}`).join('; ')}` : ''}`);
      return left;
    });
    await section('kernels', args.budgets.kernels, async (deadline) => {
      report.kernels = [];
      return kernelsSection(args, rt, deadline, report.kernels, save, host.log);
    });
  } finally {
    rt.destroy();
  }
  await section('workloads', args.budgets.workloads, async (deadline) => {
    report.workloads = { results: [] };
    return workloadsSection(args, deadline, report.workloads, save);
  });
  return report;
}

// The page side of `npm run bench` (bench/run.ts): builds every workload on
// deconvnet-webgpu, TF.js (WebGPU backend) and, for the conv workloads, ONNX
// Runtime Web (WebGPU EP), all in this page on the same adapter, times them
// interleaved, checks that they computed the same thing, and returns the
// results to Node.
import { createRuntime, type Runtime } from '../src/index.js';
import * as ours from './ours.js';
import * as tfb from './tfjs.js';
import * as ortb from './ort.js';
import { convFlops, convWeights, occlusionGrid, relL2, uniform, vgg16, vggForwardFlops } from './nets.js';
import { interleave, summarize, type Contender, type Outcome, type Summary } from './stats.js';

export interface BenchArgs {
  /** Which workloads (names), or all. */
  only: string[] | null;
  warmup: number;
  repeats: number;
  /** Timed rounds of the heavy VGG-stack workloads (vgg16-forward, project, occlusion). */
  heavyRepeats: number;
  /** Timed rounds of the project workload. */
  projectRepeats: number;
  conv64Size: number;
  conv256Size: number;
  vggSize: number;
  projectSize: number;
  occlusionSize: number;
  /** Occlusion positions per side (7: the brief's 7x7). */
  occlusionGrid: number;
  matmulN: number;
  copyMiB: number;
  trainBatch: number;
  ort: boolean;
  /** Tune our kernel variants for each workload before timing it (runtime.tune, outside the timed region). */
  tune: boolean;
  tuneRepeats: number;
}

export interface Spread { min: number; max: number; q1: number; q3: number; samples: number[] }

export interface WorkloadResult {
  name: string;
  config: string;
  flops: number;
  oursMs: number | null;
  tfjsMs: number | null;
  ratio: number | null;
  spread: Record<string, Spread>;
  ortMs?: number | null;
  ortRatio?: number | null;
  gflops: Record<string, number | null>;
  fractionOfCeiling: Record<string, number | null>;
  /** relative L2 distance of each peer's output from ours (first run) */
  check: Record<string, number | null>;
  errors: Record<string, string>;
  /** Medians of extra contenders timed in the same interleaved rounds (project: our plain forward). */
  extraMs?: Record<string, number | null>;
  /** project only: our forward + projection time / our forward time of the same model and input (target <= 2.2). */
  projectVsForward?: number | null;
  /**
   * The same ratio in GPU time (runtime.profile: the sum of every pass's timestamp-query time, median of
   * alternating profiled runs): the kernels' work without what the wall clock adds between them; null without timestamps.
   */
  projectVsForwardGpu?: number | null;
  gpuMs?: { project: number; forward: number } | null;
  /** Kernel variants runtime.tune() chose for this workload's (op, shape) keys, and how long tuning took. */
  kernels?: Record<string, string>;
  tuneSeconds?: number;
}

export interface BenchResult {
  adapter: { ours: string; tfjs: string; ort?: string; kernelStyle: string; userAgent: string; timer?: string };
  versions: Record<string, string>;
  ceilings: {
    copy: { bytes: number; ms: number; bytesPerSecond: number };
    matmul: {
      n: number; oursMs: number | null; tfjsMs: number | null; oursFlops: number | null; tfjsFlops: number | null; best: number; bestBy: string; check: number | null;
      /** Our kernel variant for it (tuned like every workload; absent with --no-tune). */
      kernels?: Record<string, string>;
    };
  };
  workloads: WorkloadResult[];
  ortError: string | null;
}

const log = (line: string) => console.log(line);

/** Median over `rounds` of each run's GPU time (sum of its passes, runtime.profile), the runs alternating; null without timestamp queries. */
async function profiledMedians(rt: Runtime, runs: Array<() => Promise<unknown>>, rounds: number): Promise<number[] | null> {
  const times: number[][] = runs.map(() => []);
  for (let r = 0; r < Math.max(1, rounds); r++) {
    for (const [i, run] of runs.entries()) {
      const passes = await rt.profile(async () => { await run(); });
      if (!passes) return null;
      times[i]!.push(passes.reduce((sum, p) => sum + p.ms, 0));
    }
  }
  return times.map((t) => summarize(t).median);
}

function spreadOf(s: Summary): Spread {
  return { min: s.min, max: s.max, q1: s.q1, q3: s.q3, samples: s.samples.map((x) => Math.round(x * 10) / 10) };
}

function adapterText(info: GPUAdapterInfo | undefined): string {
  return info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') : 'unknown';
}

/** A contender per implementation; `canon` maps a peer's first output into our layout for the check. */
interface Entry { name: 'ours' | 'tfjs' | 'ort'; run: () => Promise<Float32Array>; canon?: (raw: Float32Array) => Float32Array }

async function measure(name: string, config: string, flops: number, entries: Entry[], warmup: number, repeats: number, ceiling: () => number, extra: Contender[] = []): Promise<WorkloadResult> {
  log(`${name} (${config}): ${[...entries, ...extra].map((e) => e.name).join(' / ')}, ${warmup} warm-up + ${repeats} timed rounds`);
  // TF.js's live tensor count after each of its runs (read outside its timed run): it must stay flat.
  const tensorCounts: number[] = [];
  const contenders = entries.map((e): Contender => ({
    name: e.name, run: e.run, ...(e.name === 'tfjs' ? { after: () => { tensorCounts.push(tfb.liveTensors()); } } : {}),
  }));
  const outcomes = await interleave([...contenders, ...extra], warmup, repeats, log);
  const get = (n: string): Outcome | undefined => outcomes.get(n);
  const ms = (n: string) => get(n)?.summary?.median ?? null;
  const result: WorkloadResult = {
    name, config, flops,
    oursMs: ms('ours'), tfjsMs: ms('tfjs'), ratio: null,
    spread: {}, gflops: {}, fractionOfCeiling: {}, check: {}, errors: {},
  };
  const oursFirst = get('ours')?.first as Float32Array | undefined;
  for (const e of entries) {
    const o = get(e.name)!;
    if (o.error) result.errors[e.name] = o.error;
    if (o.summary) {
      result.spread[e.name] = spreadOf(o.summary);
      result.gflops[e.name] = flops / o.summary.median / 1e6;
      result.fractionOfCeiling[e.name] = flops / (o.summary.median / 1000) / ceiling();
    } else {
      result.gflops[e.name] = null;
      result.fractionOfCeiling[e.name] = null;
    }
    if (e.name !== 'ours') {
      const first = o.first as Float32Array | undefined;
      result.check[e.name] = oursFirst && first ? relL2((e.canon ?? ((x) => x))(first), oursFirst) : null;
    }
  }
  if (result.oursMs && result.tfjsMs) result.ratio = result.tfjsMs / result.oursMs;
  if (extra.length > 0) {
    result.extraMs = Object.fromEntries(extra.map((c) => [c.name, ms(c.name)]));
    for (const c of extra) { const e = get(c.name)?.error; if (e) result.errors[c.name] = e; }
  }
  if (new Set(tensorCounts.slice(1)).size > 1) result.errors.tfjsLeak = `TF.js live tensors grew across runs: ${tensorCounts.join(', ')}`;
  if (entries.some((e) => e.name === 'ort')) {
    result.ortMs = ms('ort');
    result.ortRatio = result.ortMs && result.oursMs ? result.ortMs / result.oursMs : null;
  }
  const f = (x: number | null | undefined) => (x == null ? '-' : x.toFixed(1));
  log(`  => ours ${f(result.oursMs)} ms, tfjs ${f(result.tfjsMs)} ms, ratio ${result.ratio?.toFixed(2) ?? '-'}` +
    (result.ortMs !== undefined ? `, ort ${f(result.ortMs)} ms` : '') +
    `; check ${Object.entries(result.check).map(([k, v]) => `${k} ${v == null ? '-' : v.toExponential(1)}`).join(', ')}`);
  return result;
}

export async function main(args: BenchArgs): Promise<BenchResult> {
  const wanted = (n: string) => !args.only || args.only.includes(n);
  const rt: Runtime = await createRuntime();
  const tfInfo = await tfb.initTf();
  const versions: Record<string, string> = { tfjs: tfInfo.version };
  let ortError: string | null = null;
  if (args.ort) {
    try {
      versions.onnxruntimeWeb = (await ortb.initOrt()).version;
    } catch (e) {
      ortError = `loading onnxruntime-web failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  } else {
    ortError = 'not run (--no-ort)';
  }
  const adapter: BenchResult['adapter'] = {
    ours: adapterText(rt.device.adapterInfo as GPUAdapterInfo | undefined),
    tfjs: tfInfo.adapter,
    kernelStyle: rt.kernelStyle,
    userAgent: navigator.userAgent,
    timer: rt.device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock',
  };
  log(`adapter: ${adapter.ours} (TF.js: ${adapter.tfjs}); our kernel style: ${adapter.kernelStyle}`);

  // Our kernel variants, measured once per (op, shape) on this device before a workload is timed.
  const tune = async (name: string, run: () => Promise<unknown>): Promise<Pick<WorkloadResult, 'kernels' | 'tuneSeconds'>> => {
    if (!args.tune) return {};
    const start = performance.now();
    const results = await rt.tune(async () => { await run(); }, { repeats: args.tuneRepeats });
    const tuneSeconds = Math.round((performance.now() - start) / 100) / 10;
    const measured = results.filter((r) => r.source === 'measured');
    log(`  tuned ${name}: ${results.length} kernel shapes (${measured.length} measured now) in ${tuneSeconds} s` +
      (measured.length ? `: ${measured.map((r) => `${r.op} ${r.shapeKey} -> ${r.variant} (${Object.entries(r.ms).map(([v, t]) => `${v} ${t.toFixed(1)}`).join(', ')} ms)`).join('; ')}` : ''));
    return { kernels: Object.fromEntries(results.map((r) => [`${r.op}|${r.shapeKey}`, r.variant])), tuneSeconds };
  };

  // ---- ceilings ----------------------------------------------------------
  const copyBytes = args.copyMiB * 1024 * 1024;
  const copy = ours.copyRun(rt, copyBytes);
  const copyOut = await interleave([{ name: 'copy', run: copy.run }], 1, Math.max(3, args.repeats), log);
  copy.dispose();
  const copyMs = copyOut.get('copy')!.summary!.median;
  const n = args.matmulN;
  const a = uniform(n * n, -1, 1, 11), b = uniform(n * n, -1, 1, 12);
  const om = ours.matmulRun(rt, a, b, n), tm = tfb.matmulRun(a, b, n);
  const mmFlops = 2 * n * n * n;
  log(`ceiling: matmul ${n}^3 and copy ${args.copyMiB} MiB`);
  // Our best matrix multiply is the one the tuner picks for this shape, as for every workload.
  const matmulTuned = await tune('matmul', om.run);
  const mm = await interleave([{ name: 'ours', run: om.run }, { name: 'tfjs', run: tm.run }], args.warmup, args.repeats, log);
  om.dispose(); tm.dispose();
  const mo = mm.get('ours')!, mt = mm.get('tfjs')!;
  const oursFlops = mo.summary ? mmFlops / (mo.summary.median / 1000) : null;
  const tfjsFlops = mt.summary ? mmFlops / (mt.summary.median / 1000) : null;
  const best = Math.max(oursFlops ?? 0, tfjsFlops ?? 0);
  const ceilings: BenchResult['ceilings'] = {
    copy: { bytes: copyBytes, ms: copyMs, bytesPerSecond: copyBytes / (copyMs / 1000) },
    matmul: {
      n, oursMs: mo.summary?.median ?? null, tfjsMs: mt.summary?.median ?? null, oursFlops, tfjsFlops,
      best, bestBy: (oursFlops ?? 0) >= (tfjsFlops ?? 0) ? 'ours' : 'tfjs',
      check: mo.first && mt.first ? relL2(mt.first as Float32Array, mo.first as Float32Array) : null,
      kernels: matmulTuned.kernels,
    },
  };
  log(`  => copy ${(ceilings.copy.bytesPerSecond / 1e9).toFixed(2)} GB/s; matmul ours ${((oursFlops ?? 0) / 1e9).toFixed(2)} GFLOP/s, tfjs ${((tfjsFlops ?? 0) / 1e9).toFixed(2)} GFLOP/s`);
  const ceiling = () => best;

  const workloads: WorkloadResult[] = [];
  const withOrt = async (bytes: () => Uint8Array, input: Float32Array, dims: number[], entries: Entry[]): Promise<ortb.OrtRun | null> => {
    if (!args.ort || versions.onnxruntimeWeb === undefined) return null;  // not loaded: ortError says why
    try {
      const r = await ortb.ortRun(bytes(), input, dims);
      entries.push({ name: 'ort', run: r.run });
      adapter.ort ??= await ortb.ortAdapter();
      return r;
    } catch (e) {
      const msg = `session creation failed: ${e instanceof Error ? e.message : String(e)}`;
      log(`  ort: ${msg}`);
      ortError ??= msg;
      return null;
    }
  };
  const noteOrt = (w: WorkloadResult) => {
    if (w.ortMs === undefined) { w.ortMs = null; w.ortRatio = null; if (ortError) w.errors.ort ??= ortError; }
  };

  // ---- single convolutions --------------------------------------------------
  for (const [name, C, S] of [['conv64', 64, args.conv64Size], ['conv256', 256, args.conv256Size]] as const) {
    if (!wanted(name)) continue;
    const w = convWeights(name, C, C, 3, C);
    const x = uniform(C * S * S, 0, 1, 3);
    const o = ours.convRun(rt, x, w, S), t = tfb.convRun(x, w, S);
    const tuned = await tune(name, o.run);
    const entries: Entry[] = [{ name: 'ours', run: o.run }, { name: 'tfjs', run: t.run, canon: t.canon }];
    const r = await withOrt(() => ortb.convModel(w, S), x, [1, C, S, S], entries);
    const res = await measure(name, `3x3 ${C}->${C} at ${S}x${S}, batch 1, bias`, convFlops(1, C, C, 3, S, S), entries, args.warmup, args.repeats, ceiling);
    Object.assign(res, tuned);
    noteOrt(res);
    workloads.push(res);
    o.dispose(); t.dispose(); await r?.dispose();
  }

  // ---- VGG16 forward -------------------------------------------------------
  if (wanted('vgg16-forward')) {
    const net = vgg16(args.vggSize, 1);
    const x = uniform(3 * net.size * net.size, 0, 1, 5);
    const model = ours.vggModel(rt, net);
    const o = ours.vggForwardRun(model, x), t = tfb.vggForwardRun(net, x);
    const tuned = await tune('vgg16-forward', o.run);
    const entries: Entry[] = [{ name: 'ours', run: o.run }, { name: 'tfjs', run: t.run, canon: t.canon }];
    const r = await withOrt(() => ortb.vggModel(net), x, [1, 3, net.size, net.size], entries);
    const res = await measure('vgg16-forward', `13 convs + 5 pools at ${net.size}x${net.size}, batch 1`, vggForwardFlops(net), entries, args.warmup, args.heavyRepeats, ceiling);
    Object.assign(res, tuned);
    noteOrt(res);
    workloads.push(res);
    o.dispose(); t.dispose(); await r?.dispose(); model.destroy();
  }

  // ---- DeconvNet projection -------------------------------------------------
  if (wanted('project')) {
    const net = vgg16(args.projectSize, 1);
    const x = uniform(3 * net.size * net.size, 0, 1, 6);
    const model = ours.vggModel(rt, net);
    const layerStep = net.steps.findIndex((s) => s.kind === 'conv' && s.w.name === 'conv5_3');
    const channel = 7;
    const o = ours.projectRun(model, x, 'conv5_3', channel), t = tfb.projectRun(net, x, layerStep, channel);
    // Our plain forward of the same model and input, timed in the same rounds: the projection's cost over it.
    const f = ours.vggForwardRun(model, x);
    const tuned = await tune('project', o.run);
    // The projection runs a transposed conv (the FLOPs of its forward) through all 13 convs.
    const flops = 2 * vggForwardFlops(net);
    const res = await measure('project', `forward + deconvnet projection of conv5_3 channel ${channel} (its max) to pixels, ${net.size}x${net.size}; oursForward: our forward alone`, flops,
      [{ name: 'ours', run: o.run }, { name: 'tfjs', run: t.run, canon: t.canon }], args.warmup, args.projectRepeats, ceiling,
      [{ name: 'oursForward', run: f.run }]);
    Object.assign(res, tuned);
    const fwdMs = res.extraMs?.oursForward ?? null;
    res.projectVsForward = res.oursMs && fwdMs ? res.oursMs / fwdMs : null;
    log(`  => ours forward ${fwdMs?.toFixed(1) ?? '-'} ms: forward + projection = ${res.projectVsForward?.toFixed(2) ?? '-'} x forward`);
    const gpu = await profiledMedians(rt, [o.run, f.run], args.projectRepeats);
    res.gpuMs = gpu ? { project: gpu[0]!, forward: gpu[1]! } : null;
    res.projectVsForwardGpu = gpu ? gpu[0]! / gpu[1]! : null;
    if (gpu) log(`  => GPU time (runtime.profile, median of ${args.projectRepeats}): forward + projection ${gpu[0]!.toFixed(1)} ms, forward ${gpu[1]!.toFixed(1)} ms = ${res.projectVsForwardGpu!.toFixed(2)} x`);
    workloads.push(res);
    o.dispose(); t.dispose(); f.dispose(); model.destroy();
  }

  // ---- occlusion ------------------------------------------------------------
  if (wanted('occlusion')) {
    const net = vgg16(args.occlusionSize, 1, 10);
    const grid = occlusionGrid(net.size, args.occlusionGrid);
    const x = uniform(3 * net.size * net.size, 0, 1, 8);
    const model = ours.vggModel(rt, net);
    const layerStep = net.steps.findIndex((s) => s.kind === 'conv' && s.w.name === 'conv5_3');
    const batch = 32;
    const o = ours.occlusionRun(model, x, 'conv5_3', grid.square, grid.stride, batch);
    const tuned = await tune('occlusion', o.run);
    const t = tfb.occlusionRun(net, x, layerStep, grid.square, grid.stride, batch);
    const positions = grid.rows * grid.rows;
    const res = await measure('occlusion',
      `${grid.rows}x${grid.rows} positions, square ${grid.square} stride ${grid.stride}, VGG16 + dense(10) + softmax at ${net.size}x${net.size}, batches of ${batch}; maps (a) conv5_3, (b), (c); (a) and (b) compared`,
      (positions + 1) * vggForwardFlops(net),
      [{ name: 'ours', run: o.run }, { name: 'tfjs', run: t.run, canon: t.canon }], args.warmup, args.heavyRepeats, ceiling);
    Object.assign(res, tuned);
    workloads.push(res);
    o.dispose(); t.dispose(); model.destroy();
  }

  // ---- training step -------------------------------------------------------
  if (wanted('train-step')) {
    const N = args.trainBatch;
    const { model } = await ours.fashionModel(rt);
    const images = uniform(N * 28 * 28, 0, 1, 9);
    const labels = Uint8Array.from(uniform(N, 0, 10, 10), (v) => Math.min(9, Math.floor(v)));
    const lr = 0.01;
    // Tuning runs a step (it updates the weights): TF.js gets the weights as they are after it.
    const probe = ours.trainStepRun(model, images, labels, N, lr);
    const tuned = await tune('train-step', probe.run);
    probe.dispose();
    const params = await ours.modelParams(model);
    const o = ours.trainStepRun(model, images, labels, N, lr), t = tfb.trainStepRun(params, images, labels, N, lr);
    // Forward, input gradients (not for conv1) and weight gradients: about 3x the forward, minus conv1's input gradient.
    const fwd = convFlops(N, 1, 16, 5, 28, 28) + convFlops(N, 16, 32, 3, 13, 13) + 2 * N * 1152 * 64 + 2 * N * 64 * 10;
    const flops = 3 * fwd - convFlops(N, 1, 16, 5, 28, 28);
    const res = await measure('train-step', `fashionZFNetLayers, batch ${N} of 1x28x28, SGD momentum 0.9 (loss compared)`, flops,
      [{ name: 'ours', run: o.run }, { name: 'tfjs', run: t.run }], args.warmup, args.repeats, ceiling);
    Object.assign(res, tuned);
    workloads.push(res);
    o.dispose(); t.dispose(); model.destroy();
  }

  rt.destroy();
  return { adapter, versions, ceilings, workloads, ortError };
}

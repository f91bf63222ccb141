// Kernel variants chosen per adapter and per layer shape.
//
// The hot ops (convolution, transposed convolution, matrix multiply) have
// several kernels that compute the same thing: register blocks without
// workgroup memory ('direct', what a CPU implementation such as SwiftShader
// runs fastest) and workgroup-shared tiles of a few sizes ('tiled*', what
// GPUs want). An op asks its runtime which one to use for its shape
// signature; the answer is, in order:
//   1. a pinned choice (RuntimeOptions.pinnedKernels, runtime.pinKernel),
//      for this shape, else for the whole op;
//   2. the measured choice for this (op, shape), from runtime.tune() /
//      tuneModel() (src/deconv/tune_model.ts), kept in memory and, where the user opted in
//      (RuntimeOptions.tuningCache), in localStorage under the adapter's name;
//   3. the adapter default: the runtime's kernelStyle family.
// Every variant gives the same result up to float rounding (test/tuning.test.ts).
import { timePasses, type PassTime, type Recorder } from './recorder.js';
import type { Tensor } from './tensor.js';
import { OutOfRangeError } from './errors.js';

export type TunableOp = 'conv2d' | 'conv2dTranspose' | 'matmul';

/**
 * The registry: one row per kernel variant of each op, in the order the
 * tuner tries them ('direct' and 'tiled' are the adapter defaults, see
 * defaultVariant). Adding a variant is one row here; each op keeps a
 * `Record<VariantOf<op>, ...>` of how it records every variant, so the
 * compiler lists the rows an op does not handle yet.
 */
export const VARIANT_TABLE = {
  conv2d: {
    'direct': 'register block per invocation, no workgroup memory (CPU adapters)',
    'direct-16x32': 'direct, 16 pixels x 32 channels a block',
    'direct-wt-16x32': 'direct-16x32 reading the weight as [C/g, kH, kW, M] (cached transpose)',
    'tiled': 'implicit GEMM on 64x64 workgroup-shared tiles',
    'tiled-32': 'tiled, 32x32 tiles (deep layers on small maps)',
    'tiled-vec4': 'implicit GEMM with vec4 tiles, no divisions in the inner loops, weight as [C/g, kH, kW, M]',
    'winograd-2x2': 'Winograd F(2x2, 3x3): 3x3 stride 1, one group',
    'winograd-4x4': 'Winograd F(4x4, 3x3): 3x3 stride 1, one group',
    'gemm128-conv': 'GEMM core (src/ops/gemm.ts): 128x128 tiles, 8x8 per invocation, split-K where the tile grid is small',
  },
  conv2dTranspose: {
    'direct': 'register block per invocation, no workgroup memory (CPU adapters)',
    'direct-16x32': 'direct, 16 pixels x 32 channels a block',
    'tiled': 'implicit GEMM on 64x64 workgroup-shared tiles',
    'tiled-32': 'tiled, 32x32 tiles',
    'winograd-2x2': 'stride 1 as Winograd F(2x2, 3x3) of the flipped filter',
    'winograd-4x4': 'stride 1 as Winograd F(4x4, 3x3) of the flipped filter',
    'forward-conv': 'forward convolutions of the flipped filter (stride s: s^2 sub-pixel phases) on the chosen conv2d variant',
  },
  matmul: {
    'tiled': 'workgroup-shared tiles',
    'tiled-64': 'tiled, 64x64 tiles',
    'direct': 'register block per invocation, no workgroup memory (CPU adapters)',
    'direct-16x32': 'direct, 16 x 32 a block',
    'gemm128': 'GEMM core, 128x128 tiles, 8x8 per invocation',
    'gemm64': 'GEMM core, 64x64 tiles (integrated GPUs)',
    'gemm128-splitk': 'gemm128 with K split across workgroups and a reduce pass',
  },
} as const satisfies { readonly [Op in TunableOp]: Readonly<Record<string, string>> };

/** The variant names of `op` (a row of VARIANT_TABLE). */
export type VariantOf<Op extends TunableOp> = keyof (typeof VARIANT_TABLE)[Op] & string;

/**
 * Rows for GPUs (the GEMM core, src/ops/gemm.ts: 256-invocation workgroups, 64 accumulators each): on a
 * 'direct'-style (CPU) adapter they lose to the direct kernels and each costs 8-15 s of compiling on
 * SwiftShader, so tune() leaves them out there unless TuneOptions.candidates names them; pins still use them.
 */
export const GPU_ONLY_VARIANTS: ReadonlySet<string> = new Set(['gemm128', 'gemm64', 'gemm128-splitk', 'gemm128-conv']);

/**
 * Rows that record another tunable op inside ('forward-conv' runs conv2d per sub-pixel phase): where one
 * wins, the next forward meets conv2d shapes the first round never saw, which tuneKernels' next round
 * measures (a fixpoint). CPU adapters keep the gather by default and tune() leaves these out there:
 * each costs a second round of compiling and timing the inner shapes on SwiftShader, where the
 * gather wins at stride 1 (bench/transpose-profile.ts); TuneOptions.candidates and pins still use them.
 */
export const NESTING_VARIANTS: ReadonlySet<string> = new Set(['forward-conv']);

/** The candidates of each op, by name, in VARIANT_TABLE's order. */
export const KERNEL_VARIANTS: { readonly [Op in TunableOp]: readonly VariantOf<Op>[] } = {
  conv2d: variantsOf('conv2d'),
  conv2dTranspose: variantsOf('conv2dTranspose'),
  matmul: variantsOf('matmul'),
};

function variantsOf<Op extends TunableOp>(op: Op): VariantOf<Op>[] {
  return Object.keys(VARIANT_TABLE[op]) as VariantOf<Op>[];
}

/** Whether `variant` is a row of `op` in VARIANT_TABLE. */
export function isVariant<Op extends TunableOp>(op: Op, variant: string): variant is VariantOf<Op> {
  return Object.prototype.hasOwnProperty.call(VARIANT_TABLE[op] ?? {}, variant);
}

/** Bump when a variant's kernel changes, so stored choices measured on the old kernels are dropped. */
export const TUNING_VERSION = 4;

/** What the adapter default is for an op, given the runtime's kernel family. */
export function defaultVariant(op: TunableOp, style: 'direct' | 'tiled'): string {
  if (op === 'matmul') return 'tiled';
  if (style === 'direct') return 'direct';
  // GPUs: the transposed convolution on the forward kernels (its gather kernels skip 3 of 4 taps at stride 2 and divide per element).
  if (op === 'conv2dTranspose') return 'forward-conv';
  // GPUs: tiled-vec4 has tiled's 64x64 tile grid (as many workgroups or more, bench/kernel-report.ts) with
  // 10.7 multiply-adds per shared load instead of 2 and no division in its loader, so it is not worse on any
  // VGG16 layer by the static report; 'tiled' was 0.5-0.6x TF.js on the H100. Measured choices (tuneModel) still win.
  return 'tiled-vec4';
}

/**
 * What the tuner needs to time one (op, shape) on its own: a recorder of the
 * op with a given variant on scratch tensors of the same shapes. Created by
 * the op only while a tuning pass collects shapes.
 */
export interface KernelProbe {
  /** Records the op once with `variant`; returns outputs the tuner releases after the submit. */
  run(rec: Recorder, variant: string): Tensor[];
  dispose(): void;
}

/** Where measured choices persist: localStorage or anything with the same two methods. */
export interface TuningStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface KernelChoice {
  op: TunableOp;
  shapeKey: string;
  variant: string;
  source: 'pinned' | 'measured' | 'default';
}

export interface TuneOptions {
  /**
   * Timed runs per candidate after one warm-up run (default and minimum
   * MIN_TUNE_REPEATS = 3); the fastest run counts. A candidate whose fastest
   * run so far is clearly slower than the best candidate's is dropped early.
   */
  repeats?: number;
  /** Measure again keys that already have a measured choice (default false). */
  force?: boolean;
  /** Only these candidates (default: all of the op's). */
  candidates?: Partial<Record<TunableOp, readonly string[]>>;
  /** Called once per measured key, e.g. to show progress. */
  onKey?: (result: TuneResult) => void;
}

export interface TuneResult {
  op: TunableOp;
  shapeKey: string;
  variant: string;
  /** 'measured' now, 'cached' from an earlier measurement (memory or storage), 'pinned'. */
  source: 'measured' | 'cached' | 'pinned';
  /** Fastest run, in milliseconds, of each candidate measured now (a candidate dropped early has fewer runs). */
  ms: Record<string, number>;
  /** 'timestamp-query' (GPU time of the kernel's passes) or 'wall-clock' (submit to onSubmittedWorkDone). */
  timer?: 'timestamp-query' | 'wall-clock';
}

const keyOf = (op: TunableOp, shapeKey: string) => `${op}|${shapeKey}`;

export function checkVariant(op: TunableOp, variant: string): void {
  const list: readonly string[] | undefined = KERNEL_VARIANTS[op];
  if (!list) throw new OutOfRangeError(`kernel variants: unknown op "${String(op)}" (${Object.keys(KERNEL_VARIANTS).join(', ')})`);
  if (!isVariant(op, variant)) throw new OutOfRangeError(`kernel variants: ${op} has no variant "${variant}" (${list.join(', ')})`);
}

/**
 * The choices of one runtime: pins, measured results, the collection of the
 * shapes a piece of work hits. Owned by the Runtime (runtime.kernels).
 */
export class KernelChooser {
  #pins = new Map<string, string>();
  #measured = new Map<string, string>();
  #capture: Map<string, CapturedShape> | null = null;
  #storageKey: string;
  /** How many times choose() was answered by each source, for tests and diagnostics. */
  readonly counts = { pinned: 0, measured: 0, default: 0 };

  constructor(
    readonly style: 'direct' | 'tiled',
    readonly adapter: string,
    readonly store: TuningStore | null,
    pins: Readonly<Record<string, string>> = {},
  ) {
    this.#storageKey = `deconvnet-webgpu/kernels@${TUNING_VERSION}:${adapter}`;
    for (const [key, variant] of Object.entries(pins)) {
      const [op, ...shape] = key.split('|');
      this.pin(op as TunableOp, variant, shape.length ? shape.join('|') : undefined);
    }
    if (store) {
      try {
        const saved = JSON.parse(store.getItem(this.#storageKey) ?? '{}') as Record<string, string>;
        for (const [key, variant] of Object.entries(saved)) {
          const op = key.split('|')[0] as TunableOp;
          if (op in VARIANT_TABLE && isVariant(op, variant)) this.#measured.set(key, variant);
        }
      } catch {
        // A corrupt or foreign entry: start afresh, it is overwritten on the next tune.
      }
    }
  }

  /** The variant `op` uses for `shapeKey` (see the file comment for the order). */
  choose(op: TunableOp, shapeKey: string, probe?: () => KernelProbe, supports?: (variant: string) => boolean): string {
    const key = keyOf(op, shapeKey);
    if (this.#capture && probe && !this.#capture.has(key)) this.#capture.set(key, { op, shapeKey, probe, supports });
    const choice = this.explain(op, shapeKey, supports);
    this.counts[choice.source]++;
    return choice.variant;
  }

  /** Where choose() gets its answer from (see the file comment for the order). */
  explain(op: TunableOp, shapeKey: string, supports?: (variant: string) => boolean): KernelChoice {
    const key = keyOf(op, shapeKey);
    const pinned = this.#pinFor(op, shapeKey, supports);
    if (pinned) return { op, shapeKey, variant: pinned, source: 'pinned' };
    const measured = this.#measured.get(key);
    if (measured) return { op, shapeKey, variant: measured, source: 'measured' };
    return { op, shapeKey, variant: defaultVariant(op, this.style), source: 'default' };
  }

  /** Pins `variant` for `op` on one shape, or on every shape when shapeKey is omitted. */
  pin(op: TunableOp, variant: string, shapeKey?: string): void {
    checkVariant(op, variant);
    this.#pins.set(shapeKey === undefined ? op : keyOf(op, shapeKey), variant);
  }

  unpin(op: TunableOp, shapeKey?: string): void {
    this.#pins.delete(shapeKey === undefined ? op : keyOf(op, shapeKey));
  }

  isPinned(op: TunableOp, shapeKey: string, supports?: (variant: string) => boolean): boolean {
    return this.#pinFor(op, shapeKey, supports) !== undefined;
  }

  /**
   * The pin for this shape, else for the whole op; a pin the shape cannot take
   * (`supports`: a Winograd variant pinned for the op, on a strided conv) is passed over.
   */
  #pinFor(op: TunableOp, shapeKey: string, supports?: (variant: string) => boolean): string | undefined {
    return [this.#pins.get(keyOf(op, shapeKey)), this.#pins.get(op)].find((v) => v !== undefined && (supports?.(v) ?? true));
  }

  measuredChoice(op: TunableOp, shapeKey: string): string | undefined {
    return this.#measured.get(keyOf(op, shapeKey));
  }

  /** Every measured choice, e.g. to ship a tuned table with an application (pin them with RuntimeOptions.pinnedKernels). */
  measuredChoices(): Record<string, string> {
    return Object.fromEntries(this.#measured);
  }

  /** Forgets measured choices (memory and storage). */
  clearMeasured(): void {
    this.#measured.clear();
    this.#save();
  }

  /** @internal the tuner records its verdict. */
  setMeasured(op: TunableOp, shapeKey: string, variant: string): void {
    checkVariant(op, variant);
    this.#measured.set(keyOf(op, shapeKey), variant);
    this.#save();
  }

  /** @internal collects the (op, shape) keys, with their probes, that choose() sees while `fn` runs. */
  async collect(fn: () => Promise<void>): Promise<CapturedShape[]> {
    if (this.#capture) throw new Error('kernel tuning: already collecting shapes (one tune at a time per runtime)');
    this.#capture = new Map();
    try {
      await fn();
      return [...this.#capture.values()];
    } finally {
      this.#capture = null;
    }
  }

  #save(): void {
    if (!this.store) return;
    try {
      this.store.setItem(this.#storageKey, JSON.stringify(Object.fromEntries(this.#measured)));
    } catch {
      // Storage full or denied: the choices stay in memory.
    }
  }
}

/** One (op, shape) a piece of work hit: how to time it alone, and which variants compute it (default: all). */
interface CapturedShape { op: TunableOp; shapeKey: string; probe: () => KernelProbe; supports?: ((variant: string) => boolean) | undefined }

/** The part of a Runtime the tuner uses (kept structural: runtime.ts imports this file). */
interface TunerRuntime {
  readonly device: GPUDevice;
  readonly kernels: KernelChooser;
  record(operation: string): Recorder;
}

/**
 * Rounds of collecting and measuring at most: a round finds new keys only
 * through a nesting variant's inner op (one level today: forward-conv's
 * conv2d phases), so the second round ends it; the bound guards a future
 * nesting of nestings.
 */
export const MAX_TUNE_ROUNDS = 4;

/**
 * Collects the (op, shape) keys `work` hits, then times every candidate of
 * each on scratch tensors and keeps the fastest. Keys measured before (and
 * pinned keys) are not measured again unless `force`.
 *
 * Repeated to a fixpoint: where a nesting variant won (forward-conv records
 * conv2d per sub-pixel phase), the next run of `work` meets inner shapes no
 * earlier round saw; each round collects again and measures only the keys
 * that are new, until a round finds none. So after one tune every key the
 * work hits is answered from measurements.
 */
export async function tuneKernels(rt: TunerRuntime, work: () => Promise<void>, options: TuneOptions = {}): Promise<TuneResult[]> {
  const results = new Map<string, TuneResult>();
  const timer = new KernelTimer(rt);
  try {
    for (let round = 0; round < MAX_TUNE_ROUNDS; round++) {
      const keys = (await rt.kernels.collect(work)).filter((k) => !results.has(keyOf(k.op, k.shapeKey)));
      if (keys.length === 0) break;
      let changed = false;
      for (const key of keys) {
        const result = await tuneKey(rt, timer, key, options);
        results.set(keyOf(key.op, key.shapeKey), result);
        changed ||= result.source === 'measured';
      }
      // No choice changed, so running `work` again would hit the same keys.
      if (!changed) break;
    }
  } finally {
    timer.destroy();
  }
  return [...results.values()];
}

/** The verdict on one collected key: its pin, its cached measurement, or a measurement now. */
async function tuneKey(rt: TunerRuntime, timer: KernelTimer, captured: CapturedShape, options: TuneOptions): Promise<TuneResult> {
  const { op, shapeKey, probe: makeProbe, supports } = captured;
  if (rt.kernels.isPinned(op, shapeKey, supports)) {
    return { op, shapeKey, variant: rt.kernels.explain(op, shapeKey, supports).variant, source: 'pinned', ms: {} };
  }
  const known = rt.kernels.measuredChoice(op, shapeKey);
  if (known && !options.force) return { op, shapeKey, variant: known, source: 'cached', ms: {} };
  const candidates: readonly string[] = options.candidates?.[op]
    ?? KERNEL_VARIANTS[op].filter((v) => rt.kernels.style !== 'direct' || (!GPU_ONLY_VARIANTS.has(v) && !NESTING_VARIANTS.has(v)));
  candidates.forEach((v) => checkVariant(op, v));
  const usable = candidates.filter((v) => supports?.(v) ?? true);
  if (usable.length === 0) throw new OutOfRangeError(`kernel tuning: none of the candidates [${candidates.join(', ')}] computes ${op} ${shapeKey}`);
  const probe = makeProbe();
  let picked: { best: string; ms: Record<string, number> };
  try {
    picked = await pickFastest(usable, (variant) => timer.time(probe, variant), tuneRepeats(options.repeats), timer.kind === 'timestamp-query');
  } finally {
    probe.dispose();
  }
  const { best, ms } = picked;
  rt.kernels.setMeasured(op, shapeKey, best);
  const result: TuneResult = { op, shapeKey, variant: best, source: 'measured', ms, timer: timer.kind };
  options.onKey?.(result);
  return result;
}

/**
 * Fewest timed runs per candidate. On a CPU adapter (SwiftShader) that shares
 * its cores with other work, one run can be 2x off; the minimum of a few is
 * what the kernel costs when it gets the machine.
 */
export const MIN_TUNE_REPEATS = 3;

/** The runs per candidate for TuneOptions.repeats: an integer, at least MIN_TUNE_REPEATS. */
export function tuneRepeats(repeats: number | undefined): number {
  const r = Math.floor(repeats ?? MIN_TUNE_REPEATS);
  return Number.isFinite(r) ? Math.max(MIN_TUNE_REPEATS, r) : MIN_TUNE_REPEATS;
}

/**
 * Times each candidate: one warm-up run (compiles the pipeline), then up to
 * `repeats` timed runs; a candidate's figure is its fastest run (noise on a
 * loaded machine only ever adds time). The winner is the candidate with the
 * lowest figure. A candidate stops early once it is clearly out: when the
 * fastest of its first two (or more) runs is over 1.5x the best candidate's,
 * or (`gpuTime`: the timer excludes compiling) when its warm-up alone is over 3x.
 * Ties go to the earlier candidate.
 */
export async function pickFastest(
  candidates: readonly string[], time: (variant: string) => Promise<number>, repeats: number, gpuTime: boolean,
): Promise<{ best: string; ms: Record<string, number>; runs: Record<string, number> }> {
  const ms: Record<string, number> = {};
  const runs: Record<string, number> = {};
  let best = '', bestMs = Infinity;
  for (const variant of candidates) {
    const warm = await time(variant);
    let min = Infinity, n = 0;
    if (gpuTime && warm > 3 * bestMs) {
      // Over three times the best even on its warm-up (GPU time, so compiling is not in it): ruled out
      // without more runs (load rarely slows one run that much; the tiled kernels on SwiftShader are 4-5x).
      min = warm;
    } else {
      while (n < repeats) {
        min = Math.min(min, await time(variant));
        n++;
        // Clearly slower than the best so far even at the faster of two runs: more would not make it win.
        // (One run is not enough: under load a single run was seen 2.8x over the kernel's own time.)
        if (n >= 2 && min > 1.5 * bestMs) break;
      }
    }
    ms[variant] = min;
    runs[variant] = n;
    if (min < bestMs) { bestMs = min; best = variant; }
  }
  return { best, ms, runs };
}

/** Times one probe run: GPU time of its passes with timestamp queries, else submit-to-done wall clock. */
export class KernelTimer {
  static readonly CAPACITY = 64;
  readonly kind: 'timestamp-query' | 'wall-clock';
  #querySet: GPUQuerySet | null = null;
  /** GPU time of each pass of the last timed recording, in recording order (timestamp queries only; empty otherwise). */
  lastPasses: PassTime[] = [];

  constructor(readonly rt: { readonly device: GPUDevice; record(operation: string): Recorder }) {
    this.kind = rt.device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock';
    if (this.kind === 'timestamp-query') this.#querySet = rt.device.createQuerySet({ type: 'timestamp', count: KernelTimer.CAPACITY });
  }

  /** Milliseconds of one run of `record` (its outputs are released afterwards). */
  async time(probe: KernelProbe, variant: string): Promise<number> {
    return this.timeRecording(`tune ${variant}`, (rec) => probe.run(rec, variant));
  }

  /** Milliseconds of the passes `record` records in one submit. */
  async timeRecording(label: string, record: (rec: Recorder) => Tensor[] | Tensor | void): Promise<number> {
    const rec = this.rt.record(label);
    this.lastPasses = [];
    const passes = this.#querySet ? timePasses(rec, this.#querySet, KernelTimer.CAPACITY) : null;
    let outputs: Tensor[] = [];
    const start = performance.now();
    try {
      const out = record(rec);
      outputs = out ? (Array.isArray(out) ? out : [out]) : [];
    } catch (e) {
      rec.abandon();
      throw e;
    }
    await rec.submit();
    for (const t of outputs) t.release();
    const timed = passes ? await passes : [];
    if (timed.length === 0) {
      await this.rt.device.queue.onSubmittedWorkDone();
      return performance.now() - start;
    }
    this.lastPasses = timed;
    return timed.reduce((sum, p) => sum + p.ms, 0);
  }

  destroy(): void {
    this.#querySet?.destroy();
  }
}

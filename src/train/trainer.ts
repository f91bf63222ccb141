// Training on WebGPU: each step (forward, loss, backward, optimizer update)
// is one fixed chain of passes in one submit; loss and accuracy accumulate
// on the GPU and are read back once every `logEvery` steps.
import type { Model } from '../model/model.js';
import { isTrainable } from '../layers/layer.js';
import type { Tensor } from '../gpu/tensor.js';
import { softmaxCrossEntropy, crossEntropyStats } from '../ops/cross_entropy.js';
import { sgdStep, adamStep, type SgdOptions, type AdamOptions } from '../ops/optimizer.js';
import { OutOfRangeError, ShapeError, TrainingDivergedError } from '../gpu/errors.js';
import { makeProgress, throwIfAborted, type RunOptions } from '../util/progress.js';
import { topActivations, type TopActivation } from '../analysis/topk.js';
import type { ImageDataset } from '../data/dataset.js';
import type { ProjectionMode } from '../layers/layer.js';

export interface LabelledImages {
  /** `count` images back to back, each of the model's input shape. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

export type OptimizerConfig =
  | ({ kind: 'sgd'; learningRate: number } & SgdOptions)
  | ({ kind: 'adam'; learningRate: number } & AdamOptions);

/** 'cosine': from the base rate to 0 over the run; { every, factor }: multiply by factor every `every` epochs; or a function of the (fractional) epoch. */
export type LearningRateSchedule = 'constant' | 'cosine' | { every: number; factor: number } | ((epoch: number) => number);

export interface TrainLogEntry {
  epoch: number;
  step: number;
  /** Mean loss and accuracy over the steps since the previous entry. */
  loss: number;
  accuracy: number;
  learningRate: number;
}

export interface TrainOptions extends RunOptions {
  epochs: number;
  batchSize?: number;
  optimizer: OptimizerConfig;
  schedule?: LearningRateSchedule;
  /** Read loss/accuracy back every this many steps (default 50). */
  logEvery?: number;
  /** Seed of the per-epoch shuffle (default 1). */
  seed?: number;
  onLog?: (entry: TrainLogEntry) => void;
  /** Called after each epoch (1-based, after its snapshot if any), e.g. to save weights. */
  onEpoch?: (epoch: number) => void | Promise<void>;
  /**
   * Feature evolution (the paper's Fig. 4): after each listed epoch, for each
   * feature map, the strongest activation over the fixed `probe` images and
   * its DeconvNet projection.
   */
  snapshots?: { epochs: number[]; probe: ImageDataset; features: Array<{ layer: number | string; channel: number }>; mode?: ProjectionMode };
  /** Called with each listed epoch's snapshots as soon as they are taken (before onEpoch), e.g. to show them while training goes on. */
  onSnapshot?: (snapshots: FeatureSnapshot[]) => void;
  /**
   * Awaited before every step: while the promise it returns is pending, the
   * run waits with nothing submitted (a page's pause button). Aborting
   * `signal` ends a paused run at once, whether or not the promise settles.
   */
  pause?: () => void | Promise<void>;
  /**
   * Optimizer state from createOptimizerState() to continue from (momentum /
   * Adam moments carry over between train() calls, and nothing is
   * allocated per call); the caller releases it. Default: fresh zeros, released at the end.
   */
  optimizerState?: OptimizerState;
}

export interface FeatureSnapshot extends TopActivation {
  epoch: number;
  layer: string;
  channel: number;
}

export interface TrainResult {
  /** One entry per `logEvery` steps and one at each epoch end. */
  log: TrainLogEntry[];
  snapshots: FeatureSnapshot[];
}

/**
 * The layer range that produces logits: a final Softmax is left out, because
 * the loss kernel fuses softmax with cross-entropy.
 */
function logitsEnd(model: Model): number {
  const last = model.layers[model.layers.length - 1]!;
  return last.kind === 'Softmax' ? model.layers.length - 1 : model.layers.length;
}

function checkData(model: Model, data: LabelledImages, what: string): number {
  const perImage = model.inputShape.reduce((a, b) => a * b, 1);
  if (data.images.length !== data.count * perImage) {
    throw new ShapeError(`${what}: ${data.images.length} values for ${data.count} images of [${model.inputShape}] (${data.count * perImage} expected)`);
  }
  if (data.labels.length !== data.count) throw new ShapeError(`${what}: ${data.labels.length} labels for ${data.count} images`);
  const classes = model.info[logitsEnd(model) - 1]!.outputShape[0]!;
  for (let i = 0; i < data.count; i++) {
    if (data.labels[i]! >= classes) throw new OutOfRangeError(`${what}: label ${data.labels[i]} of image ${i} is not below the model's ${classes} classes`);
  }
  return perImage;
}

export function learningRateAt(base: number, schedule: LearningRateSchedule | undefined, epoch: number, epochs: number): number {
  if (!schedule || schedule === 'constant') return base;
  if (schedule === 'cosine') return base * 0.5 * (1 + Math.cos((Math.PI * epoch) / epochs));
  if (typeof schedule === 'function') return schedule(epoch);
  return base * schedule.factor ** Math.floor(epoch / schedule.every);
}

function shuffled(count: number, seed: number): Uint32Array {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = count - 1; i > 0; i--) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function trainableParameters(model: Model): Tensor[] {
  return model.layers.slice(0, logitsEnd(model)).flatMap((l) => (isTrainable(l) ? l.parameters() : []));
}

/** Optimizer state of one model: per parameter, SGD's velocity or Adam's two moments. */
export interface OptimizerState {
  readonly kind: 'sgd' | 'adam';
  readonly tensors: Tensor[][];
  /** @internal throws unless the state fits these parameters and optimizer. */
  checked(params: readonly Tensor[], optimizer: OptimizerConfig): OptimizerState;
  release(): void;
}

/**
 * Zeroed optimizer state for `model`, to pass as TrainOptions.optimizerState
 * to several train() calls (e.g. one step at a time, as a benchmark or an
 * interactive page does) so momentum carries over and nothing is allocated per call.
 */
export function createOptimizerState(model: Model, optimizer: OptimizerConfig): OptimizerState {
  const rt = model.runtime;
  const zeros = (p: Tensor) => rt.createTensor(p.shape, new Float32Array(p.size), 'f32', 'optimizer state');
  const tensors = trainableParameters(model).map((p) => (optimizer.kind === 'sgd' ? [zeros(p)] : [zeros(p), zeros(p)]));
  const state: OptimizerState = {
    kind: optimizer.kind,
    tensors,
    checked(params, opt) {
      if (opt.kind !== state.kind || params.length !== tensors.length || params.some((p, i) => p.size !== tensors[i]![0]!.size)) {
        throw new ShapeError(`train: optimizerState was made for another model or optimizer (${state.kind}, ${tensors.length} parameters; given ${opt.kind}, ${params.length})`);
      }
      return state;
    },
    release() { for (const t of tensors.flat()) t.release(); },
  };
  return state;
}

/** Trains `model` in place. */
export async function train(model: Model, data: LabelledImages, options: TrainOptions): Promise<TrainResult> {
  const rt = model.runtime;
  model.chain('train');
  const perImage = checkData(model, data, 'train');
  const batchSize = options.batchSize ?? 64;
  const logEvery = options.logEvery ?? 50;
  const end = logitsEnd(model);
  const stepsPerEpoch = Math.ceil(data.count / batchSize);
  const progress = makeProgress(options, options.epochs * stepsPerEpoch, 'train');

  // Optimizer state: one zeroed tensor (SGD velocity) or two (Adam moments) per parameter.
  const params = trainableParameters(model);
  const ownState = options.optimizerState ? null : createOptimizerState(model, options.optimizer);
  const state = (options.optimizerState ?? ownState!).checked(params, options.optimizer).tensors;
  const hyper = rt.createTensor([4], new Float32Array(4), 'f32', 'optimizer hyper-parameters');
  const stats = rt.createTensor([2], new Float32Array(2), 'f32', 'loss and correct count');

  const log: TrainLogEntry[] = [];
  const snapshots: FeatureSnapshot[] = [];
  async function snapshot(epoch: number): Promise<void> {
    const spec = options.snapshots!;
    const byLayer = new Map<string, number[]>();
    for (const f of spec.features) {
      const name = model.layers[model.layerIndex(f.layer)]!.name;
      byLayer.set(name, [...(byLayer.get(name) ?? []), f.channel]);
    }
    const taken: FeatureSnapshot[] = [];
    for (const [layer, channels] of byLayer) {
      const [result] = await topActivations(model, spec.probe, { layers: [layer], channels, k: 1, mode: spec.mode, signal: options.signal });
      for (const channel of channels) {
        const best = result!.top[channel]![0];
        if (best) taken.push({ epoch, layer, channel, ...best });
      }
    }
    snapshots.push(...taken);
    options.onSnapshot?.(taken);
  }
  let step = 0, sinceLog = 0, examplesSinceLog = 0;
  async function readLog(epoch: number, learningRate: number): Promise<void> {
    const [lossSum, correct] = await stats.read();
    rt.device.queue.writeBuffer(stats.buffer, 0, new Float32Array(2));
    const entry = { epoch, step, loss: lossSum! / examplesSinceLog, accuracy: correct! / examplesSinceLog, learningRate };
    sinceLog = 0;
    examplesSinceLog = 0;
    if (!Number.isFinite(entry.loss)) throw new TrainingDivergedError(step, entry.loss);
    log.push(entry);
    options.onLog?.(entry);
  }

  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = shuffled(data.count, (options.seed ?? 1) + epoch * 7919);
      let learningRate = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        await whilePaused(options.pause, options.signal);
        throwIfAborted(options.signal);
        const count = Math.min(batchSize, data.count - b * batchSize);
        const images = new Float32Array(count * perImage);
        const labels = new Uint32Array(count);
        for (let i = 0; i < count; i++) {
          const src = order[b * batchSize + i]!;
          images.set(data.images.subarray(src * perImage, (src + 1) * perImage), i * perImage);
          labels[i] = data.labels[src]!;
        }
        learningRate = learningRateAt(options.optimizer.learningRate, options.schedule, epoch + b / stepsPerEpoch, options.epochs);
        step++;
        rt.device.queue.writeBuffer(hyper.buffer, 0, new Float32Array([learningRate, step, 0, 0]));
        await trainStep(images, labels, count);
        sinceLog++;
        examplesSinceLog += count;
        progress.report(1);
        if (sinceLog === logEvery) await readLog(epoch + (b + 1) / stepsPerEpoch, learningRate);
      }
      if (sinceLog > 0) await readLog(epoch + 1, learningRate);
      if (options.snapshots?.epochs.includes(epoch + 1)) await snapshot(epoch + 1);
      await options.onEpoch?.(epoch + 1);
    }
  } finally {
    for (const t of [hyper, stats]) t.release();
    ownState?.release();
  }
  return { log, snapshots };

  async function trainStep(images: Float32Array, labels: Uint32Array, count: number): Promise<void> {
    const rec = rt.record(`train step ${step}`);
    try {
      const x = rec.temp(rt.createTensor([count, ...model.inputShape], images, 'f32', 'batch'));
      const y = rec.temp(rt.createTensor([count], labels, 'u32', 'labels'));
      const { outputs, switches } = model.recordForward(rec, x, end);
      outputs.forEach((t) => rec.temp(t));
      switches.forEach((t) => t && rec.temp(t));
      let g = rec.temp(softmaxCrossEntropy(rec, outputs[end - 1]!, y, stats, 1 / count));
      let p = params.length;
      for (let i = end - 1; i >= 0; i--) {
        const layer = model.chain('train')[i]!;
        const fwd = { input: i === 0 ? x : outputs[i - 1]!, output: outputs[i]!, switches: switches[i] };
        if (isTrainable(layer)) {
          const { dx, grads } = layer.trainBackward(rec, g, fwd, i > 0);
          const first = p - grads.length;
          grads.forEach((grad, k) => {
            rec.temp(grad);
            const param = params[first + k]!, [s0, s1] = state[first + k]!;
            if (options.optimizer.kind === 'sgd') sgdStep(rec, param, grad, s0!, hyper, options.optimizer);
            else adamStep(rec, param, grad, s0!, s1!, hyper, options.optimizer);
          });
          p = first;
          if (!dx) break;
          g = dx.buffer === g.buffer ? dx : rec.temp(dx);
        } else {
          if (i === 0) break;
          const next = layer.backward(rec, g, fwd, 'gradient');
          g = next.buffer === g.buffer ? next : rec.temp(next);
        }
      }
    } catch (e) {
      rec.abandon();
      throw e;
    }
    await rec.submit();
  }
}

/** Waits for `pause()` to settle, or for `signal` to abort, whichever comes first. */
async function whilePaused(pause: TrainOptions['pause'], signal: AbortSignal | undefined): Promise<void> {
  const waiting = pause?.();
  if (!waiting) return;
  if (!signal) return waiting;
  if (signal.aborted) return;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => { onAbort = resolve; signal.addEventListener('abort', onAbort, { once: true }); });
  try {
    await Promise.race([waiting, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Runs the model over labelled images; one submit per batch, one readback at the end. */
export async function evaluate(model: Model, data: LabelledImages, options: RunOptions & { batchSize?: number } = {}): Promise<{ accuracy: number; loss: number; count: number }> {
  const rt = model.runtime;
  const perImage = checkData(model, data, 'evaluate');
  const batchSize = options.batchSize ?? 256;
  const end = logitsEnd(model);
  const stats = rt.createTensor([2], new Float32Array(2), 'f32', 'loss and correct count');
  const progress = makeProgress(options, data.count, 'evaluate');
  try {
    for (let start = 0; start < data.count; start += batchSize) {
      throwIfAborted(options.signal);
      const count = Math.min(batchSize, data.count - start);
      const rec = rt.record('evaluate');
      try {
        const x = rec.temp(rt.createTensor([count, ...model.inputShape], data.images.subarray(start * perImage, (start + count) * perImage)));
        const y = rec.temp(rt.createTensor([count], Uint32Array.from(data.labels.subarray(start, start + count)), 'u32'));
        const { outputs, switches } = model.recordForward(rec, x, end);
        outputs.forEach((t) => rec.temp(t));
        switches.forEach((t) => t && rec.temp(t));
        crossEntropyStats(rec, outputs[end - 1]!, y, stats);
      } catch (e) {
        rec.abandon();
        throw e;
      }
      await rec.submit();
      progress.report(count);
    }
    const [lossSum, correct] = await stats.read();
    return { accuracy: correct! / data.count, loss: lossSum! / data.count, count: data.count };
  } finally {
    stats.release();
  }
}

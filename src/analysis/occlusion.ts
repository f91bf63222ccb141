// Occlusion sensitivity (Zeiler & Fergus 2014, Sec. 4.2 and Fig. 7): slide a
// grey square over the image and watch, at each position of the square,
//   (a) the total activation of one feature map (the strongest one of a
//       chosen layer in the unoccluded image),
//   (b) the probability of the true class,
//   (c) the most probable class and its probability.
// If the classifier really looks at the object, covering the object makes
// (b) drop and (a) dies where the feature map's pattern is hidden.
//
// Everything stays on the GPU: the image is uploaded once, and `reduce_rows`
// kernels write (a), (b), (c) of each batch into one result tensor that is
// read back once at the end. Two ways to run the occluded copies:
// - incremental (the default where it applies; Krypton, SIGMOD 2019): the
//   unoccluded image's activations are kept, and each batch computes every
//   layer only inside the window its occluder can reach
//   (incremental_plan.ts, incremental_forward.ts), one submit per batch;
// - full: the `occlude` kernel makes whole occluded copies in batches and
//   each batch goes through model.forward (every layer, every position).
// Both give the same maps (same kernels on the same values).

import type { Model, ForwardResult } from '../model/model.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Recorder } from '../gpu/recorder.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import { occludeGrid } from '../ops/occlude.js';
import { reduceRows } from '../ops/reduce_rows.js';
import { makeProgress, throwIfAborted, type RunOptions } from '../util/progress.js';
import { recordedSweep, sweep } from './sweep.js';
import { planIncrementalOcclusion, type IncrementalPlan, type OccluderGrid } from './incremental_plan.js';
import { recordIncrementalForward } from './incremental_forward.js';

/** One value per copy: row r of `tensor` starts at r * rowStride + offset. */
interface Rows { tensor: Tensor; rowStride: number; offset: number }

export interface OcclusionOptions extends RunOptions {
  /** Layer (index or name) whose strongest feature map gives map (a). */
  layer: number | string;
  /** Side of the square, in pixels. */
  size: number;
  /** Step between positions, in pixels (default round(size / 2), at least 1). */
  stride?: number;
  /** Value of the square in every channel (default 0.5: grey for images in [0, 1]). */
  fill?: number;
  /** Class whose probability map (b) shows (default: the unoccluded prediction). */
  classIndex?: number;
  /** Occluded copies per forward pass (default 32). */
  batchSize?: number;
  /**
   * Compute each layer only inside the occluder's window, reusing the
   * unoccluded activations elsewhere (default true, where the model allows;
   * see `path` and `fallback` in the result). false: recompute every copy in full.
   */
  incremental?: boolean;
}

export interface OcclusionResult {
  /** Grid of square positions: position (r, c) has its top-left pixel at (r * stride, c * stride). */
  rows: number;
  cols: number;
  size: number;
  stride: number;
  /** Name of the layer of map (a). */
  layer: string;
  /** The channel of `layer` with the largest total activation in the unoccluded image (ties: the lowest). */
  strongestChannel: number;
  /** (a) [rows * cols], row-major: total activation of that channel with the square at each position. */
  featureActivation: Float32Array;
  classIndex: number;
  /**
   * (b) [rows * cols]: the model's output for `classIndex`, a probability when
   * the last layer is a Softmax, otherwise the raw score (nothing is applied).
   */
  classProbability: Float32Array;
  /** (c) [rows * cols]: most probable label (ties: the lowest) and its output value. */
  topLabel: Int32Array;
  topProbability: Float32Array;
  unoccluded: { featureActivation: number; classProbability: number; topLabel: number };
  /** How the copies ran: 'incremental' (windows per layer) or 'full' (whole copies). */
  path: 'incremental' | 'full';
  /** Why the full path ran although `incremental` was not false. */
  fallback?: string;
}

/** Makes the incremental plan, or says why there is none (a test swaps it to show a wrong plan fails). */
export type PlanMaker = (model: Model, grid: OccluderGrid) => IncrementalPlan | { fallback: string };

/** [C, H, W] of the model's input, or a ShapeError. */
export function imageShapeOf(model: Model, what: string): [number, number, number] {
  const s = model.inputShape;
  if (s.length !== 3) throw new ShapeError(`${what}: the model's input [${s}] is not an image [C, H, W]`);
  return [s[0]!, s[1]!, s[2]!];
}

/** The model's output size, which must be a flat class vector. */
export function classCountOf(model: Model, what: string): number {
  const s = model.outputShape;
  if (s.length !== 1) throw new ShapeError(`${what}: the model's output [${s}] is not a flat vector of class scores`);
  return s[0]!;
}

export function checkImage(model: Model, image: Float32Array, what: string): void {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  if (!(image instanceof Float32Array) || image.length !== size) {
    throw new ShapeError(`${what}: the image has ${image?.length} values, the model takes one [${model.inputShape}] image = ${size}`);
  }
}

export function checkClassIndex(classIndex: number | undefined, classes: number, what: string): void {
  if (classIndex === undefined) return;
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= classes) {
    throw new OutOfRangeError(`${what}: classIndex ${classIndex} is out of range, the model has ${classes} classes (0..${classes - 1})`);
  }
}

export function checkBatchSize(batchSize: number, what: string): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OutOfRangeError(`${what}: batchSize ${batchSize} must be a positive integer`);
}

/**
 * Runs the occlusion experiment on one image ([C, H, W] of the model's
 * input shape). Positions: the square's top-left corner is at
 * (r * stride, c * stride) for every r, c that keeps the whole square inside
 * the image: rows = floor((H - size) / stride) + 1, cols likewise with W; so
 * with a stride that does not divide H - size the last rows/columns of pixels
 * are never the square's bottom/right edge.
 *
 * GPU work: one forward of the unoccluded image, then ceil(positions /
 * batchSize) batches. Incremental path (the default where the model allows,
 * `result.path`): each batch is one submit, its layers computed only inside
 * the occluder's windows, its reductions included. Full path (`incremental:
 * false`, or `result.fallback` says why): one forward per batch, and a
 * batch's reductions and the next batch's occluded copies share one submit.
 * Read back: 5 floats after the unoccluded forward (it fixes the strongest
 * channel and the default class) and 4 floats per position at the end.
 */
export function occlusionSensitivity(model: Model, image: Float32Array, options: OcclusionOptions): Promise<OcclusionResult> {
  return occlusionWithPlan(model, image, options, planIncrementalOcclusion);
}

/** occlusionSensitivity with the incremental plan made by `makePlan`. */
export async function occlusionWithPlan(model: Model, image: Float32Array, options: OcclusionOptions, makePlan: PlanMaker): Promise<OcclusionResult> {
  const what = 'occlusionSensitivity';
  const rt = model.runtime;
  throwIfAborted(options.signal);
  const [C, H, W] = imageShapeOf(model, what);
  checkImage(model, image, what);
  const classes = classCountOf(model, what);
  checkClassIndex(options.classIndex, classes, what);
  const layerIndex = model.layerIndex(options.layer);
  const layerName = model.layers[layerIndex]!.name;
  const layerShape = model.info[layerIndex]!.outputShape;
  const channels = layerShape[0]!;
  const plane = layerShape.slice(1).reduce((a, b) => a * b, 1);
  const size = options.size;
  if (!Number.isInteger(size) || size < 1 || size > H || size > W) {
    throw new OutOfRangeError(`${what}: size ${size} must be an integer from 1 to ${Math.min(H, W)} (the image is ${H}x${W})`);
  }
  const stride = options.stride ?? Math.max(1, Math.round(size / 2));
  if (!Number.isInteger(stride) || stride < 1) throw new OutOfRangeError(`${what}: stride ${stride} must be a positive integer`);
  const fill = options.fill ?? 0.5;
  if (!Number.isFinite(fill)) throw new OutOfRangeError(`${what}: fill ${fill} is not a finite number`);
  const batchSize = options.batchSize ?? 32;
  checkBatchSize(batchSize, what);
  const rows = Math.floor((H - size) / stride) + 1;
  const cols = Math.floor((W - size) / stride) + 1;
  const positions = rows * cols;
  const grid = { size, stride, cols, fill };
  const plan = options.incremental === false ? { fallback: 'incremental: false' } : makePlan(model, { size, stride, rows, cols });
  const incremental = 'steps' in plan ? plan : null;
  const progress = makeProgress(options, positions, 'occlusion');

  // Everything allocated goes here and is released in `finally`, whether the
  // run ends, fails or is aborted (release is idempotent).
  const held: Tensor[] = [];
  const forwards: ForwardResult[] = [];
  try {
    const img = rt.createTensor([1, C, H, W], image, 'f32', 'occlusion image');
    held.push(img);
    const fwd0 = await model.forward(img);
    forwards.push(fwd0);

    // Unoccluded: [strongest channel's sum, its index, top prob, top label, class prob].
    // On the full path the first batch of occluded copies is recorded into the same submit.
    const head = rt.createTensor([5], undefined, 'f32', 'occlusion unoccluded');
    held.push(head);
    const state: { batch: Tensor | null } = { batch: null };
    await rt.run('occlusion: unoccluded image', (rec) => {
      const sums = rec.temp(rec.tensor([channels], 'channel sums'));
      reduceRows(rec, fwd0.activations[layerIndex]!, sums, { op: 'sum', rows: channels, length: plane });
      reduceRows(rec, sums, head, { op: 'argmax', rows: 1, length: channels, outOffset: 0 });
      reduceRows(rec, fwd0.output, head, { op: 'argmax', rows: 1, length: classes, outOffset: 2 });
      reduceRows(rec, fwd0.output, head, { op: 'sum', rows: 1, length: 1, offset: options.classIndex ?? 0, outOffset: 4 });
      if (incremental) return;
      state.batch = occludeGrid(rec, img, { ...grid, first: 0, copies: Math.min(batchSize, positions) });
      held.push(state.batch);
    });
    // The incremental path reads the unoccluded activations until the end.
    if (!incremental) fwd0.release();
    const h = await head.read();
    const strongestChannel = h[1]!;
    const topLabel0 = h[3]!;
    const classIndex = options.classIndex ?? topLabel0;
    const unoccluded = {
      featureActivation: h[0]!,
      classProbability: options.classIndex === undefined ? h[2]! : h[4]!,
      topLabel: topLabel0,
    };

    // results: (a) [0, P), (b) [P, 2P), (c) interleaved (prob, label) [2P, 4P).
    const results = rt.createTensor([4 * positions], undefined, 'f32', 'occlusion results');
    held.push(results);
    const recordRows = (rec: Recorder, first: number, n: number, layerRows: Rows, output: Tensor) => {
      reduceRows(rec, layerRows.tensor, results, {
        op: 'sum', rows: n, length: plane, rowStride: layerRows.rowStride, offset: layerRows.offset, outOffset: first,
      });
      reduceRows(rec, output, results, {
        op: 'sum', rows: n, length: 1, rowStride: classes, offset: classIndex, outOffset: positions + first,
      });
      reduceRows(rec, output, results, { op: 'argmax', rows: n, length: classes, outOffset: 2 * positions + 2 * first });
    };
    if (incremental) {
      await recordedSweep(rt, {
        total: positions,
        batchSize,
        label: (first, last) => `occlusion (incremental): positions ${first}..${last}`,
        record: (rec, first, n) => {
          const inc = recordIncrementalForward(rec, model, incremental, img, fwd0.activations, fill, first, n);
          recordRows(rec, first, n, inc.plane(layerIndex, strongestChannel), inc.full(model.outputIndices[0]!));
        },
        done: (n) => progress.report(n),
        signal: options.signal,
      });
    } else await sweep(model, {
      total: positions,
      firstBatch: state.batch!,
      unitsOf: (x) => x.shape[0]!,
      label: (first, last) => `occlusion: positions ${first}..${last}`,
      reduce: (rec, fwd, first, n) => {
        const layerRows = { tensor: fwd.activations[layerIndex]!, rowStride: channels * plane, offset: strongestChannel * plane };
        recordRows(rec, first, n, layerRows, fwd.output);
      },
      perturb: (rec, first) => occludeGrid(rec, img, { ...grid, first, copies: Math.min(batchSize, positions - first) }),
      done: (n) => progress.report(n),
      signal: options.signal,
    });
    throwIfAborted(options.signal);
    const r = await results.read();
    const topLabel = new Int32Array(positions);
    const topProbability = new Float32Array(positions);
    for (let p = 0; p < positions; p++) {
      topProbability[p] = r[2 * positions + 2 * p]!;
      topLabel[p] = r[2 * positions + 2 * p + 1]!;
    }
    return {
      rows, cols, size, stride, layer: layerName, strongestChannel,
      featureActivation: r.slice(0, positions),
      classIndex,
      classProbability: r.slice(positions, 2 * positions),
      topLabel, topProbability, unoccluded,
      path: incremental ? 'incremental' : 'full',
      ...(incremental || options.incremental === false ? {} : { fallback: (plan as { fallback: string }).fallback }),
    };
  } finally {
    for (const f of forwards) f.release();
    for (const t of held) t.release();
  }
}

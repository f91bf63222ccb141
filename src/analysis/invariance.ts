// Invariance curves (Zeiler & Fergus 2014, Sec. 4.3 / Fig. 5): translate,
// scale or rotate an image step by step and measure, at chosen layers, the
// Euclidean distance between the feature vector of the transformed image
// and that of the original, together with the probability of the class.
// Low layers change a lot under small transforms; high layers less so.
//
// The image is uploaded once. The `affine_warp` kernel makes each batch of
// transformed copies from it (each copy with its own 2x3 matrix, all held in
// one small tensor); after each batch's forward pass `reduce_rows` writes
// the distances (squared differences to the original's activations, summed
// per image, square-rooted) and the class output into one result tensor that
// is read back once at the end.

import type { Model, ForwardResult } from '../model/model.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError } from '../gpu/errors.js';
import { affineWarp } from '../ops/affine_warp.js';
import { reduceRows } from '../ops/reduce_rows.js';
import { makeProgress, throwIfAborted, type RunOptions } from '../util/progress.js';
import { sweep } from './sweep.js';
import { checkBatchSize, checkClassIndex, checkImage, classCountOf, imageShapeOf } from './occlusion.js';

/**
 * A transform about the image centre ((W - 1) / 2, (H - 1) / 2), pixel units:
 * translate moves the content right by dx and down by dy; scale > 1 enlarges
 * it; rotate turns it counter-clockwise as seen on screen (y pointing down).
 * Pixels that come from outside the image are `fill`.
 */
export type Transform =
  | { kind: 'translate'; dx: number; dy: number }
  | { kind: 'scale'; factor: number }
  | { kind: 'rotate'; degrees: number };

export interface InvarianceOptions extends RunOptions {
  transforms: Transform[];
  /** Layers (index or name) whose feature vectors are compared. */
  layers: Array<number | string>;
  /** Class whose output is tracked (default: the prediction for the original image). */
  classIndex?: number;
  /** Value of pixels brought in from outside the image (default 0). */
  fill?: number;
  /** Transformed copies per forward pass (default 32). */
  batchSize?: number;
}

export interface InvarianceResult {
  transforms: Transform[];
  /** Names of the compared layers. */
  layers: string[];
  /** Per layer, [transforms]: || f(T x) - f(x) ||_2 over the layer's whole output for the image. */
  distances: Float32Array[];
  /** [transforms]: the model output for `classIndex` (a probability when the last layer is a Softmax). */
  classProbability: Float32Array;
  classIndex: number;
}

/**
 * The inverse map of a transform as a 2x3 matrix: output pixel (x, y) samples
 * the input at (m0 x + m1 y + m2, m3 x + m4 y + m5).
 */
export function inverseMatrix(t: Transform, height: number, width: number): number[] {
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  switch (t.kind) {
    case 'translate':
      if (!Number.isFinite(t.dx) || !Number.isFinite(t.dy)) throw new OutOfRangeError(`translate: dx ${t.dx}, dy ${t.dy} must be finite`);
      return [1, 0, -t.dx, 0, 1, -t.dy];
    case 'scale': {
      if (!Number.isFinite(t.factor) || t.factor <= 0) throw new OutOfRangeError(`scale: factor ${t.factor} must be a positive number`);
      const s = 1 / t.factor;
      return [s, 0, cx - s * cx, 0, s, cy - s * cy];
    }
    case 'rotate': {
      if (!Number.isFinite(t.degrees)) throw new OutOfRangeError(`rotate: degrees ${t.degrees} must be finite`);
      // Forward (y down, counter-clockwise on screen): d - c = [[cos, sin], [-sin, cos]] (s - c);
      // its inverse is the transpose.
      const a = (t.degrees * Math.PI) / 180;
      const cos = Math.cos(a), sin = Math.sin(a);
      return [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy];
    }
    default:
      throw new OutOfRangeError(`unknown transform kind "${(t as { kind: string }).kind}" (translate, scale, rotate)`);
  }
}

/**
 * `steps` evenly spaced transforms from `from` to `to` inclusive: pixels for
 * translations, the factor for 'scale', degrees for 'rotate'.
 */
export function transformSeries(kind: 'translate-x' | 'translate-y' | 'scale' | 'rotate', from: number, to: number, steps: number): Transform[] {
  if (!Number.isInteger(steps) || steps < 1) throw new OutOfRangeError(`transformSeries: steps ${steps} must be a positive integer`);
  const values = Array.from({ length: steps }, (_, i) => (steps === 1 ? from : from + ((to - from) * i) / (steps - 1)));
  return values.map((v): Transform => {
    switch (kind) {
      case 'translate-x': return { kind: 'translate', dx: v, dy: 0 };
      case 'translate-y': return { kind: 'translate', dx: 0, dy: v };
      case 'scale': return { kind: 'scale', factor: v };
      case 'rotate': return { kind: 'rotate', degrees: v };
      default: throw new OutOfRangeError(`transformSeries: unknown kind "${String(kind)}" (translate-x, translate-y, scale, rotate)`);
    }
  });
}

/**
 * Distances at each layer and class output for every transform of one image
 * ([C, H, W] of the model's input shape).
 *
 * GPU work: one forward of the original (its activations are the reference
 * rows), then ceil(transforms / batchSize) forwards; each batch's reductions
 * and the next batch's warps share one submit. Read back: 2 floats after the
 * original's forward when no classIndex is given, and (layers + 1) floats
 * per transform at the end.
 */
export async function invarianceCurves(model: Model, image: Float32Array, options: InvarianceOptions): Promise<InvarianceResult> {
  const what = 'invarianceCurves';
  const rt = model.runtime;
  throwIfAborted(options.signal);
  const [C, H, W] = imageShapeOf(model, what);
  checkImage(model, image, what);
  const classes = classCountOf(model, what);
  checkClassIndex(options.classIndex, classes, what);
  const transforms = [...options.transforms];
  if (transforms.length === 0) throw new OutOfRangeError(`${what}: no transforms given`);
  if (options.layers.length === 0) throw new OutOfRangeError(`${what}: no layers given`);
  const layerIndices = options.layers.map((l) => model.layerIndex(l));
  const features = layerIndices.map((i) => model.info[i]!.outputShape.reduce((a, b) => a * b, 1));
  const fill = options.fill ?? 0;
  if (!Number.isFinite(fill)) throw new OutOfRangeError(`${what}: fill ${fill} is not a finite number`);
  const batchSize = options.batchSize ?? 32;
  checkBatchSize(batchSize, what);
  const T = transforms.length, L = layerIndices.length;
  const matrixData = new Float32Array(T * 6);
  transforms.forEach((t, i) => matrixData.set(inverseMatrix(t, H, W), i * 6));
  const progress = makeProgress(options, T, 'invariance');

  const held: Tensor[] = [];
  const forwards: ForwardResult[] = [];
  try {
    const img = rt.createTensor([1, C, H, W], image, 'f32', 'invariance image');
    held.push(img);
    const matrices = rt.createTensor([T, 6], matrixData, 'f32', 'invariance matrices');
    held.push(matrices);
    const fwd0 = await model.forward(img);
    forwards.push(fwd0);

    const head = rt.createTensor([2], undefined, 'f32', 'invariance prediction');
    held.push(head);
    const state: { batch: Tensor | null } = { batch: null };
    await rt.run('invariance: first warps', (rec) => {
      if (options.classIndex === undefined) reduceRows(rec, fwd0.output, head, { op: 'argmax', rows: 1, length: classes });
      state.batch = affineWarp(rec, img, matrices, { first: 0, copies: Math.min(batchSize, T), fill });
      held.push(state.batch);
    });
    const classIndex = options.classIndex ?? (await head.read())[1]!;

    // results: layer l's distances at [l T, (l + 1) T), the class output at [L T, (L + 1) T).
    const results = rt.createTensor([(L + 1) * T], undefined, 'f32', 'invariance results');
    held.push(results);
    await sweep(model, {
      total: T,
      firstBatch: state.batch!,
      unitsOf: (x) => x.shape[0]!,
      label: (first, last) => `invariance: transforms ${first}..${last}`,
      reduce: (rec, fwd, first, n) => {
        layerIndices.forEach((li, l) => {
          reduceRows(rec, fwd.activations[li]!, results, {
            op: 'sqdist', rows: n, length: features[l]!, base: fwd0.activations[li]!, baseStride: 0, root: true, outOffset: l * T + first,
          }, `invariance distance (${model.layers[li]!.name})`);
        });
        reduceRows(rec, fwd.output, results, {
          op: 'sum', rows: n, length: 1, rowStride: classes, offset: classIndex, outOffset: L * T + first,
        });
      },
      perturb: (rec, first) => affineWarp(rec, img, matrices, { first, copies: Math.min(batchSize, T - first), fill }),
      done: (n) => progress.report(n),
      signal: options.signal,
    });
    throwIfAborted(options.signal);
    const r = await results.read();
    return {
      transforms,
      layers: layerIndices.map((i) => model.layers[i]!.name),
      distances: layerIndices.map((_, l) => r.slice(l * T, (l + 1) * T)),
      classProbability: r.slice(L * T, (L + 1) * T),
      classIndex,
    };
  } finally {
    for (const f of forwards) f.release();
    for (const t of held) t.release();
  }
}

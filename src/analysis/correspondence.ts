// Correspondence analysis (Zeiler & Fergus 2014, Sec. 5.2 / Table 1): does
// the net tie a part of an object (the left eye of each of several dogs) to
// a consistent change in its features? For each image i, mask the same part
// and take the feature change at layer l,
//     eps_i^l = x_i^l - x~_i^l        (original minus masked),
// then sum the Hamming distances of the sign vectors over the image pairs,
//     Delta_l = sum_{i<j} H(sign(eps_i^l), sign(eps_j^l)).
// A lower Delta than for randomly placed masks of the same size means the
// change is more consistent than chance: the part "corresponds" across images.
// (The paper sums over i != j, which counts each pair twice: its figures are
// twice these.) Signs are ternary (sign(0) = 0, common after a ReLU), and H
// counts the features where the two signs differ.
//
// GPU: the images are uploaded once as a batch; the `occlude` kernel makes
// each set of masked copies (one box per image), and after each set's
// forward pass the `reduce_rows` sign-mismatch kernel counts H for every
// pair at every layer into one result tensor, read back once at the end.

import type { Model, ForwardResult } from '../model/model.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import { occludeBoxes } from '../ops/occlude.js';
import { reduceRows } from '../ops/reduce_rows.js';
import { makeProgress, throwIfAborted, type RunOptions } from '../util/progress.js';
import { checkImage, imageShapeOf } from './occlusion.js';
import { sweep } from './sweep.js';

/** A rectangle in pixels: rows top .. top + height - 1, columns left .. left + width - 1. */
export interface Mask { top: number; left: number; height: number; width: number }

export interface CorrespondenceOptions extends RunOptions {
  /** Layers (index or name) at which Delta is measured. */
  layers: Array<number | string>;
  /** Sets of random masks to average Delta over for the baseline (default 1; 0 skips it: randomDelta is NaN). */
  randomTrials?: number;
  /** Seed of the random mask positions (default 1). */
  seed?: number;
  /** Value written under the masks in every channel (default 0.5, grey). */
  fill?: number;
}

export interface CorrespondenceResult {
  layers: string[];
  /** Per layer: Delta_l for the given masks. */
  delta: number[];
  /** Per layer: Delta_l for random masks (same sizes, uniformly placed inside each image), averaged over the trials. */
  randomDelta: number[];
  /** [trial][image]: where the random masks were. */
  randomMasks: Mask[][];
}

/** mulberry32: small, seedable, good enough to place masks reproducibly. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random masks of the given sizes, one per image and trial: top uniform in
 * 0 .. H - height, left in 0 .. W - width (they may overlap the real part).
 * Draws top then left for each image, trial after trial.
 */
export function randomMasks(masks: readonly Mask[], height: number, width: number, trials: number, seed = 1): Mask[][] {
  const next = random(seed);
  return Array.from({ length: trials }, () => masks.map((m) => ({
    top: Math.floor(next() * (height - m.height + 1)),
    left: Math.floor(next() * (width - m.width + 1)),
    height: m.height,
    width: m.width,
  })));
}

/**
 * Delta_l for `images` (each [C, H, W] of the model's input), masked with
 * `masks[i]` on image i, and for random masks of the same sizes.
 *
 * GPU work: one forward of all originals, then one forward per mask set
 * (1 + randomTrials sets of N images); each set's reductions and the next
 * set's masking share one submit. Read back once: layers * (1 + trials) *
 * N (N - 1) / 2 floats.
 */
export async function correspondence(model: Model, images: Float32Array[], masks: Mask[], options: CorrespondenceOptions): Promise<CorrespondenceResult> {
  const what = 'correspondence';
  const rt = model.runtime;
  throwIfAborted(options.signal);
  const [C, H, W] = imageShapeOf(model, what);
  const N = images.length;
  if (N < 2) throw new ShapeError(`${what}: needs at least 2 images to compare, got ${N}`);
  if (masks.length !== N) throw new ShapeError(`${what}: ${masks.length} masks for ${N} images (one mask per image)`);
  images.forEach((img, i) => checkImage(model, img, `${what}: image ${i}`));
  masks.forEach((m, i) => {
    const ok = [m.top, m.left, m.height, m.width].every((v) => Number.isInteger(v) && v >= 0) && m.height >= 1 && m.width >= 1;
    if (!ok || m.top + m.height > H || m.left + m.width > W) {
      throw new OutOfRangeError(`${what}: mask ${i} (top ${m.top}, left ${m.left}, ${m.height}x${m.width}) is not a non-empty rectangle inside the ${H}x${W} image`);
    }
  });
  if (options.layers.length === 0) throw new OutOfRangeError(`${what}: no layers given`);
  const layerIndices = options.layers.map((l) => model.layerIndex(l));
  const features = layerIndices.map((i) => model.info[i]!.outputShape.reduce((a, b) => a * b, 1));
  const trials = options.randomTrials ?? 1;
  if (!Number.isInteger(trials) || trials < 0) throw new OutOfRangeError(`${what}: randomTrials ${trials} must be an integer >= 0`);
  const fill = options.fill ?? 0.5;
  if (!Number.isFinite(fill)) throw new OutOfRangeError(`${what}: fill ${fill} is not a finite number`);
  const random = randomMasks(masks, H, W, trials, options.seed ?? 1);
  const sets = [masks, ...random];
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) pairs.push([i, j]);
  const P = pairs.length, L = layerIndices.length;
  const progress = makeProgress(options, sets.length * N, 'correspondence');
  const boxesOf = (set: readonly Mask[]) => set.map((m, i) => ({ image: i, ...m }));

  const held: Tensor[] = [];
  const forwards: ForwardResult[] = [];
  try {
    const all = new Float32Array(N * C * H * W);
    images.forEach((img, i) => all.set(img, i * C * H * W));
    const originals = rt.createTensor([N, C, H, W], all, 'f32', 'correspondence images');
    held.push(originals);
    const fwd0 = await model.forward(originals);
    forwards.push(fwd0);
    const state: { masked: Tensor | null } = { masked: null };
    await rt.run('correspondence: masks', (rec) => {
      state.masked = occludeBoxes(rec, originals, boxesOf(sets[0]!), fill);
      held.push(state.masked);
    });

    // results: set s, layer l, pair p at (s L + l) P + p.
    const results = rt.createTensor([sets.length * L * P], undefined, 'f32', 'correspondence results');
    held.push(results);
    await sweep(model, {
      total: sets.length,
      firstBatch: state.masked!,
      unitsOf: () => 1, // one mask set of N images
      label: (s) => `correspondence: mask set ${s}`,
      reduce: (rec, fwd, s) => {
        layerIndices.forEach((li, l) => {
          reduceRows(rec, fwd.activations[li]!, results, {
            op: 'sign-mismatch', pairs, length: features[l]!, base: fwd0.activations[li]!, outOffset: (s * L + l) * P,
          }, `correspondence (${model.layers[li]!.name})`);
        });
      },
      perturb: (rec, s) => occludeBoxes(rec, originals, boxesOf(sets[s]!), fill),
      done: () => progress.report(N),
      signal: options.signal,
    });
    throwIfAborted(options.signal);
    const r = await results.read();
    const deltaOf = (s: number, l: number) => {
      let sum = 0;
      for (let p = 0; p < P; p++) sum += r[(s * L + l) * P + p]!;
      return sum;
    };
    return {
      layers: layerIndices.map((i) => model.layers[i]!.name),
      delta: layerIndices.map((_, l) => deltaOf(0, l)),
      randomDelta: layerIndices.map((_, l) => {
        if (trials === 0) return NaN;
        let sum = 0;
        for (let t = 1; t <= trials; t++) sum += deltaOf(t, l);
        return sum / trials;
      }),
      randomMasks: random,
    };
  } finally {
    for (const f of forwards) f.release();
    for (const t of held) t.release();
  }
}

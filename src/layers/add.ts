import { BaseLayer, type MergeForwardRecord, type MergeLayer } from './layer.js';
import { add, broadcastShapes, reduceToShape } from '../ops/elementwise.js';
import { sumN } from '../ops/sum_n.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import { sameShape, type Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * Per-image shapes broadcast numpy-style among themselves, but the tensors
 * carry the batch axis in front: a lower-rank input gets its missing axes as
 * 1s *after* the batch axis, so [N, W] meets [N, C, H, W] as [N, 1, 1, W]
 * rather than lining N up against H.
 */
export function alignToRank(x: Tensor, rank: number): Tensor {
  const missing = rank - x.shape.length;
  if (missing <= 0) return x;
  return x.reshape([x.shape[0]!, ...new Array<number>(missing).fill(1), ...x.shape.slice(1)]);
}

/** Checks per-image input shapes and returns their numpy broadcast. */
export function broadcastImageShapes(shapes: ReadonlyArray<readonly number[]>, name: string, kind: string, min: number, max = Infinity): number[] {
  if (shapes.length < min || shapes.length > max) {
    const want = max === min ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new ShapeError(`${name}: ${kind} needs ${want} inputs, got ${shapes.length}`);
  }
  shapes.forEach((s, j) => {
    if (!s.every((d) => Number.isInteger(d) && d >= 1)) throw new ShapeError(`${name}: ${kind} input ${j} has an invalid shape [${s}]`);
  });
  let out: number[] = [...shapes[0]!];
  try {
    for (const s of shapes.slice(1)) out = broadcastShapes(out, s, kind);
  } catch (e) {
    if (e instanceof ShapeError) {
      throw new ShapeError(`${name}: ${kind} inputs ${shapes.map((s) => `[${s}]`).join(', ')} do not broadcast (${e.message})`);
    }
    throw e;
  }
  return out;
}

/**
 * The residual join of ResNets: y = x0 + x1 + ... with numpy broadcasting
 * of the per-image shapes. Backward (every mode: addition has no
 * rectification to choose): the signal goes unchanged to every input, summed
 * over the axes along which that input was broadcast.
 */
export class Add extends BaseLayer implements MergeLayer {
  readonly kind = 'Add';
  readonly merge = true;

  constructor(options: { name?: string } = {}) {
    super(options.name);
  }

  build(_rt: Runtime, inputShapes: ReadonlyArray<readonly number[]>): number[] {
    return broadcastImageShapes(inputShapes, this.name, 'Add', 1);
  }

  forward(rec: Recorder, xs: readonly Tensor[]) {
    const first = xs[0];
    if (first && xs.every((x) => sameShape(x.shape, first.shape))) return { output: sumN(rec, xs) };
    if (xs.length === 0) throw new ShapeError(`${this.name}: Add needs at least 1 input, got 0`);
    const rank = Math.max(...xs.map((x) => x.shape.length));
    const aligned = xs.map((x) => alignToRank(x, rank));
    let acc = add(rec, aligned[0]!, aligned[1]!);
    for (const x of aligned.slice(2)) {
      const next = add(rec, acc, x);
      rec.temp(acc);
      acc = next;
    }
    return { output: acc };
  }

  backward(rec: Recorder, g: Tensor, fwd: MergeForwardRecord): Tensor[] {
    return fwd.inputs.map((x) => {
      const aligned = alignToRank(x, g.shape.length);
      const r = reduceToShape(rec, g, aligned.shape);
      return sameShape(r.shape, x.shape) ? r : r.reshape(x.shape);
    });
  }
}

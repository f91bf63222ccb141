import { BaseLayer, type MergeForwardRecord, type MergeLayer } from './layer.js';
import { concat, concatShape, normalizeAxis, split } from '../ops/concat.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';

/**
 * Inception's join: the inputs side by side along one per-image axis (0 =
 * channels of [C, H, W]; negative counts from the end). Backward (every
 * mode): the signal is cut back into the inputs' parts.
 */
export class Concat extends BaseLayer implements MergeLayer {
  readonly kind = 'Concat';
  readonly merge = true;
  readonly axis: number;

  constructor(options: { name?: string; axis: number }) {
    super(options.name);
    if (!Number.isInteger(options.axis)) throw new OutOfRangeError(`${this.name}: Concat axis must be an integer, got ${options.axis}`);
    this.axis = options.axis;
  }

  build(_rt: Runtime, inputShapes: ReadonlyArray<readonly number[]>): number[] {
    if (inputShapes.length < 1) throw new ShapeError(`${this.name}: Concat needs at least 1 input, got 0`);
    const axis = normalizeAxis(this.axis, inputShapes[0]!.length, `${this.name}: Concat`);
    return concatShape(inputShapes, axis, `${this.name}: Concat`);
  }

  /** The axis of the full tensors: the per-image axis shifted past the batch axis. */
  #fullAxis(rank: number): number {
    return normalizeAxis(this.axis, rank - 1, `${this.name}: Concat`) + 1;
  }

  forward(rec: Recorder, xs: readonly Tensor[]) {
    if (xs.length === 0) throw new ShapeError(`${this.name}: Concat needs at least 1 input, got 0`);
    return { output: concat(rec, xs, this.#fullAxis(xs[0]!.shape.length)) };
  }

  backward(rec: Recorder, g: Tensor, fwd: MergeForwardRecord): Tensor[] {
    const axis = this.#fullAxis(g.shape.length);
    return split(rec, g, axis, fwd.inputs.map((x) => x.shape[axis]!));
  }
}

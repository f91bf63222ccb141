import { BaseLayer, type MergeForwardRecord, type MergeLayer } from './layer.js';
import { mul, mulBackward } from '../ops/elementwise.js';
import { alignToRank, broadcastImageShapes } from './add.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import { sameShape, type Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * y = a * b of two activations (gating, squeeze-and-excitation scales), numpy
 * broadcasting of the per-image shapes as in Add. Backward (every mode, the
 * exact gradient): g * b to a and g * a to b, each summed over the axes along
 * which its input was broadcast.
 */
export class Mul extends BaseLayer implements MergeLayer {
  readonly kind = 'Mul';
  readonly merge = true;

  constructor(options: { name?: string } = {}) {
    super(options.name);
  }

  build(_rt: Runtime, inputShapes: ReadonlyArray<readonly number[]>): number[] {
    return broadcastImageShapes(inputShapes, this.name, 'Mul', 2, 2);
  }

  #aligned(xs: readonly Tensor[]): [Tensor, Tensor] {
    if (xs.length !== 2) throw new ShapeError(`${this.name}: Mul needs 2 inputs, got ${xs.length}`);
    const rank = Math.max(xs[0]!.shape.length, xs[1]!.shape.length);
    return [alignToRank(xs[0]!, rank), alignToRank(xs[1]!, rank)];
  }

  forward(rec: Recorder, xs: readonly Tensor[]) {
    const [a, b] = this.#aligned(xs);
    return { output: mul(rec, a, b) };
  }

  backward(rec: Recorder, g: Tensor, fwd: MergeForwardRecord): Tensor[] {
    const [a, b] = this.#aligned(fwd.inputs);
    const [da, db] = mulBackward(rec, g, a, b);
    return [da, db].map((d, j) => {
      const shape = fwd.inputs[j]!.shape;
      return sameShape(d.shape, shape) ? d : d.reshape(shape);
    });
  }
}

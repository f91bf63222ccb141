import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import { shapeSize, type Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';

/**
 * A new per-image shape for the same row-major data (one -1 is inferred).
 * Like Flatten, forward and backward are views of the same buffer.
 */
export class Reshape extends BaseLayer implements Layer {
  readonly kind = 'Reshape';
  readonly shape: readonly number[];

  constructor(options: { name?: string; shape: number[] }) {
    super(options.name);
    const shape = options.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d >= 1 || d === -1)) || shape.filter((d) => d === -1).length > 1) {
      throw new OutOfRangeError(`${this.name}: Reshape shape must be positive integers with at most one -1, got ${JSON.stringify(shape)}`);
    }
    this.shape = [...shape];
  }

  /** The target shape for a per-image input shape, -1 resolved. */
  resolve(inputShape: readonly number[]): number[] {
    const size = shapeSize(inputShape);
    const known = shapeSize(this.shape.filter((d) => d !== -1));
    const out = this.shape.map((d) => (d === -1 ? size / known : d));
    if (!out.every(Number.isInteger) || shapeSize(out) !== size) {
      throw new ShapeError(`${this.name}: Reshape cannot make [${this.shape}] from input [${inputShape}] (${size} elements)`);
    }
    return out;
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    return this.resolve(inputShape);
  }

  forward(_rec: Recorder, x: Tensor) {
    return { output: x.reshape([x.shape[0]!, ...this.resolve(x.shape.slice(1))]) };
  }

  backward(_rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return g.reshape(fwd.input.shape);
  }
}

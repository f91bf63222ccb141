import { BaseLayer, type ForwardRecord, type Layer, type ProjectionMode } from './layer.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * A second (third, ...) application of a layer that another node owns, as
 * Keras shared layers are: it runs the owner's forward op and backward rule
 * on its own input, with the owner's weight tensors (nothing is uploaded
 * twice). It takes inputs of the shape the owner was built for; the owner
 * node must come first in the model and frees the weights.
 */
export class SharedLayer extends BaseLayer implements Layer {
  readonly kind: string;
  readonly layer: Layer;
  readonly #inputShape: readonly number[];
  readonly #outputShape: readonly number[];

  constructor(options: { name?: string; layer: Layer; inputShape: readonly number[]; outputShape: readonly number[] }) {
    super(options.name);
    this.layer = options.layer;
    this.kind = options.layer.kind;
    this.#inputShape = [...options.inputShape];
    this.#outputShape = [...options.outputShape];
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length !== this.#inputShape.length || inputShape.some((d, i) => d !== this.#inputShape[i])) {
      throw new ShapeError(`${this.name}: shares layer "${this.layer.name}", built for [${this.#inputShape}], but its input is [${inputShape}]`);
    }
    return [...this.#outputShape];
  }

  forward(rec: Recorder, x: Tensor) {
    return this.layer.forward(rec, x);
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord, mode: ProjectionMode): Tensor {
    return this.layer.backward(rec, g, fwd, mode);
  }

  /** The weights are the owner's, freed with it. */
  override destroy(): void {}
}

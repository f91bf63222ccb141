import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { resize2d, resize2dBackward, resizeTable, type ResizeAttrs } from '../ops/resize.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * Forward: nearest or bilinear resize of [C, H, W] maps (ONNX Resize /
 * Upsample, Keras UpSampling2D), by scales or to a size, with ONNX's
 * coordinate transformations. Backward (every mode): the exact gradient, the
 * transpose of the interpolation.
 */
export class Resize2D extends BaseLayer implements Layer {
  readonly kind = 'Resize2D';
  #table: Tensor | null = null;
  #out: [number, number] = [0, 0];

  constructor(readonly attrs: ResizeAttrs & { name?: string }) {
    super(attrs.name);
  }

  build(rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.name}: Resize2D needs a [C, H, W] input, got [${inputShape}]`);
    const table = resizeTable(inputShape[1]!, inputShape[2]!, this.attrs, `${this.name}: Resize2D`);
    this.#out = [table.outH, table.outW];
    this.#table = this.upload(rt, [table.data.length], table.data, 'taps');
    return [inputShape[0]!, table.outH, table.outW];
  }

  /** The table is geometry, not weights. */
  override get parameterCount(): number {
    return 0;
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: resize2d(rec, x, this.#table!, this.#out[0], this.#out[1]) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return resize2dBackward(rec, g, this.#table!, fwd.input.shape);
  }
}

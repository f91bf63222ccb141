import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { slice, sliceBackward, sliceGeometry, type SliceGeometry, type SliceSpec } from '../ops/slice.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';

/**
 * Forward: a strided slice of the per-image axes (ONNX Slice, one part of a
 * Split): `axes` count over the per-image shape (0 = channels of [C, H, W]).
 * Backward (every mode): the signal put back in its places, zeros elsewhere.
 */
export class Slice extends BaseLayer implements Layer {
  readonly kind = 'Slice';
  #geometry: SliceGeometry | null = null;

  constructor(readonly spec: SliceSpec & { name?: string }) {
    super(spec.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    const g = sliceGeometry(inputShape, this.spec, `${this.name}: Slice`);
    // The batch axis is taken whole.
    this.#geometry = { start: [0, ...g.start], step: [1, ...g.step], outShape: [0, ...g.outShape] };
    return g.outShape;
  }

  #full(batch: number): SliceGeometry {
    const g = this.#geometry!;
    return { ...g, outShape: [batch, ...g.outShape.slice(1)] };
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: slice(rec, x, this.#full(x.shape[0]!)) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return sliceBackward(rec, g, this.#full(fwd.input.shape[0]!), fwd.input.shape);
  }
}

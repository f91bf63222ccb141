import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { transpose, transposeBackward, checkPerm } from '../ops/transpose.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';

/**
 * Permutes the per-image axes (`perm` over [C, H, W] etc.; the batch axis
 * stays first). Backward (every mode): the inverse permutation.
 */
export class Transpose extends BaseLayer implements Layer {
  readonly kind = 'Transpose';
  readonly perm: readonly number[];

  constructor(options: { name?: string; perm: number[] }) {
    super(options.name);
    this.perm = [...options.perm];
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    checkPerm(this.perm, inputShape.length, `${this.name}: Transpose of [${inputShape}]`);
    return this.perm.map((a) => inputShape[a]!);
  }

  #full(): number[] {
    return [0, ...this.perm.map((a) => a + 1)];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: transpose(rec, x, this.#full()) };
  }

  backward(rec: Recorder, g: Tensor, _fwd: ForwardRecord): Tensor {
    return transposeBackward(rec, g, this.#full());
  }
}

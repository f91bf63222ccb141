import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { lrn, lrnBackward, type LrnAttrs } from '../ops/lrn.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * Forward: local response normalisation across channels (AlexNet / ZFNet).
 * Backward: its exact Jacobian-transpose in every mode. The DeconvNet paper
 * defines no inverse for it; the gradient keeps projections comparable
 * between modes and is what guided backprop uses.
 */
export class LRN extends BaseLayer implements Layer {
  readonly kind = 'LRN';

  constructor(readonly attrs: LrnAttrs & { name?: string }) {
    super(attrs.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length < 1) throw new ShapeError(`${this.name}: LRN needs a channel axis`);
    return [...inputShape];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: lrn(rec, x, this.attrs) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return lrnBackward(rec, g, fwd.input, this.attrs);
  }
}

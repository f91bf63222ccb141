import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { softmax, softmaxBackward } from '../ops/softmax.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/** Forward: softmax (or log-softmax) over the features. Backward: its exact gradient in every mode. */
export class Softmax extends BaseLayer implements Layer {
  readonly kind = 'Softmax';

  /** `axis`: over the full tensor [N, ...] (default -1, the last); never 0, the batch. */
  constructor(readonly options: { name?: string; log?: boolean; axis?: number } = {}) {
    super(options.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    const axis = this.options.axis ?? -1;
    const rank = inputShape.length + 1;
    if (!Number.isInteger(axis) || axis === 0 || axis <= -rank || axis >= rank) {
      throw new ShapeError(`${this.name}: Softmax axis ${axis} is not a feature axis of [N, ${inputShape}]`);
    }
    return [...inputShape];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: softmax(rec, x, { axis: this.options.axis ?? -1, log: this.options.log }) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return softmaxBackward(rec, g, fwd.output, { axis: this.options.axis ?? -1, log: this.options.log });
  }
}

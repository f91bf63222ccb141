import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { softmax, softmaxBackward } from '../ops/softmax.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/** Forward: softmax (or log-softmax) over the features. Backward: its exact gradient in every mode. */
export class Softmax extends BaseLayer implements Layer {
  readonly kind = 'Softmax';

  constructor(readonly options: { name?: string; log?: boolean } = {}) {
    super(options.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length !== 1) throw new ShapeError(`${this.name}: Softmax needs a flat [classes] input, got [${inputShape}]`);
    return [...inputShape];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: softmax(rec, x, { axis: -1, log: this.options.log }) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return softmaxBackward(rec, g, fwd.output, { axis: -1, log: this.options.log });
  }
}

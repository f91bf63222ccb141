import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';

/** Dropout at inference, ONNX Identity: views of the same buffer both ways, no kernel. */
export class Identity extends BaseLayer implements Layer {
  readonly kind = 'Identity';

  constructor(options: { name?: string } = {}) {
    super(options.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  forward(_rec: Recorder, x: Tensor) {
    return { output: x.reshape(x.shape) };
  }

  backward(_rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return g.reshape(fwd.input.shape);
  }
}

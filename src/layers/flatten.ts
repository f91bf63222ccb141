import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';

/** Forward and backward are reshapes of the same buffer: no kernel, no copy. */
export class Flatten extends BaseLayer implements Layer {
  readonly kind = 'Flatten';

  constructor(options: { name?: string } = {}) {
    super(options.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    return [inputShape.reduce((a, b) => a * b, 1)];
  }

  forward(_rec: Recorder, x: Tensor) {
    return { output: x.reshape([x.shape[0]!, x.size / x.shape[0]!]) };
  }

  backward(_rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return g.reshape(fwd.input.shape);
  }
}

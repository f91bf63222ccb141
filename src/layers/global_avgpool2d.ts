import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { globalAvgPool2d, avgPool2dBackward } from '../ops/avgpool2d.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/** [C, H, W] -> [C, 1, 1], the mean of each map. Backward (every mode, the exact gradient): g / (H W) over the whole map. */
export class GlobalAvgPool2D extends BaseLayer implements Layer {
  readonly kind = 'GlobalAvgPool2D';

  constructor(options: { name?: string } = {}) {
    super(options.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ShapeError(`${this.name}: GlobalAvgPool2D needs a [C, H, W] input, got [${inputShape}]`);
    }
    return [inputShape[0]!, 1, 1];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: globalAvgPool2d(rec, x) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    const [, , H, W] = fwd.input.shape;
    return avgPool2dBackward(rec, g, fwd.input.shape, { kernel: [H!, W!] });
  }
}

import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { maxPool2d } from '../ops/maxpool2d.js';
import { unpool2d } from '../ops/unpool2d.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * [C, H, W] -> [C, 1, 1], the maximum of each map: max pooling with one
 * window covering the map, so it records switches. Backward (every mode, as
 * MaxPool2D): the signal goes back to where the maximum was, zeros elsewhere.
 */
export class GlobalMaxPool2D extends BaseLayer implements Layer {
  readonly kind = 'GlobalMaxPool2D';

  constructor(options: { name?: string } = {}) {
    super(options.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ShapeError(`${this.name}: GlobalMaxPool2D needs a [C, H, W] input, got [${inputShape}]`);
    }
    return [inputShape[0]!, 1, 1];
  }

  forward(rec: Recorder, x: Tensor) {
    const [, , H, W] = x.shape;
    return maxPool2d(rec, x, { kernel: [H!, W!] });
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    if (!fwd.switches) throw new ShapeError(`${this.name}: GlobalMaxPool2D backward needs the switches of its forward pass`);
    const [, , H, W] = fwd.input.shape;
    return unpool2d(rec, g, fwd.switches, fwd.input.shape, { kernel: [H!, W!] });
  }
}

import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { avgPool2d, avgPool2dBackward, type AvgPool2dAttrs } from '../ops/avgpool2d.js';
import { poolGeometry } from '../ops/pool_geometry.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/** Forward: average pooling. Backward: spread each value evenly over its window (the exact gradient). */
export class AvgPool2D extends BaseLayer implements Layer {
  readonly kind = 'AvgPool2D';

  constructor(readonly attrs: AvgPool2dAttrs & { name?: string }) {
    super(attrs.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.name}: AvgPool2D needs a [C, H, W] input, got [${inputShape}]`);
    const geo = poolGeometry([1, ...inputShape], this.attrs, this.name);
    return [inputShape[0]!, geo.outH, geo.outW];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: avgPool2d(rec, x, this.attrs) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return avgPool2dBackward(rec, g, fwd.input.shape, this.attrs);
  }
}

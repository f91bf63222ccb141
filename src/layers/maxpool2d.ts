import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { maxPool2d } from '../ops/maxpool2d.js';
import { unpool2d } from '../ops/unpool2d.js';
import { poolGeometry, type Pool2dAttrs } from '../ops/pool_geometry.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * Forward: max pooling that records its switches (the argmax of every
 * window). Backward: unpooling through those switches (values go back where
 * the max came from, zeros elsewhere; sums where overlapping windows share a
 * max), which is also the exact gradient, so it is the same in every mode.
 */
export class MaxPool2D extends BaseLayer implements Layer {
  readonly kind = 'MaxPool2D';

  constructor(readonly attrs: Pool2dAttrs & { name?: string }) {
    super(attrs.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.name}: MaxPool2D needs a [C, H, W] input, got [${inputShape}]`);
    const geo = poolGeometry([1, ...inputShape], this.attrs, this.name);
    return [inputShape[0]!, geo.outH, geo.outW];
  }

  forward(rec: Recorder, x: Tensor) {
    return maxPool2d(rec, x, this.attrs);
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return unpool2d(rec, g, fwd.switches!, fwd.input.shape, this.attrs);
  }
}

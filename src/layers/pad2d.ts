import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { pad2d, pad2dBackward, type Pad2dAttrs } from '../ops/pad2d.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/** Forward: pad H and W (constant / reflect / edge). Backward: the exact gradient (a crop for constant padding). */
export class Pad2D extends BaseLayer implements Layer {
  readonly kind = 'Pad2D';

  constructor(readonly attrs: Pad2dAttrs & { name?: string }) {
    super(attrs.name);
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.name}: Pad2D needs a [C, H, W] input, got [${inputShape}]`);
    const [t, l, b, r] = this.attrs.pads;
    const out = [inputShape[0]!, inputShape[1]! + t + b, inputShape[2]! + l + r];
    if (out[1]! < 1 || out[2]! < 1) throw new ShapeError(`${this.name}: pads [${this.attrs.pads}] leave an empty [${out}] output`);
    return out;
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: pad2d(rec, x, this.attrs) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    return pad2dBackward(rec, g, fwd.input.shape, this.attrs);
  }
}

import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { channelAffine, channelAffineBackward, foldBatchNorm, type BatchNormWeights } from '../ops/batchnorm.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * Batch normalisation for inference, folded once at build time into a
 * per-channel multiplier and offset. Backward: scale by the multiplier.
 */
export class BatchNorm extends BaseLayer implements Layer {
  readonly kind = 'BatchNorm';
  #multiplier!: Tensor;
  #offset!: Tensor;

  constructor(readonly options: BatchNormWeights & { name?: string }) {
    super(options.name);
  }

  build(rt: Runtime, inputShape: readonly number[]): number[] {
    const channels = inputShape[0]!;
    const o = this.options;
    for (const [what, arr] of [['scale', o.scale], ['bias', o.bias], ['mean', o.mean], ['variance', o.variance]] as const) {
      if (arr.length !== channels) throw new ShapeError(`${this.name}: ${what} has ${arr.length} values, input has ${channels} channels`);
    }
    const { multiplier, offset } = foldBatchNorm(o);
    this.#multiplier = this.upload(rt, [channels], multiplier, 'multiplier');
    this.#offset = this.upload(rt, [channels], offset, 'offset');
    return [...inputShape];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: channelAffine(rec, x, this.#multiplier, this.#offset) };
  }

  backward(rec: Recorder, g: Tensor, _fwd: ForwardRecord): Tensor {
    return channelAffineBackward(rec, g, this.#multiplier);
  }
}

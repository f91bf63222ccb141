import { BaseLayer, type ForwardRecord, type Layer, type ProjectionMode } from './layer.js';
import { activation, activationBackward, type ActivationAttrs, type ActivationKind } from '../ops/activation.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';

export interface ActivationOptions { name?: string; kind: Exclude<ActivationKind, 'prelu'>; alpha?: number; min?: number; max?: number }

/**
 * Forward: an element-wise activation. Backward: for ReLU, the rule that
 * names the projection mode (deconvnet / guided / gradient); for the others,
 * their gradient.
 */
export class Activation extends BaseLayer implements Layer {
  readonly kind: string;
  readonly attrs: ActivationAttrs;

  constructor(options: ActivationOptions) {
    super(options.name);
    this.kind = options.kind === 'relu' ? 'ReLU' : options.kind;
    this.attrs = { kind: options.kind, alpha: options.alpha, min: options.min, max: options.max };
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: activation(rec, x, this.attrs) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord, mode: ProjectionMode): Tensor {
    return activationBackward(rec, g, fwd.output, this.attrs, mode);
  }
}

export class ReLU extends Activation {
  constructor(options: { name?: string } = {}) {
    super({ ...options, kind: 'relu' });
  }
}

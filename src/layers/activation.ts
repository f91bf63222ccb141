import { BaseLayer, type ForwardRecord, type Layer, type ProjectionMode } from './layer.js';
import { activation, activationBackward, type ActivationAttrs, type ActivationKind } from '../ops/activation.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

export interface ActivationOptions {
  name?: string;
  kind: Exclude<ActivationKind, 'prelu'>;
  /** See ActivationAttrs: leaky/elu/selu alpha, swish scale, hard sigmoid/swish slope. */
  alpha?: number;
  /** hard_sigmoid / hard_swish offset. */
  beta?: number;
  /** selu scale. */
  gamma?: number;
  min?: number;
  max?: number;
}

/**
 * Forward: an element-wise activation. Backward: for ReLU, the rule that
 * names the projection mode (deconvnet / guided / gradient); for the others
 * (leaky ReLU, ELU, SELU, sigmoid, hard sigmoid, tanh, clip, GELU and its
 * tanh form, swish, hard swish, softplus, softsign, mish), their exact
 * gradient in every mode.
 */
export class Activation extends BaseLayer implements Layer {
  readonly kind: string;
  readonly attrs: ActivationAttrs;

  constructor(options: ActivationOptions) {
    super(options.name);
    this.kind = options.kind === 'relu' ? 'ReLU' : options.kind;
    const { kind, alpha, beta, gamma, min, max } = options;
    this.attrs = { kind, alpha, beta, gamma, min, max };
  }

  build(_rt: Runtime, inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: activation(rec, x, this.attrs) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord, mode: ProjectionMode): Tensor {
    return activationBackward(rec, g, fwd.output, this.attrs, mode, fwd.input);
  }
}

export class ReLU extends Activation {
  constructor(options: { name?: string } = {}) {
    super({ ...options, kind: 'relu' });
  }
}

/**
 * PReLU: a leaky ReLU whose slope is learnt, one per channel (axis 1) or one
 * for all. Its backward rule is its gradient in every mode (like leaky ReLU,
 * it has no deconvnet/guided variants).
 */
export class PReLU extends BaseLayer implements Layer {
  readonly kind = 'PReLU';
  #slope: Tensor | null = null;

  constructor(readonly options: { name?: string; slope: Float32Array }) {
    super(options.name);
  }

  build(rt: Runtime, inputShape: readonly number[]): number[] {
    const channels = inputShape[0] ?? 1;
    const n = this.options.slope.length;
    if (n !== 1 && n !== channels) {
      throw new ShapeError(`${this.name}: PReLU has ${n} slopes, input [${inputShape}] has ${channels} channels (give 1 or ${channels})`);
    }
    this.#slope = this.upload(rt, [n], this.options.slope, 'slope');
    return [...inputShape];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: activation(rec, x, { kind: 'prelu', slope: this.#slope! }) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    // Reads the input: with a negative slope the output is >= 0 on both sides of 0.
    return activationBackward(rec, g, fwd.output, { kind: 'prelu', slope: this.#slope! }, 'gradient', fwd.input);
  }
}

import {
  activationParams, activationProgram, activationBackwardProgram, backwardReadsInput,
  type ActivationKind, type BackwardRule,
} from '../../shaders/activation.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { sameShape } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';

export type { ActivationKind, BackwardRule };
export { backwardReadsInput };

export interface ActivationAttrs {
  kind: ActivationKind;
  /**
   * leaky_relu slope (default 0.01), elu alpha (1), selu alpha (1.67326...),
   * swish: y = x sigmoid(alpha x) (1), hard_sigmoid / hard_swish slope
   * (0.2, the TF.js and ONNX HardSigmoid default / 1/6, ONNX HardSwish).
   */
  alpha?: number;
  /** hard_sigmoid / hard_swish offset (0.5). */
  beta?: number;
  /** selu scale (ONNX `gamma`, 1.05070...). */
  gamma?: number;
  /** clip bounds (default -inf, +inf). */
  min?: number;
  max?: number;
  /** prelu: one slope per channel (axis 1), or a single slope. */
  slope?: Tensor;
}

/** SELU's constants (Klambauer et al. 2017), as ONNX, TF.js and PyTorch define them. */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_GAMMA = 1.0507009873554805;

const DEFAULT_ALPHA: Partial<Record<ActivationKind, number>> = {
  elu: 1, selu: SELU_ALPHA, swish: 1, hard_sigmoid: 0.2, hard_swish: 1 / 6,
};

function parse(x: Tensor, a: ActivationAttrs) {
  const channels = x.shape.length > 1 ? x.shape[1]! : 1;
  const plane = x.shape.slice(2).reduce((s, d) => s * d, 1);
  if (a.kind === 'prelu') {
    if (!a.slope) throw new ShapeError('prelu: a slope tensor is required');
    if (a.slope.size !== 1 && a.slope.size !== channels) {
      throw new ShapeError(`prelu: slope has ${a.slope.size} values, input [${x.shape}] has ${channels} channels`);
    }
  }
  const alpha = a.alpha ?? DEFAULT_ALPHA[a.kind] ?? 0.01;
  const beta = a.kind === 'selu' ? a.gamma ?? SELU_GAMMA : a.beta ?? 0.5;
  const lo = a.min ?? -3.4e38;
  const hi = a.max ?? 3.4e38;
  if (lo > hi) throw new OutOfRangeError(`clip: min ${lo} > max ${hi}`);
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw new OutOfRangeError(`${a.kind}: alpha ${alpha} and beta/gamma ${beta} must be finite`);
  // A single prelu slope is broadcast by treating the tensor as one channel.
  const slopeChannels = a.kind === 'prelu' && a.slope!.size === 1 ? 1 : channels;
  return activationParams.pack({ size: x.size, alpha, beta, lo, hi, channels: slopeChannels, plane: slopeChannels === 1 ? x.size : plane });
}

/** y = f(x), element-wise. */
export function activation(rec: Recorder, x: Tensor, attrs: ActivationAttrs): Tensor {
  const params = parse(x, attrs);
  const y = rec.tensor(x.shape, attrs.kind);
  rec.dispatch({ ...activationProgram(attrs.kind, params, x.size), buffers: attrs.kind === 'prelu' ? [x, y, attrs.slope!] : [x, y] });
  return y;
}

export function relu(rec: Recorder, x: Tensor): Tensor {
  return activation(rec, x, { kind: 'relu' });
}

/**
 * The backward rule of an activation: maps the reconstruction/gradient `g`
 * at the output to the input, given the forward output `y` (and the forward
 * input `x`, which the kinds of `backwardReadsInput` need).
 */
export function activationBackward(rec: Recorder, g: Tensor, y: Tensor, attrs: ActivationAttrs, rule: BackwardRule, x?: Tensor): Tensor {
  const readsInput = backwardReadsInput(attrs.kind);
  if (readsInput && !x) throw new ShapeError(`${attrs.kind} backward: needs the forward input, none was given`);
  const saved = readsInput ? x! : y;
  if (!sameShape(g.shape, saved.shape)) {
    throw new ShapeError(`${attrs.kind} backward: signal [${g.shape}] and forward ${readsInput ? 'input' : 'output'} [${saved.shape}] differ`);
  }
  const params = parse(saved, attrs);
  const dx = rec.tensor(g.shape, `${attrs.kind} backward`);
  const effectiveRule = attrs.kind === 'relu' ? rule : 'gradient';
  rec.dispatch({
    ...activationBackwardProgram(attrs.kind, effectiveRule, params, g.size),
    buffers: attrs.kind === 'prelu' ? [g, saved, dx, attrs.slope!] : [g, saved, dx],
  });
  return dx;
}

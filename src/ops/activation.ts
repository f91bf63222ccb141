import {
  WORKGROUP, activationParams, activationForwardShader, activationBackwardShader,
  type ActivationKind, type BackwardRule,
} from '../../shaders/activation.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { sameShape } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';

export type { ActivationKind, BackwardRule };

export interface ActivationAttrs {
  kind: ActivationKind;
  /** leaky_relu slope (default 0.01), elu alpha (default 1). */
  alpha?: number;
  /** clip bounds (default -inf, +inf). */
  min?: number;
  max?: number;
  /** prelu: one slope per channel (axis 1), or a single slope. */
  slope?: Tensor;
}

function parse(x: Tensor, a: ActivationAttrs) {
  const channels = x.shape.length > 1 ? x.shape[1]! : 1;
  const plane = x.shape.slice(2).reduce((s, d) => s * d, 1);
  if (a.kind === 'prelu') {
    if (!a.slope) throw new ShapeError('prelu: a slope tensor is required');
    if (a.slope.size !== 1 && a.slope.size !== channels) {
      throw new ShapeError(`prelu: slope has ${a.slope.size} values, input [${x.shape}] has ${channels} channels`);
    }
  }
  const alpha = a.alpha ?? (a.kind === 'elu' ? 1 : 0.01);
  const lo = a.min ?? -3.4e38;
  const hi = a.max ?? 3.4e38;
  if (lo > hi) throw new OutOfRangeError(`clip: min ${lo} > max ${hi}`);
  // A single prelu slope is broadcast by treating the tensor as one channel.
  const slopeChannels = a.kind === 'prelu' && a.slope!.size === 1 ? 1 : channels;
  return activationParams.pack({ size: x.size, alpha, lo, hi, channels: slopeChannels, plane: slopeChannels === 1 ? x.size : plane });
}

/** y = f(x), element-wise. */
export function activation(rec: Recorder, x: Tensor, attrs: ActivationAttrs): Tensor {
  const params = parse(x, attrs);
  const y = rec.tensor(x.shape, attrs.kind);
  rec.dispatch({
    name: attrs.kind,
    key: `activation:${attrs.kind}`,
    shader: () => activationForwardShader(attrs.kind),
    params,
    buffers: attrs.kind === 'prelu' ? [x, y, attrs.slope!] : [x, y],
    dispatch: dispatch1d(x.size, WORKGROUP),
  });
  return y;
}

export function relu(rec: Recorder, x: Tensor): Tensor {
  return activation(rec, x, { kind: 'relu' });
}

/**
 * The backward rule of an activation: maps the reconstruction/gradient `g`
 * at the output to the input, given the forward output `y`.
 */
export function activationBackward(rec: Recorder, g: Tensor, y: Tensor, attrs: ActivationAttrs, rule: BackwardRule): Tensor {
  if (!sameShape(g.shape, y.shape)) {
    throw new ShapeError(`${attrs.kind} backward: signal [${g.shape}] and forward output [${y.shape}] differ`);
  }
  const params = parse(y, attrs);
  const dx = rec.tensor(g.shape, `${attrs.kind} backward`);
  const effectiveRule = attrs.kind === 'relu' ? rule : 'gradient';
  rec.dispatch({
    name: `${attrs.kind} backward (${effectiveRule})`,
    key: `activation-backward:${attrs.kind}:${effectiveRule}`,
    shader: () => activationBackwardShader(attrs.kind, effectiveRule),
    params,
    buffers: attrs.kind === 'prelu' ? [g, y, dx, attrs.slope!] : [g, y, dx],
    dispatch: dispatch1d(g.size, WORKGROUP),
  });
  return dx;
}

import { channelAffineProgram } from '../../shaders/channel_affine.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';

// Inference batch normalisation, y = scale * (x - mean) / sqrt(var + eps) + bias
// per channel, is affine in x. It is folded once, at load time, into
// y = x * multiplier + offset so the GPU runs one multiply-add per element.

export interface BatchNormWeights {
  scale: Float32Array;
  bias: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  /** default 1e-5 */
  epsilon?: number;
}

/** Folded in float64, rounded to f32 once at the end. */
export function foldBatchNorm(w: BatchNormWeights): { multiplier: Float32Array; offset: Float32Array } {
  const channels = w.scale.length;
  for (const name of ['bias', 'mean', 'variance'] as const) {
    if (w[name].length !== channels) {
      throw new ShapeError(`batchnorm: ${name} has ${w[name].length} values, scale has ${channels}`);
    }
  }
  const epsilon = w.epsilon ?? 1e-5;
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) throw new OutOfRangeError(`batchnorm: epsilon must be finite and >= 0, got ${epsilon}`);
  const multiplier = new Float32Array(channels);
  const offset = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const denominator = w.variance[c]! + epsilon;
    if (!(denominator > 0)) {
      throw new OutOfRangeError(`batchnorm: channel ${c} has variance ${w.variance[c]} + epsilon ${epsilon} <= 0`);
    }
    const m = w.scale[c]! / Math.sqrt(denominator);
    multiplier[c] = m;
    offset[c] = w.bias[c]! - w.mean[c]! * m;
  }
  return { multiplier, offset };
}

/** The Params values of `x`, once each per-channel tensor is checked to have C values. */
function layout(op: string, x: Tensor, perChannel: Array<[string, Tensor]>) {
  if (x.shape.length < 2) throw new ShapeError(`${op}: input must be [N, C, ...], got [${x.shape}]`);
  const channels = x.shape[1]!;
  for (const [name, t] of perChannel) {
    if (t.size !== channels) {
      throw new ShapeError(`${op}: ${name} has ${t.size} values, input [${x.shape}] has ${channels} channels`);
    }
  }
  return { size: x.size, channels, plane: x.size / (x.shape[0]! * channels) };
}

/** y = x * multiplier[c] + offset[c]; multiplier/offset tensors [C]. */
export function channelAffine(rec: Recorder, x: Tensor, multiplier: Tensor, offset: Tensor): Tensor {
  const values = layout('channelAffine', x, [['multiplier', multiplier], ['offset', offset]]);
  const y = rec.tensor(x.shape, 'channelAffine');
  rec.dispatch({ ...channelAffineProgram(false, values), buffers: [x, y, multiplier, offset] });
  return y;
}

/** Exact gradient: g * multiplier[c]. */
export function channelAffineBackward(rec: Recorder, g: Tensor, multiplier: Tensor): Tensor {
  const values = layout('channelAffine backward', g, [['multiplier', multiplier]]);
  const dx = rec.tensor(g.shape, 'channelAffine backward');
  rec.dispatch({ ...channelAffineProgram(true, values), buffers: [g, dx, multiplier] });
  return dx;
}

import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';
import { matmul } from './matmul.js';

// A fully connected layer is a Gemm with the weight in PyTorch / ONNX
// (transB = 1) layout, so both directions reuse the tiled matmul on the very
// same weight buffer: forward reads W transposed, backward reads it as is.

function weightDims(op: string, weight: Tensor): [number, number] {
  if (weight.shape.length !== 2) throw new ShapeError(`${op}: weight must be 2-D [OUT, IN], got [${weight.shape}]`);
  return weight.shape as [number, number];
}

/**
 * x [N, IN] (any shape [N, ...] is flattened), weight [OUT, IN], bias [OUT]
 * or null -> [N, OUT]; fused relu optional.
 */
export function dense(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, attrs: { activation?: 'none' | 'relu' } = {}): Tensor {
  const [out, inFeatures] = weightDims('dense', weight);
  if (x.shape.length < 2) throw new ShapeError(`dense: input must be [N, ...] with a batch axis, got [${x.shape}]`);
  const batch = x.shape[0]!;
  const features = x.size / batch;
  if (features !== inFeatures) {
    throw new ShapeError(`dense: input [${x.shape}] has ${features} features per sample, weight [${weight.shape}] expects ${inFeatures}`);
  }
  if (bias && (bias.size !== out || bias.shape.length !== 1)) {
    throw new ShapeError(`dense: bias must be [${out}] for weight [${weight.shape}], got [${bias.shape}]`);
  }
  const flat = x.shape.length === 2 ? x : x.reshape([batch, features]);
  return matmul(rec, flat, weight, bias, { transposeB: true, activation: attrs.activation ?? 'none' });
}

/** Input gradient / DeconvNet step: g [N, OUT] -> [N, IN] = g · W (same weight buffer, no copy). */
export function denseBackwardInput(rec: Recorder, g: Tensor, weight: Tensor): Tensor {
  const [out] = weightDims('dense backward', weight);
  if (g.shape.length !== 2 || g.shape[1] !== out) {
    throw new ShapeError(`dense backward: signal must be [N, ${out}] for weight [${weight.shape}], got [${g.shape}]`);
  }
  return matmul(rec, g, weight, null);
}

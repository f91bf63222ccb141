import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { DeviceLimitError, ShapeError } from '../gpu/errors.js';
import { matmul, matmulInto } from './matmul.js';

// A fully connected layer is a Gemm with the weight in PyTorch / ONNX
// (transB = 1) layout, so both directions reuse the tiled matmul on the very
// same weight buffer: forward reads W transposed, backward reads it as is.
//
// Large weights (VGG16 fc6: 411 MB, over WebGPU's 128 MiB default binding)
// are stored as row chunks W_i [rows_i, IN], each within one binding
// (splitDenseKernel). Forward writes each chunk's x W_i^T straight into its
// columns of Y; the input gradient sums g_i W_i over the chunks
// (accumulating GEMMs, no copies); each chunk gets its own weight gradient.

/** A Dense weight [OUT, IN]: one tensor, or row chunks [rows_i, IN] in order. */
export type DenseWeight = Tensor | readonly Tensor[];

function chunksOf(op: string, weight: DenseWeight): { chunks: readonly Tensor[]; out: number; inFeatures: number; offsets: number[] } {
  const chunks = Array.isArray(weight) ? weight as readonly Tensor[] : [weight as Tensor];
  if (chunks.length === 0) throw new ShapeError(`${op}: no weight chunks`);
  const inFeatures = chunks[0]!.shape[1]!;
  const offsets: number[] = [];
  let out = 0;
  for (const w of chunks) {
    if (w.shape.length !== 2) throw new ShapeError(`${op}: weight must be 2-D [OUT, IN], got [${w.shape}]`);
    if (w.shape[1] !== inFeatures) throw new ShapeError(`${op}: weight chunks disagree on IN: [${w.shape}] after [${chunks[0]!.shape}]`);
    offsets.push(out);
    out += w.shape[0]!;
  }
  return { chunks, out, inFeatures, offsets };
}

const shapeText = (c: { chunks: readonly Tensor[]; out: number; inFeatures: number }) =>
  c.chunks.length === 1 ? `[${c.chunks[0]!.shape}]` : `[${c.out},${c.inFeatures}] (${c.chunks.length} chunks)`;

/**
 * Rows of a [units, inFeatures] kernel per chunk so that each chunk fits one
 * storage binding of `rt`; throws DeviceLimitError when not even one row fits.
 */
export function denseChunkRows(rt: Runtime, units: number, inFeatures: number, label = 'dense'): number {
  const rowBytes = inFeatures * 4;
  const rows = Math.floor(rt.maxBindingSize / rowBytes);
  if (rows < 1) {
    throw new DeviceLimitError(
      `${label}: one kernel row of ${inFeatures} inputs needs ${rowBytes} bytes, over the device's storage binding limit of ${rt.maxBindingSize} bytes; the weight cannot be split finer than a row`);
  }
  return Math.min(rows, units);
}

/** Uploads a [units, inFeatures] kernel as row chunks that each fit one binding (one chunk when it fits). */
export function splitDenseKernel(rt: Runtime, data: Float32Array, units: number, inFeatures: number, label = 'dense.kernel'): Tensor[] {
  if (data.length !== units * inFeatures) throw new ShapeError(`${label}: ${data.length} values, [${units},${inFeatures}] needs ${units * inFeatures}`);
  const rows = denseChunkRows(rt, units, inFeatures, label);
  const chunks: Tensor[] = [];
  for (let r0 = 0; r0 < units; r0 += rows) {
    const r1 = Math.min(units, r0 + rows);
    chunks.push(rt.createTensor([r1 - r0, inFeatures], data.subarray(r0 * inFeatures, r1 * inFeatures), 'f32', rows < units ? `${label}[${r0}:${r1}]` : label));
  }
  return chunks;
}

/**
 * x [N, IN] (any shape [N, ...] is flattened), weight [OUT, IN] (or its row
 * chunks), bias [OUT] or null -> [N, OUT]; fused relu optional.
 */
export function dense(rec: Recorder, x: Tensor, weight: DenseWeight, bias: Tensor | null, attrs: { activation?: 'none' | 'relu' } = {}): Tensor {
  const w = chunksOf('dense', weight);
  if (x.shape.length < 2) throw new ShapeError(`dense: input must be [N, ...] with a batch axis, got [${x.shape}]`);
  const batch = x.shape[0]!;
  const features = x.size / batch;
  if (features !== w.inFeatures) {
    throw new ShapeError(`dense: input [${x.shape}] has ${features} features per sample, weight ${shapeText(w)} expects ${w.inFeatures}`);
  }
  if (bias && (bias.size !== w.out || bias.shape.length !== 1)) {
    throw new ShapeError(`dense: bias must be [${w.out}] for weight ${shapeText(w)}, got [${bias.shape}]`);
  }
  const flat = x.shape.length === 2 ? x : x.reshape([batch, features]);
  const activation = attrs.activation ?? 'none';
  // The weight is B transposed (rows along K): under an f16 precision the GEMM core reads its f16 copy.
  const gemmAttrs = { transposeB: true, activation, weightOperand: 'b' } as const;
  if (w.chunks.length === 1) return matmul(rec, flat, w.chunks[0]!, bias, gemmAttrs);
  const y = rec.tensor([batch, w.out], 'dense');
  w.chunks.forEach((chunk, i) => {
    const r0 = w.offsets[i]!;
    matmulInto(rec, flat, chunk, bias, y, { M: batch, N: chunk.shape[0]!, K: w.inFeatures }, gemmAttrs,
      { lda: w.inFeatures, aCol: 0, ldy: w.out, yCol: r0, biasOffset: r0, accumulate: false });
  });
  return y;
}

function checkSignal(op: string, g: Tensor, w: ReturnType<typeof chunksOf>): void {
  if (g.shape.length !== 2 || g.shape[1] !== w.out) {
    throw new ShapeError(`${op}: signal must be [N, ${w.out}] for weight ${shapeText(w)}, got [${g.shape}]`);
  }
}

/** Input gradient / DeconvNet step: g [N, OUT] -> [N, IN] = g · W = sum_i g_i · W_i (same weight buffers, no copy). */
export function denseBackwardInput(rec: Recorder, g: Tensor, weight: DenseWeight): Tensor {
  const w = chunksOf('dense backward', weight);
  checkSignal('dense backward', g, w);
  if (w.chunks.length === 1) return matmul(rec, g, w.chunks[0]!, null);
  const batch = g.shape[0]!;
  const dx = rec.tensor([batch, w.inFeatures], 'dense backward');
  w.chunks.forEach((chunk, i) => {
    matmulInto(rec, g, chunk, null, dx, { M: batch, N: w.inFeatures, K: chunk.shape[0]! }, {},
      { lda: w.out, aCol: w.offsets[i]!, ldy: w.inFeatures, yCol: 0, biasOffset: 0, accumulate: i > 0 });
  });
  return dx;
}

/** Weight gradient: g [N, OUT], x [N, IN] -> dW = g^T x, one [rows_i, IN] tensor per chunk of `weight`. */
export function denseBackwardWeight(rec: Recorder, g: Tensor, x: Tensor, weight: DenseWeight): Tensor[] {
  const w = chunksOf('dense weight gradient', weight);
  checkSignal('dense weight gradient', g, w);
  const batch = g.shape[0]!;
  const flat = x.shape.length === 2 ? x : x.reshape([x.shape[0]!, x.size / x.shape[0]!]);
  if (flat.shape[0] !== batch || flat.shape[1] !== w.inFeatures) {
    throw new ShapeError(`dense weight gradient: input [${x.shape}] is not [${batch}, ${w.inFeatures}]`);
  }
  if (w.chunks.length === 1) return [matmul(rec, g, flat, null, { transposeA: true })];
  return w.chunks.map((chunk, i) => {
    const dw = rec.tensor(chunk.shape, 'dense dW');
    matmulInto(rec, g, flat, null, dw, { M: chunk.shape[0]!, N: w.inFeatures, K: batch }, { transposeA: true },
      { lda: w.out, aCol: w.offsets[i]!, ldy: w.inFeatures, yCol: 0, biasOffset: 0, accumulate: false });
    return dw;
  });
}

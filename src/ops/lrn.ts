import { lrnParams, lrnProgram } from '../../shaders/lrn.js';
import type { Recorder } from '../gpu/recorder.js';
import { sameShape, type Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';

/**
 * ONNX LRN across channels: y = x / (bias + alpha / size * sum x[c']^2)^beta,
 * c' in [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)] clipped to [0, C).
 */
export interface LrnAttrs {
  size: number;
  /** Default 1e-4. */
  alpha?: number;
  /** Default 0.75. */
  beta?: number;
  /** Default 1. */
  bias?: number;
}

function checkInput(t: Tensor, opName: string, what: string): void {
  if (t.shape.length < 2) throw new ShapeError(`${opName}: ${what} must be [N, C, ...], got [${t.shape}]`);
  if (t.dtype !== 'f32') throw new ShapeError(`${opName}: ${what} must be f32, got ${t.dtype}`);
}

function pack(x: Tensor, a: LrnAttrs, opName: string): ArrayBuffer {
  const { size } = a;
  const alpha = a.alpha ?? 1e-4, beta = a.beta ?? 0.75, bias = a.bias ?? 1;
  if (!Number.isInteger(size) || size < 1) throw new OutOfRangeError(`${opName}: size must be an integer >= 1, got ${size}`);
  // bias > 0 and alpha >= 0 keep the base of the power positive, so any real beta is defined.
  if (!(bias > 0) || !Number.isFinite(bias)) throw new OutOfRangeError(`${opName}: bias must be > 0, got ${bias}`);
  if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new OutOfRangeError(`${opName}: alpha must be >= 0, got ${alpha}`);
  if (!Number.isFinite(beta)) throw new OutOfRangeError(`${opName}: beta must be finite, got ${beta}`);
  const channels = x.shape[1]!;
  return lrnParams.pack({
    total: x.size, channels, plane: x.size / (x.shape[0]! * channels),
    lo: Math.floor((size - 1) / 2), hi: Math.ceil((size - 1) / 2), scale: alpha / size, beta, bias,
  });
}

export function lrn(rec: Recorder, x: Tensor, attrs: LrnAttrs): Tensor {
  checkInput(x, 'lrn', 'input');
  const params = pack(x, attrs, 'lrn');
  const y = rec.tensor(x.shape, 'lrn');
  rec.dispatch({ ...lrnProgram(false, params, x.size), buffers: [x, y] });
  return y;
}

/** The exact Jacobian-transpose product of lrn at the forward input `x`, applied to `g`. */
export function lrnBackward(rec: Recorder, g: Tensor, x: Tensor, attrs: LrnAttrs): Tensor {
  checkInput(x, 'lrnBackward', 'input');
  checkInput(g, 'lrnBackward', 'signal');
  if (!sameShape(g.shape, x.shape)) {
    throw new ShapeError(`lrnBackward: signal [${g.shape}] and forward input [${x.shape}] differ`);
  }
  const params = pack(x, attrs, 'lrnBackward');
  const dx = rec.tensor(x.shape, 'lrn backward');
  rec.dispatch({ ...lrnProgram(true, params, x.size), buffers: [g, x, dx] });
  return dx;
}

// Padding and output-size arithmetic shared by the convolution ops (and by
// anything else with a sliding window). Pads are always [top, left, bottom, right].
import { OutOfRangeError } from '../gpu/errors.js';

export type Padding2d = 'valid' | 'same' | [top: number, left: number, bottom: number, right: number];
export type Pair = number | [number, number];

/** A scalar or [h, w] attribute as [h, w]; `dflt` when absent. */
export function pair(v: Pair | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  return [v[0], v[1]];
}

/** Throws unless both entries of `v` are integers >= `min`. */
export function checkIntPair(op: string, name: string, v: readonly [number, number], min: number): void {
  if (!v.every((d) => Number.isInteger(d) && d >= min)) {
    throw new OutOfRangeError(`${op}: ${name} [${v}] must be integers >= ${min}`);
  }
}

/** Span of a dilated kernel: (k - 1) * dilation + 1. */
export function effectiveKernel(k: number, dilation: number): number {
  return (k - 1) * dilation + 1;
}

/**
 * Explicit [top, left, bottom, right] pads of a forward sliding window.
 * 'same' is ONNX SAME_UPPER (= TF/Keras 'same'): the output has ceil(in / stride)
 * positions and an odd total pad puts the extra row/column at the bottom/right.
 */
export function resolvePadding(
  padding: Padding2d | undefined, inH: number, inW: number, kH: number, kW: number,
  stride: [number, number], dilation: [number, number],
): [number, number, number, number] {
  if (padding === undefined || padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    const [top, bottom] = sameSplit(inH, kH, stride[0], dilation[0]);
    const [left, right] = sameSplit(inW, kW, stride[1], dilation[1]);
    return [top, left, bottom, right];
  }
  if (!Array.isArray(padding) || padding.length !== 4 || !padding.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new OutOfRangeError(`padding [${String(padding)}] must be 'valid', 'same' or four integers >= 0 [top, left, bottom, right]`);
  }
  return [padding[0], padding[1], padding[2], padding[3]];
}

function sameSplit(size: number, k: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effectiveKernel(k, dilation) - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/** Output positions of a forward window along one axis (may be < 1 when the kernel does not fit). */
export function windowOutputSize(size: number, padBegin: number, padEnd: number, k: number, stride: number, dilation: number): number {
  return Math.floor((size + padBegin + padEnd - effectiveKernel(k, dilation)) / stride) + 1;
}

// Window geometry shared by max pooling, unpooling and average pooling: one
// resolution of kernel / stride / padding / dilation / ceil mode, so the
// forward op and its backward rule always agree on which input positions a
// window covers.
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';

export interface Pool2dAttrs {
  kernel: number | [number, number];
  /** Default: the kernel (non-overlapping windows). */
  stride?: number | [number, number];
  /** 'same' pads so that out = ceil(in / stride), the odd extra row/column at the bottom/right (TF, ONNX SAME_UPPER). */
  padding?: 'valid' | 'same' | [top: number, left: number, bottom: number, right: number];
  dilation?: number | [number, number];
  /** Round the output size up (ONNX/PyTorch); ignored by 'same', whose size is already rounded up. */
  ceilMode?: boolean;
}

export interface PoolGeometry {
  kH: number; kW: number;
  sH: number; sW: number;
  dH: number; dW: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
  outH: number; outW: number;
}

function pairOf(v: number | [number, number] | undefined, dflt: [number, number], what: string, opName: string): [number, number] {
  if (v === undefined) return dflt;
  const p: [number, number] = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new OutOfRangeError(`${opName}: ${what} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

/** [N, C, H, W] of a 4-D float tensor, or a ShapeError naming the op. */
export function imageShape(t: Tensor | readonly number[], opName: string, what = 'input'): [number, number, number, number] {
  const shape = 'shape' in t ? t.shape : t;
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(`${opName}: ${what} must be 4-D [N, C, H, W], got [${shape}]`);
  }
  if ('dtype' in t && t.dtype !== 'f32') throw new ShapeError(`${opName}: ${what} must be f32, got ${t.dtype}`);
  return [shape[0]!, shape[1]!, shape[2]!, shape[3]!];
}

/** Output length along one axis; `ceil` keeps the last window only if it starts inside the input or the leading padding. */
function outputLength(size: number, k: number, s: number, d: number, padLo: number, padHi: number, ceil: boolean): number {
  const span = size + padLo + padHi - ((k - 1) * d + 1);
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + padLo) out--;
  return out;
}

/** Pads of 'same': total = what makes out = ceil(size / stride); the odd one goes after. */
function samePads(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * With dilation the taps of a window can step over the whole input; such a
 * window would have no maximum and no divisor, so it is rejected up front.
 */
function checkEveryWindowTouchesInput(axis: string, size: number, out: number, k: number, s: number, d: number, pad: number, opName: string): void {
  // A window starting inside the input touches it with its first tap, so only
  // the windows that start in the leading padding or past the end need a
  // look: a few at each edge, however large the input.
  const leading = Math.min(out, Math.ceil(pad / s));
  const firstPastEnd = Math.max(leading, Math.ceil((size + pad) / s));
  const edges = [...Array(leading).keys(), ...Array.from({ length: Math.max(0, out - firstPastEnd) }, (_, i) => firstPastEnd + i)];
  for (const o of edges) {
    const start = o * s - pad;
    let touches = false;
    for (let t = 0; t < k && !touches; t++) touches = start + t * d >= 0 && start + t * d < size;
    if (!touches) {
      throw new OutOfRangeError(
        `${opName}: output ${axis} ${o} has a window (${axis}s ${start}..${start + (k - 1) * d} step ${d}) that lies entirely in the padding of an input of ${size}`);
    }
  }
}

export function poolGeometry(xShape: readonly number[], attrs: Pool2dAttrs, opName: string): PoolGeometry {
  const [, , H, W] = imageShape(xShape, opName);
  if (attrs.kernel === undefined) throw new OutOfRangeError(`${opName}: kernel is required`);
  const [kH, kW] = pairOf(attrs.kernel, [1, 1], 'kernel', opName);
  const [sH, sW] = pairOf(attrs.stride, [kH, kW], 'stride', opName);
  const [dH, dW] = pairOf(attrs.dilation, [1, 1], 'dilation', opName);
  const effH = (kH - 1) * dH + 1, effW = (kW - 1) * dW + 1;

  let pads: [number, number, number, number];
  const padding = attrs.padding ?? 'valid';
  if (padding === 'valid') pads = [0, 0, 0, 0];
  else if (padding === 'same') {
    const [t, b] = samePads(H, kH, sH, dH), [l, r] = samePads(W, kW, sW, dW);
    pads = [t, l, b, r];
  } else if (Array.isArray(padding) && padding.length === 4 && padding.every((v) => Number.isInteger(v) && v >= 0)) {
    pads = [...padding];
  } else {
    throw new OutOfRangeError(`${opName}: padding must be 'valid', 'same' or [top, left, bottom, right] of integers >= 0, got ${JSON.stringify(padding)}`);
  }
  const [padTop, padLeft, padBottom, padRight] = pads;
  if (Math.max(padTop, padBottom) >= effH || Math.max(padLeft, padRight) >= effW) {
    throw new OutOfRangeError(
      `${opName}: padding [${pads}] must be smaller than the effective kernel ${effH}x${effW} (kernel ${kH}x${kW}, dilation ${dH}x${dW})`);
  }

  const ceil = padding !== 'same' && (attrs.ceilMode ?? false);
  const outH = padding === 'same' ? Math.ceil(H / sH) : outputLength(H, kH, sH, dH, padTop, padBottom, ceil);
  const outW = padding === 'same' ? Math.ceil(W / sW) : outputLength(W, kW, sW, dW, padLeft, padRight, ceil);
  if (outH < 1 || outW < 1) {
    throw new ShapeError(
      `${opName}: effective kernel ${effH}x${effW} is larger than the padded input ${H + padTop + padBottom}x${W + padLeft + padRight} (input [${xShape}], padding [${pads}])`);
  }
  checkEveryWindowTouchesInput('row', H, outH, kH, sH, dH, padTop, opName);
  checkEveryWindowTouchesInput('column', W, outW, kW, sW, dW, padLeft, opName);
  return { kH, kW, sH, sW, dH, dW, padTop, padLeft, padBottom, padRight, outH, outW };
}

/** The uniform fields every pooling kernel reads (see POOL_FIELDS in shaders/maxpool2d.ts). */
export function poolParamValues(xShape: readonly number[], g: PoolGeometry, total: number) {
  return {
    total, H: xShape[2]!, W: xShape[3]!, OH: g.outH, OW: g.outW,
    kH: g.kH, kW: g.kW, sH: g.sH, sW: g.sW, dH: g.dH, dW: g.dW,
    padTop: g.padTop, padLeft: g.padLeft, padBottom: g.padBottom, padRight: g.padRight,
  };
}

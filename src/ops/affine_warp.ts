import { affineWarpProgram } from '../../shaders/affine_warp.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

export interface AffineWarpAttrs {
  /** Matrix (row of `matrices`) used by copy 0. */
  first: number;
  /** Copies to make: copy n uses matrix first + n. */
  copies: number;
  /** Value of pixels sampled from outside the image. */
  fill: number;
}

/**
 * Bilinear resampling of one image ([1, C, H, W] or [C, H, W]) through
 * `copies` inverse affine maps: output pixel (x, y) of copy n takes the
 * input at (m0 x + m1 y + m2, m3 x + m4 y + m5), m = matrices[first + n]
 * ([T, 6] f32; pixel centres at integer coordinates). Returns [copies, C, H, W].
 */
export function affineWarp(rec: Recorder, image: Tensor, matrices: Tensor, attrs: AffineWarpAttrs): Tensor {
  const op = 'affine warp';
  const s = image.shape;
  if (!((s.length === 4 && s[0] === 1) || s.length === 3)) {
    throw new ShapeError(`${op}: the image must be [1, C, H, W] or [C, H, W], got [${s}]`);
  }
  const [c, h, w] = s.slice(-3) as [number, number, number];
  if (matrices.shape.length !== 2 || matrices.shape[1] !== 6) {
    throw new ShapeError(`${op}: matrices must be [T, 6] (2x3 row-major per copy), got [${matrices.shape}]`);
  }
  const { first, copies, fill } = attrs;
  if (!Number.isInteger(first) || first < 0 || !Number.isInteger(copies) || copies < 1 || first + copies > matrices.shape[0]!) {
    throw new OutOfRangeError(`${op}: copies ${first}..${first + copies - 1} are outside the ${matrices.shape[0]} matrices`);
  }
  if (!Number.isFinite(fill)) throw new OutOfRangeError(`${op}: fill ${fill} is not a finite number`);
  const out = rec.tensor([copies, c, h, w], 'warped copies');
  const count = copies * c * h * w;
  rec.dispatch({ ...affineWarpProgram({ count, channels: c, height: h, width: w, first, fill }), buffers: [image, matrices, out] });
  return out;
}

import { WORKGROUP, avgPoolParams, avgPool2dKernel, avgPool2dBackwardKernel } from '../../shaders/avgpool2d.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import { sameShape, type Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';
import { imageShape, poolGeometry, poolParamValues, type Pool2dAttrs } from './pool_geometry.js';

export interface AvgPool2dAttrs extends Pool2dAttrs {
  /** Divide by the whole window, padding included (default false, ONNX). */
  countIncludePad?: boolean;
}

/** Average pooling: the mean of the window's taps inside the input (or inside the padded input with countIncludePad). */
export function avgPool2d(rec: Recorder, x: Tensor, attrs: AvgPool2dAttrs): Tensor {
  const [N, C] = imageShape(x, 'avgPool2d');
  const geom = poolGeometry(x.shape, attrs, 'avgPool2d');
  const total = N * C * geom.outH * geom.outW;
  const include = attrs.countIncludePad ?? false;
  const y = rec.tensor([N, C, geom.outH, geom.outW], 'avgPool2d');
  rec.dispatch({
    ...avgPool2dKernel.program({ countIncludePad: include }, avgPoolParams.pack(poolParamValues(x.shape, geom, total)), dispatch1d(total, WORKGROUP), 'avgPool2d'),
    buffers: [x, y],
  });
  return y;
}

/** The exact gradient of avgPool2d: every input element gathers g / divisor from the windows containing it. */
export function avgPool2dBackward(rec: Recorder, g: Tensor, xShape: readonly number[], attrs: AvgPool2dAttrs): Tensor {
  const [N, C, H, W] = imageShape(xShape, 'avgPool2dBackward', 'xShape');
  const geom = poolGeometry(xShape, attrs, 'avgPool2dBackward');
  const outShape = [N, C, geom.outH, geom.outW];
  imageShape(g, 'avgPool2dBackward', 'signal');
  if (!sameShape(g.shape, outShape)) {
    throw new ShapeError(`avgPool2dBackward: signal [${g.shape}] is not the pooled shape [${outShape}] of input [${xShape}]`);
  }
  const total = N * C * H * W;
  const include = attrs.countIncludePad ?? false;
  const dx = rec.tensor(xShape, 'avgPool2d backward');
  rec.dispatch({
    ...avgPool2dBackwardKernel.program({ countIncludePad: include }, avgPoolParams.pack(poolParamValues(xShape, geom, total)), dispatch1d(total, WORKGROUP), 'avgPool2d backward'),
    buffers: [g, dx],
  });
  return dx;
}

/** Global average pooling: one mean per (n, c), output [N, C, 1, 1]. */
export function globalAvgPool2d(rec: Recorder, x: Tensor): Tensor {
  const [, , H, W] = imageShape(x, 'globalAvgPool2d');
  return avgPool2d(rec, x, { kernel: [H, W] });
}

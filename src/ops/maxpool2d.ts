import { WORKGROUP, maxPoolParams, maxPool2dKernel } from '../../shaders/maxpool2d.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { imageShape, poolGeometry, poolParamValues, type Pool2dAttrs } from './pool_geometry.js';

export type { Pool2dAttrs };

/**
 * Max pooling, value and argmax in one pass. `switches` is u32 [N, C, OH, OW]:
 * the flat index iy * W + ix of the maximum inside the (n, c) input plane,
 * what unpool2d needs to put a signal back where it came from.
 * Padding is never chosen; ties go to the first position of the window in
 * row-major (ky, kx) order (PyTorch); a NaN in a window makes the value NaN and
 * the switch points at the window's first NaN.
 */
export function maxPool2d(rec: Recorder, x: Tensor, attrs: Pool2dAttrs): { output: Tensor; switches: Tensor } {
  const [N, C] = imageShape(x, 'maxPool2d');
  const geom = poolGeometry(x.shape, attrs, 'maxPool2d');
  const outShape = [N, C, geom.outH, geom.outW];
  const total = N * C * geom.outH * geom.outW;
  // CPU adapters pay per invocation: one per output row there (see maxPool2dKernel).
  const variant = rec.runtime.kernelStyle === 'direct' ? 'row' : 'element';
  const invocations = variant === 'row' ? N * C * geom.outH : total;
  const output = rec.tensor(outShape, 'maxPool2d');
  const switches = rec.tensor(outShape, 'maxPool2d switches', 'u32');
  rec.dispatch({
    ...maxPool2dKernel.program({ variant }, maxPoolParams.pack(poolParamValues(x.shape, geom, invocations)), variant === 'row' ? dispatch1d(invocations, 64) : dispatch1d(total, WORKGROUP), 'maxPool2d'),
    buffers: [x, output, switches],
  });
  return { output, switches };
}

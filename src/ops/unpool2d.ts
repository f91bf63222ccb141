import { unpool2dProgram } from '../../shaders/unpool2d.js';
import type { Recorder } from '../gpu/recorder.js';
import { sameShape, type Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';
import { imageShape, poolGeometry, poolParamValues, type Pool2dAttrs } from './pool_geometry.js';

/**
 * Zeiler & Fergus unpooling, which is exactly the gradient of max pooling:
 * `g` [N, C, OH, OW] goes back to the switch positions of an input of shape
 * `xShape`, zeros elsewhere; where overlapping windows (3x3 stride 2) chose
 * the same position their values are summed. `attrs` must be those of the
 * forward maxPool2d that produced `switches`.
 */
export function unpool2d(rec: Recorder, g: Tensor, switches: Tensor, xShape: readonly number[], attrs: Pool2dAttrs): Tensor {
  const [N, C, H, W] = imageShape(xShape, 'unpool2d', 'xShape');
  const geom = poolGeometry(xShape, attrs, 'unpool2d');
  const outShape = [N, C, geom.outH, geom.outW];
  imageShape(g, 'unpool2d', 'signal');
  if (!sameShape(g.shape, outShape)) {
    throw new ShapeError(`unpool2d: signal [${g.shape}] is not the pooled shape [${outShape}] of input [${xShape}]`);
  }
  if (!sameShape(switches.shape, outShape)) {
    throw new ShapeError(`unpool2d: switches [${switches.shape}] are not the pooled shape [${outShape}] of input [${xShape}]`);
  }
  if (switches.dtype !== 'u32') throw new ShapeError(`unpool2d: switches must be u32, got ${switches.dtype}`);
  const total = N * C * H * W;
  // CPU adapters pay per invocation: one per input row there (see unpool2dShader).
  const variant = rec.runtime.kernelStyle === 'direct' ? 'row' : 'element';
  const invocations = variant === 'row' ? N * C * H : total;
  const dx = rec.tensor(xShape, 'unpool2d');
  rec.dispatch({ ...unpool2dProgram(variant, poolParamValues(xShape, geom, invocations)), buffers: [g, switches, dx] });
  return dx;
}

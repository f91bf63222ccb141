import { WORKGROUP, sumNParams, sumNKernel } from '../../shaders/sum_n.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import { sameShape, type Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/** Inputs one pass sums at most; more are chained through a running total. */
export const SUM_N_MAX_INPUTS = 7;

/**
 * y = xs[0] + xs[1] + ... element-wise, all of one shape. Always a new
 * tensor (a copy for a single input), so the caller owns the result and may
 * release every input. Summation order is left to right, in f32.
 */
export function sumN(rec: Recorder, xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new ShapeError('sumN: needs at least one input');
  const shape = xs[0]!.shape;
  xs.forEach((x, j) => {
    if (x.dtype !== 'f32') throw new ShapeError(`sumN: input ${j} [${x.shape}] must be f32, got ${x.dtype}`);
    if (!sameShape(x.shape, shape)) {
      throw new ShapeError(`sumN: input ${j} has shape [${x.shape}], input 0 has [${shape}]; all must be equal`);
    }
  });
  // Bindings left for inputs: the stage's storage buffers less the output.
  const perPass = Math.max(2, Math.min(SUM_N_MAX_INPUTS, rec.runtime.device.limits.maxStorageBuffersPerShaderStage - 1));
  let acc: Tensor | null = null;
  let next = 0;
  while (next < xs.length) {
    // After the first pass the running total takes one of the pass's bindings.
    const take = Math.min(acc ? perPass - 1 : perPass, xs.length - next);
    const inputs = acc ? [acc, ...xs.slice(next, next + take)] : xs.slice(next, next + take);
    next += take;
    const y = rec.tensor(shape, 'sumN');
    const k = inputs.length;
    rec.dispatch({
      ...sumNKernel.program({ k }, sumNParams.pack({ size: y.size }), dispatch1d(y.size, WORKGROUP), `sumN (${k})`),
      buffers: [...inputs, y],
    });
    if (acc) rec.temp(acc);
    acc = y;
  }
  return acc!;
}

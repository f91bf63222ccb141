import { imageStatsProgram, type ImageStatsVariant } from '../../shaders/image_stats.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError } from '../gpu/errors.js';

/**
 * Normalisation statistics of `rows` consecutive rows of `length` values of
 * `x`, from element `offset`: [rows, 4] = (min, max, max |v|, 0) over the
 * finite values of each row. What a picture is scaled by, computed on the
 * GPU so drawing it needs no readback. The variant follows the runtime's
 * kernel style (see shaders/image_stats.ts).
 */
export function imageStats(rec: Recorder, x: Tensor, rows: number, length: number, offset = 0): Tensor {
  const op = 'image stats';
  for (const [what, v, min] of [['rows', rows, 1], ['length', length, 1], ['offset', offset, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new OutOfRangeError(`${op}: ${what} is ${v}, it must be an integer >= ${min}`);
  }
  if (offset + rows * length > x.size) {
    throw new OutOfRangeError(`${op}: rows ${rows} x ${length} from ${offset} run past the ${x.size} values of [${x.shape}]`);
  }
  const out = rec.tensor([rows, 4], 'image stats');
  const variant: ImageStatsVariant = rec.runtime.kernelStyle === 'direct' ? 'direct' : 'tree';
  rec.dispatch({ ...imageStatsProgram(variant, { rows, length, offset }), buffers: [x, out] });
  return out;
}

import { MAX_RANK, transposeProgram, type TransposeFields } from '../../shaders/transpose.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError, UnsupportedError } from '../gpu/errors.js';

/** Checks that `perm` is a permutation of 0 .. rank - 1 (OutOfRangeError naming the op otherwise). */
export function checkPerm(perm: readonly number[], rank: number, opName: string): void {
  const ok = Array.isArray(perm) && perm.length === rank
    && perm.every((a) => Number.isInteger(a) && a >= 0 && a < rank) && new Set(perm).size === rank;
  if (!ok) throw new OutOfRangeError(`${opName}: perm ${JSON.stringify(perm)} is not a permutation of the ${rank} axes 0..${rank - 1}`);
}

/** q with q[perm[k]] = k: transposing by it undoes transposing by perm. */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((a, k) => { inv[a] = k; });
  return inv;
}

/** y with y.shape[k] = x.shape[perm[k]] (full shapes, batch included), rank up to 6. */
export function transpose(rec: Recorder, x: Tensor, perm: readonly number[]): Tensor {
  const rank = x.shape.length;
  if (x.dtype !== 'f32') throw new ShapeError(`transpose: input [${x.shape}] must be f32, got ${x.dtype}`);
  if (rank > MAX_RANK) throw new UnsupportedError(`transpose: input [${x.shape}] has rank ${rank}, over the ${MAX_RANK} supported`);
  checkPerm(perm, rank, 'transpose');
  const inStrides = new Array<number>(rank);
  for (let k = rank - 1, s = 1; k >= 0; k--) { inStrides[k] = s; s *= x.shape[k]!; }
  const outShape = perm.map((a) => x.shape[a]!);
  const lead = MAX_RANK - rank;
  const fields: Record<string, number> = { total: x.size };
  for (let k = 0; k < MAX_RANK; k++) {
    fields[`d${k}`] = k < lead ? 1 : outShape[k - lead]!;
    fields[`s${k}`] = k < lead ? 0 : inStrides[perm[k - lead]!]!;
  }
  const y = rec.tensor(outShape, 'transpose');
  rec.dispatch({ ...transposeProgram(fields as TransposeFields), buffers: [x, y] });
  return y;
}

/** The gradient (and DeconvNet rule) of transpose: transpose by the inverse permutation. */
export function transposeBackward(rec: Recorder, g: Tensor, perm: readonly number[]): Tensor {
  checkPerm(perm, g.shape.length, 'transposeBackward');
  return transpose(rec, g, inversePerm(perm));
}

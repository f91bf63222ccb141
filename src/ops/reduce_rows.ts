import { reduceRowsProgram, type ReduceRowsVariant } from '../../shaders/reduce_rows.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

export type { ReduceRowsVariant };

export interface ReduceRowsAttrs {
  /** What each row becomes (see shaders/reduce_rows.ts). */
  op: ReduceRowsVariant;
  /** Rows to reduce; for 'sign-mismatch' it is `pairs.length`. */
  rows?: number;
  /** Values per row. */
  length: number;
  /** Distance between row starts in x (default `length`). */
  rowStride?: number;
  /** Added to every row start in x (default 0), e.g. channel * plane to sum one channel. */
  offset?: number;
  /** Where row 0's result goes in `out` (default 0); 'argmax' writes 2 values per row. */
  outOffset?: number;
  /** 'sqdist': the reference rows; 'sign-mismatch': the unmasked originals. */
  base?: Tensor;
  /** Distance between reference rows (default 0 for 'sqdist': one row for all; `rowStride` for 'sign-mismatch'). */
  baseStride?: number;
  baseOffset?: number;
  /** 'sqdist': write the square root (the Euclidean distance). */
  root?: boolean;
  /** 'sign-mismatch': the image pairs (i, j), indices of rows of x and base. */
  pairs?: ReadonlyArray<readonly [number, number]>;
}

const EXACT_INDEX = 2 ** 24;

function checkInt(what: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new OutOfRangeError(`reduce_rows: ${what} is ${v}, it must be an integer >= ${min}`);
}

/**
 * Reduces `rows` rows of `x` into `out` at `outOffset` (out is not cleared:
 * every call writes its own slots, so one result tensor can collect a whole
 * run of batches). Rows, offsets and pairs are checked against the tensors'
 * sizes here, since the kernel does no bounds checks of its own.
 */
export function reduceRows(rec: Recorder, x: Tensor, out: Tensor, attrs: ReduceRowsAttrs, label = `reduce rows (${attrs.op})`): void {
  const op = attrs.op;
  if (op !== 'sum' && op !== 'argmax' && op !== 'sqdist' && op !== 'sign-mismatch') {
    throw new OutOfRangeError(`${label}: unknown reduction "${String(op)}" (sum, argmax, sqdist, sign-mismatch)`);
  }
  const pairs = attrs.pairs ?? [];
  const rows = op === 'sign-mismatch' ? pairs.length : attrs.rows ?? 1;
  const length = attrs.length;
  const rowStride = attrs.rowStride ?? length;
  const offset = attrs.offset ?? 0;
  const outOffset = attrs.outOffset ?? 0;
  const baseStride = attrs.baseStride ?? (op === 'sign-mismatch' ? rowStride : 0);
  const baseOffset = attrs.baseOffset ?? 0;
  checkInt('rows', rows, 1);
  checkInt('length', length, 1);
  checkInt('rowStride', rowStride, 0);
  checkInt('offset', offset, 0);
  checkInt('outOffset', outOffset, 0);
  checkInt('baseStride', baseStride, 0);
  checkInt('baseOffset', baseOffset, 0);
  if ((op === 'argmax' || op === 'sign-mismatch') && length >= EXACT_INDEX) {
    throw new OutOfRangeError(`${label}: rows of ${length} values; indices and counts are stored as f32, exact only under ${EXACT_INDEX}`);
  }
  // The last row x is read at: for pairs the largest image index, else rows - 1.
  const lastRow = op === 'sign-mismatch' ? Math.max(...pairs.flat()) : rows - 1;
  if (op === 'sign-mismatch') {
    for (const [i, j] of pairs) {
      checkInt('pair index', i, 0);
      checkInt('pair index', j, 0);
    }
  }
  if (lastRow * rowStride + offset + length > x.size) {
    throw new ShapeError(`${label}: row ${lastRow} (stride ${rowStride}, offset ${offset}, length ${length}) runs past the end of x [${x.shape}] (${x.size} values)`);
  }
  const written = rows * (op === 'argmax' ? 2 : 1);
  if (outOffset + written > out.size) {
    throw new ShapeError(`${label}: ${written} results at offset ${outOffset} do not fit the output [${out.shape}] (${out.size} values)`);
  }
  const buffers: Tensor[] = [x];
  if (op === 'sqdist' || op === 'sign-mismatch') {
    const base = attrs.base;
    if (!base) throw new ShapeError(`${label}: '${op}' needs a base tensor`);
    const lastBase = op === 'sqdist' ? rows - 1 : lastRow;
    if (lastBase * baseStride + baseOffset + length > base.size) {
      throw new ShapeError(`${label}: reference row ${lastBase} (stride ${baseStride}, offset ${baseOffset}, length ${length}) runs past the end of base [${base.shape}] (${base.size} values)`);
    }
    buffers.push(base);
  }
  if (op === 'sign-mismatch') {
    const flat = Uint32Array.from(pairs.flat());
    buffers.push(rec.temp(rec.runtime.createTensor([flat.length], flat, 'u32', `${label} pairs`)));
  }
  buffers.push(out);
  const values = { rows, length, rowStride, offset, baseStride, baseOffset, outOffset, root: attrs.root ? 1 : 0 };
  rec.dispatch({ ...reduceRowsProgram(op, values, label), buffers });
}

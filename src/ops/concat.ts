import { axisCopyProgram, type AxisCopyDirection } from '../../shaders/concat.js';
import type { Recorder } from '../gpu/recorder.js';
import { shapeSize, type Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';

/** A possibly negative axis of a rank-`rank` tensor as 0 .. rank - 1, or an OutOfRangeError naming the op. */
export function normalizeAxis(axis: number, rank: number, opName: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new OutOfRangeError(`${opName}: axis ${axis} is outside [${-rank}, ${rank - 1}] for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** The shape of concatenating `shapes` along `axis` (already normalised), or a ShapeError naming every shape. */
export function concatShape(shapes: ReadonlyArray<readonly number[]>, axis: number, opName: string): number[] {
  if (shapes.length === 0) throw new ShapeError(`${opName}: needs at least one input`);
  const first = shapes[0]!;
  const all = shapes.map((s) => `[${s}]`).join(', ');
  let rows = 0;
  shapes.forEach((s) => {
    if (s.length !== first.length || s.some((d, k) => k !== axis && d !== first[k])) {
      throw new ShapeError(`${opName}: inputs ${all} must match on every axis but ${axis}`);
    }
    rows += s[axis]!;
  });
  return first.map((d, k) => (k === axis ? rows : d));
}

function copy(rec: Recorder, direction: AxisCopyDirection, src: Tensor, dst: Tensor, part: readonly number[], axis: number, offset: number, rows: number, name: string): void {
  const values = { size: shapeSize(part), inner: shapeSize(part.slice(axis + 1)), len: part[axis]!, offset, rows };
  rec.dispatch({ ...axisCopyProgram(direction, values, name), buffers: [src, dst] });
}

/** Concatenates full tensors (batch axis included) along `axis` (negative counts from the end); one pass per input. */
export function concat(rec: Recorder, xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one input');
  xs.forEach((x, j) => { if (x.dtype !== 'f32') throw new ShapeError(`concat: input ${j} [${x.shape}] must be f32, got ${x.dtype}`); });
  const ax = normalizeAxis(axis, xs[0]!.shape.length, 'concat');
  const outShape = concatShape(xs.map((x) => x.shape), ax, 'concat');
  const y = rec.tensor(outShape, 'concat');
  let offset = 0;
  xs.forEach((x, j) => {
    copy(rec, 'scatter', x, y, x.shape, ax, offset, outShape[ax]!, `concat (input ${j})`);
    offset += x.shape[ax]!;
  });
  return y;
}

/** Rows start .. start + length of `x` along `axis`: the gradient of concat for one of its inputs. */
export function sliceAxis(rec: Recorder, x: Tensor, axis: number, start: number, length: number): Tensor {
  if (x.dtype !== 'f32') throw new ShapeError(`sliceAxis: input [${x.shape}] must be f32, got ${x.dtype}`);
  const ax = normalizeAxis(axis, x.shape.length, 'sliceAxis');
  const rows = x.shape[ax]!;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 1 || start + length > rows) {
    throw new OutOfRangeError(`sliceAxis: rows ${start} .. ${start + length} (start ${start}, length ${length}) are not inside axis ${ax} of [${x.shape}] (${rows} rows)`);
  }
  const part = x.shape.map((d, k) => (k === ax ? length : d));
  const y = rec.tensor(part, 'sliceAxis');
  copy(rec, 'gather', x, y, part, ax, start, rows, 'sliceAxis');
  return y;
}

/** Cuts `x` along `axis` into consecutive parts of `sizes` rows (which must add up to the axis): concat's backward. */
export function split(rec: Recorder, x: Tensor, axis: number, sizes: readonly number[]): Tensor[] {
  const ax = normalizeAxis(axis, x.shape.length, 'split');
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length === 0 || !sizes.every((s) => Number.isInteger(s) && s >= 1) || total !== x.shape[ax]) {
    throw new ShapeError(`split: sizes [${sizes}] must be positive integers adding up to axis ${ax} of [${x.shape}] (${x.shape[ax]})`);
  }
  let start = 0;
  return sizes.map((s) => {
    const part = sliceAxis(rec, x, ax, start, s);
    start += s;
    return part;
  });
}

import { resizeProgram } from '../../shaders/resize.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import { imageShape } from './pool_geometry.js';

/** How an output coordinate maps to an input one (ONNX Resize's coordinate_transformation_mode). */
export type CoordinateTransformation = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn';
/** How nearest mode rounds the mapped coordinate (ONNX nearest_mode). */
export type NearestRounding = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

export const COORDINATE_TRANSFORMATIONS: readonly CoordinateTransformation[] = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'];
export const NEAREST_ROUNDINGS: readonly NearestRounding[] = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

export interface ResizeAttrs {
  mode: 'nearest' | 'linear';
  /** Default 'half_pixel' (ONNX Resize 11+). */
  coordinateTransformation?: CoordinateTransformation;
  /** Default 'round_prefer_floor' (ONNX). */
  nearestRounding?: NearestRounding;
  /** [scaleH, scaleW]: the output is floor(size * scale). Give this or `size`. */
  scales?: [number, number];
  /** [outH, outW]; the scales are then out / in. */
  size?: [number, number];
}

/** The host-side plan of one resize: output size and the tap/range table the kernel reads. */
export interface ResizeTable {
  outH: number;
  outW: number;
  /** [outH + outW] taps (i0, i1, w), then [inH + inW] ranges (first, end). */
  data: Float32Array;
}

function check(inH: number, inW: number, a: ResizeAttrs, opName: string): { outH: number; outW: number; scaleH: number; scaleW: number } {
  if (a.mode !== 'nearest' && a.mode !== 'linear') throw new OutOfRangeError(`${opName}: mode must be 'nearest' or 'linear', got ${JSON.stringify(a.mode)}`);
  const ct = a.coordinateTransformation ?? 'half_pixel';
  if (!COORDINATE_TRANSFORMATIONS.includes(ct)) throw new OutOfRangeError(`${opName}: coordinate transformation ${JSON.stringify(ct)} is not one of ${COORDINATE_TRANSFORMATIONS.join(', ')}`);
  const nr = a.nearestRounding ?? 'round_prefer_floor';
  if (!NEAREST_ROUNDINGS.includes(nr)) throw new OutOfRangeError(`${opName}: nearest rounding ${JSON.stringify(nr)} is not one of ${NEAREST_ROUNDINGS.join(', ')}`);
  if ((a.scales === undefined) === (a.size === undefined)) throw new OutOfRangeError(`${opName}: give either scales or size`);
  let outH: number, outW: number, scaleH: number, scaleW: number;
  if (a.scales) {
    [scaleH, scaleW] = a.scales;
    if (!(scaleH > 0 && scaleW > 0 && Number.isFinite(scaleH) && Number.isFinite(scaleW))) throw new OutOfRangeError(`${opName}: scales [${a.scales}] must be positive and finite`);
    outH = Math.floor(inH * scaleH);
    outW = Math.floor(inW * scaleW);
  } else {
    [outH, outW] = a.size!;
    scaleH = outH / inH;
    scaleW = outW / inW;
  }
  if (!(Number.isInteger(outH) && Number.isInteger(outW) && outH >= 1 && outW >= 1 && outH <= 65536 && outW <= 65536)) {
    throw new ShapeError(`${opName}: a ${inH}x${inW} map resized to ${outH}x${outW}: the output must be 1 to 65536 pixels on each side`);
  }
  return { outH, outW, scaleH, scaleW };
}

/** The input coordinate output index `o` maps to, along one axis (ONNX Resize's definitions). */
function sourceCoordinate(o: number, inLen: number, outLen: number, scale: number, ct: CoordinateTransformation): number {
  switch (ct) {
    case 'half_pixel': return (o + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel': return outLen > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case 'align_corners': return outLen === 1 ? 0 : (o * (inLen - 1)) / (outLen - 1);
    case 'asymmetric': return o / scale;
    case 'tf_half_pixel_for_nn': return (o + 0.5) / scale;
  }
}

function rounded(v: number, r: NearestRounding): number {
  switch (r) {
    case 'round_prefer_floor': return Math.ceil(v - 0.5);
    case 'round_prefer_ceil': return Math.floor(v + 0.5);
    case 'floor': return Math.floor(v);
    case 'ceil': return Math.ceil(v);
  }
}

/** Taps of one axis: for each output, (i0, i1, w); and for each input, the outputs reading it. */
function axisTaps(inLen: number, outLen: number, scale: number, a: ResizeAttrs): { taps: number[]; ranges: number[] } {
  const ct = a.coordinateTransformation ?? 'half_pixel';
  const taps: number[] = [];
  const first = new Array<number>(inLen).fill(-1), end = new Array<number>(inLen).fill(0);
  const touch = (k: number, o: number) => { if (first[k] === -1) first[k] = o; end[k] = o + 1; };
  for (let o = 0; o < outLen; o++) {
    const src = sourceCoordinate(o, inLen, outLen, scale, ct);
    let i0: number, i1: number, w: number;
    if (a.mode === 'nearest') {
      i0 = i1 = Math.min(Math.max(rounded(src, a.nearestRounding ?? 'round_prefer_floor'), 0), inLen - 1);
      w = 0;
    } else {
      const c = Math.min(Math.max(src, 0), inLen - 1);
      i0 = Math.floor(c);
      i1 = Math.min(i0 + 1, inLen - 1);
      w = c - i0;
    }
    taps.push(i0, i1, w);
    touch(i0, o);
    touch(i1, o);
  }
  const ranges: number[] = [];
  for (let k = 0; k < inLen; k++) ranges.push(Math.max(first[k]!, 0), end[k]!);
  return { taps, ranges };
}

/** Output size and table of a resize of an inH x inW map; validates the attributes. */
export function resizeTable(inH: number, inW: number, attrs: ResizeAttrs, opName = 'resize2d'): ResizeTable {
  const { outH, outW, scaleH, scaleW } = check(inH, inW, attrs, opName);
  const y = axisTaps(inH, outH, scaleH, attrs), x = axisTaps(inW, outW, scaleW, attrs);
  return { outH, outW, data: Float32Array.from([...y.taps, ...x.taps, ...y.ranges, ...x.ranges]) };
}

/** One pass over every element of `outShape`, reading `src` and the table (both directions share the params). */
function record(rec: Recorder, backward: boolean, src: Tensor, table: Tensor, outShape: readonly number[], [H, W, OH, OW]: number[]): Tensor {
  const out = rec.tensor(outShape, backward ? 'resize2d backward' : 'resize2d');
  const rangeY = 3 * (OH! + OW!);
  const values = { total: out.size, H: H!, W: W!, OH: OH!, OW: OW!, tapsY: 0, tapsX: 3 * OH!, rangeY, rangeX: rangeY + 2 * H! };
  rec.dispatch({ ...resizeProgram(backward, values), buffers: [src, out, table] });
  return out;
}

function checkTable(table: Tensor, H: number, W: number, OH: number, OW: number, opName: string): void {
  const want = 3 * (OH + OW) + 2 * (H + W);
  if (table.size !== want) throw new ShapeError(`${opName}: the table has ${table.size} values; a ${H}x${W} -> ${OH}x${OW} resize needs ${want} (from resizeTable)`);
}

/** Resizes the last two axes of an NCHW tensor to outH x outW with the taps of `table` (uploaded from resizeTable). */
export function resize2d(rec: Recorder, x: Tensor, table: Tensor, outH: number, outW: number): Tensor {
  const [N, C, H, W] = imageShape(x, 'resize2d');
  checkTable(table, H, W, outH, outW, 'resize2d');
  return record(rec, false, x, table, [N, C, outH, outW], [H, W, outH, outW]);
}

/** The exact gradient (and DeconvNet rule) of resize2d: the transpose of the interpolation, as a gather. */
export function resize2dBackward(rec: Recorder, g: Tensor, table: Tensor, xShape: readonly number[]): Tensor {
  const [N, C, H, W] = imageShape(xShape, 'resize2dBackward');
  const [gN, gC, OH, OW] = imageShape(g, 'resize2dBackward', 'signal');
  if (gN !== N || gC !== C) throw new ShapeError(`resize2dBackward: signal [${g.shape}] does not match input [${xShape}]`);
  checkTable(table, H, W, OH, OW, 'resize2dBackward');
  return record(rec, true, g, table, xShape, [H, W, OH, OW]);
}

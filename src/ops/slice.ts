import { MAX_RANK, sliceParams, sliceProgram } from '../../shaders/slice.js';
import type { Recorder } from '../gpu/recorder.js';
import { sameShape, type Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError, UnsupportedError } from '../gpu/errors.js';

/** ONNX Slice's inputs: per listed axis a start, an end (exclusive) and a step; negative starts/ends count from the end. */
export interface SliceSpec {
  starts: readonly number[];
  ends: readonly number[];
  /** Default: 0 .. starts.length - 1. */
  axes?: readonly number[];
  /** Default: all 1. Any non-zero integer. */
  steps?: readonly number[];
}

/** A resolved slice of a tensor: per axis (all of them) the first index, the step and the output length. */
export interface SliceGeometry {
  start: number[];
  step: number[];
  outShape: number[];
}

/**
 * Resolves an ONNX-style slice of `shape` (clamping starts and ends into the
 * axis, as ONNX does). An empty result is a ShapeError: the library has no
 * empty tensors.
 */
export function sliceGeometry(shape: readonly number[], spec: SliceSpec, opName: string): SliceGeometry {
  const rank = shape.length;
  const axes = spec.axes ?? spec.starts.map((_, i) => i);
  const steps = spec.steps ?? spec.starts.map(() => 1);
  if (spec.ends.length !== spec.starts.length || axes.length !== spec.starts.length || steps.length !== spec.starts.length) {
    throw new OutOfRangeError(`${opName}: starts [${spec.starts}], ends [${spec.ends}], axes [${axes}] and steps [${steps}] must have one value per sliced axis`);
  }
  const start = shape.map(() => 0), step = shape.map(() => 1), outShape = [...shape];
  const seen = new Set<number>();
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + rank : a0;
    if (!Number.isInteger(a) || a < 0 || a >= rank || seen.has(a)) throw new OutOfRangeError(`${opName}: axis ${a0} is not a distinct axis of a rank-${rank} tensor`);
    seen.add(a);
    const dim = shape[a]!, st = steps[i]!;
    if (!Number.isInteger(st) || st === 0) throw new OutOfRangeError(`${opName}: step ${st} on axis ${a0} must be a non-zero integer`);
    let s = spec.starts[i]!, e = spec.ends[i]!;
    if (Number.isNaN(s) || Number.isNaN(e)) throw new OutOfRangeError(`${opName}: start ${s} / end ${e} on axis ${a0} is not a number`);
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
    }
    const len = Math.max(0, Math.ceil((e - s) / st));
    if (len === 0) throw new ShapeError(`${opName}: slice ${spec.starts[i]}:${spec.ends[i]}:${st} of axis ${a0} (size ${dim}) is empty`);
    start[a] = s; step[a] = st; outShape[a] = len;
  });
  return { start, step, outShape };
}

function pack(total: number, decode: readonly number[], out: readonly number[], strides: readonly number[], g: SliceGeometry) {
  const lead = MAX_RANK - decode.length;
  const f: Record<string, number> = { total };
  for (let k = 0; k < MAX_RANK; k++) {
    const a = k - lead;
    f[`d${k}`] = a < 0 ? 1 : decode[a]!;
    f[`o${k}`] = a < 0 ? 1 : out[a]!;
    f[`s${k}`] = a < 0 ? 0 : strides[a]!;
    f[`b${k}`] = a < 0 ? 0 : g.start[a]!;
    f[`t${k}`] = a < 0 ? 1 : g.step[a]!;
  }
  return sliceParams.pack(f);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let k = shape.length - 1, acc = 1; k >= 0; k--) { s[k] = acc; acc *= shape[k]!; }
  return s;
}

function checkRank(shape: readonly number[], g: SliceGeometry, opName: string): void {
  if (shape.length > MAX_RANK) throw new UnsupportedError(`${opName}: [${shape}] has rank ${shape.length}, over the ${MAX_RANK} supported`);
  if (g.start.length !== shape.length) throw new ShapeError(`${opName}: a slice of ${g.start.length} axes for a rank-${shape.length} tensor [${shape}]`);
}

/** The strided slice `g` (from sliceGeometry over the full shape) of `x`. */
export function slice(rec: Recorder, x: Tensor, g: SliceGeometry): Tensor {
  checkRank(x.shape, g, 'slice');
  const y = rec.tensor(g.outShape, 'slice');
  const params = pack(y.size, g.outShape, g.outShape, stridesOf(x.shape), g);
  rec.dispatch({ ...sliceProgram(false, params, y.size), buffers: [x, y] });
  return y;
}

/** The gradient (and DeconvNet rule) of slice: the signal in its places, zeros elsewhere. */
export function sliceBackward(rec: Recorder, gy: Tensor, g: SliceGeometry, xShape: readonly number[]): Tensor {
  checkRank(xShape, g, 'sliceBackward');
  if (!sameShape(gy.shape, g.outShape)) throw new ShapeError(`sliceBackward: signal [${gy.shape}] is not the slice's shape [${g.outShape}]`);
  const dx = rec.tensor(xShape, 'slice backward');
  const params = pack(dx.size, xShape, g.outShape, stridesOf(g.outShape), g);
  rec.dispatch({ ...sliceProgram(true, params, dx.size), buffers: [gy, dx] });
  return dx;
}

import {
  WORKGROUP, MAX_RANK, binaryParams, binaryKernel, reduceParams, reduceToShapeKernel, type BinaryOp,
} from '../../shaders/elementwise.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import { sameShape, shapeSize, type Tensor } from '../gpu/tensor.js';
import { ShapeError, UnsupportedError, OutOfRangeError } from '../gpu/errors.js';
import { channelSum } from './channel_sum.js';

export type { BinaryOp };
export { MAX_RANK };

function checkOperand(t: Tensor, opName: string, what: string): void {
  if (t.dtype !== 'f32') throw new ShapeError(`${opName}: ${what} must be f32, got ${t.dtype} [${t.shape}]`);
  if (t.shape.length > MAX_RANK) {
    throw new UnsupportedError(`${opName}: ${what} [${t.shape}] has rank ${t.shape.length}, over the ${MAX_RANK} supported`);
  }
}

/**
 * The numpy broadcast of two shapes (aligned at the last axis; each pair of
 * sizes equal or one of them 1), or a ShapeError naming the op and both shapes.
 */
export function broadcastShapes(a: readonly number[], b: readonly number[], opName: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k] ?? 1, db = b[b.length - rank + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${opName}: shapes [${a}] and [${b}] do not broadcast (axis ${k - rank}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** `shape` left-padded with 1s to MAX_RANK. */
function padded(shape: readonly number[]): number[] {
  return [...new Array<number>(MAX_RANK - shape.length).fill(1), ...shape];
}

/** Row-major strides of `shape` (padded to MAX_RANK), 0 on axes of size 1 so they broadcast. */
function broadcastStrides(shape: readonly number[]): number[] {
  const p = padded(shape);
  const strides = new Array<number>(MAX_RANK).fill(0);
  let s = 1;
  for (let k = MAX_RANK - 1; k >= 0; k--) {
    strides[k] = p[k] === 1 ? 0 : s;
    s *= p[k]!;
  }
  return strides;
}

function axisValues(prefix: string, values: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  values.forEach((v, k) => { out[`${prefix}${k}`] = v; });
  return out;
}

const OPS: Record<BinaryOp, true> = { add: true, sub: true, mul: true, div: true };

/**
 * y = scale * (a op b) with numpy broadcasting, up to rank 6. `scale`
 * (default 1) lets backward rules fold a sign or factor into the same pass.
 */
export function binary(rec: Recorder, op: BinaryOp, a: Tensor, b: Tensor, scale = 1): Tensor {
  if (!(op in OPS)) throw new OutOfRangeError(`binary: op must be add, sub, mul or div, got ${JSON.stringify(op)}`);
  checkOperand(a, op, 'first operand');
  checkOperand(b, op, 'second operand');
  const outShape = broadcastShapes(a.shape, b.shape, op);
  const same = sameShape(a.shape, outShape) && sameShape(b.shape, outShape);
  const y = rec.tensor(outShape, op);
  const params = binaryParams.pack({
    total: y.size, scale,
    ...axisValues('d', padded(outShape)), ...axisValues('sa', broadcastStrides(a.shape)), ...axisValues('sb', broadcastStrides(b.shape)),
  } as Parameters<typeof binaryParams.pack>[0]);
  const name = `${op}${same ? '' : ' (broadcast)'}`;
  rec.dispatch({ ...binaryKernel.program({ op, same }, params, dispatch1d(y.size, WORKGROUP), name), buffers: [a, b, y] });
  return y;
}

/** a + b, numpy broadcasting. */
export function add(rec: Recorder, a: Tensor, b: Tensor): Tensor { return binary(rec, 'add', a, b); }
/** a - b, numpy broadcasting. */
export function sub(rec: Recorder, a: Tensor, b: Tensor): Tensor { return binary(rec, 'sub', a, b); }
/** a * b, numpy broadcasting. */
export function mul(rec: Recorder, a: Tensor, b: Tensor): Tensor { return binary(rec, 'mul', a, b); }
/** a / b, numpy broadcasting (IEEE division: x / 0 is +-inf or NaN). */
export function div(rec: Recorder, a: Tensor, b: Tensor): Tensor { return binary(rec, 'div', a, b); }

/**
 * The gradient of a broadcast: sums `g` over the axes along which an operand
 * of `shape` was broadcast to g's shape, times `scale`. With equal shapes and
 * scale 1 there is nothing to do and `g` itself comes back (callers compare
 * buffers before releasing).
 */
export function reduceToShape(rec: Recorder, g: Tensor, shape: readonly number[], scale = 1): Tensor {
  checkOperand(g, 'reduceToShape', 'signal');
  if (sameShape(g.shape, shape) && scale === 1) return g;
  if (shape.length > g.shape.length || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(`reduceToShape: [${shape}] does not broadcast to the signal's shape [${g.shape}]`);
  }
  const target = [...new Array<number>(g.shape.length - shape.length).fill(1), ...shape];
  target.forEach((d, k) => {
    if (d !== 1 && d !== g.shape[k]) {
      throw new ShapeError(`reduceToShape: [${shape}] does not broadcast to the signal's shape [${g.shape}] (axis ${k - target.length}: ${d} vs ${g.shape[k]})`);
    }
  });
  const fast = scale === 1 ? asOuterKeptInner(g.shape, target) : null;
  if (fast) return channelSum(rec, g.reshape(fast)).reshape(shape);
  const gp = padded(g.shape), tp = padded(target);
  const reduced = gp.map((d, k) => (tp[k] === 1 ? d : 1));
  const strides = new Array<number>(MAX_RANK).fill(0);
  for (let k = MAX_RANK - 1, s = 1; k >= 0; k--) { strides[k] = s; s *= gp[k]!; }
  const out = rec.tensor(shape, 'reduceToShape');
  const params = reduceParams.pack({
    total: out.size, count: shapeSize(reduced), scale,
    ...axisValues('o', tp), ...axisValues('r', reduced), ...axisValues('s', strides),
  } as Parameters<typeof reduceParams.pack>[0]);
  rec.dispatch({ ...reduceToShapeKernel.program(undefined, params, dispatch1d(out.size, WORKGROUP), 'reduceToShape'), buffers: [g, out] });
  return out;
}

/**
 * When the axes the target keeps form one run (the others are summed or of
 * size 1), the reduction is a per-channel sum of g seen as [outer, kept,
 * inner], which channelSum does with parallel partial sums instead of one
 * serial loop per output element. Returns that 3-D view's shape, or null.
 */
function asOuterKeptInner(gShape: readonly number[], target: readonly number[]): [number, number, number] | null {
  let first = -1, last = -1;
  for (let k = 0; k < gShape.length; k++) {
    if (gShape[k]! > 1 && target[k] === gShape[k]) {
      if (first < 0) first = k;
      last = k;
    }
  }
  if (first < 0) return [1, 1, shapeSize(gShape)];
  for (let k = first; k <= last; k++) if (target[k] !== gShape[k]) return null;
  return [shapeSize(gShape.slice(0, first)), shapeSize(gShape.slice(first, last + 1)), shapeSize(gShape.slice(last + 1))];
}

/**
 * The gradients of y = a (op) b for both operands, each reduced to its
 * operand's shape, given dL/dy `g` (shape of y) and the forward output `y`
 * (only div reads it). Either may be `g` itself (add, same shapes).
 * Intermediate products are scratch released after submit.
 */
export function binaryBackward(rec: Recorder, op: BinaryOp, g: Tensor, a: Tensor, b: Tensor, y?: Tensor): [Tensor, Tensor] {
  const outShape = broadcastShapes(a.shape, b.shape, `${op} backward`);
  if (!sameShape(g.shape, outShape)) {
    throw new ShapeError(`${op} backward: signal [${g.shape}] is not the broadcast shape [${outShape}] of [${a.shape}] and [${b.shape}]`);
  }
  const reduceTemp = (t: Tensor, shape: readonly number[], scale = 1) => {
    const r = reduceToShape(rec, t, shape, scale);
    if (r !== t && t !== g) rec.temp(t);
    return r;
  };
  switch (op) {
    case 'add': return [reduceToShape(rec, g, a.shape), reduceToShape(rec, g, b.shape)];
    case 'sub': return [reduceToShape(rec, g, a.shape), reduceToShape(rec, g, b.shape, -1)];
    case 'mul': return [reduceTemp(binary(rec, 'mul', g, b), a.shape), reduceTemp(binary(rec, 'mul', g, a), b.shape)];
    case 'div': {
      if (!y || !sameShape(y.shape, outShape)) {
        throw new ShapeError(`div backward: the forward output [${y?.shape ?? 'missing'}] must have shape [${outShape}]`);
      }
      // d(a/b)/db = -a/b^2 = -(a/b)/b, so both gradients need g/b.
      const gOverB = binary(rec, 'div', g, b);
      const db = reduceTemp(binary(rec, 'mul', gOverB, y, -1), b.shape);
      const da = reduceToShape(rec, gOverB, a.shape);
      if (da !== gOverB) rec.temp(gOverB);
      return [da, db];
    }
    default: throw new OutOfRangeError(`binaryBackward: op must be add, sub, mul or div, got ${JSON.stringify(op)}`);
  }
}

/** The gradients of y = a * b: g * b reduced to a's shape and g * a reduced to b's. */
export function mulBackward(rec: Recorder, g: Tensor, a: Tensor, b: Tensor): [Tensor, Tensor] {
  return binaryBackward(rec, 'mul', g, a, b);
}

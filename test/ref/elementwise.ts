// Float64 references for broadcast element-wise ops, written from numpy's
// rule: shapes align at the last axis, an axis of size 1 repeats its single
// element. Every output element is located by its coordinates; an operand
// reads coordinate 0 on its broadcast axes.

export type RefBinaryOp = 'add' | 'sub' | 'mul' | 'div';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export function broadcastShapeRef(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k] ?? 1, db = b[b.length - rank + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`ref: [${a}] and [${b}] do not broadcast`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** Coordinates of flat index i in `shape`. */
export function coords(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) { c[k] = i % shape[k]!; i = Math.floor(i / shape[k]!); }
  return c;
}

/** Flat index in `shape` of output coordinates `c` (of a possibly higher rank), broadcasting axes of size 1. */
export function sourceIndex(c: readonly number[], shape: readonly number[]): number {
  const lead = c.length - shape.length;
  let idx = 0;
  for (let k = 0; k < shape.length; k++) idx = idx * shape[k]! + (shape[k] === 1 ? 0 : c[lead + k]!);
  return idx;
}

export function expandRef(x: ArrayLike<number>, shape: readonly number[], outShape: readonly number[]): Float64Array {
  const y = new Float64Array(size(outShape));
  for (let i = 0; i < y.length; i++) y[i] = x[sourceIndex(coords(i, outShape), shape)]!;
  return y;
}

export function binaryRef(op: RefBinaryOp, a: ArrayLike<number>, aShape: readonly number[], b: ArrayLike<number>, bShape: readonly number[]): { y: Float64Array; shape: number[] } {
  const shape = broadcastShapeRef(aShape, bShape);
  const y = new Float64Array(size(shape));
  for (let i = 0; i < y.length; i++) {
    const c = coords(i, shape);
    const va = a[sourceIndex(c, aShape)]!, vb = b[sourceIndex(c, bShape)]!;
    y[i] = op === 'add' ? va + vb : op === 'sub' ? va - vb : op === 'mul' ? va * vb : va / vb;
  }
  return { y, shape };
}

/** Sums g (of gShape) into `shape`: every g element lands on the element it was broadcast from. */
export function reduceRef(g: ArrayLike<number>, gShape: readonly number[], shape: readonly number[]): Float64Array {
  const out = new Float64Array(size(shape));
  for (let i = 0; i < g.length; i++) out[sourceIndex(coords(i, gShape), shape)]! += g[i]!;
  return out;
}

/** d(a op b)/da and /db per output element, times g, each reduced to its operand's shape. */
export function binaryBackwardRef(op: RefBinaryOp, g: ArrayLike<number>, a: ArrayLike<number>, aShape: readonly number[], b: ArrayLike<number>, bShape: readonly number[]): [Float64Array, Float64Array] {
  const shape = broadcastShapeRef(aShape, bShape);
  const da = new Float64Array(size(aShape)), db = new Float64Array(size(bShape));
  for (let i = 0; i < g.length; i++) {
    const c = coords(i, shape);
    const ia = sourceIndex(c, aShape), ib = sourceIndex(c, bShape);
    const va = a[ia]!, vb = b[ib]!, gi = g[i]!;
    const [pa, pb] = op === 'add' ? [1, 1] : op === 'sub' ? [1, -1] : op === 'mul' ? [vb, va] : [1 / vb, -va / (vb * vb)];
    da[ia]! += gi * pa;
    db[ib]! += gi * pb;
  }
  return [da, db];
}

export function sumRef(xs: ReadonlyArray<ArrayLike<number>>): Float64Array {
  const y = new Float64Array(xs[0]!.length);
  for (const x of xs) for (let i = 0; i < y.length; i++) y[i]! += x[i]!;
  return y;
}

/** J v of y = a op b along one operand: v has that operand's shape; the result has y's. */
export function binaryJvpRef(op: RefBinaryOp, which: 'a' | 'b', v: ArrayLike<number>, a: ArrayLike<number>, aShape: readonly number[], b: ArrayLike<number>, bShape: readonly number[]): Float64Array {
  const shape = broadcastShapeRef(aShape, bShape);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const c = coords(i, shape);
    const va = a[sourceIndex(c, aShape)]!, vb = b[sourceIndex(c, bShape)]!;
    const vi = v[sourceIndex(c, which === 'a' ? aShape : bShape)]!;
    const d = which === 'a'
      ? (op === 'mul' ? vb : op === 'div' ? 1 / vb : 1)
      : (op === 'add' ? 1 : op === 'sub' ? -1 : op === 'mul' ? va : -va / (vb * vb));
    out[i] = vi * d;
  }
  return out;
}

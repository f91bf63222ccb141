// Constants an ONNX graph makes itself (ConstantOfShape, Range, and the
// Expand / Tile / Transpose / Slice / Reshape / Cast / scalar arithmetic
// applied to them), kept as a formula of the flat index instead of values:
// value j = start + sum_t coef_t * (j / div_t % mod_t) (src/ops/fill.ts). A
// layer that takes one as weights has it written on the GPU by the fill
// kernel, whatever its size (VGG-19's fc6 is 411 MB); only where the importer
// needs the values themselves (shape arithmetic) is a small one evaluated on
// the host.
//
// A formula stays a formula through index remappings only while it is linear
// in the flat index (a fill, or one Range term): the remapped index is then a
// sum of one term per axis. Anything else returns null, and the caller
// evaluates small constants on the host or refuses large ones.
import { MAX_FILL_TERMS, fillValue, type FillSpec, type FillTerm } from '../../../ops/fill.js';
import type { HostTensor } from '../onnx_tensor.js';

export interface GenTensor {
  readonly dtype: 'float32' | 'int64';
  readonly dims: readonly number[];
  readonly start: number;
  readonly terms: readonly FillTerm[];
}

export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Row-major strides of `dims`. */
export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/** Drops terms that add nothing and merges a term with the next coarser one when together they count on. */
function simplify(terms: readonly FillTerm[], count: number): FillTerm[] {
  const live = terms.filter((t) => t.coef !== 0 && t.mod > 1 && t.div < count).sort((p, q) => p.div - q.div);
  const out: FillTerm[] = [];
  for (const t of live) {
    const last = out[out.length - 1];
    if (last && last.div * last.mod === t.div && last.coef * last.mod === t.coef) {
      out[out.length - 1] = { coef: last.coef, div: last.div, mod: last.mod * t.mod };
    } else {
      out.push({ ...t, mod: Math.min(t.mod, Math.ceil(count / t.div)) });
    }
  }
  return out;
}

function make(dtype: GenTensor['dtype'], dims: readonly number[], start: number, terms: readonly FillTerm[]): GenTensor | null {
  const t = simplify(terms, size(dims));
  return t.length > MAX_FILL_TERMS ? null : { dtype, dims: [...dims], start, terms: t };
}

export function constantOfShape(dims: readonly number[], value: number, dtype: GenTensor['dtype']): GenTensor {
  return { dtype, dims: [...dims], start: value, terms: [] };
}

/** Range(start, limit, delta): ceil((limit - start) / delta) values start + k delta. */
export function range(start: number, limit: number, delta: number, dtype: GenTensor['dtype']): GenTensor {
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  return { dtype, dims: [n], start, terms: [{ coef: delta, div: 1, mod: Math.max(n, 1) }] };
}

/** The same values under other dims (Reshape, Flatten, Squeeze, Unsqueeze). */
export function reshaped(g: GenTensor, dims: readonly number[]): GenTensor {
  return { ...g, dims: [...dims] };
}

/** Cast: to float always; to int64 only when every value stays an integer. */
export function cast(g: GenTensor, dtype: GenTensor['dtype']): GenTensor | null {
  if (dtype === 'float32' || g.dtype === 'int64') return { ...g, dtype };
  if (g.terms.length === 0) return { ...g, dtype, start: Math.trunc(g.start) };
  const integral = Number.isInteger(g.start) && g.terms.every((t) => Number.isInteger(t.coef));
  return integral ? { ...g, dtype } : null;
}

/** g (op) c, or c (op) g with `constantFirst`, for one host value c. Null where it is not affine. */
export function scalarOp(g: GenTensor, op: 'Add' | 'Sub' | 'Mul' | 'Div', c: number, constantFirst: boolean, dtype: GenTensor['dtype']): GenTensor | null {
  const scale = (k: number, add: number) => ({ dtype, dims: g.dims, start: g.start * k + add, terms: g.terms.map((t) => ({ ...t, coef: t.coef * k })) });
  if (dtype === 'int64' && op === 'Div') return null; // integer division truncates
  switch (op) {
    case 'Add': return scale(1, c);
    case 'Sub': return constantFirst ? scale(-1, c) : scale(1, -c);
    case 'Mul': return scale(c, 0);
    case 'Div':
      if (!constantFirst) return c === 0 ? null : scale(1 / c, 0);
      return g.terms.length === 0 && g.start !== 0 ? { ...g, dtype, start: c / g.start } : null;
  }
}

/** A formula linear in the flat index: start + slope * j. */
function linear(g: GenTensor): { start: number; slope: number } | null {
  if (g.terms.length === 0) return { start: g.start, slope: 0 };
  const t = g.terms[0]!;
  return g.terms.length === 1 && t.div === 1 && t.mod >= size(g.dims) ? { start: g.start, slope: t.coef } : null;
}

/**
 * Output `dims` whose element at multi-index o reads the source at flat index
 * base + sum_k step_k * (o_k % wrap_k): one term per output axis.
 */
function remap(g: GenTensor, dims: readonly number[], base: number, axes: Array<{ step: number; wrap: number }>): GenTensor | null {
  const lin = linear(g);
  if (!lin) return null;
  if (lin.slope === 0) return { ...g, dims: [...dims] };
  const os = strides(dims);
  const terms = axes.map((a, k) => ({ coef: lin.slope * a.step, div: os[k]!, mod: Math.min(a.wrap, dims[k]!) }));
  return make(g.dtype, dims, lin.start + lin.slope * base, terms);
}

/** numpy broadcasting of g to `target` (Expand: the result has the larger of each dim). */
export function expand(g: GenTensor, target: readonly number[]): GenTensor | null {
  const rank = Math.max(g.dims.length, target.length);
  const src = [...Array(rank - g.dims.length).fill(1), ...g.dims] as number[];
  const tgt = [...Array(rank - target.length).fill(1), ...target] as number[];
  if (src.some((d, k) => d !== tgt[k] && d !== 1 && tgt[k] !== 1)) return null;
  const dims = src.map((d, k) => Math.max(d, tgt[k]!));
  const ss = strides(src);
  return remap(g, dims, 0, dims.map((d, k) => ({ step: src[k] === 1 ? 0 : ss[k]!, wrap: d })));
}

export function tile(g: GenTensor, repeats: readonly number[]): GenTensor | null {
  if (repeats.length !== g.dims.length) return null;
  const dims = g.dims.map((d, k) => d * repeats[k]!);
  const ss = strides(g.dims);
  return remap(g, dims, 0, g.dims.map((d, k) => ({ step: ss[k]!, wrap: d })));
}

export function transpose(g: GenTensor, perm: readonly number[]): GenTensor | null {
  const ss = strides(g.dims);
  const dims = perm.map((p) => g.dims[p]!);
  return remap(g, dims, 0, perm.map((p, k) => ({ step: ss[p]!, wrap: dims[k]! })));
}

/** A resolved slice: out_k = start_k + step_k * o_k on every axis. */
export function slice(g: GenTensor, geo: { start: number[]; step: number[]; outShape: number[] }): GenTensor | null {
  const ss = strides(g.dims);
  const base = geo.start.reduce((s, v, k) => s + v * ss[k]!, 0);
  return remap(g, geo.outShape, base, geo.outShape.map((d, k) => ({ step: geo.step[k]! * ss[k]!, wrap: d })));
}

/** The formula the GPU evaluates (its float32 values). */
export function fillSpec(g: GenTensor): FillSpec {
  return { kind: 'fill', count: size(g.dims), start: g.start, terms: g.terms };
}

/** The values on the host. */
export function evaluate(g: GenTensor): HostTensor {
  const spec = fillSpec(g);
  const n = size(g.dims);
  if (g.dtype === 'int64') return { dtype: 'int64', dims: [...g.dims], data: Array.from({ length: n }, (_, j) => Math.trunc(fillValue(spec, j))) };
  const data = new Float32Array(n);
  for (let j = 0; j < n; j++) data[j] = fillValue(spec, j);
  return { dtype: 'float32', dims: [...g.dims], data };
}

export const elementCount = (g: GenTensor) => size(g.dims);

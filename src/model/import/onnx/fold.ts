// Constants folded while the graph is read: shape arithmetic on the host
// (Shape, Gather, Concat, Unsqueeze... feeding a Reshape, as older PyTorch
// exports write it), bounded by FOLD_LIMIT, and constants the graph creates
// (ConstantOfShape, Range, and Expand / Tile / Slice / ... of them), kept as
// formulas that the layers write on the GPU (see generated.ts).
import { FormatError, ShapeError, UnsupportedError } from '../../../gpu/errors.js';
import { Attrs, type HostTensor } from '../onnx_tensor.js';
import * as gen from './generated.js';
import { strides, type GenTensor } from './generated.js';
import { isComputed, size, foldable, GraphBuilder, input, sliceInputs, sliceGeometryAt, type Node, type Value } from './graph.js';

export function hostOf(dtype: HostTensor['dtype'], dims: number[], data: ArrayLike<number>): HostTensor {
  return dtype === 'float32' ? { dtype, dims, data: Float32Array.from(data) } : { dtype, dims, data: Array.from(data) };
}

export function broadcastHost(a: Attrs, x: HostTensor, y: HostTensor, f: (p: number, q: number) => number): HostTensor {
  const rank = Math.max(x.dims.length, y.dims.length);
  const xd = [...Array(rank - x.dims.length).fill(1), ...x.dims], yd = [...Array(rank - y.dims.length).fill(1), ...y.dims];
  const dims = xd.map((d, i) => {
    const e = yd[i]!;
    if (d !== e && d !== 1 && e !== 1) throw new ShapeError(`${a.where}: constants [${x.dims}] and [${y.dims}] do not broadcast`);
    return Math.max(d, e);
  });
  foldable(a, dims);
  const n = size(dims), os = strides(dims), xs = strides(xd), ys = strides(yd);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let xi = 0, yi = 0, r = i;
    for (let k = 0; k < rank; k++) {
      const c = Math.floor(r / os[k]!); r -= c * os[k]!;
      if (xd[k] !== 1) xi += c * xs[k]!;
      if (yd[k] !== 1) yi += c * ys[k]!;
    }
    out[i] = f(x.data[xi]!, y.data[yi]!);
  }
  const dtype = x.dtype === 'float32' || y.dtype === 'float32' ? 'float32' : 'int64';
  return hostOf(dtype, dims, dtype === 'int64' ? out.map(Math.trunc) : out);
}

export function transposeHost(x: HostTensor, perm: number[]): HostTensor {
  const dims = perm.map((p) => x.dims[p]!);
  const xs = strides(x.dims), os = strides(dims);
  const out = new Array<number>(size(dims));
  for (let i = 0; i < out.length; i++) {
    let src = 0, r = i;
    for (let k = 0; k < dims.length; k++) {
      const c = Math.floor(r / os[k]!); r -= c * os[k]!;
      src += c * xs[perm[k]!]!;
    }
    out[i] = x.data[src]!;
  }
  return hostOf(x.dtype, dims, out);
}

export function concatHost(a: Attrs, xs: HostTensor[], axis: number): HostTensor {
  const rank = xs[0]!.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank || xs.some((x) => x.dims.length !== rank)) throw new FormatError(`${a.where}: axis ${axis} does not fit the constants`);
  const outer = size(xs[0]!.dims.slice(0, ax));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const chunk = size(x.dims.slice(ax));
      for (let i = 0; i < chunk; i++) out.push(x.data[o * chunk + i]!);
    }
  }
  const dims = [...xs[0]!.dims];
  dims[ax] = xs.reduce((s, x) => s + x.dims[ax]!, 0);
  return hostOf(xs.some((x) => x.dtype === 'float32') ? 'float32' : 'int64', dims, out);
}

/** Dims after Reshape / Flatten / Squeeze / Unsqueeze of a constant of `dims`: the values stay in order. */
export function constantDims(g: GraphBuilder, node: Node, a: Attrs, dims: readonly number[]): number[] {
  const op = node.opType ?? '';
  if (op === 'Reshape') {
    const target = g.opset < 5 ? a.ints('shape') : g.ints(input(node, 1), a.where);
    a.int('allowzero', 0);
    const known = size(target.filter((d) => d !== -1).map((d, i) => (d === 0 ? dims[i]! : d)));
    const out = target.map((d, i) => (d === 0 ? dims[i]! : d === -1 ? size(dims) / known : d));
    if (size(out) !== size(dims)) throw new ShapeError(`${a.where}: cannot reshape constant [${dims}] to [${target}]`);
    return out;
  }
  if (op === 'Flatten') {
    const axis = a.int('axis', 1);
    const ax = axis < 0 ? axis + dims.length : axis;
    return [size(dims.slice(0, ax)), size(dims.slice(ax))];
  }
  const axes = g.opset >= 13 && input(node, 1) ? g.ints(input(node, 1), a.where) : a.ints('axes', op === 'Squeeze' ? [] : undefined);
  let out = [...dims];
  if (op === 'Squeeze') {
    const norm = axes.map((d) => (d < 0 ? d + out.length : d));
    out = axes.length ? out.filter((_, i) => !norm.includes(i)) : out.filter((d) => d !== 1);
  } else {
    const rank = out.length + axes.length;
    for (const ax of axes.map((d) => (d < 0 ? d + rank : d)).sort((p, q) => p - q)) out.splice(ax, 0, 1);
  }
  return out;
}

/** One scalar of a constant input (Range's start, limit, delta). */
export function scalarInput(g: GraphBuilder, node: Node, a: Attrs, i: number, what: string): number {
  const h = g.host(input(node, i), a.where);
  if (size(h.dims) !== 1) throw new FormatError(`${a.where}: ${what} has shape [${h.dims}]; a scalar is expected`);
  return Number(h.data[0]);
}

export const ONNX_CAST_TYPES: Record<number, HostTensor['dtype']> = { 1: 'float32', 11: 'float32', 6: 'int64', 7: 'int64' };

/**
 * Constants the graph creates (ConstantOfShape, Range) and ops on them that
 * keep them a formula for the GPU (see onnx_generated.ts). Null: the op is
 * folded on the host instead (evaluating small generated inputs there).
 */
export function foldGenerated(g: GraphBuilder, node: Node, a: Attrs): GenTensor | null {
  const op = node.opType ?? '';
  if (op === 'ConstantOfShape') {
    const dims = Array.from(g.host(input(node, 0), a.where).data as ArrayLike<number>, Number);
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new FormatError(`${a.where}: shape [${dims}] must be non-negative integers`);
    g.plausibleConstant(a, dims);
    const v = a.tensor('value') ?? { dtype: 'float32' as const, dims: [1], data: Float32Array.of(0) };
    if (size(v.dims) !== 1) throw new FormatError(`${a.where}: value has shape [${v.dims}]; one element is expected`);
    return gen.constantOfShape(dims, Number(v.data[0]), v.dtype);
  }
  if (op === 'Range') {
    const [start, limit, delta] = [0, 1, 2].map((i) => scalarInput(g, node, a, i, ['start', 'limit', 'delta'][i]!)) as [number, number, number];
    if (delta === 0 || !Number.isFinite(start + limit + delta)) throw new FormatError(`${a.where}: Range(${start}, ${limit}, ${delta}) has no finite length`);
    const float = [0, 1, 2].some((i) => g.host(input(node, i), a.where).dtype === 'float32');
    const r = gen.range(start, limit, delta, float ? 'float32' : 'int64');
    g.plausibleConstant(a, r.dims);
    return r;
  }
  const values = (node.input ?? []).filter((n) => n !== '').map((n) => g.value(n, a.where));
  if (['Add', 'Sub', 'Mul', 'Div'].includes(op)) return scalarArithmetic(a, op as 'Add', values);
  const x = values[0];
  if (!x || !('gen' in x)) return null;
  const src = x.gen;
  switch (op) {
    case 'Identity': case 'Dropout':
      a.ignore('ratio', 'is_test', 'seed', 'training_mode');
      return src;
    case 'Cast': {
      const to = ONNX_CAST_TYPES[a.int('to')];
      return to ? gen.cast(src, to) : null;
    }
    case 'Reshape': case 'Flatten': case 'Squeeze': case 'Unsqueeze':
      return gen.reshaped(src, constantDims(g, node, a, src.dims));
    case 'Transpose':
      return gen.transpose(src, a.ints('perm', src.dims.map((_, i) => src.dims.length - 1 - i)));
    case 'Slice':
      return gen.slice(src, sliceGeometryAt(a, src.dims, sliceInputs(g, node, a)));
    case 'Expand': {
      const target = g.ints(input(node, 1), a.where);
      g.plausibleConstant(a, target);
      return gen.expand(src, target);
    }
    case 'Tile': {
      const repeats = g.ints(input(node, 1), a.where);
      if (repeats.some((r) => !Number.isSafeInteger(r) || r < 0)) throw new FormatError(`${a.where}: repeats [${repeats}] must be non-negative integers`);
      g.plausibleConstant(a, src.dims.map((d, k) => d * (repeats[k] ?? 1)));
      return gen.tile(src, repeats);
    }
    default:
      return null;
  }
}

/** The one value of a one-element constant: a host one, or a generated fill. */
export function scalarOf(v: Value): { value: number; dtype: HostTensor['dtype']; rank: number } | null {
  if ('host' in v) return size(v.host.dims) === 1 ? { value: Number(v.host.data[0]), dtype: v.host.dtype, rank: v.host.dims.length } : null;
  if ('gen' in v) return size(v.gen.dims) === 1 && v.gen.terms.length === 0 ? { value: v.gen.start, dtype: v.gen.dtype, rank: v.gen.dims.length } : null;
  return null;
}

/** A generated constant (op) a one-element constant, either way round: still a formula. */
export function scalarArithmetic(a: Attrs, op: 'Add' | 'Sub' | 'Mul' | 'Div', values: Value[]): GenTensor | null {
  a.ignore('broadcast', 'axis');
  if (values.length !== 2) throw new FormatError(`${a.where}: takes 2 inputs, has ${values.length}`);
  const [p, q] = values as [Value, Value];
  const genFirst = 'gen' in p && scalarOf(q) !== null;
  const x = genFirst ? p : q, c = scalarOf(genFirst ? q : p);
  if (!('gen' in x) || !c || c.rank > x.gen.dims.length) return null;
  return gen.scalarOp(x.gen, op, c.value, !genFirst, x.gen.dtype === 'float32' || c.dtype === 'float32' ? 'float32' : 'int64');
}

/** Folds a node whose inputs are all constants; returns null when the op is not a foldable one. */
export function foldConstant(g: GraphBuilder, node: Node, a: Attrs): HostTensor | null {
  const op = node.opType ?? '';
  const inputs = (node.input ?? []).filter((n) => n !== '');
  const hosts = (count = 1) => {
    if (inputs.length < count) throw new FormatError(`${a.where}: takes ${count} input(s), has ${inputs.length}`);
    return inputs.map((n) => g.host(n, a.where));
  };
  switch (op) {
    case 'Identity': case 'Dropout': {
      a.ignore('ratio', 'is_test', 'seed', 'training_mode');
      return hosts()[0]!;
    }
    case 'Cast': {
      const to = a.int('to');
      const x = hosts()[0]!;
      if (to === 1 || to === 11) return hostOf('float32', x.dims, x.data);
      if (to === 6 || to === 7) return hostOf('int64', x.dims, Array.from(x.data, Math.trunc));
      throw new UnsupportedError(`${a.where}: Cast to type ${to} is not supported`);
    }
    case 'Reshape': case 'Flatten': case 'Squeeze': case 'Unsqueeze': {
      const x = hosts()[0]!;
      return hostOf(x.dtype, constantDims(g, node, a, x.dims), x.data);
    }
    case 'Transpose': {
      const x = hosts()[0]!;
      const perm = a.ints('perm', x.dims.map((_, i) => x.dims.length - 1 - i));
      if (perm.length !== x.dims.length || perm.some((p, i) => perm.indexOf(p) !== i || !(p >= 0 && p < perm.length))) {
        throw new FormatError(`${a.where}: perm [${perm}] is not a permutation of the axes of constant [${x.dims}]`);
      }
      return transposeHost(x, perm);
    }
    case 'Concat':
      return concatHost(a, hosts(), a.int('axis'));
    case 'Gather': {
      const [x, idx] = hosts(2) as [HostTensor, HostTensor];
      const axis = a.int('axis', 0);
      const ax = axis < 0 ? axis + x.dims.length : axis;
      if (!(ax >= 0 && ax < x.dims.length)) throw new FormatError(`${a.where}: axis ${axis} is out of range for constant [${x.dims}]`);
      const outer = size(x.dims.slice(0, ax)), inner = size(x.dims.slice(ax + 1)), n = x.dims[ax]!;
      const out: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const raw of idx.data) {
          const i = raw < 0 ? raw + n : raw;
          if (i < 0 || i >= n) throw new FormatError(`${a.where}: index ${raw} is out of range for axis of size ${n}`);
          for (let k = 0; k < inner; k++) out.push(x.data[(o * n + i) * inner + k]!);
        }
      }
      return hostOf(x.dtype, [...x.dims.slice(0, ax), ...idx.dims, ...x.dims.slice(ax + 1)], out);
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': {
      const [x, y] = hosts(2) as [HostTensor, HostTensor];
      const f = { Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q, Mul: (p: number, q: number) => p * q, Div: (p: number, q: number) => p / q }[op];
      a.ignore('broadcast', 'axis');
      return broadcastHost(a, x, y, f);
    }
    case 'Slice': {
      const x = hosts()[0]!;
      const spec = sliceInputs(g, node, a);
      const geo = sliceGeometryAt(a, x.dims, spec);
      const out: number[] = [];
      const xs = strides(x.dims);
      const n = size(geo.outShape), os = strides(geo.outShape);
      for (let i = 0; i < n; i++) {
        let src = 0, r = i;
        for (let k = 0; k < geo.outShape.length; k++) {
          const c = Math.floor(r / os[k]!); r -= c * os[k]!;
          src += (geo.start[k]! + c * geo.step[k]!) * xs[k]!;
        }
        out.push(x.data[src]!);
      }
      return hostOf(x.dtype, geo.outShape, out);
    }
    case 'Expand': {
      const [x, shape] = hosts(2) as [HostTensor, HostTensor];
      const dims = Array.from(shape.data as ArrayLike<number>, Number);
      foldable(a, dims);
      return broadcastHost(a, x, { dtype: 'int64', dims, data: new Array<number>(size(dims)).fill(0) }, (p) => p);
    }
    case 'Tile': {
      const [x, repeats] = hosts(2) as [HostTensor, HostTensor];
      const r = repeats.data.map(Number);
      if (r.length !== x.dims.length) throw new FormatError(`${a.where}: repeats [${r}] do not match constant [${x.dims}]`);
      const dims = x.dims.map((d, k) => d * r[k]!);
      foldable(a, dims);
      const xs = strides(x.dims), os = strides(dims);
      const out = Array.from({ length: size(dims) }, (_, i) => x.data[dims.reduce((src, _, k) => src + ((Math.floor(i / os[k]!) % dims[k]!) % x.dims[k]!) * xs[k]!, 0)]!);
      return hostOf(x.dtype, dims, out);
    }
    case 'ReduceProd': {
      const x = hosts()[0]!;
      const axes = g.opset >= 18 && input(node, 1) ? g.ints(input(node, 1), a.where) : a.optionalInts('axes') ?? [];
      a.int('noop_with_empty_axes', 0);
      if (axes.length > 0 && axes.length !== x.dims.length) throw new UnsupportedError(`${a.where}: ReduceProd of constants over some axes [${axes}] is not supported (all axes are)`);
      const keep = a.int('keepdims', 1) === 1;
      return hostOf(x.dtype, keep ? x.dims.map(() => 1) : [], [Array.from(x.data as ArrayLike<number>).reduce((p, q) => p * q, 1)]);
    }
    default:
      return null;
  }
}

/** Ops that only make constants: a host constant, or a generated one. */
export function constantNode(g: GraphBuilder, node: Node, a: Attrs): Value | null {
  const op = node.opType ?? '';
  if (op === 'Constant') {
    const t = a.tensor('value');
    if (t) return { host: t };
    const f = a.has('value_float') ? [a.float('value_float')] : a.floats('value_floats');
    if (f) return { host: { dtype: 'float32', dims: a.has('value_float') ? [] : [f.length], data: Float32Array.from(f) } };
    const i = a.has('value_int') ? [a.int('value_int')] : a.optionalInts('value_ints');
    if (i) return { host: { dtype: 'int64', dims: a.has('value_int') ? [] : [i.length], data: i } };
    throw new UnsupportedError(`${a.where}: Constant without a tensor, float or int value is not supported`);
  }
  if (op === 'Shape') {
    const x = g.value(input(node, 0), a.where);
    const dims = 'host' in x ? x.host.dims : 'gen' in x ? [...x.gen.dims] : g.visible(x.shape);
    const start = a.int('start', 0), end = a.int('end', dims.length);
    const data = dims.slice(start, end);
    return { host: { dtype: 'int64', dims: [data.length], data } };
  }
  const inputs = (node.input ?? []).filter((n) => n !== '');
  if (inputs.length === 0 || inputs.some((n) => isComputed(g.value(n, a.where)))) return null;
  const generated = foldGenerated(g, node, a);
  if (generated) return { gen: generated };
  const host = foldConstant(g, node, a);
  return host ? { host } : null;
}

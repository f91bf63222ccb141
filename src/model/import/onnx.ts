// ONNX import: a ModelProto becomes a graph model of the library's layers.
//
// The library's models keep the batch on axis 0 and describe everything else
// per image, so ONNX's axis 0 is read as the batch: graph inputs give their
// per-image shape (dims after the first), Reshape/Flatten/Transpose/Concat/
// Softmax/Squeeze axes are shifted by one, and an op that would mix images
// (a reshape or transpose of axis 0) is rejected. Shape arithmetic on
// constants (Shape, Gather, Concat, Unsqueeze... feeding a Reshape, as older
// PyTorch exports do) is folded here on the CPU; every other op becomes one
// node (a few become two or three: softmax over a coerced 2-D view).
import type { onnx } from 'onnx-proto';
import type { Runtime } from '../../gpu/runtime.js';
import { FormatError, ShapeError, UnsupportedError } from '../../gpu/errors.js';
import type { AnyLayer } from '../../layers/layer.js';
import { Conv2D } from '../../layers/conv2d.js';
import { Conv2DTranspose } from '../../layers/conv2d_transpose.js';
import { Activation, PReLU } from '../../layers/activation.js';
import { MaxPool2D } from '../../layers/maxpool2d.js';
import { AvgPool2D } from '../../layers/avgpool2d.js';
import { GlobalAvgPool2D } from '../../layers/global_avgpool2d.js';
import { GlobalMaxPool2D } from '../../layers/global_maxpool2d.js';
import { LRN } from '../../layers/lrn.js';
import { BatchNorm } from '../../layers/batchnorm.js';
import { Dense } from '../../layers/dense.js';
import { Flatten } from '../../layers/flatten.js';
import { Reshape } from '../../layers/reshape.js';
import { Transpose } from '../../layers/transpose.js';
import { Softmax } from '../../layers/softmax.js';
import { Pad2D } from '../../layers/pad2d.js';
import { Add } from '../../layers/add.js';
import { Mul } from '../../layers/mul.js';
import { Concat } from '../../layers/concat.js';
import { MatMul } from '../../layers/matmul.js';
import { ConstantOp } from '../../layers/constant_op.js';
import { Resize2D } from '../../layers/resize.js';
import { Slice } from '../../layers/slice.js';
import { createModel, type Model, type ModelSpec, type GraphNode, type ModelInput } from '../model.js';
import { conv2dOutputShape } from '../../ops/conv2d.js';
import { conv2dTransposeOutputShape } from '../../ops/conv2d_transpose.js';
import { poolGeometry } from '../../ops/pool_geometry.js';
import { broadcastShapes } from '../../ops/elementwise.js';
import { SELU_ALPHA, SELU_GAMMA } from '../../ops/activation.js';
import { resizeTable, COORDINATE_TRANSFORMATIONS, NEAREST_ROUNDINGS, type ResizeAttrs } from '../../ops/resize.js';
import { sliceGeometry, type SliceSpec } from '../../ops/slice.js';
import { DeconvNetError } from '../../gpu/errors.js';
import { Attrs, decodeModel, tensorFromProto, toNumber, type HostTensor } from './onnx_tensor.js';
import * as gen from './onnx_generated.js';
import type { GenTensor } from './onnx_generated.js';
import { fillsSettled, type Weights } from '../../ops/fill.js';

export interface OnnxImportOptions {
  /** Names the file in error messages. */
  fileName?: string;
  /** Per-image shapes for graph inputs whose dimensions are symbolic (e.g. { input: [3, 224, 224] }). */
  inputShapes?: Record<string, number[]>;
  /**
   * Whether ONNX axis 0 is the batch (true, every image model) or the graph
   * has none (false: e.g. a product of two matrices fed as inputs). Default:
   * decided from the graph (see hasNoBatchAxis).
   */
  batchAxis?: boolean;
}

export interface OnnxImport {
  spec: ModelSpec;
  /** The ONNX names of the graph inputs and outputs, in the model's order. */
  inputNames: string[];
  outputNames: string[];
  opset: number;
  /**
   * false when the graph was read without a batch axis: each model input is
   * one whole ONNX tensor (run it with batch 1), and the model's outputs
   * carry an extra leading 1 that ONNX does not have.
   */
  batchAxis: boolean;
}

type Node = onnx.INodeProto;
type Pads = [top: number, left: number, bottom: number, right: number];

/**
 * What flows along an edge: a node's output (per-image shape), a constant on
 * the host, or a constant the graph generates (a formula the GPU evaluates).
 */
type Value = { node: string; shape: number[] } | { host: HostTensor } | { gen: GenTensor };
type Computed = { node: string; shape: number[] };

const isComputed = (v: Value): v is Computed => 'node' in v;

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** 1 GiB of float32 per image. */
const MAX_VALUES_PER_IMAGE = 2 ** 28;
/** 8 GiB of float32: beyond any device's buffers, and the fill formula's 32-bit index. */
const MAX_CONSTANT_VALUES = 2 ** 31;

class GraphBuilder {
  readonly values = new Map<string, Value>();
  readonly nodes: GraphNode[] = [];
  readonly #names = new Set<string>();
  /** Outputs no node may read (a max pool's Indices, a dropout's mask). */
  readonly unreadable = new Map<string, string>();

  /**
   * `whole`: the graph has no batch axis (see `batchAxis`): every ONNX tensor
   * is one per-image value, and the model runs with batch 1.
   */
  constructor(readonly file: string, readonly opset: number, readonly batch: number, readonly whole = false) {}

  /** The dims ONNX sees for a per-image shape. */
  visible(shape: readonly number[]): number[] {
    return this.whole ? [...shape] : [this.batch, ...shape];
  }

  /** ONNX `axis` of a value with per-image `shape`, as a per-image axis; the batch axis is refused. */
  axis(a: Attrs, axis: number, shape: readonly number[], what = 'axis'): number {
    const rank = this.visible(shape).length;
    const full = axis < 0 ? axis + rank : axis;
    if (!Number.isInteger(full) || full < 0 || full >= rank) throw new FormatError(`${a.where}: ${what} ${axis} is out of range for a rank-${rank} tensor`);
    if (this.whole) return full;
    if (full === 0) throw new UnsupportedError(`${a.where}: ${what} 0 is the batch axis, which the library keeps separate`);
    return full - 1;
  }

  /** Per-image shape of ONNX-visible dims whose batch axis must stay the batch. */
  hidden(a: Attrs, dims: number[], what: string): number[] {
    if (this.whole) return dims;
    if (dims[0] !== this.batch) {
      throw new UnsupportedError(`${a.where}: ${what} [${dims}] changes the batch axis (N=${this.batch}); only per-image changes are supported`);
    }
    return dims.slice(1);
  }

  /**
   * Corrupt dimensions or attributes can describe activations of billions of
   * values, which no device holds and which shape arithmetic (pooling
   * windows) would walk for seconds: refused up front.
   */
  /** A constant the graph generates: within what one device could hold (2^31 values). */
  plausibleConstant(a: Attrs, dims: readonly number[]): void {
    if (size(dims) > MAX_CONSTANT_VALUES) throw new UnsupportedError(`${a.where}: a constant of shape [${dims}] has ${size(dims)} values; more than the importer accepts (${MAX_CONSTANT_VALUES})`);
  }

  plausible(shape: readonly number[], what: string): void {
    if (size(shape) > MAX_VALUES_PER_IMAGE) {
      throw new UnsupportedError(`${this.file}: ${what} is [N, ${shape}], ${size(shape)} values per image; more than the importer accepts (${MAX_VALUES_PER_IMAGE})`);
    }
  }

  uniqueName(wanted: string): string {
    let name = wanted.replace(/[^\w./:-]/g, '_') || 'node';
    for (let k = 2; this.#names.has(name); k++) name = `${wanted}_${k}`;
    this.#names.add(name);
    return name;
  }

  value(name: string, where: string): Value {
    const why = this.unreadable.get(name);
    if (why) throw new UnsupportedError(`${where}: reads ${why}, which is not supported`);
    const v = this.values.get(name);
    if (!v) throw new FormatError(`${where}: input "${name}" is not produced by any earlier node, graph input or initializer`);
    return v;
  }

  /** A computed input: a graph input or a node output (constants are folded elsewhere). */
  computed(name: string, where: string): Computed {
    const v = this.value(name, where);
    if (!isComputed(v)) throw new UnsupportedError(`${where}: input "${name}" is a constant; this op is imported only on computed values`);
    return v;
  }

  /** A constant's values on the host; a generated one is evaluated here when it is small enough. */
  host(name: string, where: string): HostTensor {
    const v = this.value(name, where);
    if (isComputed(v)) throw new UnsupportedError(`${where}: input "${name}" must be a constant (an initializer or a Constant node)`);
    return 'host' in v ? v.host : hostValues(v.gen, `${where}: input "${name}"`);
  }

  /** A constant the op's layer uploads: stored values, or a generated one's formula (made on the GPU). */
  weights(name: string, where: string): { dims: number[]; data: Weights } {
    const v = this.value(name, where);
    if (isComputed(v)) throw new UnsupportedError(`${where}: input "${name}" must be a constant (an initializer or a Constant node)`);
    if ('host' in v) return { dims: v.host.dims, data: v.host.dtype === 'float32' ? v.host.data : Float32Array.from(v.host.data) };
    return { dims: [...v.gen.dims], data: gen.fillSpec(v.gen) };
  }

  floats(name: string, where: string): Float32Array {
    const h = this.host(name, where);
    return h.dtype === 'float32' ? h.data : Float32Array.from(h.data);
  }

  ints(name: string, where: string): number[] {
    const h = this.host(name, where);
    if (h.dtype !== 'int64') throw new FormatError(`${where}: input "${name}" must be an integer tensor, it is float`);
    return h.data;
  }

  /** Adds a layer reading `inputs` (value names) and returns its node's name. */
  add(layer: AnyLayer, inputs: string[], shape: number[]): Computed {
    if (!layer.name) throw new Error('unnamed layer');
    this.plausible(shape, `node "${layer.name}"`);
    this.nodes.push({ layer, inputs });
    return { node: layer.name, shape };
  }
}

// ---- shared attribute reading -------------------------------------------------

function input(node: Node, i: number): string {
  return node.input?.[i] ?? '';
}

function two(a: Attrs, name: string, v: number[]): [number, number] {
  if (v.length !== 2) throw new UnsupportedError(`${a.where}: ${name} [${v}] must have 2 values (2-D ops only)`);
  return [v[0]!, v[1]!];
}

/** Conv / pool padding; ONNX pads are [top, left, bottom, right] for NCHW. */
function windowPadding(a: Attrs): 'valid' | 'same' | Pads {
  const autoPad = a.string('auto_pad', 'NOTSET');
  const pads = a.ints('pads', [0, 0, 0, 0]);
  if (autoPad === 'VALID') return 'valid';
  if (autoPad === 'SAME_UPPER') return 'same';
  if (autoPad !== 'NOTSET') throw new UnsupportedError(`${a.where}: auto_pad ${autoPad} is not supported (NOTSET, VALID, SAME_UPPER)`);
  if (pads.length !== 4) throw new UnsupportedError(`${a.where}: pads [${pads}] must have 4 values (2-D ops only)`);
  if (pads.some((p) => p < 0)) throw new FormatError(`${a.where}: pads [${pads}] must not be negative`);
  return [pads[0]!, pads[1]!, pads[2]!, pads[3]!];
}

function planeOf(a: Attrs, shape: number[]): [number, number, number] {
  if (shape.length !== 3) throw new UnsupportedError(`${a.where}: input is [N, ${shape}]; only 4-D NCHW inputs are supported`);
  return shape as [number, number, number];
}

/** Per-image shape after a Reshape to `target` (0 copies, -1 infers), the batch axis kept. */
function reshapeTarget(g: GraphBuilder, a: Attrs, target: number[], shape: number[], allowZero: boolean): number[] {
  const fullIn = g.visible(shape);
  const dims = target.map((d, i) => (d === 0 && !allowZero ? fullIn[i] ?? NaN : d));
  if (dims.some((d) => Number.isNaN(d) || d < -1) || dims.filter((d) => d === -1).length > 1) {
    throw new FormatError(`${a.where}: shape [${target}] is not a valid target for [${fullIn}]`);
  }
  const total = size(fullIn);
  const known = size(dims.filter((d) => d !== -1));
  const resolved = dims.map((d) => (d === -1 ? total / known : d));
  if (resolved.some((d) => !Number.isInteger(d)) || size(resolved) !== total) {
    throw new ShapeError(`${a.where}: cannot reshape [${fullIn}] (${total} values) to [${target}]`);
  }
  return g.hidden(a, resolved, 'reshape to');
}

// ---- constant folding (shape arithmetic) -------------------------------------------

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

function hostOf(dtype: HostTensor['dtype'], dims: number[], data: ArrayLike<number>): HostTensor {
  return dtype === 'float32' ? { dtype, dims, data: Float32Array.from(data) } : { dtype, dims, data: Array.from(data) };
}

/** Constants folded on the host are shape arithmetic: a bound keeps a corrupt shape from allocating gigabytes. */
const FOLD_LIMIT = 1 << 24;

function foldable(a: Attrs, dims: number[]): void {
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new FormatError(`${a.where}: shape [${dims}] must be non-negative integers`);
  if (size(dims) > FOLD_LIMIT) throw new UnsupportedError(`${a.where}: a constant of shape [${dims}] is larger than the importer folds on the host (${FOLD_LIMIT} elements)`);
}

/** A generated constant's values on the host, where an op needs them (shape arithmetic, small parameters). */
function hostValues(g: GenTensor, where: string): HostTensor {
  if (gen.elementCount(g) > FOLD_LIMIT) {
    throw new UnsupportedError(`${where}: a constant of shape [${g.dims}] made in the graph is used where its values are needed on the host, which the importer does up to ${FOLD_LIMIT} elements (layer weights are made on the GPU at any size)`);
  }
  return gen.evaluate(g);
}

function broadcastHost(a: Attrs, x: HostTensor, y: HostTensor, f: (p: number, q: number) => number): HostTensor {
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

function transposeHost(x: HostTensor, perm: number[]): HostTensor {
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

function concatHost(a: Attrs, xs: HostTensor[], axis: number): HostTensor {
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
function constantDims(g: GraphBuilder, node: Node, a: Attrs, dims: readonly number[]): number[] {
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
function scalarInput(g: GraphBuilder, node: Node, a: Attrs, i: number, what: string): number {
  const h = g.host(input(node, i), a.where);
  if (size(h.dims) !== 1) throw new FormatError(`${a.where}: ${what} has shape [${h.dims}]; a scalar is expected`);
  return Number(h.data[0]);
}

const ONNX_CAST_TYPES: Record<number, HostTensor['dtype']> = { 1: 'float32', 11: 'float32', 6: 'int64', 7: 'int64' };

/**
 * Constants the graph creates (ConstantOfShape, Range) and ops on them that
 * keep them a formula for the GPU (see onnx_generated.ts). Null: the op is
 * folded on the host instead (evaluating small generated inputs there).
 */
function foldGenerated(g: GraphBuilder, node: Node, a: Attrs): GenTensor | null {
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
function scalarOf(v: Value): { value: number; dtype: HostTensor['dtype']; rank: number } | null {
  if ('host' in v) return size(v.host.dims) === 1 ? { value: Number(v.host.data[0]), dtype: v.host.dtype, rank: v.host.dims.length } : null;
  if ('gen' in v) return size(v.gen.dims) === 1 && v.gen.terms.length === 0 ? { value: v.gen.start, dtype: v.gen.dtype, rank: v.gen.dims.length } : null;
  return null;
}

/** A generated constant (op) a one-element constant, either way round: still a formula. */
function scalarArithmetic(a: Attrs, op: 'Add' | 'Sub' | 'Mul' | 'Div', values: Value[]): GenTensor | null {
  a.ignore('broadcast', 'axis');
  if (values.length !== 2) throw new FormatError(`${a.where}: takes 2 inputs, has ${values.length}`);
  const [p, q] = values as [Value, Value];
  const genFirst = 'gen' in p && scalarOf(q) !== null;
  const x = genFirst ? p : q, c = scalarOf(genFirst ? q : p);
  if (!('gen' in x) || !c || c.rank > x.gen.dims.length) return null;
  return gen.scalarOp(x.gen, op, c.value, !genFirst, x.gen.dtype === 'float32' || c.dtype === 'float32' ? 'float32' : 'int64');
}

/** Folds a node whose inputs are all constants; returns null when the op is not a foldable one. */
function foldConstant(g: GraphBuilder, node: Node, a: Attrs): HostTensor | null {
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

// ---- op mappings ----------------------------------------------------------------

type Mapping = (g: GraphBuilder, node: Node, a: Attrs, name: string) => Value;

function conv(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  const w = g.weights(input(node, 1), a.where);
  if (w.dims.length !== 4) throw new UnsupportedError(`${a.where}: weight [${w.dims}] is not 4-D (2-D convolutions only)`);
  const kernelShape = a.optionalInts('kernel_shape');
  if (kernelShape && (kernelShape.length !== 2 || kernelShape[0] !== w.dims[2] || kernelShape[1] !== w.dims[3])) {
    throw new FormatError(`${a.where}: kernel_shape [${kernelShape}] disagrees with weight [${w.dims}]`);
  }
  const bias = input(node, 2) ? g.weights(input(node, 2), a.where).data : undefined;
  const layer: Conv2D = new Conv2D({
    name, filters: w.dims[0]!, kernelSize: [w.dims[2]!, w.dims[3]!],
    stride: two(a, 'strides', a.ints('strides', [1, 1])),
    dilation: two(a, 'dilations', a.ints('dilations', [1, 1])),
    padding: windowPadding(a), groups: a.int('group', 1),
    kernel: w.data, bias, useBias: bias !== undefined,
  });
  return g.add(layer, [x.node], conv2dOutputShape([1, ...x.shape], w.dims, layer.attrs).slice(1));
}

function convTranspose(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  const w = g.weights(input(node, 1), a.where);
  if (w.dims.length !== 4) throw new UnsupportedError(`${a.where}: weight [${w.dims}] is not 4-D (2-D only)`);
  const groups = a.int('group', 1);
  const stride = two(a, 'strides', a.ints('strides', [1, 1]));
  const dilation = two(a, 'dilations', a.ints('dilations', [1, 1]));
  const outputPadding = two(a, 'output_padding', a.ints('output_padding', [0, 0]));
  a.optionalInts('kernel_shape');
  const outputShape = a.optionalInts('output_shape');
  const autoPad = a.string('auto_pad', 'NOTSET');
  const pads = a.ints('pads', [0, 0, 0, 0]);
  let padding: 'valid' | 'same' | Pads = [pads[0] ?? 0, pads[1] ?? 0, pads[2] ?? 0, pads[3] ?? 0];
  if (autoPad === 'VALID') padding = 'valid';
  else if (autoPad === 'SAME_UPPER') padding = 'same';
  else if (autoPad !== 'NOTSET') throw new UnsupportedError(`${a.where}: auto_pad ${autoPad} is not supported`);
  const bias = input(node, 2) ? g.weights(input(node, 2), a.where).data : undefined;
  const layer = new Conv2DTranspose({
    name, filters: w.dims[1]! * groups, kernelSize: [w.dims[2]!, w.dims[3]!], stride, dilation, outputPadding, padding, groups,
    outputShape: outputShape ? two(a, 'output_shape', outputShape.slice(-2)) : undefined,
    kernel: w.data, bias, useBias: bias !== undefined,
  });
  return g.add(layer, [x.node], conv2dTransposeOutputShape([1, ...x.shape], w.dims, layer.attrs).slice(1));
}

/** [C, outH, outW] of a pooling window over [C, H, W]. */
function pooledShape(shape: number[], attrs: Parameters<typeof poolGeometry>[1], where: string): number[] {
  const geo = poolGeometry([1, ...shape], attrs, where);
  return [shape[0]!, geo.outH, geo.outW];
}

function poolAttrs(a: Attrs) {
  return {
    kernel: two(a, 'kernel_shape', a.ints('kernel_shape')),
    // ONNX strides default to 1, not to the kernel as in the library.
    stride: two(a, 'strides', a.ints('strides', [1, 1])),
    padding: windowPadding(a),
    ceilMode: a.int('ceil_mode', 0) === 1,
  };
}

function maxPool(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  // Indices are the pool's switches: they stay on the GPU for the DeconvNet's
  // unpooling. storage_order only lays out that output.
  a.int('storage_order', 0);
  const indices = node.output?.[1];
  if (indices) g.unreadable.set(indices, `the Indices output of MaxPool "${name}" (the switches stay on the GPU for unpooling)`);
  const attrs = { ...poolAttrs(a), dilation: two(a, 'dilations', a.ints('dilations', [1, 1])) };
  return g.add(new MaxPool2D({ name, ...attrs }), [x.node], pooledShape(x.shape, attrs, a.where));
}

function averagePool(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  const dilation = two(a, 'dilations', a.ints('dilations', [1, 1]));
  if (dilation[0] !== 1 || dilation[1] !== 1) throw new UnsupportedError(`${a.where}: dilations [${dilation}] are not supported`);
  const attrs = { ...poolAttrs(a), countIncludePad: a.int('count_include_pad', 0) === 1 };
  return g.add(new AvgPool2D({ name, ...attrs }), [x.node], pooledShape(x.shape, attrs, a.where));
}

function globalPool(kind: 'avg' | 'max'): Mapping {
  return (g, node, a, name) => {
    const x = g.computed(input(node, 0), a.where);
    planeOf(a, x.shape);
    return g.add(kind === 'avg' ? new GlobalAvgPool2D({ name }) : new GlobalMaxPool2D({ name }), [x.node], [x.shape[0]!, 1, 1]);
  };
}

function batchNormalization(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  if (g.opset < 7 && a.int('is_test', 0) !== 1) throw new UnsupportedError(`${a.where}: is_test=0 (training mode) is not supported`);
  if (a.int('spatial', 1) !== 1) throw new UnsupportedError(`${a.where}: spatial=0 is not supported`);
  if (a.int('training_mode', 0) !== 0) throw new UnsupportedError(`${a.where}: training_mode=1 is not supported`);
  a.ignore('momentum', 'consumed_inputs'); // running statistics only change in training
  if ((node.output ?? []).filter((o) => o).length > 1) throw new UnsupportedError(`${a.where}: the training outputs (running mean/var) are not supported`);
  const x = g.computed(input(node, 0), a.where);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => g.floats(input(node, i), a.where)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  return g.add(new BatchNorm({ name, scale, bias, mean, variance, epsilon: a.float('epsilon', 1e-5) }), [x.node], x.shape);
}

function lrn(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  return g.add(new LRN({ name, size: a.int('size'), alpha: a.float('alpha', 1e-4), beta: a.float('beta', 0.75), bias: a.float('bias', 1) }), [x.node], x.shape);
}

function pad(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  const mode = a.string('mode', 'constant');
  let pads: number[], value: number;
  if (g.opset < 11) {
    pads = a.ints(g.opset < 2 && a.has('paddings') ? 'paddings' : 'pads');
    value = a.float('value', 0);
  } else {
    if (input(node, 3)) throw new UnsupportedError(`${a.where}: the axes input is not supported`);
    pads = g.ints(input(node, 1), a.where);
    value = input(node, 2) ? g.floats(input(node, 2), a.where)[0] ?? 0 : 0;
  }
  if (pads.length !== 8) throw new FormatError(`${a.where}: pads [${pads}] must have 8 values for a 4-D input`);
  if (pads[0] || pads[1] || pads[4] || pads[5]) throw new UnsupportedError(`${a.where}: pads [${pads}] pad the batch or channel axis`);
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') throw new UnsupportedError(`${a.where}: mode ${mode} is not supported`);
  const [c, h, w] = x.shape as [number, number, number];
  return g.add(new Pad2D({ name, pads: [pads[2]!, pads[3]!, pads[6]!, pads[7]!], mode, value }), [x.node], [c, h + pads[2]! + pads[6]!, w + pads[3]! + pads[7]!]);
}

/**
 * A Dense kernel [units, k] from a Gemm / MatMul weight B ([units, k] with
 * transB, else [k, units]) times alpha: transposed and scaled on the host, or,
 * for a generated B, as a formula (made on the GPU).
 */
function denseKernel(g: GraphBuilder, a: Attrs, bName: string, transB: boolean, alpha: number): { dims: number[]; kernel: Weights } {
  const v = g.value(bName, a.where);
  if ('gen' in v && v.gen.dims.length === 2) {
    const oriented = transB ? v.gen : gen.transpose(v.gen, [1, 0]);
    const scaled = oriented && (alpha === 1 ? oriented : gen.scalarOp(oriented, 'Mul', alpha, false, 'float32'));
    if (!scaled) throw new UnsupportedError(`${a.where}: weight "${bName}" [${v.gen.dims}] is made in the graph by a formula the importer cannot transpose; export it with transB=1`);
    return { dims: [...v.gen.dims], kernel: gen.fillSpec(scaled) };
  }
  const b = g.host(bName, a.where);
  if (b.dims.length !== 2) return { dims: b.dims, kernel: new Float32Array() };
  const [rows, cols] = b.dims as [number, number];
  const [k, units] = transB ? [cols, rows] : [rows, cols];
  const bf = b.dtype === 'float32' ? b.data : Float32Array.from(b.data);
  const kernel = new Float32Array(units * k);
  for (let u = 0; u < units; u++) for (let i = 0; i < k; i++) kernel[u * k + i] = alpha * bf[transB ? u * k + i : i * units + u]!;
  return { dims: b.dims, kernel };
}

/** A Gemm bias C times beta, one value per unit: host values, or a generated C's formula. */
function denseBias(g: GraphBuilder, a: Attrs, cName: string, beta: number, units: number): Weights {
  const v = g.value(cName, a.where);
  const dims = 'gen' in v ? v.gen.dims : g.host(cName, a.where).dims;
  const n = size(dims);
  const perUnit = dims.length === 0 || n === 1 || (n === units && dims[dims.length - 1] === units);
  if (!perUnit) throw new UnsupportedError(`${a.where}: bias [${dims}] is not one value per output unit (${units})`);
  if ('gen' in v && n === units) {
    const scaled = gen.scalarOp(v.gen, 'Mul', beta, false, 'float32');
    if (scaled) return gen.fillSpec(scaled);
  }
  const c = g.host(cName, a.where);
  const bias = new Float32Array(units);
  for (let u = 0; u < units; u++) bias[u] = beta * Number(c.data[n === 1 ? 0 : u]);
  return bias;
}

/** Gemm / MatMul with constant weights: a Dense layer, alpha and beta folded into them. */
function denseFrom(g: GraphBuilder, a: Attrs, name: string, xName: string, bName: string, transB: boolean, alpha: number, cName: string, beta: number): Value {
  const x = g.computed(xName, a.where);
  if (x.shape.length !== 1) throw new UnsupportedError(`${a.where}: input is [N, ${x.shape}]; a matrix product is supported on flat [N, features] inputs`);
  const { dims, kernel } = denseKernel(g, a, bName, transB, alpha);
  if (dims.length !== 2) throw new UnsupportedError(`${a.where}: weight [${dims}] is not 2-D`);
  const [rows, cols] = dims as [number, number];
  const [k, units] = transB ? [cols, rows] : [rows, cols];
  if (k !== x.shape[0]) throw new ShapeError(`${a.where}: input has ${x.shape[0]} features, weight [${dims}]${transB ? ' (transposed)' : ''} expects ${k}`);
  const bias = cName && beta !== 0 ? denseBias(g, a, cName, beta, units) : undefined;
  return g.add(new Dense({ name, units, kernel, bias, useBias: bias !== undefined }), [x.node], [units]);
}

function gemm(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  a.ignore('broadcast'); // opset < 7: lets C broadcast, which the folded bias does anyway
  const transA = a.int('transA', 0) === 1, transB = a.int('transB', 0) === 1;
  const alpha = a.float('alpha', 1), beta = a.float('beta', 1);
  if (g.whole) return matrixProduct(g, a, name, [input(node, 0), input(node, 1), beta !== 0 ? input(node, 2) : ''], { transA, transB, alpha, beta });
  if (transA) throw new UnsupportedError(`${a.where}: transA=1 would transpose the batch; not supported`);
  return denseFrom(g, a, name, input(node, 0), input(node, 1), transB, alpha, input(node, 2), beta);
}

function matMul(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  // Two computed operands: a product per image (or of the whole tensors without a batch axis).
  const joins = g.whole || isComputed(g.value(input(node, 1), a.where));
  if (joins) return matrixProduct(g, a, name, [input(node, 0), input(node, 1), ''], { transA: false, transB: false, alpha: 1, beta: 0 });
  return denseFrom(g, a, name, input(node, 0), input(node, 1), false, 1, '', 0);
}

/**
 * A product of two computed operands, per image ([N, M, K] x [N, K, P] with
 * a batch axis) or of the whole tensors (a graph without one): a MatMul node.
 * A constant operand is not supported there (batched graphs fold constant
 * weights into Dense instead).
 */
function matrixProduct(g: GraphBuilder, a: Attrs, name: string, names: string[], o: { transA: boolean; transB: boolean; alpha: number; beta: number }): Value {
  const values = names.filter((n) => n !== '').map((n) => g.computed(n, a.where));
  const [m, k] = o.transA ? [values[0]!.shape[1], values[0]!.shape[0]] : values[0]!.shape;
  const n = o.transB ? values[1]!.shape[0] : values[1]!.shape[1];
  if (values[0]!.shape.length !== 2 || values[1]!.shape.length !== 2 || m === undefined || k === undefined || n === undefined) {
    const batch = g.whole ? '' : 'N, ';
    throw new UnsupportedError(`${a.where}: a product of [${batch}${values[0]!.shape}] and [${batch}${values[1]!.shape}]: only ${g.whole ? '2-D matrices' : 'one matrix per image ([N, M, K] x [N, K, P])'} are supported`);
  }
  const layer = new MatMul({ name, transposeA: o.transA, transposeB: o.transB, alpha: o.alpha, beta: o.beta });
  return g.add(layer, values.map((v) => v.node), [m, n]);
}

function activationOf(kind: 'relu' | 'sigmoid' | 'tanh' | 'leaky_relu' | 'elu', alphaDefault?: number): Mapping {
  return (g, node, a, name) => {
    const x = g.computed(input(node, 0), a.where);
    const alpha = alphaDefault === undefined ? undefined : a.float('alpha', alphaDefault);
    if (kind === 'relu' || kind === 'sigmoid' || kind === 'tanh') a.ignore('consumed_inputs');
    return g.add(new Activation({ name, kind, alpha }), [x.node], x.shape);
  };
}

/** Selu, HardSigmoid, HardSwish, Gelu, Softplus, Softsign, Mish: one Activation node, attributes as ONNX names them. */
function smoothActivation(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const op = node.opType;
  let options: ConstructorParameters<typeof Activation>[0];
  if (op === 'Selu') {
    a.ignore('consumed_inputs');
    options = { name, kind: 'selu', alpha: a.float('alpha', SELU_ALPHA), gamma: a.float('gamma', SELU_GAMMA) };
  } else if (op === 'HardSigmoid') {
    a.ignore('consumed_inputs');
    options = { name, kind: 'hard_sigmoid', alpha: a.float('alpha', 0.2), beta: a.float('beta', 0.5) };
  } else if (op === 'HardSwish') {
    options = { name, kind: 'hard_swish', alpha: 1 / 6, beta: 0.5 };
  } else if (op === 'Gelu') {
    const approximate = a.string('approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') throw new FormatError(`${a.where}: approximate "${approximate}" is not "none" or "tanh"`);
    options = { name, kind: approximate === 'tanh' ? 'gelu_tanh' : 'gelu' };
  } else {
    options = { name, kind: op === 'Softplus' ? 'softplus' : op === 'Softsign' ? 'softsign' : 'mish' };
  }
  return g.add(new Activation(options), [x.node], x.shape);
}

/** From opset 7 the slope broadcasts numpy-style: per channel only when its one non-1 dimension is axis 1. */
function pRelu(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const slope = g.host(input(node, 1), a.where);
  const n = size(slope.dims);
  const channels = x.shape[0] ?? 1;
  if (n !== 1) {
    const rank = x.shape.length + 1;
    const aligned = [...Array(Math.max(0, rank - slope.dims.length)).fill(1), ...slope.dims];
    const perChannel = aligned.length === rank && aligned.every((d, i) => (i === 1 ? d === channels : d === 1));
    if (!(g.opset < 7 ? n === channels : perChannel)) {
      throw new UnsupportedError(`${a.where}: slope [${slope.dims}] for input [N, ${x.shape}] is neither one value nor one per channel`);
    }
  }
  return g.add(new PReLU({ name, slope: g.floats(input(node, 1), a.where) }), [x.node], x.shape);
}

/**
 * Clip: bounds are attributes before opset 11, then optional inputs that
 * must be constants (initializers, Constant nodes or folded arithmetic), one
 * value each. Like numpy, a min above max makes everything max.
 */
function clip(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  let min: number | undefined, max: number | undefined;
  if (g.opset < 11) {
    min = a.optionalFloat('min');
    max = a.optionalFloat('max');
  } else {
    const bound = (i: number, what: string) => {
      if (!input(node, i)) return undefined;
      const v = g.floats(input(node, i), `${a.where}: ${what}`);
      if (v.length !== 1) throw new FormatError(`${a.where}: ${what} has ${v.length} values; Clip takes one`);
      return v[0];
    };
    min = bound(1, 'min');
    max = bound(2, 'max');
  }
  if (min !== undefined && max !== undefined && min > max) min = max;
  return g.add(new Activation({ name, kind: 'clip', min, max }), [x.node], x.shape);
}

/** Slice's starts/ends/axes/steps: attributes before opset 10, constant inputs from 10. Axes as ONNX counts them. */
function sliceInputs(g: GraphBuilder, node: Node, a: Attrs): SliceSpec {
  if (g.opset < 10) return { starts: a.ints('starts'), ends: a.ints('ends'), axes: a.optionalInts('axes') };
  const optional = (i: number) => (input(node, i) ? g.ints(input(node, i), a.where) : undefined);
  return { starts: g.ints(input(node, 1), a.where), ends: g.ints(input(node, 2), a.where), axes: optional(3), steps: optional(4) };
}

/** sliceGeometry with errors naming the node. */
function sliceGeometryAt(a: Attrs, dims: readonly number[], spec: SliceSpec) {
  try {
    return sliceGeometry(dims, spec, 'slice');
  } catch (e) {
    if (e instanceof DeconvNetError) throw new (e.constructor as typeof ShapeError)(`${a.where}: ${e.message}`);
    throw e;
  }
}

/**
 * Slice of a computed value: a Slice node over the per-image axes. The batch
 * axis may only be taken whole.
 */
function sliceOp(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const spec = sliceInputs(g, node, a);
  const full = g.visible(x.shape);
  const geo = sliceGeometryAt(a, full, spec);
  if (!g.whole && (geo.start[0] !== 0 || geo.step[0] !== 1 || geo.outShape[0] !== full[0])) {
    throw new UnsupportedError(`${a.where}: slices the batch axis; only per-image axes can be sliced`);
  }
  const perImage = g.whole ? geo : { start: geo.start.slice(1), step: geo.step.slice(1), outShape: geo.outShape.slice(1) };
  // The resolved geometry as a plain slice of every per-image axis.
  const layer = new Slice({
    name, axes: perImage.start.map((_, k) => k), starts: perImage.start,
    // A backward slice that reaches index 0 ends "before the start": -(size + 1) resolves to -1.
    ends: perImage.start.map((s, k) => {
      const end = s + perImage.step[k]! * perImage.outShape[k]!;
      return end < 0 ? -(x.shape[k]! + 1) : end;
    }),
    steps: perImage.step,
  });
  return g.add(layer, [x.node], perImage.outShape);
}

/**
 * Split: one Slice node per output, along one per-image axis. Sizes from the
 * `split` attribute (opset < 13) or input (13+), else equal parts
 * (`num_outputs`, opset 18: the last part takes the remainder).
 */
function split(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const axis = g.axis(a, a.int('axis', 0), x.shape);
  const outputs = node.output ?? [];
  const dim = x.shape[axis]!;
  let sizes = g.opset < 13 ? a.optionalInts('split') : input(node, 1) ? g.ints(input(node, 1), a.where) : undefined;
  const numOutputs = g.opset >= 18 && a.has('num_outputs') ? a.int('num_outputs') : undefined;
  if (!sizes) {
    const n = outputs.length;
    const part = numOutputs ? Math.ceil(dim / n) : dim / n;
    if (!Number.isInteger(part)) throw new ShapeError(`${a.where}: axis ${axis + 1} of size ${dim} does not split into ${n} equal parts`);
    sizes = outputs.map((_, k) => Math.min(part, dim - k * part));
  }
  if (sizes.length !== outputs.length || sizes.some((s) => !Number.isInteger(s) || s < 1) || sizes.reduce((p, q) => p + q, 0) !== dim) {
    throw new ShapeError(`${a.where}: split sizes [${sizes}] for ${outputs.length} outputs do not add up to axis ${axis + 1} of size ${dim}`);
  }
  let offset = 0;
  const values = sizes.map((s, k) => {
    const shape = x.shape.map((d, i) => (i === axis ? s : d));
    const layer = new Slice({ name: k === 0 ? name : g.uniqueName(`${name}/${k}`), axes: [axis], starts: [offset], ends: [offset + s] });
    offset += s;
    return g.add(layer, [x.node], shape);
  });
  values.slice(1).forEach((v, k) => { if (outputs[k + 1]) g.values.set(outputs[k + 1]!, v); });
  return values[0]!;
}

/**
 * Resize (opset 10+) and Upsample: a Resize2D node over H and W; the batch
 * and channel scales must be 1. Upsample and Resize-10 map coordinates
 * asymmetrically and round nearest down (their definition); Resize 11+
 * reads coordinate_transformation_mode and nearest_mode.
 */
function resize(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const [c, h, w] = planeOf(a, x.shape);
  const legacy = node.opType === 'Upsample' || g.opset < 11;
  const mode = a.string('mode', 'nearest');
  if (mode === 'cubic') throw new UnsupportedError(`${a.where}: mode "cubic" is not supported (nearest, linear)`);
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'bilinear') throw new FormatError(`${a.where}: mode "${mode}" is not nearest, linear or cubic`);
  const attrs: Omit<ResizeAttrs, 'scales' | 'size'> = { mode: mode === 'nearest' ? 'nearest' : 'linear' };
  let scales: number[] | undefined, sizes: number[] | undefined;
  if (legacy) {
    attrs.coordinateTransformation = 'asymmetric';
    attrs.nearestRounding = 'floor';
    scales = node.opType === 'Upsample' && g.opset < 9 ? a.floats('scales') : Array.from(g.floats(input(node, 1), a.where));
  } else {
    const ct = a.string('coordinate_transformation_mode', 'half_pixel');
    const nr = a.string('nearest_mode', 'round_prefer_floor');
    if (!(COORDINATE_TRANSFORMATIONS as readonly string[]).includes(ct)) throw new UnsupportedError(`${a.where}: coordinate_transformation_mode "${ct}" is not supported (${COORDINATE_TRANSFORMATIONS.join(', ')})`);
    if (!(NEAREST_ROUNDINGS as readonly string[]).includes(nr)) throw new FormatError(`${a.where}: nearest_mode "${nr}" is not one of ${NEAREST_ROUNDINGS.join(', ')}`);
    attrs.coordinateTransformation = ct as ResizeAttrs['coordinateTransformation'];
    attrs.nearestRounding = nr as ResizeAttrs['nearestRounding'];
    a.float('cubic_coeff_a', -0.75); // cubic only
    a.int('exclude_outside', 0); // cubic only
    a.float('extrapolation_value', 0); // tf_crop_and_resize only
    if (a.int('antialias', 0) !== 0) throw new UnsupportedError(`${a.where}: antialias=1 is not supported`);
    const policy = a.string('keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') throw new UnsupportedError(`${a.where}: keep_aspect_ratio_policy "${policy}" is not supported (stretch)`);
    const axes = a.optionalInts('axes');
    const scaleInput = input(node, 2) ? Array.from(g.floats(input(node, 2), a.where)) : [];
    const sizeInput = input(node, 3) ? g.ints(input(node, 3), a.where) : [];
    if (scaleInput.length > 0) scales = scaleInput;
    else if (sizeInput.length > 0) sizes = sizeInput;
    else throw new FormatError(`${a.where}: has neither scales nor sizes`);
    // With axes (opset 18), the values cover only those axes: spread them over all four.
    if (axes) {
      const norm = axes.map((ax) => (ax < 0 ? ax + 4 : ax));
      const spread = (v: number[], dflt: number[]) => dflt.map((d, i) => (norm.includes(i) ? v[norm.indexOf(i)]! : d));
      if (scales) scales = spread(scales, [1, 1, 1, 1]);
      if (sizes) sizes = spread(sizes, [g.batch, c, h, w]);
    }
  }
  const values = scales ?? sizes!;
  if (values.length !== 4) throw new FormatError(`${a.where}: ${scales ? 'scales' : 'sizes'} [${values}] must have 4 values for an NCHW input`);
  const keepsBatchAndChannels = scales ? scales[0] === 1 && scales[1] === 1 : (g.whole || sizes![0] === g.batch) && sizes![1] === c;
  if (!keepsBatchAndChannels) throw new UnsupportedError(`${a.where}: ${scales ? 'scales' : 'sizes'} [${values}] resize the batch or channel axis; only H and W can be resized`);
  const layerAttrs: ResizeAttrs = scales ? { ...attrs, scales: [scales[2]!, scales[3]!] } : { ...attrs, size: [sizes![2]!, sizes![3]!] };
  let table;
  try {
    table = resizeTable(h, w, layerAttrs, 'resize');
  } catch (e) {
    if (e instanceof DeconvNetError) throw new (e.constructor as typeof ShapeError)(`${a.where}: ${e.message}`);
    throw e;
  }
  return g.add(new Resize2D({ name, ...layerAttrs }), [x.node], [c, table.outH, table.outW]);
}

/**
 * Before opset 13, (Log)Softmax normalises the rows of the input coerced to
 * 2-D at `axis` (default 1): a reshape, a softmax over the last axis, and
 * back. From 13 it works along one axis (default -1).
 */
function softmaxOf(log: boolean): Mapping {
  return (g, node, a, name) => {
    const x = g.computed(input(node, 0), a.where);
    if (g.opset >= 13) {
      const axis = g.axis(a, a.int('axis', -1), x.shape);
      return g.add(new Softmax({ name, log, axis: axis + 1 }), [x.node], x.shape);
    }
    const axis = g.axis(a, a.int('axis', 1), x.shape);
    const rows = size(x.shape.slice(0, axis)), cols = size(x.shape.slice(axis));
    if (x.shape.length === 1 || (rows === 1 && x.shape.length === 1)) return g.add(new Softmax({ name, log }), [x.node], x.shape);
    const flatShape = rows === 1 ? [cols] : [rows, cols];
    const flat = g.add(new Reshape({ name: g.uniqueName(`${name}/2d`), shape: flatShape }), [x.node], flatShape);
    const y = g.add(new Softmax({ name: g.uniqueName(`${name}/softmax`), log }), [flat.node], flatShape);
    return g.add(new Reshape({ name, shape: x.shape }), [y.node], x.shape);
  };
}

function flatten(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const dims = g.visible(x.shape);
  const axis = a.int('axis', 1);
  const at = axis < 0 ? axis + dims.length : axis;
  if (at < 0 || at > dims.length) throw new FormatError(`${a.where}: axis ${axis} is out of range for a rank-${dims.length} tensor`);
  const shape = g.hidden(a, [size(dims.slice(0, at)), size(dims.slice(at))], 'flatten to');
  if (!g.whole && at === 1) return g.add(new Flatten({ name }), [x.node], shape);
  return g.add(new Reshape({ name, shape }), [x.node], shape);
}

function reshape(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const allowZero = a.int('allowzero', 0) === 1;
  const target = g.opset < 5 ? a.ints('shape') : g.ints(input(node, 1), a.where);
  const shape = reshapeTarget(g, a, target, x.shape, allowZero);
  return g.add(new Reshape({ name, shape }), [x.node], shape);
}

function squeeze(unsqueeze: boolean): Mapping {
  return (g, node, a, name) => {
    const x = g.computed(input(node, 0), a.where);
    const axes = g.opset >= 13 && input(node, 1) ? g.ints(input(node, 1), a.where) : a.ints('axes', unsqueeze ? undefined : []);
    const full = g.visible(x.shape);
    let dims: number[];
    if (unsqueeze) {
      const rank = full.length + axes.length;
      dims = [...full];
      for (const ax of axes.map((d) => (d < 0 ? d + rank : d)).sort((p, q) => p - q)) {
        if (ax < 0 || ax > dims.length) throw new FormatError(`${a.where}: axis ${ax} is out of range`);
        dims.splice(ax, 0, 1);
      }
    } else {
      const norm = axes.map((d) => (d < 0 ? d + full.length : d));
      if (norm.some((ax) => full[ax] !== 1)) throw new ShapeError(`${a.where}: axes [${axes}] of [${full}] are not all 1`);
      dims = axes.length ? full.filter((_, i) => !norm.includes(i)) : g.whole ? full.filter((d) => d !== 1) : [full[0]!, ...x.shape.filter((d) => d !== 1)];
    }
    const shape = g.hidden(a, dims, unsqueeze ? 'unsqueeze to' : 'squeeze to');
    return g.add(new Reshape({ name, shape: shape.length ? shape : [1] }), [x.node], shape.length ? shape : [1]);
  };
}

function transpose(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const rank = g.visible(x.shape).length;
  const perm = a.ints('perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw new FormatError(`${a.where}: perm [${perm}] is not a permutation of ${rank} axes`);
  }
  if (g.whole) return g.add(new Transpose({ name, perm }), [x.node], perm.map((p) => x.shape[p]!));
  if (perm[0] !== 0) throw new UnsupportedError(`${a.where}: perm [${perm}] moves the batch axis; not supported`);
  return g.add(new Transpose({ name, perm: perm.slice(1).map((p) => p - 1) }), [x.node], perm.slice(1).map((p) => x.shape[p - 1]!));
}

/** Add / Sub / Mul / Div / Sum: a join of computed values, or an op with a constant. */
function binary(op: 'add' | 'sub' | 'mul' | 'div' | 'sum'): Mapping {
  return (g, node, a, name) => {
    a.ignore('broadcast', 'axis', 'consumed_inputs'); // opset < 7 flags for what numpy broadcasting does
    const names = (node.input ?? []).filter((n) => n !== '');
    if (op !== 'sum' && names.length !== 2) throw new FormatError(`${a.where}: takes 2 inputs, has ${names.length}`);
    const values = names.map((n) => g.value(n, a.where));
    const computed = values.filter(isComputed);
    const constants = names.filter((_, i) => !isComputed(values[i]!));
    if (computed.length === 0) throw new Error('folded earlier');
    if (constants.length === 0) {
      const shape = computed.map((v) => v.shape).reduce((p, q) => broadcastShapes(p, q, a.where));
      if (op === 'add' || op === 'sum') return g.add(new Add({ name }), computed.map((v) => v.node), shape);
      if (op === 'mul' && computed.length === 2) return g.add(new Mul({ name }), computed.map((v) => v.node), shape);
      throw new UnsupportedError(`${a.where}: ${op} of two computed values is not supported (Add, Sum and Mul are)`);
    }
    if (computed.length !== 1 || constants.length !== 1) throw new UnsupportedError(`${a.where}: mixes several constants and computed values`);
    const c = g.weights(constants[0]!, a.where);
    const x = computed[0]!;
    const constantFirst = !isComputed(values[0]!);
    const layerOp = op === 'sum' ? 'add' : op;
    return g.add(new ConstantOp({
      name, op: layerOp, constantFirst, constant: c.data,
      shape: c.dims.length ? c.dims : [1],
    }), [x.node], broadcastShapes([1, ...x.shape], c.dims, a.where).slice(1));
  };
}

function concat(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const names = (node.input ?? []).filter((n) => n !== '');
  const values = names.map((n) => g.computed(n, a.where));
  if (values.length === 0) throw new FormatError(`${a.where}: has no inputs`);
  const rank = values[0]!.shape.length;
  const axis = g.axis(a, a.int('axis', 1), values[0]!.shape);
  const shape = [...values[0]!.shape];
  for (const v of values.slice(1)) {
    if (v.shape.length !== rank || v.shape.some((d, i) => i !== axis && d !== shape[i])) {
      throw new ShapeError(`${a.where}: inputs [N, ${values[0]!.shape}] and [N, ${v.shape}] do not concatenate on axis ${axis + 1}`);
    }
    shape[axis]! += v.shape[axis]!;
  }
  return g.add(new Concat({ name, axis }), values.map((v) => v.node), shape);
}

/** Identity and inference-mode Dropout forward their input unchanged: no node at all. */
function passThrough(g: GraphBuilder, node: Node, a: Attrs): Value {
  a.ignore('ratio', 'is_test', 'seed', 'training_mode');
  const mask = node.output?.[1];
  if (mask) g.unreadable.set(mask, `the mask output of Dropout "${a.where}"`);
  return g.value(input(node, 0), a.where);
}

const OPS: Record<string, Mapping> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  Relu: activationOf('relu'),
  LeakyRelu: activationOf('leaky_relu', 0.01),
  Elu: activationOf('elu', 1),
  Sigmoid: activationOf('sigmoid'),
  Tanh: activationOf('tanh'),
  PRelu: pRelu,
  Selu: smoothActivation,
  HardSigmoid: smoothActivation,
  HardSwish: smoothActivation,
  Gelu: smoothActivation,
  Softplus: smoothActivation,
  Softsign: smoothActivation,
  Mish: smoothActivation,
  Clip: clip,
  Slice: sliceOp,
  Split: split,
  Resize: resize,
  Upsample: resize,
  LRN: lrn,
  BatchNormalization: batchNormalization,
  Gemm: gemm,
  MatMul: matMul,
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Sum: binary('sum'),
  Concat: concat,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze(false),
  Unsqueeze: squeeze(true),
  Dropout: (g, node, a) => passThrough(g, node, a),
  Identity: (g, node, a) => passThrough(g, node, a),
  Pad: pad,
  Softmax: softmaxOf(false),
  LogSoftmax: softmaxOf(true),
};

/** Ops that only make constants: a host constant, or a generated one. */
function constantNode(g: GraphBuilder, node: Node, a: Attrs): Value | null {
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

/**
 * A graph has no batch axis when its inputs cannot all be batches of one
 * size: an input of rank 0 or 1, inputs whose first dimensions differ, or a
 * matrix product of a graph input by another graph input of rank 2 (no weights).
 */
function hasNoBatchAxis(graph: onnx.IGraphProto, fed: onnx.IValueInfoProto[]): boolean {
  const dims = fed.map(dimsOf);
  if (dims.some((d) => d !== null && d.length < 2)) return true;
  const firsts = new Set(dims.map((d) => d?.[0]).filter((d) => typeof d === 'number'));
  if (firsts.size > 1) return true;
  // A product of two fed matrices (rank 2) has no batch; fed [N, M, K] stacks are per-image matrices.
  const fedMatrices = new Set(fed.filter((i) => dimsOf(i)?.length === 2).map((i) => i.name ?? ''));
  return (graph.node ?? []).some((n) => (n.opType === 'MatMul' || n.opType === 'Gemm') && fedMatrices.has(n.input?.[1] ?? ''));
}

function defaultOpset(model: onnx.IModelProto, file: string): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) throw new FormatError(`${file}: the model imports no default-domain (ai.onnx) opset`);
  const v = toNumber(entry.version);
  if (!Number.isInteger(v) || v < 1 || v > 30) throw new FormatError(`${file}: opset version ${v} is not an ONNX opset`);
  return v;
}

function dimsOf(info: onnx.IValueInfoProto): Array<number | string> | null {
  const shape = info.type?.tensorType?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || '?'));
}

/**
 * Parses and validates an ONNX model into a model spec (layers hold their
 * weights on the host; nothing touches the GPU until createModel builds it).
 * Async because the protobuf decoder is loaded at the first call.
 */
export async function onnxSpec(bytes: Uint8Array, options: OnnxImportOptions = {}): Promise<OnnxImport> {
  const file = options.fileName ?? 'model.onnx';
  const model = await decodeModel(bytes, file);
  const graph = model.graph;
  if (!graph) throw new FormatError(`${file}: the model has no graph`);
  const opset = defaultOpset(model, file);

  const initializers = new Map<string, HostTensor>();
  for (const init of graph.initializer ?? []) {
    const name = init.name ?? '';
    if (!name) throw new FormatError(`${file}: an initializer has no name`);
    initializers.set(name, tensorFromProto(init, `${file}: initializer "${name}"`));
  }
  const fed = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  if (fed.length === 0) throw new FormatError(`${file}: the graph has no inputs to feed`);
  const whole = options.batchAxis === false || (options.batchAxis !== true && hasNoBatchAxis(graph, fed));
  const inputs: ModelInput[] = fed.map((info) => {
    const name = info.name ?? '';
    if (!name) throw new FormatError(`${file}: a graph input has no name`);
    const elem = info.type?.tensorType?.elemType;
    if (elem !== undefined && elem !== null && elem !== 1) throw new UnsupportedError(`${file}: graph input "${name}" has element type ${elem}; only float32 inputs are supported`);
    const given = options.inputShapes?.[name];
    if (given) return { name, shape: [...given] };
    const dims = dimsOf(info);
    if (!dims) throw new UnsupportedError(`${file}: graph input "${name}" has no shape; pass options.inputShapes`);
    if (whole) {
      if (dims.some((d) => typeof d !== 'number')) throw new UnsupportedError(`${file}: graph input "${name}" has shape [${dims}]; without a batch axis every dimension must be fixed`);
      return { name, shape: dims as number[] };
    }
    const perImage = dims.slice(1);
    if (dims.length < 2) {
      throw new UnsupportedError(`${file}: graph input "${name}" has shape [${dims}]; axis 0 is read as the batch, and nothing is left after it to be an image or a feature vector`);
    }
    if (perImage.some((d) => typeof d !== 'number')) {
      throw new UnsupportedError(`${file}: graph input "${name}" has shape [${dims}]; the dimensions after the batch must be fixed (pass options.inputShapes)`);
    }
    return { name, shape: perImage as number[] };
  });
  // The batch the file was exported with: shape constants (Shape, Reshape
  // targets) refer to it. Symbolic batches are read as 1.
  const firstDims = dimsOf(fed[0]!);
  const batch = typeof firstDims?.[0] === 'number' ? firstDims[0] : 1;

  const g = new GraphBuilder(file, opset, whole ? 1 : batch, whole);
  for (const i of inputs) {
    g.plausible(i.shape, `graph input "${i.name}"`);
    g.uniqueName(i.name);
    g.values.set(i.name, { node: i.name, shape: i.shape });
  }
  for (const [name, t] of initializers) g.values.set(name, { host: t });

  (graph.node ?? []).forEach((node, index) => {
    const op = node.opType ?? '';
    const label = node.name || node.output?.[0] || `#${index}`;
    const where = `${file}: node ${index} "${label}" (${op})`;
    if (node.domain && node.domain !== 'ai.onnx') throw new UnsupportedError(`${where}: domain "${node.domain}" is not supported`);
    const outputs = node.output ?? [];
    if (!outputs[0]) throw new FormatError(`${where}: has no output`);
    const a = new Attrs(where, node);
    let value: Value;
    const constant = constantNode(g, node, a);
    if (constant) {
      value = constant;
    } else {
      const mapping = OPS[op];
      if (!mapping) throw new UnsupportedError(`${where}: ONNX op ${op} is not supported`);
      const name = g.uniqueName(label);
      value = mapping(g, node, a, name);
    }
    a.assertAllRead();
    // Extra outputs are unreadable (pool indices, dropout masks) or set by the op's mapping (Split).
    const extra = outputs.slice(1).filter((o) => o && !g.unreadable.has(o) && !g.values.has(o));
    if (extra.length) throw new UnsupportedError(`${where}: only the first output is supported, the node also produces ${extra.join(', ')}`);
    g.values.set(outputs[0], value);
  });

  const outputNames = (graph.output ?? []).map((o) => o.name ?? '');
  if (outputNames.length === 0) throw new FormatError(`${file}: the graph has no outputs`);
  const outputs = outputNames.map((n) => {
    const v = g.value(n, `${file}: graph output "${n}"`);
    if (!isComputed(v)) throw new UnsupportedError(`${file}: graph output "${n}" is a constant; nothing to compute`);
    if (!g.nodes.some((node) => node.layer.name === v.node)) throw new UnsupportedError(`${file}: graph output "${n}" is a graph input passed through unchanged`);
    return v.node;
  });
  if (g.nodes.length === 0) throw new FormatError(`${file}: the graph computes nothing`);
  return { spec: { inputs, nodes: g.nodes, outputs }, inputNames: inputs.map((i) => i.name), outputNames, opset, batchAxis: !whole };
}

/** Imports an ONNX model and builds it on the runtime's device. */
export async function importOnnx(rt: Runtime, bytes: Uint8Array, options: OnnxImportOptions = {}): Promise<{ model: Model; format: 'onnx'; inputNames: string[]; outputNames: string[]; batchAxis: boolean }> {
  const parsed = await onnxSpec(bytes, options);
  let model: Model;
  try {
    model = createModel(rt, parsed.spec);
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(`${options.fileName ?? 'model.onnx'}: ${e.message}`);
    throw e;
  }
  try {
    await fillsSettled(rt); // weights the graph generates are written on the GPU: a failure surfaces here
  } catch (e) {
    model.destroy();
    throw e;
  }
  return { model, format: 'onnx', inputNames: parsed.inputNames, outputNames: parsed.outputNames, batchAxis: parsed.batchAxis };
}

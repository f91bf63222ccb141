// The graph being built from an ONNX model: what flows along each edge (a
// node's output with its per-image shape, a host constant, or a constant the
// graph generates), the builder that names and adds nodes and reads inputs,
// and the attribute readers every op mapping shares.
import type { onnx } from 'onnx-proto';
import { DeconvNetError, FormatError, ShapeError, UnsupportedError } from '../../../gpu/errors.js';
import type { AnyLayer } from '../../../layers/layer.js';
import type { GraphNode } from '../../model.js';
import { sliceGeometry, type SliceSpec } from '../../../ops/slice.js';
import { Attrs, type HostTensor } from '../onnx_tensor.js';
import * as gen from './generated.js';
import { size, type GenTensor } from './generated.js';
import type { Weights } from '../../../ops/fill.js';

export type Node = onnx.INodeProto;

export type Pads = [top: number, left: number, bottom: number, right: number];

/**
 * What flows along an edge: a node's output (per-image shape), a constant on
 * the host, or a constant the graph generates (a formula the GPU evaluates).
 */
export type Value = { node: string; shape: number[] } | { host: HostTensor } | { gen: GenTensor };

export type Computed = { node: string; shape: number[] };

export const isComputed = (v: Value): v is Computed => 'node' in v;

export { size };

/** 1 GiB of float32 per image. */
export const MAX_VALUES_PER_IMAGE = 2 ** 28;

/** 8 GiB of float32: beyond any device's buffers, and the fill formula's 32-bit index. */
export const MAX_CONSTANT_VALUES = 2 ** 31;

/** Constants folded on the host are shape arithmetic: a bound keeps a corrupt shape from allocating gigabytes. */
export const FOLD_LIMIT = 1 << 24;

export function foldable(a: Attrs, dims: number[]): void {
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new FormatError(`${a.where}: shape [${dims}] must be non-negative integers`);
  if (size(dims) > FOLD_LIMIT) throw new UnsupportedError(`${a.where}: a constant of shape [${dims}] is larger than the importer folds on the host (${FOLD_LIMIT} elements)`);
}

/** A generated constant's values on the host, where an op needs them (shape arithmetic, small parameters). */
export function hostValues(g: GenTensor, where: string): HostTensor {
  if (gen.elementCount(g) > FOLD_LIMIT) {
    throw new UnsupportedError(`${where}: a constant of shape [${g.dims}] made in the graph is used where its values are needed on the host, which the importer does up to ${FOLD_LIMIT} elements (layer weights are made on the GPU at any size)`);
  }
  return gen.evaluate(g);
}

export class GraphBuilder {
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

export function input(node: Node, i: number): string {
  return node.input?.[i] ?? '';
}

export function two(a: Attrs, name: string, v: number[]): [number, number] {
  if (v.length !== 2) throw new UnsupportedError(`${a.where}: ${name} [${v}] must have 2 values (2-D ops only)`);
  return [v[0]!, v[1]!];
}

/** Conv / pool padding; ONNX pads are [top, left, bottom, right] for NCHW. */
export function windowPadding(a: Attrs): 'valid' | 'same' | Pads {
  const autoPad = a.string('auto_pad', 'NOTSET');
  const pads = a.ints('pads', [0, 0, 0, 0]);
  if (autoPad === 'VALID') return 'valid';
  if (autoPad === 'SAME_UPPER') return 'same';
  if (autoPad !== 'NOTSET') throw new UnsupportedError(`${a.where}: auto_pad ${autoPad} is not supported (NOTSET, VALID, SAME_UPPER)`);
  if (pads.length !== 4) throw new UnsupportedError(`${a.where}: pads [${pads}] must have 4 values (2-D ops only)`);
  if (pads.some((p) => p < 0)) throw new FormatError(`${a.where}: pads [${pads}] must not be negative`);
  return [pads[0]!, pads[1]!, pads[2]!, pads[3]!];
}

export function planeOf(a: Attrs, shape: number[]): [number, number, number] {
  if (shape.length !== 3) throw new UnsupportedError(`${a.where}: input is [N, ${shape}]; only 4-D NCHW inputs are supported`);
  return shape as [number, number, number];
}

/** Per-image shape after a Reshape to `target` (0 copies, -1 infers), the batch axis kept. */
export function reshapeTarget(g: GraphBuilder, a: Attrs, target: number[], shape: number[], allowZero: boolean): number[] {
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

/** Slice's starts/ends/axes/steps: attributes before opset 10, constant inputs from 10. Axes as ONNX counts them. */
export function sliceInputs(g: GraphBuilder, node: Node, a: Attrs): SliceSpec {
  if (g.opset < 10) return { starts: a.ints('starts'), ends: a.ints('ends'), axes: a.optionalInts('axes') };
  const optional = (i: number) => (input(node, i) ? g.ints(input(node, i), a.where) : undefined);
  return { starts: g.ints(input(node, 1), a.where), ends: g.ints(input(node, 2), a.where), axes: optional(3), steps: optional(4) };
}

/** sliceGeometry with errors naming the node. */
export function sliceGeometryAt(a: Attrs, dims: readonly number[], spec: SliceSpec) {
  try {
    return sliceGeometry(dims, spec, 'slice');
  } catch (e) {
    if (e instanceof DeconvNetError) throw new (e.constructor as typeof ShapeError)(`${a.where}: ${e.message}`);
    throw e;
  }
}

export type Mapping = (g: GraphBuilder, node: Node, a: Attrs, name: string) => Value;

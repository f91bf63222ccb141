// TF.js Layers import, the conversion state: the values flowing through the
// graph with their layout (Keras channels-last maps held as our CHW), the
// nodes made so far, shared-layer calls, weights by Keras name, readers of
// layer config values, and activations. The converter of each layer class
// is in layers.ts.
import {
  Flatten, Activation, ReLU, Softmax, Reshape, Transpose, SharedLayer, isMerge, type AnyLayer,
} from '../../../layers/index.js';
import type { GraphNode, ModelInput } from '../../model.js';
import { FormatError, OutOfRangeError, ShapeError, UnsupportedError } from '../../../gpu/errors.js';
import { MAX_ELEMENTS, type TfjsWeight } from '../tfjs_weights.js';
import type { KerasLayer } from './json.js';

/** Converts one call of a Keras layer class: appends its nodes and returns the value it outputs. */
export type LayerConverter = (cv: Converter, layer: KerasLayer, ins: Value[]) => Value;
/** Layer converters by Keras class name. */
export type LayerTable = Readonly<Record<string, LayerConverter>>;

/**
 * How a Keras tensor is laid out in ours. 'chw': Keras [H, W, C] is our
 * [C, H, W]. 'plain': same shape and order (1-D, 2-D, ...). 'hwcFlat': a
 * flat vector in our CHW order of a Keras [H, W, C] map, i.e. the Keras
 * vector with a fixed permutation (kept so Dense can absorb it into its
 * kernel instead of a Transpose pass).
 */
export type Layout = { kind: 'chw' } | { kind: 'plain' } | { kind: 'hwcFlat'; c: number; h: number; w: number };

export interface Value {
  /** Our node (or model input) that holds it. */
  node: string;
  /** Our per-image shape. */
  shape: number[];
  layout: Layout;
  /** Whether it is a model input (our Model cannot output those directly). */
  isInput?: boolean;
}

export const CHW: Layout = { kind: 'chw' };
export const PLAIN: Layout = { kind: 'plain' };

/** Keras index of our flat index j for an hwcFlat vector: j = c*H*W + y*W + x <-> (y*W + x)*C + c. */
export function kerasIndex(l: Extract<Layout, { kind: 'hwcFlat' }>, j: number): number {
  const plane = l.h * l.w;
  const c = Math.floor(j / plane), p = j % plane;
  return p * l.c + c;
}

/** Our per-image shape of a Keras per-image shape, and its layout. */
export function fromKerasShape(shape: number[]): { shape: number[]; layout: Layout } {
  if (shape.length === 3) return { shape: [shape[2]!, shape[0]!, shape[1]!], layout: CHW };
  return { shape: [...shape], layout: PLAIN };
}

export function toKerasShape(v: Value): number[] {
  return v.layout.kind === 'chw' ? [v.shape[1]!, v.shape[2]!, v.shape[0]!] : [...v.shape];
}

/** The activation names the importer reads (Keras / TF.js spellings). */
export const TFJS_ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'elu', 'leaky_relu', 'softmax', 'selu', 'softplus', 'softsign',
  'swish', 'silu', 'gelu', 'gelu_new', 'mish', 'hard_sigmoid', 'hardSigmoid',
];

export class Converter {
  readonly nodes: GraphNode[] = [];
  readonly inputs: ModelInput[] = [];
  readonly values = new Map<string, Value>();
  /** Restored HWC-ordered copies of hwcFlat values, made at most once each. */
  readonly restored = new Map<string, Value>();
  #names = new Set<string>();
  /** Per Keras layer converted once: the nodes its first call made, in order (what later calls share). */
  readonly #calls = new Map<string, Array<{ layer: AnyLayer; inputShapes: number[][]; outputShape: number[] }>>();
  #call: { layer: KerasLayer; made: Array<{ layer: AnyLayer; inputShapes: number[][]; outputShape: number[] }>; sharing: boolean; next: number } | null = null;

  constructor(readonly file: string, readonly weights: Map<string, TfjsWeight>, readonly table: LayerTable) {}

  /**
   * Converts one call of a Keras layer. The first call of a layer makes its
   * nodes; a later call of the same layer (a shared layer) makes the same
   * sequence of nodes, each one a SharedLayer running the first call's node
   * (same weight tensors) on its own inputs.
   */
  convertCall(layer: KerasLayer, ins: Value[]): Value {
    const first = this.#calls.get(layer.kerasName);
    this.#call = { layer, made: first ?? [], sharing: first !== undefined, next: 0 };
    try {
      const v = this.convert(layer, ins);
      if (!first) this.#calls.set(layer.kerasName, this.#call.made);
      return v;
    } finally {
      this.#call = null;
    }
  }

  /** The layer a node of the current call gets: itself, or (a later call of a shared layer) a SharedLayer of the first call's. */
  #shared(layer: AnyLayer, inputs: Value[], shape: number[]): AnyLayer {
    const call = this.#call;
    if (!call) return layer;
    const inputShapes = inputs.map((v) => v.shape);
    if (!call.sharing) {
      call.made.push({ layer, inputShapes, outputShape: shape });
      return layer;
    }
    const first = call.made[call.next++];
    const same = first && first.layer.kind === layer.kind && JSON.stringify(first.inputShapes) === JSON.stringify(inputShapes);
    if (!same) {
      this.unsupported(call.layer, `the shared layer "${call.layer.kerasName}" is called on inputs of another shape (first [${first?.inputShapes.join('], [')}], now [${inputShapes.join('], [')}]); only calls on inputs of one shape can share weights`);
    }
    if (isMerge(first.layer)) return layer;
    return new SharedLayer({ layer: first.layer, inputShape: inputShapes[0]!, outputShape: first.outputShape });
  }

  // ------------------------------------------------------------ helpers

  fail(layer: KerasLayer, message: string, type: typeof FormatError | typeof ShapeError | typeof UnsupportedError = FormatError): never {
    throw new type(`${this.file}: layer "${layer.name}" (${layer.className}): ${message}`);
  }

  unsupported(layer: KerasLayer, what: string): never {
    this.fail(layer, what, UnsupportedError);
  }

  add(name: string, layer: AnyLayer, inputs: Value[], shape: number[], layout: Layout): Value {
    if (this.#names.has(name)) throw new FormatError(`${this.file}: two layers are named "${name}"`);
    this.#names.add(name);
    layer.name = name;
    if (!(shape.every((d) => Number.isInteger(d) && d >= 1) && shape.reduce((a, d) => a * d, 1) <= MAX_ELEMENTS)) {
      throw new ShapeError(`${this.file}: node "${name}" would have shape [${shape}]; every dimension must be a positive integer and the size at most ${MAX_ELEMENTS}`);
    }
    const node = this.#shared(layer, inputs, shape);
    node.name = name;
    this.nodes.push({ layer: node, inputs: inputs.map((v) => v.node) });
    return { node: name, shape, layout };
  }

  /** A model input; `channelsFirst`: its readers take Keras [C, H, W] maps, so it is our NCHW as it is. */
  input(name: string, kerasShape: number[], channelsFirst = false): Value {
    const { shape, layout } = channelsFirst ? { shape: [...kerasShape], layout: PLAIN } : fromKerasShape(kerasShape);
    if (this.#names.has(name)) throw new FormatError(`${this.file}: two layers are named "${name}"`);
    this.#names.add(name);
    this.inputs.push({ name, shape });
    return { node: name, shape, layout, isInput: true };
  }

  /** A weight by Keras name "<layer>/<weight>" (also found under a model-scope prefix), shape-checked. */
  weight(layer: KerasLayer, wname: string, shape: number[]): Float32Array {
    const key = `${layer.kerasName}/${wname}`;
    let w = this.weights.get(key) ?? this.weights.get(`${key}:0`);
    if (!w) {
      const suffix = `/${key}`;
      const matches = [...this.weights.values()].filter((x) => x.name.endsWith(suffix) || x.name.endsWith(`${suffix}:0`));
      if (matches.length === 1) w = matches[0];
    }
    if (!w) this.fail(layer, `weight "${key}" is not in the weightsManifest`);
    if (w.shape.length !== shape.length || w.shape.some((d, k) => d !== shape[k])) {
      this.fail(layer, `weight "${w.name}" has shape [${w.shape}], the layer needs [${shape}]`, ShapeError);
    }
    return w.values();
  }

  /** A value in plain (Keras) order: hwcFlat vectors get Reshape -> Transpose -> Flatten nodes, once. */
  plain(v: Value): Value {
    if (v.layout.kind !== 'hwcFlat') return v;
    const done = this.restored.get(v.node);
    if (done) return done;
    const { c, h, w } = v.layout;
    // Layout helpers belong to no layer call: a shared layer's calls need not make them alike.
    const call = this.#call;
    this.#call = null;
    try {
      return this.#restore(v, c, h, w);
    } finally {
      this.#call = call;
    }
  }

  #restore(v: Value, c: number, h: number, w: number): Value {
    const map = this.add(`${v.node}/chw`, new Reshape({ shape: [c, h, w] }), [v], [c, h, w], CHW);
    const hwc = this.add(`${v.node}/hwc`, new Transpose({ perm: [1, 2, 0] }), [map], [h, w, c], PLAIN);
    const flat = this.add(`${v.node}/hwc_flat`, new Flatten(), [hwc], [c * h * w], PLAIN);
    this.restored.set(v.node, flat);
    return flat;
  }

  /** Runs a shape helper from src/ops, turning its errors into ones that name the file and the layer. */
  shapeOf<T>(layer: KerasLayer, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ShapeError || e instanceof OutOfRangeError) this.fail(layer, e.message, ShapeError);
      throw e;
    }
  }

  // ------------------------------------------------------------ config readers

  positiveInt(layer: KerasLayer, key: string, dflt?: number): number {
    const v = layer.config[key] ?? dflt;
    if (!Number.isInteger(v) || (v as number) < 1) this.fail(layer, `${key} ${JSON.stringify(layer.config[key])} is not a positive integer`);
    return v as number;
  }

  pairOf(layer: KerasLayer, key: string, dflt?: [number, number]): [number, number] {
    let v = layer.config[key];
    if (v === undefined || v === null) {
      if (dflt) return dflt;
      this.fail(layer, `${key} is missing`);
    }
    if (typeof v === 'number') v = [v, v];
    if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= 1)) {
      this.fail(layer, `${key} ${JSON.stringify(layer.config[key])} is not a positive integer or a pair of them`);
    }
    return [v[0], v[1]];
  }

  bool(layer: KerasLayer, key: string, dflt: boolean): boolean {
    const v = layer.config[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(layer, `${key} ${JSON.stringify(v)} is not true or false`);
    return v;
  }

  finite(layer: KerasLayer, key: string, dflt: number | null): number | null {
    const v = layer.config[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(layer, `${key} ${JSON.stringify(v)} is not a finite number`);
    return v;
  }

  padding(layer: KerasLayer): 'same' | 'valid' {
    const p = layer.config.padding ?? 'valid';
    if (p === 'same' || p === 'valid') return p;
    if (p === 'causal') this.unsupported(layer, 'padding "causal" is not supported (same, valid)');
    this.fail(layer, `padding ${JSON.stringify(p)} is not "same" or "valid"`);
  }

  /** Whether the layer reads its maps channels first (Keras [C, H, W]); refuses unknown formats. */
  channelsFirst(layer: KerasLayer): boolean {
    const f = layer.config.data_format;
    if (f === undefined || f === null || f === 'channels_last') return false;
    if (f === 'channels_first') return true;
    this.fail(layer, `data_format ${JSON.stringify(f)} is not "channels_last" or "channels_first"`);
  }

  /**
   * The layer's input as our [C, H, W] maps, and the layout its output takes.
   * A channels_last layer reads Keras [H, W, C] (our 'chw' layout); a
   * channels_first one reads Keras [C, H, W], which is our data as it is
   * ('plain'). A value in the other layout goes through a Transpose node first.
   */
  image(layer: KerasLayer, v: Value): { v: Value; shape: [number, number, number]; layout: Layout } {
    const first = this.channelsFirst(layer);
    if (v.shape.length !== 3 || v.layout.kind === 'hwcFlat') {
      this.fail(layer, `needs a 3-D ${first ? '[channels, height, width]' : '[height, width, channels]'} input, got [${toKerasShape(this.plain(v))}]`, ShapeError);
    }
    const [a, b, c] = v.shape as [number, number, number];
    if (first && v.layout.kind === 'chw') {
      // Keras sees [H, W, C] = our [b, c, a]: what a channels_first layer calls [C, H, W].
      v = this.add(`${layer.name}/channels_first`, new Transpose({ perm: [1, 2, 0] }), [v], [b, c, a], PLAIN);
    } else if (!first && v.layout.kind === 'plain') {
      // Keras sees [a, b, c] as [H, W, C]: our [c, a, b].
      v = this.add(`${layer.name}/channels_last`, new Transpose({ perm: [2, 0, 1] }), [v], [c, a, b], CHW);
    }
    return { v, shape: v.shape as [number, number, number], layout: first ? PLAIN : CHW };
  }

  one(layer: KerasLayer, ins: Value[]): Value {
    if (ins.length !== 1) this.fail(layer, `takes one input, it has ${ins.length}`);
    return ins[0]!;
  }

  // ------------------------------------------------------------ activations

  /**
   * Appends the node(s) of a Keras activation string after `v`; the last one
   * gets `name`. Returns null for 'linear' (no node).
   */
  activation(layer: KerasLayer, act: unknown, v: Value, name: string): Value | null {
    const shape = v.shape;
    switch (act ?? 'linear') {
      case 'linear': return null;
      case 'relu': return this.add(name, new ReLU(), [v], shape, v.layout);
      case 'relu6': return this.add(name, new Activation({ kind: 'clip', min: 0, max: 6 }), [v], shape, v.layout);
      case 'sigmoid': return this.add(name, new Activation({ kind: 'sigmoid' }), [v], shape, v.layout);
      case 'tanh': return this.add(name, new Activation({ kind: 'tanh' }), [v], shape, v.layout);
      case 'elu': return this.add(name, new Activation({ kind: 'elu', alpha: 1 }), [v], shape, v.layout);
      case 'leaky_relu': return this.add(name, new Activation({ kind: 'leaky_relu', alpha: 0.2 }), [v], shape, v.layout);
      case 'selu': case 'softplus': case 'softsign': case 'swish': case 'gelu': case 'mish':
        return this.add(name, new Activation({ kind: act as 'selu' }), [v], shape, v.layout);
      case 'silu': return this.add(name, new Activation({ kind: 'swish' }), [v], shape, v.layout);
      case 'gelu_new': return this.add(name, new Activation({ kind: 'gelu_tanh' }), [v], shape, v.layout);
      // TF.js's hard sigmoid, clip(0.2 x + 0.5, 0, 1), is what tfjs-layers runs for
      // this name whichever Keras wrote the file (Keras 3 changed its own to x/6 + 0.5).
      case 'hard_sigmoid': case 'hardSigmoid':
        return this.add(name, new Activation({ kind: 'hard_sigmoid', alpha: 0.2, beta: 0.5 }), [v], shape, v.layout);
      case 'softmax': {
        const p = this.plain(v);
        if (p.shape.length !== 1) this.unsupported(layer, `softmax over the channels of a [${toKerasShape(p)}] tensor is not supported (only of flat vectors)`);
        return this.add(name, new Softmax(), [p], p.shape, PLAIN);
      }
      default:
        if (typeof act === 'string') this.unsupported(layer, `activation "${act}" is not supported (${TFJS_ACTIVATIONS.join(', ')})`);
        this.fail(layer, `activation ${JSON.stringify(act)} is not a name`);
    }
  }

  /** A conv/dense node whose ReLU can be fused; other activations follow as their own node. */
  withActivation(layer: KerasLayer, make: (fused: 'none' | 'relu', name: string) => Value): Value {
    const act = layer.config.activation ?? 'linear';
    if (act === 'linear' || act === 'relu') return make(act === 'relu' ? 'relu' : 'none', layer.name);
    const pre = make('none', `${layer.name}/preact`);
    return this.activation(layer, act, pre, layer.name)!;
  }

  /** Converts one call by its class's entry in the table. */
  convert(layer: KerasLayer, ins: Value[]): Value {
    const convert = Object.hasOwn(this.table, layer.className) ? this.table[layer.className] : undefined;
    if (!convert) this.unsupported(layer, 'this layer class is not supported');
    return convert(this, layer, ins);
  }
}

// Import of TF.js Layers models: the `model.json` + weight shards that
// `tensorflowjs_converter` writes from a Keras .h5/.keras model and that
// tfjs `model.save()` writes. Sequential and functional models.
//
// Keras is channels-last; our models are NCHW. The conversion happens once,
// here, at load time:
// - a Keras [H, W, C] tensor is our [C, H, W] tensor; the imported model
//   takes NCHW input (and gives NCHW image outputs);
// - conv kernels [kh, kw, in, out] become [out, in, kh, kw]; depthwise
//   kernels [kh, kw, C, mult] become a groups=C conv [C*mult, 1, kh, kw] (TF
//   orders the outputs c*mult + m, as grouped conv does); SeparableConv2D is
//   a depthwise node followed by a 1x1 conv node; Conv2DTranspose kernels
//   [kh, kw, out, in] become [in, out, kh, kw];
// - Flatten of a [C, H, W] tensor flattens in our CHW order, and the Dense
//   layers reading it get their kernel rows permuted to match Keras's HWC
//   order; anywhere else (Softmax, Reshape, Concatenate, a model output) the
//   HWC order is restored explicitly with a Transpose;
// - Reshape to or from 3-D goes through HWC order with Transpose nodes;
// - channels_first layers (data_format) read Keras [C, H, W], which is our
//   layout as it is: an input read only by such layers is taken as is, and
//   a Transpose node sits where a channels_last and a channels_first layer meet.
// Each Keras layer becomes a node of the same name (helper nodes are named
// `<layer>/<what>`), so projections and activations are asked for by the
// Keras layer names.
import {
  Conv2D, Conv2DTranspose, Dense, Flatten, Activation, ReLU, Softmax, BatchNorm, Pad2D, MaxPool2D, AvgPool2D,
  Add, Concat, Reshape, Transpose, Identity, GlobalAvgPool2D, GlobalMaxPool2D, SharedLayer, Resize2D, isMerge,
  type AnyLayer,
} from '../../layers/index.js';
import { createModel, type Model, type ModelSpec, type GraphNode, type ModelInput } from '../model.js';
import { conv2dOutputShape } from '../../ops/conv2d.js';
import { poolGeometry } from '../../ops/pool_geometry.js';
import { effectiveKernel } from '../../ops/conv_geometry.js';
import type { Runtime } from '../../gpu/runtime.js';
import {
  DeconvNetError, FormatError, OutOfRangeError, ShapeError, UnsupportedError,
} from '../../gpu/errors.js';
import { MAX_ELEMENTS, manifestPaths, readWeights, type TfjsWeight, type WeightBuffers } from './tfjs_weights.js';

export type { WeightBuffers } from './tfjs_weights.js';

export interface TfjsLayersSource {
  /** The model.json text, or its parsed object. */
  modelJson: string | object;
  /** Fetches one shard named in the weightsManifest (paths relative to model.json). */
  loadWeights: (path: string) => Promise<ArrayBuffer | ArrayBufferView>;
  /** Names the file in error messages (default 'model.json'). */
  fileName?: string;
}

export interface ImportedModel { model: Model; format: 'tfjs-layers' }

// ---------------------------------------------------------------- the JSON

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses model.json text (FormatError naming the file on malformed JSON). */
export function parseModelJson(modelJson: string | object, file = 'model.json'): Json {
  let value: unknown = modelJson;
  if (typeof modelJson === 'string') {
    try {
      value = JSON.parse(modelJson);
    } catch (e) {
      throw new FormatError(`${file}: not valid JSON (${(e as Error).message})`);
    }
  }
  if (!isObject(value)) throw new FormatError(`${file}: not a TF.js model.json (the top level is not an object)`);
  if (value.format !== undefined && value.format !== 'layers-model') {
    if (value.format === 'graph-model') {
      throw new UnsupportedError(`${file}: a TF.js graph model (format "graph-model", from a SavedModel); only Layers models (format "layers-model") can be imported`);
    }
    throw new FormatError(`${file}: format ${JSON.stringify(value.format)} is not "layers-model"`);
  }
  if (!isObject(value.modelTopology)) throw new FormatError(`${file}: modelTopology is missing or not an object`);
  return value;
}

/** Whether a parsed JSON value looks like a TF.js Layers model.json (for a loadModel dispatcher). */
export function isTfjsLayersModelJson(value: unknown): boolean {
  return isObject(value) && isObject(value.modelTopology) && (value.format === 'layers-model' || (value.format === undefined && Array.isArray(value.weightsManifest)));
}

/** The shard paths model.json names, each once, in manifest order. */
export function tfjsWeightPaths(modelJson: string | object, fileName = 'model.json'): string[] {
  return manifestPaths(parseModelJson(modelJson, fileName).weightsManifest, fileName);
}

// ---------------------------------------------------------------- values flowing through the graph

/**
 * How a Keras tensor is laid out in ours. 'chw': Keras [H, W, C] is our
 * [C, H, W]. 'plain': same shape and order (1-D, 2-D, ...). 'hwcFlat': a
 * flat vector in our CHW order of a Keras [H, W, C] map, i.e. the Keras
 * vector with a fixed permutation (kept so Dense can absorb it into its
 * kernel instead of a Transpose pass).
 */
type Layout = { kind: 'chw' } | { kind: 'plain' } | { kind: 'hwcFlat'; c: number; h: number; w: number };

interface Value {
  /** Our node (or model input) that holds it. */
  node: string;
  /** Our per-image shape. */
  shape: number[];
  layout: Layout;
  /** Whether it is a model input (our Model cannot output those directly). */
  isInput?: boolean;
}

const CHW: Layout = { kind: 'chw' };
const PLAIN: Layout = { kind: 'plain' };

/** Keras index of our flat index j for an hwcFlat vector: j = c*H*W + y*W + x <-> (y*W + x)*C + c. */
function kerasIndex(l: Extract<Layout, { kind: 'hwcFlat' }>, j: number): number {
  const plane = l.h * l.w;
  const c = Math.floor(j / plane), p = j % plane;
  return p * l.c + c;
}

/**
 * One call of a Keras layer as the topology gives it, its inputs resolved to
 * value keys (valueKey). A shared layer has one entry per call: `name` is
 * its node's name (the layer's own name for the first call, `<name>@<k>` for
 * call k), `kerasName` the layer's (its weights are found by it).
 */
interface KerasLayer {
  className: string;
  name: string;
  kerasName: string;
  config: Json;
  inbound: string[];
}

/** The key of output `node` of a Keras layer (call `node`): the layer's name for the first call. */
function valueKey(name: string, node: number): string {
  return node === 0 ? name : `${name}@${node}`;
}

/** Our per-image shape of a Keras per-image shape, and its layout. */
function fromKerasShape(shape: number[]): { shape: number[]; layout: Layout } {
  if (shape.length === 3) return { shape: [shape[2]!, shape[0]!, shape[1]!], layout: CHW };
  return { shape: [...shape], layout: PLAIN };
}

function toKerasShape(v: Value): number[] {
  return v.layout.kind === 'chw' ? [v.shape[1]!, v.shape[2]!, v.shape[0]!] : [...v.shape];
}

// ---------------------------------------------------------------- the converter

/** The activation names the importer reads (Keras / TF.js spellings). */
export const TFJS_ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'elu', 'leaky_relu', 'softmax', 'selu', 'softplus', 'softsign',
  'swish', 'silu', 'gelu', 'gelu_new', 'mish', 'hard_sigmoid', 'hardSigmoid',
];

class Converter {
  readonly nodes: GraphNode[] = [];
  readonly inputs: ModelInput[] = [];
  readonly values = new Map<string, Value>();
  /** Restored HWC-ordered copies of hwcFlat values, made at most once each. */
  readonly restored = new Map<string, Value>();
  #names = new Set<string>();
  /** Per Keras layer converted once: the nodes its first call made, in order (what later calls share). */
  readonly #calls = new Map<string, Array<{ layer: AnyLayer; inputShapes: number[][]; outputShape: number[] }>>();
  #call: { layer: KerasLayer; made: Array<{ layer: AnyLayer; inputShapes: number[][]; outputShape: number[] }>; sharing: boolean; next: number } | null = null;

  constructor(readonly file: string, readonly weights: Map<string, TfjsWeight>) {}

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

  // ------------------------------------------------------------ layers

  convert(layer: KerasLayer, ins: Value[]): Value {
    const c = layer.config;
    switch (layer.className) {
      case 'Conv2D': return this.conv2d(layer, this.one(layer, ins));
      case 'DepthwiseConv2D': return this.depthwise(layer, this.one(layer, ins));
      case 'SeparableConv2D': return this.separable(layer, this.one(layer, ins));
      case 'Conv2DTranspose': return this.conv2dTranspose(layer, this.one(layer, ins));
      case 'MaxPooling2D': case 'MaxPool2D': case 'AveragePooling2D': case 'AvgPool2D':
        return this.pool(layer, this.one(layer, ins));
      case 'GlobalAveragePooling2D': case 'GlobalAvgPool2D': case 'GlobalMaxPooling2D': case 'GlobalMaxPool2D':
        return this.globalPool(layer, this.one(layer, ins));
      case 'Dense': return this.dense(layer, this.one(layer, ins));
      case 'Flatten': return this.flatten(layer, this.one(layer, ins));
      case 'Reshape': return this.reshape(layer, this.one(layer, ins));
      case 'Activation': {
        const v = this.one(layer, ins);
        return this.activation(layer, c.activation, v, layer.name) ?? this.identity(layer, v);
      }
      case 'ReLU': return this.relu(layer, this.one(layer, ins));
      case 'LeakyReLU': {
        const v = this.one(layer, ins);
        // tfjs and Keras 2 call the slope alpha (default 0.3); Keras 3 calls it negative_slope.
        const alpha = this.finite(layer, 'negative_slope', null) ?? this.finite(layer, 'alpha', 0.3)!;
        return this.add(layer.name, new Activation({ kind: 'leaky_relu', alpha }), [v], v.shape, v.layout);
      }
      case 'ELU': {
        const v = this.one(layer, ins);
        return this.add(layer.name, new Activation({ kind: 'elu', alpha: this.finite(layer, 'alpha', 1)! }), [v], v.shape, v.layout);
      }
      case 'Softmax': {
        const v = this.plain(this.one(layer, ins));
        const axis = Array.isArray(c.axis) && c.axis.length === 1 ? c.axis[0] : c.axis ?? -1;
        if (v.shape.length !== 1 || !(axis === -1 || axis === 1)) {
          this.unsupported(layer, `softmax over axis ${JSON.stringify(c.axis)} of a [${toKerasShape(v)}] tensor is not supported (only of flat vectors)`);
        }
        return this.add(layer.name, new Softmax(), [v], v.shape, PLAIN);
      }
      case 'Dropout': case 'SpatialDropout2D': case 'GaussianNoise': case 'GaussianDropout': case 'AlphaDropout':
        // The identity at inference: no node, the layer's name reads its input.
        return this.one(layer, ins);
      case 'BatchNormalization': return this.batchNorm(layer, this.one(layer, ins));
      case 'ZeroPadding2D': return this.zeroPad(layer, this.one(layer, ins));
      case 'UpSampling2D': return this.upSampling(layer, this.one(layer, ins));
      case 'Add': return this.addLayer(layer, ins);
      case 'Concatenate': return this.concat(layer, ins);
      case 'Sequential': case 'Model': case 'Functional':
        this.unsupported(layer, 'nested models are not supported; save the model with its layers inline');
      default:
        this.unsupported(layer, 'this layer class is not supported');
    }
  }

  identity(layer: KerasLayer, v: Value): Value {
    return this.add(layer.name, new Identity({}), [v], v.shape, v.layout);
  }

  convCommon(layer: KerasLayer) {
    const kernel = this.pairOf(layer, 'kernel_size');
    const stride = this.pairOf(layer, 'strides', [1, 1]);
    const dilation = this.pairOf(layer, 'dilation_rate', [1, 1]);
    const padding = this.padding(layer);
    const useBias = this.bool(layer, 'use_bias', true);
    return { kernel, stride, dilation, padding, useBias };
  }

  conv2d(layer: KerasLayer, v0: Value): Value {
    const img = this.image(layer, v0);
    const v = img.v;
    const [inC, h, w] = img.shape;
    const { kernel: [kh, kw], stride, dilation, padding, useBias } = this.convCommon(layer);
    const filters = this.positiveInt(layer, 'filters');
    const groups = this.positiveInt(layer, 'groups', 1);
    if (inC % groups !== 0 || filters % groups !== 0) this.fail(layer, `groups=${groups} does not divide ${inC} input channels and ${filters} filters`, ShapeError);
    const k = this.weight(layer, 'kernel', [kh, kw, inC / groups, filters]);
    const bias = useBias ? this.weight(layer, 'bias', [filters]) : undefined;
    const kernel = permute(k, [kh, kw, inC / groups, filters], [3, 2, 0, 1]);
    const attrs = { stride, dilation, padding, groups };
    const out = this.shapeOf(layer, () => conv2dOutputShape([1, inC, h, w], [filters, inC / groups, kh, kw], attrs).slice(1));
    return this.withActivation(layer, (activation, name) =>
      this.add(name, new Conv2D({ filters, kernelSize: [kh, kw], ...attrs, activation, kernel, bias, useBias }), [v], out, img.layout));
  }

  depthwise(layer: KerasLayer, v0: Value): Value {
    const img = this.image(layer, v0);
    const v = img.v;
    const [inC, h, w] = img.shape;
    const { kernel: [kh, kw], stride, dilation, padding, useBias } = this.convCommon(layer);
    const mult = this.positiveInt(layer, 'depth_multiplier', 1);
    const k = this.weight(layer, 'depthwise_kernel', [kh, kw, inC, mult]);
    const bias = useBias ? this.weight(layer, 'bias', [inC * mult]) : undefined;
    // [kh, kw, C, mult] -> [C, mult, kh, kw] = [C*mult, 1, kh, kw]: output c*mult + m, as TF orders them.
    const kernel = permute(k, [kh, kw, inC, mult], [2, 3, 0, 1]);
    const attrs = { stride, dilation, padding, groups: inC };
    const out = this.shapeOf(layer, () => conv2dOutputShape([1, inC, h, w], [inC * mult, 1, kh, kw], attrs).slice(1));
    return this.withActivation(layer, (activation, name) =>
      this.add(name, new Conv2D({ filters: inC * mult, kernelSize: [kh, kw], ...attrs, activation, kernel, bias, useBias }), [v], out, img.layout));
  }

  separable(layer: KerasLayer, v0: Value): Value {
    const img = this.image(layer, v0);
    const v = img.v;
    const [inC, h, w] = img.shape;
    const { kernel: [kh, kw], stride, dilation, padding, useBias } = this.convCommon(layer);
    const mult = this.positiveInt(layer, 'depth_multiplier', 1);
    const filters = this.positiveInt(layer, 'filters');
    const dk = this.weight(layer, 'depthwise_kernel', [kh, kw, inC, mult]);
    const pk = this.weight(layer, 'pointwise_kernel', [1, 1, inC * mult, filters]);
    const bias = useBias ? this.weight(layer, 'bias', [filters]) : undefined;
    const dAttrs = { stride, dilation, padding, groups: inC };
    const mid = this.shapeOf(layer, () => conv2dOutputShape([1, inC, h, w], [inC * mult, 1, kh, kw], dAttrs).slice(1));
    const depth = this.add(`${layer.name}/depthwise`, new Conv2D({
      filters: inC * mult, kernelSize: [kh, kw], ...dAttrs, kernel: permute(dk, [kh, kw, inC, mult], [2, 3, 0, 1]), useBias: false,
    }), [v], mid, img.layout);
    const pointwise = permute(pk, [1, 1, inC * mult, filters], [3, 2, 0, 1]);
    return this.withActivation(layer, (activation, name) =>
      this.add(name, new Conv2D({ filters, kernelSize: 1, activation, kernel: pointwise, bias, useBias }), [depth], [filters, mid[1]!, mid[2]!], img.layout));
  }

  conv2dTranspose(layer: KerasLayer, v0: Value): Value {
    const img = this.image(layer, v0);
    const v = img.v;
    const [inC, h, w] = img.shape;
    const { kernel: [kh, kw], stride, dilation, padding, useBias } = this.convCommon(layer);
    const filters = this.positiveInt(layer, 'filters');
    const op = layer.config.output_padding;
    let outPad: [number, number] | null = null;
    if (op !== undefined && op !== null) {
      const p = typeof op === 'number' ? [op, op] : op;
      if (!Array.isArray(p) || p.length !== 2 || !p.every((d, a) => Number.isInteger(d) && d >= 0 && d < stride[a]!)) {
        this.fail(layer, `output_padding ${JSON.stringify(op)} must be integers >= 0 and below the strides [${stride}]`);
      }
      outPad = [p[0], p[1]];
    }
    // Keras's output length (deconv_output_length); the op then crops SAME_UPPER-style, as TF does.
    const length = (a: 0 | 1, size: number, k: number): number => {
      const keff = effectiveKernel(k, dilation[a]);
      if (!outPad) return padding === 'valid' ? size * stride[a] + Math.max(keff - stride[a], 0) : size * stride[a];
      const pad = padding === 'valid' ? 0 : Math.floor(keff / 2);
      return (size - 1) * stride[a] + keff - 2 * pad + outPad[a];
    };
    const outShape: [number, number] = [length(0, h, kh), length(1, w, kw)];
    const k = this.weight(layer, 'kernel', [kh, kw, filters, inC]);
    const bias = useBias ? this.weight(layer, 'bias', [filters]) : undefined;
    const kernel = permute(k, [kh, kw, filters, inC], [3, 2, 0, 1]);
    const make = (name: string) => this.add(name, new Conv2DTranspose({
      filters, kernelSize: [kh, kw], stride, dilation, outputShape: outShape, kernel, bias, useBias,
    }), [v], [filters, outShape[0], outShape[1]], img.layout);
    const act = layer.config.activation ?? 'linear';
    if (act === 'linear') return make(layer.name);
    return this.activation(layer, act, make(`${layer.name}/preact`), layer.name)!;
  }

  pool(layer: KerasLayer, v0: Value): Value {
    const img = this.image(layer, v0);
    const v = img.v;
    const [c, h, w] = img.shape;
    const kernel = this.pairOf(layer, 'pool_size', [2, 2]);
    const stride = this.pairOf(layer, 'strides', kernel);
    const padding = this.padding(layer);
    const attrs = { kernel, stride, padding };
    const g = this.shapeOf(layer, () => poolGeometry([1, c, h, w], attrs, layer.name));
    const isMax = layer.className.startsWith('Max');
    // TF's average pooling divides by the taps inside the input: countIncludePad false, our default.
    return this.add(layer.name, isMax ? new MaxPool2D(attrs) : new AvgPool2D(attrs), [v], [c, g.outH, g.outW], img.layout);
  }

  globalPool(layer: KerasLayer, v0: Value): Value {
    const img = this.image(layer, v0);
    const v = img.v;
    const [c] = img.shape;
    const keep = this.bool(layer, 'keepdims', false);
    const isMax = layer.className.startsWith('GlobalMax');
    // Our global pools give [C, 1, 1] (Keras keepdims); Keras's default [C] is a Flatten (a view) of it.
    const pooled = this.add(keep ? layer.name : `${layer.name}/pool`, isMax ? new GlobalMaxPool2D() : new GlobalAvgPool2D(), [v], [c, 1, 1], img.layout);
    if (keep) return pooled;
    return this.add(layer.name, new Flatten(), [pooled], [c], PLAIN);
  }

  dense(layer: KerasLayer, v: Value): Value {
    if (v.shape.length !== 1) {
      this.unsupported(layer, `Dense on a [${toKerasShape(v)}] tensor (applied along its last axis) is not supported; only on flat vectors`);
    }
    const inF = v.shape[0]!;
    const units = this.positiveInt(layer, 'units');
    const useBias = this.bool(layer, 'use_bias', true);
    const k = this.weight(layer, 'kernel', [inF, units]);
    const bias = useBias ? this.weight(layer, 'bias', [units]) : undefined;
    // Keras [in, units] -> ours [units, in]; a CHW-ordered input picks each row from its HWC place.
    const kernel = new Float32Array(units * inF);
    const l = v.layout;
    for (let j = 0; j < inF; j++) {
      const src = l.kind === 'hwcFlat' ? kerasIndex(l, j) : j;
      for (let u = 0; u < units; u++) kernel[u * inF + j] = k[src * units + u]!;
    }
    return this.withActivation(layer, (activation, name) =>
      this.add(name, new Dense({ units, activation, kernel, bias, useBias }), [v], [units], PLAIN));
  }

  flatten(layer: KerasLayer, v: Value): Value {
    const size = v.shape.reduce((a, d) => a * d, 1);
    if (this.channelsFirst(layer)) {
      // Keras moves the channels (its axis 1) last before flattening: of a plain [C, H, W] value,
      // the same HWC order as a channels_last Flatten of our CHW maps.
      if (v.layout.kind === 'chw') this.unsupported(layer, 'data_format "channels_first" on channels_last maps is not supported');
      if (v.shape.length === 3) {
        const [c, h, w] = v.shape as [number, number, number];
        const layout: Layout = c === 1 || h * w === 1 ? PLAIN : { kind: 'hwcFlat', c, h, w };
        return this.add(layer.name, new Flatten(), [v], [size], layout);
      }
    }
    if (v.layout.kind === 'chw') {
      const [c, h, w] = v.shape as [number, number, number];
      // With one channel or one pixel, CHW and HWC orders coincide.
      const layout: Layout = c === 1 || h * w === 1 ? PLAIN : { kind: 'hwcFlat', c, h, w };
      return this.add(layer.name, new Flatten(), [v], [size], layout);
    }
    return this.add(layer.name, new Flatten(), [v], [size], v.layout);
  }

  reshape(layer: KerasLayer, v0: Value): Value {
    const target = layer.config.target_shape;
    if (!Array.isArray(target) || target.length === 0 || !target.every((d) => d === -1 || d === null || (Number.isInteger(d) && d >= 1))
      || target.filter((d) => d === -1 || d === null).length > 1) {
      this.fail(layer, `target_shape ${JSON.stringify(target)} is not a list of positive integers with at most one -1`);
    }
    const v = this.plain(v0);
    const size = v.shape.reduce((a, d) => a * d, 1);
    const known = target.reduce((a: number, d) => (d === -1 || d === null ? a : a * d), 1);
    const shape = target.map((d) => (d === -1 || d === null ? size / known : d)) as number[];
    if (!shape.every((d) => Number.isInteger(d) && d >= 1) || shape.reduce((a, d) => a * d, 1) !== size) {
      this.fail(layer, `cannot reshape [${toKerasShape(v)}] (${size} values) to ${JSON.stringify(target)}`, ShapeError);
    }
    // Our data of a 3-D value is CHW; Keras reshapes its HWC order.
    let src = v;
    if (v.layout.kind === 'chw' && v.shape[0] !== 1 && v.shape[1]! * v.shape[2]! !== 1) {
      src = this.add(`${layer.name}/hwc`, new Transpose({ perm: [1, 2, 0] }), [v], [v.shape[1]!, v.shape[2]!, v.shape[0]!], PLAIN);
    }
    if (shape.length !== 3) return this.add(layer.name, new Reshape({ shape }), [src], shape, PLAIN);
    const [h, w, c] = shape as [number, number, number];
    if (c === 1 || h * w === 1) return this.add(layer.name, new Reshape({ shape: [c, h, w] }), [src], [c, h, w], CHW);
    const hwc = this.add(`${layer.name}/reshape`, new Reshape({ shape }), [src], shape, PLAIN);
    return this.add(layer.name, new Transpose({ perm: [2, 0, 1] }), [hwc], [c, h, w], CHW);
  }

  relu(layer: KerasLayer, v: Value): Value {
    const max = this.finite(layer, 'max_value', null);
    const slope = this.finite(layer, 'negative_slope', 0)!;
    const threshold = this.finite(layer, 'threshold', 0)!;
    if (threshold !== 0) this.unsupported(layer, `threshold ${threshold} is not supported (0)`);
    if (max !== null && slope !== 0) this.unsupported(layer, 'max_value together with negative_slope is not supported');
    if (max !== null) {
      if (max < 0) this.fail(layer, `max_value ${max} is negative`);
      return this.add(layer.name, new Activation({ kind: 'clip', min: 0, max }), [v], v.shape, v.layout);
    }
    if (slope !== 0) return this.add(layer.name, new Activation({ kind: 'leaky_relu', alpha: slope }), [v], v.shape, v.layout);
    return this.add(layer.name, new ReLU(), [v], v.shape, v.layout);
  }

  batchNorm(layer: KerasLayer, v: Value): Value {
    const rank = v.shape.length;
    let axis = layer.config.axis ?? -1;
    if (Array.isArray(axis) && axis.length === 1) axis = axis[0];
    // Channels first (axis 1 of a plain [C, H, W] value) are our axis 0, as they are for channels_last maps.
    if (rank === 3 && v.layout.kind === 'plain' && (axis === 1 || axis === -3)) {
      return this.add(layer.name, new BatchNorm({ ...this.batchNormParams(layer, v.shape[0]!), epsilon: this.finite(layer, 'epsilon', 1e-3)! }), [v], v.shape, v.layout);
    }
    // The channel axis is Keras's last one (-1, or `rank` counting the batch).
    if (!(axis === -1 || axis === rank)) {
      this.unsupported(layer, `axis ${JSON.stringify(layer.config.axis)} is not supported; only the channel (last) axis of a ${rank}-D input`);
    }
    if (v.layout.kind === 'plain' && rank !== 1) {
      this.unsupported(layer, `batch normalization of a [${toKerasShape(v)}] tensor is not supported (3-D images or flat vectors)`);
    }
    const channels = v.shape[0]!;
    const epsilon = this.finite(layer, 'epsilon', 1e-3)!;
    let params = this.batchNormParams(layer, channels);
    const l = v.layout;
    if (l.kind === 'hwcFlat') {
      // Per-feature parameters of a CHW-ordered vector: feature j is Keras feature kerasIndex(j).
      const perm = (a: Float32Array) => Float32Array.from({ length: channels }, (_, j) => a[kerasIndex(l, j)]!);
      params = { scale: perm(params.scale), bias: perm(params.bias), mean: perm(params.mean), variance: perm(params.variance) };
    }
    return this.add(layer.name, new BatchNorm({ ...params, epsilon }), [v], v.shape, v.layout);
  }

  /** tf.image.resizeNearestNeighbor / resizeBilinear without align_corners or half-pixel centres: asymmetric, rounding down. */
  upSampling(layer: KerasLayer, v0: Value): Value {
    const img = this.image(layer, v0);
    const [c, h, w] = img.shape;
    const size = this.pairOf(layer, 'size', [2, 2]);
    const interpolation = layer.config.interpolation ?? 'nearest';
    if (interpolation !== 'nearest' && interpolation !== 'bilinear') this.unsupported(layer, `interpolation ${JSON.stringify(interpolation)} is not supported (nearest, bilinear)`);
    const resize = new Resize2D({
      mode: interpolation === 'nearest' ? 'nearest' : 'linear', coordinateTransformation: 'asymmetric', nearestRounding: 'floor', size: [h * size[0], w * size[1]],
    });
    return this.add(layer.name, resize, [img.v], [c, h * size[0], w * size[1]], img.layout);
  }

  /** gamma, beta, moving mean and variance ([channels] each; 1 / 0 where `scale` / `center` is off). */
  batchNormParams(layer: KerasLayer, channels: number): { scale: Float32Array; bias: Float32Array; mean: Float32Array; variance: Float32Array } {
    const center = this.bool(layer, 'center', true);
    const scale = this.bool(layer, 'scale', true);
    const take = (name: string, dflt: number) => (name === 'gamma' && !scale) || (name === 'beta' && !center)
      ? new Float32Array(channels).fill(dflt)
      : this.weight(layer, name, [channels]);
    return { scale: take('gamma', 1), bias: take('beta', 0), mean: take('moving_mean', 0), variance: take('moving_variance', 1) };
  }

  zeroPad(layer: KerasLayer, v0: Value): Value {
    const img = this.image(layer, v0);
    const v = img.v;
    const [c, h, w] = img.shape;
    const p = layer.config.padding ?? 1;
    const ok = (d: unknown) => Number.isInteger(d) && (d as number) >= 0;
    let t: number, b: number, l: number, r: number;
    if (ok(p)) [t, b, l, r] = [p as number, p as number, p as number, p as number];
    else if (Array.isArray(p) && p.length === 2 && p.every(ok)) [t, b, l, r] = [p[0], p[0], p[1], p[1]];
    else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2 && q.every(ok))) {
      [[t, b], [l, r]] = p as [[number, number], [number, number]];
    } else {
      this.fail(layer, `padding ${JSON.stringify(p)} is not an integer, [rows, cols] or [[top, bottom], [left, right]]`);
    }
    return this.add(layer.name, new Pad2D({ pads: [t, l, b, r] }), [v], [c, h + t + b, w + l + r], img.layout);
  }

  addLayer(layer: KerasLayer, ins0: Value[]): Value {
    if (ins0.length < 2) this.fail(layer, `needs at least 2 inputs, it has ${ins0.length}`);
    // Values of one layout add element by element; a mix is brought to Keras order first.
    const ins = ins0.every((v) => JSON.stringify(v.layout) === JSON.stringify(ins0[0]!.layout)) ? ins0 : ins0.map((v) => this.plain(v));
    const shape = ins[0]!.shape;
    if (!ins.every((v) => v.shape.join() === shape.join())) {
      this.fail(layer, `inputs ${ins.map((v) => `[${toKerasShape(v)}]`).join(', ')} do not have one shape`, ShapeError);
    }
    return this.add(layer.name, new Add({}), ins, [...shape], ins[0]!.layout);
  }

  concat(layer: KerasLayer, ins0: Value[]): Value {
    if (ins0.length < 2) this.fail(layer, `needs at least 2 inputs, it has ${ins0.length}`);
    const ins = ins0.map((v) => this.plain(v));
    const rank = ins[0]!.shape.length;
    const axis = layer.config.axis ?? -1;
    if (!Number.isInteger(axis) || (axis as number) < -rank || (axis as number) > rank || axis === 0) {
      this.fail(layer, `axis ${JSON.stringify(axis)} is not an axis of a ${rank}-D input (1..${rank} or -${rank}..-1; 0 is the batch)`);
    }
    const kerasAxis = (axis as number) < 0 ? rank + (axis as number) : (axis as number) - 1;
    // Keras per-image axes [H, W, C] are our [1, 2, 0].
    const ours = ins[0]!.layout.kind === 'chw' ? [1, 2, 0][kerasAxis]! : kerasAxis;
    const shapes = ins.map((v) => v.shape);
    if (!ins.every((v) => v.layout.kind === ins[0]!.layout.kind && v.shape.length === rank)
      || !shapes.every((s) => s.every((d, k) => k === ours || d === shapes[0]![k]))) {
      this.fail(layer, `inputs ${ins.map((v) => `[${toKerasShape(v)}]`).join(', ')} must match on every axis but ${axis}`, ShapeError);
    }
    const shape = shapes[0]!.map((d, k) => (k === ours ? shapes.reduce((s, x) => s + x[k]!, 0) : d));
    return this.add(layer.name, new Concat({ axis: ours }), ins, shape, ins[0]!.layout);
  }
}

/** Row-major transpose on the CPU: out.shape[k] = shape[perm[k]]. Used once per weight at load time. */
function permute(src: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  for (let k = rank - 1, s = 1; k >= 0; k--) { strides[k] = s; s *= shape[k]!; }
  const outShape = perm.map((a) => shape[a]!);
  const outStrides = perm.map((a) => strides[a]!);
  const out = new Float32Array(src.length);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let from = 0;
    for (let k = 0; k < rank; k++) from += idx[k]! * outStrides[k]!;
    out[i] = src[from]!;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------- topology

/** The keras config of model.json, unwrapping `model_config` (tensorflowjs_converter's nesting). */
function topologyOf(mj: Json, file: string): { className: string; config: unknown } {
  let t = mj.modelTopology as Json;
  if (isObject(t.model_config)) t = t.model_config;
  if (typeof t.class_name !== 'string') throw new FormatError(`${file}: modelTopology has no class_name`);
  return { className: t.class_name, config: t.config };
}

/** Per-image Keras input shape of an InputLayer (or a first Sequential layer) config. */
function batchShapeOf(config: Json, where: string): number[] | null {
  const s = config.batch_input_shape ?? config.batch_shape;
  if (s === undefined || s === null) return null;
  if (!Array.isArray(s) || s.length < 2 || !s.slice(1).every((d) => Number.isInteger(d) && d >= 1)) {
    throw new FormatError(`${where}: input shape ${JSON.stringify(s)} is not [batch, positive integers...]`);
  }
  return s.slice(1) as number[];
}

/** Image inputs are float; an integer input (token ids for an Embedding, say) is not a ConvNet's. */
function checkInputDtype(config: Json, where: string): void {
  const d = config.dtype;
  if (d !== undefined && d !== null && d !== 'float32') throw new UnsupportedError(`${where}: input dtype ${JSON.stringify(d)} is not supported (float32)`);
}

function layerEntry(raw: unknown, index: number, file: string): { className: string; name: string; config: Json; raw: Json } {
  if (!isObject(raw) || typeof raw.class_name !== 'string' || !isObject(raw.config)) {
    throw new FormatError(`${file}: layer ${index} is not a {class_name, config} entry`);
  }
  const name = raw.name ?? raw.config.name;
  if (typeof name !== 'string' || name.length === 0) throw new FormatError(`${file}: layer ${index} (${raw.class_name}) has no name`);
  return { className: raw.class_name, name, config: raw.config, raw };
}

/**
 * The value keys each call of a functional layer reads, one list per inbound
 * node (several for a shared layer): tfjs/Keras 2 [[name, node, tensor,
 * kwargs], ...] or Keras 3 {args: [keras tensors]}.
 */
function inboundCalls(raw: Json, name: string, className: string, file: string): string[][] {
  const nodes = raw.inbound_nodes ?? [];
  const where = `${file}: layer "${name}" (${className})`;
  if (!Array.isArray(nodes)) throw new FormatError(`${where}: inbound_nodes is not a list`);
  if (nodes.length === 0) return [[]];
  return nodes.map((node) => inboundKeys(node, where));
}

function inboundKeys(node: unknown, where: string): string[] {
  const out: string[] = [];
  const history = (h: unknown) => {
    if (!Array.isArray(h) || typeof h[0] !== 'string' || !(Number.isInteger(h[1] ?? 0) && (h[1] ?? 0) >= 0) || (h[2] ?? 0) !== 0) {
      throw new FormatError(`${where}: inbound ${JSON.stringify(h)} is not [layer name, node, 0] (layers with several outputs are not supported)`);
    }
    out.push(valueKey(h[0], h[1] ?? 0));
  };
  if (Array.isArray(node)) {
    for (const entry of node) history(entry);
  } else if (isObject(node)) {
    // Keras 3: walk args for keras tensors.
    const walk = (v: unknown, depth: number): void => {
      if (depth > 8) return;
      if (Array.isArray(v)) v.forEach((x) => walk(x, depth + 1));
      else if (isObject(v)) {
        if (v.class_name === '__keras_tensor__' && isObject(v.config)) history(v.config.keras_history);
        else Object.values(v).forEach((x) => walk(x, depth + 1));
      }
    };
    walk(node.args, 0);
  } else {
    throw new FormatError(`${where}: inbound node ${JSON.stringify(node)} is malformed`);
  }
  if (out.length === 0) throw new FormatError(`${where}: its inbound node names no input`);
  return out;
}

function refList(v: unknown, what: string, file: string): string[] {
  if (!Array.isArray(v) || v.length === 0) throw new FormatError(`${file}: ${what} is not a list of [layer name, node, 0]`);
  // A single [name, node, 0] (Keras 3 with one input/output) or a list of them.
  const list = typeof v[0] === 'string' ? [v] : v;
  return list.map((r) => {
    if (!Array.isArray(r) || typeof r[0] !== 'string' || !(Number.isInteger(r[1] ?? 0) && (r[1] ?? 0) >= 0) || (r[2] ?? 0) !== 0) {
      throw new FormatError(`${file}: ${what} entry ${JSON.stringify(r)} is not [layer name, node, 0]`);
    }
    return valueKey(r[0], r[1] ?? 0);
  });
}

/**
 * `aliases`: value keys that name another value: a nested model's output
 * (its last layer's) and its inputs (what the outer model feeds them).
 */
interface Topology { inputs: Array<{ name: string; shape: number[] }>; layers: KerasLayer[]; outputs: string[]; aliases: Map<string, string> }

const MODEL_CLASSES = ['Sequential', 'Model', 'Functional'];

/** The value a key names, through nested models' aliases. */
function resolveKey(topo: Topology, key: string): string {
  for (let k = 0; k < 64; k++) {
    const next = topo.aliases.get(key);
    if (next === undefined) return key;
    key = next;
  }
  throw new FormatError(`value "${key}" is an alias of itself`);
}

function readTopology(mj: Json, file: string): Topology {
  const { className, config } = topologyOf(mj, file);
  return readModelConfig(className, config, file, false);
}

/**
 * A nested model (a Sequential or functional model used as a layer, called
 * once) is inlined: its layers become the outer model's, its inputs aliases
 * of what the outer model feeds it, its output an alias of its last layer's.
 */
function inlineNested(e: { className: string; name: string; config: Json; raw: Json }, inbound: string[][], into: Topology, file: string): void {
  const where = `${file}: layer "${e.name}" (${e.className})`;
  if (inbound.length !== 1) throw new UnsupportedError(`${where}: a nested model called ${inbound.length} times is not supported (once)`);
  const inner = readModelConfig(e.className, e.config, `${file}: nested model "${e.name}"`, true);
  if (inner.inputs.length !== inbound[0]!.length) throw new FormatError(`${where}: the nested model takes ${inner.inputs.length} inputs, it is given ${inbound[0]!.length}`);
  if (inner.outputs.length !== 1) throw new UnsupportedError(`${where}: a nested model with ${inner.outputs.length} outputs is not supported (1)`);
  inner.inputs.forEach((input, k) => into.aliases.set(input.name, inbound[0]![k]!));
  for (const [key, target] of inner.aliases) into.aliases.set(key, target);
  into.layers.push(...inner.layers);
  // Readers name the call as [model, node, 0]; tfjs counts the nested model's own
  // construction node too, so its one call may be node 1.
  for (const k of [0, 1]) into.aliases.set(valueKey(e.name, k), inner.outputs[0]!);
}

/** The input shape a Sequential's first layer declares, looking into a nested model that comes first. */
function nestedInputShape(first: { className: string; name: string; config: Json }, file: string): number[] | null {
  const own = batchShapeOf(first.config, `${file}: layer "${first.name}" (${first.className})`);
  if (own || !MODEL_CLASSES.includes(first.className)) return own;
  const list = Array.isArray(first.config.layers) ? first.config.layers : [];
  return list.length > 0 ? nestedInputShape(layerEntry(list[0], 0, file), file) : null;
}

function readModelConfig(className: string, config: unknown, file: string, nested: boolean): Topology {
  const aliases = new Map<string, string>();
  if (className === 'Sequential') {
    const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
    if (!Array.isArray(list) || list.length === 0) throw new FormatError(`${file}: the Sequential model has no layers`);
    const entries = list.map((raw, i) => layerEntry(raw, i, file));
    const first = entries[0]!;
    const inputName = first.className === 'InputLayer' ? first.name : 'input';
    const shape = nestedInputShape(first, file);
    if (first.className === 'InputLayer') checkInputDtype(first.config, `${file}: layer "${first.name}" (InputLayer)`);
    if (!shape && !nested) throw new FormatError(`${file}: the Sequential model has no input shape (its first layer "${first.name}" has no batch_input_shape)`);
    const topo: Topology = { inputs: [{ name: nested ? `${file}/input` : inputName, shape: shape ?? [] }], layers: [], outputs: [], aliases };
    let previous = topo.inputs[0]!.name;
    for (const e of entries) {
      if (e.className === 'InputLayer') {
        if (e !== first) throw new FormatError(`${file}: layer "${e.name}": an InputLayer can only come first in a Sequential model`);
        if (nested) aliases.set(e.name, previous);
        continue;
      }
      if (MODEL_CLASSES.includes(e.className)) inlineNested(e, [[previous]], topo, file);
      else topo.layers.push({ className: e.className, name: e.name, kerasName: e.name, config: e.config, inbound: [previous] });
      previous = e.name;
    }
    if (topo.layers.length === 0) throw new FormatError(`${file}: the Sequential model has no layers after its input`);
    topo.outputs.push(previous);
    return topo;
  }
  if (className === 'Model' || className === 'Functional') {
    if (!isObject(config) || !Array.isArray(config.layers)) throw new FormatError(`${file}: the ${className} config has no layers list`);
    const entries = config.layers.map((raw, i) => layerEntry(raw, i, file));
    const inputNames = refList(config.input_layers, 'input_layers', file);
    const outputs = refList(config.output_layers, 'output_layers', file);
    const inputs: Topology['inputs'] = [];
    const layers: KerasLayer[] = [];
    const topo: Topology = { inputs, layers, outputs, aliases };
    const byName = new Map(entries.map((e) => [e.name, e]));
    if (byName.size !== entries.length) {
      const dup = entries.find((e, i) => entries.findIndex((x) => x.name === e.name) !== i)!;
      throw new FormatError(`${file}: two layers are named "${dup.name}"`);
    }
    for (const name of inputNames) {
      const e = byName.get(name);
      if (!e || e.className !== 'InputLayer') throw new FormatError(`${file}: input_layers names "${name}", which is not an InputLayer`);
      const shape = batchShapeOf(e.config, `${file}: layer "${name}" (InputLayer)`) ?? (nested ? [] : null);
      if (!shape) throw new FormatError(`${file}: layer "${name}" (InputLayer) has no batch_input_shape`);
      checkInputDtype(e.config, `${file}: layer "${name}" (InputLayer)`);
      inputs.push({ name, shape });
    }
    for (const e of entries) {
      if (e.className === 'InputLayer') {
        if (!inputNames.includes(e.name)) throw new FormatError(`${file}: InputLayer "${e.name}" is not among input_layers`);
        continue;
      }
      const calls = inboundCalls(e.raw, e.name, e.className, file);
      if (MODEL_CLASSES.includes(e.className)) {
        inlineNested(e, calls, topo, file);
        continue;
      }
      calls.forEach((inbound, k) => {
        layers.push({ className: e.className, name: valueKey(e.name, k), kerasName: e.name, config: e.config, inbound });
      });
    }
    return topo;
  }
  throw new UnsupportedError(`${file}: model class "${className}" is not supported (Sequential, Model, Functional)`);
}

/** Orders layers so each comes after its inputs (depth-first), naming unknown inputs and cycles. */
function topologicalOrder(topo: Topology, file: string): KerasLayer[] {
  const byName = new Map(topo.layers.map((l) => [l.name, l]));
  const inputs = new Set(topo.inputs.map((i) => i.name));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: KerasLayer[] = [];
  const visit = (root: KerasLayer) => {
    // Iterative, so a long chain cannot overflow the stack.
    const stack: Array<{ layer: KerasLayer; next: number }> = [{ layer: root, next: 0 }];
    state.set(root.name, 'visiting');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.layer.inbound.length) {
        const dep = resolveKey(topo, top.layer.inbound[top.next++]!);
        if (inputs.has(dep)) continue;
        const d = byName.get(dep);
        if (!d) throw new FormatError(`${file}: layer "${top.layer.name}" (${top.layer.className}) reads "${dep}", which is not a layer of the model`);
        const s = state.get(dep);
        if (s === 'done') continue;
        if (s === 'visiting') {
          const cycle = [...stack.slice(stack.findIndex((f) => f.layer.name === dep)).map((f) => f.layer.name), dep];
          throw new FormatError(`${file}: layers ${cycle.map((n) => `"${n}"`).join(' -> ')} form a cycle`);
        }
        state.set(dep, 'visiting');
        stack.push({ layer: d, next: 0 });
      } else {
        state.set(top.layer.name, 'done');
        order.push(top.layer);
        stack.pop();
      }
    }
  };
  for (const l of topo.layers) if (!state.has(l.name)) visit(l);
  return order;
}

// ---------------------------------------------------------------- entry points

/**
 * Parses and checks a TF.js Layers model.json and its shards, without a GPU:
 * the returned spec (inputs, nodes with their converted weights, outputs)
 * goes to createModel. `weightBuffers` are the shards in manifest path
 * order or keyed by path. Throws FormatError / UnsupportedError / ShapeError
 * naming `fileName` and the layer, weight or shard.
 */
export function tfjsLayersSpec(modelJson: string | object, weightBuffers: WeightBuffers, fileName = 'model.json'): ModelSpec {
  const file = fileName;
  const mj = parseModelJson(modelJson, file);
  const topo = readTopology(mj, file);
  const weights = readWeights(mj.weightsManifest, weightBuffers, file);
  const order = topologicalOrder(topo, file);
  const conv = new Converter(file, weights);
  for (const input of topo.inputs) {
    const readers = topo.layers.filter((l) => l.inbound.some((k) => resolveKey(topo, k) === input.name));
    const channelsFirst = input.shape.length === 3 && readers.length > 0 && readers.every((l) => l.config.data_format === 'channels_first');
    conv.values.set(input.name, conv.input(input.name, input.shape, channelsFirst));
  }
  for (const layer of order) {
    const ins = layer.inbound.map((n) => conv.values.get(resolveKey(topo, n))!);
    conv.values.set(layer.name, conv.convertCall(layer, ins));
  }
  const outputs = topo.outputs.map((name) => {
    const v = conv.values.get(resolveKey(topo, name));
    if (!v) throw new FormatError(`${file}: output_layers names "${name}", which is not a layer of the model`);
    const p = conv.plain(v);
    // Our model's outputs are nodes; an output that is an input (through Dropout) gets an Identity node.
    if (p.isInput) return conv.add(`${name}/output`, new Identity({}), [p], p.shape, p.layout).node;
    return p.node;
  });
  if (conv.nodes.length === 0) throw new FormatError(`${file}: the model has no layers to run`);
  return { inputs: conv.inputs, nodes: conv.nodes, outputs };
}

/** Builds the model; errors of building it are prefixed with the file name. */
export function buildTfjsLayersModel(runtime: Runtime, spec: ModelSpec, fileName = 'model.json'): Model {
  try {
    return createModel(runtime, spec);
  } catch (e) {
    if (e instanceof ShapeError && !e.message.startsWith(fileName)) throw new ShapeError(`${fileName}: ${e.message}`);
    if (e instanceof OutOfRangeError && !e.message.startsWith(fileName)) throw new OutOfRangeError(`${fileName}: ${e.message}`);
    throw e;
  }
}

/**
 * Imports a TF.js Layers model: model.json plus the shards `loadWeights`
 * fetches. The model takes NCHW input (a Keras [H, W, 3] input is our
 * [3, H, W]) and its 3-D outputs are NCHW too; flat outputs are in Keras order.
 */
export async function importTfjsLayers(runtime: Runtime, source: TfjsLayersSource): Promise<ImportedModel> {
  const file = source.fileName ?? 'model.json';
  const mj = parseModelJson(source.modelJson, file);
  const paths = manifestPaths(mj.weightsManifest, file);
  const buffers = new Map<string, ArrayBuffer | ArrayBufferView>();
  for (const path of paths) {
    let data: ArrayBuffer | ArrayBufferView;
    try {
      data = await source.loadWeights(path);
    } catch (e) {
      if (e instanceof DeconvNetError) throw e;
      throw new FormatError(`${file}: weight shard "${path}" could not be loaded (${(e as Error)?.message ?? String(e)})`);
    }
    if (!(data instanceof ArrayBuffer || ArrayBuffer.isView(data))) throw new FormatError(`${file}: weight shard "${path}" did not load as bytes`);
    buffers.set(path, data);
  }
  const spec = tfjsLayersSpec(mj, buffers, file);
  return { model: buildTfjsLayersModel(runtime, spec, file), format: 'tfjs-layers' };
}


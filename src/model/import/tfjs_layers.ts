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
//
// The import is split along its seams, under tfjs/: json.ts reads the file,
// topology.ts the graph (shared layers, nested models, order), converter.ts
// holds the conversion state and layouts, layers.ts the table of layer
// converters keyed by Keras class name. This file is the entry point.
import { createModel, type Model, type ModelSpec } from '../model.js';
import type { Runtime } from '../../gpu/runtime.js';
import { DeconvNetError, FormatError, OutOfRangeError, ShapeError } from '../../gpu/errors.js';
import { manifestPaths, readWeights, type WeightBuffers } from './tfjs_weights.js';
import { Identity } from '../../layers/index.js';
import { parseModelJson } from './tfjs/json.js';
import { readTopology, resolveKey, topologicalOrder } from './tfjs/topology.js';
import { Converter } from './tfjs/converter.js';
import { TFJS_LAYERS } from './tfjs/layers.js';

export type { WeightBuffers } from './tfjs_weights.js';
export { parseModelJson, isTfjsLayersModelJson, tfjsWeightPaths } from './tfjs/json.js';
export { TFJS_ACTIVATIONS } from './tfjs/converter.js';
export { TFJS_LAYERS } from './tfjs/layers.js';

export interface TfjsLayersSource {
  /** The model.json text, or its parsed object. */
  modelJson: string | object;
  /** Fetches one shard named in the weightsManifest (paths relative to model.json). */
  loadWeights: (path: string) => Promise<ArrayBuffer | ArrayBufferView>;
  /** Names the file in error messages (default 'model.json'). */
  fileName?: string;
}

export interface ImportedModel { model: Model; format: 'tfjs-layers' }

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
  const conv = new Converter(file, weights, TFJS_LAYERS);
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

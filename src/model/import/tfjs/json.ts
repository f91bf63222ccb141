// TF.js Layers import, the file: model.json parsed and checked, its
// topology's layer entries, input shapes and wiring references read (no
// conversion here).
import { FormatError, UnsupportedError } from '../../../gpu/errors.js';
import { manifestPaths } from '../tfjs_weights.js';

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

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

/**
 * One call of a Keras layer as the topology gives it, its inputs resolved to
 * value keys (valueKey). A shared layer has one entry per call: `name` is
 * its node's name (the layer's own name for the first call, `<name>@<k>` for
 * call k), `kerasName` the layer's (its weights are found by it).
 */
export interface KerasLayer {
  className: string;
  name: string;
  kerasName: string;
  config: Json;
  inbound: string[];
}

/** The key of output `node` of a Keras layer (call `node`): the layer's name for the first call. */
export function valueKey(name: string, node: number): string {
  return node === 0 ? name : `${name}@${node}`;
}

/** The keras config of model.json, unwrapping `model_config` (tensorflowjs_converter's nesting). */
export function topologyOf(mj: Json, file: string): { className: string; config: unknown } {
  let t = mj.modelTopology as Json;
  if (isObject(t.model_config)) t = t.model_config;
  if (typeof t.class_name !== 'string') throw new FormatError(`${file}: modelTopology has no class_name`);
  return { className: t.class_name, config: t.config };
}

/** Per-image Keras input shape of an InputLayer (or a first Sequential layer) config. */
export function batchShapeOf(config: Json, where: string): number[] | null {
  const s = config.batch_input_shape ?? config.batch_shape;
  if (s === undefined || s === null) return null;
  if (!Array.isArray(s) || s.length < 2 || !s.slice(1).every((d) => Number.isInteger(d) && d >= 1)) {
    throw new FormatError(`${where}: input shape ${JSON.stringify(s)} is not [batch, positive integers...]`);
  }
  return s.slice(1) as number[];
}

/** Image inputs are float; an integer input (token ids for an Embedding, say) is not a ConvNet's. */
export function checkInputDtype(config: Json, where: string): void {
  const d = config.dtype;
  if (d !== undefined && d !== null && d !== 'float32') throw new UnsupportedError(`${where}: input dtype ${JSON.stringify(d)} is not supported (float32)`);
}

export function layerEntry(raw: unknown, index: number, file: string): { className: string; name: string; config: Json; raw: Json } {
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
export function inboundCalls(raw: Json, name: string, className: string, file: string): string[][] {
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

export function refList(v: unknown, what: string, file: string): string[] {
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

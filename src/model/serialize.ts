// The project's own model file: a JSON manifest (architecture, weight
// shapes and byte offsets, metadata) plus one little-endian float32 blob.
// Used for the trained default model; loading validates everything and
// reports problems as FormatError naming the file and the place.
import {
  Conv2D, Activation, ReLU, MaxPool2D, AvgPool2D, LRN, Dense, Flatten, Softmax, BatchNorm, Pad2D,
  type Layer,
} from '../layers/index.js';
import { isTrainable } from '../layers/layer.js';
import { createModel, type Model } from './model.js';
import type { Runtime } from '../gpu/runtime.js';
import { FormatError } from '../gpu/errors.js';

export const MODEL_FORMAT = 'deconvnet-webgpu/model@1';

export interface WeightEntry { name: string; shape: number[]; offset: number }
export interface LayerEntry { kind: string; name: string; config: Record<string, unknown>; weights: WeightEntry[] }
export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  inputShape: number[];
  layers: LayerEntry[];
  /** Free-form: classes, training record, licence of the data ... */
  metadata: Record<string, unknown>;
}

/** Reads the model's weights back from the GPU and describes it. */
export async function saveModel(model: Model, metadata: Record<string, unknown> = {}): Promise<{ manifest: ModelManifest; weights: Uint8Array }> {
  const chunks: Float32Array[] = [];
  let offset = 0;
  const layers: LayerEntry[] = [];
  for (const layer of model.chain('saveModel')) {
    const weights: WeightEntry[] = [];
    const add = (name: string, shape: number[], data: Float32Array) => {
      weights.push({ name, shape, offset });
      chunks.push(data);
      offset += data.byteLength;
    };
    if (layer instanceof Dense) {
      // A kernel over one binding lives in row chunks on the GPU; the file holds it whole.
      const chunks = await Promise.all(layer.kernelChunks.map((t) => t.read()));
      const kernel = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
      chunks.reduce((at, c) => { kernel.set(c, at); return at + c.length; }, 0);
      add('kernel', [...layer.kernelShape], kernel);
      const bias = layer.parameters()[layer.kernelChunks.length];
      if (bias) add('bias', [...bias.shape], await bias.read());
    } else if (isTrainable(layer)) {
      const [kernel, bias] = layer.parameters();
      add('kernel', [...kernel!.shape], await kernel!.read());
      if (bias) add('bias', [...bias.shape], await bias.read());
    } else if (layer instanceof BatchNorm) {
      const o = layer.options;
      for (const k of ['scale', 'bias', 'mean', 'variance'] as const) add(k, [o[k].length], o[k]);
    }
    layers.push({ kind: layer.kind, name: layer.name, config: configOf(layer), weights });
  }
  const blob = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) { blob.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at); at += c.byteLength; }
  return { manifest: { format: MODEL_FORMAT, inputShape: [...model.inputShape], layers, metadata }, weights: blob };
}

function configOf(layer: Layer): Record<string, unknown> {
  const strip = (o: object, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k, v]) => !keys.includes(k) && v !== undefined));
  if (layer instanceof Conv2D || layer instanceof Dense) return strip(layer.options, 'kernel', 'bias', 'seed', 'name');
  if (layer instanceof BatchNorm) return { epsilon: layer.options.epsilon };
  if (layer instanceof Activation) return strip(layer.attrs, 'slope');
  if (layer instanceof Softmax) return strip(layer.options, 'name');
  if ('attrs' in layer) return strip((layer as unknown as { attrs: object }).attrs, 'name');
  return {};
}

/** Builds a model from a manifest and its weight blob. `file` names the source in errors. */
export function loadSavedModel(runtime: Runtime, manifest: unknown, weights: Uint8Array, file = 'model'): Model {
  const m = manifest as Partial<ModelManifest>;
  if (!m || typeof m !== 'object' || m.format !== MODEL_FORMAT) {
    throw new FormatError(`${file}: not a ${MODEL_FORMAT} manifest (format: ${JSON.stringify(m?.format)})`);
  }
  if (!Array.isArray(m.inputShape) || !m.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FormatError(`${file}: inputShape ${JSON.stringify(m.inputShape)} is not a list of positive integers`);
  }
  if (!Array.isArray(m.layers) || m.layers.length === 0) throw new FormatError(`${file}: no layers`);
  const layers = m.layers.map((entry, index) => buildLayer(entry, index, weights, file));
  return createModel(runtime, { inputShape: m.inputShape, layers });
}

function buildLayer(entry: LayerEntry, index: number, blob: Uint8Array, file: string): Layer {
  const where = `${file}: layer ${index} (${entry?.name ?? '?'})`;
  if (!entry || typeof entry.kind !== 'string' || typeof entry.config !== 'object' || !Array.isArray(entry.weights)) {
    throw new FormatError(`${where}: malformed layer entry`);
  }
  const w: Record<string, Float32Array> = {};
  for (const ref of entry.weights) {
    const count = Array.isArray(ref.shape) ? ref.shape.reduce((a, b) => a * b, 1) : NaN;
    if (!Number.isInteger(count) || count <= 0 || !Number.isInteger(ref.offset) || ref.offset < 0 || ref.offset % 4 !== 0) {
      throw new FormatError(`${where}: weight "${ref.name}" has a bad shape or offset`);
    }
    if (ref.offset + count * 4 > blob.byteLength) {
      throw new FormatError(`${where}: weight "${ref.name}" [${ref.shape}] needs bytes ${ref.offset}..${ref.offset + count * 4}, the weight file has ${blob.byteLength}`);
    }
    const data = new Float32Array(blob.slice(blob.byteOffset + ref.offset, blob.byteOffset + ref.offset + count * 4).buffer);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new FormatError(`${where}: weight "${ref.name}" element ${bad} is ${data[bad]}`);
    w[ref.name] = data;
  }
  const c = { ...entry.config, name: entry.name } as never;
  switch (entry.kind) {
    case 'Conv2D': return new Conv2D({ ...(c as object), kernel: w.kernel, bias: w.bias } as never);
    case 'Dense': return new Dense({ ...(c as object), kernel: w.kernel, bias: w.bias } as never);
    case 'ReLU': return new ReLU(c);
    case 'MaxPool2D': return new MaxPool2D(c);
    case 'AvgPool2D': return new AvgPool2D(c);
    case 'LRN': return new LRN(c);
    case 'Flatten': return new Flatten(c);
    case 'Softmax': return new Softmax(c);
    case 'Pad2D': return new Pad2D(c);
    case 'BatchNorm': {
      for (const k of ['scale', 'bias', 'mean', 'variance']) if (!w[k]) throw new FormatError(`${where}: BatchNorm weight "${k}" is missing`);
      return new BatchNorm({ ...(c as object), scale: w.scale!, bias: w.bias!, mean: w.mean!, variance: w.variance! } as never);
    }
    case 'leaky_relu': case 'elu': case 'sigmoid': case 'tanh': case 'clip':
      return new Activation({ ...(c as object), kind: entry.kind } as never);
    default:
      throw new FormatError(`${where}: unknown layer kind "${entry.kind}"`);
  }
}

// ONNX import: a ModelProto becomes a graph model of the library's layers.
//
// The library's models keep the batch on axis 0 and describe everything else
// per image, so ONNX's axis 0 is read as the batch: graph inputs give their
// per-image shape (dims after the first), Reshape/Flatten/Transpose/Concat/
// Softmax/Squeeze axes are shifted by one, and an op that would mix images
// (a reshape or transpose of axis 0) is rejected. Shape arithmetic on
// constants (Shape, Gather, Concat, Unsqueeze... feeding a Reshape, as older
// PyTorch exports do) is folded on the CPU, constants the graph creates
// (ConstantOfShape, Range...) become formulas the layers write on the GPU;
// every other op becomes one node (a few become two or three: softmax over a
// coerced 2-D view).
//
// This file holds the entry points (onnxSpec, importOnnx) and the walk over
// the graph's nodes. Beside it, in onnx/: graph.ts (the builder and the
// values on each edge), fold.ts (constant folding), generated.ts (formulas of
// generated constants), ops.ts (the op table) and ops_*.ts (one mapping per
// op or family: windowed ops, products, activations, shape ops).
import type { onnx } from 'onnx-proto';
import type { Runtime } from '../../gpu/runtime.js';
import { FormatError, ShapeError, UnsupportedError } from '../../gpu/errors.js';
import { createModel, type Model, type ModelSpec, type ModelInput } from '../model.js';
import { Attrs, decodeModel, tensorFromProto, toNumber, type HostTensor } from './onnx_tensor.js';
import { fillsSettled } from '../../ops/fill.js';
import { isComputed, GraphBuilder, type Value } from './onnx/graph.js';
import { constantNode } from './onnx/fold.js';
import { OPS } from './onnx/ops.js';

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

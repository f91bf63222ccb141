// A tiny test-only ONNX interpreter: walks the graph's nodes in order and maps
// each ONNX op and its attributes onto the library's ops, all recorded into
// one submit. It exists to run the conformance cases, not to import models:
// anything it does not map exactly (an op, an attribute, an opset rule) is
// rejected with UnsupportedError rather than approximated.
import { onnx } from 'onnx-proto';
import type { Runtime } from '../../src/gpu/runtime.js';
import type { Recorder } from '../../src/gpu/recorder.js';
import { Tensor, shapeSize } from '../../src/gpu/tensor.js';
import { UnsupportedError } from '../../src/gpu/errors.js';
import { activation } from '../../src/ops/activation.js';
import { avgPool2d } from '../../src/ops/avgpool2d.js';
import { channelAffine, foldBatchNorm } from '../../src/ops/batchnorm.js';
import { conv2d } from '../../src/ops/conv2d.js';
import { conv2dTranspose } from '../../src/ops/conv2d_transpose.js';
import { matmul } from '../../src/ops/matmul.js';
import { maxPool2d } from '../../src/ops/maxpool2d.js';
import { pad2d } from '../../src/ops/pad2d.js';
import { softmax } from '../../src/ops/softmax.js';
import { toNumber, tensorFromProto, type HostTensor } from './load.js';

type Node = onnx.INodeProto;
type Pads = [top: number, left: number, bottom: number, right: number];

/** What flows along an edge: a GPU tensor, and the host values too when it is a constant. */
interface Value {
  tensor?: Tensor;
  host?: HostTensor;
}

/** One graph output, read back. */
export interface OutputTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

// ---- attributes ----------------------------------------------------------

/**
 * A node's attributes. Every attribute must be read by the op's mapping; one
 * left unread means a semantic this interpreter would silently drop.
 */
class Attrs {
  readonly #byName = new Map<string, onnx.IAttributeProto>();
  readonly #read = new Set<string>();

  constructor(readonly op: string, node: Node) {
    for (const a of node.attribute ?? []) this.#byName.set(a.name ?? '', a);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  #get(name: string, type: onnx.AttributeProto.AttributeType): onnx.IAttributeProto | undefined {
    this.#read.add(name);
    const a = this.#byName.get(name);
    if (a && a.type !== type) throw new UnsupportedError(`${this.op}: attribute ${name} has type ${a.type}, expected ${type}`);
    return a;
  }

  #required<T>(name: string, v: T | undefined): T {
    if (v === undefined) throw new UnsupportedError(`${this.op}: attribute ${name} is required`);
    return v;
  }

  int(name: string, dflt?: number): number {
    const a = this.#get(name, onnx.AttributeProto.AttributeType.INT);
    return this.#required(name, a ? toNumber(a.i ?? 0) : dflt);
  }

  float(name: string, dflt?: number): number {
    const a = this.#get(name, onnx.AttributeProto.AttributeType.FLOAT);
    return this.#required(name, a ? a.f ?? 0 : dflt);
  }

  /** A float attribute that may be absent. */
  optionalFloat(name: string): number | undefined {
    const a = this.#get(name, onnx.AttributeProto.AttributeType.FLOAT);
    return a ? a.f ?? 0 : undefined;
  }

  ints(name: string, dflt?: number[]): number[] {
    const a = this.#get(name, onnx.AttributeProto.AttributeType.INTS);
    return this.#required(name, a ? (a.ints ?? []).map(toNumber) : dflt);
  }

  string(name: string, dflt?: string): string {
    const a = this.#get(name, onnx.AttributeProto.AttributeType.STRING);
    return this.#required(name, a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : dflt);
  }

  tensor(name: string): HostTensor {
    const a = this.#get(name, onnx.AttributeProto.AttributeType.TENSOR);
    return tensorFromProto(this.#required(name, a?.t ?? undefined));
  }

  /** Attributes with no effect on an inference forward pass. */
  ignore(...names: string[]): void {
    for (const n of names) this.#read.add(n);
  }

  assertAllRead(): void {
    const unread = [...this.#byName.keys()].filter((n) => !this.#read.has(n));
    if (unread.length) throw new UnsupportedError(`${this.op}: attribute(s) ${unread.join(', ')} are not mapped`);
  }
}

/** [h, w] from a 2-element attribute of a 2-D op. */
function two(op: string, name: string, v: number[]): [number, number] {
  if (v.length !== 2) throw new UnsupportedError(`${op}: ${name} [${v}] must have 2 values (only 2-D ops are mapped)`);
  return [v[0]!, v[1]!];
}

/**
 * The sliding-window padding of Conv / MaxPool / AveragePool. ONNX pads are
 * [x1_begin, x2_begin, x1_end, x2_end], which for NCHW is [top, left, bottom, right].
 */
function windowPadding(a: Attrs): 'valid' | 'same' | Pads {
  const autoPad = a.string('auto_pad', 'NOTSET');
  const pads = a.ints('pads', [0, 0, 0, 0]);
  if (autoPad === 'VALID') return 'valid';
  if (autoPad === 'SAME_UPPER') return 'same';
  if (autoPad !== 'NOTSET') throw new UnsupportedError(`${a.op}: auto_pad ${autoPad} is not mapped (NOTSET, VALID, SAME_UPPER)`);
  if (pads.length !== 4) throw new UnsupportedError(`${a.op}: pads [${pads}] must have 4 values (only 2-D ops are mapped)`);
  return [pads[0]!, pads[1]!, pads[2]!, pads[3]!];
}

/** kernel_shape, when given, must agree with the weight's spatial dimensions. */
function checkKernelShape(a: Attrs, weight: Tensor): void {
  if (!a.has('kernel_shape')) return;
  const k = a.ints('kernel_shape');
  if (k.length !== weight.shape.length - 2 || k.some((d, i) => d !== weight.shape[i + 2])) {
    throw new UnsupportedError(`${a.op}: kernel_shape [${k}] disagrees with weight [${weight.shape}]`);
  }
}

// ---- the graph being run ---------------------------------------------------

class Graph {
  readonly values = new Map<string, Value>();
  /** Every tensor this run allocated, released at the end. */
  readonly owned: Tensor[] = [];

  constructor(readonly rt: Runtime, readonly rec: Recorder, readonly opset: number) {}

  value(name: string, op: string): Value {
    const v = this.values.get(name);
    if (!v) throw new UnsupportedError(`${op}: input ${name || '(empty)'} is not produced by any earlier node, input or initializer`);
    return v;
  }

  /** The value as a GPU tensor; constants are uploaded on first use. */
  gpu(name: string, op: string): Tensor {
    const v = this.value(name, op);
    if (!v.tensor) {
      const h = v.host!;
      if (h.dtype !== 'float32') throw new UnsupportedError(`${op}: input ${name} is ${h.dtype}, the GPU ops take float32`);
      v.tensor = this.own(this.rt.createTensor(h.dims.length ? h.dims : [1], h.data, 'f32', name));
    }
    return v.tensor;
  }

  /** A constant input (initializer or Constant output) on the host. */
  host(name: string, op: string): HostTensor {
    const h = this.value(name, op).host;
    if (!h) throw new UnsupportedError(`${op}: input ${name} must be a constant (initializer or Constant)`);
    return h;
  }

  floats(name: string, op: string): Float32Array {
    const h = this.host(name, op);
    if (h.dtype !== 'float32') throw new UnsupportedError(`${op}: input ${name} must be float32, got ${h.dtype}`);
    return h.data;
  }

  ints(name: string, op: string): number[] {
    const h = this.host(name, op);
    if (h.dtype !== 'int64') throw new UnsupportedError(`${op}: input ${name} must be int64, got ${h.dtype}`);
    return h.data;
  }

  own(t: Tensor): Tensor {
    this.owned.push(t);
    return t;
  }
}

type OpResult = Tensor | Value;
type OpMapping = (g: Graph, node: Node, a: Attrs) => OpResult;

/** Input `i` of a node, or '' when it is absent (ONNX marks skipped optional inputs with ''). */
function input(node: Node, i: number): string {
  return node.input?.[i] ?? '';
}

// ---- op mappings ----------------------------------------------------------

function conv(g: Graph, node: Node, a: Attrs): Tensor {
  const weight = g.gpu(input(node, 1), a.op);
  checkKernelShape(a, weight);
  const bias = input(node, 2) ? g.gpu(input(node, 2), a.op) : null;
  return conv2d(g.rec, g.gpu(input(node, 0), a.op), weight, bias, {
    stride: two(a.op, 'strides', a.ints('strides', [1, 1])),
    dilation: two(a.op, 'dilations', a.ints('dilations', [1, 1])),
    padding: windowPadding(a),
    groups: a.int('group', 1),
  });
}

/**
 * ConvTranspose pads. With output_shape (or auto_pad SAME_*, whose output is
 * in*stride) the ONNX spec derives them from the wanted size: total = full - out,
 * SAME_UPPER puts floor(total/2) first, anything else ceil(total/2).
 */
function transposePadding(a: Attrs, x: Tensor, weight: Tensor, stride: [number, number], dilation: [number, number], outPad: [number, number]): Pads {
  const autoPad = a.string('auto_pad', 'NOTSET');
  const pads = a.ints('pads', [0, 0, 0, 0]);
  const outputShape = a.ints('output_shape', []);
  const inH = x.shape[2]!, inW = x.shape[3]!;
  let wanted: [number, number] | null = null;
  if (outputShape.length) wanted = two(a.op, 'output_shape', outputShape.slice(-2));
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') wanted = [inH * stride[0], inW * stride[1]];
  else if (autoPad === 'VALID') return [0, 0, 0, 0];
  else if (autoPad !== 'NOTSET') throw new UnsupportedError(`${a.op}: auto_pad ${autoPad} is not an ONNX value`);
  if (!wanted) {
    if (pads.length !== 4) throw new UnsupportedError(`${a.op}: pads [${pads}] must have 4 values (only 2-D ops are mapped)`);
    return [pads[0]!, pads[1]!, pads[2]!, pads[3]!];
  }
  const begins: number[] = [], ends: number[] = [];
  for (const axis of [0, 1] as const) {
    const k = weight.shape[axis + 2]!;
    const full = stride[axis] * ([inH, inW][axis]! - 1) + outPad[axis] + (k - 1) * dilation[axis] + 1;
    const total = full - wanted[axis];
    if (total < 0) throw new UnsupportedError(`${a.op}: output_shape [${wanted}] is larger than the full output (${full} on axis ${axis})`);
    const begin = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
    begins.push(begin);
    ends.push(total - begin);
  }
  return [begins[0]!, begins[1]!, ends[0]!, ends[1]!];
}

function convTranspose(g: Graph, node: Node, a: Attrs): Tensor {
  const x = g.gpu(input(node, 0), a.op);
  const weight = g.gpu(input(node, 1), a.op);
  checkKernelShape(a, weight);
  if (x.shape.length !== 4) throw new UnsupportedError(`${a.op}: input [${x.shape}] is not 4-D`);
  const bias = input(node, 2) ? g.gpu(input(node, 2), a.op) : null;
  const stride = two(a.op, 'strides', a.ints('strides', [1, 1]));
  const dilation = two(a.op, 'dilations', a.ints('dilations', [1, 1]));
  const outputPadding = two(a.op, 'output_padding', a.ints('output_padding', [0, 0]));
  return conv2dTranspose(g.rec, x, weight, bias, {
    stride, dilation, outputPadding,
    padding: transposePadding(a, x, weight, stride, dilation, outputPadding),
    groups: a.int('group', 1),
  });
}

function poolAttrs(a: Attrs) {
  return {
    kernel: two(a.op, 'kernel_shape', a.ints('kernel_shape')),
    // ONNX strides default to 1, not to the kernel as in the library.
    stride: two(a.op, 'strides', a.ints('strides', [1, 1])),
    padding: windowPadding(a),
    ceilMode: a.int('ceil_mode', 0) === 1,
  };
}

function maxPool(g: Graph, node: Node, a: Attrs): Tensor {
  // storage_order only lays out the Indices output, which is not mapped (one output only).
  a.ignore('storage_order');
  const dilation = two(a.op, 'dilations', a.ints('dilations', [1, 1]));
  const { output, switches } = maxPool2d(g.rec, g.gpu(input(node, 0), a.op), { ...poolAttrs(a), dilation });
  g.own(switches);
  return output;
}

function averagePool(g: Graph, node: Node, a: Attrs): Tensor {
  const dilation = two(a.op, 'dilations', a.ints('dilations', [1, 1]));
  if (dilation[0] !== 1 || dilation[1] !== 1) throw new UnsupportedError(`${a.op}: dilations [${dilation}] are not mapped`);
  return avgPool2d(g.rec, g.gpu(input(node, 0), a.op), {
    ...poolAttrs(a),
    countIncludePad: a.int('count_include_pad', 0) === 1,
  });
}

function batchNormalization(g: Graph, node: Node, a: Attrs): Tensor {
  // Before opset 7, is_test=0 meant training mode (batch statistics).
  if (g.opset < 7 && a.int('is_test', 0) !== 1) throw new UnsupportedError(`${a.op}: is_test=0 (training mode) is not mapped`);
  if (a.int('spatial', 1) !== 1) throw new UnsupportedError(`${a.op}: spatial=0 is not mapped`);
  if (a.int('training_mode', 0) !== 0) throw new UnsupportedError(`${a.op}: training_mode=1 is not mapped`);
  a.ignore('momentum'); // only updates running statistics in training
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => g.floats(input(node, i), a.op)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const { multiplier, offset } = foldBatchNorm({ scale, bias, mean, variance, epsilon: a.float('epsilon', 1e-5) });
  const c = multiplier.length;
  const m = g.own(g.rt.createTensor([c], multiplier, 'f32', 'bn multiplier'));
  const o = g.own(g.rt.createTensor([c], offset, 'f32', 'bn offset'));
  return channelAffine(g.rec, g.gpu(input(node, 0), a.op), m, o);
}

/** Pads are [x1_begin, ..., xn_begin, x1_end, ..., xn_end]; only H and W may be padded. */
function pad(g: Graph, node: Node, a: Attrs): Tensor {
  const x = g.gpu(input(node, 0), a.op);
  const mode = a.string('mode', 'constant');
  let pads: number[], value: number;
  if (g.opset < 11) {
    pads = a.ints('pads');
    value = a.float('value', 0);
  } else {
    if (input(node, 3)) throw new UnsupportedError(`${a.op}: the axes input is not mapped`);
    pads = g.ints(input(node, 1), a.op);
    value = input(node, 2) ? g.floats(input(node, 2), a.op)[0]! : 0;
  }
  if (x.shape.length !== 4 || pads.length !== 8) throw new UnsupportedError(`${a.op}: only 4-D inputs with 8 pads are mapped, got [${x.shape}] pads [${pads}]`);
  if (pads[0] || pads[1] || pads[4] || pads[5]) throw new UnsupportedError(`${a.op}: pads [${pads}] touch N or C`);
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') throw new UnsupportedError(`${a.op}: mode ${mode} is not mapped`);
  return pad2d(g.rec, x, { pads: [pads[2]!, pads[3]!, pads[6]!, pads[7]!], mode, value });
}

function gemm(g: Graph, node: Node, a: Attrs): Tensor {
  a.ignore('broadcast'); // opset < 7: allows C to broadcast, which matmul always does
  const c = input(node, 2) ? g.gpu(input(node, 2), a.op) : null;
  return matmul(g.rec, g.gpu(input(node, 0), a.op), g.gpu(input(node, 1), a.op), c, {
    transposeA: a.int('transA', 0) === 1,
    transposeB: a.int('transB', 0) === 1,
    alpha: a.float('alpha', 1),
    beta: a.float('beta', 1),
  });
}

function matMul(g: Graph, node: Node, a: Attrs): Tensor {
  return matmul(g.rec, g.gpu(input(node, 0), a.op), g.gpu(input(node, 1), a.op), null);
}

/**
 * Constant folding only, as an importer would do: a 2-D permutation of a
 * constant (PyTorch exports Linear without bias as Transpose(W) + MatMul),
 * computed here on the CPU. A Transpose of a computed tensor is not mapped.
 */
function transpose(g: Graph, node: Node, a: Attrs): Value {
  const name = input(node, 0);
  if (!g.value(name, a.op).host) throw new UnsupportedError(`${a.op}: only a constant input is folded, ${name} is computed`);
  const w = g.floats(name, a.op);
  const dims = g.host(name, a.op).dims;
  const perm = a.ints('perm', [1, 0]);
  if (dims.length !== 2 || perm[0] !== 1 || perm[1] !== 0) throw new UnsupportedError(`${a.op}: only the 2-D perm [1, 0] is folded, got [${dims}] perm [${perm}]`);
  const [rows, cols] = dims as [number, number];
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = w[r * cols + c]!;
  return { host: { dtype: 'float32', dims: [cols, rows], data } };
}

function simpleActivation(kind: 'relu' | 'sigmoid' | 'tanh'): OpMapping {
  return (g, node, a) => activation(g.rec, g.gpu(input(node, 0), a.op), { kind });
}

function alphaActivation(kind: 'leaky_relu' | 'elu', dflt: number): OpMapping {
  return (g, node, a) => activation(g.rec, g.gpu(input(node, 0), a.op), { kind, alpha: a.float('alpha', dflt) });
}

/**
 * The library's PReLU has one slope, or one per channel (axis 1). Opset < 7
 * defines slope that way; from opset 7 slope broadcasts to X numpy-style,
 * which is per channel only when its one non-1 dimension lines up with axis 1.
 */
function pRelu(g: Graph, node: Node, a: Attrs): Tensor {
  const x = g.gpu(input(node, 0), a.op);
  const slope = g.gpu(input(node, 1), a.op);
  if (slope.size !== 1) {
    const channels = x.shape[1];
    const aligned = [...Array(x.shape.length - slope.shape.length).fill(1), ...slope.shape];
    const perChannel = aligned.every((d, i) => (i === 1 ? d === channels : d === 1));
    if (!(g.opset < 7 ? slope.size === channels : perChannel)) {
      throw new UnsupportedError(`${a.op}: slope [${slope.shape}] for input [${x.shape}] is neither one value nor one per channel`);
    }
  }
  return activation(g.rec, x, { kind: 'prelu', slope });
}

function clip(g: Graph, node: Node, a: Attrs): Tensor {
  const x = g.gpu(input(node, 0), a.op);
  // Absent bounds are unbounded (ONNX: the float range), as in the library.
  if (g.opset < 11) return activation(g.rec, x, { kind: 'clip', min: a.optionalFloat('min'), max: a.optionalFloat('max') });
  const bound = (i: number) => (input(node, i) ? g.floats(input(node, i), a.op)[0] : undefined);
  return activation(g.rec, x, { kind: 'clip', min: bound(1), max: bound(2) });
}

/**
 * Before opset 13, (Log)Softmax coerces the input to 2-D at `axis` (default 1)
 * and normalises each row of [prod(before), prod(after)]; from 13 it works
 * along the one axis (default -1).
 */
function softmaxOp(log: boolean): OpMapping {
  return (g, node, a) => {
    const x = g.gpu(input(node, 0), a.op);
    if (g.opset >= 13) return softmax(g.rec, x, { axis: a.int('axis', -1), log });
    const [rows, cols] = coerce2d(a.op, x.shape, a.int('axis', 1));
    const y = g.own(softmax(g.rec, x.reshape([rows, cols]), { axis: 1, log }));
    return y.reshape(x.shape);
  };
}

function coerce2d(op: string, shape: readonly number[], axisAttr: number): [number, number] {
  const axis = axisAttr < 0 ? axisAttr + shape.length : axisAttr;
  if (axis < 0 || axis > shape.length) throw new UnsupportedError(`${op}: axis ${axisAttr} is out of range for [${shape}]`);
  return [shapeSize(shape.slice(0, axis)), shapeSize(shape.slice(axis))];
}

function flatten(g: Graph, node: Node, a: Attrs): Tensor {
  const x = g.gpu(input(node, 0), a.op);
  return x.reshape(coerce2d(a.op, x.shape, a.int('axis', 1)));
}

/** Reshape as a view: 0 copies the input's dimension, -1 takes what is left. */
function reshape(g: Graph, node: Node, a: Attrs): Tensor {
  const x = g.gpu(input(node, 0), a.op);
  if (a.int('allowzero', 0) !== 0) throw new UnsupportedError(`${a.op}: allowzero=1 is not mapped`);
  const spec = g.opset < 5 ? a.ints('shape') : g.ints(input(node, 1), a.op);
  const shape = spec.map((d, i) => (d === 0 ? x.shape[i]! : d));
  const known = shapeSize(shape.filter((d) => d !== -1));
  return x.reshape(shape.map((d) => (d === -1 ? x.size / known : d)));
}

function constant(_g: Graph, _node: Node, a: Attrs): Value {
  return { host: a.tensor('value') };
}

const OPS: Record<string, OpMapping> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: maxPool,
  AveragePool: averagePool,
  BatchNormalization: batchNormalization,
  Pad: pad,
  Gemm: gemm,
  MatMul: matMul,
  Transpose: transpose,
  Relu: simpleActivation('relu'),
  Sigmoid: simpleActivation('sigmoid'),
  Tanh: simpleActivation('tanh'),
  LeakyRelu: alphaActivation('leaky_relu', 0.01),
  Elu: alphaActivation('elu', 1),
  PRelu: pRelu,
  Clip: clip,
  Softmax: softmaxOp(false),
  LogSoftmax: softmaxOp(true),
  Flatten: flatten,
  Reshape: reshape,
  Constant: constant,
};

// ---- running ----------------------------------------------------------------

function defaultOpset(model: onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) throw new UnsupportedError('model imports no default-domain opset');
  return toNumber(entry.version ?? 0);
}

function runNode(g: Graph, node: Node): void {
  const op = node.opType ?? '';
  const mapping = OPS[op];
  if (node.domain && node.domain !== 'ai.onnx') throw new UnsupportedError(`${op}: domain ${node.domain} is not mapped`);
  if (!mapping) throw new UnsupportedError(`ONNX op ${op} (node ${node.name || node.output?.[0]}) is not mapped`);
  const outputs = (node.output ?? []).filter((o) => o !== '');
  if (outputs.length !== 1 || node.output![0] === '') {
    throw new UnsupportedError(`${op}: only the first output is mapped, node asks for [${node.output}]`);
  }
  const a = new Attrs(op, node);
  const result = mapping(g, node, a);
  a.assertAllRead();
  const value: Value = result instanceof Tensor ? { tensor: g.own(result) } : result;
  g.values.set(outputs[0]!, value);
}

/**
 * Runs the model on `inputs` (one per graph input that is not an
 * initializer, in order) and reads back every graph output.
 */
export async function runGraph(rt: Runtime, model: onnx.IModelProto, inputs: HostTensor[], label = 'onnx graph'): Promise<OutputTensor[]> {
  const graph = model.graph;
  if (!graph) throw new UnsupportedError('model has no graph');
  const rec = rt.record(label);
  const g = new Graph(rt, rec, defaultOpset(model));
  try {
    for (const init of graph.initializer ?? []) g.values.set(init.name ?? '', { host: tensorFromProto(init) });
    const fed = (graph.input ?? []).filter((i) => !g.values.has(i.name ?? ''));
    if (fed.length !== inputs.length) throw new Error(`${label}: graph has ${fed.length} inputs to feed, the case gives ${inputs.length}`);
    fed.forEach((info, i) => {
      const h = inputs[i]!;
      if (h.dtype !== 'float32') throw new UnsupportedError(`${label}: input ${info.name} is ${h.dtype}`);
      g.values.set(info.name ?? '', { tensor: g.own(rt.createTensor(h.dims.length ? h.dims : [1], h.data, 'f32', info.name ?? 'input')) });
    });
    for (const node of graph.node ?? []) runNode(g, node);
  } catch (e) {
    rec.abandon();
    for (const t of g.owned) t.release();
    throw e;
  }
  try {
    await rec.submit();
    const out: OutputTensor[] = [];
    for (const info of graph.output ?? []) {
      const name = info.name ?? '';
      const v = g.value(name, 'graph output');
      if (v.tensor) out.push({ name, dims: [...v.tensor.shape], data: await v.tensor.read() });
      else if (v.host?.dtype === 'float32') out.push({ name, dims: v.host.dims, data: v.host.data });
      else throw new UnsupportedError(`graph output ${name} is not float32`);
    }
    return out;
  } finally {
    for (const t of g.owned) t.release();
  }
}

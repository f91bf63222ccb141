// A float64 evaluation of an ONNX graph, written from the operator
// definitions of the ONNX spec on top of the loop references beside it: the
// independent reading of a (mutated) model file that the importer's output is
// compared with in the fuzz test. It decodes the protobuf itself (onnx-proto)
// and shares no code with src/model/import.
//
// It covers the ops of the fuzzed models and of common mutations, with their
// usual attributes; anything else throws BeyondReference (the case is then
// not compared, and counted as such). A graph the spec makes invalid (shapes
// that do not fit, a missing input) throws InvalidGraph.
import { onnx } from 'onnx-proto';
import { conv2dRef, conv2dTransposeRef, convOutputShapeRef } from './conv.js';
import { maxPoolRef, avgPoolRef, type RefGeometry } from './pool.js';
import { gemmRef } from './matmul.js';
import { padRef } from './pad.js';
import { softmaxRef } from './softmax.js';
import { binaryRef } from './elementwise.js';
import { transposeRef } from './transpose.js';
import { batchNormRef } from './batchnorm.js';

export class BeyondReference extends Error {}
export class InvalidGraph extends Error {}

interface T { data: Float64Array; shape: number[] }

const AT = onnx.AttributeProto.AttributeType;
const DT = onnx.TensorProto.DataType;
const size = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

function invalid(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new InvalidGraph(msg);
}

function beyond(msg: string): never {
  throw new BeyondReference(msg);
}

/** An initializer's values as float64 (float32 and int64 element types; others are beyond the reference). */
function tensorValues(t: onnx.ITensorProto): T {
  const shape = (t.dims ?? []).map(Number);
  invalid(shape.every((d) => Number.isInteger(d) && d >= 0), `tensor "${t.name}": dims [${shape}]`);
  const n = size(shape);
  invalid(n <= 1 << 24, `tensor "${t.name}": ${n} elements`);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  let data: Float64Array;
  if (t.dataType === DT.FLOAT) {
    if (raw) {
      invalid(raw.length === n * 4, `tensor "${t.name}": ${raw.length} raw bytes for ${n} floats`);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = Float64Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true));
    } else {
      invalid((t.floatData ?? []).length === n, `tensor "${t.name}": ${(t.floatData ?? []).length} floats for ${n}`);
      data = Float64Array.from(t.floatData!);
    }
  } else if (t.dataType === DT.INT64) {
    if (raw) {
      invalid(raw.length === n * 8, `tensor "${t.name}": ${raw.length} raw bytes for ${n} int64`);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = Float64Array.from({ length: n }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    } else {
      invalid((t.int64Data ?? []).length === n, `tensor "${t.name}": ${(t.int64Data ?? []).length} int64 for ${n}`);
      data = Float64Array.from(t.int64Data!, (v) => Number(v));
    }
  } else {
    beyond(`tensor "${t.name}": element type ${t.dataType}`);
  }
  return { data, shape };
}

type Attrs = Map<string, onnx.IAttributeProto>;

function intsAttr(a: Attrs, name: string, dflt: number[]): number[] {
  const v = a.get(name);
  if (!v) return dflt;
  if (v.type !== AT.INTS) beyond(`attribute ${name} of type ${v.type}`);
  return (v.ints ?? []).map(Number);
}

function intAttr(a: Attrs, name: string, dflt: number): number {
  const v = a.get(name);
  if (!v) return dflt;
  if (v.type !== AT.INT) beyond(`attribute ${name} of type ${v.type}`);
  return Number(v.i ?? 0);
}

function floatAttr(a: Attrs, name: string, dflt: number): number {
  const v = a.get(name);
  if (!v) return dflt;
  if (v.type !== AT.FLOAT) beyond(`attribute ${name} of type ${v.type}`);
  return v.f ?? 0;
}

function only(a: Attrs, names: string[], op: string): void {
  for (const k of a.keys()) if (!names.includes(k)) beyond(`${op}: attribute ${k}`);
}

/** 2-D window attributes (kernel from `kernel` where given), explicit pads only. */
function window2d(a: Attrs, op: string, kernel?: number[]) {
  const autoPad = a.get('auto_pad');
  if (autoPad && new TextDecoder().decode(autoPad.s ?? new Uint8Array()) !== 'NOTSET') beyond(`${op}: auto_pad`);
  const k = intsAttr(a, 'kernel_shape', kernel ?? []);
  invalid(k.length === 2 && k.every((d) => Number.isInteger(d) && d >= 1), `${op}: kernel_shape [${k}]`);
  if (kernel) invalid(k[0] === kernel[0] && k[1] === kernel[1], `${op}: kernel_shape [${k}] vs weight [${kernel}]`);
  const strides = intsAttr(a, 'strides', [1, 1]);
  const dilations = intsAttr(a, 'dilations', [1, 1]);
  const pads = intsAttr(a, 'pads', [0, 0, 0, 0]);
  invalid(strides.length === 2 && strides.every((d) => d >= 1), `${op}: strides [${strides}]`);
  invalid(dilations.length === 2 && dilations.every((d) => d >= 1), `${op}: dilations [${dilations}]`);
  invalid(pads.length === 4 && pads.every((d) => d >= 0), `${op}: pads [${pads}]`);
  return { k: k as [number, number], stride: strides as [number, number], dilation: dilations as [number, number], pads: pads as [number, number, number, number] };
}

function rank4(x: T, op: string): [number, number, number, number] {
  invalid(x.shape.length === 4, `${op}: input [${x.shape}] is not 4-D`);
  return x.shape as [number, number, number, number];
}

/** A convolution's 4-D input and weight, group and window (its kernel the weight's). */
function convOperands(a: Attrs, op: string, x: T, w: T) {
  const xs = rank4(x, op);
  invalid(w.shape.length === 4, `${op}: weight [${w.shape}]`);
  return { xs, g: intAttr(a, 'group', 1), win: window2d(a, op, w.shape.slice(2)) };
}

function runNode(node: onnx.INodeProto, ins: Array<T | undefined>, opset: number): T {
  const op = node.opType ?? '';
  const a: Attrs = new Map((node.attribute ?? []).map((x) => [x.name ?? '', x]));
  const need = (k: number): T => {
    const t = ins[k];
    invalid(t !== undefined, `${op}: input ${k} is missing`);
    return t;
  };
  const x = need(0);
  const unary = (f: (v: number) => number): T => ({ data: x.data.map(f), shape: x.shape });
  switch (op) {
    case 'Identity': case 'Dropout': only(a, ['ratio', 'seed', 'is_test'], op); return x;
    case 'Relu': only(a, [], op); return unary((v) => Math.max(v, 0));
    case 'Sigmoid': only(a, [], op); return unary((v) => 1 / (1 + Math.exp(-v)));
    case 'Tanh': only(a, [], op); return unary(Math.tanh);
    case 'LeakyRelu': { only(a, ['alpha'], op); const al = floatAttr(a, 'alpha', 0.01); return unary((v) => (v >= 0 ? v : al * v)); }
    case 'PRelu': {
      only(a, [], op);
      let s = need(1);
      // Before opset 7 a 1-D slope of C values is per channel (axis 1), as exporters wrote it.
      if (opset < 7 && s.shape.length === 1 && x.shape.length >= 2 && s.shape[0] === x.shape[1]) s = { data: s.data, shape: [s.shape[0]!, ...x.shape.slice(2).map(() => 1)] };
      const ok = s.shape.length <= x.shape.length && s.shape.every((d, k) => d === 1 || d === x.shape[x.shape.length - s.shape.length + k]);
      invalid(ok, `PRelu: slope [${s.shape}] does not broadcast to [${x.shape}]`);
      const { y, shape } = binaryRef('mul', x.data, x.shape, s.data, s.shape);
      invalid(shape.join() === x.shape.join(), `PRelu: slope [${s.shape}] does not broadcast to [${x.shape}]`);
      return { data: y.map((v, i) => (x.data[i]! >= 0 ? x.data[i]! : v)), shape: x.shape };
    }
    case 'Add': case 'Mul': {
      only(a, [], op);
      const b = need(1);
      const ok = [x.shape, b.shape].every((s) => s.length <= 4);
      if (!ok) beyond(`${op}: rank above 4`);
      for (let k = 1; k <= Math.min(x.shape.length, b.shape.length); k++) {
        const p = x.shape[x.shape.length - k]!, q = b.shape[b.shape.length - k]!;
        invalid(p === q || p === 1 || q === 1, `${op}: [${x.shape}] and [${b.shape}] do not broadcast`);
      }
      const { y, shape } = binaryRef(op === 'Add' ? 'add' : 'mul', x.data, x.shape, b.data, b.shape);
      return { data: y, shape };
    }
    case 'Conv': {
      only(a, ['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'auto_pad'], op);
      const w = need(1);
      const { xs, g, win } = convOperands(a, op, x, w);
      invalid(g >= 1 && xs[1] % g === 0 && w.shape[0]! % g === 0 && w.shape[1] === xs[1] / g, `Conv: group ${g}, input [${xs}], weight [${w.shape}]`);
      const bias = ins[2];
      if (bias) invalid(bias.shape.length === 1 && bias.shape[0] === w.shape[0], `Conv: bias [${bias.shape}]`);
      const attrs = { stride: win.stride, dilation: win.dilation, pads: [win.pads[0], win.pads[1], win.pads[2], win.pads[3]] as [number, number, number, number], groups: g };
      const shape = convOutputShapeRef(xs, w.shape as [number, number, number, number], attrs);
      invalid(shape.every((d) => d >= 1), `Conv: output [${shape}]`);
      return { data: conv2dRef(x.data, xs, w.data, w.shape as [number, number, number, number], bias?.data ?? null, attrs), shape };
    }
    case 'ConvTranspose': {
      only(a, ['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'output_padding'], op);
      const w = need(1);
      const { xs, g, win } = convOperands(a, op, x, w);
      invalid(g >= 1 && xs[1] % g === 0 && w.shape[0] === xs[1], `ConvTranspose: group ${g}, input [${xs}], weight [${w.shape}]`);
      const outPad = intsAttr(a, 'output_padding', [0, 0]);
      invalid(outPad.length === 2 && outPad.every((d, i) => d >= 0 && (d < win.stride[i]! || d < win.dilation[i]!)), `ConvTranspose: output_padding [${outPad}]`);
      const out = [0, 1].map((i) => win.stride[i]! * (xs[2 + i]! - 1) + outPad[i]! + (win.k[i]! - 1) * win.dilation[i]! + 1 - win.pads[i]! - win.pads[i + 2]!);
      invalid(out.every((d) => d >= 1), `ConvTranspose: output ${out}`);
      const bias = ins[2];
      const cout = w.shape[1]! * g;
      if (bias) invalid(bias.shape.length === 1 && bias.shape[0] === cout, `ConvTranspose: bias [${bias.shape}]`);
      const data = conv2dTransposeRef(x.data, xs, w.data, w.shape as [number, number, number, number], bias?.data ?? null,
        { stride: win.stride, dilation: win.dilation, padBegin: [win.pads[0], win.pads[1]], groups: g, outH: out[0]!, outW: out[1]! });
      return { data, shape: [xs[0], cout, out[0]!, out[1]!] };
    }
    case 'MaxPool': case 'AveragePool': {
      only(a, ['kernel_shape', 'strides', 'pads', 'dilations', 'auto_pad', 'ceil_mode', 'count_include_pad', 'storage_order'], op);
      const xs = rank4(x, op);
      if (intAttr(a, 'ceil_mode', 0) !== 0) beyond(`${op}: ceil_mode`);
      if (intAttr(a, 'storage_order', 0) !== 0) beyond(`${op}: storage_order`);
      const win = window2d(a, op);
      if (op === 'AveragePool' && a.has('dilations')) beyond('AveragePool: dilations');
      const outH = Math.floor((xs[2] + win.pads[0] + win.pads[2] - (win.k[0] - 1) * win.dilation[0] - 1) / win.stride[0]) + 1;
      const outW = Math.floor((xs[3] + win.pads[1] + win.pads[3] - (win.k[1] - 1) * win.dilation[1] - 1) / win.stride[1]) + 1;
      invalid(outH >= 1 && outW >= 1, `${op}: output ${outH}x${outW}`);
      // A window wholly in the padding has no input to take (our kernels and the ONNX runtime differ there).
      if (win.pads[0] >= win.k[0] || win.pads[1] >= win.k[1] || win.pads[2] >= win.k[0] || win.pads[3] >= win.k[1]) beyond(`${op}: pads [${win.pads}] as large as the window`);
      const geo: RefGeometry = {
        kH: win.k[0], kW: win.k[1], sH: win.stride[0], sW: win.stride[1], dH: win.dilation[0], dW: win.dilation[1],
        padTop: win.pads[0], padLeft: win.pads[1], padBottom: win.pads[2], padRight: win.pads[3], outH, outW,
      };
      const data = op === 'MaxPool' ? maxPoolRef(x.data, xs, geo).values : avgPoolRef(x.data, xs, geo, intAttr(a, 'count_include_pad', 0) !== 0);
      return { data, shape: [xs[0], xs[1], outH, outW] };
    }
    case 'GlobalAveragePool': {
      only(a, [], op);
      const [n, c, h, w] = rank4(x, op);
      const data = Float64Array.from({ length: n * c }, (_, p) => x.data.subarray(p * h * w, (p + 1) * h * w).reduce((s, v) => s + v, 0) / (h * w));
      return { data, shape: [n, c, 1, 1] };
    }
    case 'Flatten': {
      only(a, ['axis'], op);
      let axis = intAttr(a, 'axis', 1);
      invalid(axis >= -x.shape.length && axis <= x.shape.length, `Flatten: axis ${axis} of [${x.shape}]`);
      if (axis < 0) axis += x.shape.length;
      return { data: x.data, shape: [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))] };
    }
    case 'Reshape': {
      only(a, ['allowzero'], op);
      const s = need(1);
      invalid(s.shape.length === 1, `Reshape: shape tensor [${s.shape}]`);
      const allowZero = intAttr(a, 'allowzero', 0) !== 0;
      const target = Array.from(s.data, (d, i) => (d === 0 && !allowZero ? x.shape[i] ?? NaN : d));
      invalid(target.filter((d) => d === -1).length <= 1 && target.every((d) => d === -1 || (Number.isInteger(d) && d >= 0)), `Reshape: shape [${Array.from(s.data)}]`);
      const known = size(target.filter((d) => d !== -1));
      const shape = target.map((d) => (d === -1 ? size(x.shape) / known : d));
      invalid(shape.every((d) => Number.isInteger(d)) && size(shape) === size(x.shape), `Reshape: [${x.shape}] to [${Array.from(s.data)}]`);
      return { data: x.data, shape };
    }
    case 'Transpose': {
      only(a, ['perm'], op);
      const perm = intsAttr(a, 'perm', x.shape.map((_, i) => x.shape.length - 1 - i));
      invalid(perm.length === x.shape.length && [...perm].sort().every((p, i) => p === i), `Transpose: perm [${perm}] of [${x.shape}]`);
      const { y, shape } = transposeRef(x.data, x.shape, perm);
      return { data: y, shape };
    }
    case 'Softmax': {
      only(a, ['axis'], op);
      if (opset < 13) beyond('Softmax before opset 13 (flattening semantics)');
      let axis = intAttr(a, 'axis', -1);
      invalid(axis >= -x.shape.length && axis < x.shape.length, `Softmax: axis ${axis} of [${x.shape}]`);
      if (axis < 0) axis += x.shape.length;
      return { data: softmaxRef(x.data, x.shape, axis), shape: x.shape };
    }
    case 'Gemm': {
      // `broadcast` (before opset 7) allowed what numpy-style broadcasting of C allows.
      only(a, ['alpha', 'beta', 'transA', 'transB', 'broadcast'], op);
      const b = need(1), c = ins[2];
      invalid(x.shape.length === 2 && b.shape.length === 2, `Gemm: [${x.shape}] x [${b.shape}]`);
      const tA = intAttr(a, 'transA', 0) !== 0, tB = intAttr(a, 'transB', 0) !== 0;
      const K = tA ? x.shape[0] : x.shape[1], K2 = tB ? b.shape[1] : b.shape[0];
      invalid(K === K2, `Gemm: inner sizes ${K} and ${K2}`);
      const M = tA ? x.shape[1]! : x.shape[0]!, N = tB ? b.shape[0]! : b.shape[1]!;
      if (c) {
        invalid(c.shape.length <= 2, `Gemm: C [${c.shape}]`);
        const rows = c.shape.length === 2 ? c.shape[0]! : 1, cols = c.shape.length >= 1 ? c.shape[c.shape.length - 1]! : 1;
        invalid((rows === 1 || rows === M) && (cols === 1 || cols === N), `Gemm: C [${c.shape}] for [${M},${N}]`);
      }
      const { y } = gemmRef(x.data, x.shape, b.data, b.shape, c ? { data: c.data, shape: c.shape } : null,
        { transposeA: tA, transposeB: tB, alpha: floatAttr(a, 'alpha', 1), beta: floatAttr(a, 'beta', 1) });
      return { data: y, shape: [M, N] };
    }
    case 'MatMul': {
      only(a, [], op);
      const b = need(1);
      if (x.shape.length !== 2 || b.shape.length !== 2) beyond(`MatMul of [${x.shape}] and [${b.shape}]`);
      invalid(x.shape[1] === b.shape[0], `MatMul: [${x.shape}] x [${b.shape}]`);
      return { data: gemmRef(x.data, x.shape, b.data, b.shape, null).y, shape: [x.shape[0]!, b.shape[1]!] };
    }
    case 'BatchNormalization': {
      only(a, ['epsilon', 'momentum', 'training_mode', 'spatial', 'is_test'], op);
      if (intAttr(a, 'training_mode', 0) !== 0) beyond('BatchNormalization: training_mode');
      if (a.has('is_test') && intAttr(a, 'is_test', 1) !== 1) beyond('BatchNormalization: is_test 0');
      if (a.has('spatial') && intAttr(a, 'spatial', 1) !== 1) beyond('BatchNormalization: spatial 0');
      invalid(x.shape.length >= 2, `BatchNormalization: input [${x.shape}]`);
      const [scale, bias, mean, variance] = [1, 2, 3, 4].map(need);
      const c = x.shape[1]!;
      invalid([scale, bias, mean, variance].every((t) => t!.shape.length === 1 && t!.shape[0] === c), 'BatchNormalization: parameter shapes');
      const shape4 = [x.shape[0]!, c, size(x.shape.slice(2)), 1];
      const data = batchNormRef(x.data, shape4, { scale: scale!.data, bias: bias!.data, mean: mean!.data, variance: variance!.data, epsilon: floatAttr(a, 'epsilon', 1e-5) });
      return { data, shape: x.shape };
    }
    case 'Pad': {
      only(a, opset >= 11 ? ['mode'] : ['mode', 'pads', 'value'], op);
      const modeAttr = a.get('mode');
      const mode = modeAttr ? new TextDecoder().decode(modeAttr.s ?? new Uint8Array()) : 'constant';
      if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') invalid(false, `Pad: mode "${mode}"`);
      const pads = opset >= 11 ? Array.from(need(1).data) : intsAttr(a, 'pads', []);
      const value = opset >= 11 ? ins[2]?.data[0] ?? 0 : floatAttr(a, 'value', 0);
      if (opset >= 11 && ins[3]) beyond('Pad: axes');
      const xs = rank4(x, op);
      invalid(pads.length === 8, `Pad: ${pads.length} pads for a 4-D input`);
      if (pads.some((p) => p < 0)) beyond('Pad: negative pads');
      if (pads[0] || pads[1] || pads[4] || pads[5]) beyond('Pad: on the batch or channel axis');
      if (mode === 'reflect') invalid(pads[2]! < xs[2] && pads[6]! < xs[2] && pads[3]! < xs[3] && pads[7]! < xs[3], `Pad: reflect pads [${pads}] of [${xs}]`);
      const p2 = [pads[2]!, pads[3]!, pads[6]!, pads[7]!];
      return { data: padRef(x.data, xs, p2, mode, value), shape: [xs[0], xs[1], xs[2] + p2[0]! + p2[2]!, xs[3] + p2[1]! + p2[3]!] };
    }
    default:
      beyond(`op ${op}`);
  }
}

/**
 * Every graph output for `input` (the one graph input that is not an
 * initializer), in float64, concatenated in output order. Input data of the
 * size the file declares is one run; other data is a batch of images of the
 * declared per-image shape, each run with the declared leading dimension 1
 * (as the importer treats the leading axis: the batch).
 */
export function evaluateOnnx(bytes: Uint8Array, input: ArrayLike<number>): Float64Array {
  let m: onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new InvalidGraph(`not a model: ${(e as Error).message}`);
  }
  const shape = inputShape(m);
  if (size(shape) === input.length) return Float64Array.from(evaluateGraph(m, input, shape).flatMap((o) => Array.from(o.data)));
  const perImage = size(shape.slice(1));
  invalid(input.length % perImage === 0, `input of ${input.length} values for [${shape}]`);
  const images = Array.from({ length: input.length / perImage }, (_, b) =>
    evaluateGraph(m, Array.prototype.slice.call(input, b * perImage, (b + 1) * perImage) as number[], [1, ...shape.slice(1)]));
  return Float64Array.from(images[0]!.flatMap((_, k) => images.flatMap((outs) => Array.from(outs[k]!.data))));
}

/** The declared shape of the graph's one non-initializer input (its leading dimension may be anything). */
function inputShape(m: onnx.ModelProto): number[] {
  const g = m.graph;
  invalid(!!g, 'no graph');
  const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (g.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  invalid(inputs.length === 1, `${inputs.length} graph inputs`);
  if (inputs[0]!.type?.tensorType?.elemType !== DT.FLOAT) beyond('input not float');
  const shape = (inputs[0]!.type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue ?? 0));
  invalid(shape.length >= 1 && shape.slice(1).every((d) => Number.isInteger(d) && d >= 1), `input shape [${shape}]`);
  return shape;
}

function evaluateGraph(m: onnx.ModelProto, input: ArrayLike<number>, shape: number[]): T[] {
  const g = m.graph!;
  const opset = Number(m.opsetImport?.find((o) => !o.domain)?.version ?? 0);
  if (opset < 6) beyond(`opset ${opset}`);
  const values = new Map<string, T>();
  for (const t of g.initializer ?? []) values.set(t.name ?? '', tensorValues(t));
  const name = (g.input ?? []).find((i) => !values.has(i.name ?? ''))!.name ?? '';
  values.set(name, { data: Float64Array.from(input), shape });
  for (const node of g.node ?? []) {
    if (node.domain) beyond(`domain ${node.domain}`);
    const ins = (node.input ?? []).map((name) => {
      if (name === '') return undefined;
      const v = values.get(name);
      invalid(v !== undefined, `${node.opType} "${node.name}": input "${name}" is not computed before it`);
      return v;
    });
    const out = runNode(node, ins, opset);
    invalid(size(out.shape) <= 1 << 22, `${node.opType}: output [${out.shape}] too large`);
    const outputs = node.output ?? [];
    invalid(outputs.length >= 1, `${node.opType} "${node.name}": no output`);
    values.set(outputs[0]!, out);
  }
  const outs = (g.output ?? []).map((o) => {
    const v = values.get(o.name ?? '');
    invalid(v !== undefined, `output "${o.name}" is not computed`);
    return v;
  });
  invalid(outs.length >= 1, 'no outputs');
  return outs;
}

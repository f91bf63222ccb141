// ImageNet-sized "light" ONNX graphs (AlexNet, VGG-19, ZFNet-512) whose
// weights are made inside the graph, as the ONNX tool
// onnx.tools.replace_constants.replace_initializer_by_constant_of_shape
// writes them: every initializer of more than 128 values becomes
// ConstantOfShape(shape) filled with one value, or, with use_range=True,
// Range(0, ReduceProd(shape), 1) cast to float, divided by the count and
// reshaped. Two departures keep the activations finite through 19 layers:
// each weight gets its own fill value (1 / fan-in), and the range variant
// multiplies by 2 / fan-in after the division (values 0 .. 2 / fan-in).
//
// lightReference evaluates the same network in float64 from the math. With
// such weights a convolution reduces to box filters: for a fill v,
// y[o] = v * S + b[o] with S the window sum of the channel-summed input; for
// the range, w[o, c, i, j] = s (o K + c k^2 + i k + j) / N (K = C k^2 per
// group, N the weight count), so y[o] = s / N (o K S + T) + b[o] with
// T = k^2 box(sum_c c x_c) + sum_ij (i k + j) x_sum[window]. The test checks
// this against a direct convolution on a small case.
//
// Shared by test/import_onnx_light.test.ts and scripts/make-light-cases.ts.
import * as onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS: Node's ESM loader hands it over as the default export, Vite also by name.
const onnx = (onnxProto as { onnx?: typeof onnxProto.onnx }).onnx ?? (onnxProto as unknown as { default: typeof onnxProto }).default.onnx;

export type WeightStyle = 'constant' | 'range';

export type LightLayer =
  | { kind: 'conv'; filters: number; k: number; stride: number; pad: number; group: number }
  | { kind: 'relu' }
  | { kind: 'lrn'; size: number; alpha: number; beta: number; bias: number }
  | { kind: 'maxpool'; k: number; stride: number; ceil: boolean }
  | { kind: 'flatten' }
  | { kind: 'fc'; units: number }
  | { kind: 'dropout' }
  | { kind: 'softmax' };

const conv = (filters: number, k: number, stride = 1, pad = 0, group = 1): LightLayer => ({ kind: 'conv', filters, k, stride, pad, group });
const relu: LightLayer = { kind: 'relu' };
const lrn: LightLayer = { kind: 'lrn', size: 5, alpha: 1e-4, beta: 0.75, bias: 1 };
const pool = (k: number, stride: number, ceil = false): LightLayer => ({ kind: 'maxpool', k, stride, ceil });
const fc = (units: number): LightLayer => ({ kind: 'fc', units });
const flatten: LightLayer = { kind: 'flatten' };
const dropout: LightLayer = { kind: 'dropout' };
const softmax: LightLayer = { kind: 'softmax' };

const classifier = (classes: number): LightLayer[] => [flatten, fc(4096), relu, dropout, fc(4096), relu, dropout, fc(classes), softmax];

function vgg(cfg: Array<number | 'M'>): LightLayer[] {
  return cfg.flatMap((c) => (c === 'M' ? [pool(2, 2)] : [conv(c, 3, 1, 1), relu]));
}

/** The architectures at 224 x 224, 1000 classes (the Caffe pools round up, as the zoo's files do). */
export const ARCHITECTURES = {
  // bvlc_alexnet: LRN after the first two convolutions, grouped conv2/4/5; fc6 [4096, 9216]
  alexnet: [
    conv(96, 11, 4), relu, lrn, pool(3, 2, true),
    conv(256, 5, 1, 2, 2), relu, lrn, pool(3, 2, true),
    conv(384, 3, 1, 1), relu, conv(384, 3, 1, 1, 2), relu, conv(256, 3, 1, 1, 2), relu, pool(3, 2, true),
    ...classifier(1000),
  ],
  // VGG-19: fc6 [4096, 25088] (411 MB)
  vgg19: [...vgg([64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M']), ...classifier(1000)],
  // ZFNet-512: 7x7/2 and 5x5/2 first convolutions with LRN, conv3-5 of 512, 1024, 512 filters; fc6 [4096, 18432]
  zfnet512: [
    conv(96, 7, 2, 1), relu, lrn, pool(3, 2, true),
    conv(256, 5, 2), relu, lrn, pool(3, 2, true),
    conv(512, 3, 1, 1), relu, conv(1024, 3, 1, 1), relu, conv(512, 3, 1, 1), relu, pool(3, 2, true),
    ...classifier(1000),
  ],
} satisfies Record<string, LightLayer[]>;

export type Architecture = keyof typeof ARCHITECTURES;

/** Initializers up to this many values stay stored (replace_initializer_by_constant_of_shape's threshold). */
export const THRESHOLD = 128;

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A small stored bias: deterministic, varied per channel. */
function storedBias(count: number, layer: number): Float64Array {
  return Float64Array.from({ length: count }, (_, o) => 0.05 * Math.sin(o * 0.7 + layer));
}

/** How one weight or bias tensor is made: its fill value, or its range scale (values scale * i / count). */
export interface WeightRule { dims: number[]; style: WeightStyle; value: number; stored?: Float64Array }

function weightRule(dims: number[], style: WeightStyle, fanIn: number): WeightRule {
  return { dims, style, value: style === 'constant' ? 1 / fanIn : 2 / fanIn };
}

function biasRule(count: number, style: WeightStyle, layer: number): WeightRule {
  if (count <= THRESHOLD) return { dims: [count], style, value: 0, stored: storedBias(count, layer) };
  return { dims: [count], style, value: style === 'constant' ? 0.01 : 0.02 };
}

/** Value i of a weight (the flat index, row-major), in float64. */
export function weightValue(rule: WeightRule, i: number): number {
  if (rule.stored) return rule.stored[i]!;
  return rule.style === 'constant' ? rule.value : (rule.value * i) / size(rule.dims);
}

// ---- the ONNX graph ------------------------------------------------------------------

const A = onnx.AttributeProto.AttributeType;
const FLOAT = onnx.TensorProto.DataType.FLOAT, INT64 = onnx.TensorProto.DataType.INT64;

type AttrValue = number | number[] | OnnxTypes.ITensorProto;

function attr(name: string, v: AttrValue): OnnxTypes.IAttributeProto {
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if (typeof v === 'object') return { name, type: A.TENSOR, t: v };
  return Number.isInteger(v) && !['alpha', 'beta', 'bias'].includes(name) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
}

/** Nodes and initializers of a graph being written (also used by tests for small graphs). */
export class GraphWriter {
  nodes: OnnxTypes.INodeProto[] = [];
  inits: OnnxTypes.ITensorProto[] = [];
  #k = 0;

  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output = `${op.toLowerCase()}_${this.#k++}`): string {
    this.nodes.push({ opType: op, name: output, input: inputs, output: [output], attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)) });
    return output;
  }

  int64(name: string, values: number[], dims = [values.length]): string {
    this.inits.push({ name, dims, dataType: INT64, int64Data: values });
    return name;
  }

  float(name: string, values: ArrayLike<number>, dims: number[]): string {
    this.inits.push({ name, dims, dataType: FLOAT, floatData: Array.from(values) });
    return name;
  }

  /** The ModelProto bytes: float inputs of fixed dims, opset 13 unless given. */
  model(inputs: Record<string, number[]>, outputs: string[], opset = 13): Uint8Array {
    const info = (name: string, dims?: number[]) => ({ name, type: { tensorType: { elemType: FLOAT, shape: dims ? { dim: dims.map((d) => ({ dimValue: d })) } : undefined } } });
    return onnx.ModelProto.encode({
      irVersion: 8, producerName: 'deconvnet-webgpu light graphs', opsetImport: [{ domain: '', version: opset }],
      graph: { name: 'light', node: this.nodes, initializer: this.inits, input: Object.entries(inputs).map(([n, d]) => info(n, d)), output: outputs.map((o) => info(o)) },
    }).finish();
  }

  /** The nodes replace_initializer_by_constant_of_shape writes for an initializer `name` (or the stored values when small). */
  weight(name: string, rule: WeightRule): string {
    if (rule.stored) return this.float(name, rule.stored, rule.dims);
    const shape = this.int64(`${name}__SHAPE`, rule.dims);
    if (rule.style === 'constant') {
      return this.node('ConstantOfShape', [shape], { value: { dims: [1], dataType: FLOAT, floatData: [rule.value] } }, name);
    }
    const zero = this.node('Constant', [], { value_int: 0 }, `${name}__zero`);
    const one = this.node('Constant', [], { value_int: 1 }, `${name}__one`);
    const n = this.node('ReduceProd', [shape], {}, `${shape}_N`);
    const r = this.node('Range', [zero, n, one], {}, `${shape}_RANGE`);
    const rf = this.node('Cast', [r], { to: FLOAT }, `${shape}_RANGEf`);
    const nf = this.node('Cast', [n], { to: FLOAT }, `${shape}_Nf`);
    const flat = this.node('Div', [rf, nf], {}, `${shape}_FLAT`);
    const scale = this.float(`${name}__SCALE`, [rule.value], []);
    const scaled = this.node('Mul', [flat, scale], {}, `${shape}_SCALED`);
    return this.node('Reshape', [scaled, shape], {}, name);
  }
}

export interface LightModel {
  bytes: Uint8Array;
  /** Graph outputs: the last Gemm's logits, then the softmax. */
  outputs: ['logits', 'prob'];
  inputShape: number[];
}

/** Per-layer weights of an architecture at an input shape (shared by the graph and the reference). */
export interface Planned { layer: LightLayer; inShape: number[]; outShape: number[]; weight?: WeightRule; bias?: WeightRule }

function outSize(n: number, k: number, stride: number, pad: number, ceil: boolean): number {
  const span = n + 2 * pad - k;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= n + pad) out--;
  return out;
}

function plan(layers: readonly LightLayer[], style: WeightStyle, inputShape: number[]): Planned[] {
  let shape = inputShape;
  return layers.map((layer, index) => {
    const inShape = shape;
    const p: Planned = { layer, inShape, outShape: shape };
    if (layer.kind === 'conv') {
      const [c, h, w] = shape as [number, number, number];
      const fanIn = (c / layer.group) * layer.k * layer.k;
      p.weight = weightRule([layer.filters, c / layer.group, layer.k, layer.k], style, fanIn);
      p.bias = biasRule(layer.filters, style, index);
      p.outShape = [layer.filters, outSize(h, layer.k, layer.stride, layer.pad, false), outSize(w, layer.k, layer.stride, layer.pad, false)];
    } else if (layer.kind === 'maxpool') {
      const [c, h, w] = shape as [number, number, number];
      p.outShape = [c, outSize(h, layer.k, layer.stride, 0, layer.ceil), outSize(w, layer.k, layer.stride, 0, layer.ceil)];
    } else if (layer.kind === 'flatten') {
      p.outShape = [size(shape)];
    } else if (layer.kind === 'fc') {
      p.weight = weightRule([layer.units, shape[0]!], style, shape[0]!);
      p.bias = biasRule(layer.units, style, index);
      p.outShape = [layer.units];
    }
    shape = p.outShape;
    return p;
  });
}

/** The model.onnx of an architecture (batch 1, NCHW input "data"), opset 13. */
export function lightModel(layers: readonly LightLayer[], style: WeightStyle, inputShape = [3, 224, 224]): LightModel {
  const g = new GraphWriter();
  let x = 'data';
  let logits = '';
  plan(layers, style, inputShape).forEach((p, i) => {
    const l = p.layer;
    const name = `${l.kind}${i}`;
    switch (l.kind) {
      case 'conv': {
        const w = g.weight(`${name}_W`, p.weight!), b = g.weight(`${name}_B`, p.bias!);
        x = g.node('Conv', [x, w, b], { kernel_shape: [l.k, l.k], strides: [l.stride, l.stride], pads: [l.pad, l.pad, l.pad, l.pad], group: l.group }, name);
        break;
      }
      case 'relu': x = g.node('Relu', [x], {}, name); break;
      case 'lrn': x = g.node('LRN', [x], { size: l.size, alpha: l.alpha, beta: l.beta, bias: l.bias }, name); break;
      case 'maxpool': x = g.node('MaxPool', [x], { kernel_shape: [l.k, l.k], strides: [l.stride, l.stride], ceil_mode: l.ceil ? 1 : 0 }, name); break;
      case 'flatten': x = g.node('Reshape', [x, g.int64(`${name}_shape`, [1, -1])], {}, name); break;
      case 'fc': {
        const w = g.weight(`${name}_W`, p.weight!), b = g.weight(`${name}_B`, p.bias!);
        x = logits = g.node('Gemm', [x, w, b], { transB: 1 }, name);
        break;
      }
      case 'dropout': x = g.node('Dropout', [x], {}, name); break;
      case 'softmax': x = g.node('Softmax', [x], { axis: 1 }, name); break;
    }
  });
  g.nodes.push({ opType: 'Identity', name: 'logits', input: [logits], output: ['logits'] });
  g.nodes.push({ opType: 'Identity', name: 'prob', input: [x], output: ['prob'] });
  return { bytes: g.model({ data: [1, ...inputShape] }, ['logits', 'prob']), outputs: ['logits', 'prob'], inputShape };
}

/** A TensorProto's bytes (the input_N.pb / output_N.pb of a case). */
export function tensorBytes(name: string, dims: number[], data: ArrayLike<number>): Uint8Array {
  return onnx.TensorProto.encode({ name, dims, dataType: FLOAT, rawData: new Uint8Array(Float32Array.from(data).buffer) }).finish();
}

// ---- the float64 reference ------------------------------------------------------------

/** Window sums of `plane` [H, W] at every output position, weighted by `weight(i, j)`. */
function windowSums(plane: Float64Array, h: number, w: number, k: number, stride: number, pad: number, oh: number, ow: number, weight: (i: number, j: number) => number): Float64Array {
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) {
        const yy = y * stride + i - pad;
        if (yy < 0 || yy >= h) continue;
        for (let j = 0; j < k; j++) {
          const xx = x * stride + j - pad;
          if (xx >= 0 && xx < w) s += weight(i, j) * plane[yy * w + xx]!;
        }
      }
      out[y * ow + x] = s;
    }
  }
  return out;
}

/** Convolution with fill or range weights (see the header), float64. */
export function lightConv(x: Float64Array, p: Planned): Float64Array {
  const l = p.layer as Extract<LightLayer, { kind: 'conv' }>;
  const [c, h, w] = p.inShape as [number, number, number];
  const [f, oh, ow] = p.outShape as [number, number, number];
  const cg = c / l.group, fg = f / l.group, kk = l.k * l.k, K = cg * kk, N = f * K;
  const wr = p.weight!, br = p.bias!;
  const out = new Float64Array(f * oh * ow);
  for (let gi = 0; gi < l.group; gi++) {
    const sum = new Float64Array(h * w), weighted = new Float64Array(h * w);
    for (let cl = 0; cl < cg; cl++) {
      const base = (gi * cg + cl) * h * w;
      for (let q = 0; q < h * w; q++) { sum[q]! += x[base + q]!; weighted[q]! += cl * x[base + q]!; }
    }
    const S = windowSums(sum, h, w, l.k, l.stride, l.pad, oh, ow, () => 1);
    const T = wr.style === 'range' ? windowSums(weighted, h, w, l.k, l.stride, l.pad, oh, ow, () => kk) : null;
    const T2 = wr.style === 'range' ? windowSums(sum, h, w, l.k, l.stride, l.pad, oh, ow, (i, j) => i * l.k + j) : null;
    for (let ol = 0; ol < fg; ol++) {
      const o = gi * fg + ol, b = weightValue(br, o);
      for (let q = 0; q < oh * ow; q++) {
        out[o * oh * ow + q] = wr.style === 'constant' ? wr.value * S[q]! + b : (wr.value / N) * (o * K * S[q]! + T![q]! + T2![q]!) + b;
      }
    }
  }
  return out;
}

export function lightFc(x: Float64Array, p: Planned): Float64Array {
  const units = p.outShape[0]!, K = p.inShape[0]!, N = units * K;
  const wr = p.weight!, br = p.bias!;
  let sum = 0, weighted = 0;
  for (let k = 0; k < K; k++) { sum += x[k]!; weighted += k * x[k]!; }
  return Float64Array.from({ length: units }, (_, u) => (wr.style === 'constant' ? wr.value * sum : (wr.value / N) * (u * K * sum + weighted)) + weightValue(br, u));
}

function maxPool(x: Float64Array, p: Planned): Float64Array {
  const l = p.layer as Extract<LightLayer, { kind: 'maxpool' }>;
  const [c, h, w] = p.inShape as [number, number, number];
  const [, oh, ow] = p.outShape as [number, number, number];
  const out = new Float64Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        let m = -Infinity;
        for (let i = 0; i < l.k && y * l.stride + i < h; i++) {
          for (let j = 0; j < l.k && xx * l.stride + j < w; j++) m = Math.max(m, x[(ch * h + y * l.stride + i) * w + xx * l.stride + j]!);
        }
        out[(ch * oh + y) * ow + xx] = m;
      }
    }
  }
  return out;
}

/** ONNX LRN: x / (bias + alpha / size * sum of squares over the channel window)^beta. */
function localResponse(x: Float64Array, p: Planned): Float64Array {
  const l = p.layer as Extract<LightLayer, { kind: 'lrn' }>;
  const [c, h, w] = p.inShape as [number, number, number];
  const hw = h * w, lo = Math.floor((l.size - 1) / 2), hi = Math.ceil((l.size - 1) / 2);
  const out = new Float64Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    for (let q = 0; q < hw; q++) {
      let s = 0;
      for (let cc = Math.max(0, ch - lo); cc <= Math.min(c - 1, ch + hi); cc++) s += x[cc * hw + q]! ** 2;
      out[ch * hw + q] = x[ch * hw + q]! / (l.bias + (l.alpha / l.size) * s) ** l.beta;
    }
  }
  return out;
}

/** The network in float64: the logits (last Gemm) and the softmax. */
export function lightReference(layers: readonly LightLayer[], style: WeightStyle, input: ArrayLike<number>, inputShape = [3, 224, 224]): { logits: Float64Array; prob: Float64Array } {
  let x: Float64Array = Float64Array.from(input);
  let logits: Float64Array = x;
  for (const p of plan(layers, style, inputShape)) {
    switch (p.layer.kind) {
      case 'conv': x = lightConv(x, p); break;
      case 'relu': x = x.map((v) => Math.max(v, 0)); break;
      case 'lrn': x = localResponse(x, p); break;
      case 'maxpool': x = maxPool(x, p); break;
      case 'fc': x = logits = lightFc(x, p); break;
      case 'softmax': {
        const top = Math.max(...x);
        const e = x.map((v) => Math.exp(v - top));
        const total = e.reduce((s, v) => s + v, 0);
        x = e.map((v) => v / total);
        break;
      }
      default: break; // flatten, dropout: the same values
    }
  }
  return { logits, prob: x };
}

/** The planned layers (weights, shapes) of an architecture: for tests that check the reference directly. */
export const planLayers = plan;

/** A deterministic image in [0, 1): what make-zoo-cases feeds (torch.rand), without torch. */
export function lightInput(count: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  });
}

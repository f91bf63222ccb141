// TF.js Layers import, the table of layer converters keyed by Keras class
// name: each reads its layer's config and weights through the Converter and
// appends our nodes (conv kernels permuted to OIHW, depthwise as grouped
// conv, SeparableConv2D as depthwise + 1x1, Dense rows reordered for a
// CHW-flattened input, ...).
import {
  Conv2D, Conv2DTranspose, Dense, Flatten, Activation, Softmax, BatchNorm, Pad2D, MaxPool2D, AvgPool2D,
  Add, Concat, Reshape, Transpose, Identity, GlobalAvgPool2D, GlobalMaxPool2D, Resize2D, ReLU,
} from '../../../layers/index.js';
import { conv2dOutputShape } from '../../../ops/conv2d.js';
import { poolGeometry } from '../../../ops/pool_geometry.js';
import { effectiveKernel } from '../../../ops/conv_geometry.js';
import { ShapeError } from '../../../gpu/errors.js';
import type { KerasLayer } from './json.js';
import { CHW, PLAIN, kerasIndex, toKerasShape, type Converter, type Layout, type LayerConverter, type LayerTable, type Value } from './converter.js';

function identity(cv: Converter, layer: KerasLayer, v: Value): Value {
  return cv.add(layer.name, new Identity({}), [v], v.shape, v.layout);
}

/** A convolution's input maps and the settings every Keras convolution reads. */
function convInput(cv: Converter, layer: KerasLayer, v0: Value) {
  const img = cv.image(layer, v0);
  const [inC, h, w] = img.shape;
  const kernel = cv.pairOf(layer, 'kernel_size');
  const stride = cv.pairOf(layer, 'strides', [1, 1]);
  const dilation = cv.pairOf(layer, 'dilation_rate', [1, 1]);
  const padding = cv.padding(layer);
  const useBias = cv.bool(layer, 'use_bias', true);
  return { img, v: img.v, inC, h, w, kernel, stride, dilation, padding, useBias };
}

function conv2d(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const { img, v, inC, h, w, kernel: [kh, kw], stride, dilation, padding, useBias } = convInput(cv, layer, v0);
  const filters = cv.positiveInt(layer, 'filters');
  const groups = cv.positiveInt(layer, 'groups', 1);
  if (inC % groups !== 0 || filters % groups !== 0) cv.fail(layer, `groups=${groups} does not divide ${inC} input channels and ${filters} filters`, ShapeError);
  const k = cv.weight(layer, 'kernel', [kh, kw, inC / groups, filters]);
  const bias = useBias ? cv.weight(layer, 'bias', [filters]) : undefined;
  const kernel = permute(k, [kh, kw, inC / groups, filters], [3, 2, 0, 1]);
  const attrs = { stride, dilation, padding, groups };
  const out = cv.shapeOf(layer, () => conv2dOutputShape([1, inC, h, w], [filters, inC / groups, kh, kw], attrs).slice(1));
  return cv.withActivation(layer, (activation, name) =>
    cv.add(name, new Conv2D({ filters, kernelSize: [kh, kw], ...attrs, activation, kernel, bias, useBias }), [v], out, img.layout));
}

function depthwise(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const { img, v, inC, h, w, kernel: [kh, kw], stride, dilation, padding, useBias } = convInput(cv, layer, v0);
  const mult = cv.positiveInt(layer, 'depth_multiplier', 1);
  const k = cv.weight(layer, 'depthwise_kernel', [kh, kw, inC, mult]);
  const bias = useBias ? cv.weight(layer, 'bias', [inC * mult]) : undefined;
  // [kh, kw, C, mult] -> [C, mult, kh, kw] = [C*mult, 1, kh, kw]: output c*mult + m, as TF orders them.
  const kernel = permute(k, [kh, kw, inC, mult], [2, 3, 0, 1]);
  const attrs = { stride, dilation, padding, groups: inC };
  const out = cv.shapeOf(layer, () => conv2dOutputShape([1, inC, h, w], [inC * mult, 1, kh, kw], attrs).slice(1));
  return cv.withActivation(layer, (activation, name) =>
    cv.add(name, new Conv2D({ filters: inC * mult, kernelSize: [kh, kw], ...attrs, activation, kernel, bias, useBias }), [v], out, img.layout));
}

function separable(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const { img, v, inC, h, w, kernel: [kh, kw], stride, dilation, padding, useBias } = convInput(cv, layer, v0);
  const mult = cv.positiveInt(layer, 'depth_multiplier', 1);
  const filters = cv.positiveInt(layer, 'filters');
  const dk = cv.weight(layer, 'depthwise_kernel', [kh, kw, inC, mult]);
  const pk = cv.weight(layer, 'pointwise_kernel', [1, 1, inC * mult, filters]);
  const bias = useBias ? cv.weight(layer, 'bias', [filters]) : undefined;
  const dAttrs = { stride, dilation, padding, groups: inC };
  const mid = cv.shapeOf(layer, () => conv2dOutputShape([1, inC, h, w], [inC * mult, 1, kh, kw], dAttrs).slice(1));
  const depth = cv.add(`${layer.name}/depthwise`, new Conv2D({
    filters: inC * mult, kernelSize: [kh, kw], ...dAttrs, kernel: permute(dk, [kh, kw, inC, mult], [2, 3, 0, 1]), useBias: false,
  }), [v], mid, img.layout);
  const pointwise = permute(pk, [1, 1, inC * mult, filters], [3, 2, 0, 1]);
  return cv.withActivation(layer, (activation, name) =>
    cv.add(name, new Conv2D({ filters, kernelSize: 1, activation, kernel: pointwise, bias, useBias }), [depth], [filters, mid[1]!, mid[2]!], img.layout));
}

function conv2dTranspose(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const { img, v, inC, h, w, kernel: [kh, kw], stride, dilation, padding, useBias } = convInput(cv, layer, v0);
  const filters = cv.positiveInt(layer, 'filters');
  const op = layer.config.output_padding;
  let outPad: [number, number] | null = null;
  if (op !== undefined && op !== null) {
    const p = typeof op === 'number' ? [op, op] : op;
    if (!Array.isArray(p) || p.length !== 2 || !p.every((d, a) => Number.isInteger(d) && d >= 0 && d < stride[a]!)) {
      cv.fail(layer, `output_padding ${JSON.stringify(op)} must be integers >= 0 and below the strides [${stride}]`);
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
  const k = cv.weight(layer, 'kernel', [kh, kw, filters, inC]);
  const bias = useBias ? cv.weight(layer, 'bias', [filters]) : undefined;
  const kernel = permute(k, [kh, kw, filters, inC], [3, 2, 0, 1]);
  const make = (name: string) => cv.add(name, new Conv2DTranspose({
    filters, kernelSize: [kh, kw], stride, dilation, outputShape: outShape, kernel, bias, useBias,
  }), [v], [filters, outShape[0], outShape[1]], img.layout);
  const act = layer.config.activation ?? 'linear';
  if (act === 'linear') return make(layer.name);
  return cv.activation(layer, act, make(`${layer.name}/preact`), layer.name)!;
}

function pool(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const img = cv.image(layer, v0);
  const v = img.v;
  const [c, h, w] = img.shape;
  const kernel = cv.pairOf(layer, 'pool_size', [2, 2]);
  const stride = cv.pairOf(layer, 'strides', kernel);
  const padding = cv.padding(layer);
  const attrs = { kernel, stride, padding };
  const g = cv.shapeOf(layer, () => poolGeometry([1, c, h, w], attrs, layer.name));
  const isMax = layer.className.startsWith('Max');
  // TF's average pooling divides by the taps inside the input: countIncludePad false, our default.
  return cv.add(layer.name, isMax ? new MaxPool2D(attrs) : new AvgPool2D(attrs), [v], [c, g.outH, g.outW], img.layout);
}

function globalPool(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const img = cv.image(layer, v0);
  const v = img.v;
  const [c] = img.shape;
  const keep = cv.bool(layer, 'keepdims', false);
  const isMax = layer.className.startsWith('GlobalMax');
  // Our global pools give [C, 1, 1] (Keras keepdims); Keras's default [C] is a Flatten (a view) of it.
  const pooled = cv.add(keep ? layer.name : `${layer.name}/pool`, isMax ? new GlobalMaxPool2D() : new GlobalAvgPool2D(), [v], [c, 1, 1], img.layout);
  if (keep) return pooled;
  return cv.add(layer.name, new Flatten(), [pooled], [c], PLAIN);
}

function dense(cv: Converter, layer: KerasLayer, v: Value): Value {
  if (v.shape.length !== 1) {
    cv.unsupported(layer, `Dense on a [${toKerasShape(v)}] tensor (applied along its last axis) is not supported; only on flat vectors`);
  }
  const inF = v.shape[0]!;
  const units = cv.positiveInt(layer, 'units');
  const useBias = cv.bool(layer, 'use_bias', true);
  const k = cv.weight(layer, 'kernel', [inF, units]);
  const bias = useBias ? cv.weight(layer, 'bias', [units]) : undefined;
  // Keras [in, units] -> ours [units, in]; a CHW-ordered input picks each row from its HWC place.
  const kernel = new Float32Array(units * inF);
  const l = v.layout;
  for (let j = 0; j < inF; j++) {
    const src = l.kind === 'hwcFlat' ? kerasIndex(l, j) : j;
    for (let u = 0; u < units; u++) kernel[u * inF + j] = k[src * units + u]!;
  }
  return cv.withActivation(layer, (activation, name) =>
    cv.add(name, new Dense({ units, activation, kernel, bias, useBias }), [v], [units], PLAIN));
}

function flatten(cv: Converter, layer: KerasLayer, v: Value): Value {
  const size = v.shape.reduce((a, d) => a * d, 1);
  if (cv.channelsFirst(layer)) {
    // Keras moves the channels (its axis 1) last before flattening: of a plain [C, H, W] value,
    // the same HWC order as a channels_last Flatten of our CHW maps.
    if (v.layout.kind === 'chw') cv.unsupported(layer, 'data_format "channels_first" on channels_last maps is not supported');
    if (v.shape.length === 3) {
      const [c, h, w] = v.shape as [number, number, number];
      const layout: Layout = c === 1 || h * w === 1 ? PLAIN : { kind: 'hwcFlat', c, h, w };
      return cv.add(layer.name, new Flatten(), [v], [size], layout);
    }
  }
  if (v.layout.kind === 'chw') {
    const [c, h, w] = v.shape as [number, number, number];
    // With one channel or one pixel, CHW and HWC orders coincide.
    const layout: Layout = c === 1 || h * w === 1 ? PLAIN : { kind: 'hwcFlat', c, h, w };
    return cv.add(layer.name, new Flatten(), [v], [size], layout);
  }
  return cv.add(layer.name, new Flatten(), [v], [size], v.layout);
}

function reshape(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const target = layer.config.target_shape;
  if (!Array.isArray(target) || target.length === 0 || !target.every((d) => d === -1 || d === null || (Number.isInteger(d) && d >= 1))
    || target.filter((d) => d === -1 || d === null).length > 1) {
    cv.fail(layer, `target_shape ${JSON.stringify(target)} is not a list of positive integers with at most one -1`);
  }
  const v = cv.plain(v0);
  const size = v.shape.reduce((a, d) => a * d, 1);
  const known = target.reduce((a: number, d) => (d === -1 || d === null ? a : a * d), 1);
  const shape = target.map((d) => (d === -1 || d === null ? size / known : d)) as number[];
  if (!shape.every((d) => Number.isInteger(d) && d >= 1) || shape.reduce((a, d) => a * d, 1) !== size) {
    cv.fail(layer, `cannot reshape [${toKerasShape(v)}] (${size} values) to ${JSON.stringify(target)}`, ShapeError);
  }
  // Our data of a 3-D value is CHW; Keras reshapes its HWC order.
  let src = v;
  if (v.layout.kind === 'chw' && v.shape[0] !== 1 && v.shape[1]! * v.shape[2]! !== 1) {
    src = cv.add(`${layer.name}/hwc`, new Transpose({ perm: [1, 2, 0] }), [v], [v.shape[1]!, v.shape[2]!, v.shape[0]!], PLAIN);
  }
  if (shape.length !== 3) return cv.add(layer.name, new Reshape({ shape }), [src], shape, PLAIN);
  const [h, w, c] = shape as [number, number, number];
  if (c === 1 || h * w === 1) return cv.add(layer.name, new Reshape({ shape: [c, h, w] }), [src], [c, h, w], CHW);
  const hwc = cv.add(`${layer.name}/reshape`, new Reshape({ shape }), [src], shape, PLAIN);
  return cv.add(layer.name, new Transpose({ perm: [2, 0, 1] }), [hwc], [c, h, w], CHW);
}

function relu(cv: Converter, layer: KerasLayer, v: Value): Value {
  const max = cv.finite(layer, 'max_value', null);
  const slope = cv.finite(layer, 'negative_slope', 0)!;
  const threshold = cv.finite(layer, 'threshold', 0)!;
  if (threshold !== 0) cv.unsupported(layer, `threshold ${threshold} is not supported (0)`);
  if (max !== null && slope !== 0) cv.unsupported(layer, 'max_value together with negative_slope is not supported');
  if (max !== null) {
    if (max < 0) cv.fail(layer, `max_value ${max} is negative`);
    return cv.add(layer.name, new Activation({ kind: 'clip', min: 0, max }), [v], v.shape, v.layout);
  }
  if (slope !== 0) return cv.add(layer.name, new Activation({ kind: 'leaky_relu', alpha: slope }), [v], v.shape, v.layout);
  return cv.add(layer.name, new ReLU(), [v], v.shape, v.layout);
}

function batchNorm(cv: Converter, layer: KerasLayer, v: Value): Value {
  const rank = v.shape.length;
  let axis = layer.config.axis ?? -1;
  if (Array.isArray(axis) && axis.length === 1) axis = axis[0];
  // Channels first (axis 1 of a plain [C, H, W] value) are our axis 0, as they are for channels_last maps.
  if (rank === 3 && v.layout.kind === 'plain' && (axis === 1 || axis === -3)) {
    return cv.add(layer.name, new BatchNorm({ ...batchNormParams(cv, layer, v.shape[0]!), epsilon: cv.finite(layer, 'epsilon', 1e-3)! }), [v], v.shape, v.layout);
  }
  // The channel axis is Keras's last one (-1, or `rank` counting the batch).
  if (!(axis === -1 || axis === rank)) {
    cv.unsupported(layer, `axis ${JSON.stringify(layer.config.axis)} is not supported; only the channel (last) axis of a ${rank}-D input`);
  }
  if (v.layout.kind === 'plain' && rank !== 1) {
    cv.unsupported(layer, `batch normalization of a [${toKerasShape(v)}] tensor is not supported (3-D images or flat vectors)`);
  }
  const channels = v.shape[0]!;
  const epsilon = cv.finite(layer, 'epsilon', 1e-3)!;
  let params = batchNormParams(cv, layer, channels);
  const l = v.layout;
  if (l.kind === 'hwcFlat') {
    // Per-feature parameters of a CHW-ordered vector: feature j is Keras feature kerasIndex(j).
    const perm = (a: Float32Array) => Float32Array.from({ length: channels }, (_, j) => a[kerasIndex(l, j)]!);
    params = { scale: perm(params.scale), bias: perm(params.bias), mean: perm(params.mean), variance: perm(params.variance) };
  }
  return cv.add(layer.name, new BatchNorm({ ...params, epsilon }), [v], v.shape, v.layout);
}

/** tf.image.resizeNearestNeighbor / resizeBilinear without align_corners or half-pixel centres: asymmetric, rounding down. */
function upSampling(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const img = cv.image(layer, v0);
  const [c, h, w] = img.shape;
  const size = cv.pairOf(layer, 'size', [2, 2]);
  const interpolation = layer.config.interpolation ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') cv.unsupported(layer, `interpolation ${JSON.stringify(interpolation)} is not supported (nearest, bilinear)`);
  const resize = new Resize2D({
    mode: interpolation === 'nearest' ? 'nearest' : 'linear', coordinateTransformation: 'asymmetric', nearestRounding: 'floor', size: [h * size[0], w * size[1]],
  });
  return cv.add(layer.name, resize, [img.v], [c, h * size[0], w * size[1]], img.layout);
}

/** gamma, beta, moving mean and variance ([channels] each; 1 / 0 where `scale` / `center` is off). */
function batchNormParams(cv: Converter, layer: KerasLayer, channels: number): { scale: Float32Array; bias: Float32Array; mean: Float32Array; variance: Float32Array } {
  const center = cv.bool(layer, 'center', true);
  const scale = cv.bool(layer, 'scale', true);
  const take = (name: string, dflt: number) => (name === 'gamma' && !scale) || (name === 'beta' && !center)
    ? new Float32Array(channels).fill(dflt)
    : cv.weight(layer, name, [channels]);
  return { scale: take('gamma', 1), bias: take('beta', 0), mean: take('moving_mean', 0), variance: take('moving_variance', 1) };
}

function zeroPad(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const img = cv.image(layer, v0);
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
    cv.fail(layer, `padding ${JSON.stringify(p)} is not an integer, [rows, cols] or [[top, bottom], [left, right]]`);
  }
  return cv.add(layer.name, new Pad2D({ pads: [t, l, b, r] }), [v], [c, h + t + b, w + l + r], img.layout);
}

function addLayer(cv: Converter, layer: KerasLayer, ins0: Value[]): Value {
  if (ins0.length < 2) cv.fail(layer, `needs at least 2 inputs, it has ${ins0.length}`);
  // Values of one layout add element by element; a mix is brought to Keras order first.
  const ins = ins0.every((v) => JSON.stringify(v.layout) === JSON.stringify(ins0[0]!.layout)) ? ins0 : ins0.map((v) => cv.plain(v));
  const shape = ins[0]!.shape;
  if (!ins.every((v) => v.shape.join() === shape.join())) {
    cv.fail(layer, `inputs ${ins.map((v) => `[${toKerasShape(v)}]`).join(', ')} do not have one shape`, ShapeError);
  }
  return cv.add(layer.name, new Add({}), ins, [...shape], ins[0]!.layout);
}

function concat(cv: Converter, layer: KerasLayer, ins0: Value[]): Value {
  if (ins0.length < 2) cv.fail(layer, `needs at least 2 inputs, it has ${ins0.length}`);
  const ins = ins0.map((v) => cv.plain(v));
  const rank = ins[0]!.shape.length;
  const axis = layer.config.axis ?? -1;
  if (!Number.isInteger(axis) || (axis as number) < -rank || (axis as number) > rank || axis === 0) {
    cv.fail(layer, `axis ${JSON.stringify(axis)} is not an axis of a ${rank}-D input (1..${rank} or -${rank}..-1; 0 is the batch)`);
  }
  const kerasAxis = (axis as number) < 0 ? rank + (axis as number) : (axis as number) - 1;
  // Keras per-image axes [H, W, C] are our [1, 2, 0].
  const ours = ins[0]!.layout.kind === 'chw' ? [1, 2, 0][kerasAxis]! : kerasAxis;
  const shapes = ins.map((v) => v.shape);
  if (!ins.every((v) => v.layout.kind === ins[0]!.layout.kind && v.shape.length === rank)
    || !shapes.every((s) => s.every((d, k) => k === ours || d === shapes[0]![k]))) {
    cv.fail(layer, `inputs ${ins.map((v) => `[${toKerasShape(v)}]`).join(', ')} must match on every axis but ${axis}`, ShapeError);
  }
  const shape = shapes[0]!.map((d, k) => (k === ours ? shapes.reduce((s, x) => s + x[k]!, 0) : d));
  return cv.add(layer.name, new Concat({ axis: ours }), ins, shape, ins[0]!.layout);
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

function activationLayer(cv: Converter, layer: KerasLayer, v: Value): Value {
  return cv.activation(layer, layer.config.activation, v, layer.name) ?? identity(cv, layer, v);
}

function leakyRelu(cv: Converter, layer: KerasLayer, v: Value): Value {
  // tfjs and Keras 2 call the slope alpha (default 0.3); Keras 3 calls it negative_slope.
  const alpha = cv.finite(layer, 'negative_slope', null) ?? cv.finite(layer, 'alpha', 0.3)!;
  return cv.add(layer.name, new Activation({ kind: 'leaky_relu', alpha }), [v], v.shape, v.layout);
}

function elu(cv: Converter, layer: KerasLayer, v: Value): Value {
  return cv.add(layer.name, new Activation({ kind: 'elu', alpha: cv.finite(layer, 'alpha', 1)! }), [v], v.shape, v.layout);
}

function softmax(cv: Converter, layer: KerasLayer, v0: Value): Value {
  const v = cv.plain(v0);
  const c = layer.config;
  const axis = Array.isArray(c.axis) && c.axis.length === 1 ? c.axis[0] : c.axis ?? -1;
  if (v.shape.length !== 1 || !(axis === -1 || axis === 1)) {
    cv.unsupported(layer, `softmax over axis ${JSON.stringify(c.axis)} of a [${toKerasShape(v)}] tensor is not supported (only of flat vectors)`);
  }
  return cv.add(layer.name, new Softmax(), [v], v.shape, PLAIN);
}

/** The identity at inference: no node, the layer's name reads its input. */
function inferenceIdentity(_cv: Converter, _layer: KerasLayer, v: Value): Value {
  return v;
}

/** A converter of a layer that takes one input. */
const single = (convert: (cv: Converter, layer: KerasLayer, v: Value) => Value): LayerConverter =>
  (cv, layer, ins) => convert(cv, layer, cv.one(layer, ins));

/** The Keras layer classes the importer reads (several spellings of one class map to one converter). */
export const TFJS_LAYERS: LayerTable = {
  Conv2D: single(conv2d),
  DepthwiseConv2D: single(depthwise),
  SeparableConv2D: single(separable),
  Conv2DTranspose: single(conv2dTranspose),
  MaxPooling2D: single(pool), MaxPool2D: single(pool), AveragePooling2D: single(pool), AvgPool2D: single(pool),
  GlobalAveragePooling2D: single(globalPool), GlobalAvgPool2D: single(globalPool), GlobalMaxPooling2D: single(globalPool), GlobalMaxPool2D: single(globalPool),
  Dense: single(dense),
  Flatten: single(flatten),
  Reshape: single(reshape),
  Activation: single(activationLayer),
  ReLU: single(relu),
  LeakyReLU: single(leakyRelu),
  ELU: single(elu),
  Softmax: single(softmax),
  Dropout: single(inferenceIdentity), SpatialDropout2D: single(inferenceIdentity), GaussianNoise: single(inferenceIdentity),
  GaussianDropout: single(inferenceIdentity), AlphaDropout: single(inferenceIdentity),
  BatchNormalization: single(batchNorm),
  ZeroPadding2D: single(zeroPad),
  UpSampling2D: single(upSampling),
  Add: addLayer,
  Concatenate: concat,
};

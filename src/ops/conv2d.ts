import {
  conv2dDirectShader, conv2dShader, conv2dVec4Shader, convKernelFor, convLaunch, convShapeKey, directBlockKey, directConvLaunch, tilingKey, vec4ConvLaunch, vec4TilingKey, type ConvProblem,
} from '../../shaders/conv2d.js';
import type { Recorder } from '../gpu/recorder.js';
import type { KernelProbe } from '../gpu/tuning.js';
import type { Tensor } from '../gpu/tensor.js';
import { sameShape } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import {
  checkIntPair, effectiveKernel, pair, resolvePadding, windowOutputSize, type Padding2d, type Pair,
} from './conv_geometry.js';
import { conv2dTranspose } from './conv2d_transpose.js';
import { transpose } from './transpose.js';
import { derivedTensor } from '../gpu/derived.js';
import { convVariantSupports, recordWinogradConv, winogradTileOf } from './conv2d_winograd.js';

export type { Padding2d, Pair };

export interface Conv2dAttrs {
  stride?: Pair;
  dilation?: Pair;
  /** Default 'valid'. */
  padding?: Padding2d;
  groups?: number;
  activation?: 'none' | 'relu';
}

/** Everything about one convolution that follows from the shapes and attributes. */
interface ConvGeometry {
  n: number; c: number; h: number; w: number;
  m: number; kH: number; kW: number;
  groups: number;
  stride: [number, number];
  dilation: [number, number];
  pads: [number, number, number, number];
  outH: number; outW: number;
}

function parseConv(xShape: readonly number[], wShape: readonly number[], attrs: Conv2dAttrs = {}): ConvGeometry {
  if (xShape.length !== 4) throw new ShapeError(`conv2d: input [${xShape}] must be 4-D [N, C, H, W]`);
  if (wShape.length !== 4) throw new ShapeError(`conv2d: weight [${wShape}] must be 4-D [M, C/groups, KH, KW]`);
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [m, cPerGroup, kH, kW] = wShape as [number, number, number, number];
  const groups = attrs.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new OutOfRangeError(`conv2d: groups ${groups} must be an integer >= 1`);
  if (c % groups !== 0) throw new ShapeError(`conv2d: groups ${groups} does not divide the ${c} input channels of [${xShape}]`);
  if (m % groups !== 0) throw new ShapeError(`conv2d: groups ${groups} does not divide the ${m} output channels of weight [${wShape}]`);
  if (cPerGroup * groups !== c) {
    throw new ShapeError(`conv2d: input [${xShape}] has ${c} channels, weight [${wShape}] expects ${cPerGroup} per group x ${groups} groups = ${cPerGroup * groups}`);
  }
  const stride = pair(attrs.stride, 1);
  const dilation = pair(attrs.dilation, 1);
  checkIntPair('conv2d', 'stride', stride, 1);
  checkIntPair('conv2d', 'dilation', dilation, 1);
  const pads = resolvePadding(attrs.padding, h, w, kH, kW, stride, dilation);
  const [top, left, bottom, right] = pads;
  const keffH = effectiveKernel(kH, dilation[0]), keffW = effectiveKernel(kW, dilation[1]);
  if (keffH > h + top + bottom || keffW > w + left + right) {
    throw new ShapeError(
      `conv2d: kernel ${kH}x${kW} (dilation ${dilation}, spanning ${keffH}x${keffW}) is larger than the padded input `
      + `${h + top + bottom}x${w + left + right} ([${xShape}] with pads [${pads}])`);
  }
  return {
    n, c, h, w, m, kH, kW, groups, stride, dilation, pads,
    outH: windowOutputSize(h, top, bottom, kH, stride[0], dilation[0]),
    outW: windowOutputSize(w, left, right, kW, stride[1], dilation[1]),
  };
}

/** [N, M, OH, OW]; throws ShapeError / OutOfRangeError naming the numbers when the shapes or attributes do not fit. */
export function conv2dOutputShape(xShape: readonly number[], weightShape: readonly number[], attrs?: Conv2dAttrs): number[] {
  const g = parseConv(xShape, weightShape, attrs);
  return [g.n, g.m, g.outH, g.outW];
}

/** x [N,C,H,W], weight [M, C/groups, KH, KW] (ONNX/PyTorch layout), bias [M] or null -> [N, M, OH, OW]; fused ReLU when activation==='relu'. */
export function conv2d(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, attrs: Conv2dAttrs = {}): Tensor {
  const g = parseConv(x.shape, weight.shape, attrs);
  if (bias && bias.size !== g.m) {
    throw new ShapeError(`conv2d: bias [${bias.shape}] has ${bias.size} values, weight [${weight.shape}] has ${g.m} output channels`);
  }
  const activation = attrs.activation ?? 'none';
  if (activation !== 'none' && activation !== 'relu') {
    throw new OutOfRangeError(`conv2d: activation '${String(activation)}' is not 'none' or 'relu'`);
  }
  const relu = activation === 'relu';
  const problem: ConvProblem = {
    batch: g.n, groups: g.groups,
    inC: g.c, inH: g.h, inW: g.w,
    outC: g.m, outH: g.outH, outW: g.outW,
    kH: g.kH, kW: g.kW, stride: g.stride, dilation: g.dilation,
    padT: g.pads[0], padL: g.pads[1],
    cinG: g.c / g.groups,
  };
  const variant = rec.runtime.kernelVariant('conv2d', convShapeKey(problem), () => conv2dProbe(rec, x, weight, bias, problem, relu),
    convVariantSupports(problem, rec.runtime.maxBindingSize));
  return recordConv2d(rec, x, weight, bias, problem, relu, variant);
}

/** Records one forward convolution with the kernel `variant` (see KERNEL_VARIANTS in src/gpu/tuning.ts). */
function recordConv2d(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean, variant: string): Tensor {
  const tile = winogradTileOf(variant);
  if (tile) return recordWinogradConv(rec, x, weight, bias, problem, relu, tile, 'forward');
  const y = rec.tensor([problem.batch, problem.outC, problem.outH, problem.outW], 'conv2d');
  const epilogue = `${bias ? 'bias' : 'nobias'}:${relu ? 'relu' : 'linear'}`;
  if (variant === 'tiled-vec4') {
    const { tiling, params, dispatch } = vec4ConvLaunch(problem);
    const w = weightIhwo(rec, weight);
    rec.dispatch({
      name: 'conv2d',
      key: `conv2d:${vec4TilingKey(tiling)}:${epilogue}`,
      shader: () => conv2dVec4Shader({ tiling, bias: bias !== null, relu }),
      params,
      buffers: bias ? [x, w, y, bias] : [x, w, y],
      dispatch,
    });
    return y;
  }
  const kernel = convKernelFor(variant, problem.outC / problem.groups);
  if (kernel.direct) {
    const { block, params, dispatch } = directConvLaunch(problem, kernel.direct);
    const layout = kernel.weightLayout;
    const w = layout === 'ihwo' ? weightIhwo(rec, weight) : weight;
    rec.dispatch({
      name: 'conv2d',
      key: `conv2d:${directBlockKey(block)}:${layout}:${epilogue}`,
      shader: () => conv2dDirectShader({ block, bias: bias !== null, relu, weightLayout: layout }),
      params,
      buffers: bias ? [x, w, y, bias] : [x, w, y],
      dispatch,
    });
    return y;
  }
  const { tiling, params, dispatch } = convLaunch(problem, undefined, kernel.tiling);
  rec.dispatch({
    name: 'conv2d',
    key: `conv2d:${tilingKey(tiling)}:${epilogue}`,
    shader: () => conv2dShader({ tiling, bias: bias !== null, relu }),
    params,
    buffers: bias ? [x, weight, y, bias] : [x, weight, y],
    dispatch,
  });
  return y;
}

/**
 * The weight as [C/g, kH, kW, M], for the kernels that read it so ('tiled-vec4', 'direct-wt-16x32'):
 * transposed once and cached with the weight (src/gpu/derived.ts); a weight updated in place
 * (training) has a new version and is transposed again on its next use.
 */
function weightIhwo(rec: Recorder, weight: Tensor): Tensor {
  return derivedTensor(rec, weight, 'ihwo', (r) => transpose(r, weight, [1, 2, 3, 0]));
}

/** Scratch tensors of the same shapes, for timing the variants of this convolution alone. */
function conv2dProbe(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean): KernelProbe {
  const rt = rec.runtime;
  const zeros = (t: Tensor) => rt.createTensor(t.shape, new Float32Array(t.size), 'f32', 'tuning scratch');
  const xs = zeros(x), ws = zeros(weight), bs = bias ? zeros(bias) : null;
  return {
    run: (r, variant) => [recordConv2d(r, xs, ws, bs, problem, relu, variant)],
    dispose: () => { for (const t of [xs, ws, bs]) t?.release(); },
  };
}

/**
 * The DeconvNet 'filter' step and the exact input gradient of conv2d: a
 * transposed convolution with the SAME weight buffer (a conv weight
 * [M, C/g, KH, KW] is a transposed-conv weight [Cin=M, Cout/g=C/g, KH, KW]),
 * producing exactly xShape. When (H + pads - kernel span) is not a multiple of
 * the stride, the forward conv ignored the last input rows; the output padding
 * recreates them (they receive zero). `attrs.activation` is ignored: this is
 * the linear part only, the ReLU has its own backward rule.
 */
export function conv2dBackwardInput(rec: Recorder, g: Tensor, weight: Tensor, xShape: readonly number[], attrs: Conv2dAttrs = {}): Tensor {
  const geo = parseConv(xShape, weight.shape, attrs);
  const expected = [geo.n, geo.m, geo.outH, geo.outW];
  if (!sameShape(g.shape, expected)) {
    throw new ShapeError(`conv2d backward: signal [${g.shape}] is not the conv2d output [${expected}] of input [${xShape}] and weight [${weight.shape}]`);
  }
  const [top, left, bottom, right] = geo.pads;
  const slackH = geo.h + top + bottom - effectiveKernel(geo.kH, geo.dilation[0]);
  const slackW = geo.w + left + right - effectiveKernel(geo.kW, geo.dilation[1]);
  return conv2dTranspose(rec, g, weight, null, {
    stride: geo.stride,
    dilation: geo.dilation,
    padding: geo.pads,
    outputPadding: [slackH % geo.stride[0], slackW % geo.stride[1]],
    groups: geo.groups,
  });
}

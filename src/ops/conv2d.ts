import {
  conv2dDirectProgram, conv2dTiledProgram, conv2dVec4Program, convKernelFor, convShapeKey, vec4ReadsHalf, type ConvProblem,
} from '../../shaders/conv2d.js';
import type { Recorder } from '../gpu/recorder.js';
import { isVariant, type KernelProbe, type VariantOf } from '../gpu/tuning.js';
import type { Tensor } from '../gpu/tensor.js';
import { sameShape } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import {
  checkIntPair, effectiveKernel, pair, resolvePadding, windowOutputSize, type Padding2d, type Pair,
} from './conv_geometry.js';
import { conv2dTranspose } from './conv2d_transpose.js';
import { transpose } from './transpose.js';
import { GEMM_CONV_VARIANTS, halfRows, recordConvGemm } from './gemm.js';
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
  const { problem, relu } = conv2dProblem(x, weight, bias, attrs);
  return recordChosenConv2d(rec, x, weight, bias, problem, relu);
}

/** The checked problem of conv2d(x, weight, bias, attrs) (typed errors as conv2d), for the ops that record it fused with more. */
export function conv2dProblem(x: Tensor, weight: Tensor, bias: Tensor | null, attrs: Conv2dAttrs = {}): { problem: ConvProblem; relu: boolean } {
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
  return { problem, relu };
}

/**
 * Records one forward convolution of a problem already checked, with the variant the runtime
 * chooses for its shape (pinned, measured or the adapter default). The transposed convolution's
 * 'forward-conv' variant (src/ops/conv2d_transpose.ts) records its phases through this.
 */
export function recordChosenConv2d(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean): Tensor {
  return recordConv2d(rec, x, weight, bias, problem, relu, chosenConv2dVariant(rec, x, weight, bias, problem, relu));
}

/** The variant the runtime chooses for this convolution's shape (pinned, measured or the adapter default). */
export function chosenConv2dVariant(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean): Conv2dVariant {
  return rec.runtime.kernelVariant('conv2d', convShapeKey(problem), () => conv2dProbe(rec, x, weight, bias, problem, relu),
    convVariantSupports(problem, rec.runtime.maxBindingSize));
}

/** How one forward convolution is recorded with one variant's kernel; returns y. */
type ConvRecorder = (rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean, variant: Conv2dVariant) => Tensor;

type Conv2dVariant = VariantOf<'conv2d'>;

/** Every conv2d variant of VARIANT_TABLE (src/gpu/tuning.ts): a new row there is a compile error here until it is recorded. */
const RECORD_CONV2D: Record<Conv2dVariant, ConvRecorder> = {
  'direct': recordDirect,
  'direct-16x32': recordDirect,
  'direct-wt-16x32': recordDirect,
  'tiled': recordTiled,
  'tiled-32': recordTiled,
  'tiled-vec4': recordVec4,
  'winograd-2x2': recordWinograd,
  'winograd-4x4': recordWinograd,
  'gemm128-conv': recordGemm,
};

/** Records one forward convolution with the kernel `variant`. */
function recordConv2d(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean, variant: Conv2dVariant): Tensor {
  return RECORD_CONV2D[variant](rec, x, weight, bias, problem, relu, variant);
}

function convOutput(rec: Recorder, problem: ConvProblem): Tensor {
  return rec.tensor([problem.batch, problem.outC, problem.outH, problem.outW], 'conv2d');
}

function recordWinograd(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean, variant: Conv2dVariant): Tensor {
  return recordWinogradConv(rec, x, weight, bias, problem, relu, winogradTileOf(variant)!, 'forward');
}

function recordGemm(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean, variant: Conv2dVariant): Tensor {
  return recordConvGemm(rec, x, weight, bias, problem, relu, GEMM_CONV_VARIANTS[variant]!).y;
}

function recordVec4(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean): Tensor {
  const y = convOutput(rec, problem);
  const ihwo = weightIhwo(rec, weight);
  // runtime.precision 'f16' / 'f16-packed': the transposed weight's f16 copy, cached with it (docs/f16.md).
  const half = rec.runtime.precision !== 'f32' && vec4ReadsHalf(problem);
  const w = half ? halfRows(rec, ihwo, { rows: ihwo.size / problem.outC, K: problem.outC, ld: problem.outC, col: 0 }) : ihwo;
  rec.dispatch({ ...conv2dVec4Program(problem, { bias: bias !== null, relu }, 'conv2d', half), buffers: bias ? [x, w, y, bias] : [x, w, y] });
  return y;
}

function recordDirect(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean, variant: Conv2dVariant): Tensor {
  const { direct, weightLayout } = convKernelFor(variant, problem.outC / problem.groups);
  const y = convOutput(rec, problem);
  const w = weightLayout === 'ihwo' ? weightIhwo(rec, weight) : weight;
  rec.dispatch({ ...conv2dDirectProgram(problem, { bias: bias !== null, relu }, direct, weightLayout), buffers: bias ? [x, w, y, bias] : [x, w, y] });
  return y;
}

function recordTiled(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean, variant: Conv2dVariant): Tensor {
  const { tiling } = convKernelFor(variant, problem.outC / problem.groups);
  const y = convOutput(rec, problem);
  rec.dispatch({ ...conv2dTiledProgram(problem, { bias: bias !== null, relu }, tiling), buffers: bias ? [x, weight, y, bias] : [x, weight, y] });
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
    run: (r, variant) => {
      if (!isVariant('conv2d', variant)) throw new OutOfRangeError(`conv2d: no variant "${variant}"`);
      return [recordConv2d(r, xs, ws, bs, problem, relu, variant)];
    },
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

import { conv2dTransposeDirectProgram, conv2dTransposeTiledProgram, type ConvProblem } from '../../shaders/conv2d_transpose.js';
import { convKernelFor, convShapeKey } from '../../shaders/conv2d.js';
import type { Recorder } from '../gpu/recorder.js';
import type { KernelProbe } from '../gpu/tuning.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import { checkIntPair, effectiveKernel, pair, type Padding2d, type Pair } from './conv_geometry.js';
import { convVariantSupports, recordWinogradConv, winogradTileOf } from './conv2d_winograd.js';
import { forwardPhases, recordForwardPhases } from './conv2d_transpose_phases.js';

export type { Padding2d, Pair };

/** ONNX ConvTranspose / Keras Conv2DTranspose attributes. */
export interface Conv2dTransposeAttrs {
  stride?: Pair;
  dilation?: Pair;
  /** Pads cropped from the full output. Default 'valid'. */
  padding?: Padding2d;
  /** Extra rows/columns at the bottom/right; each below max(stride, dilation). */
  outputPadding?: Pair;
  groups?: number;
  /** ONNX output_shape [OH, OW]: overrides `padding`, the pads follow from it SAME_UPPER-style. */
  outputShape?: [number, number];
}

interface TransposeGeometry {
  n: number; cin: number; h: number; w: number;
  coutG: number; kH: number; kW: number;
  groups: number;
  stride: [number, number];
  dilation: [number, number];
  /** Only the leading pads matter to the gather; trailing ones are implied by the output size. */
  padT: number; padL: number;
  outH: number; outW: number;
}

function parseTranspose(xShape: readonly number[], wShape: readonly number[], attrs: Conv2dTransposeAttrs = {}): TransposeGeometry {
  const op = 'conv2dTranspose';
  if (xShape.length !== 4) throw new ShapeError(`${op}: input [${xShape}] must be 4-D [N, Cin, H, W]`);
  if (wShape.length !== 4) throw new ShapeError(`${op}: weight [${wShape}] must be 4-D [Cin, Cout/groups, KH, KW]`);
  const [n, cin, h, w] = xShape as [number, number, number, number];
  const [wCin, coutG, kH, kW] = wShape as [number, number, number, number];
  const groups = attrs.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new OutOfRangeError(`${op}: groups ${groups} must be an integer >= 1`);
  if (wCin !== cin) throw new ShapeError(`${op}: input [${xShape}] has ${cin} channels, weight [${wShape}] has ${wCin} input channels`);
  if (cin % groups !== 0) throw new ShapeError(`${op}: groups ${groups} does not divide the ${cin} input channels of [${xShape}]`);
  const stride = pair(attrs.stride, 1);
  const dilation = pair(attrs.dilation, 1);
  const outPad = pair(attrs.outputPadding, 0);
  checkIntPair(op, 'stride', stride, 1);
  checkIntPair(op, 'dilation', dilation, 1);
  checkIntPair(op, 'outputPadding', outPad, 0);
  for (const a of [0, 1] as const) {
    const limit = Math.max(stride[a], dilation[a]);
    if (outPad[a] >= limit) {
      throw new OutOfRangeError(`${op}: outputPadding [${outPad}] must be below max(stride, dilation) = ${limit} on each axis`);
    }
  }
  const wanted = wantedOutput(op, h, w, stride, attrs);
  const padding = attrs.padding ?? 'valid';
  if (!wanted && padding !== 'valid' && !isExplicitPadding(padding)) {
    throw new OutOfRangeError(`${op}: padding [${String(padding)}] must be 'valid', 'same' or four integers >= 0 [top, left, bottom, right]`);
  }
  const axis = (a: 0 | 1, size: number, k: number): AxisGeometry => {
    const full = (size - 1) * stride[a] + effectiveKernel(k, dilation[a]) + outPad[a];
    if (wanted) return fitToOutput(full, wanted[a]);
    if (padding === 'valid') return { padBegin: 0, out: full };
    const [begin, end] = [padding[a] as number, padding[a + 2] as number];
    if (full - begin - end < 1) {
      throw new ShapeError(`${op}: pads ${begin}+${end} on ${a === 0 ? 'H' : 'W'} crop all ${full} positions of the full output `
        + `(input [${xShape}], kernel ${kH}x${kW}, stride ${stride}, dilation ${dilation}, outputPadding ${outPad})`);
    }
    return { padBegin: begin, out: full - begin - end };
  };
  const vertical = axis(0, h, kH), horizontal = axis(1, w, kW);
  return {
    n, cin, h, w, coutG, kH, kW, groups, stride, dilation,
    padT: vertical.padBegin, padL: horizontal.padBegin, outH: vertical.out, outW: horizontal.out,
  };
}

interface AxisGeometry { padBegin: number; out: number }

function isExplicitPadding(p: unknown): p is [number, number, number, number] {
  return Array.isArray(p) && p.length === 4 && p.every((d) => Number.isInteger(d) && d >= 0);
}

/** The output size asked for: outputShape, or in*stride for 'same'; null when the pads decide it. */
function wantedOutput(op: string, h: number, w: number, stride: [number, number], attrs: Conv2dTransposeAttrs): [number, number] | null {
  const s = attrs.outputShape;
  if (s !== undefined) {
    if (!Array.isArray(s) || s.length !== 2 || !s.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new OutOfRangeError(`${op}: outputShape [${String(s)}] must be two integers >= 1 [OH, OW]`);
    }
    return [s[0], s[1]];
  }
  return attrs.padding === 'same' ? [h * stride[0], w * stride[1]] : null;
}

/**
 * Pads that crop the full output to `out` positions, SAME_UPPER-style:
 * total = full - out, begin = floor(total/2). An output larger than the full
 * one (total < 0, e.g. a 1x1 kernel at stride 2) keeps begin at 0: the extra
 * positions are all at the end, where no input reaches.
 */
function fitToOutput(full: number, out: number): AxisGeometry {
  return { padBegin: Math.floor(Math.max(full - out, 0) / 2), out };
}

export function conv2dTransposeOutputShape(xShape: readonly number[], weightShape: readonly number[], attrs?: Conv2dTransposeAttrs): number[] {
  const g = parseTranspose(xShape, weightShape, attrs);
  return [g.n, g.coutG * g.groups, g.outH, g.outW];
}

/**
 * x [N, Cin, H, W], weight [Cin, Cout/groups, KH, KW] (ONNX layout), bias [Cout] or null -> [N, Cout, OH, OW].
 * out = (in-1)*stride - padBegin - padEnd + (k-1)*dil + 1 + outputPadding. 'same' => out = in*stride
 * (pads split as ONNX SAME_UPPER: begin = floor(total/2)); 'valid' => no padding. outputShape (ONNX
 * output_shape) determines the pads SAME_UPPER-style.
 */
export function conv2dTranspose(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, attrs: Conv2dTransposeAttrs = {}): Tensor {
  const g = parseTranspose(x.shape, weight.shape, attrs);
  const cout = g.coutG * g.groups;
  if (bias && bias.size !== cout) {
    throw new ShapeError(`conv2dTranspose: bias [${bias.shape}] has ${bias.size} values, weight [${weight.shape}] with ${g.groups} groups has ${cout} output channels`);
  }
  const problem: ConvProblem = {
    batch: g.n, groups: g.groups,
    inC: g.cin, inH: g.h, inW: g.w,
    outC: cout, outH: g.outH, outW: g.outW,
    kH: g.kH, kW: g.kW, stride: g.stride, dilation: g.dilation,
    padT: g.padT, padL: g.padL,
    cinG: g.cin / g.groups,
  };
  const variant = rec.runtime.kernelVariant('conv2dTranspose', convShapeKey(problem), () => transposeProbe(rec, x, weight, bias, problem),
    convVariantSupports(equivalentForward(problem), rec.runtime.maxBindingSize));
  return recordTranspose(rec, x, weight, bias, problem, variant);
}

/** Records one transposed convolution with the kernel `variant` (see KERNEL_VARIANTS in src/gpu/tuning.ts). */
function recordTranspose(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, chosen: string): Tensor {
  let variant = chosen;
  if (variant === 'forward-conv') {
    const phases = forwardPhases(problem);
    if (phases) return recordForwardPhases(rec, x, weight, bias, problem, phases);
    // Pads past the kernel span would need the input cropped: the gather kernels of the adapter's family take it.
    variant = rec.runtime.kernels.style;
  }
  const tile = winogradTileOf(variant);
  // At stride 1 the transposed convolution is the forward one with the filter flipped, its channel axes swapped.
  if (tile) return recordWinogradConv(rec, x, weight, bias, equivalentForward(problem), false, tile, 'transposed');
  const y = rec.tensor([problem.batch, problem.outC, problem.outH, problem.outW], 'conv2dTranspose');
  const kernel = convKernelFor(variant, problem.outC / problem.groups);
  const program = kernel.direct
    ? conv2dTransposeDirectProgram(problem, bias !== null, kernel.direct)
    : conv2dTransposeTiledProgram(problem, bias !== null, kernel.tiling);
  rec.dispatch({ ...program, buffers: bias ? [x, weight, y, bias] : [x, weight, y] });
  return y;
}

/** The forward convolution a stride-1 transposed one equals (filter flipped): pads k - 1 - pad (negative where the output is cropped past the kernel). */
function equivalentForward(problem: ConvProblem): ConvProblem {
  return { ...problem, padT: problem.kH - 1 - problem.padT, padL: problem.kW - 1 - problem.padL };
}

/** Scratch tensors of the same shapes, for timing the variants of this transposed convolution alone. */
function transposeProbe(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem): KernelProbe {
  const rt = rec.runtime;
  const zeros = (t: Tensor) => rt.createTensor(t.shape, new Float32Array(t.size), 'f32', 'tuning scratch');
  const xs = zeros(x), ws = zeros(weight), bs = bias ? zeros(bias) : null;
  return {
    run: (r, variant) => [recordTranspose(r, xs, ws, bs, problem, variant)],
    dispose: () => { for (const t of [xs, ws, bs]) t?.release(); },
  };
}

// The transposed convolution as forward convolutions (variant 'forward-conv'),
// so that it runs on the fast forward kernels (tiled-vec4, GEMM, Winograd,
// direct: whatever the runtime picks for each forward shape).
//
// Along one axis (stride s, dilation d, leading pad p) output o takes input
//   i = (o + p - k*d) / s   for the taps k where the division is exact.
// Split the outputs by phase r = o mod s, o = q*s + r: the taps that reach
// phase r are k = k0 + j*T (T = s / gcd(s, d)), and they read
//   i = q + c0 - j*step     (step = d / gcd(s, d), c0 = (r + p - k0*d) / s),
// which, with the J taps flipped (j' = J-1-j), is a stride-1 forward
// convolution of the input with dilation `step` and leading pad
//   P = (J-1)*step - c0.
// So stride s is s_h*s_w sub-pixel convolutions on the input, each written into
// its phase's interleaved positions; stride 1 is one phase (the whole flipped
// kernel, P = (k-1)*d - p) written straight into the output. No kernel computes
// `% stride` in a loop. A phase with a negative P (pads past the kernel span)
// would need its input cropped: then the caller falls back to the gather kernels.
import {
  interleaveKernel, interleaveParams, phaseWeightKernel, phaseWeightParams, WORKGROUP, type ConvProblem,
} from '../../shaders/conv2d_transpose.js';
import { dispatch1d } from '../../shaders/kernel.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { derivedTensor } from '../gpu/derived.js';
import { recordChosenConv2d } from './conv2d.js';

/** One phase along one axis: its outputs q*stride + r (q < outputs), and the forward convolution that computes them. */
export interface AxisPhase {
  r: number;
  outputs: number;
  /** Taps reaching the phase: k0, k0 + tapStep, ... (taps of them; 0 when none does). */
  k0: number; taps: number; tapStep: number;
  /** The forward convolution's dilation and leading pad. */
  dilation: number; pad: number;
}

/** The phases of one axis with at least one output, or null when one needs a negative forward pad. */
export function axisPhases(kernel: number, stride: number, dilation: number, pad: number, outSize: number): AxisPhase[] | null {
  const common = gcd(stride, dilation);
  const tapStep = stride / common, step = dilation / common;
  const phases: AxisPhase[] = [];
  for (let r = 0; r < Math.min(stride, outSize); r++) {
    const outputs = Math.ceil((outSize - r) / stride);
    const k0 = firstTap(kernel, stride, dilation, pad, r, tapStep);
    if (k0 === null) {
      phases.push({ r, outputs, k0: 0, taps: 0, tapStep, dilation: step, pad: 0 });
      continue;
    }
    const taps = Math.floor((kernel - 1 - k0) / tapStep) + 1;
    const c0 = (r + pad - k0 * dilation) / stride;
    const forwardPad = (taps - 1) * step - c0;
    if (forwardPad < 0) return null;
    phases.push({ r, outputs, k0, taps, tapStep, dilation: step, pad: forwardPad });
  }
  return phases;
}

/** The first tap k (below tapStep: the residues repeat after it) with k*d ≡ r + pad (mod stride), or null. */
function firstTap(kernel: number, stride: number, dilation: number, pad: number, r: number, tapStep: number): number | null {
  for (let k = 0; k < Math.min(kernel, tapStep); k++) {
    if ((((k * dilation - r - pad) % stride) + stride) % stride === 0) return k;
  }
  return null;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Both axes' phases of a transposed convolution, or null where 'forward-conv' does not apply. */
export function forwardPhases(problem: ConvProblem): { rows: AxisPhase[]; cols: AxisPhase[] } | null {
  const rows = axisPhases(problem.kH, problem.stride[0], problem.dilation[0], problem.padT, problem.outH);
  const cols = axisPhases(problem.kW, problem.stride[1], problem.dilation[1], problem.padL, problem.outW);
  return rows && cols ? { rows, cols } : null;
}

/**
 * Records the transposed convolution `problem` (x [N, Cin, H, W], weight [Cin, Cout/g, KH, KW])
 * as the forward convolutions of `phases` (from forwardPhases). Their weights are built once per
 * weight version (src/gpu/derived.ts).
 */
export function recordForwardPhases(
  rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, phases: { rows: AxisPhase[]; cols: AxisPhase[] },
): Tensor {
  const [row, col] = [phases.rows[0]!, phases.cols[0]!];
  // Stride 1: one phase covering the whole output, computed in place.
  if (problem.stride[0] === 1 && problem.stride[1] === 1) return phaseConv(rec, x, weight, bias, problem, row, col);
  const y = rec.tensor([problem.batch, problem.outC, problem.outH, problem.outW], 'conv2dTranspose');
  for (const r of phases.rows) {
    for (const c of phases.cols) {
      if (r.taps === 0 || c.taps === 0) {
        interleave(rec, bias ? 'bias' : 'zero', bias, y, problem, r, c);
        continue;
      }
      const z = rec.temp(phaseConv(rec, x, weight, bias, problem, r, c));
      interleave(rec, 'phase', z, y, problem, r, c);
    }
  }
  return y;
}

/** The forward convolution of phase (r, c): [N, Cout, r.outputs, c.outputs]. */
function phaseConv(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, r: AxisPhase, c: AxisPhase): Tensor {
  const forward: ConvProblem = {
    ...problem,
    outH: r.outputs, outW: c.outputs,
    kH: r.taps, kW: c.taps,
    stride: [1, 1], dilation: [r.dilation, c.dilation],
    padT: r.pad, padL: c.pad,
  };
  return recordChosenConv2d(rec, x, phaseWeight(rec, weight, problem, r, c), bias, forward, false);
}

/** Phase (r, c)'s forward weight [Cout, Cin/g, JH, JW]: channels swapped, its taps flipped; cached with the weight. */
function phaseWeight(rec: Recorder, weight: Tensor, problem: ConvProblem, r: AxisPhase, c: AxisPhase): Tensor {
  const key = `flip-swap-taps:g${problem.groups}:rows${r.k0}+${r.tapStep}x${r.taps}:cols${c.k0}+${c.tapStep}x${c.taps}`;
  return derivedTensor(rec, weight, key, (rr) => {
    const [cin, coutG, kH, kW] = weight.shape as [number, number, number, number];
    const cinG = cin / problem.groups;
    const wf = rr.tensor([coutG * problem.groups, cinG, r.taps, c.taps], 'conv2dTranspose forward weight');
    const params = phaseWeightParams.pack({
      count: wf.size, cinG, coutG, kH, kW, k0H: r.k0, k0W: c.k0, tH: r.tapStep, tW: c.tapStep, jH: r.taps, jW: c.taps,
    });
    rr.dispatch({ ...phaseWeightKernel.program(undefined, params, dispatch1d(wf.size, WORKGROUP)), buffers: [weight, wf] });
    return wf;
  });
}

/** Writes phase (r, c) of y from `source` (its convolution, the bias, or nothing: zeros). */
function interleave(rec: Recorder, kind: 'phase' | 'bias' | 'zero', source: Tensor | null, y: Tensor, problem: ConvProblem, r: AxisPhase, c: AxisPhase): void {
  const count = problem.batch * problem.outC * r.outputs * c.outputs;
  const params = interleaveParams.pack({
    count, channels: problem.outC, qH: r.outputs, qW: c.outputs, outH: problem.outH, outW: problem.outW,
    sH: problem.stride[0], sW: problem.stride[1], rY: r.r, rX: c.r,
  });
  rec.dispatch({
    ...interleaveKernel.program({ source: kind }, params, dispatch1d(count, WORKGROUP), 'conv2dTranspose interleave'),
    buffers: source ? [source, y] : [y],
  });
}

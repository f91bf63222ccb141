import { convLaunch, directConvLaunch, directConvShader, implicitGemmShader, type ConvProblem, type ConvTiling, type DirectConvBlock } from './conv2d.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';
import { defineParams } from './params.js';

/** Invocations a workgroup of the 1-D kernels below. */
export const WORKGROUP = 256;

// Transposed convolution on the implicit-GEMM skeleton of shaders/conv2d.ts,
// written as a gather so that every output is owned by one invocation (no
// atomics, no scatter races): output pixel (oy, ox) takes input row
//   iy = (oy + padT - ky * dil) / stride
// for tap ky only when the division is exact and iy is inside the input; all
// other taps contribute 0. Same for columns.
//
// GEMM per (image, group): rows = output pixels, cols = output channels of the
// group, k = (input channel of the group, ky, kx). The weight is the ONNX
// layout [Cin, Cout/groups, KH, KW].

export { convLaunch, tilingKey, directConvLaunch, directBlockKey, type ConvProblem, type DirectConvBlock } from './conv2d.js';

export function conv2dTransposeShader(variant: { tiling: ConvTiling; bias: boolean }): string {
  return implicitGemmShader({ ...variant, relu: false, loaders: TRANSPOSE_LOADERS });
}

const TRANSPOSE_LOADERS = /* wgsl */ `
// The input index along one axis that output position o reaches through tap t, or -1.
fn source(o: u32, pad: i32, t: u32, dil: u32, stride: u32, size: u32) -> i32 {
  let s = i32(o) + pad - i32(t * dil);
  if (s < 0 || s % i32(stride) != 0) { return -1; }
  let i = s / i32(stride);
  return select(i, -1, i >= i32(size));
}

fn loadA(xBase: u32, k: u32, pixel: u32) -> f32 {
  let taps = p.kH * p.kW;
  let c = k / taps;
  let tap = k % taps;
  let iy = source(pixel / p.outW, p.padT, tap / p.kW, p.dilH, p.strideH, p.inH);
  let ix = source(pixel % p.outW, p.padL, tap % p.kW, p.dilW, p.strideW, p.inW);
  if (iy < 0 || ix < 0) { return 0.0; }
  return x[xBase + (c * p.inH + u32(iy)) * p.inW + u32(ix)];
}

fn loadB(g: u32, k: u32, m: u32) -> f32 {
  let taps = p.kH * p.kW;
  let c = k / taps;
  return w[((g * p.cinG + c) * p.coutG + m) * taps + k % taps];
}
`;

const tiledTransposeKernel = defineKernel('conv2d-transpose:tiled', conv2dTransposeShader);

/** The tiled gather ('tiled', 'tiled-32'); buffers [x, w (ONNX [Cin, Cout/g, KH, KW]), y, bias?]. */
export function conv2dTransposeTiledProgram(problem: ConvProblem, bias: boolean, tiling?: ConvTiling): KernelProgram {
  const launch = convLaunch(problem, undefined, tiling);
  return tiledTransposeKernel.program({ tiling: launch.tiling, bias }, launch.params, launch.dispatch, 'conv2dTranspose');
}

/** The 'direct' variant (no workgroup memory; see directConvShader in shaders/conv2d.ts), same gather. */
export function conv2dTransposeDirectShader(variant: { block: DirectConvBlock; bias: boolean }): string {
  return directConvShader({ ...variant, relu: false, taps: TRANSPOSE_DIRECT_TAPS });
}

// Branch-free (select, non-short-circuit &): SwiftShader's compile time grows
// steeply with the control flow of the R_P inlined copies.
const TRANSPOSE_DIRECT_TAPS = /* wgsl */ `
fn axisSource(o: u32, pad: i32, t: u32, dil: u32, stride: u32, size: u32) -> i32 {
  let s = i32(o) + pad - i32(t * dil);
  let q = u32(max(s, 0)) / stride;
  let ok = (s >= 0) & (q * stride == u32(max(s, 0))) & (q < size);
  return select(-1, i32(q), ok);
}

fn source(oy: u32, ox: u32, ky: u32, kx: u32) -> i32 {
  let iy = axisSource(oy, p.padT, ky, p.dilH, p.strideH, p.inH);
  let ix = axisSource(ox, p.padL, kx, p.dilW, p.strideW, p.inW);
  return select(-1, iy * i32(p.inW) + ix, (iy >= 0) & (ix >= 0));
}

fn wIndex(g: u32, c: u32, m: u32, tap: u32) -> u32 {
  return ((g * p.cinG + c) * p.coutG + m) * p.kH * p.kW + tap;
}
`;

const directTransposeKernel = defineKernel('conv2d-transpose:direct', conv2dTransposeDirectShader);

/** The direct gather ('direct*'); buffers [x, w, y, bias?]. */
export function conv2dTransposeDirectProgram(problem: ConvProblem, bias: boolean, block: DirectConvBlock): KernelProgram {
  const launch = directConvLaunch(problem, block);
  return directTransposeKernel.program({ block: launch.block, bias }, launch.params, launch.dispatch, 'conv2dTranspose');
}

// ---- The transposed convolution as forward convolutions ('forward-conv') ----
//
// Along one axis a transposed convolution's output o = q*s + r (phase r) takes
// input i = q + c0 - j*step from the taps ky = k0 + j*T, j = 0..J-1 (T = s/gcd(s, d),
// step = d/gcd(s, d)): a stride-1 forward convolution of the input with those
// taps flipped. At stride 1 there is one phase and it is the whole flipped
// kernel. src/ops/conv2d_transpose.ts works out (k0, T, J) per phase; these two
// kernels build the phase's forward weight and place its output.

/** One phase's taps along both axes: first tap, tap step and tap count. */
export const phaseWeightParams = defineParams({
  count: 'u32', cinG: 'u32', coutG: 'u32', kH: 'u32', kW: 'u32',
  k0H: 'u32', k0W: 'u32', tH: 'u32', tW: 'u32', jH: 'u32', jW: 'u32',
});

/**
 * A transposed-conv weight [Cin, Cout/g, KH, KW] -> the forward weight [Cout, Cin/g, JH, JW] of one phase:
 * output channels and input channels swapped, taps k0 + (J-1-j)*T (flipped). Runs once per weight version.
 */
export const phaseWeightKernel = defineKernel('conv2d-transpose-phase-weight', () => `
${kernelHeader(phaseWeightParams, [read('w'), readWrite('wf')])}
${flatMain(WORKGROUP, 'p.count', `
  let jx = i % p.jW;
  let jy = (i / p.jW) % p.jH;
  let ci = (i / (p.jW * p.jH)) % p.cinG;
  let co = i / (p.jW * p.jH * p.cinG);
  let g = co / p.coutG;
  let ky = p.k0H + (p.jH - 1u - jy) * p.tH;
  let kx = p.k0W + (p.jW - 1u - jx) * p.tW;
  wf[i] = w[(((g * p.cinG + ci) * p.coutG + co % p.coutG) * p.kH + ky) * p.kW + kx];`)}
`);

/** Where one phase's [N*C, QH, QW] go in the output [N*C, OH, OW]: rows q*sH + rY, columns q*sW + rX. */
export const interleaveParams = defineParams({
  count: 'u32', channels: 'u32', qH: 'u32', qW: 'u32', outH: 'u32', outW: 'u32',
  sH: 'u32', sW: 'u32', rY: 'u32', rX: 'u32',
});

/**
 * Writes one phase into the output. `source` 'phase': the phase's convolution z;
 * 'bias' / 'zero': a phase no tap reaches (its outputs are the bias, or 0).
 */
export const interleaveKernel = defineKernel('conv2d-transpose-interleave', ({ source }: { source: 'phase' | 'bias' | 'zero' }) => `
${kernelHeader(interleaveParams, [source === 'phase' && read('z'), source === 'bias' && read('bias'), readWrite('y')])}
${flatMain(WORKGROUP, 'p.count', `
  let qx = i % p.qW;
  let qy = (i / p.qW) % p.qH;
  let plane = i / (p.qW * p.qH);
  let v = ${source === 'phase' ? 'z[i]' : source === 'bias' ? 'bias[plane % p.channels]' : '0.0'};
  y[(plane * p.outH + qy * p.sH + p.rY) * p.outW + qx * p.sW + p.rX] = v;`)}
`);

import { directConvShader, implicitGemmShader, type ConvTiling, type DirectConvBlock } from './conv2d.js';

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

import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from '../params.js';
import { kernelHeader, read, readWrite } from '../kernel.js';

// What every convolution kernel shares: the problem, the geometry at the
// start of each Params struct and its packing, the tile origin of the tiled
// kernels, the epilogue (bias, ReLU, NCHW store), and the launch of the
// tiled kernels (tile grid folded past 65535 workgroups).

/** One convolution-like GEMM batch, in output-pixel terms; pads may be negative (transposed conv with a large outputShape). */
export interface ConvProblem {
  batch: number; groups: number;
  inC: number; inH: number; inW: number;
  outC: number; outH: number; outW: number;
  kH: number; kW: number;
  stride: [number, number]; dilation: [number, number];
  padT: number; padL: number;
  /** Input channels per group: the channels one GEMM reduces over. */
  cinG: number;
}

/** What a convolution kernel does after the sum: add the bias, apply ReLU. */
export interface ConvEpilogue { bias: boolean; relu: boolean }

/**
 * The geometry every convolution kernel's Params starts with: forward,
 * transposed and weight gradient, tiled and direct. One declaration, one
 * packing (convGeometry), so the kernels cannot drift apart.
 */
export const CONV_GEOMETRY_FIELDS = {
  inC: 'u32', inH: 'u32', inW: 'u32',
  outC: 'u32', outH: 'u32', outW: 'u32',
  kH: 'u32', kW: 'u32',
  strideH: 'u32', strideW: 'u32', dilH: 'u32', dilW: 'u32',
  padT: 'i32', padL: 'i32',
  cinG: 'u32', coutG: 'u32', groups: 'u32',
} as const;

/** Values of CONV_GEOMETRY_FIELDS; `cinG`/`coutG`: channels per group of the input/output. */
export function convGeometry(p: {
  inC: number; inH: number; inW: number; outC: number; outH: number; outW: number; kH: number; kW: number;
  stride: [number, number]; dilation: [number, number]; padT: number; padL: number; groups: number;
}, cinG: number, coutG: number): Record<keyof typeof CONV_GEOMETRY_FIELDS, number> {
  return {
    inC: p.inC, inH: p.inH, inW: p.inW, outC: p.outC, outH: p.outH, outW: p.outW, kH: p.kH, kW: p.kW,
    strideH: p.stride[0], strideW: p.stride[1], dilH: p.dilation[0], dilW: p.dilation[1],
    padT: p.padT, padL: p.padL, cinG, coutG, groups: p.groups,
  };
}

/** Uniforms of both convolution kernels. `cinG`/`coutG`: channels per group of the input/output. */
export const convParams = defineParams({
  ...CONV_GEOMETRY_FIELDS,
  /** GEMM depth: cinG * kH * kW. */
  kSize: 'u32',
  /** outH * outW, the GEMM rows of one image. */
  pixels: 'u32',
  pixelTiles: 'u32',
  /** batch * groups: the GEMMs of one dispatch. */
  batchGroups: 'u32',
});

/** The shape signature tuning keys a convolution-like problem by. */
export function convShapeKey(p: ConvProblem): string {
  return `n${p.batch} g${p.groups} ${p.inC}x${p.inH}x${p.inW}>${p.outC}x${p.outH}x${p.outW} k${p.kH}x${p.kW} s${p.stride} d${p.dilation} p${p.padT},${p.padL}`;
}

/**
 * How a kernel reads the forward weight: 'oihw' the ONNX layout
 * [M, C/g, kH, kW] as given; 'ihwo' [C/g, kH, kW, M] (the op transposes it
 * once and caches it, see src/ops/conv2d.ts), where the R_M channels of a block
 * sit next to each other for every (input channel, tap): one base address per
 * step instead of R_M index computations.
 */
export type ConvWeightLayout = 'oihw' | 'ihwo';

/**
 * The start of a tiled kernel's main(): which pixel tile (p0), image (n) and
 * group (g) this workgroup computes. Dispatches past 65535 workgroups fold
 * into z, so the linear index is rebuilt first.
 */
export const TILE_ORIGIN = `  // Workgroup-uniform, so returning here keeps the barriers below in uniform control flow.
  let linear = wid.x + wid.z * nwg.x;
  if (linear >= p.pixelTiles * p.batchGroups) { return; }
  let p0 = (linear % p.pixelTiles) * TILE_P;
  let ng = linear / p.pixelTiles;
  let n = ng / p.groups;
  let g = ng % p.groups;`;

/** Every conv kernel's epilogue: bias, the optional fused ReLU and the NCHW store of one output (out-of-range outputs skipped). */
export function storeFn(spec: { bias: boolean; relu: boolean }): string {
  return wgsl`
fn store(n: u32, g: u32, m: u32, pixel: u32, acc: f32) {
  if (m >= p.coutG || pixel >= p.pixels) { return; }
  let oc = g * p.coutG + m;
#if ${spec.bias}
  let v = acc + bias[oc];
#else
  let v = acc;
#endif
#if ${spec.relu}
  y[(n * p.outC + oc) * p.pixels + pixel] = max(v, 0.0);
#else
  y[(n * p.outC + oc) * p.pixels + pixel] = v;
#endif
}`;
}

/** Packed convParams and workgroup counts of a tiled kernel whose workgroups compute tileP pixels x tileM channels. */
export function gemmLaunch(problem: ConvProblem, tilePixels: number, tileChannels: number, maxWorkgroups: number): { params: ArrayBuffer; dispatch: [number, number, number] } {
  const coutG = problem.outC / problem.groups;
  const pixels = problem.outH * problem.outW;
  const pixelTiles = Math.ceil(pixels / tilePixels);
  const batchGroups = problem.batch * problem.groups;
  const params = convParams.pack({
    ...convGeometry(problem, problem.cinG, coutG),
    kSize: problem.cinG * problem.kH * problem.kW,
    pixels, pixelTiles, batchGroups,
  });
  return { params, dispatch: gemmDispatch(pixelTiles, Math.ceil(coutG / tileChannels), batchGroups, maxWorkgroups) };
}

/** x = pixel tiles, y = channel tiles, z = batch * groups; x and z fold together past 65535 (the shader unfolds them). */
function gemmDispatch(pixelTiles: number, channelTiles: number, batchGroups: number, max: number): [number, number, number] {
  if (pixelTiles <= max && batchGroups <= max) return [pixelTiles, channelTiles, batchGroups];
  const total = pixelTiles * batchGroups;
  const x = Math.min(total, max);
  return [x, channelTiles, Math.ceil(total / x)];
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The bindings of every convolution kernel: Params, x, the weight w (`wType`), y, and bias when the epilogue adds it. */
export function convBindings(params: { struct: string }, bias: boolean, wType = 'array<f32>'): string {
  return kernelHeader(params, [read('x'), read('w', wType), readWrite('y'), bias && read('bias')]);
}

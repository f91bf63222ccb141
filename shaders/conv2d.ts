import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from './params.js';
import { defineKernel, type KernelProgram } from './kernel.js';

// Convolution as an implicit GEMM, per (image, group):
//   out[pixel, m] = sum_k A[pixel, k] * B[k, m]
// rows = output pixels of one image, cols = output channels of one group,
// k = (input channel of the group, ky, kx). A is the im2col patch matrix; it is
// never materialised: each workgroup gathers the TILE_P x TK slab it needs into
// shared memory (zeros for padding), stages the TK x TILE_M weight slab next to
// it, and every invocation accumulates an R_P x R_M block in registers.
//
// The skeleton here is shared with the transposed convolution
// (shaders/conv2d_transpose.ts); the two differ only in how an A or B element
// is fetched, which each supplies as `loadA` / `loadB` WGSL functions.

/**
 * The geometry every convolution kernel's Params starts with: forward,
 * transposed and weight gradient, tiled and direct. One declaration, one
 * packing (convGeometry), so the kernels cannot drift apart.
 */

/**
 * The start of a tiled kernel's main(): which pixel tile (p0), image (n) and
 * group (g) this workgroup computes. Dispatches past 65535 workgroups fold
 * into z, so the linear index is rebuilt first.
 */
const TILE_ORIGIN = `  // Workgroup-uniform, so returning here keeps the barriers below in uniform control flow.
  let linear = wid.x + wid.z * nwg.x;
  if (linear >= p.pixelTiles * p.batchGroups) { return; }
  let p0 = (linear % p.pixelTiles) * TILE_P;
  let ng = linear / p.pixelTiles;
  let n = ng / p.groups;
  let g = ng % p.groups;`;

export const CONV_GEOMETRY_FIELDS = {
  inC: 'u32', inH: 'u32', inW: 'u32',
  outC: 'u32', outH: 'u32', outW: 'u32',
  kH: 'u32', kW: 'u32',
  strideH: 'u32', strideW: 'u32', dilH: 'u32', dilW: 'u32',
  padT: 'i32', padL: 'i32',
  cinG: 'u32', coutG: 'u32', groups: 'u32',
} as const;

/** Values of CONV_GEOMETRY_FIELDS; `cinG`/`coutG`: channels per group of the input/output. */

/** Every conv kernel's epilogue: bias, the optional fused ReLU and the NCHW store of one output (out-of-range outputs skipped). */
function storeFn(spec: { bias: boolean; relu: boolean }): string {
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

/** Invocations WG_P x WG_M, each computing R_P pixels x R_M channels, stepping K by TK. */
export interface ConvTiling { wgP: number; wgM: number; rP: number; rM: number; tk: number }

/** Only the WebGPU default is assumed (16 KiB), so every device can run every tiling. */
const SHARED_BYTES = 16384;
const MAX_THREADS = 256;
const MAX_TILE_P = 256;

/**
 * Tile shape for a GEMM with `coutG` columns: a square 64x64 tile for wide
 * layers, and for narrow ones (depthwise: 1 column per group) a tall tile that
 * spends the invocations on pixels instead of on columns that do not exist.
 */
export function chooseTiling(coutG: number): ConvTiling {
  const rM = Math.min(4, coutG);
  const wgM = Math.min(16, nextPow2(Math.ceil(coutG / rM)));
  const rP = 4;
  const wgP = Math.min(MAX_TILE_P / rP, MAX_THREADS / wgM);
  const tileFloats = wgP * rP + wgM * rM + 1;
  const tk = [16, 8, 4].find((t) => tileFloats * t * 4 <= SHARED_BYTES)!;
  return { wgP, wgM, rP, rM, tk };
}

/**
 * A smaller tile for layers whose maps or channel counts leave most of a
 * 64x64 tile idle (deep layers at 7x7 or 14x14): 32 pixels x 32 channels for
 * wide layers, 64 threads.
 */
export function smallTiling(coutG: number): ConvTiling {
  const rM = Math.min(4, coutG);
  const wgM = Math.min(8, nextPow2(Math.ceil(coutG / rM)));
  const rP = 4;
  const wgP = Math.max(4, Math.min(16, 64 / wgM));
  const tileFloats = wgP * rP + wgM * rM + 1;
  const tk = [16, 8, 4].find((t) => tileFloats * t * 4 <= SHARED_BYTES)!;
  return { wgP, wgM, rP, rM, tk };
}

/** The kernel of a convolution variant name (see KERNEL_VARIANTS in src/gpu/tuning.ts). */
export type ConvKernel =
  | { direct: DirectConvBlock; tiling?: undefined; weightLayout: ConvWeightLayout }
  | { tiling: ConvTiling; direct?: undefined; weightLayout: 'oihw' };

/**
 * How a direct kernel reads the forward weight: 'oihw' the ONNX layout
 * [M, C/g, kH, kW] as given; 'ihwo' [C/g, kH, kW, M] (the op transposes it
 * first, see src/ops/conv2d.ts), where the R_M channels of a block sit next
 * to each other for every (input channel, tap): one base address per step
 * instead of R_M index computations.
 */
export type ConvWeightLayout = 'oihw' | 'ihwo';

export function convKernelFor(variant: string, coutG: number): ConvKernel {
  switch (variant) {
    case 'direct': return { direct: chooseDirectBlock(coutG), weightLayout: 'oihw' };
    // Fewer loads per multiply-add than 'direct' (48 per 512 vs 24 per 128); on SwiftShader 64->64 at 112x112 it ran about 1.3x faster.
    case 'direct-16x32': return { direct: { rP: 16, rM: Math.min(coutG, 32) }, weightLayout: 'oihw' };
    // Forward convolution only (conv2dTranspose does not list it): weights read as [C/g, kH, kW, M]
    // (src/ops/conv2d.ts transposes them in the same submit). On SwiftShader 64->64 at 112x112 it ran
    // within the noise of 'direct-16x32' (faster in 3 of 4 profiles by the median); the tuner decides.
    case 'direct-wt-16x32': return { direct: { rP: 16, rM: Math.min(coutG, 32) }, weightLayout: 'ihwo' };
    case 'tiled': return { tiling: chooseTiling(coutG), weightLayout: 'oihw' };
    case 'tiled-32': return { tiling: smallTiling(coutG), weightLayout: 'oihw' };
    default: throw new Error(`conv kernel: unknown variant "${variant}"`);
  }
}

/** The shape signature tuning keys a convolution-like problem by. */
export function convShapeKey(p: ConvProblem): string {
  return `n${p.batch} g${p.groups} ${p.inC}x${p.inH}x${p.inW}>${p.outC}x${p.outH}x${p.outW} k${p.kH}x${p.kW} s${p.stride} d${p.dilation} p${p.padT},${p.padL}`;
}

export function tileP(t: ConvTiling): number { return t.wgP * t.rP; }
export function tileM(t: ConvTiling): number { return t.wgM * t.rM; }
export function tilingKey(t: ConvTiling): string { return `${t.wgP}x${t.wgM}/${t.rP}x${t.rM}/k${t.tk}`; }

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export interface ImplicitGemmSpec {
  tiling: ConvTiling;
  bias: boolean;
  relu: boolean;
  /**
   * WGSL defining `fn loadA(xBase: u32, k: u32, pixel: u32) -> f32` (one patch
   * element of this group, 0 for padding) and `fn loadB(g: u32, k: u32, m: u32) -> f32`
   * (weight of group g for GEMM row k and group-local output channel m).
   * Both are only called with k < kSize, pixel < pixels, m < coutG.
   */
  loaders: string;
}

/** Launched with `convLaunch`'s dispatch. */
export function implicitGemmShader(spec: ImplicitGemmSpec): string {
  const { wgP, wgM, rP, rM, tk } = spec.tiling;
  const TP = tileP(spec.tiling), TM = tileM(spec.tiling), threads = wgP * wgM;
  const rows = range(rP), cols = range(rM);
  return wgsl`
${convParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if ${spec.bias}
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

const TILE_P = ${TP}u;
const TILE_M = ${TM}u;
// One spare column: the staging stores walk k with a stride of B_STRIDE words,
// which would hit a single bank if it were a multiple of 32.
const B_STRIDE = ${TM + 1}u;
const TK = ${tk}u;
const THREADS = ${threads}u;

// k-major, so the R_P rows an invocation reads are WG_P apart: neighbouring
// invocations read neighbouring words (no bank conflicts).
var<workgroup> tileA: array<f32, ${TP * tk}>;
var<workgroup> tileB: array<f32, ${(TM + 1) * tk}>;

${spec.loaders}

@compute @workgroup_size(${wgP}, ${wgM}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
${TILE_ORIGIN}
  let m0 = wid.y * TILE_M;
  let xBase = (n * p.inC + g * p.cinG) * p.inH * p.inW;

${rows.map((i) => cols.map((j) => `  var acc${i}_${j} = 0.0;`).join('\n')).join('\n')}

  for (var k0 = 0u; k0 < p.kSize; k0 += TK) {
    // Consecutive invocations take consecutive pixels of one k: coalesced input reads.
    for (var e = li; e < TK * TILE_P; e += THREADS) {
      let k = k0 + e / TILE_P;
      let pixel = p0 + e % TILE_P;
      var v = 0.0;
      if (k < p.kSize && pixel < p.pixels) { v = loadA(xBase, k, pixel); }
      tileA[e] = v;
    }
    // Consecutive invocations take consecutive k of one channel: coalesced weight reads.
    for (var e = li; e < TK * TILE_M; e += THREADS) {
      let kk = e % TK;
      let mm = e / TK;
      let k = k0 + kk;
      let m = m0 + mm;
      var v = 0.0;
      if (k < p.kSize && m < p.coutG) { v = loadB(g, k, m); }
      tileB[kk * B_STRIDE + mm] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
${rows.map((i) => `      let a${i} = tileA[kk * TILE_P + lid.x + ${i * wgP}u];`).join('\n')}
${cols.map((j) => `      let b${j} = tileB[kk * B_STRIDE + lid.y + ${j * wgM}u];`).join('\n')}
${rows.map((i) => cols.map((j) => `      acc${i}_${j} += a${i} * b${j};`).join('\n')).join('\n')}
    }
    workgroupBarrier();
  }

${rows.map((i) => cols.map((j) => `  store(n, g, m0 + lid.y + ${j * wgM}u, p0 + lid.x + ${i * wgP}u, acc${i}_${j});`).join('\n')).join('\n')}
}

${storeFn(spec)}
`;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

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

/**
 * Tiling, packed uniforms and workgroup counts of one launch. `maxWorkgroups`
 * is the per-dimension limit to fold at; only tests lower it, to reach the
 * folded path without dispatching 65536 workgroups.
 */
export function convLaunch(problem: ConvProblem, maxWorkgroups = 65535, tilingChoice?: ConvTiling): { tiling: ConvTiling; params: ArrayBuffer; dispatch: [number, number, number] } {
  const tiling = tilingChoice ?? chooseTiling(problem.outC / problem.groups);
  return { tiling, ...gemmLaunch(problem, tileP(tiling), tileM(tiling), maxWorkgroups) };
}

/** Packed convParams and workgroup counts of a tiled kernel whose workgroups compute tileP pixels x tileM channels. */
function gemmLaunch(problem: ConvProblem, tilePixels: number, tileChannels: number, maxWorkgroups: number): { params: ArrayBuffer; dispatch: [number, number, number] } {
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

/** Forward convolution: A is the im2col matrix of the input, B the weight [M, C/g, KH, KW] read as [k, m]. */
export function conv2dShader(variant: { tiling: ConvTiling; bias: boolean; relu: boolean }): string {
  return implicitGemmShader({ ...variant, loaders: CONV_LOADERS });
}

const CONV_LOADERS = /* wgsl */ `
fn loadA(xBase: u32, k: u32, pixel: u32) -> f32 {
  let taps = p.kH * p.kW;
  let c = k / taps;
  let tap = k % taps;
  let iy = i32((pixel / p.outW) * p.strideH + (tap / p.kW) * p.dilH) - p.padT;
  let ix = i32((pixel % p.outW) * p.strideW + (tap % p.kW) * p.dilW) - p.padL;
  if (iy < 0 || ix < 0 || iy >= i32(p.inH) || ix >= i32(p.inW)) { return 0.0; }
  return x[xBase + (c * p.inH + u32(iy)) * p.inW + u32(ix)];
}

fn loadB(g: u32, k: u32, m: u32) -> f32 {
  return w[(g * p.coutG + m) * p.kSize + k];
}
`;

// ---- 'direct' variant ------------------------------------------------------
//
// For CPU implementations of WebGPU (SwiftShader), where invocations run as
// fibers and every workgroup barrier or workgroup-memory access is expensive:
// no shared memory, no barriers. Each invocation owns a register block of
// R_P output pixels (consecutive in flat order) x R_M output channels of one
// (image, group) and walks the whole reduction itself, taps outer (the
// bounds checks of a tap are shared by every input channel) and input
// channels inner. Few, fat invocations; straight-line inner loops.
//
// Shared with the transposed convolution, which supplies `fn source(...)`
// (where a pixel's tap reads from, or -1) and `fn wIndex(...)`.

export const directConvParams = defineParams({
  ...CONV_GEOMETRY_FIELDS,
  pixels: 'u32',
  /** Blocks of R_P pixels per image, of R_M channels per group. */
  pixelBlocks: 'u32', channelBlocks: 'u32',
  /** batch * groups * channelBlocks * pixelBlocks: the real invocations. */
  invocations: 'u32',
});

export const DIRECT_WORKGROUP = 64;

/**
 * Invocations per workgroup for a launch of `invocations`: 64, or 16 when
 * that would leave fewer than 16 workgroups. A CPU implementation runs each
 * workgroup on one thread, so a deep layer on a tiny map (512 -> 512 at 2x2:
 * 32 invocations) would otherwise run on one core; on SwiftShader that layer
 * went from 38 to 19 ms.
 */
export function directWorkgroup(invocations: number): number {
  return invocations < 16 * DIRECT_WORKGROUP ? 16 : DIRECT_WORKGROUP;
}

/** R_P pixels x R_M channels per invocation; `wg` invocations per workgroup (default DIRECT_WORKGROUP; directConvLaunch sets it). */
export interface DirectConvBlock { rP: number; rM: number; wg?: number }

/**
 * R_M covers all channels of a group up to 16 (one weight fetch feeds R_P
 * pixels), R_P = 8, or 16 for narrow groups. Measured on SwiftShader (batch-64
 * MNIST convs): 8x16 and 16x16 blocks run 5-10x faster than 1x16 or 4x4.
 */
export function chooseDirectBlock(coutG: number): DirectConvBlock {
  const rM = Math.min(coutG, 16);
  const rP = rM >= 8 ? 8 : 16;
  return { rP, rM };
}

export function directBlockKey(b: DirectConvBlock): string { return `direct/${b.rP}x${b.rM}/wg${b.wg ?? DIRECT_WORKGROUP}`; }

export interface DirectConvSpec {
  block: DirectConvBlock;
  bias: boolean;
  relu: boolean;
  /**
   * WGSL defining `fn source(oy: u32, ox: u32, ky: u32, kx: u32) -> i32`: the
   * offset inside an input plane that output pixel (oy, ox) reads through tap
   * (ky, kx), or -1 (padding, or no input reaches it); and
   * `fn wIndex(g: u32, c: u32, m: u32, tap: u32) -> u32`.
   */
  taps: string;
  /**
   * With 'ihwo', `wIndex` is called once per (c, tap) with m = the block's
   * first channel, and the R_M channels are read at consecutive indices
   * after it (the weight has a channel stride of 1). Default 'oihw': one
   * wIndex per channel.
   */
  weightLayout?: ConvWeightLayout;
}

export function directConvShader(spec: DirectConvSpec): string {
  const { rP, rM } = spec.block;
  const wg = spec.block.wg ?? DIRECT_WORKGROUP;
  const px = range(rP), ch = range(rM);
  return wgsl`
${directConvParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if ${spec.bias}
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif
${flatIndexFn(wg)}

${spec.taps}

@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.invocations) { return; }
  let pb = i % p.pixelBlocks;
  let r1 = i / p.pixelBlocks;
  let mb = r1 % p.channelBlocks;
  let ng = r1 / p.channelBlocks;
  let g = ng % p.groups;
  let n = ng / p.groups;
  let mBase = mb * ${rM}u;
  let planeIn = p.inH * p.inW;
  let xBase = (n * p.inC + g * p.cinG) * planeIn;
  // Channels past coutG (ragged last block) read channel coutG - 1 and are not stored.
${ch.map((j) => `  let mc${j} = min(mBase + ${j}u, p.coutG - 1u);`).join('\n')}
${spec.weightLayout === 'ihwo' ? ch.map((j) => `  let mo${j} = mc${j} - mBase;`).join('\n') : ''}
${px.map((j) => `  let pix${j} = min(pb * ${rP}u + ${j}u, p.pixels - 1u);
  let oy${j} = pix${j} / p.outW;
  let ox${j} = pix${j} - oy${j} * p.outW;`).join('\n')}
${px.map((j) => ch.map((k) => `  var a${j}_${k} = 0.0;`).join(' ')).join('\n')}
  let taps = p.kH * p.kW;
  for (var tap = 0u; tap < taps; tap++) {
    let ky = tap / p.kW;
    let kx = tap - ky * p.kW;
${px.map((j) => `    let s${j} = source(oy${j}, ox${j}, ky, kx);
    let ok${j} = s${j} >= 0;
    let o${j} = u32(max(s${j}, 0));`).join('\n')}
    for (var c = 0u; c < p.cinG; c++) {
      let xc = xBase + c * planeIn;
${px.map((j) => `      let v${j} = select(0.0, x[xc + o${j}], ok${j});`).join('\n')}
${spec.weightLayout === 'ihwo'
    ? `      let wb = wIndex(g, c, mBase, tap);\n${ch.map((k) => `      let w${k} = w[wb + mo${k}];`).join('\n')}`
    : ch.map((k) => `      let w${k} = w[wIndex(g, c, mc${k}, tap)];`).join('\n')}
${px.map((j) => ch.map((k) => `a${j}_${k} += v${j} * w${k};`).join(' ')).join('\n')}
    }
  }
${px.map((j) => ch.map((k) => `  store(n, g, mBase + ${k}u, pb * ${rP}u + ${j}u, a${j}_${k});`).join('\n')).join('\n')}
}

${storeFn(spec)}
`;
}

/** Block, packed uniforms and workgroup counts of one direct launch. */
export function directConvLaunch(problem: ConvProblem, block?: DirectConvBlock): { block: DirectConvBlock; params: ArrayBuffer; dispatch: [number, number, number] } {
  const coutG = problem.outC / problem.groups;
  const b = block ?? chooseDirectBlock(coutG);
  const pixels = problem.outH * problem.outW;
  const pixelBlocks = Math.ceil(pixels / b.rP);
  const channelBlocks = Math.ceil(coutG / b.rM);
  const invocations = problem.batch * problem.groups * channelBlocks * pixelBlocks;
  const params = directConvParams.pack({
    ...convGeometry(problem, problem.cinG, coutG),
    pixels, pixelBlocks, channelBlocks, invocations,
  });
  const wg = directWorkgroup(invocations);
  return { block: { rP: b.rP, rM: b.rM, wg }, params, dispatch: linearDispatch(Math.ceil(invocations / wg)) };
}

/** Direct forward convolution (see directConvShader); 'ihwo': the weight comes as [C/g, kH, kW, M]. */
export function conv2dDirectShader(variant: { block: DirectConvBlock; bias: boolean; relu: boolean; weightLayout?: ConvWeightLayout }): string {
  const ihwo = variant.weightLayout === 'ihwo';
  return directConvShader({ ...variant, taps: CONV_DIRECT_SOURCE + (ihwo ? CONV_DIRECT_W_IHWO : CONV_DIRECT_W_OIHW) });
}

// Branch-free (select, non-short-circuit &): SwiftShader's compile time grows
// steeply with the control flow of the R_P inlined copies.
const CONV_DIRECT_SOURCE = /* wgsl */ `
fn source(oy: u32, ox: u32, ky: u32, kx: u32) -> i32 {
  let iy = i32(oy * p.strideH + ky * p.dilH) - p.padT;
  let ix = i32(ox * p.strideW + kx * p.dilW) - p.padL;
  let ok = (iy >= 0) & (ix >= 0) & (iy < i32(p.inH)) & (ix < i32(p.inW));
  return select(-1, iy * i32(p.inW) + ix, ok);
}
`;

const CONV_DIRECT_W_OIHW = /* wgsl */ `
fn wIndex(g: u32, c: u32, m: u32, tap: u32) -> u32 {
  return ((g * p.coutG + m) * p.cinG + c) * p.kH * p.kW + tap;
}
`;

// [C/g, kH, kW, M]: output channel g * coutG + m of input channel c (of its group), tap.
const CONV_DIRECT_W_IHWO = /* wgsl */ `
fn wIndex(g: u32, c: u32, m: u32, tap: u32) -> u32 {
  return (c * p.kH * p.kW + tap) * p.outC + g * p.coutG + m;
}
`;

/** `groups` workgroups as [x, y, 1], folded into y past 65535 (what flatIndexFn unfolds). */
export function linearDispatch(groups: number): [number, number, number] {
  if (groups <= 65535) return [groups, 1, 1];
  return [65535, Math.ceil(groups / 65535), 1];
}

// ---- 'tiled-vec4' variant ---------------------------------------------------
//
// For real GPUs: the implicit GEMM of implicitGemmShader with wider loads and
// no divisions in the inner loops. The forward weight comes as
// [C/g, kH, kW, M] (src/ops/conv2d.ts transposes it in the same submit), so a
// row k of B is contiguous along the output channels and, when the channels of
// a group are a multiple of 4, is read as vec4 (otherwise 4 guarded scalar
// loads fill the same vec4). Each invocation stages 4 consecutive pixels of
// one patch row k and keeps (c, ky, kx) of that k in registers, advancing it
// by a constant step with carries (digits of radix kW and kH) instead of a
// div/mod per element. The workgroup memory holds vec4 tiles: A as
// [TK][TILE_P/4] pixel quads, B as [TK][TILE_M/4] channel quads. Each
// invocation accumulates 8 pixels (two quads, WG_P quads apart) x 4 channels
// as 8 vec4 accumulators.

/** WG_P x WG_M invocations; tile (8 * WG_P) pixels x (4 * WG_M) channels, k step TK. */
export interface Vec4ConvTiling { wgP: number; wgM: number; tk: number; vecB: boolean }

/**
 * WG_M = 16 (64 channels) for wide groups, else 8; WG_P = 8 (64 pixels) when
 * the batch has many pixels, else 4 (32 pixels: more workgroups for deep,
 * small maps). WG_M >= 8 keeps the staging step (invocations per k row) a
 * whole number that divides TK.
 */
export function chooseVec4Tiling(coutG: number, batchPixels: number): Vec4ConvTiling {
  const wgM = coutG > 32 ? 16 : 8;
  const wgP = batchPixels >= 8192 ? 8 : 4;
  return { wgP, wgM, tk: 16, vecB: coutG % 4 === 0 };
}

export function vec4TilingKey(t: Vec4ConvTiling): string { return `vec4/${t.wgP}x${t.wgM}/k${t.tk}/${t.vecB ? 'b4' : 'b1'}`; }

/** Uniforms as convParams (same struct), workgroup counts as convLaunch. */
export function vec4ConvLaunch(problem: ConvProblem, tiling?: Vec4ConvTiling, maxWorkgroups = 65535): { tiling: Vec4ConvTiling; params: ArrayBuffer; dispatch: [number, number, number] } {
  const t = tiling ?? chooseVec4Tiling(problem.outC / problem.groups, problem.outH * problem.outW * problem.batch);
  return { tiling: t, ...gemmLaunch(problem, 8 * t.wgP, 4 * t.wgM, maxWorkgroups) };
}

/** Forward convolution, weight as [C/g, kH, kW, M]; launched with vec4ConvLaunch. */
export function conv2dVec4Shader(spec: { tiling: Vec4ConvTiling; bias: boolean; relu: boolean }): string {
  const { wgP, wgM, tk, vecB } = spec.tiling;
  const threads = wgP * wgM;
  const quadsP = 2 * wgP; // pixel quads per tile
  const quadsM = wgM; // channel quads per tile
  const stepK = threads / quadsP; // k rows staged at once
  if (!Number.isInteger(stepK) || tk % stepK !== 0) throw new Error(`tiled-vec4: tiling ${vec4TilingKey(spec.tiling)} does not stage whole k rows`);
  const bLoads = (tk * quadsM) / threads;
  const px = range(8);
  return wgsl`
${convParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
#if ${vecB}
@group(0) @binding(2) var<storage, read> w: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read> w: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if ${spec.bias}
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

const TILE_P = ${8 * wgP}u;
const QP = ${quadsP}u;
const QM = ${quadsM}u;
const TK = ${tk}u;
const STEP = ${stepK}u;

var<workgroup> tileA: array<vec4f, ${tk * quadsP}>;
var<workgroup> tileB: array<vec4f, ${tk * quadsM}>;

@compute @workgroup_size(${wgP}, ${wgM}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
${TILE_ORIGIN}
  let m0 = wid.y * QM * 4u;
  let plane = p.inH * p.inW;
  let xBase = (n * p.inC + g * p.cinG) * plane;
  let taps = p.kH * p.kW;

  // A staging: this invocation's pixel quad and first k row; consecutive invocations take consecutive quads.
  let sq = li % QP;
  let sk = li / QP;
  var iy0: vec4i;
  var ix0: vec4i;
  var pok: vec4<bool>;
  for (var i = 0u; i < 4u; i++) {
    let pixel = p0 + sq * 4u + i;
    let oy = pixel / p.outW;
    let ox = pixel - oy * p.outW;
    iy0[i] = i32(oy * p.strideH) - p.padT;
    ix0[i] = i32(ox * p.strideW) - p.padL;
    pok[i] = pixel < p.pixels;
  }
  // (c, ky, kx) of k = sk, and the step STEP in the same digits (skx < kW, sky < kH).
  var kc = sk / taps;
  var ky = (sk % taps) / p.kW;
  var kx = sk % p.kW;
  let sc = STEP / taps;
  let sky = (STEP % taps) / p.kW;
  let skx = STEP % p.kW;
  let inH = i32(p.inH);
  let inW = i32(p.inW);

${px.map((i) => `  var acc${i} = vec4f(0.0);`).join('\n')}

  for (var k0 = 0u; k0 < p.kSize; k0 += TK) {
    for (var r = 0u; r < TK; r += STEP) {
      let k = k0 + r + sk;
      let iy = iy0 + vec4i(i32(ky * p.dilH));
      let ix = ix0 + vec4i(i32(kx * p.dilW));
      let ok = pok & (iy >= vec4i(0)) & (ix >= vec4i(0)) & (iy < vec4i(inH)) & (ix < vec4i(inW)) & vec4<bool>(k < p.kSize);
      let idx = select(vec4i(0), iy * inW + ix, ok);
      let xc = select(0u, xBase + kc * plane, k < p.kSize);
      var v = vec4f(0.0);
      for (var i = 0u; i < 4u; i++) {
        v[i] = select(0.0, x[xc + u32(idx[i])], ok[i]);
      }
      tileA[(r + sk) * QP + sq] = v;
      // Advance (kc, ky, kx) by STEP.
      kx += skx;
      let cx = kx >= p.kW;
      kx = select(kx, kx - p.kW, cx);
      ky += sky + select(0u, 1u, cx);
      let cy = ky >= p.kH;
      ky = select(ky, ky - p.kH, cy);
      kc += sc + select(0u, 1u, cy);
    }
    // B staging: consecutive invocations take consecutive channel quads of one k row.
    for (var j = 0u; j < ${bLoads}u; j++) {
      let e = li + j * ${threads}u;
      let kk = e / QM;
      let mq = e % QM;
      let k = k0 + kk;
      let m = m0 + mq * 4u;
      var b = vec4f(0.0);
#if ${vecB}
      if (k < p.kSize && m < p.coutG) { b = w[(k * p.outC + g * p.coutG + m) / 4u]; }
#else
      if (k < p.kSize) {
        let base = k * p.outC + g * p.coutG + m;
        for (var i = 0u; i < 4u; i++) {
          if (m + i < p.coutG) { b[i] = w[base + i]; }
        }
      }
#endif
      tileB[e] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a0 = tileA[kk * QP + lid.x];
      let a1 = tileA[kk * QP + lid.x + ${wgP}u];
      let b = tileB[kk * QM + lid.y];
${px.map((i) => `      acc${i} = fma(vec4f(a${i < 4 ? 0 : 1}[${i % 4}]), b, acc${i});`).join('\n')}
    }
    workgroupBarrier();
  }

  let mBase = m0 + lid.y * 4u;
${px.map((i) => `  storeQuad(n, g, mBase, p0 + (lid.x + ${i < 4 ? 0 : wgP}u) * 4u + ${i % 4}u, acc${i});`).join('\n')}
}

${storeFn(spec)}

fn storeQuad(n: u32, g: u32, m: u32, pixel: u32, acc: vec4f) {
  for (var j = 0u; j < 4u; j++) { store(n, g, m + j, pixel, acc[j]); }
}
`;
}

// ---- programs ------------------------------------------------------------------
//
// One kernel per family, its pipeline key derived from the spec the WGSL is
// generated from (shaders/kernel.ts): tiling or block, epilogue, weight layout.

/** What a convolution kernel does after the sum: add the bias, apply ReLU. */
export interface ConvEpilogue { bias: boolean; relu: boolean }

const tiledConvKernel = defineKernel('conv2d:tiled', conv2dShader);
const directConvKernel = defineKernel('conv2d:direct', conv2dDirectShader);
const vec4ConvKernel = defineKernel('conv2d:vec4', conv2dVec4Shader);

/** Tiled implicit GEMM ('tiled', 'tiled-32'); buffers [x, w (OIHW), y, bias?]. */
export function conv2dTiledProgram(problem: ConvProblem, epilogue: ConvEpilogue, tiling?: ConvTiling, label = 'conv2d'): KernelProgram {
  const launch = convLaunch(problem, undefined, tiling);
  return tiledConvKernel.program({ tiling: launch.tiling, ...epilogue }, launch.params, launch.dispatch, label);
}

/** Direct register blocks ('direct*'); buffers [x, w (`weightLayout`), y, bias?]. */
export function conv2dDirectProgram(
  problem: ConvProblem, epilogue: ConvEpilogue, block: DirectConvBlock | undefined, weightLayout: ConvWeightLayout, label = 'conv2d',
): KernelProgram {
  const launch = directConvLaunch(problem, block);
  return directConvKernel.program({ block: launch.block, weightLayout, ...epilogue }, launch.params, launch.dispatch, label);
}

/** vec4 implicit GEMM ('tiled-vec4'); buffers [x, w as [C/g, kH, kW, M], y, bias?]. */
export function conv2dVec4Program(problem: ConvProblem, epilogue: ConvEpilogue, label = 'conv2d'): KernelProgram {
  const launch = vec4ConvLaunch(problem);
  return vec4ConvKernel.program({ tiling: launch.tiling, ...epilogue }, launch.params, launch.dispatch, label);
}

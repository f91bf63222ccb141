import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineKernel, type KernelProgram } from '../kernel.js';
import { TILE_ORIGIN, convBindings, convParams, gemmLaunch, range, storeFn, type ConvEpilogue, type ConvProblem } from './geometry.js';

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
${convBindings(convParams, spec.bias)}

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

/**
 * Tiling, packed uniforms and workgroup counts of one launch. `maxWorkgroups`
 * is the per-dimension limit to fold at; only tests lower it, to reach the
 * folded path without dispatching 65536 workgroups.
 */
export function convLaunch(problem: ConvProblem, maxWorkgroups = 65535, tilingChoice?: ConvTiling): { tiling: ConvTiling; params: ArrayBuffer; dispatch: [number, number, number] } {
  const tiling = tilingChoice ?? chooseTiling(problem.outC / problem.groups);
  return { tiling, ...gemmLaunch(problem, tileP(tiling), tileM(tiling), maxWorkgroups) };
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

const tiledConvKernel = defineKernel('conv2d:tiled', conv2dShader);

/** Tiled implicit GEMM ('tiled', 'tiled-32'); buffers [x, w (OIHW), y, bias?]. */
export function conv2dTiledProgram(problem: ConvProblem, epilogue: ConvEpilogue, tiling?: ConvTiling, label = 'conv2d'): KernelProgram {
  const launch = convLaunch(problem, undefined, tiling);
  return tiledConvKernel.program({ tiling: launch.tiling, ...epilogue }, launch.params, launch.dispatch, label);
}

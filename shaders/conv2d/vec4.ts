import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineKernel, type KernelProgram } from '../kernel.js';
import { TILE_ORIGIN, convBindings, convParams, gemmLaunch, range, storeFn, type ConvEpilogue, type ConvProblem } from './geometry.js';
import { UNPACK_HALF4_FN } from '../gemm.js';

// ---- 'tiled-vec4' variant ---------------------------------------------------
//
// For real GPUs: the implicit GEMM of implicitGemmShader with wider loads and
// no divisions in the inner loops. The forward weight comes as
// [C/g, kH, kW, M] (src/ops/conv2d.ts transposes it once, cached), so a
// row k of B is contiguous along the output channels and, when the channels of
// a group are a multiple of 4, is read as vec4 (otherwise 4 guarded scalar
// loads fill the same vec4). Each invocation stages 4 consecutive pixels of
// one patch row k and keeps (c, ky, kx) of that k in registers, advancing it
// by a constant step with carries (digits of radix kW and kH) instead of a
// div/mod per element. The workgroup memory holds vec4 tiles: A as
// [TK][TILE_P/4] pixel quads, B as [TK][TILE_M/4] channel quads. Each
// invocation accumulates 8 pixels (two quads, WG_P quads apart) x 4 channels
// as 8 vec4 accumulators.
//
// `half` (docs/f16.md): the weight is read from its f16 copy (the [C/g, kH, kW, M]
// weight's rows packed by gemmHalfPackKernel, two halves per u32), one 8-byte
// load per channel quad unpacked to f32; only with vec4 loads (channels of a
// group a multiple of 4, so the copy needs no row padding). The multiply-adds stay f32.

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

/** Whether 'tiled-vec4' has an f16 form for this problem: vec4 weight loads (channels per group a multiple of 4). */
export function vec4ReadsHalf(problem: ConvProblem): boolean {
  return (problem.outC / problem.groups) % 4 === 0;
}

/** Forward convolution, weight as [C/g, kH, kW, M]; launched with vec4ConvLaunch. */
export function conv2dVec4Shader(spec: { tiling: Vec4ConvTiling; bias: boolean; relu: boolean; half?: true }): string {
  const { wgP, wgM, tk, vecB } = spec.tiling;
  if (spec.half && !vecB) throw new Error('tiled-vec4: the f16 weight form needs vec4 weight loads (channels per group a multiple of 4)');
  const threads = wgP * wgM;
  const quadsP = 2 * wgP; // pixel quads per tile
  const quadsM = wgM; // channel quads per tile
  const stepK = threads / quadsP; // k rows staged at once
  if (!Number.isInteger(stepK) || tk % stepK !== 0) throw new Error(`tiled-vec4: tiling ${vec4TilingKey(spec.tiling)} does not stage whole k rows`);
  const bLoads = (tk * quadsM) / threads;
  const px = range(8);
  return wgsl`
${convBindings(convParams, spec.bias, spec.half ? 'array<vec2u>' : vecB ? 'array<vec4f>' : 'array<f32>')}
${spec.half ? UNPACK_HALF4_FN : ''}

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
      if (k < p.kSize && m < p.coutG) { b = ${spec.half ? 'unpackHalf4(w[(k * p.outC + g * p.coutG + m) / 4u])' : 'w[(k * p.outC + g * p.coutG + m) / 4u]'}; }
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

const vec4ConvKernel = defineKernel('conv2d:vec4', conv2dVec4Shader);

/**
 * vec4 implicit GEMM ('tiled-vec4'); buffers [x, w as [C/g, kH, kW, M], y, bias?]; with `half`
 * (vec4ReadsHalf), w is that weight's f16 copy (src/ops/gemm.ts halfRows).
 */
export function conv2dVec4Program(problem: ConvProblem, epilogue: ConvEpilogue, label = 'conv2d', half = false): KernelProgram {
  const launch = vec4ConvLaunch(problem);
  return vec4ConvKernel.program({ tiling: launch.tiling, ...epilogue, ...(half ? { half: true as const } : {}) }, launch.params, launch.dispatch, label);
}

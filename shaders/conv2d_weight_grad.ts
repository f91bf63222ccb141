import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from './params.js';
import { CONV_GEOMETRY_FIELDS, range } from './conv2d.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type Dispatch, type KernelProgram } from './kernel.js';

// Weight gradient of conv2d as an implicit GEMM, per group:
//   dW[m, col] = sum_r dY[m, r] * X[r, col]
// m = output channel of the group (rows), col = (input channel of the group,
// ky, kx) (columns, the weight's [C/g, KH, KW] flattened), r = (image, output
// pixel) (the reduction, N * OH * OW: large, e.g. 64 * 28 * 28 = 50k, while the
// weight matrix can be tiny, e.g. 1 x 9 per group for a depthwise 3x3).
// X is the im2col patch matrix of the forward input; neither it nor dY^T is
// materialised: each workgroup gathers its TK-deep slabs into shared memory.
//
// Two levels of splitting keep small weight matrices from leaving the GPU idle:
// - split-K across workgroups: the reduction is cut into `chunks` ranges of
//   `chunkLen`; each workgroup writes its partial tile to its own slice of a
//   [chunks, M * cols] buffer and a second pass (`weightGradReduceShader`) sums
//   the slices in chunk order. With one chunk the tile is written straight to
//   the result and there is no second pass.
// - split-K inside a workgroup: when the tile is narrow (few rows x few
//   columns), the spare invocations (WG_K of them per output block) take every
//   WG_K-th k of each slab; their partial sums meet in a fixed-order tree in
//   shared memory at the end. No float atomics anywhere: results are
//   deterministic run to run.

export const weightGradParams = defineParams({
  ...CONV_GEOMETRY_FIELDS,
  /** GEMM columns: cinG * kH * kW. */
  kCols: 'u32',
  /** outH * outW. */
  pixels: 'u32',
  /** GEMM depth: batch * pixels. */
  reduce: 'u32',
  chunkLen: 'u32',
  chunks: 'u32',
  mTiles: 'u32',
  cTiles: 'u32',
  /** groups * mTiles * cTiles * chunks: the real workgroups (the grid may have a ragged tail). */
  workgroups: 'u32',
  /** outC * kCols: elements of the weight, the stride between chunk slices. */
  total: 'u32',
});

export const reduceParams = defineParams({ total: 'u32', chunks: 'u32' });
export const REDUCE_WORKGROUP = 256;

/**
 * Invocations WG_C x WG_M x WG_K; each computes R_M rows x R_C columns over
 * every WG_K-th k of a TK slab.
 */
export interface WeightGradTiling { wgM: number; wgC: number; wgK: number; rM: number; rC: number; tk: number }

/** Only the WebGPU defaults are assumed (16 KiB shared, 256 invocations, 64 in z). */
const SHARED_FLOATS = 16384 / 4;
const MAX_THREADS = 256;
const MAX_WG_Z = 64;

export function chooseWeightGradTiling(coutG: number, kCols: number): WeightGradTiling {
  const rM = Math.min(4, coutG);
  const wgM = Math.min(16, nextPow2(Math.ceil(coutG / rM)));
  const rC = Math.min(4, kCols);
  const wgC = Math.min(16, nextPow2(Math.ceil(kCols / rC)));
  const wgK = Math.min(MAX_WG_Z, MAX_THREADS / (wgM * wgC));
  const tm = wgM * rM, tc = wgC * rC;
  // Shared: two TK-deep slabs (padded strides) plus one float per invocation for the tree.
  let tk = Math.max(16, wgK);
  while (tk > wgK && tk * (stride(tm) + stride(tc)) + MAX_THREADS > SHARED_FLOATS) tk /= 2;
  return { wgM, wgC, wgK, rM, rC, tk };
}

/**
 * Row stride of a slab in shared memory. The staging stores walk k with this
 * stride, so an even stride would pile consecutive invocations onto few banks.
 */
function stride(n: number): number {
  return n % 2 === 0 ? n + 1 : n;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Both main variants read the forward input and dY and write the weight gradient (or its chunk partials). */
const MAIN_BINDINGS = [read('x'), read('dy'), readWrite('out')];

/**
 * Stages the TK-deep slab r0 .. r0 + TK of `width` rows or columns from
 * `origin` into the k-major `tile`, zero past rEnd or past `limit`; element
 * e of the slab is (k = e % TK, j = e / TK).
 */
function stageSlab(s: { tile: string; stride: string; width: string; origin: string; limit: string; load: string }): string {
  return `    for (var e = li; e < TK * ${s.width}; e += THREADS) {
      let kk = e % TK;
      let jj = e / TK;
      let r = r0 + kk;
      let j = ${s.origin} + jj;
      var v = 0.0;
      if (r < rEnd && j < ${s.limit}) { v = ${s.load}(gi, r, j); }
      ${s.tile}[kk * ${s.stride} + jj] = v;
    }`;
}

/** Launched over `workgroups` workgroups (linear, folded into y past 65535). */
export function weightGradShader(t: WeightGradTiling): string {
  const TM = t.wgM * t.rM, TC = t.wgC * t.rC;
  const threads = t.wgM * t.wgC * t.wgK;
  const rows = range(t.rM), cols = range(t.rC);
  const accs = rows.flatMap((i) => cols.map((j) => `acc${i}_${j}`));
  return wgsl`
${kernelHeader(weightGradParams, MAIN_BINDINGS)}

const WG_M = ${t.wgM}u;
const WG_C = ${t.wgC}u;
const WG_K = ${t.wgK}u;
const TILE_M = ${TM}u;
const TILE_C = ${TC}u;
const TK = ${t.tk}u;
const A_STRIDE = ${stride(TM)}u;
const B_STRIDE = ${stride(TC)}u;
const THREADS = ${threads}u;

// k-major slabs: an invocation's R_M (R_C) values of one k are WG_M (WG_C) apart,
// so neighbouring invocations read neighbouring words.
var<workgroup> tileA: array<f32, ${t.tk * stride(TM)}>;
var<workgroup> tileB: array<f32, ${t.tk * stride(TC)}>;
#if ${t.wgK > 1}
var<workgroup> red: array<f32, ${threads}>;
#endif

// dY of group gi, output channel m (group-local), reduction index r = n * pixels + pixel.
fn loadA(gi: u32, r: u32, m: u32) -> f32 {
  let n = r / p.pixels;
  let pixel = r - n * p.pixels;
  return dy[(n * p.outC + gi * p.coutG + m) * p.pixels + pixel];
}

// The input element that weight column col meets at reduction index r (0 in the padding).
fn loadB(gi: u32, r: u32, col: u32) -> f32 {
  let n = r / p.pixels;
  let pixel = r - n * p.pixels;
  let taps = p.kH * p.kW;
  let c = col / taps;
  let tap = col - c * taps;
  let iy = i32((pixel / p.outW) * p.strideH + (tap / p.kW) * p.dilH) - p.padT;
  let ix = i32((pixel % p.outW) * p.strideW + (tap % p.kW) * p.dilW) - p.padL;
  if (iy < 0 || ix < 0 || iy >= i32(p.inH) || ix >= i32(p.inW)) { return 0.0; }
  return x[((n * p.inC + gi * p.cinG + c) * p.inH + u32(iy)) * p.inW + u32(ix)];
}

fn store(chunk: u32, gi: u32, m: u32, col: u32, v: f32) {
  if (m >= p.coutG || col >= p.kCols) { return; }
  out[chunk * p.total + (gi * p.coutG + m) * p.kCols + col] = v;
}

@compute @workgroup_size(${t.wgC}, ${t.wgM}, ${t.wgK})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  // Workgroup-uniform, so returning here keeps the barriers below in uniform control flow.
  let linear = wid.x + wid.y * nwg.x;
  if (linear >= p.workgroups) { return; }
  let cT = linear % p.cTiles;
  let rest = linear / p.cTiles;
  let mT = rest % p.mTiles;
  let rest2 = rest / p.mTiles;
  let gi = rest2 % p.groups;
  let chunk = rest2 / p.groups;
  let m0 = mT * TILE_M;
  let c0 = cT * TILE_C;
  let rBegin = chunk * p.chunkLen;
  let rEnd = min(rBegin + p.chunkLen, p.reduce);

${accs.map((a) => `  var ${a} = 0.0;`).join('\n')}

  for (var r0 = rBegin; r0 < rEnd; r0 += TK) {
    // Consecutive invocations take consecutive r of one channel: coalesced reads of dY rows.
${stageSlab({ tile: 'tileA', stride: 'A_STRIDE', width: 'TILE_M', origin: 'm0', limit: 'p.coutG', load: 'loadA' })}
    // Consecutive invocations take consecutive pixels of one column: (strided) runs along input rows.
${stageSlab({ tile: 'tileB', stride: 'B_STRIDE', width: 'TILE_C', origin: 'c0', limit: 'p.kCols', load: 'loadB' })}
    workgroupBarrier();
    for (var kk = lid.z; kk < TK; kk += WG_K) {
${rows.map((i) => `      let a${i} = tileA[kk * A_STRIDE + lid.y + ${i * t.wgM}u];`).join('\n')}
${cols.map((j) => `      let b${j} = tileB[kk * B_STRIDE + lid.x + ${j * t.wgC}u];`).join('\n')}
${rows.map((i) => cols.map((j) => `      acc${i}_${j} += a${i} * b${j};`).join('\n')).join('\n')}
    }
    workgroupBarrier();
  }

#if ${t.wgK > 1}
  // The WG_K partial sums of each output meet in a fixed-order tree. Every
  // step ends with a barrier, so the next accumulator's writes cannot overtake
  // the reads of the previous one.
  let plane = WG_C * WG_M;
${accs.map((a) => `  red[li] = ${a};
  workgroupBarrier();
  for (var s = WG_K / 2u; s > 0u; s >>= 1u) {
    if (lid.z < s) { red[li] += red[li + s * plane]; }
    workgroupBarrier();
  }
  ${a} = red[li];`).join('\n')}
  if (lid.z != 0u) { return; }
#endif

${rows.map((i) => cols.map((j) => `  store(chunk, gi, m0 + lid.y + ${i * t.wgM}u, c0 + lid.x + ${j * t.wgC}u, acc${i}_${j});`).join('\n')).join('\n')}
}
`;
}

const weightGradTiledKernel = defineKernel('conv2d-weight-grad:tiled', weightGradShader);

/** The tiled main pass; buffers [x, dy, out]. */
export function weightGradTiledProgram(plan: { tiling: WeightGradTiling; params: ArrayBuffer; dispatch: Dispatch }, label: string): KernelProgram {
  return weightGradTiledKernel.program(plan.tiling, plan.params, plan.dispatch, label);
}

/** Second pass of split-K: out[i] = sum over chunks c, in order, of part[c * total + i]. */
const weightGradReduceKernel = defineKernel('conv2d-weight-grad-reduce', () => `
${kernelHeader(reduceParams, [read('part'), readWrite('out')])}
${flatMain(REDUCE_WORKGROUP, 'p.total', `  var s = 0.0;
  for (var c = 0u; c < p.chunks; c++) { s += part[c * p.total + i]; }
  out[i] = s;`)}
`);

/** Buffers [part, out]. */
export function weightGradReduceProgram(values: Parameters<typeof reduceParams.pack>[0], label: string): KernelProgram {
  return weightGradReduceKernel.program(undefined, reduceParams.pack(values), dispatch1d(values.total, REDUCE_WORKGROUP), label);
}

// ---- 'direct' variant ------------------------------------------------------
//
// For CPU implementations of WebGPU (SwiftShader), where workgroup memory and
// barriers are expensive: each invocation owns R_M output channels x R_T taps
// of one (group, input channel) in registers and walks a range of output rows
// (n, oy) of the reduction itself, no shared memory, no barriers. Rows are
// split into `chunks` ranges so that small weights still make enough
// invocations; the chunk partials are summed in chunk order by
// the reduce pass (deterministic, as the tiled variant).

export const weightGradDirectParams = defineParams({
  ...CONV_GEOMETRY_FIELDS,
  kCols: 'u32',
  /** batch * outH: the reduction in whole output rows. */
  rows: 'u32',
  rowsPerChunk: 'u32',
  mBlocks: 'u32',
  tapBlocks: 'u32',
  /** chunks * groups * cinG * mBlocks * tapBlocks. */
  invocations: 'u32',
  total: 'u32',
});

export const DIRECT_WORKGROUP = 64;

/** R_M output channels x R_T taps per invocation. */
export interface WeightGradDirectBlock { rM: number; rT: number }

/**
 * Taps in blocks of at most 16 (as even as possible), channels (a power of 2,
 * at most 16) to fill up to 256 accumulators. On SwiftShader the larger blocks
 * win despite spilling: they cut the loads per product (batch-64 MNIST conv
 * weight gradients: 16 channels about 1.5-2x faster than 4).
 */
export function chooseWeightGradDirectBlock(coutG: number, taps: number): WeightGradDirectBlock {
  const rT = Math.ceil(taps / Math.ceil(taps / 16));
  let rM = 1;
  while (rM * 2 * rT <= 256 && rM * 2 <= Math.min(coutG, 16)) rM *= 2;
  return { rM: Math.min(rM, coutG), rT };
}

export function weightGradDirectShader(b: WeightGradDirectBlock): string {
  const ms = range(b.rM), ts = range(b.rT);
  return `
${kernelHeader(weightGradDirectParams, MAIN_BINDINGS)}

fn store(chunk: u32, g: u32, m: u32, col: u32, tapOk: bool, v: f32) {
  if (m >= p.coutG || !tapOk) { return; }
  out[chunk * p.total + (g * p.coutG + m) * p.kCols + col] = v;
}

${flatMain(DIRECT_WORKGROUP, 'p.invocations', `  let tb = i % p.tapBlocks;
  let r1 = i / p.tapBlocks;
  let mb = r1 % p.mBlocks;
  let r2 = r1 / p.mBlocks;
  let c = r2 % p.cinG;
  let r3 = r2 / p.cinG;
  let g = r3 % p.groups;
  let chunk = r3 / p.groups;
  let taps = p.kH * p.kW;
  let inH = i32(p.inH);
  let inW = i32(p.inW);
  // Taps past the kernel (ragged last block) and channels past coutG repeat the last one and are not stored.
${ts.map((j) => `  let tap${j} = min(tb * ${b.rT}u + ${j}u, taps - 1u);
  let ky${j} = tap${j} / p.kW;
  let offY${j} = i32(ky${j} * p.dilH) - p.padT;
  let offX${j} = i32((tap${j} - ky${j} * p.kW) * p.dilW) - p.padL;`).join('\n')}
${ms.map((k) => `  let mc${k} = g * p.coutG + min(mb * ${b.rM}u + ${k}u, p.coutG - 1u);`).join('\n')}
${ms.map((k) => ts.map((j) => `var a${k}_${j} = 0.0;`).join(' ')).join('\n')}
  let rowBegin = chunk * p.rowsPerChunk;
  let rowEnd = min(rowBegin + p.rowsPerChunk, p.rows);
  for (var row = rowBegin; row < rowEnd; row++) {
    let n = row / p.outH;
    let oy = row - n * p.outH;
    let xPlane = (n * p.inC + g * p.cinG + c) * p.inH * p.inW;
    let iyBase = i32(oy * p.strideH);
${ms.map((k) => `    let dyRow${k} = ((n * p.outC + mc${k}) * p.outH + oy) * p.outW;`).join('\n')}
${ts.map((j) => `    let iy${j} = iyBase + offY${j};
    let rowOk${j} = (iy${j} >= 0) & (iy${j} < inH);
    let xRow${j} = xPlane + u32(clamp(iy${j}, 0, inH - 1)) * p.inW;`).join('\n')}
    for (var ox = 0u; ox < p.outW; ox++) {
      let ixBase = i32(ox * p.strideW);
${ms.map((k) => `      let d${k} = dy[dyRow${k} + ox];`).join('\n')}
${ts.map((j) => `      let ix${j} = ixBase + offX${j};
      let v${j} = select(0.0, x[xRow${j} + u32(clamp(ix${j}, 0, inW - 1))], rowOk${j} & (ix${j} >= 0) & (ix${j} < inW));`).join('\n')}
${ms.map((k) => ts.map((j) => `a${k}_${j} += d${k} * v${j};`).join(' ')).join('\n')}
    }
  }
${ms.map((k) => ts.map((j) => `  store(chunk, g, mb * ${b.rM}u + ${k}u, c * taps + tb * ${b.rT}u + ${j}u, tb * ${b.rT}u + ${j}u < taps, a${k}_${j});`).join('\n')).join('\n')}`)}
`;
}

const weightGradDirectKernel = defineKernel('conv2d-weight-grad:direct', weightGradDirectShader);

/** The direct main pass; buffers [x, dy, out]. */
export function weightGradDirectProgram(plan: { block: WeightGradDirectBlock; params: ArrayBuffer; dispatch: Dispatch }, label: string): KernelProgram {
  return weightGradDirectKernel.program(plan.block, plan.params, plan.dispatch, label);
}

import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from './params.js';

// Tiled GEMM: Y = alpha * op(A) op(B) + beta * C, optionally rectified.
//
// Each workgroup owns a TILE_M x TILE_N block of Y. It walks K in steps of
// TILE_K, staging one TILE_M x TILE_K slab of op(A) and one TILE_K x TILE_N
// slab of op(B) in workgroup memory, so every value read from global memory
// is reused TILE_N (resp. TILE_M) times. Each of the 8x8 invocations keeps a
// 4x4 block of Y in registers.
//
// Transposes are resolved in the tile loaders, so the inner loop is the same
// for all four variants; the loaders pick the element order in which
// consecutive invocations touch consecutive addresses of the source matrix
// (coalesced reads). Both slabs are stored k-major, padded by one column so
// the k-fastest writes of the non-transposed A / transposed B loaders do not
// all land in one memory bank.
//
// Tiles are numbered linearly and the grid is folded into y like dispatch1d,
// so neither M nor N is limited by the 65535 workgroups per dimension.

export const TILE_M = 32;
export const TILE_N = 32;
export const TILE_K = 16;
/** Invocations per workgroup along N (x) and M (y); each computes 4x4 outputs. */
export const WORKGROUP_X = TILE_N / 4;
export const WORKGROUP_Y = TILE_M / 4;

export interface MatmulVariant {
  transposeA: boolean;
  transposeB: boolean;
  /** A C operand is bound at @binding(4). */
  bias: boolean;
  relu: boolean;
}

/**
 * `biasRowStride` / `biasColStride`: C[m, n] is c[m * rowStride + n * colStride],
 * which covers every broadcastable C shape (a zero stride repeats).
 */
export const matmulParams = defineParams({
  M: 'u32', N: 'u32', K: 'u32', tilesM: 'u32', tilesN: 'u32',
  alpha: 'f32', beta: 'f32', biasRowStride: 'u32', biasColStride: 'u32',
});

export function matmulShader(v: MatmulVariant): string {
  const threads = WORKGROUP_X * WORKGROUP_Y;
  return wgsl`
${matmulParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if ${v.bias}
@group(0) @binding(4) var<storage, read> c: array<f32>;
#endif

const TM = ${TILE_M}u;
const TN = ${TILE_N}u;
const TK = ${TILE_K}u;
const THREADS = ${threads}u;
const STRIDE_A = TM + 1u;
const STRIDE_B = TN + 1u;

var<workgroup> tileA: array<f32, ${TILE_K * (TILE_M + 1)}>;
var<workgroup> tileB: array<f32, ${TILE_K * (TILE_N + 1)}>;

// op(A)[m, k], zero outside the matrix so partial tiles need no special case.
fn loadA(m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
#if ${v.transposeA}
  return a[k * p.M + m];
#else
  return a[m * p.K + k];
#endif
}

// op(B)[k, n].
fn loadB(k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
#if ${v.transposeB}
  return b[n * p.K + k];
#else
  return b[k * p.N + n];
#endif
}

fn stageTiles(li: u32, row0: u32, col0: u32, k0: u32) {
  for (var e = li; e < TM * TK; e += THREADS) {
#if ${v.transposeA}
    let m = e % TM;
    let k = e / TM;
#else
    let k = e % TK;
    let m = e / TK;
#endif
    tileA[k * STRIDE_A + m] = loadA(row0 + m, k0 + k);
  }
  for (var e = li; e < TK * TN; e += THREADS) {
#if ${v.transposeB}
    let k = e % TK;
    let n = e / TK;
#else
    let n = e % TN;
    let k = e / TN;
#endif
    tileB[k * STRIDE_B + n] = loadB(k0 + k, col0 + n);
  }
}

@compute @workgroup_size(${WORKGROUP_X}, ${WORKGROUP_Y})
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  // Depends only on workgroup-uniform values, so the barriers below stay in uniform control flow.
  let tile = wid.x + wid.y * nwg.x;
  if (tile >= p.tilesM * p.tilesN) { return; }
  let row0 = (tile / p.tilesN) * TM;
  let col0 = (tile % p.tilesN) * TN;
  let r0 = lid.y * 4u;
  let c0 = lid.x * 4u;

  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    stageTiles(li, row0, col0, k0);
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let ai = k * STRIDE_A + r0;
      let bi = k * STRIDE_B + c0;
      let av = vec4f(tileA[ai], tileA[ai + 1u], tileA[ai + 2u], tileA[ai + 3u]);
      let bv = vec4f(tileB[bi], tileB[bi + 1u], tileB[bi + 2u], tileB[bi + 3u]);
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let m = row0 + r0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + c0 + j;
      if (n >= p.N) { break; }
      var v = p.alpha * acc[i][j];
#if ${v.bias}
      v += p.beta * c[m * p.biasRowStride + n * p.biasColStride];
#endif
#if ${v.relu}
      v = max(v, 0.0);
#endif
      y[m * p.N + n] = v;
    }
  }
}
`;
}

import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// GEMM: Y = alpha * op(A) op(B) + beta * C, optionally rectified.
//
// 'tiled' variants: each workgroup owns a TILE_M x TILE_N block of Y. It walks
// K in steps of TILE_K, staging one TILE_M x TILE_K slab of op(A) and one
// TILE_K x TILE_N slab of op(B) in workgroup memory, so every value read from
// global memory is reused TILE_N (resp. TILE_M) times. Each invocation keeps a
// 4x4 block of Y in registers (4 vec4 accumulators).
//
// Transposes are resolved in the tile loaders, so the inner loop is the same
// for all four transpose cases; the loaders pick the element order in which
// consecutive invocations touch consecutive addresses of the source matrix
// (coalesced reads). Both slabs are stored k-major, padded by one column so
// the k-fastest writes of the non-transposed A / transposed B loaders do not
// all land in one memory bank.
//
// 'direct' variants (CPU adapters): no workgroup memory and no barriers; each
// invocation computes its block of Y (4x4, 16x32) straight from global memory.
//
// Tiles are numbered linearly and the grid is folded into y like dispatch1d,
// so neither M nor N is limited by the 65535 workgroups per dimension.
//
// Layout parameters let one GEMM work on a slice of bigger matrices (a Dense
// weight split into row chunks across bindings): A's element (r, c) of its
// stored [rows, lda] matrix is a[r * lda + aCol + c]; Y's (m, n) is
// y[m * ldy + yCol + n]; C starts at biasOffset; `accumulate` adds to Y.

/** The default 'tiled' variant's tile (other variants: MATMUL_TILES). */
export const TILE_M = 32;
export const TILE_N = 32;
export const TILE_K = 16;
/** Invocations per workgroup along N (x) and M (y) of the default tile; each computes 4x4 outputs. */
export const WORKGROUP_X = TILE_N / 4;
export const WORKGROUP_Y = TILE_M / 4;

/** Block of Y per workgroup (tiled) or per invocation (direct). */
export interface MatmulTile { tm: number; tn: number; tk: number; direct: boolean }

/** The kernel variants of the matrix multiply, by name (see src/gpu/tuning.ts). */
export const MATMUL_TILES: Readonly<Record<string, MatmulTile>> = {
  'tiled': { tm: TILE_M, tn: TILE_N, tk: TILE_K, direct: false },
  'tiled-64': { tm: 64, tn: 64, tk: 8, direct: false },
  'direct': { tm: 4, tn: 4, tk: 1, direct: true },
  // The register block of the direct convolution's 'direct-16x32' (fewer loads per multiply-add: 48 per 512 vs 8 per 16).
  'direct-16x32': { tm: 16, tn: 32, tk: 1, direct: true },
};

/** Invocations of one direct workgroup. */
export const MATMUL_DIRECT_WORKGROUP = 64;

export interface MatmulVariant {
  transposeA: boolean;
  transposeB: boolean;
  /** A C operand is bound at @binding(4). */
  bias: boolean;
  relu: boolean;
  /** Y += result instead of Y = result. */
  accumulate?: boolean;
  /** Default MATMUL_TILES.tiled. */
  tile?: MatmulTile;
}

export function matmulTileKey(t: MatmulTile): string {
  return t.direct ? `direct${t.tm}x${t.tn}` : `${t.tm}x${t.tn}k${t.tk}`;
}

/**
 * `biasRowStride` / `biasColStride`: C[m, n] is c[biasOffset + m * rowStride + n * colStride],
 * which covers every broadcastable C shape (a zero stride repeats).
 */
export const matmulParams = defineParams({
  M: 'u32', N: 'u32', K: 'u32', tilesM: 'u32', tilesN: 'u32',
  alpha: 'f32', beta: 'f32', biasRowStride: 'u32', biasColStride: 'u32',
  lda: 'u32', aCol: 'u32', ldy: 'u32', yCol: 'u32', biasOffset: 'u32',
});

function commonHeader(v: MatmulVariant): string {
  return wgsl`
${kernelHeader(matmulParams, [read('a'), read('b'), readWrite('y'), v.bias && read('c')])}

// op(A)[m, k], zero outside the matrix so partial tiles need no special case.
fn loadA(m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
#if ${v.transposeA}
  return a[k * p.lda + p.aCol + m];
#else
  return a[m * p.lda + p.aCol + k];
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

fn store(m: u32, n: u32, acc: f32) {
  if (m >= p.M || n >= p.N) { return; }
  var v = p.alpha * acc;
#if ${v.bias}
  v += p.beta * c[p.biasOffset + m * p.biasRowStride + n * p.biasColStride];
#endif
#if ${v.relu}
  v = max(v, 0.0);
#endif
  let i = m * p.ldy + p.yCol + n;
#if ${!!v.accumulate}
  y[i] = y[i] + v;
#else
  y[i] = v;
#endif
}
`;
}

export function matmulShader(v: MatmulVariant): string {
  const tile = v.tile ?? MATMUL_TILES.tiled!;
  return tile.direct ? directShader(v, tile) : tiledShader(v, tile);
}

/**
 * Stages one slab of op(A) or op(B) into `tile` (k-major). `kFastest`: the
 * source is contiguous along k (A as stored, B transposed), so consecutive
 * invocations take consecutive k; else consecutive rows / columns.
 */
function stageLoop(tile: string, stride: string, width: 'TM' | 'TN', j: 'm' | 'n', kFastest: boolean, load: string): string {
  const order = kFastest
    ? `    let k = e % TK;
    let ${j} = e / TK;`
    : `    let ${j} = e % ${width};
    let k = e / ${width};`;
  return `  for (var e = li; e < ${width} * TK; e += THREADS) {
${order}
    ${tile}[k * ${stride} + ${j}] = ${load};
  }`;
}

function tiledShader(v: MatmulVariant, t: MatmulTile): string {
  const wx = t.tn / 4, wy = t.tm / 4;
  const threads = wx * wy;
  return wgsl`
${commonHeader(v)}
const TM = ${t.tm}u;
const TN = ${t.tn}u;
const TK = ${t.tk}u;
const THREADS = ${threads}u;
const STRIDE_A = TM + 1u;
const STRIDE_B = TN + 1u;

var<workgroup> tileA: array<f32, ${t.tk * (t.tm + 1)}>;
var<workgroup> tileB: array<f32, ${t.tk * (t.tn + 1)}>;

fn stageTiles(li: u32, row0: u32, col0: u32, k0: u32) {
${stageLoop('tileA', 'STRIDE_A', 'TM', 'm', !v.transposeA, 'loadA(row0 + m, k0 + k)')}
${stageLoop('tileB', 'STRIDE_B', 'TN', 'n', v.transposeB, 'loadB(k0 + k, col0 + n)')}
}

@compute @workgroup_size(${wx}, ${wy})
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
    for (var j = 0u; j < 4u; j++) {
      store(row0 + r0 + i, col0 + c0 + j, acc[i][j]);
    }
  }
}
`;
}

function directShader(v: MatmulVariant, tile: MatmulTile): string {
  const rows = range(tile.tm), cols = range(tile.tn);
  // Row / column indices clamped into the matrix (a ragged last block recomputes the last row or column,
  // and store() drops it): no branches around the loads. op(A)[m, k] is a[aRow(m) + k * aStep],
  // op(B)[k, n] is b[bCol(n) + k * bStep].
  const aRows = v.transposeA
    ? ['  let aStep = p.lda;', ...rows.map((i) => `  let aRow${i} = p.aCol + min(m0 + ${i}u, p.M - 1u);`)]
    : ['  let aStep = 1u;', ...rows.map((i) => `  let aRow${i} = min(m0 + ${i}u, p.M - 1u) * p.lda + p.aCol;`)];
  const bCols = v.transposeB
    ? ['  let bStep = 1u;', ...cols.map((j) => `  let bCol${j} = min(n0 + ${j}u, p.N - 1u) * p.K;`)]
    : ['  let bStep = p.N;', ...cols.map((j) => `  let bCol${j} = min(n0 + ${j}u, p.N - 1u);`)];
  // i: the tile of Y this invocation computes.
  return `
${commonHeader(v)}
${flatMain(MATMUL_DIRECT_WORKGROUP, 'p.tilesM * p.tilesN', `  let m0 = (i / p.tilesN) * ${tile.tm}u;
  let n0 = (i % p.tilesN) * ${tile.tn}u;
${aRows.join('\n')}
${bCols.join('\n')}
${rows.map((i) => cols.map((j) => `var acc${i}_${j} = 0.0;`).join(' ')).join('\n')}
  for (var k = 0u; k < p.K; k++) {
    let ka = k * aStep;
    let kb = k * bStep;
${rows.map((i) => `    let a${i} = a[aRow${i} + ka];`).join('\n')}
${cols.map((j) => `    let b${j} = b[bCol${j} + kb];`).join('\n')}
${rows.map((i) => '    ' + cols.map((j) => `acc${i}_${j} += a${i} * b${j};`).join(' ')).join('\n')}
  }
${rows.map((i) => cols.map((j) => `  store(m0 + ${i}u, n0 + ${j}u, acc${i}_${j});`).join('\n')).join('\n')}`)}
`;
}

const matmulKernel = defineKernel('matmul', (v: Required<MatmulVariant>) => matmulShader(v));

/**
 * Buffers [a, b, y, c (with `bias`)]. The spec is completed (tile, accumulate)
 * before it becomes the key, so equal kernels share one pipeline.
 */
export function matmulProgram(v: MatmulVariant, values: Parameters<typeof matmulParams.pack>[0], label: string): KernelProgram {
  const spec: Required<MatmulVariant> = { ...v, accumulate: !!v.accumulate, tile: v.tile ?? MATMUL_TILES.tiled! };
  const tiles = values.tilesM * values.tilesN;
  return matmulKernel.program(spec, matmulParams.pack(values), dispatch1d(tiles, spec.tile.direct ? MATMUL_DIRECT_WORKGROUP : 1), label);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// Winograd minimal filtering F(m x m, 3 x 3) (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016) for 3x3, stride-1 convolutions.
// An output tile of m x m pixels is computed from an a x a input tile
// (a = m + 2) as
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// where (.) is the element-wise product of a x a matrices. Summed over input
// channels, the element-wise products become a^2 independent matrix products
//   M[xi][m, t] = sum_c U[xi][m, c] * V[xi][c, t]      (xi = one of the a^2 positions)
// which run on the direct convolution kernel as a grouped 1x1 convolution
// (groups = a^2; see src/ops/conv2d_winograd.ts). The three kernels here are
// the transforms around it: weights -> U, input tiles -> V, M -> output tiles.
// A 3x3 conv does 9 multiply-adds per output and input channel; F(2x2) does
// 16/4 = 4, F(4x4) 36/16 = 2.25, for transforms that cost one pass over the
// input and output. The transforms' constants are exact in binary (halves,
// quarters) except F(4x4)'s G (sixths): results differ from the direct sum by
// float rounding only, a little more for F(4x4) (larger intermediate values).

/** Output tile edge m of the supported algorithms. */
export type WinogradTile = 2 | 4;

interface WinogradMatrices { bT: number[][]; g: number[][]; aT: number[][] }

/** B^T (a x a), G (a x 3), A^T (m x a), for the points 0, 1, -1 (m=2) and 0, +-1, +-2 (m=4), each with infinity. */
export const WINOGRAD_MATRICES: Readonly<Record<WinogradTile, WinogradMatrices>> = {
  2: {
    bT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
    aT: [[1, 1, 1, 0], [0, 1, -1, -1]],
  },
  4: {
    bT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    g: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    aT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
  },
};

/** a = m + 2: the input tile edge, and a^2 the number of products (GEMM groups). */
export function winogradAlpha(tile: WinogradTile): number { return tile + 2; }

/** A WGSL literal for a coefficient (f32). */
function lit(v: number): string {
  const s = Number.isInteger(v) ? `${v}.0` : `${v}`;
  return s;
}

/** sum_k coef[k] * terms[k] as straight-line WGSL, skipping zeros and multiplying only where |coef| != 1. */
function linear(coefs: number[], terms: string[]): string {
  const parts: string[] = [];
  coefs.forEach((c, k) => {
    if (c === 0) return;
    const mag = Math.abs(c);
    const term = mag === 1 ? terms[k]! : `${lit(mag)} * ${terms[k]}`;
    parts.push(parts.length === 0 ? (c < 0 ? `-${term}` : term) : `${c < 0 ? '-' : '+'} ${term}`);
  });
  return parts.length ? parts.join(' ') : '0.0';
}

/**
 * WGSL statements computing out = L * X * R^T for X given as scalar names
 * `${x}${i}_${j}` (rows x cols), into `let ${out}${i}_${j}`; L: p x rows, R: q x cols.
 */
function sandwich(l: number[][], r: number[][], x: string, rows: number, cols: number, tmp: string, out: string): string {
  const lines: string[] = [];
  // tmp = L * X (p x cols)
  l.forEach((row, i) => {
    for (let j = 0; j < cols; j++) {
      lines.push(`  let ${tmp}${i}_${j} = ${linear(row, Array.from({ length: rows }, (_, k) => `${x}${k}_${j}`))};`);
    }
  });
  // out = tmp * R^T (p x q)
  l.forEach((_, i) => {
    r.forEach((rrow, j) => {
      lines.push(`  let ${out}${i}_${j} = ${linear(rrow, Array.from({ length: cols }, (_, k) => `${tmp}${i}_${k}`))};`);
    });
  });
  return lines.join('\n');
}

export const WINOGRAD_WORKGROUP = 64;

/**
 * Weight transform: one invocation per (output channel m, input channel c)
 * writes U = G g G^T as U[c][xi * M + m] (the [C, 1, 1, a^2 M] 'ihwo' weight
 * of the grouped 1x1 GEMM). `transposed` = 1 reads a transposed-convolution
 * weight [C, M, 3, 3] with the taps flipped (the equivalent forward filter).
 */
export const winogradWeightParams = defineParams({ outC: 'u32', inC: 'u32', transposed: 'u32', total: 'u32' });

const winogradWeightKernel = defineKernel('winograd-weights', ({ tile }: { tile: WinogradTile }) => {
  const { g } = WINOGRAD_MATRICES[tile];
  const a = winogradAlpha(tile);
  const taps = [0, 1, 2];
  return `
${kernelHeader(winogradWeightParams, [read('w'), readWrite('u')])}
${flatMain(WINOGRAD_WORKGROUP, 'p.total', `  let m = i % p.outC;
  let c = i / p.outC;
  // Forward [M, C, 3, 3] tap (ky, kx); transposed [C, M, 3, 3] tap (2 - ky, 2 - kx).
  let fwd = (m * p.inC + c) * 9u;
  let tr = (c * p.outC + m) * 9u + 8u;
  let transposed = p.transposed == 1u;
${taps.map((ky) => taps.map((kx) => `  let g${ky}_${kx} = w[select(fwd + ${ky * 3 + kx}u, tr - ${ky * 3 + kx}u, transposed)];`).join('\n')).join('\n')}
${sandwich(g, g, 'g', 3, 3, 't', 'v')}
  let stride = p.outC;
  let base = c * ${a * a}u * p.outC + m;
${range(a).map((xi) => range(a).map((xj) => `  u[base + ${xi * a + xj}u * stride] = v${xi}_${xj};`).join('\n')).join('\n')}`)}
`;
});

/** The weight transform of an M x C 3x3 filter; buffers [w, u]. */
export function winogradWeightProgram(tile: WinogradTile, values: Parameters<typeof winogradWeightParams.pack>[0]): KernelProgram {
  return winogradWeightKernel.program({ tile }, winogradWeightParams.pack(values), dispatch1d(values.total, WINOGRAD_WORKGROUP));
}

/**
 * Input transform: one invocation per (image n, channel c, tile t) reads the
 * a x a input patch at (m * ty - padT, m * tx - padL) (zeros outside) and writes
 * V = B^T d B as V[n][xi * C + c][t] (the [N, a^2 C, 1, T] input of the GEMM).
 */
export const winogradInputParams = defineParams({
  inC: 'u32', inH: 'u32', inW: 'u32', tilesW: 'u32', tiles: 'u32', padT: 'i32', padL: 'i32', total: 'u32',
});

const winogradInputKernel = defineKernel('winograd-input', ({ tile }: { tile: WinogradTile }) => {
  const { bT } = WINOGRAD_MATRICES[tile];
  const a = winogradAlpha(tile);
  return `
${kernelHeader(winogradInputParams, [read('x'), readWrite('v')])}
${flatMain(WINOGRAD_WORKGROUP, 'p.total', `  let t = i % p.tiles;
  let nc = i / p.tiles;
  let c = nc % p.inC;
  let n = nc / p.inC;
  let ty = t / p.tilesW;
  let tx = t - ty * p.tilesW;
  let y0 = i32(ty * ${tile}u) - p.padT;
  let x0 = i32(tx * ${tile}u) - p.padL;
  let plane = nc * p.inH * p.inW;
${range(a).map((r) => `  let iy${r} = y0 + ${r};
  let rowOk${r} = iy${r} >= 0 && iy${r} < i32(p.inH);`).join('\n')}
${range(a).map((q) => `  let ix${q} = x0 + ${q};
  let colOk${q} = ix${q} >= 0 && ix${q} < i32(p.inW);`).join('\n')}
${range(a).map((r) => range(a).map((q) => `  let d${r}_${q} = select(0.0, x[plane + u32(max(iy${r} * i32(p.inW) + ix${q}, 0))], rowOk${r} && colOk${q});`).join('\n')).join('\n')}
${sandwich(bT, bT, 'd', a, a, 't', 'e')}
  let stride = p.inC * p.tiles;
  let base = (n * ${a * a}u * p.inC + c) * p.tiles + t;
${range(a).map((xi) => range(a).map((xj) => `  v[base + ${xi * a + xj}u * stride] = e${xi}_${xj};`).join('\n')).join('\n')}`)}
`;
});

/** The input transform; buffers [x, v]. */
export function winogradInputProgram(tile: WinogradTile, values: Parameters<typeof winogradInputParams.pack>[0]): KernelProgram {
  return winogradInputKernel.program({ tile }, winogradInputParams.pack(values), dispatch1d(values.total, WINOGRAD_WORKGROUP));
}

/**
 * Output transform: one invocation per (image n, channel m, tile t) reads the
 * a^2 products M[n][xi * M + m][t], writes Y = A^T M A (+ bias, ReLU) to the
 * m x m output pixels of the tile that fall inside [outH, outW].
 */
export const winogradOutputParams = defineParams({
  outC: 'u32', outH: 'u32', outW: 'u32', tilesW: 'u32', tiles: 'u32', total: 'u32',
});

type WinogradOutputSpec = { tile: WinogradTile; bias: boolean; relu: boolean };

const winogradOutputKernel = defineKernel('winograd-output', (spec: WinogradOutputSpec) => {
  const { tile } = spec;
  const { aT } = WINOGRAD_MATRICES[tile];
  const a = winogradAlpha(tile);
  return wgsl`
${kernelHeader(winogradOutputParams, [read('mt'), readWrite('y'), spec.bias && read('bias')])}
${flatMain(WINOGRAD_WORKGROUP, 'p.total', `  let t = i % p.tiles;
  let nm = i / p.tiles;
  let m = nm % p.outC;
  let n = nm / p.outC;
  let stride = p.outC * p.tiles;
  let base = (n * ${a * a}u * p.outC + m) * p.tiles + t;
${range(a).map((xi) => range(a).map((xj) => `  let s${xi}_${xj} = mt[base + ${xi * a + xj}u * stride];`).join('\n')).join('\n')}
${sandwich(aT, aT, 's', a, a, 't', 'o')}
  let b = ${spec.bias ? 'bias[m]' : '0.0'};
  let ty = t / p.tilesW;
  let tx = t - ty * p.tilesW;
  let oy0 = ty * ${tile}u;
  let ox0 = tx * ${tile}u;
  let plane = nm * p.outH * p.outW;
${range(tile).map((r) => range(tile).map((q) => `  store(plane, oy0 + ${r}u, ox0 + ${q}u, o${r}_${q} + b);`).join('\n')).join('\n')}`)}

fn store(plane: u32, oy: u32, ox: u32, v: f32) {
  if (oy >= p.outH || ox >= p.outW) { return; }
#if ${spec.relu}
  y[plane + oy * p.outW + ox] = max(v, 0.0);
#else
  y[plane + oy * p.outW + ox] = v;
#endif
}
`;
});

/** The output transform (+ bias, ReLU); buffers [products, y, bias?]. */
export function winogradOutputProgram(spec: WinogradOutputSpec, values: Parameters<typeof winogradOutputParams.pack>[0]): KernelProgram {
  return winogradOutputKernel.program(spec, winogradOutputParams.pack(values), dispatch1d(values.total, WINOGRAD_WORKGROUP));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

import { defineParams } from './params.js';
import { IS_NAN_FN } from './maxpool2d.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite } from './kernel.js';

// The GEMM core for desktop GPUs: Y[M, N] = op(A)[M, K] op(B)[K, N], with the
// matrix multiply and the forward convolution (implicit GEMM) as two ways of
// reading the operands.
//
// One workgroup owns a TM x TN block of Y and walks its K range in slabs of
// TK. Each slab of op(A) (TM x TK) and op(B) (TK x TN) is staged in workgroup
// memory k-major, as vec4s of 4 consecutive rows (columns): an invocation owns
// an RM x RN block of Y made of (RM/4) x (RN/4) 4x4 sub-blocks strided by a
// quarter of the tile (so the vec4 reads of one k row by neighbouring
// invocations are neighbouring addresses), and per k it reads RM/4 + RN/4
// vec4s for RM * RN multiply-adds: 128x128 with 8x8 per invocation does 64
// multiply-adds per 4 shared loads (16 per load); 64x64 with 4x4 does 8.
//
// Register prefetch: while the slab in workgroup memory is multiplied, each
// invocation loads its share of the next slab (one vec4 of each operand) from
// global memory into registers, and writes it to workgroup memory after the
// second barrier: global latency hides behind the multiply-adds with one
// buffer of workgroup memory (8 KiB for both tiles).
//
// Interior tiles (the whole TM x TN block inside Y and a full slab of K) load
// without bounds checks; only edge tiles and the last, partial slab take the
// checked loads (a workgroup-uniform branch per slab, never per element).
//
// Split-K: the K range is cut into `slices` of kPerSlice (a multiple of TK),
// the tile grid repeats per slice, and each slice writes raw partial sums to
// partial[slice][row][col]; a reduce pass (gemmReduceShader) adds the slices,
// scales, adds the bias, rectifies and writes Y. Deep layers at batch 1 have
// a tile grid far smaller than the GPU (VGG16's 14x14x512: 4 x 2 tiles of
// 128x128), so the slices are what fills the machine.
//
// Convolution as implicit GEMM: per group, A is the weight [M/g, C/g*kH*kW]
// as stored, B is the im2col matrix [C/g*kH*kW, N*OH*OW] read from the NCHW
// input. An invocation's four B columns (output pixels) are fixed for the
// whole K walk, so their (image, oh, ow) are split once before the loop; its
// k row advances by TK per slab with carries through (kw, kh, c) (host
// precomputed TK as a (dc, dkh, dkw) mixed-radix step): no integer division
// inside the K loop. The output is written as NCHW (pixel columns are
// contiguous), with bias and ReLU in the epilogue.
//
// Half-precision weights (spec.half, docs/f16.md): one operand whose rows run
// along K (the convolution's weight; a matrix's A, or B transposed) is read
// from an f16 copy (gemmHalfPackKernel): each row padded with zeros to a
// multiple of 4 values, so a staged vec4 is one 8-byte load, half the bytes
// of the f32 one. Two forms from this one generator: 'packed' binds the copy
// as array<vec2u> and unpacks with the core built-in unpack2x16float (every
// device; the tiles and the multiply-adds stay f32); 'native' (`enable f16;`,
// devices with 'shader-f16') binds it as array<vec4<f16>>, stages both
// operands as f16 (half the workgroup memory) and multiplies in f16 within a
// slab into f16 partial sums that are added to the f32 accumulators after
// every slab: f16 error grows with TK, not with K.

/** Block of Y per workgroup (tm x tn, slabs of tk) and per invocation (rm x rn). */
export interface GemmTile { tm: number; tn: number; tk: number; rm: number; rn: number }

export const GEMM_TILES = {
  /** Desktop GPUs: 256 invocations of 8x8 outputs. */
  gemm128: { tm: 128, tn: 128, tk: 8, rm: 8, rn: 8 },
  /** Integrated GPUs (fewer registers, fewer cores): 256 invocations of 4x4 outputs. */
  gemm64: { tm: 64, tn: 64, tk: 16, rm: 4, rn: 4 },
} as const satisfies Record<string, GemmTile>;

export type GemmOperands =
  | { kind: 'matmul'; transposeA: boolean; transposeB: boolean }
  /** A = weight [outC, C/g*kH*kW] (one group's rows), B = im2col of the NCHW input. */
  | { kind: 'conv' };

/** 'partial': raw sums of one K slice into partial[slice][row][col]; 'final': Y with the epilogue. */
export type GemmEpilogue =
  | { kind: 'partial' }
  | {
    kind: 'final'; bias: boolean; relu: boolean; accumulate: boolean;
    /**
     * Convolution only: also 2x2 / stride 2 max pooling with its switches (as maxPool2d writes them).
     * The pixel columns are then ordered window by window (4 consecutive columns are one 2x2 window),
     * so each invocation's 4-column groups are whole windows, pooled in registers.
     */
    pool?: true;
  };

/**
 * The operand read as f16 (rows along K) and the form of the kernel: 'packed' (u32 pairs and
 * unpack2x16float, f32 arithmetic; any device) or 'native' (`enable f16;`, f16 multiplies within a
 * slab, f32 across slabs; needs 'shader-f16').
 */
export interface GemmHalf { operand: 'a' | 'b'; form: 'packed' | 'native' }

export interface GemmSpec {
  tile: GemmTile; operands: GemmOperands; epilogue: GemmEpilogue;
  /** Absent: both operands f32 (the default and the fallback). */
  half?: GemmHalf;
}

export function gemmThreads(t: GemmTile): number {
  return (t.tm / t.rm) * (t.tn / t.rn);
}

/**
 * Shared fields: `M`, `N`, `K` of one GEMM (per group for a convolution),
 * `tilesM` x `tilesN` tiles per group, `tilesPerSlice` = tilesM * tilesN * groups,
 * `kPerSlice` (multiple of TK), `partialRows` the rows of one slice of the partial sums.
 * Matmul: op(A)[m, k] is a[m * lda + aCol + k] (a[k * lda + aCol + m] transposed),
 * op(B)[k, n] is b[k * N + n] (b[n * K + k] transposed), Y[m, n] is y[m * ldy + yCol + n],
 * C[m, n] is c[biasOffset + m * biasRowStride + n * biasColStride].
 * `ldh`: vec4s per row of the f16 operand (spec.half; 0 otherwise), whatever lda says.
 */
export const gemmMatmulParams = defineParams({
  M: 'u32', N: 'u32', K: 'u32', tilesM: 'u32', tilesN: 'u32', tilesPerSlice: 'u32', slices: 'u32', kPerSlice: 'u32', partialRows: 'u32',
  alpha: 'f32', beta: 'f32', biasRowStride: 'u32', biasColStride: 'u32', biasOffset: 'u32',
  lda: 'u32', aCol: 'u32', ldy: 'u32', yCol: 'u32', ldh: 'u32',
});

/**
 * Convolution: M = output channels per group, N = batch * OH * OW pixels,
 * K = C/g * kH * kW; (dc, dkh, dkw) is TK in the mixed radix (C/g, kH, kW).
 */
export const gemmConvParams = defineParams({
  M: 'u32', N: 'u32', K: 'u32', tilesM: 'u32', tilesN: 'u32', tilesPerSlice: 'u32', slices: 'u32', kPerSlice: 'u32', partialRows: 'u32',
  inC: 'u32', cinG: 'u32', inH: 'i32', inW: 'i32', outC: 'u32', outW: 'u32', outHW: 'u32', poolW: 'u32', poolHW: 'u32',
  kH: 'u32', kW: 'u32', strideH: 'i32', strideW: 'i32', dilH: 'i32', dilW: 'i32', padT: 'i32', padL: 'i32',
  dc: 'u32', dkh: 'u32', dkw: 'u32', ldh: 'u32',
});

const XYZW = ['x', 'y', 'z', 'w'];
const log2 = (n: number) => Math.round(Math.log2(n));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Marks around the body of the K loop (one slab: staging, prefetch, multiply-adds), for the static report and its test. */
export const INNER_LOOP_BEGIN = '// <inner-loop>';
export const INNER_LOOP_END = '// </inner-loop>';

export function checkGemmTile(t: GemmTile): void {
  const threads = gemmThreads(t);
  const ok = t.rm % 4 === 0 && t.rn % 4 === 0 && t.tk % 4 === 0 && t.tm % t.rm === 0 && t.tn % t.rn === 0
    && t.tm * t.tk / 4 === threads && t.tn * t.tk / 4 === threads
    && [t.tm, t.tn, t.tk].every((v) => 2 ** log2(v) === v);
  // Each invocation stages exactly one vec4 of each operand per slab (power-of-two shapes: shifts, not divisions).
  if (!ok) throw new Error(`gemm: tile ${JSON.stringify(t)} is not one vec4 of each operand per invocation per slab`);
}

export function gemmShader(spec: GemmSpec): string {
  const t = spec.tile;
  checkGemmTile(t);
  const conv = spec.operands.kind === 'conv';
  const pool = spec.epilogue.kind === 'final' && spec.epilogue.pool === true;
  if (pool && !conv) throw new Error('gemm: pooling in the epilogue is for the convolution only');
  const wx = t.tn / t.rn, wy = t.tm / t.rm, gm = t.rm / 4, gn = t.rn / 4;
  const tm4 = t.tm / 4, tn4 = t.tn / 4, tk4 = t.tk / 4;
  const aKFast = conv || !(spec.operands as { transposeA: boolean }).transposeA;
  const bKFast = !conv && (spec.operands as { transposeB: boolean }).transposeB;
  const params = conv ? gemmConvParams : gemmMatmulParams;
  const accIndex = (i: number, h: number) => i * gn + h;
  const half = spec.half;
  if (half) checkHalf(half, conv, aKFast, bKFast);
  const native = half?.form === 'native';
  const isHalf = (name: 'A' | 'B') => half !== undefined && half.operand === name.toLowerCase();
  // Native: the tiles hold f16 (the f32 operand is converted as it is staged); packed: f32 throughout.
  const tileType = native ? 'vec4<f16>' : 'vec4f';
  const regType = (name: 'A' | 'B') => (native && isHalf(name) ? 'vec4<f16>' : 'vec4f');
  const toTile = (name: 'A' | 'B', v: string, scalar: boolean) => (!native || isHalf(name) ? v : scalar ? `f16(${v})` : `vec4<f16>(${v})`);
  const binding = (name: 'A' | 'B') => (!isHalf(name) ? 'array<f32>' : native ? 'array<vec4<f16>>' : 'array<vec2u>');

  // Where this invocation's staged vec4 goes: "k-fast" operands (4 consecutive k of one row in memory)
  // are scattered into 4 k rows; "row-fast" ones are one vec4 of 4 rows at one k.
  const stagingCoords = (name: 'A' | 'B', kFast: boolean, rows4: number) => kFast
    ? `  let ${name}row = li >> ${log2(tk4)}u;\n  let ${name}k = (li & ${tk4 - 1}u) * 4u;`
    : `  let ${name}k = li >> ${log2(rows4)}u;\n  let ${name}row = (li & ${rows4 - 1}u) * 4u;`;
  const storeStaged = (name: 'A' | 'B', kFast: boolean, rows4: number) => kFast
    ? range(4).map((j) => `    tile${name}[(${name}k + ${j}u) * ${rows4}u + (${name}row >> 2u)][${name}row & 3u] = ${toTile(name, `r${name}.${XYZW[j]}`, true)};`).join('\n')
    : `    tile${name}[${name}k * ${rows4}u + (${name}row >> 2u)] = ${toTile(name, `r${name}`, false)};`;

  // The f16 operand: this invocation's 4 consecutive k of one row are one 8-byte load (rows padded to
  // a multiple of 4 with zeros, and a slice starts at a multiple of TK: a vec4 never straddles kEnd).
  const loadHalf = (name: 'A' | 'B', row: string, rowOk: string, checked: boolean) => {
    const src = name.toLowerCase();
    const idx = `(${row}) * p.ldh + ((k0 + ${name}k) >> 2u)`;
    const fetch = (i: string) => (native ? `${src}[${i}]` : `unpackHalf4(${src}[${i}])`);
    if (!checked) return `    r${name} = ${fetch(idx)};`;
    const ok = `${rowOk} && k0 + ${name}k < kEnd`;
    return `    r${name} = select(${regType(name)}(0.0), ${fetch(`select(0u, ${idx}, ${ok})`)}, ${ok});`;
  };

  // One vec4 of op(A) / op(B) for the slab starting at k0 (the element at offset j of this invocation's vec4).
  const loadA = (checked: boolean) => isHalf('A') ? loadHalf('A', conv ? 'rowBase + Arow' : 'row0 + Arow', 'row0 + Arow < p.M', checked) : range(4).map((j) => {
    const m = aKFast ? 'Arow' : `Arow + ${j}u`, k = aKFast ? `Ak + ${j}u` : 'Ak';
    const idx = conv
      ? `(rowBase + ${m}) * p.K + k0 + ${k}`
      : aKFast ? `(row0 + ${m}) * p.lda + p.aCol + k0 + ${k}` : `(k0 + ${k}) * p.lda + p.aCol + row0 + ${m}`;
    const mIdx = conv ? m : `${m}`;
    return checked
      ? `    rA.${XYZW[j]} = select(0.0, a[select(0u, ${idx}, row0 + ${mIdx} < p.M && k0 + ${k} < kEnd)], row0 + ${mIdx} < p.M && k0 + ${k} < kEnd);`
      : `    rA.${XYZW[j]} = a[${idx}];`;
  }).join('\n');

  const loadBMatmul = (checked: boolean) => isHalf('B') ? loadHalf('B', 'col0 + Brow', 'col0 + Brow < p.N', checked) : range(4).map((j) => {
    const n = bKFast ? 'Brow' : `Brow + ${j}u`, k = bKFast ? `Bk + ${j}u` : 'Bk';
    const idx = bKFast ? `(col0 + ${n}) * p.K + k0 + ${k}` : `(k0 + ${k}) * p.N + col0 + ${n}`;
    const ok = `col0 + ${n} < p.N && k0 + ${k} < kEnd`;
    return checked
      ? `    rB.${XYZW[j]} = select(0.0, b[select(0u, ${idx}, ${ok})], ${ok});`
      : `    rB.${XYZW[j]} = b[${idx}];`;
  }).join('\n');

  // im2col: this invocation's k row is (ci, kh, kw); its four pixels were split before the loop.
  // Padding is checked on every tile; the pixel and k bounds only on edge tiles.
  const loadBConv = (checked: boolean) => [
    `    let ihs = ih0 + vec4i(i32(kh) * p.dilH);`,
    `    let iws = iw0 + vec4i(i32(kw) * p.dilW);`,
    `    let inside = (ihs >= vec4i(0)) & (ihs < vec4i(p.inH)) & (iws >= vec4i(0)) & (iws < vec4i(p.inW))${checked ? ' & pixelOk & vec4<bool>(k0 + Bk < kEnd)' : ''};`,
    `    let xi = xBase + vec4i(i32(ci) * p.inH * p.inW) + ihs * vec4i(p.inW) + iws;`,
    ...range(4).map((j) => `    rB.${XYZW[j]} = select(0.0, b[u32(select(0, xi.${XYZW[j]}, inside.${XYZW[j]}))], inside.${XYZW[j]});`),
    // Next slab's k row: + TK, carried through kw < kW, kh < kH.
    `    kw += p.dkw; if (kw >= p.kW) { kw -= p.kW; kh += 1u; }`,
    `    kh += p.dkh; if (kh >= p.kH) { kh -= p.kH; ci += 1u; }`,
    `    ci += p.dc;`,
  ].join('\n');
  const loadB = conv ? loadBConv : loadBMatmul;
  const loadSlab = (k0: string) => `
    {
      let k0 = ${k0};
      if (interior && k0 + TK <= kEnd) {
${loadA(false)}
${loadB(false)}
      } else {
${loadA(true)}
${loadB(true)}
      }
    }`;

  const convPrologue = conv ? `
  // This invocation's four im2col columns (output pixels), split once.
  var ih0: vec4i; var iw0: vec4i; var xBase: vec4i; var pixelOk: vec4<bool>;
  for (var j = 0u; j < 4u; j++) {
    let px = min(col0 + Brow + j, p.N - 1u);
${pool ? `    let win = px >> 2u;
    let img = win / p.poolHW;
    let rest = win - img * p.poolHW;
    let ph = rest / p.poolW;
    let oh = 2u * ph + ((px & 3u) >> 1u);
    let ow = 2u * (rest - ph * p.poolW) + (px & 1u);` : `    let img = px / p.outHW;
    let rest = px - img * p.outHW;
    let oh = rest / p.outW;
    let ow = rest - oh * p.outW;`}
    ih0[j] = i32(oh) * p.strideH - p.padT;
    iw0[j] = i32(ow) * p.strideW - p.padL;
    xBase[j] = i32((img * p.inC + group * p.cinG) * u32(p.inH * p.inW));
    pixelOk[j] = col0 + Brow + j < p.N;
  }
  // Its k row at the start of the slice, as (channel, kernel row, kernel column).
  let kFirst = kBegin + Bk;
  let kArea = p.kH * p.kW;
  var ci = kFirst / kArea;
  var kh = (kFirst - ci * kArea) / p.kW;
  var kw = kFirst - ci * kArea - kh * p.kW;
  let rowBase = group * p.M + row0;` : '';

  // Native f16: the slab's products are summed in f16 (slabAcc), then added to the f32 accumulators.
  const sums = native ? 'slabAcc' : 'acc';
  const compute = range(gm).map((g) => `        let a${g} = tileA[k * ${tm4}u + ${g * wy}u + ty];`).join('\n') + '\n'
    + range(gn).map((h) => `        let b${h} = tileB[k * ${tn4}u + ${h * wx}u + tx];`).join('\n') + '\n'
    + range(gm).flatMap((g) => range(4).map((r) => '        '
      + range(gn).map((h) => `${sums}[${accIndex(g * 4 + r, h)}] += a${g}.${XYZW[r]} * b${h};`).join(' '))).join('\n');
  const multiplySlab = native ? `
      var slabAcc: array<vec4<f16>, ${t.rm * gn}>;
      for (var k = 0u; k < TK; k++) {
${compute}
      }
      for (var i = 0u; i < ${t.rm * gn}u; i++) { acc[i] += vec4f(slabAcc[i]); }` : `
      for (var k = 0u; k < TK; k++) {
${compute}
      }`;

  const epilogue = writeEpilogue(spec, { rm: t.rm, gn, wx, wy });

  return `${native ? 'enable f16;\n' : ''}
${params.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: ${binding('A')};
@group(0) @binding(2) var<storage, read> b: ${binding('B')};
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${spec.epilogue.kind === 'final' && spec.epilogue.bias ? '@group(0) @binding(4) var<storage, read> c: array<f32>;' : ''}
${pool ? poolBindings(spec.epilogue.kind === 'final' && spec.epilogue.bias ? 5 : 4) : ''}

const TK = ${t.tk}u;
var<workgroup> tileA: array<${tileType}, ${t.tk * tm4}>;
var<workgroup> tileB: array<${tileType}, ${t.tk * tn4}>;
${half?.form === 'packed' ? UNPACK_HALF4_FN : ''}

@compute @workgroup_size(${wx}, ${wy})
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  // Workgroup-uniform from here to the epilogue, so the barriers stay in uniform control flow.
  let tileIndex = wid.x + wid.y * nwg.x;
  if (tileIndex >= p.tilesPerSlice * p.slices) { return; }
  let slice = tileIndex / p.tilesPerSlice;
  let inSlice = tileIndex - slice * p.tilesPerSlice;
  let group = inSlice / (p.tilesM * p.tilesN);
  let t = inSlice - group * p.tilesM * p.tilesN;
  let tileRow = t / p.tilesN;
  let row0 = tileRow * ${t.tm}u;
  let col0 = (t - tileRow * p.tilesN) * ${t.tn}u;
  let kBegin = slice * p.kPerSlice;
  let kEnd = min(p.K, kBegin + p.kPerSlice);
  let slabs = (kEnd - kBegin + TK - 1u) / TK;
  let interior = row0 + ${t.tm}u <= p.M && col0 + ${t.tn}u <= p.N;
  let tx = lid.x;
  let ty = lid.y;
${stagingCoords('A', aKFast, tm4)}
${stagingCoords('B', bKFast, tn4)}
${convPrologue}

  var acc: array<vec4f, ${t.rm * gn}>;
  var rA: ${regType('A')};
  var rB: ${regType('B')};
  // Iteration s loads slab s into registers, multiplies slab s - 1 from workgroup memory meanwhile,
  // then (after every invocation is done reading) stages slab s.
  for (var s = 0u; s <= slabs; s++) {
    ${INNER_LOOP_BEGIN}
    if (s < slabs) {${loadSlab('kBegin + s * TK')}
    }
    if (s > 0u) {${multiplySlab}
    }
    workgroupBarrier();
    if (s < slabs) {
${storeStaged('A', aKFast, tm4)}
${storeStaged('B', bKFast, tn4)}
    }
    workgroupBarrier();
    ${INNER_LOOP_END}
  }
${epilogue}
}
`;
}

/** Four f16 values packed in two u32s (the f16 copies of gemmHalfPackKernel) as a vec4f. */
export const UNPACK_HALF4_FN = `fn unpackHalf4(w: vec2u) -> vec4f { return vec4f(unpack2x16float(w.x), unpack2x16float(w.y)); }`;

/** The f16 operand must have its rows along K (4 consecutive k are one load): the conv weight, A, or B transposed. */
function checkHalf(half: GemmHalf, conv: boolean, aKFast: boolean, bKFast: boolean): void {
  const kFast = half.operand === 'a' ? aKFast : bKFast;
  if (!kFast || (conv && half.operand === 'b')) {
    throw new Error(`gemm: operand ${half.operand} as f16 needs rows along K (the conv weight, A untransposed or B transposed)`);
  }
}

interface EpilogueShape { rm: number; gn: number; wx: number; wy: number }

/**
 * Writes the invocation's RM x RN block. Constant-count loops (GPU compilers unroll them; SwiftShader
 * compiles them faster than 2 x RM x RN unrolled stores); `interior ||` skips the bounds test on interior tiles.
 */
function writeEpilogue(spec: GemmSpec, s: EpilogueShape): string {
  const conv = spec.operands.kind === 'conv';
  if (spec.epilogue.kind === 'final' && spec.epilogue.pool) return writePoolEpilogue(spec.epilogue, s);
  return `
  for (var i = 0u; i < ${s.rm}u; i++) {
    let m = row0 + (i >> 2u) * ${4 * s.wy}u + ty * 4u + (i & 3u);
    for (var h = 0u; h < ${s.gn}u; h++) {
      let n = col0 + h * ${4 * s.wx}u + tx * 4u;
      let v = acc[i * ${s.gn}u + h];
      for (var j = 0u; j < 4u; j++) {
        if (interior || (m < p.M && n + j < p.N)) { storeY(m, n + j, v[j], group, slice); }
      }
    }
  }
}

fn storeY(m: u32, n: u32, acc: f32, group: u32, slice: u32) {
${storeBody(conv, spec.epilogue)}`;
}

function poolBindings(first: number): string {
  return `@group(0) @binding(${first}) var<storage, read_write> pooled: array<f32>;
@group(0) @binding(${first + 1}) var<storage, read_write> switches: array<u32>;
${IS_NAN_FN}`;
}

/**
 * Convolution + 2x2 max pooling (the closing brace is the caller's, as storeBody's): each 4-column group of the invocation's block is one window of one
 * output channel. Writes the 4 conv outputs, the window's maximum and its switch (the flat position
 * oh * OW + ow in the conv output plane; ties to the first in row-major order, a NaN wins, as maxPool2d).
 */
function writePoolEpilogue(e: { bias: boolean; relu: boolean }, s: EpilogueShape): string {
  return `
  for (var i = 0u; i < ${s.rm}u; i++) {
    let m = row0 + (i >> 2u) * ${4 * s.wy}u + ty * 4u + (i & 3u);
    for (var h = 0u; h < ${s.gn}u; h++) {
      let n = col0 + h * ${4 * s.wx}u + tx * 4u;
      // N is a multiple of 4 (OH, OW even): a window is all inside or all outside.
      if (interior || (m < p.M && n < p.N)) { storeWindow(group * p.M + m, n >> 2u, acc[i * ${s.gn}u + h]); }
    }
  }
}

fn storeWindow(oc: u32, win: u32, sums: vec4f) {
  var v = sums;
${e.bias ? '  v += vec4f(c[oc]);' : ''}
${e.relu ? '  v = max(v, vec4f(0.0));' : ''}
  let img = win / p.poolHW;
  let rest = win - img * p.poolHW;
  let ph = rest / p.poolW;
  let pw = rest - ph * p.poolW;
  let plane = img * p.outC + oc;
  let at00 = (2u * ph) * p.outW + 2u * pw;
  let base = plane * p.outHW;
  y[base + at00] = v.x;
  y[base + at00 + 1u] = v.y;
  y[base + at00 + p.outW] = v.z;
  y[base + at00 + p.outW + 1u] = v.w;
  var best = v.x;
  var q = 0u;
  for (var k = 1u; k < 4u; k++) {
    if (!isNan(best) && (isNan(v[k]) || v[k] > best)) { best = v[k]; q = k; }
  }
  let o = plane * p.poolHW + rest;
  pooled[o] = best;
  switches[o] = at00 + (q >> 1u) * p.outW + (q & 1u);`;
}

/** The epilogue of one output (m, n) of one group; the closing brace is the caller's. */
function storeBody(conv: boolean, e: GemmEpilogue): string {
  if (e.kind === 'partial') {
    // Raw sums in GEMM order (row = output channel or matrix row, column = pixel or matrix column).
    return `  y[(slice * p.partialRows + ${conv ? 'group * p.M + ' : ''}m) * p.N + n] = acc;`;
  }
  if (conv) {
    const oc = 'group * p.M + m';
    return `  let img = n / p.outHW;
  var v = acc;
${e.bias ? `  v += c[${oc}];` : ''}
${e.relu ? '  v = max(v, 0.0);' : ''}
  y[(img * p.outC + ${oc}) * p.outHW + n - img * p.outHW] = v;`;
  }
  return `  var v = p.alpha * acc;
${e.bias ? '  v += p.beta * c[p.biasOffset + m * p.biasRowStride + n * p.biasColStride];' : ''}
${e.relu ? '  v = max(v, 0.0);' : ''}
  let i = m * p.ldy + p.yCol + n;
  y[i] = ${e.accumulate ? 'y[i] + ' : ''}v;`;
}

// ---- The f16 copy of a weight (spec.half's operand) ----

/**
 * `words` u32s out, `wordsPerRow` (= 2 * ldh) per row; row r's k-th value is src[r * ld + col + k] for k < K.
 */
export const gemmHalfPackParams = defineParams({ words: 'u32', wordsPerRow: 'u32', K: 'u32', ld: 'u32', col: 'u32' });
export const GEMM_HALF_PACK_WORKGROUP = 256;

/**
 * Rows of K values as f16, each padded with zeros to 2 * wordsPerRow values, two halves per u32
 * (pack2x16float puts the first in the low bits: the bytes of array<vec4<f16>>, so both forms read
 * one copy). pack2x16float is undefined past the f16 range: values saturate at +-65504 first.
 * Runs once per weight version (src/gpu/derived.ts), so the division per element does not matter.
 */
export const gemmHalfPackKernel = defineKernel('gemm-f16-pack', () => `
${kernelHeader(gemmHalfPackParams, [read('src'), readWrite('dst', 'array<u32>')])}

fn value(r: u32, k: u32) -> f32 {
  if (k >= p.K) { return 0.0; }
  return clamp(src[r * p.ld + p.col + k], -65504.0, 65504.0);
}

${flatMain(GEMM_HALF_PACK_WORKGROUP, 'p.words', `  let r = i / p.wordsPerRow;
  let k = (i - r * p.wordsPerRow) * 2u;
  dst[i] = pack2x16float(vec2f(value(r, k), value(r, k + 1u)));`)}
`);

// ---- The split-K reduce: Y = epilogue(alpha * sum over slices of partial). ----

/**
 * `subgroups`: four invocations per output, each summing every fourth slice,
 * combined by two subgroup shuffles (more parallelism for the small outputs
 * split-K is used on, no workgroup memory); needs the 'subgroups' feature.
 */
export interface GemmReduceSpec { reduce: true; bias: boolean; relu: boolean; accumulate: boolean; subgroups: boolean }

/**
 * partial is [slices, rows, cols]; Y[row, col] is y[row * ldy + yCol + (col / blockLen) * blockStride + col % blockLen]
 * (a matrix: blockLen = cols, blockStride = 0; NCHW conv output: ldy = blockLen = OH*OW, blockStride = C*OH*OW).
 */
export const gemmReduceParams = defineParams({
  rows: 'u32', cols: 'u32', slices: 'u32', alpha: 'f32', beta: 'f32',
  biasRowStride: 'u32', biasColStride: 'u32', biasOffset: 'u32', ldy: 'u32', yCol: 'u32', blockLen: 'u32', blockStride: 'u32',
});

export const GEMM_REDUCE_WORKGROUP = 64;
/** Invocations per output in the subgroup reduce. */
export const GEMM_REDUCE_LANES = 4;

export function gemmReduceShader(spec: GemmReduceSpec): string {
  const lanes = spec.subgroups ? GEMM_REDUCE_LANES : 1;
  const head = `${spec.subgroups ? 'enable subgroups;\n' : ''}${gemmReduceParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${spec.bias ? '@group(0) @binding(3) var<storage, read> c: array<f32>;' : ''}

fn sumFrom(e: u32, first: u32, step: u32) -> f32 {
  let area = p.rows * p.cols;
  var s = 0.0;
  for (var k = first; k < p.slices; k += step) { s += partial[k * area + e]; }
  return s;
}

fn write(e: u32, sum: f32) {
  let row = e / p.cols;
  let col = e - row * p.cols;
  var v = p.alpha * sum;
${spec.bias ? '  v += p.beta * c[p.biasOffset + row * p.biasRowStride + col * p.biasColStride];' : ''}
${spec.relu ? '  v = max(v, 0.0);' : ''}
  let block = col / p.blockLen;
  let i = row * p.ldy + p.yCol + block * p.blockStride + col - block * p.blockLen;
  y[i] = ${spec.accumulate ? 'y[i] + ' : ''}v;
}
`;
  if (!spec.subgroups) {
    return `${head}
@compute @workgroup_size(${GEMM_REDUCE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * ${GEMM_REDUCE_WORKGROUP}u;
  if (e >= p.rows * p.cols) { return; }
  write(e, sumFrom(e, 0u, 1u));
}
`;
  }
  return `${head}
@compute @workgroup_size(${GEMM_REDUCE_WORKGROUP})
fn main(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
) {
  let flat = gid.x + gid.y * nwg.x * ${GEMM_REDUCE_WORKGROUP}u;
  let e = flat / ${lanes}u;
  let j = flat % ${lanes}u;
  let live = e < p.rows * p.cols;
  let mine = select(0.0, sumFrom(min(e, p.rows * p.cols - 1u), j, ${lanes}u), live);
  // No early return or short-circuit before the shuffles: they run in uniform control flow, every lane taking part.
  let pair = mine + subgroupShuffleXor(mine, 1u);
  let quad = pair + subgroupShuffleXor(pair, 2u);
  // The butterfly adds the lanes lane^1, lane^2 of this subgroup: right only where those hold this output's
  // other slices (consecutive invocations grouped by 4, as every implementation lays out a 1-D workgroup).
  // Checked, not assumed: elsewhere each output's first invocation sums all slices alone.
  let grouped = subgroupAll((subgroupShuffleXor(flat, 1u) == (flat ^ 1u)) & (subgroupShuffleXor(flat, 2u) == (flat ^ 2u)));
  if (!live || j != 0u) { return; }
  if (grouped) { write(e, quad); } else { write(e, sumFrom(e, 0u, 1u)); }
}
`;
}

/**
 * The GEMM core and its split-K reduce as kernels: the pipeline key is derived from the very spec the WGSL
 * is generated from (tile, operands, epilogue, half; the reduce's flags), so f16 and f32 forms, or a new
 * epilogue flag, never share a cached pipeline.
 */
export const gemmKernel = defineKernel('gemm', gemmShader);
export const gemmReduceKernel = defineKernel('gemm-reduce', gemmReduceShader);

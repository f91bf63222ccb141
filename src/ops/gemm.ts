import {
  GEMM_HALF_PACK_WORKGROUP, GEMM_REDUCE_LANES, GEMM_REDUCE_WORKGROUP, GEMM_TILES, gemmConvParams, gemmHalfPackKernel, gemmHalfPackParams,
  gemmKernel, gemmMatmulParams, gemmReduceKernel, gemmReduceParams, type GemmHalf, type GemmReduceSpec, type GemmSpec, type GemmTile,
} from '../../shaders/gemm.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError, UnsupportedError } from '../gpu/errors.js';
import { derivedTensor } from '../gpu/derived.js';
import type { Precision } from '../gpu/runtime.js';

// Launching the GEMM core (shaders/gemm.ts) for a matrix multiply or a
// forward convolution: the tile grid, the split-K plan, the partial sums and
// the reduce pass. The ops (matmul.ts, conv2d.ts) validate shapes first.

export interface GemmVariant { tile: GemmTile; splitK: boolean }

/** The matmul variants of the GEMM core (rows of KERNEL_VARIANTS.matmul). */
export const GEMM_MATMUL_VARIANTS: Readonly<Record<string, GemmVariant>> = {
  'gemm128': { tile: GEMM_TILES.gemm128, splitK: false },
  'gemm64': { tile: GEMM_TILES.gemm64, splitK: false },
  'gemm128-splitk': { tile: GEMM_TILES.gemm128, splitK: true },
};

/** The conv2d variants (implicit GEMM, split-K when the tile grid is small; rows of KERNEL_VARIANTS.conv2d). */
export const GEMM_CONV_VARIANTS: Readonly<Record<string, GemmVariant>> = {
  'gemm128-conv': { tile: GEMM_TILES.gemm128, splitK: true },
  'gemm64-conv': { tile: GEMM_TILES.gemm64, splitK: true },
};

/**
 * The GPU the split is sized for: 132 streaming multiprocessors (an H100),
 * each wanting at least 2 workgroups of 256 invocations in flight.
 */
export const MODEL_SMS = 132;
export const TARGET_WORKGROUPS = 2 * MODEL_SMS;
/** Fewest slabs of K per slice: shorter slices would spend more on partial sums than they win. */
export const MIN_SLABS_PER_SLICE = 8;

/** How one GEMM launches: the tile grid, and K cut into `slices` of `kPerSlice`. */
export interface GemmPlan {
  tile: GemmTile;
  tilesM: number; tilesN: number; groups: number;
  slices: number; kPerSlice: number;
  /** Workgroups of the GEMM pass (tiles x groups x slices). */
  workgroups: number;
}

/**
 * `slices` forces a slice count (tests); otherwise, with `splitK`, enough
 * slices to reach TARGET_WORKGROUPS, each at least MIN_SLABS_PER_SLICE slabs
 * long, and no more than fit `maxPartialBytes` of partial sums. A forced
 * count larger than the slabs gives one slab per slice.
 */
export function gemmPlan(
  tile: GemmTile, dims: { M: number; N: number; K: number; groups?: number },
  opts: { splitK: boolean; slices?: number; maxPartialBytes?: number },
): GemmPlan {
  const groups = dims.groups ?? 1;
  const tilesM = Math.ceil(dims.M / tile.tm), tilesN = Math.ceil(dims.N / tile.tn);
  const tiles = tilesM * tilesN * groups;
  const slabs = Math.ceil(dims.K / tile.tk);
  let wanted = 1;
  if (opts.slices !== undefined) {
    if (!Number.isInteger(opts.slices) || opts.slices < 1) throw new OutOfRangeError(`gemm: slices ${opts.slices} must be an integer >= 1`);
    wanted = opts.slices;
  } else if (opts.splitK && tiles < TARGET_WORKGROUPS) {
    wanted = Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(slabs / MIN_SLABS_PER_SLICE));
  }
  const rowsTotal = dims.M * groups;
  const fit = Math.floor((opts.maxPartialBytes ?? Infinity) / (4 * rowsTotal * dims.N));
  if (opts.slices === undefined) wanted = Math.max(1, Math.min(wanted, fit));
  // A forced count is met or undershot (no empty slice); the planned one is met or overshot (the target is a floor).
  const slabsPerSlice = opts.slices !== undefined ? Math.ceil(slabs / Math.min(wanted, slabs)) : Math.max(1, Math.floor(slabs / wanted));
  const slices = Math.ceil(slabs / slabsPerSlice);
  return { tile, tilesM, tilesN, groups, slices, kPerSlice: slabsPerSlice * tile.tk, workgroups: tiles * slices };
}

export interface GemmOptions {
  /** Force the number of K slices (tests and benchmarks); default: the variant's plan. */
  slices?: number;
  /** Reduce the slices with subgroup shuffles; default: where the device has 'subgroups'. */
  subgroups?: boolean;
  /**
   * 'f16' / 'f16-packed': read the weight operand from a cached f16 copy (docs/f16.md). Convolution
   * default: runtime.precision; matmul default 'f32' (the op cannot tell a weight from an activation).
   */
  precision?: Precision;
  /** The f16 kernel's form: default 'packed' for 'f16-packed', else 'native' where the device has 'shader-f16', else 'packed'. */
  f16Form?: GemmHalf['form'];
  /** Matmul: the f16 operand (its rows must run along K); default 'b' when transposeB, else 'a'. */
  f16Operand?: GemmHalf['operand'];
}

/** Whether the convolution's output can take the fused 2x2 / stride 2 max pooling (recordConvGemm's `pool`). */
export function convGemmCanPool(g: { outH: number; outW: number }): boolean {
  return g.outH % 2 === 0 && g.outW % 2 === 0;
}

/** One matrix multiply as the ops describe it (see MatmulAttrs and GemmLayout in matmul.ts). */
export interface MatmulGemmCall {
  a: Tensor; b: Tensor; bias: Tensor | null; y: Tensor;
  M: number; N: number; K: number;
  transposeA: boolean; transposeB: boolean;
  alpha: number; beta: number; relu: boolean;
  biasStrides: { row: number; col: number };
  layout: { lda: number; aCol: number; ldy: number; yCol: number; biasOffset: number; accumulate: boolean };
}

export function recordMatmulGemm(rec: Recorder, call: MatmulGemmCall, variant: GemmVariant, options: GemmOptions = {}): GemmPlan {
  const { M, N, K, layout } = call;
  const plan = gemmPlan(variant.tile, call, { splitK: variant.splitK, slices: options.slices, maxPartialBytes: rec.runtime.maxBindingSize });
  // beta = 0 means C takes no part (ONNX), so it is not even read.
  const bias = call.beta !== 0 ? call.bias : null;
  const epilogue = { bias: bias !== null, relu: call.relu, accumulate: layout.accumulate };
  const split = plan.slices > 1;
  const partial = split ? rec.temp(rec.tensor([plan.slices * M * N], 'gemm partial sums')) : null;
  const half = halfOf(rec, options, options.precision ?? 'f32', options.f16Operand ?? (call.transposeB ? 'b' : 'a'));
  if (half && (half.operand === 'a' ? call.transposeA : !call.transposeB)) {
    throw new UnsupportedError(`gemm: operand ${half.operand} as f16 needs its rows along K (A untransposed or B transposed)`);
  }
  const halfCopy = half && (half.operand === 'a'
    ? halfRows(rec, call.a, { rows: M, K, ld: layout.lda, col: layout.aCol })
    : halfRows(rec, call.b, { rows: N, K, ld: K, col: 0 }));
  const spec: GemmSpec = {
    tile: plan.tile,
    operands: { kind: 'matmul', transposeA: call.transposeA, transposeB: call.transposeB },
    epilogue: split ? { kind: 'partial' } : { kind: 'final', ...epilogue },
    ...(half ? { half } : {}),
  };
  const [a, b] = [half?.operand === 'a' ? halfCopy! : call.a, half?.operand === 'b' ? halfCopy! : call.b];
  const label = `gemm${plan.tile.tm} [${M}x${K}]x[${K}x${N}]${split ? ` split ${plan.slices}` : ''}`;
  rec.dispatch({
    ...gemmKernel.program(spec, gemmMatmulParams.pack({
      M, N, K, tilesM: plan.tilesM, tilesN: plan.tilesN, tilesPerSlice: plan.tilesM * plan.tilesN, slices: plan.slices,
      kPerSlice: plan.kPerSlice, partialRows: M, alpha: call.alpha, beta: call.beta,
      biasRowStride: call.biasStrides.row, biasColStride: call.biasStrides.col, biasOffset: layout.biasOffset,
      lda: layout.lda, aCol: layout.aCol, ldy: layout.ldy, yCol: layout.yCol, ldh: halfRowVec4s(K),
    }), dispatch1d(plan.workgroups, 1), label),
    buffers: split ? [a, b, partial!] : bias ? [a, b, call.y, bias] : [a, b, call.y],
  });
  if (partial) {
    recordReduce(rec, partial, bias, call.y, plan.slices, { ...epilogue, subgroups: useSubgroups(rec, options) }, {
      rows: M, cols: N, alpha: call.alpha, beta: call.beta, biasRowStride: call.biasStrides.row, biasColStride: call.biasStrides.col,
      biasOffset: layout.biasOffset, ldy: layout.ldy, yCol: layout.yCol, blockLen: N, blockStride: 0,
    });
  }
  return plan;
}

/** A forward convolution's geometry (the fields of ConvProblem in shaders/conv2d.ts that the GEMM reads). */
export interface ConvGemmGeometry {
  batch: number; groups: number;
  inC: number; inH: number; inW: number;
  outC: number; outH: number; outW: number;
  kH: number; kW: number;
  stride: readonly [number, number]; dilation: readonly [number, number];
  padT: number; padL: number;
  cinG: number;
}

/**
 * Forward convolution as implicit GEMM: x [N, C, H, W], weight [M, C/g, kH, kW],
 * bias [M] or null -> [N, M, OH, OW] (bias and ReLU fused, in the GEMM's
 * epilogue or in the split-K reduce).
 */
export function recordConvGemm(
  rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGemmGeometry, relu: boolean, variant: GemmVariant,
  options: GemmOptions & {
    /**
     * Also 2x2 / stride 2 max pooling of the (biased, rectified) output, with maxPool2d's switches, in the
     * epilogue: needs an even OH and OW (convGemmCanPool) and runs unsplit (the windows are pooled in registers).
     */
    pool?: boolean;
  } = {},
): { y: Tensor; plan: GemmPlan; pooled?: { output: Tensor; switches: Tensor } } {
  const M = g.outC / g.groups, N = g.batch * g.outH * g.outW, K = g.cinG * g.kH * g.kW;
  const tile = variant.tile;
  const pool = options.pool === true;
  if (pool && !convGemmCanPool(g)) {
    throw new OutOfRangeError(`conv2d gemm: fused 2x2 max pooling needs an even output size, got ${g.outH}x${g.outW}`);
  }
  if (pool && (options.slices ?? 1) !== 1) throw new OutOfRangeError('conv2d gemm: fused pooling runs unsplit (slices 1)');
  const plan = gemmPlan(tile, { M, N, K, groups: g.groups }, {
    splitK: variant.splitK && !pool, slices: pool ? 1 : options.slices, maxPartialBytes: rec.runtime.maxBindingSize,
  });
  const y = rec.tensor([g.batch, g.outC, g.outH, g.outW], 'conv2d');
  const split = plan.slices > 1;
  const partial = split ? rec.temp(rec.tensor([plan.slices * g.outC * N], 'gemm partial sums')) : null;
  const half = halfOf(rec, options, options.precision ?? rec.runtime.precision, 'a');
  const a = half ? halfRows(rec, weight, { rows: g.outC, K, ld: K, col: 0 }) : weight;
  const spec: GemmSpec = {
    tile, operands: { kind: 'conv' },
    epilogue: split ? { kind: 'partial' } : { kind: 'final', bias: bias !== null, relu, accumulate: false, ...(pool ? { pool: true as const } : {}) },
    ...(half ? { half } : {}),
  };
  const outHW = g.outH * g.outW;
  const poolShape = [g.batch, g.outC, g.outH / 2, g.outW / 2];
  const pooled = pool
    ? { output: rec.tensor(poolShape, 'conv2d max pool'), switches: rec.tensor(poolShape, 'conv2d max pool switches', 'u32') }
    : undefined;
  const label = `conv2d gemm${tile.tm} ${g.inC}->${g.outC} ${g.kH}x${g.kW}${split ? ` split ${plan.slices}` : ''}`;
  rec.dispatch({
    ...gemmKernel.program(spec, gemmConvParams.pack({
      M, N, K, tilesM: plan.tilesM, tilesN: plan.tilesN, tilesPerSlice: plan.tilesM * plan.tilesN * g.groups, slices: plan.slices,
      kPerSlice: plan.kPerSlice, partialRows: g.outC,
      inC: g.inC, cinG: g.cinG, inH: g.inH, inW: g.inW, outC: g.outC, outW: g.outW, outHW,
      poolW: Math.floor(g.outW / 2), poolHW: Math.floor(g.outH / 2) * Math.floor(g.outW / 2),
      kH: g.kH, kW: g.kW, strideH: g.stride[0], strideW: g.stride[1], dilH: g.dilation[0], dilW: g.dilation[1], padT: g.padT, padL: g.padL,
      // One slab (TK values of k) in the mixed radix (C/g, kH, kW): the im2col walk's step, without divisions on the GPU.
      dc: Math.floor(tile.tk / (g.kH * g.kW)), dkh: Math.floor(tile.tk / g.kW) % g.kH, dkw: tile.tk % g.kW,
      ldh: halfRowVec4s(K),
    }), dispatch1d(plan.workgroups, 1), label),
    buffers: split ? [a, x, partial!] : [a, x, y, ...(bias ? [bias] : []), ...(pooled ? [pooled.output, pooled.switches] : [])],
  });
  if (partial) {
    recordReduce(rec, partial, bias, y, plan.slices, { bias: bias !== null, relu, accumulate: false, subgroups: useSubgroups(rec, options) }, {
      rows: g.outC, cols: N, alpha: 1, beta: 1, biasRowStride: 1, biasColStride: 0, biasOffset: 0,
      ldy: outHW, yCol: 0, blockLen: outHW, blockStride: g.outC * outHW,
    });
  }
  return pooled ? { y, plan, pooled } : { y, plan };
}

/**
 * The f16 forms as rows beside the registry's conv2d variants, for the device check's gate and the static
 * kernel report (bench/): precision is a runtime setting, not a registry row, so such a row pins its
 * registry variant and sets runtime.precision.
 */
export const GEMM_CONV_F16_ROWS: Readonly<Record<string, { pin: 'gemm128-conv'; precision: Precision }>> = {
  'gemm128-conv f16': { pin: 'gemm128-conv', precision: 'f16' },
  'gemm128-conv f16-packed': { pin: 'gemm128-conv', precision: 'f16-packed' },
};

/** The f16 operand and form, or null for f32; a native form asked for on a device without 'shader-f16' is an UnsupportedError. */
function halfOf(rec: Recorder, options: GemmOptions, precision: Precision, operand: GemmHalf['operand']): GemmHalf | null {
  if (precision === 'f32') return null;
  if (precision !== 'f16' && precision !== 'f16-packed') throw new OutOfRangeError(`gemm: precision '${String(precision)}' is not 'f32', 'f16' or 'f16-packed'`);
  const has = rec.runtime.device.features.has('shader-f16');
  if (options.f16Form === 'native' && !has) {
    throw new UnsupportedError('gemm: the native f16 form was asked for, but the device was created without the "shader-f16" feature');
  }
  return { operand, form: options.f16Form ?? (has && precision === 'f16' ? 'native' : 'packed') };
}

/** vec4s per row of an f16 copy: K values padded to a multiple of 4. */
export function halfRowVec4s(K: number): number {
  return Math.ceil(K / 4);
}

/** Where an f16 copy's rows come from: row r's k-th value is source[r * ld + col + k], for `rows` rows of K. */
export interface HalfRowsLayout { rows: number; K: number; ld: number; col: number }

/**
 * The f16 copy of `source`'s rows (gemmHalfPackKernel: u32 [rows, 2 * halfRowVec4s(K)], rows padded
 * with zeros), built once per version of `source` and cached with it (src/gpu/derived.ts): a
 * training step or any write to the weight builds it again on the next call.
 */
export function halfRows(rec: Recorder, source: Tensor, l: HalfRowsLayout): Tensor {
  const last = (l.rows - 1) * l.ld + l.col + l.K;
  if (l.col + l.K > l.ld && l.rows > 1 || last > source.size) {
    throw new ShapeError(`gemm f16 copy: ${l.rows} rows of ${l.K} (stride ${l.ld}, from column ${l.col}) do not fit [${source.shape}]`);
  }
  const wordsPerRow = 2 * halfRowVec4s(l.K);
  return derivedTensor(rec, source, `f16-rows:${l.rows}x${l.K}/${l.ld}+${l.col}`, (r) => {
    const copy = r.tensor([l.rows, wordsPerRow], 'gemm f16 weight', 'u32');
    const words = l.rows * wordsPerRow;
    r.dispatch({
      ...gemmHalfPackKernel.program(undefined, gemmHalfPackParams.pack({ words, wordsPerRow, K: l.K, ld: l.ld, col: l.col }),
        dispatch1d(words, GEMM_HALF_PACK_WORKGROUP), 'gemm f16 weight copy'),
      buffers: [source, copy],
    });
    return copy;
  });
}

function useSubgroups(rec: Recorder, options: GemmOptions): boolean {
  const has = rec.runtime.device.features.has('subgroups');
  if (options.subgroups && !has) throw new OutOfRangeError('gemm: subgroups were asked for, but the device was created without the "subgroups" feature');
  return options.subgroups ?? has;
}

type ReduceFields = Omit<Parameters<typeof gemmReduceParams.pack>[0], 'slices'>;

/** The split-K reduce: Y = epilogue(alpha * sum of the slices + beta * C). */
function recordReduce(
  rec: Recorder, partial: Tensor, bias: Tensor | null, y: Tensor, slices: number, flags: Omit<GemmReduceSpec, 'reduce'>, fields: ReduceFields,
): void {
  const spec: GemmReduceSpec = { reduce: true, ...flags };
  const lanes = spec.subgroups ? GEMM_REDUCE_LANES : 1;
  rec.dispatch({
    ...gemmReduceKernel.program(spec, gemmReduceParams.pack({ ...fields, slices }),
      dispatch1d(fields.rows * fields.cols * lanes, GEMM_REDUCE_WORKGROUP), `gemm split-K reduce (${slices} slices)`),
    buffers: bias ? [partial, y, bias] : [partial, y],
  });
}

import { MATMUL_TILES, matmulProgram, type MatmulVariant } from '../../shaders/matmul.js';
import type { Recorder } from '../gpu/recorder.js';
import type { KernelProbe } from '../gpu/tuning.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError, UnsupportedError } from '../gpu/errors.js';
import { GEMM_MATMUL_VARIANTS, recordMatmulGemm } from './gemm.js';

/** ONNX Gemm: Y = alpha * op(A) op(B) + beta * C, then the optional fused activation. */
export interface MatmulAttrs {
  transposeA?: boolean;
  transposeB?: boolean;
  /** default 1 */
  alpha?: number;
  /** default 1 */
  beta?: number;
  activation?: 'none' | 'relu';
  /**
   * The operand that is a layer's weight (constant between writes), e.g. a Dense kernel as B transposed: under
   * runtime.precision 'f16' / 'f16-packed' the GEMM core's variants read its f16 copy (cached per weight version,
   * docs/f16.md); other variants, and every operand that is not named here, stay f32. Default: none.
   */
  weightOperand?: 'a' | 'b';
}

export interface Dims { M: number; N: number; K: number }

function matrixDims(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Dims {
  for (const [name, t] of [['a', a], ['b', b]] as const) {
    if (t.shape.length !== 2) throw new ShapeError(`matmul: ${name} must be 2-D, got [${t.shape}]`);
    if (t.dtype !== 'f32') throw new ShapeError(`matmul: ${name} must be f32, got ${t.dtype}`);
  }
  const [a0, a1] = a.shape as [number, number];
  const [b0, b1] = b.shape as [number, number];
  const [M, Ka] = transposeA ? [a1, a0] : [a0, a1];
  const [Kb, N] = transposeB ? [b1, b0] : [b0, b1];
  if (Ka !== Kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: a [${a.shape}]${transposeA ? ' (transposed)' : ''} has K=${Ka}, ` +
      `b [${b.shape}]${transposeB ? ' (transposed)' : ''} has K=${Kb}`);
  }
  return { M, N, K: Ka };
}

/** Strides that read C[m, n] from a bias broadcastable to [M, N] (ONNX unidirectional broadcasting). */
function biasStrides(bias: Tensor, { M, N }: Dims): { row: number; col: number } {
  const s = bias.shape;
  const fail = () => new ShapeError(`matmul: bias [${s}] does not broadcast to the output [${M}, ${N}]`);
  if (s.length > 2) throw fail();
  const rows = s.length === 2 ? s[0]! : 1;
  const cols = s.length >= 1 ? s[s.length - 1]! : 1;
  if ((rows !== 1 && rows !== M) || (cols !== 1 && cols !== N)) throw fail();
  return { row: rows === 1 ? 0 : cols, col: cols === 1 ? 0 : 1 };
}

function parseAttrs(attrs: MatmulAttrs) {
  const alpha = attrs.alpha ?? 1;
  const beta = attrs.beta ?? 1;
  if (!Number.isFinite(alpha)) throw new OutOfRangeError(`matmul: alpha must be finite, got ${alpha}`);
  if (!Number.isFinite(beta)) throw new OutOfRangeError(`matmul: beta must be finite, got ${beta}`);
  const activation = attrs.activation ?? 'none';
  if (activation !== 'none' && activation !== 'relu') {
    throw new UnsupportedError(`matmul: fused activation "${String(activation)}" is not supported (none, relu)`);
  }
  return { alpha, beta, relu: activation === 'relu', transposeA: !!attrs.transposeA, transposeB: !!attrs.transposeB, weightOperand: attrs.weightOperand };
}

/**
 * a [M,K] ([K,M] if transposeA), b [K,N] ([N,K] if transposeB), bias
 * broadcastable to [M,N]: shapes [N], [1,N], [M,1], [M,N], [1] or []; -> [M,N].
 */
export function matmul(rec: Recorder, a: Tensor, b: Tensor, bias: Tensor | null, attrs: MatmulAttrs = {}): Tensor {
  const parsed = parseAttrs(attrs);
  const dims = matrixDims(a, b, parsed.transposeA, parsed.transposeB);
  const strides = bias ? biasStrides(bias, dims) : { row: 0, col: 0 };
  const y = rec.tensor([dims.M, dims.N], 'matmul');
  const layout: GemmLayout = { lda: parsed.transposeA ? dims.M : dims.K, aCol: 0, ldy: dims.N, yCol: 0, biasOffset: 0, accumulate: false };
  recordGemm(rec, a, b, bias, y, dims, parsed, strides, layout);
  return y;
}

/**
 * Where a GEMM reads op(A) and writes Y inside bigger matrices: A's stored
 * element (r, c) is a[r * lda + aCol + c]; Y's (m, n) is y[m * ldy + yCol + n];
 * C starts at biasOffset; `accumulate` adds to Y instead of overwriting it.
 */
export interface GemmLayout { lda: number; aCol: number; ldy: number; yCol: number; biasOffset: number; accumulate: boolean }

/**
 * @internal A GEMM on slices (see GemmLayout), for split weights (ops/dense.ts):
 * op(A) is [M, K] with A stored as rows of `layout.lda` floats, b is [K, N]
 * ([N, K] if transposeB) on its own, Y is written into `y`.
 */
export function matmulInto(
  rec: Recorder, a: Tensor, b: Tensor, bias: Tensor | null, y: Tensor, dims: Dims,
  attrs: MatmulAttrs, layout: GemmLayout, biasStrides: { row: number; col: number } = { row: 0, col: bias ? 1 : 0 },
): void {
  recordGemm(rec, a, b, bias, y, dims, parseAttrs(attrs), biasStrides, layout);
}

type ParsedAttrs = ReturnType<typeof parseAttrs>;

function recordGemm(rec: Recorder, a: Tensor, b: Tensor, bias: Tensor | null, y: Tensor, dims: Dims, attrs: ParsedAttrs,
  strides: { row: number; col: number }, layout: GemmLayout): void {
  const key = `${dims.M}x${dims.N}x${dims.K} tA=${+attrs.transposeA} tB=${+attrs.transposeB}`;
  const variant = rec.runtime.kernelVariant('matmul', key, () => gemmProbe(rec, a, b, bias, y, dims, attrs, strides, layout));
  recordGemmVariant(rec, a, b, bias, y, dims, attrs, strides, layout, variant);
}

function recordGemmVariant(rec: Recorder, a: Tensor, b: Tensor, bias: Tensor | null, y: Tensor, dims: Dims, attrs: ParsedAttrs,
  strides: { row: number; col: number }, layout: GemmLayout, variantName: string): void {
  const { alpha, beta, relu, transposeA, transposeB } = attrs;
  const gemm = GEMM_MATMUL_VARIANTS[variantName];
  if (gemm) {
    const precision = rec.runtime.precision;
    const half = attrs.weightOperand && precision !== 'f32' ? { precision, f16Operand: attrs.weightOperand } : {};
    recordMatmulGemm(rec, { a, b, bias, y, ...dims, ...attrs, biasStrides: strides, layout }, gemm, half);
    return;
  }
  // beta = 0 means C takes no part (ONNX), so it is not even read.
  const withBias = bias !== null && beta !== 0;
  const tile = MATMUL_TILES[variantName];
  if (!tile) throw new OutOfRangeError(`matmul: unknown kernel variant "${variantName}"`);
  const variant: MatmulVariant = { transposeA, transposeB, bias: withBias, relu, accumulate: layout.accumulate, tile };
  const tilesM = Math.ceil(dims.M / tile.tm);
  const tilesN = Math.ceil(dims.N / tile.tn);
  const values = {
    ...dims, tilesM, tilesN, alpha, beta, biasRowStride: strides.row, biasColStride: strides.col,
    lda: layout.lda, aCol: layout.aCol, ldy: layout.ldy, yCol: layout.yCol, biasOffset: layout.biasOffset,
  };
  rec.dispatch({
    ...matmulProgram(variant, values, `matmul [${dims.M}x${dims.K}]x[${dims.K}x${dims.N}]`),
    buffers: withBias ? [a, b, y, bias!] : [a, b, y],
  });
}

/** Scratch copies of the operands (same sizes), for timing the variants of this GEMM alone. */
function gemmProbe(rec: Recorder, a: Tensor, b: Tensor, bias: Tensor | null, y: Tensor, dims: Dims, attrs: ParsedAttrs,
  strides: { row: number; col: number }, layout: GemmLayout): KernelProbe {
  const rt = rec.runtime;
  const zeros = (t: Tensor) => rt.createTensor(t.shape, new Float32Array(t.size), 'f32', 'tuning scratch');
  const as = zeros(a), bs = zeros(b), cs = bias ? zeros(bias) : null, ys = zeros(y);
  return {
    run: (r, variant) => { recordGemmVariant(r, as, bs, cs, ys, dims, attrs, strides, layout, variant); return []; },
    dispose: () => { for (const t of [as, bs, cs, ys]) t?.release(); },
  };
}

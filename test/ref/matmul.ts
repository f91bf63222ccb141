// Float64 references for Gemm / dense, written from the ONNX Gemm definition.
export interface GemmRefAttrs { transposeA?: boolean; transposeB?: boolean; alpha?: number; beta?: number; relu?: boolean }

/** Y[m,n] = alpha * sum_k op(A)[m,k] op(B)[k,n] + beta * C[m,n] (C broadcast numpy-style), then relu. */
export function gemmRef(
  a: ArrayLike<number>, aShape: readonly number[],
  b: ArrayLike<number>, bShape: readonly number[],
  c: { data: ArrayLike<number>; shape: readonly number[] } | null,
  attrs: GemmRefAttrs = {},
): { y: Float64Array; M: number; N: number } {
  const tA = !!attrs.transposeA, tB = !!attrs.transposeB;
  const M = tA ? aShape[1]! : aShape[0]!;
  const K = tA ? aShape[0]! : aShape[1]!;
  const N = tB ? bShape[0]! : bShape[1]!;
  const A = (m: number, k: number) => (tA ? a[k * M + m]! : a[m * K + k]!);
  const B = (k: number, n: number) => (tB ? b[n * K + k]! : b[k * N + n]!);
  const C = (m: number, n: number) => {
    if (!c) return 0;
    // Right-aligned broadcasting: a missing or size-1 axis repeats.
    const s = c.shape;
    const rows = s.length === 2 ? s[0]! : 1;
    const cols = s.length >= 1 ? s[s.length - 1]! : 1;
    return c.data[(rows === 1 ? 0 : m) * cols + (cols === 1 ? 0 : n)]!;
  };
  const alpha = attrs.alpha ?? 1, beta = attrs.beta ?? 1;
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A(m, k) * B(k, n);
      let v = alpha * s + beta * C(m, n);
      if (attrs.relu) v = Math.max(v, 0);
      y[m * N + n] = v;
    }
  }
  return { y, M, N };
}

/** out[i] = sum_j W[i,j] x[j] + bias[i] per sample: the definition of a fully connected layer. */
export function denseRef(x: ArrayLike<number>, batch: number, w: ArrayLike<number>, out: number, inF: number, bias: ArrayLike<number> | null, relu = false): Float64Array {
  const y = new Float64Array(batch * out);
  for (let s = 0; s < batch; s++) {
    for (let o = 0; o < out; o++) {
      let v = bias ? bias[o]! : 0;
      for (let i = 0; i < inF; i++) v += w[o * inF + i]! * x[s * inF + i]!;
      y[s * out + o] = relu ? Math.max(v, 0) : v;
    }
  }
  return y;
}

/** dx[s,i] = sum_o g[s,o] W[o,i]: the transpose of the linear part of dense. */
export function denseBackwardRef(g: ArrayLike<number>, batch: number, w: ArrayLike<number>, out: number, inF: number): Float64Array {
  const dx = new Float64Array(batch * inF);
  for (let s = 0; s < batch; s++) {
    for (let i = 0; i < inF; i++) {
      let v = 0;
      for (let o = 0; o < out; o++) v += g[s * out + o]! * w[o * inF + i]!;
      dx[s * inF + i] = v;
    }
  }
  return dx;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

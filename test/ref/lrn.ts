// Float64 LRN references (ONNX definition, across channels). The backward
// reference builds the Jacobian entries output by output (scatter), the other
// way round from the GPU kernel.

export interface LrnRefAttrs { size: number; alpha: number; beta: number; bias: number }

function windowOf(c: number, C: number, size: number): [number, number] {
  return [Math.max(0, c - Math.floor((size - 1) / 2)), Math.min(C - 1, c + Math.ceil((size - 1) / 2))];
}

/** D[i] = bias + alpha / size * sum of squares over the channel window of element i. */
function denominators(x: ArrayLike<number>, shape: readonly number[], a: LrnRefAttrs): Float64Array {
  const N = shape[0]!, C = shape[1]!, plane = x.length / (N * C);
  const d = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const [lo, hi] = windowOf(c, C, a.size);
      for (let s = 0; s < plane; s++) {
        let sq = 0;
        for (let j = lo; j <= hi; j++) sq += x[(n * C + j) * plane + s]! ** 2;
        d[(n * C + c) * plane + s] = a.bias + (a.alpha / a.size) * sq;
      }
    }
  }
  return d;
}

export function lrnRef(x: ArrayLike<number>, shape: readonly number[], a: LrnRefAttrs): Float64Array {
  const d = denominators(x, shape, a);
  return Float64Array.from(d, (di, i) => x[i]! / di ** a.beta);
}

/** dx = J^T g with dy_j/dx_c = [j = c] D_j^-beta - 2 alpha beta / size * x_j x_c D_j^(-beta-1) for c in window(j). */
export function lrnBackwardRef(g: ArrayLike<number>, x: ArrayLike<number>, shape: readonly number[], a: LrnRefAttrs): Float64Array {
  const N = shape[0]!, C = shape[1]!, plane = x.length / (N * C);
  const d = denominators(x, shape, a);
  const dx = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < C; j++) {
      const [lo, hi] = windowOf(j, C, a.size);
      for (let s = 0; s < plane; s++) {
        const at = (n * C + j) * plane + s;
        dx[at]! += g[at]! * d[at]! ** -a.beta;
        const common = g[at]! * x[at]! * (-a.beta) * d[at]! ** (-a.beta - 1) * (a.alpha / a.size) * 2;
        for (let c = lo; c <= hi; c++) dx[(n * C + c) * plane + s]! += common * x[(n * C + c) * plane + s]!;
      }
    }
  }
  return dx;
}

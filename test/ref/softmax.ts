// Float64 references for softmax along one axis, from the definition
// softmax(x)_j = exp(x_j) / sum_k exp(x_k) (computed with the row max removed,
// which is exact algebra and keeps float64 from overflowing).

function axisLayout(shape: readonly number[], axis: number) {
  const a = axis < 0 ? axis + shape.length : axis;
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  return { outer, n: shape[a]!, inner };
}

export function softmaxRef(x: ArrayLike<number>, shape: readonly number[], axis = -1, log = false): Float64Array {
  const { outer, n, inner } = axisLayout(shape, axis);
  const y = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, x[at(j)]!);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(x[at(j)]! - m);
      for (let j = 0; j < n; j++) {
        y[at(j)] = log ? x[at(j)]! - m - Math.log(s) : Math.exp(x[at(j)]! - m) / s;
      }
    }
  }
  return y;
}

/** d/dx sum(g * softmax(x)) by float64 central differences, one element at a time. */
export function softmaxGradNumeric(x: ArrayLike<number>, g: ArrayLike<number>, shape: readonly number[], axis = -1, log = false, h = 1e-5): Float64Array {
  const xs = Float64Array.from(x);
  const f = () => {
    const y = softmaxRef(xs, shape, axis, log);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += g[i]! * y[i]!;
    return s;
  };
  const grad = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    xs[i] = v + h;
    const up = f();
    xs[i] = v - h;
    const down = f();
    xs[i] = v;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/**
 * The chain rule written out, for shapes too big for central differences:
 * dx_j = sum_i g_i dy_i/dx_j with dy_i/dx_j = y_i ([i = j] - y_j), i.e.
 * y_j (g_j - sum_i g_i y_i).
 */
export function softmaxBackwardRef(g: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[], axis = -1): Float64Array {
  const { outer, n, inner } = axisLayout(shape, axis);
  const dx = new Float64Array(g.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      let s = 0;
      for (let j = 0; j < n; j++) s += g[at(j)]! * y[at(j)]!;
      for (let j = 0; j < n; j++) dx[at(j)] = y[at(j)]! * (g[at(j)]! - s);
    }
  }
  return dx;
}

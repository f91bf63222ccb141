// Float64 references of the smooth activations users bring from Keras / TF.js
// and ONNX, written from their definitions (not from the shader's formulas):
// erf from its Taylor series and its continued fraction, everything else in
// closed form. The gradients in the tests are central differences of these.

export type SmoothKind = 'selu' | 'hard_sigmoid' | 'gelu' | 'gelu_tanh' | 'swish' | 'hard_swish' | 'softplus' | 'softsign' | 'mish';

export interface SmoothAttrs { alpha?: number; beta?: number; gamma?: number }

/** erf(x) to ~1e-14: the Maclaurin series below 3, 1 - erfc by its continued fraction above. */
export function erf(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 3) {
    // erf z = 2/sqrt(pi) sum_n (-1)^n z^(2n+1) / (n! (2n+1))
    let term = z, sum = z;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc z = exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))
    let t = z;
    for (let n = 80; n >= 1; n--) t = z + n / 2 / t;
    r = 1 - Math.exp(-z * z) / (Math.sqrt(Math.PI) * t);
  }
  return x < 0 ? -r : r;
}

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
const softplus = (t: number) => Math.log1p(Math.exp(-Math.abs(t))) + Math.max(t, 0);

export function smoothActivation(kind: SmoothKind, v: number, a: SmoothAttrs = {}): number {
  switch (kind) {
    case 'selu': {
      const alpha = a.alpha ?? 1.6732632423543772, gamma = a.gamma ?? 1.0507009873554805;
      return gamma * (v > 0 ? v : alpha * (Math.exp(v) - 1));
    }
    case 'hard_sigmoid': return Math.min(1, Math.max(0, (a.alpha ?? 0.2) * v + (a.beta ?? 0.5)));
    case 'hard_swish': return v * Math.min(1, Math.max(0, (a.alpha ?? 1 / 6) * v + (a.beta ?? 0.5)));
    case 'gelu': return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'gelu_tanh': return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    case 'swish': return v * sigmoid((a.alpha ?? 1) * v);
    case 'softplus': return softplus(v);
    case 'softsign': return v / (1 + Math.abs(v));
    case 'mish': return v * Math.tanh(softplus(v));
  }
}

/** dL/dx = g f'(x), f' by central differences of the float64 definition. */
export function smoothBackwardRef(kind: SmoothKind, g: ArrayLike<number>, x: ArrayLike<number>, a: SmoothAttrs = {}, h = 1e-6): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => {
    const v = x[i]!;
    return g[i]! * (smoothActivation(kind, v + h, a) - smoothActivation(kind, v - h, a)) / (2 * h);
  });
}

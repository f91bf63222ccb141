// Float64 references written from the definitions.
import { smoothActivation, type SmoothKind } from './activation_smooth.js';

export type Kind = 'relu' | 'leaky_relu' | 'elu' | 'sigmoid' | 'tanh' | 'clip' | 'prelu' | SmoothKind;
export interface RefAttrs { alpha?: number; beta?: number; gamma?: number; min?: number; max?: number; slope?: ArrayLike<number>; channels?: number; plane?: number }

export function activationRef(kind: Kind, x: ArrayLike<number>, a: RefAttrs = {}): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    switch (kind) {
      case 'relu': y[i] = Math.max(v, 0); break;
      case 'leaky_relu': y[i] = v >= 0 ? v : v * (a.alpha ?? 0.01); break;
      case 'elu': y[i] = v >= 0 ? v : (a.alpha ?? 1) * (Math.exp(v) - 1); break;
      case 'sigmoid': y[i] = 1 / (1 + Math.exp(-v)); break;
      case 'tanh': y[i] = Math.tanh(v); break;
      case 'clip': y[i] = Math.min(Math.max(v, a.min ?? -Infinity), a.max ?? Infinity); break;
      case 'selu': case 'hard_sigmoid': case 'gelu': case 'gelu_tanh': case 'swish': case 'hard_swish': case 'softplus': case 'softsign': case 'mish':
        y[i] = smoothActivation(kind, v, a); break;
      case 'prelu': {
        const s = a.slope!.length === 1 ? a.slope![0]! : a.slope![Math.floor(i / a.plane!) % a.channels!]!;
        y[i] = v >= 0 ? v : v * s;
        break;
      }
    }
  }
  return y;
}

/** ReLU backward rules from their papers, given the forward input x. */
export function reluBackwardRef(rule: 'deconvnet' | 'guided' | 'gradient', g: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const gi = g[i]!, on = x[i]! > 0;
    out[i] = rule === 'deconvnet' ? Math.max(gi, 0) : rule === 'guided' ? (on ? Math.max(gi, 0) : 0) : on ? gi : 0;
  }
  return out;
}

/** The kinks of the piecewise activations: where the derivative jumps (central differences are only taken away from them). */
export function activationKinks(kind: Kind, a: RefAttrs = {}): number[] {
  if (kind === 'clip') return [a.min ?? -Infinity, a.max ?? Infinity].filter(Number.isFinite);
  return kind === 'relu' || kind === 'leaky_relu' || kind === 'elu' || kind === 'prelu' ? [0] : [];
}

/**
 * f'(x) of the activations with a closed-form derivative, written from the
 * math (d/dx of the definitions above), in float64. At a kink the one-sided
 * derivative of the side x >= kink is taken for the ReLU family (as
 * frameworks do) and 0 outside clip's open interval.
 */
export function activationDerivative(kind: 'leaky_relu' | 'elu' | 'sigmoid' | 'tanh' | 'clip' | 'prelu', x: number, a: RefAttrs = {}, i = 0): number {
  switch (kind) {
    case 'leaky_relu': return x >= 0 ? 1 : a.alpha ?? 0.01;
    case 'elu': return x >= 0 ? 1 : (a.alpha ?? 1) * Math.exp(x);
    case 'sigmoid': { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); }
    case 'tanh': return 1 / Math.cosh(x) ** 2;
    case 'clip': return x > (a.min ?? -Infinity) && x < (a.max ?? Infinity) ? 1 : 0;
    case 'prelu': return x >= 0 ? 1 : a.slope!.length === 1 ? a.slope![0]! : a.slope![Math.floor(i / a.plane!) % a.channels!]!;
  }
}

/** d(sum g * f(x))/dx = g f'(x), from the analytic derivative. */
export function activationBackwardRef(kind: Parameters<typeof activationDerivative>[0], g: ArrayLike<number>, x: ArrayLike<number>, a: RefAttrs = {}): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => g[i]! * activationDerivative(kind, x[i]!, a, i));
}

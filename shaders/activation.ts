import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// Element-wise activations, forward, and their backward rules.
//
// ReLU has the three rules that distinguish the visualisation methods:
//   deconvnet (Zeiler & Fergus 2014): rectify the reconstruction,   relu(g)
//   guided    (Springenberg 2015):    both,                          relu(g) * [y > 0]
//   gradient  (Simonyan 2013):        the true gradient,             g * [y > 0]
// The other activations have no such variants: every mode uses their gradient.
//
// The ReLU family and the saturating functions (leaky ReLU, ELU, SELU,
// sigmoid, tanh, clip, hard sigmoid) get their gradient from the
// forward *output* y (y > 0 exactly where x > 0, sigmoid' = y(1 - y), ...).
// The smooth non-monotonic ones (GELU, swish, hard swish, mish) cannot be
// inverted, so their rule reads the forward *input* x instead; softplus and
// softsign do too, because from x their gradient keeps full precision; and
// PReLU, whose learnt slope may be negative (then y >= 0 on both sides).

export const WORKGROUP = 256;

export type ActivationKind =
  | 'relu' | 'leaky_relu' | 'elu' | 'sigmoid' | 'tanh' | 'clip' | 'prelu'
  | 'selu' | 'hard_sigmoid' | 'gelu' | 'gelu_tanh' | 'swish' | 'hard_swish' | 'softplus' | 'softsign' | 'mish';
export type BackwardRule = 'deconvnet' | 'guided' | 'gradient';

/** Kinds whose backward rule reads the forward input x rather than the output y. */
export function backwardReadsInput(kind: ActivationKind): boolean {
  return kind === 'gelu' || kind === 'gelu_tanh' || kind === 'swish' || kind === 'hard_swish'
    || kind === 'softplus' || kind === 'softsign' || kind === 'mish' || kind === 'prelu'
    // With a negative slope/alpha their output is >= 0 on both sides of 0, so
    // only x tells the branch.
    || kind === 'leaky_relu' || kind === 'elu';
}

/**
 * `alpha`: leaky_relu slope, elu/selu alpha, swish's sigmoid scale, the hard
 * sigmoid/swish slope; `beta`: selu's scale (ONNX gamma), the hard
 * sigmoid/swish offset; `lo`, `hi`: clip bounds; `channels`, `plane`:
 * prelu's slope index.
 */
export const activationParams = defineParams({
  size: 'u32', alpha: 'f32', beta: 'f32', lo: 'f32', hi: 'f32', channels: 'u32', plane: 'u32',
});

// Numerically safe helpers: no exp() of a large positive argument anywhere
// (WGSL leaves overflow to the implementation).
const HELPERS = /* wgsl */ `
fn sigm(t: f32) -> f32 {
  let e = exp(-abs(t));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), t >= 0.0);
}
fn tanh_safe(t: f32) -> f32 {
  let e = exp(-2.0 * abs(t));
  return sign(t) * (1.0 - e) / (1.0 + e);
}
fn softplus(t: f32) -> f32 {
  return max(t, 0.0) + log(1.0 + exp(-abs(t)));
}
// The standard normal CDF, Phi(t) = (1 + erf(t / sqrt 2)) / 2, from
// Abramowitz & Stegun 7.1.26 (|error| of erf < 1.5e-7); the tail is computed
// as erfc directly, so Phi of a negative t keeps its relative precision.
fn phi_cdf(t: f32) -> f32 {
  let z = abs(t) * 0.70710678;
  let k = 1.0 / (1.0 + 0.3275911 * z);
  let poly = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429))));
  let tail = 0.5 * poly * exp(-z * z);
  return select(1.0 - tail, tail, t < 0.0);
}
fn phi_pdf(t: f32) -> f32 {
  return 0.39894228 * exp(-0.5 * t * t);
}
// GELU's tanh approximation: 0.5 t (1 + tanh(u)), u = sqrt(2/pi) (t + 0.044715 t^3).
fn gelu_u(t: f32) -> f32 {
  return 0.79788456 * (t + 0.044715 * t * t * t);
}
`;

/** y[i] per kind, from v = x[i] (one row per kind: the compiler lists a missing one). */
const FORWARD: Record<ActivationKind, string> = {
  relu: `  y[i] = max(v, 0.0);`,
  leaky_relu: `  y[i] = select(v * p.alpha, v, v >= 0.0);`,
  elu: `  y[i] = select(p.alpha * (exp(min(v, 0.0)) - 1.0), v, v >= 0.0);`,
  selu: `  y[i] = p.beta * select(p.alpha * (exp(min(v, 0.0)) - 1.0), v, v > 0.0);`,
  sigmoid: `  y[i] = sigm(v);`,
  hard_sigmoid: `  y[i] = clamp(p.alpha * v + p.beta, 0.0, 1.0);`,
  tanh: `  y[i] = tanh(v);`,
  clip: `  y[i] = clamp(v, p.lo, p.hi);`,
  prelu: `  let c = (i / p.plane) % p.channels;
  y[i] = select(v * slope[c], v, v >= 0.0);`,
  gelu: `  y[i] = v * phi_cdf(v);`,
  gelu_tanh: `  y[i] = 0.5 * v * (1.0 + tanh_safe(gelu_u(v)));`,
  swish: `  y[i] = v * sigm(p.alpha * v);`,
  hard_swish: `  y[i] = v * clamp(p.alpha * v + p.beta, 0.0, 1.0);`,
  softplus: `  y[i] = softplus(v);`,
  softsign: `  y[i] = v / (1.0 + abs(v));`,
  mish: `  y[i] = v * tanh_safe(softplus(v));`,
};

const activationKernel = defineKernel('activation', ({ kind }: { kind: ActivationKind }) => `
${kernelHeader(activationParams, [read('x'), readWrite('y'), kind === 'prelu' && read('slope')])}
${HELPERS}
${flatMain(WORKGROUP, 'p.size', `  let v = x[i];
${FORWARD[kind]}`)}
`);

/** y = f(x) over `size` elements; buffers [x, y, slope (prelu)]. */
export function activationProgram(kind: ActivationKind, params: ArrayBuffer, size: number): KernelProgram {
  return activationKernel.program({ kind }, params, dispatch1d(size, WORKGROUP), kind);
}

/** ReLU's three rules: the DeconvNet's (rectify the signal), guided backprop's (both), the gradient. */
const RELU_RULES: Record<BackwardRule, string> = {
  deconvnet: `  dx[i] = max(gi, 0.0);`,
  guided: `  dx[i] = select(0.0, max(gi, 0.0), yi > 0.0);`,
  gradient: `  dx[i] = select(0.0, gi, yi > 0.0);`,
};

/** dx[i] per kind but ReLU, from gi = g[i] and the saved value (yi or xi: see backwardReadsInput). */
const BACKWARD: Record<Exclude<ActivationKind, 'relu'>, string> = {
  leaky_relu: `  dx[i] = select(gi * p.alpha, gi, xi >= 0.0);`,
  elu: `  // d/dx alpha (e^x - 1) = alpha e^x; exp() of x < 0 only.
  dx[i] = select(gi * p.alpha * exp(min(xi, 0.0)), gi, xi >= 0.0);`,
  selu: `  // y = beta alpha (e^x - 1) below 0, so dy/dx = beta alpha e^x = y + beta alpha.
  dx[i] = select(gi * (yi + p.beta * p.alpha), gi * p.beta, yi > 0.0);`,
  sigmoid: `  dx[i] = gi * yi * (1.0 - yi);`,
  hard_sigmoid: `  dx[i] = select(0.0, gi * p.alpha, yi > 0.0 && yi < 1.0);`,
  tanh: `  dx[i] = gi * (1.0 - yi * yi);`,
  clip: `  dx[i] = select(0.0, gi, yi > p.lo && yi < p.hi);`,
  prelu: `  let c = (i / p.plane) % p.channels;
  dx[i] = select(gi * slope[c], gi, yi >= 0.0);`,
  gelu: `  dx[i] = gi * (phi_cdf(xi) + xi * phi_pdf(xi));`,
  gelu_tanh: `  let t = tanh_safe(gelu_u(xi));
  dx[i] = gi * (0.5 * (1.0 + t) + 0.5 * xi * (1.0 - t * t) * 0.79788456 * (1.0 + 0.134145 * xi * xi));`,
  swish: `  let sg = sigm(p.alpha * xi);
  dx[i] = gi * (sg + p.alpha * xi * sg * (1.0 - sg));`,
  hard_swish: `  let h = p.alpha * xi + p.beta;
  dx[i] = gi * (clamp(h, 0.0, 1.0) + select(0.0, p.alpha * xi, h > 0.0 && h < 1.0));`,
  softplus: `  dx[i] = gi * sigm(xi);`,
  softsign: `  let d = 1.0 + abs(xi);
  dx[i] = gi / (d * d);`,
  mish: `  let t = tanh_safe(softplus(xi));
  dx[i] = gi * (t + xi * (1.0 - t * t) * sigm(xi));`,
};

/** `s` is the saved forward value the rule reads: the output y, or the input x where backwardReadsInput(kind). */
const activationBackwardKernel = defineKernel('activation-backward', ({ kind, rule }: { kind: ActivationKind; rule?: BackwardRule }) => `
${kernelHeader(activationParams, [read('g'), read('s'), readWrite('dx'), kind === 'prelu' && read('slope')])}
${HELPERS}
${flatMain(WORKGROUP, 'p.size', `  let gi = g[i];
  let yi = s[i];
  let xi = s[i];
${kind === 'relu' ? RELU_RULES[rule ?? 'gradient'] : BACKWARD[kind]}`)}
`);

/** The backward rule over `size` elements; buffers [g, saved, dx, slope (prelu)]. */
export function activationBackwardProgram(kind: ActivationKind, rule: BackwardRule, params: ArrayBuffer, size: number): KernelProgram {
  // Only ReLU's WGSL depends on the rule: other kinds leave it out of the spec, so their rules share one pipeline.
  const spec = kind === 'relu' ? { kind, rule } : { kind };
  return activationBackwardKernel.program(spec, params, dispatch1d(size, WORKGROUP), `${kind} backward (${rule})`);
}

import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// Optimizer steps, element-wise and in place on the parameter and its state,
// with PyTorch's update rules (torch.optim.SGD, torch.optim.Adam / AdamW).
//
// Values that change from step to step (learning rate, Adam's step count) are
// read from a small storage buffer `hyper` that the trainer rewrites with
// queue.writeBuffer: uniform buffers are cached by content in the runtime,
// so a per-step value there would add a uniform per step. Values fixed for a
// run (momentum, betas, epsilon, weight decay) are uniforms.

export const WORKGROUP = 256;

export const sgdParams = defineParams({ size: 'u32', momentum: 'f32', weightDecay: 'f32', nesterov: 'u32' });

/**
 * g' = g + wd * p;  v = mu * v + g';  p -= lr * (nesterov ? g' + mu * v : v)
 * (PyTorch with dampening 0; its first step sets v = g', which is what the
 * formula gives from a zeroed velocity). With mu = 0 the velocity is not read
 * (an uninitialised one cannot leak NaN in) and ends up holding g'.
 */
const sgdKernel = defineKernel('sgd', () => `
${kernelHeader(sgdParams, [readWrite('param'), read('grad'), readWrite('velocity'), read('hyper')])}
${flatMain(WORKGROUP, 'p.size', `  let lr = hyper[0];
  let w = param[i];
  let g = grad[i] + p.weightDecay * w;
  var v = g;
  if (p.momentum != 0.0) { v = p.momentum * velocity[i] + g; }
  velocity[i] = v;
  let step = select(v, g + p.momentum * v, p.nesterov != 0u);
  param[i] = w - lr * step;`)}
`);

/** One SGD step over `values.size` parameters; buffers [param, grad, velocity, hyper]. */
export function sgdProgram(values: Parameters<typeof sgdParams.pack>[0], label: string): KernelProgram {
  return sgdKernel.program(undefined, sgdParams.pack(values), dispatch1d(values.size, WORKGROUP), label);
}

/** `logBeta*` = ln(beta) (computed in float64 on the host); `oneMinusBeta*` likewise, so 1 - 0.999 is not rounded from an f32 0.999. */
export const adamParams = defineParams({
  size: 'u32',
  beta1: 'f32', beta2: 'f32', oneMinusBeta1: 'f32', oneMinusBeta2: 'f32',
  logBeta1: 'f32', logBeta2: 'f32',
  epsilon: 'f32', weightDecay: 'f32', decoupled: 'u32',
});

/**
 * PyTorch Adam (decoupled = 0: g += wd * p) / AdamW (decoupled = 1: p *= 1 - lr * wd):
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * 1 - b^t is -expm1(t ln b): for b2 = 0.999 and t = 1, 1 - pow(b2, t) in f32
 * would lose about four of its seven digits.
 */
const adamKernel = defineKernel('adam', () => `
${kernelHeader(adamParams, [readWrite('param'), read('grad'), readWrite('m'), readWrite('v'), read('hyper')])}

// exp(x) - 1 without the cancellation near 0: a Taylor polynomial for
// |x| < 0.5 (truncation below 1e-9 relative), exp(x) - 1 beyond.
fn expm1(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    var s = 1.0 / 3628800.0;
    s = s * x + 1.0 / 362880.0;
    s = s * x + 1.0 / 40320.0;
    s = s * x + 1.0 / 5040.0;
    s = s * x + 1.0 / 720.0;
    s = s * x + 1.0 / 120.0;
    s = s * x + 1.0 / 24.0;
    s = s * x + 1.0 / 6.0;
    s = s * x + 0.5;
    s = s * x + 1.0;
    return s * x;
  }
  return exp(x) - 1.0;
}

${flatMain(WORKGROUP, 'p.size', `  let lr = hyper[0];
  let t = hyper[1];
  var w = param[i];
  var g = grad[i];
  if (p.decoupled != 0u) { w = w * (1.0 - lr * p.weightDecay); } else { g = g + p.weightDecay * w; }
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let bc1 = -expm1(t * p.logBeta1);
  let bc2 = -expm1(t * p.logBeta2);
  let denom = sqrt(vi) / sqrt(bc2) + p.epsilon;
  param[i] = w - (lr / bc1) * mi / denom;`)}
`);

/** One Adam / AdamW step over `values.size` parameters; buffers [param, grad, m, v, hyper]. */
export function adamProgram(values: Parameters<typeof adamParams.pack>[0], label: string): KernelProgram {
  return adamKernel.program(undefined, adamParams.pack(values), dispatch1d(values.size, WORKGROUP), label);
}

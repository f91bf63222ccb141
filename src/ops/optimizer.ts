import { adamProgram, sgdProgram } from '../../shaders/optimizer.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { sameShape } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

export interface SgdOptions {
  /** default 0.9 */
  momentum?: number;
  /** L2 penalty added to the gradient, default 0 */
  weightDecay?: number;
  /** default false; needs momentum > 0 (as in PyTorch) */
  nesterov?: boolean;
}

export interface AdamOptions {
  /** default 0.9 */
  beta1?: number;
  /** default 0.999 */
  beta2?: number;
  /** default 1e-8 */
  epsilon?: number;
  /** default 0 for Adam, 0.01 for AdamW (PyTorch's defaults) */
  weightDecay?: number;
  /** AdamW: decay the weights directly (p *= 1 - lr * wd) instead of adding wd * p to the gradient; default false */
  decoupled?: boolean;
}

/**
 * Writes the per-step hyper-parameters (`[lr]` for SGD, `[lr, t]` for Adam)
 * into `hyper` with queue.writeBuffer. The write lands in queue order: every
 * submit after it sees the new values, every submit before it the old ones.
 */
export function setHyper(hyper: Tensor, values: readonly number[]): void {
  hyper.assertLive('setHyper');
  if (hyper.dtype !== 'f32') throw new ShapeError(`setHyper: hyper [${hyper.shape}] must be f32, got ${hyper.dtype}`);
  if (values.length > hyper.size) throw new ShapeError(`setHyper: ${values.length} values do not fit hyper [${hyper.shape}]`);
  hyper.runtime.writeTensor(hyper, new Float32Array(values));
}

function checkState(op: string, param: Tensor, named: Array<[string, Tensor]>, hyper: Tensor, hyperSize: number): void {
  const all: Array<[string, Tensor]> = [['param', param], ...named];
  for (const [name, t] of all) {
    if (t.dtype !== 'f32') throw new ShapeError(`${op}: ${name} [${t.shape}] must be f32, got ${t.dtype}`);
    if (!sameShape(t.shape, param.shape)) throw new ShapeError(`${op}: ${name} [${t.shape}] does not match param [${param.shape}]`);
  }
  if (hyper.dtype !== 'f32' || hyper.size < hyperSize) {
    throw new ShapeError(`${op}: hyper must be an f32 tensor of at least ${hyperSize} values, got [${hyper.shape}] ${hyper.dtype}`);
  }
  // A buffer bound twice in one dispatch, once writable, is a WebGPU validation error.
  const withHyper: Array<[string, Tensor]> = [...all, ['hyper', hyper]];
  for (let i = 0; i < withHyper.length; i++) {
    for (let j = i + 1; j < withHyper.length; j++) {
      if (withHyper[i]![1].buffer === withHyper[j]![1].buffer) {
        throw new ShapeError(`${op}: ${withHyper[i]![0]} and ${withHyper[j]![0]} must be different tensors (they share a buffer)`);
      }
    }
  }
}

function checkNumber(op: string, name: string, v: number, lo: number, hi = Infinity, hiOpen = false): void {
  if (!Number.isFinite(v) || v < lo || v > hi || (hiOpen && v === hi)) {
    throw new OutOfRangeError(`${op}: ${name} ${v} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}`);
  }
}

/**
 * One SGD step in place on `param` and `velocity` (PyTorch semantics,
 * dampening 0): g' = g + wd*p; v = mu*v + g'; p -= lr * (nesterov ? g' + mu*v : v).
 * `velocity` starts zeroed. hyper[0] = learning rate (see setHyper). One pass.
 */
export function sgdStep(rec: Recorder, param: Tensor, grad: Tensor, velocity: Tensor, hyper: Tensor, options: SgdOptions = {}): void {
  const op = 'sgdStep';
  checkState(op, param, [['grad', grad], ['velocity', velocity]], hyper, 1);
  const momentum = options.momentum ?? 0.9;
  const weightDecay = options.weightDecay ?? 0;
  const nesterov = options.nesterov ?? false;
  checkNumber(op, 'momentum', momentum, 0);
  checkNumber(op, 'weightDecay', weightDecay, 0);
  if (nesterov && momentum === 0) throw new OutOfRangeError(`${op}: nesterov momentum needs momentum > 0`);
  rec.dispatch({
    ...sgdProgram({ size: param.size, momentum, weightDecay, nesterov: nesterov ? 1 : 0 }, `${op} [${param.shape}]`),
    buffers: [param, grad, velocity, hyper],
  });
}

/**
 * One Adam / AdamW step in place on `param`, `m` and `v` (PyTorch semantics,
 * with bias correction; m and v start zeroed). hyper[0] = learning rate,
 * hyper[1] = step count t, 1-based (see setHyper). One pass.
 */
export function adamStep(rec: Recorder, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper: Tensor, options: AdamOptions = {}): void {
  const op = options.decoupled ? 'adamWStep' : 'adamStep';
  checkState(op, param, [['grad', grad], ['m', m], ['v', v]], hyper, 2);
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const epsilon = options.epsilon ?? 1e-8;
  const decoupled = options.decoupled ?? false;
  const weightDecay = options.weightDecay ?? (decoupled ? 0.01 : 0);
  checkNumber(op, 'beta1', beta1, 0, 1, true);
  checkNumber(op, 'beta2', beta2, 0, 1, true);
  checkNumber(op, 'epsilon', epsilon, 0);
  checkNumber(op, 'weightDecay', weightDecay, 0);
  // ln(0) = -inf; a huge finite negative gives the same 1 - b^t = 1 without infinities in the shader.
  const logBeta = (b: number) => (b === 0 ? -1e30 : Math.log(b));
  const values = {
    size: param.size,
    beta1, beta2, oneMinusBeta1: 1 - beta1, oneMinusBeta2: 1 - beta2,
    logBeta1: logBeta(beta1), logBeta2: logBeta(beta2),
    epsilon, weightDecay, decoupled: decoupled ? 1 : 0,
  };
  rec.dispatch({ ...adamProgram(values, `${op} [${param.shape}]`), buffers: [param, grad, m, v, hyper] });
}

import { describe, expect, it } from 'vitest';
import { adamStep, setHyper, sgdStep, type AdamOptions, type SgdOptions } from '../src/ops/optimizer.js';
import { OutOfRangeError, ShapeError } from '../src/gpu/errors.js';
import type { Recorder } from '../src/gpu/recorder.js';
import type { Runtime } from '../src/gpu/runtime.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { getRuntime, expectClose, counted } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';

// Float64 re-implementations of torch.optim.SGD and torch.optim.Adam(W)
// (torch/optim/sgd.py, adam.py: the single-tensor, non-capturable paths).

function sgdRef(p: Float64Array, buf: Float64Array | null, g: ArrayLike<number>, lr: number, o: Required<SgdOptions>): Float64Array {
  const next = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    let d = g[i]! + o.weightDecay * p[i]!;
    if (o.momentum !== 0) {
      // PyTorch: the first step clones d into the buffer; later ones do buf = mu*buf + (1 - dampening)*d.
      buf![i] = buf === null || Number.isNaN(buf[i]!) ? d : o.momentum * buf[i]! + d;
      d = o.nesterov ? d + o.momentum * buf![i]! : buf![i]!;
    }
    next[i] = p[i]! - lr * d;
  }
  return next;
}

function adamRef(p: Float64Array, m: Float64Array, v: Float64Array, g: ArrayLike<number>, lr: number, t: number, o: Required<AdamOptions>): void {
  const bc1 = 1 - o.beta1 ** t, bc2 = 1 - o.beta2 ** t;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (o.decoupled) p[i] = p[i]! * (1 - lr * o.weightDecay);
    else if (o.weightDecay !== 0) gi += o.weightDecay * p[i]!;
    m[i] = m[i]! + (1 - o.beta1) * (gi - m[i]!); // exp_avg.lerp_(grad, 1 - beta1)
    v[i] = v[i]! * o.beta2 + (1 - o.beta2) * gi * gi;
    const denom = Math.sqrt(v[i]!) / Math.sqrt(bc2) + o.epsilon;
    p[i] = p[i]! - (lr / bc1) * (m[i]! / denom);
  }
}

function release(...ts: Array<Tensor | null | undefined>) { for (const t of ts) t?.release(); }

const LRS = [0.1, 0.05, 0.13, 0.02, 0.08];
/** A shape past one workgroup, not a multiple of it. */
const SHAPE = [5, 3, 7, 9];
const N = SHAPE.reduce((a, b) => a * b, 1);

/** The displacement from the start is what the optimizer computed; compare it, not just the (start-dominated) values. */
function expectStep(got: Float32Array, start: Float32Array, expected: Float64Array, what: string) {
  expectClose(got, expected, what);
  expectClose(got.map((v, i) => v - start[i]!), expected.map((v, i) => v - start[i]!), `${what}: displacement`);
}

describe('sgdStep', () => {
  const CASES: Array<{ name: string; options: SgdOptions }> = [
    { name: 'momentum 0.9 (default)', options: {} },
    { name: 'plain SGD (momentum 0) with weight decay; the uninitialised velocity is not read', options: { momentum: 0, weightDecay: 0.01 } },
    { name: 'nesterov, weight decay 0.05', options: { momentum: 0.8, weightDecay: 0.05, nesterov: true } },
  ];
  CASES.forEach((c, index) => {
    it(`${c.name}: 5 steps with changing lr match PyTorch's rule in float64`, async () => {
      const rt = await getRuntime();
      const o: Required<SgdOptions> = { momentum: 0.9, weightDecay: 0, nesterov: false, ...c.options };
      const rnd = makeRandom(20 + index);
      const start = rnd.array(N);
      const param = rt.createTensor(SHAPE, start), grad = rt.createTensor(SHAPE);
      // Zeroed as the API asks, except for momentum 0, where it stays NaN-poisoned to show it is not read.
      const velocity = o.momentum === 0 ? rt.createTensor(SHAPE) : rt.createTensor(SHAPE, new Float32Array(N));
      const hyper = rt.createTensor([1], new Float32Array(1));
      let p: Float64Array = Float64Array.from(start);
      const buf = o.momentum !== 0 ? new Float64Array(N).fill(NaN) : null;
      for (const lr of LRS) {
        const g = new Float32Array(rnd.array(N));
        rt.device.queue.writeBuffer(grad.buffer, 0, g);
        setHyper(hyper, [lr]);
        const { passes, submits } = await counted(rt, 'sgd', (rec) => sgdStep(rec, param, grad, velocity, hyper, c.options));
        expect([passes, submits]).toEqual([1, 1]);
        p = sgdRef(p, buf, Float32Array.from(g), lr, o);
      }
      expectStep(await param.read(), start, p, 'param');
      if (buf) expectClose(await velocity.read(), buf, 'velocity');
      release(param, grad, velocity, hyper);
    });
  });

  it('one hyper tensor drives several parameters in one submit; GPU memory stays flat as lr changes', async () => {
    const rt = await getRuntime();
    const rnd = makeRandom(30);
    const a0 = rnd.array(10), b0 = rnd.array(300), ga = rnd.array(10), gb = rnd.array(300);
    const a = rt.createTensor([10], a0), b = rt.createTensor([300], b0);
    const gA = rt.createTensor([10], ga), gB = rt.createTensor([300], gb);
    const vA = rt.createTensor([10], new Float32Array(10)), vB = rt.createTensor([300], new Float32Array(300));
    const hyper = rt.createTensor([1], new Float32Array([0.5]));
    await rt.run('warm-up', (rec) => { sgdStep(rec, a, gA, vA, hyper); sgdStep(rec, b, gB, vB, hyper); });
    const held = rt.bytesHeld, read = rt.stats.bytesRead;
    const pa = Float64Array.from(a0), pb = Float64Array.from(b0);
    const bufA = new Float64Array(10).fill(NaN), bufB = new Float64Array(300).fill(NaN);
    let qa = sgdRef(pa, bufA, ga, 0.5, { momentum: 0.9, weightDecay: 0, nesterov: false });
    let qb = sgdRef(pb, bufB, gb, 0.5, { momentum: 0.9, weightDecay: 0, nesterov: false });
    for (const lr of LRS) {
      setHyper(hyper, [lr]);
      const { passes, submits } = await counted(rt, 'two params', (rec) => { sgdStep(rec, a, gA, vA, hyper); sgdStep(rec, b, gB, vB, hyper); });
      expect([passes, submits]).toEqual([2, 1]);
      qa = sgdRef(qa, bufA, ga, lr, { momentum: 0.9, weightDecay: 0, nesterov: false });
      qb = sgdRef(qb, bufB, gb, lr, { momentum: 0.9, weightDecay: 0, nesterov: false });
    }
    // The learning rate lives in `hyper`, not the uniform: no new uniform per value, nothing read back.
    expect(rt.bytesHeld).toBe(held);
    expect(rt.stats.bytesRead).toBe(read);
    expectStep(await a.read(), a0, qa, 'a');
    expectStep(await b.read(), b0, qb, 'b');
    release(a, b, gA, gB, vA, vB, hyper);
  });
});

describe('adamStep', () => {
  const CASES: Array<{ name: string; options: AdamOptions; t0?: number; gScale?: number }> = [
    { name: 'Adam defaults', options: {} },
    { name: 'Adam with L2 weight decay 0.1, betas (0.8, 0.99), eps 1e-3', options: { weightDecay: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-3 } },
    { name: 'AdamW (decoupled, default weight decay 0.01)', options: { decoupled: true } },
    { name: 'AdamW with weight decay 0.3', options: { decoupled: true, weightDecay: 0.3 } },
    { name: 'steps 498..502 (1 - beta2^t crosses the expm1 switch)', options: {}, t0: 498 },
    { name: 'tiny gradients (eps matters)', options: { epsilon: 1e-6 }, gScale: 1e-6 },
  ];
  CASES.forEach((c, index) => {
    it(`${c.name}: 5 steps with changing lr match PyTorch's rule in float64`, async () => {
      const rt = await getRuntime();
      const decoupled = c.options.decoupled ?? false;
      const o: Required<AdamOptions> = {
        beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: decoupled ? 0.01 : 0, decoupled, ...c.options,
      };
      const rnd = makeRandom(40 + index);
      const start = rnd.array(N);
      const param = rt.createTensor(SHAPE, start), grad = rt.createTensor(SHAPE);
      const zeros = new Float32Array(N);
      const m = rt.createTensor(SHAPE, zeros), v = rt.createTensor(SHAPE, zeros);
      const hyper = rt.createTensor([2], new Float32Array(2));
      const p = Float64Array.from(start), mRef = new Float64Array(N), vRef = new Float64Array(N);
      const t0 = c.t0 ?? 1;
      for (let s = 0; s < LRS.length; s++) {
        const g = new Float32Array(rnd.array(N).map((x) => x * (c.gScale ?? 1)));
        rt.device.queue.writeBuffer(grad.buffer, 0, g);
        setHyper(hyper, [LRS[s]!, t0 + s]);
        const { passes, submits } = await counted(rt, 'adam', (rec) => adamStep(rec, param, grad, m, v, hyper, c.options));
        expect([passes, submits]).toEqual([1, 1]);
        adamRef(p, mRef, vRef, g, LRS[s]!, t0 + s, o);
      }
      expectStep(await param.read(), start, p, 'param');
      expectClose(await m.read(), mRef, 'm');
      expectClose(await v.read(), vRef, 'v');
      release(param, grad, m, v, hyper);
    });
  });
});

describe('optimizer errors', () => {
  it('ShapeError: mismatched shapes, dtypes, a short hyper, aliased tensors', async () => {
    const rt = await getRuntime();
    const p = rt.createTensor([4, 3]), g = rt.createTensor([4, 3]), s = rt.createTensor([4, 3]), s2 = rt.createTensor([4, 3]);
    const flat = rt.createTensor([12]), u = rt.createTensor([4, 3], new Uint32Array(12), 'u32');
    const h1 = rt.createTensor([1]), h2 = rt.createTensor([2]);
    const sgd = (...a: Parameters<typeof sgdStep> extends [unknown, ...infer R] ? R : never) => rt.run('sgd', (rec) => sgdStep(rec, ...a));
    const adam = (...a: Parameters<typeof adamStep> extends [unknown, ...infer R] ? R : never) => rt.run('adam', (rec) => adamStep(rec, ...a));
    await expect(sgd(p, flat, s, h1)).rejects.toThrow(/sgdStep: grad \[12\] does not match param \[4,3\]/);
    await expect(sgd(p, g, u, h1)).rejects.toThrow(/velocity \[4,3\] must be f32, got u32/);
    await expect(sgd(p, p, s, h1)).rejects.toThrow(/param and grad must be different tensors/);
    await expect(sgd(p, g, s, u)).rejects.toThrow(/hyper must be an f32 tensor of at least 1 values, got \[4,3\] u32/);
    await expect(sgd(p, g, s, s)).rejects.toThrow(/velocity and hyper must be different tensors/);
    await expect(adam(p, g, s, s2, h1)).rejects.toThrow(/adamStep: hyper must be an f32 tensor of at least 2 values, got \[1\]/);
    await expect(adam(p, g, s, s, h2)).rejects.toThrow(/m and v must be different tensors/);
    await expect(adam(p, g, s, flat, h2)).rejects.toBeInstanceOf(ShapeError);
    expect(() => setHyper(h1, [0.1, 2])).toThrow(/2 values do not fit hyper \[1\]/);
    release(p, g, s, s2, flat, u, h1, h2);
  });

  it('OutOfRangeError: hyper-parameters outside their range', async () => {
    const rt = await getRuntime();
    const p = rt.createTensor([3]), g = rt.createTensor([3]), s = rt.createTensor([3]), s2 = rt.createTensor([3]), h = rt.createTensor([2]);
    const sgd = (o: SgdOptions) => rt.run('sgd', (rec) => sgdStep(rec, p, g, s, h, o));
    const adam = (o: AdamOptions) => rt.run('adam', (rec) => adamStep(rec, p, g, s, s2, h, o));
    await expect(sgd({ momentum: -0.1 })).rejects.toThrow(/momentum -0.1 must be in \[0, Infinity\]/);
    await expect(sgd({ momentum: 0, nesterov: true })).rejects.toThrow(/nesterov momentum needs momentum > 0/);
    await expect(sgd({ weightDecay: NaN })).rejects.toBeInstanceOf(OutOfRangeError);
    await expect(adam({ beta1: 1 })).rejects.toThrow(/beta1 1 must be in \[0, 1\)/);
    await expect(adam({ beta2: -0.5 })).rejects.toBeInstanceOf(OutOfRangeError);
    await expect(adam({ epsilon: -1 })).rejects.toBeInstanceOf(OutOfRangeError);
    await expect(adam({ decoupled: true, weightDecay: -1 })).rejects.toThrow(/adamWStep: weightDecay -1/);
    release(p, g, s, s2, h);
  });
});

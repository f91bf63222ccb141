import { describe, expect, it } from 'vitest';
import { activation, activationBackward, Activation, PReLU, type ActivationKind, type Layer } from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { activationRef, reluBackwardRef, activationBackwardRef, activationDerivative, activationKinks, type RefAttrs } from './ref/activation.js';

const SHAPES = [[1, 1, 1, 1], [2, 3, 7, 5], [1, 16, 17, 19], [3, 1000]];
const KINDS: ActivationKind[] = ['relu', 'leaky_relu', 'elu', 'sigmoid', 'tanh', 'clip'];

describe('activation forward', () => {
  for (const kind of KINDS) {
    for (const shape of SHAPES) {
      it(`${kind} [${shape}]`, async () => {
        const rt = await getRuntime();
        const rnd = makeRandom(shape.reduce((a, b) => a * b) + kind.length);
        const data = rnd.array(shape.reduce((a, b) => a * b), -3, 3);
        const attrs = { alpha: 0.2, min: -0.5, max: 1.5 };
        const x = rt.createTensor(shape, data);
        const y = await rt.run(kind, (rec) => activation(rec, x, { kind, ...attrs }));
        expectClose(await y.read(), activationRef(kind, data, attrs), kind);
        x.release(); y.release();
      });
    }
  }

  it('prelu with per-channel slopes', async () => {
    const rt = await getRuntime();
    const rnd = makeRandom(7);
    const shape = [2, 3, 5, 4];
    const data = rnd.array(120, -2, 2), slopes = rnd.array(3, 0, 0.5);
    const x = rt.createTensor(shape, data), s = rt.createTensor([3], slopes);
    const y = await rt.run('prelu', (rec) => activation(rec, x, { kind: 'prelu', slope: s }));
    expectClose(await y.read(), activationRef('prelu', data, { slope: slopes, channels: 3, plane: 20 }));
  });

  it('handles more than 65535 workgroups of elements (2-D dispatch)', async () => {
    const rt = await getRuntime();
    const n = 65535 * 256 + 1000;
    const data = makeRandom(3).array(n, -1, 1);
    const x = rt.createTensor([n], data);
    const y = await rt.run('relu big', (rec) => activation(rec, x, { kind: 'relu' }));
    expectClose(await y.read(), activationRef('relu', data));
    x.release(); y.release();
  });
});

describe('ReLU backward rules', () => {
  for (const rule of ['deconvnet', 'guided', 'gradient'] as const) {
    it(rule, async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(11);
      const shape = [2, 5, 9, 7];
      const n = 630;
      const xData = rnd.array(n, -1, 1), gData = rnd.array(n, -1, 1);
      const x = rt.createTensor(shape, xData), g = rt.createTensor(shape, gData);
      const dx = await rt.run('relu backward', (rec) => {
        const y = rec.temp(activation(rec, x, { kind: 'relu' }));
        return activationBackward(rec, g, y, { kind: 'relu' }, rule);
      });
      expectClose(await dx.read(), reluBackwardRef(rule, gData, xData), rule);
    });
  }
});

// The other activations have no DeconvNet/guided variants: every mode (and the
// trainer, which calls layer.backward(..., 'gradient')) maps g to g f'(x).
// f' is written from the math (test/ref/activation.ts) and checked here by
// float64 central differences of the forward definition.
describe('backward of leaky ReLU, ELU, sigmoid, tanh, clip and PReLU = g f\'(x) in every mode (float64)', () => {
  const shape = [2, 3, 8, 5];
  const n = 240;
  const CASES: Array<{ kind: 'leaky_relu' | 'elu' | 'sigmoid' | 'tanh' | 'clip' | 'prelu'; attrs: RefAttrs }> = [
    { kind: 'leaky_relu', attrs: { alpha: 0.2 } },
    { kind: 'leaky_relu', attrs: {} },
    { kind: 'elu', attrs: { alpha: 1 } },
    { kind: 'elu', attrs: { alpha: 0.7 } },
    { kind: 'sigmoid', attrs: {} },
    { kind: 'tanh', attrs: {} },
    { kind: 'clip', attrs: { min: -0.5, max: 1.5 } },
    { kind: 'clip', attrs: { min: 0, max: 6 } },
    { kind: 'prelu', attrs: { slope: Float32Array.of(0.1, -0.3, 0.45), channels: 3, plane: 40 } },
    { kind: 'prelu', attrs: { slope: Float32Array.of(0.25), channels: 3, plane: 40 } },
  ];
  const label = (c: (typeof CASES)[number]) => `${c.kind} ${JSON.stringify({ ...c.attrs, slope: c.attrs.slope && Array.from(c.attrs.slope) })}`;

  it('the analytic derivatives equal float64 central differences of the forward definitions', () => {
    const h = 1e-6;
    const xs = makeRandom(5).array(400, -8, 8);
    for (const c of CASES) {
      let checked = 0;
      xs.forEach((v, i) => {
        if (activationKinks(c.kind, c.attrs).some((k) => Math.abs(v - k) < 1e-3)) return;
        const f = (t: number) => {
          const xx = new Float64Array(i + 1);
          xx[i] = t;
          return activationRef(c.kind, xx, c.attrs)[i]!;
        };
        const numeric = (f(v + h) - f(v - h)) / (2 * h);
        expect(Math.abs(activationDerivative(c.kind, v, c.attrs, i) - numeric), `${label(c)} at x = ${v}`).toBeLessThan(1e-7);
        checked++;
      });
      expect(checked, label(c)).toBeGreaterThan(390);
    }
  });

  // With a negative alpha, leaky ReLU's and ELU's outputs are >= 0 on both sides of 0: a rule
  // reading y (as these did, and PReLU's) takes the wrong branch below 0.
  for (const c of [{ kind: 'leaky_relu', attrs: { alpha: -0.3 } }, { kind: 'elu', attrs: { alpha: -0.5 } }] as const) {
    it(`${label(c)} (negative alpha)`, async () => {
      const rt = await getRuntime();
      const xData = makeRandom(23).array(n, -3, 3), gData = makeRandom(24).array(n, -1, 1);
      const x = rt.createTensor(shape, xData), g = rt.createTensor(shape, gData);
      const layer = new Activation({ kind: c.kind, alpha: c.attrs.alpha });
      try {
        const dx = await rt.run('backward', (rec) => layer.backward(rec, g, { input: x, output: rec.temp(layer.forward(rec, x).output) }, 'gradient'));
        const got = await dx.read();
        dx.release();
        expectClose(got, activationBackwardRef(c.kind, gData, xData, c.attrs), label(c));
      } finally {
        x.release(); g.release();
      }
    });
  }

  for (const c of CASES) {
    it(label(c), async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(19 + c.kind.length);
      // Both sides of every kink and the saturated tails of sigmoid and tanh.
      const xData = rnd.array(n, -7, 7), gData = rnd.array(n, -1, 1);
      const expected = activationBackwardRef(c.kind, gData, xData, c.attrs);
      const x = rt.createTensor(shape, xData), g = rt.createTensor(shape, gData);
      const { slope, min, max, alpha } = c.attrs;
      const layer: Layer = c.kind === 'prelu' ? new PReLU({ slope: slope as Float32Array }) : new Activation({ kind: c.kind, alpha, min, max });
      layer.build(rt, shape.slice(1));
      for (const mode of ['deconvnet', 'guided', 'gradient'] as const) {
        const dx = await rt.run('backward', (rec) => {
          const y = rec.temp(layer.forward(rec, x).output);
          return layer.backward(rec, g, { input: x, output: y }, mode);
        });
        expectClose(await dx.read(), expected, `${label(c)} ${mode}`);
        dx.release();
      }
      layer.destroy();
      x.release(); g.release();
    });
  }
});

// The activations users bring from Keras / TF.js and ONNX (SELU, hard sigmoid,
// GELU exact and tanh, swish/SiLU, hard swish, softplus, softsign, mish):
// forward against float64 definitions, backward against float64 central
// differences, in every projection mode (none of them has a DeconvNet rule
// of its own: the signal goes back through the exact gradient).
import { describe, expect, it } from 'vitest';
import { activation, activationBackward, Activation, ShapeError, type ActivationKind } from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { smoothActivation, smoothBackwardRef, type SmoothKind, type SmoothAttrs } from './ref/activation_smooth.js';

const CASES: Array<{ kind: SmoothKind; attrs?: SmoothAttrs }> = [
  { kind: 'selu' },
  { kind: 'selu', attrs: { alpha: 1.2, gamma: 0.9 } },
  { kind: 'hard_sigmoid' },
  { kind: 'hard_sigmoid', attrs: { alpha: 1 / 6, beta: 0.5 } },
  { kind: 'gelu' },
  { kind: 'gelu_tanh' },
  { kind: 'swish' },
  { kind: 'swish', attrs: { alpha: 1.7 } },
  { kind: 'hard_swish' },
  { kind: 'softplus' },
  { kind: 'softsign' },
  { kind: 'mish' },
];
const SHAPES = [[1, 1, 1, 1], [2, 3, 7, 5], [3, 1000]];
const label = (c: (typeof CASES)[number]) => `${c.kind}${c.attrs ? ` ${JSON.stringify(c.attrs)}` : ''}`;

describe('smooth activations: forward vs float64', () => {
  for (const c of CASES) {
    for (const shape of SHAPES) {
      it(`${label(c)} [${shape}]`, async () => {
        const rt = await getRuntime();
        const n = shape.reduce((a, b) => a * b);
        // Wide enough for the tails: exp overflow, erf's far tail, saturation of the hard ones.
        const data = makeRandom(n + c.kind.length).array(n, -8, 8);
        if (n > 4) data.set([0, -30, 30, 90, -90]);
        const x = rt.createTensor(shape, data);
        const y = await rt.run(c.kind, (rec) => activation(rec, x, { kind: c.kind as ActivationKind, ...c.attrs }));
        expectClose(await y.read(), Float64Array.from(data, (v) => smoothActivation(c.kind, v, c.attrs)), label(c));
        x.release(); y.release();
      });
    }
  }
});

describe('smooth activations: backward = exact gradient in every mode (float64 central differences)', () => {
  for (const c of CASES) {
    it(label(c), async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(31 + c.kind.length);
      const shape = [2, 4, 9, 7];
      const n = 504;
      const xData = rnd.array(n, -5, 5), gData = rnd.array(n, -1, 1);
      const expected = smoothBackwardRef(c.kind, gData, xData, c.attrs);
      const x = rt.createTensor(shape, xData), g = rt.createTensor(shape, gData);
      const layer = new Activation({ kind: c.kind, ...c.attrs });
      for (const mode of ['deconvnet', 'guided', 'gradient'] as const) {
        // Through the layer, as the DeconvNet and the trainer call it.
        const dx = await rt.run('backward', (rec) => {
          const y = rec.temp(layer.forward(rec, x).output);
          return layer.backward(rec, g, { input: x, output: y }, mode);
        });
        expectClose(await dx.read(), expected, `${label(c)} ${mode}`, { rel: 1e-5, elem: 2e-4 });
        dx.release();
      }
      x.release(); g.release();
    });
  }

  it('a rule that reads the forward input refuses to run without it', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([4], Float32Array.of(1, 2, 3, 4));
    await expect(rt.run('gelu backward', (rec) => activationBackward(rec, x, x, { kind: 'gelu' }, 'gradient'))).rejects.toThrow(ShapeError);
    x.release();
  });
});

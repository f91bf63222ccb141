// ONNX ops beyond the classic ConvNet set, each in a tiny model written here
// with onnx-proto, imported, and compared with float64 evaluations written
// from the ONNX operator definitions: the smooth activations (Selu,
// HardSigmoid, HardSwish, Gelu, Softplus, Softsign, Mish), forward and their
// backward (the gradient, in every projection mode).
import { describe, expect, it } from 'vitest';
import { importOnnx, createDeconvNet, FormatError } from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { onnxModel, type OnnxNodeSpec } from './helpers/onnx_models.js';
import { smoothActivation, smoothBackwardRef, type SmoothKind, type SmoothAttrs } from './ref/activation_smooth.js';

const SHAPE = [2, 3, 5, 4];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

async function expectOnnxError(bytes: Uint8Array, type: new (...a: never[]) => Error, message: RegExp): Promise<void> {
  const rt = await getRuntime();
  let error: unknown;
  try { (await importOnnx(rt, bytes, { fileName: 'ops.onnx' })).model.destroy(); } catch (e) { error = e; }
  expect(error, String(message)).toBeInstanceOf(type);
  expect((error as Error).message).toMatch(message);
}

describe('ONNX smooth activations', () => {
  const cases: Array<{ node: Omit<OnnxNodeSpec, 'inputs' | 'outputs'>; kind: SmoothKind; attrs?: SmoothAttrs; opset?: number }> = [
    { node: { op: 'Selu' }, kind: 'selu' },
    { node: { op: 'Selu', attrs: { alpha: 1.5, gamma: { float: 0.8 } } }, kind: 'selu', attrs: { alpha: 1.5, gamma: 0.8 } },
    { node: { op: 'HardSigmoid' }, kind: 'hard_sigmoid' },
    { node: { op: 'HardSigmoid', attrs: { alpha: 0.3, beta: 0.4 } }, kind: 'hard_sigmoid', attrs: { alpha: 0.3, beta: 0.4 } },
    { node: { op: 'HardSwish' }, kind: 'hard_swish', opset: 14 },
    { node: { op: 'Gelu' }, kind: 'gelu', opset: 20 },
    { node: { op: 'Gelu', attrs: { approximate: 'tanh' } }, kind: 'gelu_tanh', opset: 20 },
    { node: { op: 'Softplus' }, kind: 'softplus' },
    { node: { op: 'Softsign' }, kind: 'softsign' },
    { node: { op: 'Mish' }, kind: 'mish', opset: 18 },
  ];
  for (const c of cases) {
    it(`${c.node.op} ${JSON.stringify(c.node.attrs ?? {})}: forward and backward in every mode vs float64`, async () => {
      const rt = await getRuntime();
      const bytes = onnxModel({
        opset: c.opset, nodes: [{ ...c.node, name: 'act', inputs: ['x'], outputs: ['y'] }],
        inputs: [{ name: 'x', dims: ['N', 3, 5, 4] }], outputs: ['y'],
      });
      const { model } = await importOnnx(rt, bytes);
      expect(model.layers[0]!.kind).toBe(c.kind);
      const x = makeRandom(c.kind.length).array(size(SHAPE), -5, 5);
      const fwd = await model.forward(x);
      expectClose(await fwd.readOutput(), Float64Array.from(x, (v) => smoothActivation(c.kind, v, c.attrs)), 'forward');
      // The whole map of channel 1 from 1: dx = f'(x) there, 0 elsewhere.
      const g = Float64Array.from(x, (_, i) => (Math.floor(i / 20) % 3 === 1 ? 1 : 0));
      const expected = smoothBackwardRef(c.kind, g, x, c.attrs);
      for (const mode of ['deconvnet', 'guided', 'gradient'] as const) {
        const proj = await createDeconvNet(model).project(fwd, { layer: 'act', channel: 1, position: 'all', seed: 'one', mode });
        expectClose((await proj.read()).data, expected, `backward ${mode}`, { rel: 1e-5, elem: 2e-4 });
        proj.release();
      }
      fwd.release();
      model.destroy();
    });
  }

  it('Gelu with an unknown approximation is a FormatError naming it', async () => {
    await expectOnnxError(onnxModel({
      opset: 20, nodes: [{ op: 'Gelu', name: 'g', inputs: ['x'], outputs: ['y'], attrs: { approximate: 'erf' } }],
      inputs: [{ name: 'x', dims: [1, 3, 5, 4] }], outputs: ['y'],
    }), FormatError, /ops.onnx: node 0 "g" \(Gelu\): approximate "erf"/);
  });
});

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createDeconvNet, type Model, type Runtime } from '../src/index.js';
import { expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { makeTestNet, testNetModel, TEST_INPUT_SHAPE } from './helpers/nets.js';
import { refForward, refProject, finiteDifferenceGradient, type Mode, type T } from './ref/net.js';

const BATCH = 2;
const net = makeTestNet(5);
const inputData = makeRandom(99).array(BATCH * TEST_INPUT_SHAPE.reduce((a, b) => a * b), 0, 1);
const input: T = { data: Float64Array.from(inputData), shape: [BATCH, ...TEST_INPUT_SHAPE] };
const saved = refForward(net.ref, input);

let rt: Runtime;
let model: Model;
beforeAll(async () => {
  ({ rt, model } = await testNetModel(net));
});
afterAll(() => model?.destroy());

describe('ConvNet forward', () => {
  it('every layer output equals the float64 reference', async () => {
    const fwd = await model.forward(inputData);
    for (let i = 0; i < saved.length; i++) {
      expectClose(await fwd.activations[i]!.read(), saved[i]!.output.data, `layer ${model.layers[i]!.name}`);
    }
    expect(model.info.map((l) => l.outputShape)).toEqual([
      [6, 19, 17], [6, 19, 17], [6, 9, 8], [6, 9, 8], [8, 5, 4], [8, 3, 2], [48], [10], [5], [5],
    ]);
    fwd.release();
  });
});

type Case = { layer: string; channel: number; position: 'max' | 'all' | { y: number; x: number } };
const CASES: Case[] = [
  { layer: 'conv1', channel: 2, position: 'max' },
  { layer: 'pool1', channel: 4, position: 'all' },
  { layer: 'norm1', channel: 1, position: { y: 4, x: 3 } },
  { layer: 'conv2', channel: 5, position: 'max' },
  { layer: 'pool2', channel: 7, position: 'max' },
  { layer: 'fc1', channel: 3, position: 'max' },
  { layer: 'prob', channel: 1, position: 'max' },
];

describe('DeconvNet projection equals the float64 reference', () => {
  for (const mode of ['deconvnet', 'guided', 'gradient'] as Mode[]) {
    for (const c of CASES) {
      it(`${mode}: ${c.layer} channel ${c.channel} ${JSON.stringify(c.position)}`, async () => {
        const top = model.layerIndex(c.layer);
        const fwd = await model.forward(inputData);
        const proj = await createDeconvNet(model).project(fwd, { layer: c.layer, channel: c.channel, position: c.position, mode });
        const { data, shape } = await proj.read();
        expect(shape).toEqual([BATCH, ...TEST_INPUT_SHAPE]);
        const ref = refProject(net.ref, saved, top, c.channel, c.position, mode);
        expectClose(data, ref.data, `${mode} projection of ${c.layer}`, { rel: 1e-5, elem: 1e-4 });
        proj.release();
        fwd.release();
      });
    }
  }
});

describe("mode 'gradient' is the true gradient of the chosen activation", () => {
  // A unit of fc1 that is active (ReLU open) in both images, or its gradient is zero.
  const fc1 = saved[7]!.output;
  const liveUnit = [...Array(10).keys()].find((u) => fc1.data[u]! > 0 && fc1.data[10 + u]! > 0)!;
  for (const c of [CASES[0]!, CASES[3]!, CASES[4]!, { layer: 'fc1', channel: liveUnit, position: 'max' } as Case]) {
    it(`d ${c.layer}[${c.channel}] / d input, central differences in float64`, async () => {
      const top = model.layerIndex(c.layer);
      const fwd = await model.forward(inputData);
      const proj = await createDeconvNet(model).project(fwd, { layer: c.layer, channel: c.channel, mode: 'gradient', seed: 'one' });
      const positions = await proj.positions();
      const width = model.info[top]!.outputShape[2] ?? 1;
      const flat = positions.map((p) => p!.y * width + p!.x);
      const numeric = finiteDifferenceGradient(net.ref, input, top, c.channel, flat);
      expect(numeric.some((v) => v !== 0), 'the chosen activation depends on the input').toBe(true);
      expectClose((await proj.read()).data, numeric, 'gradient vs finite differences', { rel: 1e-4, elem: 1e-3 });
      proj.release();
      fwd.release();
    });
  }

  it("seed 'activation' scales the gradient by the activation value", async () => {
    const fwd = await model.forward(inputData);
    const deconv = createDeconvNet(model);
    const one = await deconv.project(fwd, { layer: 'conv2', channel: 5, mode: 'gradient', seed: 'one' });
    const byValue = await deconv.project(fwd, { layer: 'conv2', channel: 5, mode: 'gradient' });
    const act = await fwd.activation('conv2').read();
    const pos = await one.positions();
    const [g1, g2] = [(await one.read()).data, (await byValue.read()).data];
    const per = g1.length / BATCH;
    for (let b = 0; b < BATCH; b++) {
      const a = act[(b * 8 + 5) * 20 + pos[b]!.y * 4 + pos[b]!.x]!;
      expectClose(g2.subarray(b * per, (b + 1) * per), Array.from(g1.subarray(b * per, (b + 1) * per), (v) => v * a), `image ${b}`);
    }
    one.release(); byValue.release(); fwd.release();
  });
});

describe('per-image positions', () => {
  it('projects a different activation in each image of the batch', async () => {
    const at = [{ y: 1, x: 2 }, { y: 3, x: 0 }];
    const fwd = await model.forward(inputData);
    const proj = await createDeconvNet(model).project(fwd, { layer: 'conv2', channel: 6, position: at, mode: 'guided' });
    const { data } = await proj.read();
    expect(await proj.positions()).toEqual(at);
    const per = data.length / BATCH;
    for (let b = 0; b < BATCH; b++) {
      const ref = refProject(net.ref, saved, model.layerIndex('conv2'), 6, at[b]!, 'guided');
      expectClose(data.subarray(b * per, (b + 1) * per), ref.data.subarray(b * per, (b + 1) * per), `image ${b}`);
    }
    await expect(createDeconvNet(model).project(fwd, { layer: 'conv2', channel: 6, position: [at[0]!] })).rejects.toThrow(/1 positions given for a batch of 2/);
    proj.release(); fwd.release();
  });
});

// Graph models imported from TF.js Layers: a ResNet-style block (conv-bn-relu-
// conv-bn + a projected skip, Add, ReLU) and an Inception-style block
// (parallel 1x1 / 1x1-3x3 / pool-1x1 branches + Concatenate). Forward equals
// `model.predict`; `mode: 'gradient'` projections with `seed: 'one'` equal
// TF.js `tf.grad` of the same activation with respect to the input.
import { describe, expect, it } from 'vitest';
import { createDeconvNet, type Model } from '../src/index.js';
import { importTfjsLayers } from '../src/model/import/tfjs_layers.js';
import { getRuntime } from './helpers/gpu.js';
import {
  tfl, initTf, randomizeWeights, saveTfjs, predictNchw, gradientNchw, randomArray,
} from './helpers/tfjs_models.js';

function expectNear(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  // Relative to the largest reference magnitude: gradients can be well below 1.
  const scale = Math.max(1e-6, ...Array.from(expected, Math.abs));
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  expect(worst, `${what}: max error at ${at} (${actual[at]} vs ${expected[at]})`).toBeLessThanOrEqual(1e-4 * scale);
}

const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => layer.apply(x) as tfl.SymbolicTensor;

/** 8x8x3 -> conv3x3-bn-relu-conv3x3-bn (+ 1x1 conv skip) -> Add -> ReLU -> conv 3x3 stride 2. */
function resnetBlock(): tfl.LayersModel {
  const x = tfl.input({ name: 'x', shape: [8, 8, 3] });
  let h = apply(tfl.layers.conv2d({ name: 'conv_a', filters: 4, kernelSize: 3, padding: 'same', useBias: false }), x);
  h = apply(tfl.layers.batchNormalization({ name: 'bn_a' }), h);
  h = apply(tfl.layers.reLU({ name: 'relu_a' }), h);
  h = apply(tfl.layers.conv2d({ name: 'conv_b', filters: 4, kernelSize: 3, padding: 'same', useBias: false }), h);
  h = apply(tfl.layers.batchNormalization({ name: 'bn_b' }), h);
  const skip = apply(tfl.layers.conv2d({ name: 'skip', filters: 4, kernelSize: 1 }), x);
  const sum = apply(tfl.layers.add({ name: 'add' }), [h, skip]);
  const out = apply(tfl.layers.activation({ name: 'relu_out', activation: 'relu' }), sum);
  const down = apply(tfl.layers.conv2d({ name: 'down', filters: 3, kernelSize: 3, strides: 2, padding: 'same' }), out);
  return tfl.model({ name: 'resnet_block', inputs: x, outputs: down });
}

/** 8x8x4 -> [1x1 (3) | 1x1 (2) -> 3x3 (3) | maxpool 3x3 s1 -> 1x1 (2)] -> Concatenate (8) -> 1x1 conv (4). */
function inceptionBlock(): tfl.LayersModel {
  const x = tfl.input({ name: 'x', shape: [8, 8, 4] });
  const b1 = apply(tfl.layers.conv2d({ name: 'b1_1x1', filters: 3, kernelSize: 1, activation: 'relu' }), x);
  let b2 = apply(tfl.layers.conv2d({ name: 'b2_1x1', filters: 2, kernelSize: 1, activation: 'relu' }), x);
  b2 = apply(tfl.layers.conv2d({ name: 'b2_3x3', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }), b2);
  let b3 = apply(tfl.layers.maxPooling2d({ name: 'b3_pool', poolSize: 3, strides: 1, padding: 'same' }), x);
  b3 = apply(tfl.layers.conv2d({ name: 'b3_1x1', filters: 2, kernelSize: 1, activation: 'relu' }), b3);
  const cat = apply(tfl.layers.concatenate({ name: 'mixed', axis: -1 }), [b1, b2, b3]);
  const out = apply(tfl.layers.conv2d({ name: 'head', filters: 4, kernelSize: 1 }), cat);
  return tfl.model({ name: 'inception_block', inputs: x, outputs: out });
}

async function imported(keras: tfl.LayersModel, seed: number): Promise<Model> {
  randomizeWeights(keras, seed);
  const saved = await saveTfjs(keras, 2);
  const { model } = await importTfjsLayers(await getRuntime(), {
    modelJson: saved.json, fileName: `${keras.name}/model.json`, loadWeights: async (p) => saved.shards.get(p)!,
  });
  return model;
}

/** Forward vs predict, then gradient projections of (layer, channel, y, x) vs tf.grad, for a batch of 2. */
async function check(keras: tfl.LayersModel, model: Model, inputShape: number[], cases: Array<{ layer: string; channel: number; y: number; x: number }>): Promise<void> {
  const batch = 2;
  const shape = [batch, ...inputShape];
  const x = randomArray(shape.reduce((a, d) => a * d, 1), 21);
  const fwd = await model.forward(x);
  try {
    expectNear(await fwd.readOutput(), predictNchw(keras, x, shape), `${keras.name} forward`);
    const deconv = createDeconvNet(model);
    for (const c of cases) {
      const proj = await deconv.project(fwd, { layer: c.layer, channel: c.channel, position: { y: c.y, x: c.x }, mode: 'gradient', seed: 'one' });
      const { data, shape: got } = await proj.read();
      proj.release();
      expect(got).toEqual(shape);
      const expected = gradientNchw(keras, c.layer, x, shape, c.channel, c.y, c.x);
      expect(expected.some((v) => v !== 0), `${c.layer} gradient is not all zero`).toBe(true);
      expectNear(data, expected, `${keras.name} d ${c.layer}[${c.channel}, ${c.y}, ${c.x}] / d input`);
    }
  } finally {
    fwd.release();
  }
}

describe('graph models from TF.js Layers', () => {
  it('ResNet-style block: forward and gradient projections through the Add equal tf.grad', async () => {
    await initTf();
    const keras = resnetBlock();
    const model = await imported(keras, 31);
    const add = model.info.find((l) => l.name === 'add')!;
    expect(add.kind).toBe('Add');
    expect(add.inputs).toEqual(['bn_b', 'skip']);
    await check(keras, model, [3, 8, 8], [
      { layer: 'relu_out', channel: 2, y: 3, x: 4 },
      { layer: 'add', channel: 1, y: 0, x: 7 },
      { layer: 'down', channel: 0, y: 2, x: 1 },
    ]);
    model.destroy();
  });

  it('Inception-style block: forward and gradient projections through the Concatenate equal tf.grad', async () => {
    await initTf();
    const keras = inceptionBlock();
    const model = await imported(keras, 32);
    const mixed = model.info.find((l) => l.name === 'mixed')!;
    expect(mixed.kind).toBe('Concat');
    expect(mixed.outputShape).toEqual([8, 8, 8]);
    await check(keras, model, [4, 8, 8], [
      // Channels 3..5 of the concatenation are the 3x3 branch, 6..7 the pool branch.
      { layer: 'mixed', channel: 4, y: 4, x: 4 },
      { layer: 'mixed', channel: 7, y: 0, x: 0 },
      { layer: 'head', channel: 1, y: 5, x: 2 },
    ]);
    model.destroy();
  });
});

// TF.js Layers import: models built and saved here with tfjs-layers (cpu
// backend), imported from their model.json + shards, and run forward on the
// GPU; outputs (and every image-shaped intermediate) equal `model.predict`.
// Then the bad files: each gets a typed error naming the file and the place.
import { describe, expect, it } from 'vitest';
import {
  DeconvNetError, FormatError, ShapeError, UnsupportedError, type Model,
} from '../src/index.js';
import {
  importTfjsLayers, tfjsLayersSpec, tfjsWeightPaths, isTfjsLayersModelJson,
} from '../src/model/import/tfjs_layers.js';
import { loadModel } from '../src/model/load.js';
import { getRuntime } from './helpers/gpu.js';
import {
  tfl, initTf, randomizeWeights, saveTfjs, predictNchw, gradientNchw, randomArray, nchwToNhwc, nhwcToNchw, type SavedTfjs,
} from './helpers/tfjs_models.js';
import { expectProjections, kerasConvWeight, kerasDepthwiseWeight } from './helpers/projection.js';
import type { RefLayer } from './ref/net.js';

/** The bar for imported models: every element within 1e-4 (relative to the output's largest magnitude, floored at 1). */
function expectNear(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  expect(worst, `${what}: max error at ${at} (${actual[at]} vs ${expected[at]})`).toBeLessThanOrEqual(1e-4 * scale);
}

async function importSaved(saved: SavedTfjs, fileName = 'model.json'): Promise<Model> {
  const rt = await getRuntime();
  const { model, format } = await importTfjsLayers(rt, {
    modelJson: saved.json,
    fileName,
    loadWeights: async (path) => {
      const b = saved.shards.get(path);
      if (!b) throw new Error(`no shard ${path}`);
      return b;
    },
  });
  expect(format).toBe('tfjs-layers');
  return model;
}

/**
 * Forward on the GPU vs model.predict, for the outputs and for every Keras
 * layer whose output is an image (our node of that name holds it in NCHW).
 */
async function compareWithTfjs(keras: tfl.LayersModel, model: Model, inputShape: number[], batch = 2, seed = 11): Promise<void> {
  const x = randomArray(batch * inputShape.reduce((a, d) => a * d, 1), seed);
  const fwd = await model.forward(x);
  try {
    const n = keras.outputs.length;
    for (let k = 0; k < n; k++) {
      expectNear(await fwd.outputs[k]!.read(), predictNchw(keras, x, [batch, ...inputShape], k), `output ${k}`);
    }
    for (const layer of keras.layers) {
      const out = layer.output as tfl.SymbolicTensor;
      if (out.shape.length !== 4 || !model.layers.some((l) => l.name === layer.name)) continue;
      const sub = tfl.model({ inputs: keras.inputs, outputs: out });
      expectNear(await fwd.activation(layer.name).read(), predictNchw(sub, x, [batch, ...inputShape]), `layer ${layer.name}`);
    }
  } finally {
    fwd.release();
  }
}

/** Sequential, 12x12x3, first layer with inputShape: conv+relu, BN, max pool, depthwise (x2, tanh), zero padding, separable (sigmoid), average pool (same), Flatten, Dropout, Dense (elu), Dense, Softmax. */
function modelA(): tfl.Sequential {
  const m = tfl.sequential({ name: 'a' });
  m.add(tfl.layers.conv2d({ name: 'conv1', inputShape: [12, 12, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tfl.layers.batchNormalization({ name: 'bn1', epsilon: 0.01 }));
  m.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  m.add(tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2, activation: 'tanh' }));
  m.add(tfl.layers.zeroPadding2d({ name: 'zp', padding: [[1, 0], [0, 1]] }));
  m.add(tfl.layers.separableConv2d({ name: 'sep', filters: 5, kernelSize: 3, padding: 'same', activation: 'sigmoid' }));
  m.add(tfl.layers.averagePooling2d({ name: 'avg', poolSize: 2, strides: 2, padding: 'same' }));
  m.add(tfl.layers.flatten({ name: 'flat' }));
  m.add(tfl.layers.dropout({ name: 'drop', rate: 0.5 }));
  m.add(tfl.layers.dense({ name: 'fc1', units: 6, activation: 'elu' }));
  m.add(tfl.layers.dense({ name: 'fc2', units: 4 }));
  m.add(tfl.layers.softmax({ name: 'prob' }));
  return m;
}

/** Sequential with an explicit InputLayer, 6x6x2: strided rectangular conv without bias, Conv2DTranspose same (+relu) and valid with kernel < stride, LeakyReLU, dilated conv (relu6), ReLU(max 6), Activation sigmoid and linear, global average pooling, Dense softmax. */
function modelB(): tfl.Sequential {
  const m = tfl.sequential({ name: 'b' });
  m.add(tfl.layers.inputLayer({ name: 'pixels', inputShape: [6, 6, 2] }));
  m.add(tfl.layers.conv2d({ name: 'c1', filters: 3, kernelSize: [3, 2], strides: [2, 1], useBias: false }));
  m.add(tfl.layers.conv2dTranspose({ name: 'ct1', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(tfl.layers.leakyReLU({ name: 'lrelu', alpha: 0.2 }));
  m.add(tfl.layers.conv2dTranspose({ name: 'ct2', filters: 2, kernelSize: 2, strides: 3, padding: 'valid' }));
  m.add(tfl.layers.conv2d({ name: 'dil', filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu6' }));
  m.add(tfl.layers.reLU({ name: 'r6', maxValue: 6 }));
  m.add(tfl.layers.activation({ name: 'sig', activation: 'sigmoid' }));
  m.add(tfl.layers.activation({ name: 'lin', activation: 'linear' }));
  m.add(tfl.layers.globalAveragePooling2d({ name: 'gap' }));
  m.add(tfl.layers.dense({ name: 'out', units: 3, activation: 'softmax' }));
  return m;
}

/**
 * Functional, 8x8x3, two outputs: Reshape 3-D -> 2-D -> Flatten -> Dense ->
 * Reshape 2-D... -> 3-D -> conv -> global max pooling -> tanh; and a Flatten of
 * an image concatenated with a plain vector (HWC order restored) -> Dense.
 */
function modelC(): tfl.LayersModel {
  const img = tfl.input({ name: 'img', shape: [8, 8, 3] });
  const c = tfl.layers.conv2d({ name: 'c', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(img) as tfl.SymbolicTensor;
  const rs2 = tfl.layers.reshape({ name: 'rs2d', targetShape: [16, 16] }).apply(c) as tfl.SymbolicTensor;
  const f2 = tfl.layers.flatten({ name: 'f2' }).apply(rs2) as tfl.SymbolicTensor;
  const d1 = tfl.layers.dense({ name: 'd1', units: 32 }).apply(f2) as tfl.SymbolicTensor;
  const rs3 = tfl.layers.reshape({ name: 'rs3d', targetShape: [4, 4, 2] }).apply(d1) as tfl.SymbolicTensor;
  const c2 = tfl.layers.conv2d({ name: 'c2', filters: 3, kernelSize: 2 }).apply(rs3) as tfl.SymbolicTensor;
  const gmp = tfl.layers.globalMaxPooling2d({ name: 'gmp' }).apply(c2) as tfl.SymbolicTensor;
  const out1 = tfl.layers.activation({ name: 'out1', activation: 'tanh' }).apply(gmp) as tfl.SymbolicTensor;
  const f1 = tfl.layers.flatten({ name: 'f1' }).apply(c) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ name: 'cat', axis: -1 }).apply([f1, d1]) as tfl.SymbolicTensor;
  const out2 = tfl.layers.dense({ name: 'd2', units: 5 }).apply(cat) as tfl.SymbolicTensor;
  return tfl.model({ name: 'c', inputs: img, outputs: [out1, out2] });
}

/**
 * Sequential, 7x7x3, every activation users bring beyond the ReLU family, as
 * layer activation strings (fused after conv/dense) and as Activation layers:
 * selu, gelu, swish, hardSigmoid, softplus, softsign, gelu_new (tanh), mish.
 */
function modelD(): tfl.Sequential {
  const m = tfl.sequential({ name: 'd' });
  m.add(tfl.layers.conv2d({ name: 'c1', inputShape: [7, 7, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'selu' }));
  m.add(tfl.layers.activation({ name: 'a_gelu', activation: 'gelu' }));
  m.add(tfl.layers.conv2d({ name: 'c2', filters: 4, kernelSize: 3, padding: 'same', activation: 'swish' }));
  m.add(tfl.layers.activation({ name: 'a_hsig', activation: 'hardSigmoid' }));
  m.add(tfl.layers.conv2d({ name: 'c3', filters: 3, kernelSize: 2, activation: 'softplus' }));
  m.add(tfl.layers.activation({ name: 'a_softsign', activation: 'softsign' }));
  m.add(tfl.layers.conv2d({ name: 'c4', filters: 3, kernelSize: 2, activation: 'gelu_new' }));
  m.add(tfl.layers.activation({ name: 'a_mish', activation: 'mish' }));
  m.add(tfl.layers.flatten({ name: 'flat' }));
  m.add(tfl.layers.dense({ name: 'fc', units: 5, activation: 'selu' }));
  m.add(tfl.layers.dense({ name: 'out', units: 3, activation: 'hardSigmoid' }));
  return m;
}

/** UpSampling2D, nearest (2x3) and bilinear (2x2), between convolutions. */
function modelUp(): tfl.Sequential {
  const m = tfl.sequential({ name: 'up' });
  m.add(tfl.layers.conv2d({ name: 'c1', inputShape: [4, 5, 2], filters: 3, kernelSize: 3, padding: 'same' }));
  m.add(tfl.layers.upSampling2d({ name: 'up_nearest', size: [2, 3] }));
  m.add(tfl.layers.conv2d({ name: 'c2', filters: 2, kernelSize: 3 }));
  m.add(tfl.layers.upSampling2d({ name: 'up_bilinear', size: [2, 2], interpolation: 'bilinear' }));
  return m;
}

/**
 * Channels-first Sequential, input Keras [3, 9, 8] (our NCHW as it is):
 * conv, max pool, zero padding, depthwise, average pool, all
 * channels_first; then a channels_last conv on the same tensor (a Transpose
 * between them) and a channels_first Flatten before the Dense.
 */
function modelE(): tfl.Sequential {
  const cf = { dataFormat: 'channelsFirst' as const };
  const m = tfl.sequential({ name: 'e' });
  m.add(tfl.layers.conv2d({ name: 'c1', inputShape: [3, 9, 8], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...cf }));
  m.add(tfl.layers.maxPooling2d({ name: 'pool', poolSize: 2, ...cf }));
  m.add(tfl.layers.zeroPadding2d({ name: 'zp', padding: [[1, 0], [0, 2]], ...cf }));
  m.add(tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 2, depthMultiplier: 2, ...cf }));
  m.add(tfl.layers.averagePooling2d({ name: 'avg', poolSize: 2, strides: 1, ...cf }));
  m.add(tfl.layers.conv2d({ name: 'c2', filters: 3, kernelSize: 2, activation: 'tanh' }));
  m.add(tfl.layers.conv2d({ name: 'c3', filters: 5, kernelSize: 1, ...cf }));
  m.add(tfl.layers.flatten({ name: 'flat', ...cf }));
  m.add(tfl.layers.dense({ name: 'fc', units: 4 }));
  return m;
}

/**
 * Functional with shared layers: one conv applied to two 6x6x2 inputs
 * (siamese), one Dense applied to both flattened branches, the results added;
 * the conv's second output is also a model output.
 */
function modelF(): tfl.LayersModel {
  const a = tfl.input({ name: 'a', shape: [6, 6, 2] });
  const b = tfl.input({ name: 'b', shape: [6, 6, 2] });
  const conv = tfl.layers.conv2d({ name: 'shared_conv', filters: 3, kernelSize: 3, activation: 'relu' });
  const flat = tfl.layers.flatten({ name: 'flat' });
  const dense = tfl.layers.dense({ name: 'shared_fc', units: 4, activation: 'tanh' });
  const ca = conv.apply(a) as tfl.SymbolicTensor, cb = conv.apply(b) as tfl.SymbolicTensor;
  const fa = dense.apply(flat.apply(ca)) as tfl.SymbolicTensor, fb = dense.apply(flat.apply(cb)) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'sum' }).apply([fa, fb]) as tfl.SymbolicTensor;
  return tfl.model({ name: 'f', inputs: [a, b], outputs: [sum, cb] });
}

describe('TF.js Layers import: forward equals model.predict', () => {
  it('Sequential A (conv, BN, pools, depthwise, padding, separable, flatten, dropout, dense, softmax) from 3 shards', async () => {
    await initTf();
    const keras = modelA();
    randomizeWeights(keras, 1);
    const saved = await saveTfjs(keras, 3);
    expect(saved.paths.length).toBe(3);
    const model = await importSaved(saved, 'a/model.json');
    expect(model.inputShape).toEqual([3, 12, 12]);
    // The Flatten feeds Dense directly: its HWC order is absorbed by the kernel rows, no Transpose node.
    expect(model.layers.some((l) => l.kind === 'Transpose')).toBe(false);
    await compareWithTfjs(keras, model, [3, 12, 12]);
    model.destroy();
  });

  it('Sequential B (InputLayer, strided/transposed/dilated convs, ReLU/LeakyReLU/Activation, global average pooling)', async () => {
    await initTf();
    const keras = modelB();
    randomizeWeights(keras, 2);
    const model = await importSaved(await saveTfjs(keras, 2), 'b/model.json');
    expect(model.inputs.map((i) => i.name)).toEqual(['pixels']);
    expect(model.info.find((l) => l.name === 'ct2')!.outputShape).toEqual([2, 12, 30]);
    await compareWithTfjs(keras, model, [2, 6, 6], 3);
    model.destroy();
  });

  it('gradient projections through Conv2DTranspose (same, and valid with kernel < stride) and LeakyReLU equal tf.grad', async () => {
    const { createDeconvNet } = await import('../src/index.js');
    await initTf();
    const keras = modelB();
    randomizeWeights(keras, 13);
    const model = await importSaved(await saveTfjs(keras, 1));
    const x = randomArray(2 * 2 * 6 * 6, 14);
    const fwd = await model.forward(x);
    // At the strongest activation of image 0, where the ReLU fused into ct1 lets the gradient through.
    const strongest = async (layer: string) => {
      const a = await fwd.activation(layer).read();
      const [, ch, h, w] = fwd.activation(layer).shape as number[];
      let best = 0;
      for (let i = 0; i < ch! * h! * w!; i++) if (a[i]! > a[best]!) best = i;
      return { layer, channel: Math.floor(best / (h! * w!)), y: Math.floor(best / w!) % h!, x: best % w! };
    };
    for (const c of [await strongest('ct1'), await strongest('lrelu'), await strongest('ct2'), { layer: 'ct2', channel: 1, y: 10, x: 28 }]) {
      // (Not past 'dil': tfjs has no gradient for dilated convolutions.)
      const proj = await createDeconvNet(model).project(fwd, { layer: c.layer, channel: c.channel, position: { y: c.y, x: c.x }, mode: 'gradient', seed: 'one' });
      const { data } = await proj.read();
      proj.release();
      const expected = gradientNchw(keras, c.layer, x, [2, 2, 6, 6], c.channel, c.y, c.x);
      expect(expected.some((v) => v !== 0), `${c.layer}: a non-zero gradient`).toBe(true);
      const scale = Math.max(...Array.from(expected, Math.abs));
      expect(Math.max(...Array.from(data, (v, i) => Math.abs(v - expected[i]!))), c.layer).toBeLessThanOrEqual(1e-4 * scale);
    }
    // Row 11 of ct2 (kernel 2, stride 3) is only bias: nothing reaches back to the input, in either library.
    const edge = await createDeconvNet(model).project(fwd, { layer: 'ct2', channel: 1, position: { y: 11, x: 29 }, mode: 'gradient', seed: 'one' });
    expect((await edge.read()).data.every((v) => v === 0)).toBe(true);
    expect(gradientNchw(keras, 'ct2', x, [2, 2, 6, 6], 1, 11, 29).every((v) => v === 0)).toBe(true);
    edge.release();
    fwd.release();
    model.destroy();
  });

  it('functional C (Reshape both ways, Flatten + Concatenate, global max pooling, two outputs)', async () => {
    await initTf();
    const keras = modelC();
    randomizeWeights(keras, 3);
    const model = await importSaved(await saveTfjs(keras, 1), 'c/model.json');
    expect(model.outputIndices.length).toBe(2);
    await compareWithTfjs(keras, model, [3, 8, 8]);
    model.destroy();
  });

  it('Sequential D (selu, gelu, swish, hard sigmoid, softplus, softsign, gelu_new, mish: strings and Activation layers)', async () => {
    await initTf();
    const keras = modelD();
    randomizeWeights(keras, 5);
    const saved = await saveTfjs(keras, 1);
    const model = await importSaved(saved, 'd/model.json');
    const kinds = model.layers.map((l) => l.kind);
    for (const k of ['selu', 'gelu', 'swish', 'hard_sigmoid', 'softplus', 'softsign', 'gelu_tanh', 'mish']) expect(kinds, k).toContain(k);
    // Inputs spread over [-3, 3] so every activation sees its tails and the hard sigmoid saturates.
    const x = randomArray(2 * 3 * 7 * 7, 21, -3, 3);
    const fwd = await model.forward(x);
    expectNear(await fwd.readOutput(), predictNchw(keras, x, [2, 3, 7, 7]), 'output');
    for (const name of ['c1', 'a_gelu', 'c2', 'a_hsig', 'c3', 'a_softsign', 'c4', 'a_mish']) {
      const sub = tfl.model({ inputs: keras.inputs, outputs: keras.getLayer(name).output as tfl.SymbolicTensor });
      expectNear(await fwd.activation(name).read(), predictNchw(sub, x, [2, 3, 7, 7]), `layer ${name}`);
    }
    // The backward rules: a gradient projection from the last map equals tf.grad, in every mode
    // (none of these activations has a DeconvNet rule of its own; ReLU is absent).
    const { createDeconvNet } = await import('../src/index.js');
    const expected = gradientNchw(keras, 'a_mish', x, [2, 3, 7, 7], 1, 2, 3);
    const scale = Math.max(...Array.from(expected, Math.abs));
    expect(scale).toBeGreaterThan(0);
    for (const mode of ['gradient', 'guided', 'deconvnet'] as const) {
      const proj = await createDeconvNet(model).project(fwd, { layer: 'a_mish', channel: 1, position: { y: 2, x: 3 }, mode, seed: 'one' });
      const { data } = await proj.read();
      proj.release();
      expect(Math.max(...Array.from(data, (v, i) => Math.abs(v - expected[i]!))), mode).toBeLessThanOrEqual(1e-4 * scale);
    }
    fwd.release();
    model.destroy();
  });

  it('channels_first E (conv, BN axis 1, pools, padding, depthwise, Flatten; a channels_last conv in between)', async () => {
    const { tf } = await import('./helpers/tfjs_models.js');
    await initTf();
    const keras = modelE();
    randomizeWeights(keras, 6);
    const model = await importSaved(await saveTfjs(keras, 1), 'e/model.json');
    // The input is Keras's [C, H, W] as it is; the channels_last conv reads through a Transpose, and back.
    expect(model.inputShape).toEqual([3, 9, 8]);
    expect(model.info.filter((n) => n.kind === 'Transpose').map((n) => n.name)).toEqual(['c2/channels_last', 'c3/channels_first']);
    const x = randomArray(2 * 3 * 9 * 8, 17);
    const fwd = await model.forward(x);
    // tfjs on the same NCHW numbers: channels_first layers give NCHW, which is ours.
    const run = (name: string) => tf.tidy(() => {
      const sub = tfl.model({ inputs: keras.inputs, outputs: keras.getLayer(name).output as tfl.SymbolicTensor });
      return (sub.predict(tf.tensor4d(x, [2, 3, 9, 8])) as ReturnType<typeof tf.tensor>).dataSync() as Float32Array;
    });
    for (const name of ['c1', 'pool', 'zp', 'dw', 'avg', 'c3']) expectNear(await fwd.activation(name).read(), run(name), `layer ${name}`);
    expectNear(await fwd.readOutput(), run('fc'), 'output');
    fwd.release();
    model.destroy();
  });

  it('channels_first BatchNormalization (axis 1) normalises our channel axis (float64; tfjs 4.22 itself mixes the axes up there)', async () => {
    await initTf();
    const m = tfl.sequential({ name: 'bn1' });
    m.add(tfl.layers.conv2d({ name: 'c', inputShape: [2, 5, 4], filters: 3, kernelSize: 1, dataFormat: 'channelsFirst' }));
    m.add(tfl.layers.batchNormalization({ name: 'bn', axis: 1, epsilon: 0.01 }));
    randomizeWeights(m, 8);
    const model = await importSaved(await saveTfjs(m, 1));
    const [gamma, beta, mean, variance] = m.getLayer('bn').getWeights().map((w) => w.dataSync() as Float32Array);
    const fwd = await model.forward(randomArray(2 * 2 * 5 * 4, 9));
    const c = await fwd.activation('c').read();
    const expected = Float64Array.from(c, (v, i) => {
      const k = Math.floor(i / 20) % 3;
      return ((v - mean![k]!) / Math.sqrt(variance![k]! + 0.01)) * gamma![k]! + beta![k]!;
    });
    expectNear(await fwd.readOutput(), Float32Array.from(expected), 'bn');
    fwd.release();
    model.destroy();
  });

  it('functional F with shared layers: every call is a node, later calls share the first call\'s weight tensors', async () => {
    const { tf } = await import('./helpers/tfjs_models.js');
    const { SharedLayer } = await import('../src/index.js');
    await initTf();
    const keras = modelF();
    randomizeWeights(keras, 7);
    const model = await importSaved(await saveTfjs(keras, 1), 'f/model.json');
    expect(model.info.map((n) => `${n.name}:${n.kind}`)).toEqual([
      'shared_conv:Conv2D', 'shared_conv@1:Conv2D', 'flat:Flatten', 'flat@1:Flatten', 'shared_fc/preact:Dense', 'shared_fc:tanh',
      'shared_fc@1/preact:Dense', 'shared_fc@1:tanh', 'sum:Add',
    ]);
    const second = model.layers.find((l) => l.name === 'shared_conv@1')!;
    expect(second).toBeInstanceOf(SharedLayer);
    expect((second as InstanceType<typeof SharedLayer>).layer).toBe(model.layers[0]);
    expect((second as InstanceType<typeof SharedLayer>).parameterCount).toBe(0);
    expect((model.layers.find((l) => l.name === 'shared_fc@1/preact') as InstanceType<typeof SharedLayer>).layer).toBe(model.layers.find((l) => l.name === 'shared_fc/preact'));
    const xa = randomArray(2 * 2 * 6 * 6, 31), xb = randomArray(2 * 2 * 6 * 6, 32);
    const fwd = await model.forward([xa, xb]);
    const nhwc = (x: Float32Array) => tf.tensor4d(nchwToNhwc(x, [2, 2, 6, 6]), [2, 6, 6, 2]);
    const [sum, cb] = tf.tidy(() => (keras.predict([nhwc(xa), nhwc(xb)]) as ReturnType<typeof tf.tensor>[]).map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape })));
    expectNear(await fwd.outputs[0]!.read(), sum!.data, 'sum');
    expectNear(await fwd.outputs[1]!.read(), nhwcToNchw(cb!.data, cb!.shape), 'shared_conv@1');
    fwd.release();
    model.destroy();
  });

  it('a shared layer called on inputs of two shapes is refused, naming it', async () => {
    await initTf();
    const a = tfl.input({ name: 'a', shape: [6, 6, 2] }), b = tfl.input({ name: 'b', shape: [5, 5, 2] });
    const conv = tfl.layers.conv2d({ name: 'conv', filters: 2, kernelSize: 3 });
    const gap = tfl.layers.globalAveragePooling2d({ name: 'gap' });
    const sum = tfl.layers.add({ name: 'sum' }).apply([gap.apply(conv.apply(a)), gap.apply(conv.apply(b))] as tfl.SymbolicTensor[]) as tfl.SymbolicTensor;
    const saved = await saveTfjs(tfl.model({ inputs: [a, b], outputs: sum }), 1);
    expect(() => tfjsLayersSpec(saved.json, saved.paths.map((p) => saved.shards.get(p)!), 'g/model.json')).toThrow(UnsupportedError);
    expect(() => tfjsLayersSpec(saved.json, saved.paths.map((p) => saved.shards.get(p)!), 'g/model.json'))
      .toThrow(/g\/model.json: layer "conv@1" \(Conv2D\): the shared layer "conv" is called on inputs of another shape/);
  });

  it('nested models: a Sequential backbone inside a functional model, and inside a Sequential, are inlined', async () => {
    await initTf();
    const backbone = () => {
      const b = tfl.sequential({ name: 'backbone' });
      b.add(tfl.layers.conv2d({ name: 'bb_conv', inputShape: [7, 7, 3], filters: 4, kernelSize: 3, activation: 'relu' }));
      b.add(tfl.layers.maxPooling2d({ name: 'bb_pool', poolSize: 2 }));
      return b;
    };
    const x = tfl.input({ name: 'pixels', shape: [7, 7, 3] });
    const feats = backbone().apply(x) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ name: 'head', units: 3 }).apply(tfl.layers.flatten({ name: 'flat' }).apply(feats)) as tfl.SymbolicTensor;
    const functional = tfl.model({ name: 'outer', inputs: x, outputs: out });
    const sequential = tfl.sequential({ name: 'outer_seq' });
    sequential.add(backbone());
    sequential.add(tfl.layers.globalAveragePooling2d({ name: 'gap' }));
    for (const [keras, seed] of [[functional, 41], [sequential, 42]] as const) {
      randomizeWeights(keras, seed);
      const model = await importSaved(await saveTfjs(keras, 1));
      expect(model.layers.map((l) => l.name)).toContain('bb_conv');
      const input = randomArray(2 * 3 * 7 * 7, seed);
      expectNear(await model.predict(input), predictNchw(keras, input, [2, 3, 7, 7]), `${keras.name} output`);
      model.destroy();
    }
  });

  it('UpSampling2D nearest and bilinear (a Resize2D node) equal model.predict', async () => {
    await initTf();
    const keras = modelUp();
    randomizeWeights(keras, 9);
    const model = await importSaved(await saveTfjs(keras, 1));
    expect(model.info.filter((n) => n.kind === 'Resize2D').map((n) => `${n.name}:${n.outputShape}`)).toEqual(['up_nearest:3,8,15', 'up_bilinear:2,12,26']);
    await compareWithTfjs(keras, model, [2, 4, 5]);
    model.destroy();
  });

  it('projects model A (BN, max pool, depthwise + tanh, zero padding, separable + sigmoid) like the float64 DeconvNet, in every mode', async () => {
    await initTf();
    const keras = modelA();
    randomizeWeights(keras, 4);
    const model = await importSaved(await saveTfjs(keras, 1));
    const w = (layer: string) => keras.getLayer(layer).getWeights().map((t) => t.dataSync() as Float32Array);
    const [c1k, c1b] = w('conv1'), [gamma, beta, mean, variance] = w('bn1'), [dwk, dwb] = w('dw'), [sdk, spk, sb] = w('sep');
    const ref: RefLayer[] = [
      { kind: 'conv', weight: kerasConvWeight(c1k!, 3, 3, 4), bias: c1b, outC: 4, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 1, relu: true },
      { kind: 'batchnorm', scale: gamma!, bias: beta!, mean: mean!, variance: variance!, epsilon: 0.01 },
      { kind: 'maxpool', k: 2, stride: 2, pad: [0, 0, 0, 0] },
      { kind: 'conv', weight: kerasDepthwiseWeight(dwk!, 3, 4, 2), bias: dwb, outC: 8, k: 3, stride: 1, pad: [0, 0, 0, 0], dilation: 1, groups: 4, relu: false },
      { kind: 'act', act: 'tanh' },
      { kind: 'pad', pad: [1, 0, 0, 1] },
      { kind: 'conv', weight: kerasDepthwiseWeight(sdk!, 3, 8, 1), outC: 8, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 8, relu: false },
      { kind: 'conv', weight: kerasConvWeight(spk!, 1, 8, 5), bias: sb, outC: 5, k: 1, stride: 1, pad: [0, 0, 0, 0], dilation: 1, groups: 1, relu: false },
      { kind: 'act', act: 'sigmoid' },
    ];
    await expectProjections(model, ref, randomArray(2 * 3 * 12 * 12, 5), [2, 3, 12, 12], 'sep', 2, { y: 2, x: 3 });
    model.destroy();
  });
});

describe('TF.js Layers loaders', () => {
  it('imports from picked File objects and from a model.json URL with shards beside it', async () => {
    await initTf();
    const keras = modelB();
    randomizeWeights(keras, 6);
    const saved = await saveTfjs(keras, 2);
    const rt = await getRuntime();
    const x = randomArray(3 * 2 * 6 * 6, 8);
    const expected = predictNchw(keras, x, [3, 2, 6, 6]);

    const files = [new File([saved.json], 'model.json'), ...saved.paths.map((p) => new File([saved.shards.get(p)!], p))];
    const fromFiles = await loadModel(rt, files);
    expect(fromFiles.format).toBe('tfjs-layers');
    const f1 = await fromFiles.model.forward(x);
    expectNear(await f1.readOutput(), expected, 'from files');
    f1.release();
    fromFiles.model.destroy();

    const served = new Map<string, BodyInit>([['https://models.test/b/model.json', saved.json]]);
    for (const p of saved.paths) served.set(`https://models.test/b/${p}`, saved.shards.get(p)!);
    const fakeFetch = (async (url: string) => {
      const body = served.get(String(url));
      return body === undefined ? new Response('not found', { status: 404, statusText: 'Not Found' }) : new Response(body);
    }) as typeof fetch;
    const fromUrl = await loadModel(rt, 'https://models.test/b/model.json', { fetch: fakeFetch });
    expect(fromUrl.format).toBe('tfjs-layers');
    const f2 = await fromUrl.model.forward(x);
    expectNear(await f2.readOutput(), expected, 'from url');
    f2.release();
    fromUrl.model.destroy();

    // A shard missing from the picked files / the server.
    await expect(loadModel(rt, files.slice(0, 2))).rejects.toThrow(/model\.json: weight shard "group1-shard2of2\.bin" is not among the picked files/);
    served.delete(`https://models.test/b/${saved.paths[0]}`);
    const err = await loadModel(rt, 'https://models.test/b/model.json', { fetch: fakeFetch }).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FormatError);
    expect(err!.message).toMatch(/model\.json: weight shard "group1-shard1of2\.bin".*HTTP 404/);
  });

  it('reads the tensorflowjs_converter (model_config) and Keras 3 topologies like the tfjs one', async () => {
    await initTf();
    const keras = modelC();
    randomizeWeights(keras, 7);
    const saved = await saveTfjs(keras, 1);
    const buffers = saved.paths.map((p) => saved.shards.get(p)!);
    const describe = (spec: ReturnType<typeof tfjsLayersSpec>) => JSON.stringify({
      inputs: spec.inputs, outputs: spec.outputs,
      nodes: spec.nodes!.map((n) => ({ name: n.layer.name, kind: n.layer.kind, inputs: n.inputs })),
    });
    const reference = describe(tfjsLayersSpec(saved.json, buffers));
    expect(isTfjsLayersModelJson(JSON.parse(saved.json))).toBe(true);
    expect(tfjsWeightPaths(saved.json)).toEqual(saved.paths);

    const mj = JSON.parse(saved.json);
    const converter = { ...mj, modelTopology: { keras_version: '2.15.0', backend: 'tensorflow', model_config: mj.modelTopology } };
    expect(describe(tfjsLayersSpec(converter, buffers))).toBe(reference);

    // Keras 3: class Functional, batch_shape, inbound nodes as {args: [keras tensors]}, single input/output refs.
    const k3 = JSON.parse(saved.json);
    k3.modelTopology.class_name = 'Functional';
    for (const layer of k3.modelTopology.config.layers) {
      if (layer.config.batch_input_shape) {
        layer.config.batch_shape = layer.config.batch_input_shape;
        delete layer.config.batch_input_shape;
      }
      layer.inbound_nodes = layer.inbound_nodes.map((node: unknown[][]) => {
        const tensors = node.map((h) => ({ class_name: '__keras_tensor__', config: { shape: [], dtype: 'float32', keras_history: h.slice(0, 3) } }));
        return { args: tensors.length === 1 ? tensors : [tensors], kwargs: {} };
      });
    }
    k3.modelTopology.config.input_layers = k3.modelTopology.config.input_layers[0];
    expect(describe(tfjsLayersSpec(k3, buffers))).toBe(reference);
  });

  it('dequantizes float16 and uint8 weights', async () => {
    await initTf();
    const m = tfl.sequential();
    m.add(tfl.layers.dense({ name: 'fc', inputShape: [2], units: 2 }));
    const saved = await saveTfjs(m, 1);
    const mj = JSON.parse(saved.json);
    // kernel [2, 2] as float16 (1, -2, 0.5, 65504), bias [2] as uint8 (3, 250) * 0.5 - 1.
    const half = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff]);
    const bytes = new Uint8Array(8 + 2);
    bytes.set(new Uint8Array(half.buffer), 0);
    bytes.set([3, 250], 8);
    mj.weightsManifest[0].weights = [
      { name: 'fc/kernel', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'fc/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
    ];
    const spec = tfjsLayersSpec(mj, [bytes.buffer]);
    const dense = spec.nodes![0]!.layer as unknown as { options: { kernel: Float32Array; bias: Float32Array } };
    // Ours is [units, in]: the transpose of Keras's [in, units].
    expect(Array.from(dense.options.kernel)).toEqual([1, 0.5, -2, 65504]);
    expect(Array.from(dense.options.bias)).toEqual([0.5, 124]);
  });
});

describe('TF.js Layers import: bad input gets typed errors naming the file and the place', () => {
  async function savedA(): Promise<{ json: Record<string, any>; text: string; buffers: ArrayBuffer[] }> {
    await initTf();
    const keras = modelA();
    randomizeWeights(keras, 9);
    const saved = await saveTfjs(keras, 2);
    return { json: JSON.parse(saved.json), text: saved.json, buffers: saved.paths.map((p) => saved.shards.get(p)!) };
  }

  function expectError(fn: () => unknown, type: new (...a: any[]) => DeconvNetError, ...parts: Array<string | RegExp>): void {
    let error: unknown;
    try { fn(); } catch (e) { error = e; }
    expect(error, 'an error').toBeInstanceOf(type);
    for (const p of parts) expect((error as Error).message).toMatch(p);
  }

  const F = 'my/model.json';

  it('malformed JSON, wrong format, graph models', async () => {
    const { text, buffers, json } = await savedA();
    expectError(() => tfjsLayersSpec(text.slice(0, 200), buffers, F), FormatError, F, /not valid JSON/);
    expectError(() => tfjsLayersSpec('[1, 2]', buffers, F), FormatError, F);
    expectError(() => tfjsLayersSpec({ ...json, format: 'graph-model' }, buffers, F), UnsupportedError, F, /graph model/);
    expectError(() => tfjsLayersSpec({ ...json, modelTopology: null }, buffers, F), FormatError, F, /modelTopology/);
  });

  it('missing shards and shards of the wrong size', async () => {
    const { json, buffers } = await savedA();
    expectError(() => tfjsLayersSpec(json, [buffers[0]!], F), FormatError, F, /shard "group1-shard2of2\.bin" is missing/);
    const short = buffers[1]!.slice(0, buffers[1]!.byteLength - 4);
    expectError(() => tfjsLayersSpec(json, [buffers[0]!, short], F), FormatError, F, /group1-shard2of2\.bin/, /weights need \d+/);
    const long = new Uint8Array(buffers[1]!.byteLength + 8);
    expectError(() => tfjsLayersSpec(json, [buffers[0]!, long.buffer], F), FormatError, F, /weights need/);
    const rt = await getRuntime();
    const err = await importTfjsLayers(rt, { modelJson: json, fileName: F, loadWeights: async () => { throw new Error('404'); } }).catch((e) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toMatch(/my\/model\.json: weight shard "group1-shard1of2\.bin" could not be loaded \(404\)/);
  });

  it('weight shape mismatch, missing weights, NaN and Inf weights, unsupported dtypes', async () => {
    const { json, buffers } = await savedA();
    const weights = json.weightsManifest[0].weights as Array<{ name: string; shape: number[]; dtype: string }>;
    // A kernel of the same byte size but another shape.
    const bad = structuredClone(json);
    const k = bad.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'conv1/kernel');
    k.shape = [3, 3, 4, 3];
    expectError(() => tfjsLayersSpec(bad, buffers, F), ShapeError, F, /layer "conv1" \(Conv2D\)/, /"conv1\/kernel" has shape \[3,3,4,3\], the layer needs \[3,3,3,4\]/);

    const renamed = structuredClone(json);
    renamed.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'fc1/bias').name = 'fc1/bias_x';
    expectError(() => tfjsLayersSpec(renamed, buffers, F), FormatError, F, /layer "fc1" \(Dense\)/, /"fc1\/bias" is not in the weightsManifest/);

    // A NaN and an Inf in fc2/kernel: find its byte offset in the concatenated group.
    const whole = new Uint8Array(buffers.reduce((s, b) => s + b.byteLength, 0));
    let at = 0;
    for (const b of buffers) { whole.set(new Uint8Array(b), at); at += b.byteLength; }
    let offset = 0;
    for (const w of weights) {
      if (w.name === 'fc2/kernel') break;
      offset += 4 * w.shape.reduce((a, d) => a * d, 1);
    }
    for (const value of [NaN, Infinity]) {
      const copy = whole.slice();
      new DataView(copy.buffer).setFloat32(offset + 4 * 5, value, true);
      expectError(() => tfjsLayersSpec(json, [copy.buffer.slice(0, buffers[0]!.byteLength), copy.buffer.slice(buffers[0]!.byteLength)], F),
        FormatError, F, /weight "fc2\/kernel" element 5 is (NaN|Infinity)/, /group1-shard1of2\.bin/);
    }

    const strings = structuredClone(json);
    strings.weightsManifest[0].weights[0].dtype = 'string';
    expectError(() => tfjsLayersSpec(strings, buffers, F), UnsupportedError, F, /dtype "string"/);
  });

  it('unsupported layers and options name the layer class and the layer', async () => {
    const { json, buffers } = await savedA();
    const layers = () => structuredClone(json);
    const lstm = layers();
    lstm.modelTopology.config.layers[2].class_name = 'LSTM';
    expectError(() => tfjsLayersSpec(lstm, buffers, F), UnsupportedError, F, /layer "pool1" \(LSTM\)/, /not supported/);
    const cf = layers();
    cf.modelTopology.config.layers[0].config.data_format = 'channels_middle';
    expectError(() => tfjsLayersSpec(cf, buffers, F), FormatError, F, /layer "conv1" \(Conv2D\)/, /data_format "channels_middle"/);
    const act = layers();
    act.modelTopology.config.layers[9].config.activation = 'exponential';
    expectError(() => tfjsLayersSpec(act, buffers, F), UnsupportedError, F, /layer "fc1" \(Dense\)/, /activation "exponential"/);
    const causal = layers();
    causal.modelTopology.config.layers[0].config.padding = 'causal';
    expectError(() => tfjsLayersSpec(causal, buffers, F), UnsupportedError, F, /layer "conv1"/, /causal/);
  });

  it('inconsistent shapes, unknown inbound nodes and cycles in functional models', async () => {
    await initTf();
    const keras = modelC();
    const saved = await saveTfjs(keras, 1);
    const buffers = [saved.shards.get(saved.paths[0]!)!];
    const json = JSON.parse(saved.json);
    const byName = (j: any, n: string) => j.modelTopology.config.layers.find((l: { name: string }) => l.name === n);

    const unknown = structuredClone(json);
    byName(unknown, 'c2').inbound_nodes[0][0][0] = 'nowhere';
    expectError(() => tfjsLayersSpec(unknown, buffers, F), FormatError, F, /layer "c2" \(Conv2D\) reads "nowhere", which is not a layer/);

    const cycle = structuredClone(json);
    byName(cycle, 'c').inbound_nodes[0][0][0] = 'rs3d';
    expectError(() => tfjsLayersSpec(cycle, buffers, F), FormatError, F, /form a cycle/, /"rs3d"/);

    const shapes = structuredClone(json);
    byName(shapes, 'img').config.batch_input_shape = [null, 9, 8, 3];
    expectError(() => tfjsLayersSpec(shapes, buffers, F), ShapeError, F, /layer "rs2d" \(Reshape\)/);

    const concat = structuredClone(json);
    byName(concat, 'cat').inbound_nodes[0][1][0] = 'c';
    expectError(() => tfjsLayersSpec(concat, buffers, F), ShapeError, F, /layer "cat" \(Concatenate\)/);

    const outputs = structuredClone(json);
    outputs.modelTopology.config.output_layers[0][0] = 'ghost';
    expectError(() => tfjsLayersSpec(outputs, buffers, F), FormatError, F, /"ghost"/);
  });

  it('transposes weights once at load time (the spec holds NCHW kernels)', async () => {
    await initTf();
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ name: 'k', inputShape: [4, 4, 2], filters: 3, kernelSize: [2, 1] }));
    randomizeWeights(m, 12);
    const saved = await saveTfjs(m, 1);
    const spec = tfjsLayersSpec(saved.json, [saved.shards.get(saved.paths[0]!)!]);
    const conv = spec.nodes![0]!.layer as unknown as { options: { kernel: Float32Array } };
    const keras = m.getLayer('k').getWeights()[0]!.dataSync() as Float32Array; // [kh, kw, in, out] = [2, 1, 2, 3]
    // ours [out, in, kh, kw] = [3, 2, 2, 1]
    for (let o = 0; o < 3; o++) for (let i = 0; i < 2; i++) for (let y = 0; y < 2; y++) {
      expect(conv.options.kernel[(o * 2 + i) * 2 + y]).toBe(keras[(y * 2 + i) * 3 + o]);
    }
  });
});

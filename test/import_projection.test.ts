// Projections through imported BatchNorm, depthwise and separable
// convolutions and average pooling, from a TF.js Layers model and an ONNX
// model built here, against the float64 ConvNet/DeconvNet of test/ref/net.ts
// set up from the same weights as they stand in the source framework's own
// layout: mode 'gradient' (seed one) is the exact vector-Jacobian product,
// itself checked by float64 central differences; 'deconvnet' and 'guided'
// apply the ReLU rules of their papers and the other layers' linear maps.
import { describe, expect, it } from 'vitest';
import { importTfjsLayers } from '../src/model/import/tfjs_layers.js';
import { importOnnx } from '../src/model/import/onnx.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { onnxModel } from './helpers/onnx_models.js';
import { tfl, initTf, randomizeWeights, saveTfjs, randomArray } from './helpers/tfjs_models.js';
import { type RefLayer } from './ref/net.js';
import { samePadsRef } from './ref/conv.js';
import { expectProjections, kerasConvWeight, kerasDepthwiseWeight } from './helpers/projection.js';

describe('projection through imported BatchNorm, depthwise/separable conv and average pooling = float64 DeconvNet', () => {
  it('TF.js: conv (relu), BatchNormalization, DepthwiseConv2D (relu), AveragePooling2D same, SeparableConv2D (relu)', async () => {
    await initTf();
    const m = tfl.sequential({ name: 'proj' });
    m.add(tfl.layers.conv2d({ name: 'c1', inputShape: [9, 9, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(tfl.layers.batchNormalization({ name: 'bn', epsilon: 0.01 }));
    m.add(tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu' }));
    m.add(tfl.layers.averagePooling2d({ name: 'avg', poolSize: 2, strides: 2, padding: 'same' }));
    m.add(tfl.layers.separableConv2d({ name: 'sep', filters: 3, kernelSize: 3, activation: 'relu' }));
    randomizeWeights(m, 31);
    const saved = await saveTfjs(m, 1);
    const rt = await getRuntime();
    const { model } = await importTfjsLayers(rt, { modelJson: saved.json, loadWeights: async (p) => saved.shards.get(p)! });

    const w = (layer: string) => m.getLayer(layer).getWeights().map((t) => t.dataSync() as Float32Array);
    const [c1k, c1b] = w('c1'), [gamma, beta, mean, variance] = w('bn'), [dwk, dwb] = w('dw'), [sdk, spk, sb] = w('sep');
    const [top, left, bottom, right] = samePadsRef(9, 9, 2, 2, [2, 2], [1, 1]);
    const ref: RefLayer[] = [
      { kind: 'conv', weight: kerasConvWeight(c1k!, 3, 3, 4), bias: c1b, outC: 4, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 1, relu: true },
      { kind: 'batchnorm', scale: gamma!, bias: beta!, mean: mean!, variance: variance!, epsilon: 0.01 },
      { kind: 'conv', weight: kerasDepthwiseWeight(dwk!, 3, 4, 2), bias: dwb, outC: 8, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 4, relu: true },
      // TF's average pooling divides by the taps inside the input.
      { kind: 'avgpool', geometry: { kH: 2, kW: 2, sH: 2, sW: 2, dH: 1, dW: 1, padTop: top, padLeft: left, padBottom: bottom, padRight: right, outH: 5, outW: 5 }, countIncludePad: false },
      { kind: 'conv', weight: kerasDepthwiseWeight(sdk!, 3, 8, 1), outC: 8, k: 3, stride: 1, pad: [0, 0, 0, 0], dilation: 1, groups: 8, relu: false },
      { kind: 'conv', weight: kerasConvWeight(spk!, 1, 8, 3), bias: sb, outC: 3, k: 1, stride: 1, pad: [0, 0, 0, 0], dilation: 1, groups: 1, relu: true },
    ];
    const input = randomArray(2 * 3 * 9 * 9, 32);
    await expectProjections(model, ref, input, [2, 3, 9, 9], 'sep', 1, { y: 1, x: 1 });
    model.destroy();
    m.dispose();
  });

  it('ONNX: Conv, BatchNormalization, Relu, grouped (depthwise) Conv + Relu, AveragePool with count_include_pad, 1x1 Conv, Relu', async () => {
    const r = makeRandom(41);
    const w1 = r.array(4 * 3 * 9, -0.5, 0.5), b1 = r.array(4, -0.2, 0.2);
    const scale = r.array(4, 0.6, 1.4), bias = r.array(4, -0.3, 0.3), mean = r.array(4, -0.3, 0.3), variance = r.array(4, 0.5, 1.5);
    const wd = r.array(8 * 9, -0.5, 0.5), bd = r.array(8, -0.2, 0.2);
    const wp = r.array(3 * 8, -0.5, 0.5), bp = r.array(3, -0.1, 0.3);
    const bytes = onnxModel({
      inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
      outputs: ['y'],
      inits: {
        w1: { dims: [4, 3, 3, 3], data: w1 }, b1: { dims: [4], data: b1 },
        scale: { dims: [4], data: scale }, bias: { dims: [4], data: bias }, mean: { dims: [4], data: mean }, variance: { dims: [4], data: variance },
        wd: { dims: [8, 1, 3, 3], data: wd }, bd: { dims: [8], data: bd }, wp: { dims: [3, 8, 1, 1], data: wp }, bp: { dims: [3], data: bp },
      },
      nodes: [
        { op: 'Conv', name: 'conv1', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'BatchNormalization', name: 'bn', inputs: ['c1', 'scale', 'bias', 'mean', 'variance'], outputs: ['n1'], attrs: { epsilon: 0.001 } },
        { op: 'Relu', name: 'relu1', inputs: ['n1'], outputs: ['r1'] },
        { op: 'Conv', name: 'dw', inputs: ['r1', 'wd', 'bd'], outputs: ['d1'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4 } },
        { op: 'Relu', name: 'relu2', inputs: ['d1'], outputs: ['r2'] },
        { op: 'AveragePool', name: 'avg', inputs: ['r2'], outputs: ['a1'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } },
        { op: 'Conv', name: 'pw', inputs: ['a1', 'wp', 'bp'], outputs: ['p1'], attrs: { kernel_shape: [1, 1] } },
        { op: 'Relu', name: 'relu3', inputs: ['p1'], outputs: ['y'] },
      ],
    });
    const rt = await getRuntime();
    const { model } = await importOnnx(rt, bytes, { fileName: 'proj.onnx' });
    const ref: RefLayer[] = [
      { kind: 'conv', weight: w1, bias: b1, outC: 4, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 1, relu: false },
      { kind: 'batchnorm', scale, bias, mean, variance, epsilon: 0.001 },
      { kind: 'relu' },
      { kind: 'conv', weight: wd, bias: bd, outC: 8, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 4, relu: true },
      { kind: 'avgpool', geometry: { kH: 3, kW: 3, sH: 2, sW: 2, dH: 1, dW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 4, outW: 4 }, countIncludePad: true },
      { kind: 'conv', weight: wp, bias: bp, outC: 3, k: 1, stride: 1, pad: [0, 0, 0, 0], dilation: 1, groups: 1, relu: true },
    ];
    const last = model.layers[model.layers.length - 1]!.name;
    const input = makeRandom(42).array(2 * 3 * 8 * 8, -1, 1);
    await expectProjections(model, ref, input, [2, 3, 8, 8], last, 2, { y: 2, x: 1 });
    model.destroy();
  });
});

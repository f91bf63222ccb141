// A small ZFNet-like net (overlapping 3x3/2 pooling, LRN, strided conv, dense
// head), built twice from the same weights: as library layers and as the
// float64 reference.
import { createModel, Conv2D, MaxPool2D, LRN, Flatten, Dense, Softmax, ReLU, type Layer, type Model, type Runtime } from '../../src/index.js';
import type { RefLayer } from '../ref/net.js';
import { makeRandom } from './random.js';
import { getRuntime } from './gpu.js';

export const TEST_INPUT_SHAPE = [3, 19, 17];

export function makeTestNet(seed = 1): { layers: () => Layer[]; ref: RefLayer[] } {
  const rnd = makeRandom(seed);
  const w1 = rnd.array(6 * 3 * 3 * 3, -0.5, 0.5), b1 = rnd.array(6, -0.1, 0.1);
  const w2 = rnd.array(8 * 3 * 3 * 3, -0.5, 0.5), b2 = rnd.array(8, -0.1, 0.1); // groups = 2: 6/2 = 3 inputs per filter
  // conv1 19x17 -> 19x17 ; pool 3/2 -> 9x8 ; conv2 s2 same -> 5x4 ; pool 3/2 pad 1 -> 3x2 ; flatten 8*3*2 = 48
  const w3 = rnd.array(10 * 48, -0.3, 0.3), b3 = rnd.array(10, -0.1, 0.1);
  const w4 = rnd.array(5 * 10, -0.5, 0.5), b4 = rnd.array(5, -0.1, 0.1);
  const layers = (): Layer[] => [
    new Conv2D({ name: 'conv1', filters: 6, kernelSize: 3, padding: [1, 1, 1, 1], kernel: w1, bias: b1 }),
    new ReLU({ name: 'relu1' }),
    new MaxPool2D({ name: 'pool1', kernel: 3, stride: 2 }),
    new LRN({ name: 'norm1', size: 3, alpha: 0.5, beta: 0.75, bias: 1 }),
    new Conv2D({ name: 'conv2', filters: 8, kernelSize: 3, stride: 2, padding: 'same', groups: 2, activation: 'relu', kernel: w2, bias: b2 }),
    new MaxPool2D({ name: 'pool2', kernel: 3, stride: 2, padding: [1, 1, 1, 1] }),
    new Flatten({ name: 'flatten' }),
    new Dense({ name: 'fc1', units: 10, activation: 'relu', kernel: w3, bias: b3 }),
    new Dense({ name: 'fc2', units: 5, kernel: w4, bias: b4 }),
    new Softmax({ name: 'prob' }),
  ];
  // conv2 'same' with k=3, s=2 on 9x8: out 5x4; pad total H = max(4*2+3-9,0)=2 -> [1,1]; W = max(3*2+3-8,0)=1 -> [0,1]
  const ref: RefLayer[] = [
    { kind: 'conv', weight: w1, bias: b1, outC: 6, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 1, relu: false },
    { kind: 'relu' },
    { kind: 'maxpool', k: 3, stride: 2, pad: [0, 0, 0, 0] },
    { kind: 'lrn', size: 3, alpha: 0.5, beta: 0.75, bias: 1 },
    { kind: 'conv', weight: w2, bias: b2, outC: 8, k: 3, stride: 2, pad: [1, 0, 1, 1], dilation: 1, groups: 2, relu: true },
    { kind: 'maxpool', k: 3, stride: 2, pad: [1, 1, 1, 1] },
    { kind: 'flatten' },
    { kind: 'dense', weight: w3, bias: b3, units: 10, relu: true },
    { kind: 'dense', weight: w4, bias: b4, units: 5, relu: false },
    { kind: 'softmax' },
  ];
  return { layers, ref };
}

/** The test net as a Model on the shared runtime (the analyses' tests build one per file). */
export async function testNetModel(net: { layers: () => Layer[] }): Promise<{ rt: Runtime; model: Model }> {
  const rt = await getRuntime();
  return { rt, model: createModel(rt, { inputShape: TEST_INPUT_SHAPE, layers: net.layers() }) };
}

export const TINY_INPUT_SHAPE = [1, 6, 6];

/** The training tests' net: conv 3x3 1->2 (fused ReLU), pool 2, dense 8 -> 3 classes, softmax; input 1x6x6. */
export function makeTinyNet(seed: number): { layers: () => Layer[]; params: Float32Array[] } {
  const rnd = makeRandom(seed);
  const w1 = rnd.array(18, -0.6, 0.6), b1 = rnd.array(2, -0.1, 0.1), w2 = rnd.array(3 * 8, -0.6, 0.6), b2 = rnd.array(3, -0.1, 0.1);
  const layers = (): Layer[] => [
    new Conv2D({ name: 'conv', filters: 2, kernelSize: 3, activation: 'relu', kernel: w1, bias: b1 }), // 6 -> 4
    new MaxPool2D({ name: 'pool', kernel: 2 }),                                                         // 4 -> 2
    new Flatten(), new Dense({ name: 'fc', units: 3, kernel: w2, bias: b2 }), new Softmax(),
  ];
  return { layers, params: [w1, b1, w2, b2] };
}

// The model the demo uses until the project ships trained weights: a small
// ZFNet-style net for 28x28 grey images whose first layer is a bank of Gabor
// filters (so its feature maps and projections are meaningful) and whose
// deeper layers are He-normal random. It is labelled untrained everywhere.
import { Conv2D, MaxPool2D, LRN, Flatten, Dense, Softmax } from '../layers/index.js';
import { createModel, type Model } from './model.js';
import type { Runtime } from '../gpu/runtime.js';
import { FASHION_MNIST_CLASSES } from '../data/idx.js';

export interface DefaultModel {
  model: Model;
  trained: boolean;
  classes: string[];
  description: string;
}

/** 8 Gabor filters (4 orientations x 2 phases), 5x5, zero-mean. */
export function gaborBank(size = 5, orientations = 4): Float32Array {
  const out = new Float32Array(orientations * 2 * size * size);
  const c = (size - 1) / 2;
  let f = 0;
  for (let o = 0; o < orientations; o++) {
    const theta = (Math.PI * o) / orientations;
    for (const phase of [0, Math.PI / 2]) {
      const w = new Float64Array(size * size);
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
        const xr = (x - c) * Math.cos(theta) + (y - c) * Math.sin(theta);
        const yr = -(x - c) * Math.sin(theta) + (y - c) * Math.cos(theta);
        w[y * size + x] = Math.exp(-(xr * xr + yr * yr) / (2 * 1.5 * 1.5)) * Math.cos((2 * Math.PI * xr) / 4 + phase);
      }
      const mean = w.reduce((a, b) => a + b, 0) / w.length;
      for (let i = 0; i < w.length; i++) out[f * size * size + i] = w[i]! - mean;
      f++;
    }
  }
  return out;
}

export function createDefaultModel(runtime: Runtime): DefaultModel {
  const model = createModel(runtime, {
    inputShape: [1, 28, 28],
    layers: [
      new Conv2D({ name: 'conv1', filters: 8, kernelSize: 5, padding: 'same', activation: 'relu', kernel: gaborBank() }),
      new MaxPool2D({ name: 'pool1', kernel: 3, stride: 2 }),
      new LRN({ name: 'norm1', size: 5, alpha: 1e-4, beta: 0.75, bias: 1 }),
      new Conv2D({ name: 'conv2', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', seed: 2 }),
      new MaxPool2D({ name: 'pool2', kernel: 3, stride: 2 }),
      new Conv2D({ name: 'conv3', filters: 24, kernelSize: 3, padding: 'same', activation: 'relu', seed: 3 }),
      new Flatten({ name: 'flatten' }),
      new Dense({ name: 'fc', units: 10, seed: 4 }),
      new Softmax({ name: 'prob' }),
    ],
  });
  return {
    model,
    trained: false,
    classes: FASHION_MNIST_CLASSES,
    description: 'untrained: Gabor filters in conv1, random weights above (no trained model shipped yet)',
  };
}

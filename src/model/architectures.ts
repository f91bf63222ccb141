// Architectures the project trains itself.
import { Conv2D, MaxPool2D, Flatten, Dense, Softmax, type Layer } from '../layers/index.js';

/**
 * A ZFNet-style small net for 28x28 grey images (Fashion-MNIST): conv 5x5,
 * overlapping 3x3/2 max pooling, conv 3x3, pooling, a hidden dense layer and
 * softmax. About 1.2 M multiply-adds per image, sized so that an epoch of
 * 60,000 images trains in minutes on SwiftShader.
 */
export function fashionZFNetLayers(seed = 1): Layer[] {
  return [
    new Conv2D({ name: 'conv1', filters: 16, kernelSize: 5, padding: 'same', activation: 'relu', seed }),
    new MaxPool2D({ name: 'pool1', kernel: 3, stride: 2 }),            // 28 -> 13
    new Conv2D({ name: 'conv2', filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', seed: seed + 1 }),
    new MaxPool2D({ name: 'pool2', kernel: 3, stride: 2 }),            // 13 -> 6
    new Flatten({ name: 'flatten' }),
    new Dense({ name: 'fc1', units: 64, activation: 'relu', seed: seed + 2 }),
    new Dense({ name: 'fc2', units: 10, seed: seed + 3 }),
    new Softmax({ name: 'prob' }),
  ];
}

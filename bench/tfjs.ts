// The same workloads on TensorFlow.js (tfjs-core + the WebGPU backend), NHWC.
// Weights are the harness's Float32Arrays converted once on the CPU
// (nets.ts). Each `run` ends with `await tensor.data()`, which flushes TF.js's
// queued commands and waits for the GPU, so the queue is drained inside the
// timed region. The values returned are TF.js's raw layout; `canon` (applied
// outside the timed region) turns them into our NCHW layout for comparison.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
// tfjs-core alone registers no gradients (the tfjs union package does this import).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { denseToTf, flipHW, nchwToNhwc, nhwcToNchw, oihwToHwio, transpose2d, type ConvWeights, type Vgg16 } from './nets.js';

export interface TfRun {
  run: () => Promise<Float32Array>;
  /** Raw output -> our layout. */
  canon: (raw: Float32Array) => Float32Array;
  dispose: () => void;
}

export async function initTf(): Promise<{ adapter: string; version: string }> {
  await tf.setBackend('webgpu');
  await tf.ready();
  const backend = tf.backend() as unknown as { device?: GPUDevice; adapterInfo?: Record<string, unknown> };
  const info = (backend.device as unknown as { adapterInfo?: GPUAdapterInfo } | undefined)?.adapterInfo;
  const adapter = info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') : JSON.stringify(backend.adapterInfo ?? {});
  return { adapter, version: tf.version_core };
}

/** Live TF.js tensors: flat across a workload's rounds, or a run leaks (and slows later ones). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}

/** `mirrored`: the kernel flipped in H and W (see projectRun). */
function convParams(w: ConvWeights, mirrored = false) {
  const hwio = oihwToHwio(w.kernel, w.outC, w.inC, w.k, w.k);
  const filter = mirrored ? flipHW(hwio, 1, w.k, w.k, w.inC * w.outC) : hwio;
  return { filter: tf.tensor4d(filter, [w.k, w.k, w.inC, w.outC]), bias: tf.tensor1d(w.bias) };
}

export function convRun(x: Float32Array, w: ConvWeights, size: number): TfRun {
  const xt = tf.tensor4d(nchwToNhwc(x, 1, w.inC, size, size), [1, size, size, w.inC]);
  const { filter, bias } = convParams(w);
  return {
    run: async () => {
      const y = tf.fused.conv2d({ x: xt, filter, bias, strides: 1, pad: 'same' });
      try { return (await y.data()) as Float32Array; } finally { y.dispose(); }
    },
    canon: (raw) => nhwcToNchw(raw, 1, size, size, w.outC),
    dispose: () => tf.dispose([xt, filter, bias]),
  };
}

export function matmulRun(a: Float32Array, b: Float32Array, n: number): TfRun {
  const at = tf.tensor2d(a, [n, n]), bt = tf.tensor2d(b, [n, n]);
  return {
    run: async () => {
      const y = tf.matMul(at, bt);
      try { return (await y.data()) as Float32Array; } finally { y.dispose(); }
    },
    canon: (raw) => raw,
    dispose: () => tf.dispose([at, bt]),
  };
}

type Relu = (x: tf.Tensor4D) => tf.Tensor4D;
type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** The VGG16 stack in TF.js. `relu` null: ReLU fused into the conv (the fast path for a plain forward). */
class TfVgg {
  readonly convs: Array<{ filter: tf.Tensor4D; bias: tf.Tensor1D } | null>;
  readonly head: { kernel: tf.Tensor2D; bias: tf.Tensor1D } | null;
  constructor(readonly net: Vgg16, mirrored = false) {
    this.convs = net.steps.map((s) => (s.kind === 'conv' ? convParams(s.w, mirrored) : null));
    const [C, H, W] = net.outShape;
    this.head = net.head
      ? { kernel: tf.tensor2d(denseToTf(net.head.kernel, net.head.units, C, H, W), [net.head.features, net.head.units]), bias: tf.tensor1d(net.head.bias) }
      : null;
  }

  /** Runs the steps up to and including `last` (index into net.steps). */
  stack(x: tf.Tensor4D, relu: Relu | null, last = this.net.steps.length - 1): tf.Tensor4D {
    let h = x;
    for (let i = 0; i <= last; i++) {
      const p = this.convs[i];
      if (p) {
        h = relu
          ? relu(tf.fused.conv2d({ x: h, filter: p.filter, bias: p.bias, strides: 1, pad: 'same' }))
          : tf.fused.conv2d({ x: h, filter: p.filter, bias: p.bias, strides: 1, pad: 'same', activation: 'relu' });
      } else {
        h = tf.maxPool(h, 2, 2, 'valid');
      }
    }
    return h;
  }

  probs(features: tf.Tensor4D): tf.Tensor2D {
    const flat = tf.reshape(features, [features.shape[0], -1]) as tf.Tensor2D;
    return tf.softmax(tf.fused.matMul({ a: flat, b: this.head!.kernel, bias: this.head!.bias })) as tf.Tensor2D;
  }

  dispose(): void {
    tf.dispose(this.convs.flatMap((p) => (p ? [p.filter, p.bias] : [])));
    if (this.head) tf.dispose([this.head.kernel, this.head.bias]);
  }
}

export function vggForwardRun(net: Vgg16, x: Float32Array): TfRun {
  const vgg = new TfVgg(net);
  const S = net.size;
  const xt = tf.tensor4d(nchwToNhwc(x, 1, 3, S, S), [1, S, S, 3]);
  const [C, H, W] = net.outShape;
  return {
    run: async () => {
      const y = tf.tidy(() => vgg.stack(xt, null));
      try { return (await y.data()) as Float32Array; } finally { y.dispose(); }
    },
    canon: (raw) => nhwcToNchw(raw, 1, H, W, C),
    dispose: () => { xt.dispose(); vgg.dispose(); },
  };
}

/**
 * Forward + the DeconvNet projection as a gradient: ReLUs get a custom
 * gradient that rectifies the signal and ignores the forward mask (the
 * DeconvNet rule), max pooling uses TF.js's own gradient (to the argmax,
 * i.e. unpooling with the switches), convolutions their input gradient (the
 * transposed convolution), and the seed is the strongest activation of
 * `channel` of step `layerStep`, valued at the activation.
 *
 * Ties: a window of equal values (all zeros after a ReLU: common) sends its
 * gradient to the window's last position in TF.js's MaxPoolGrad, to the
 * first in ours (PyTorch's convention). The gradient throws such signals
 * away at the ReLU below, the DeconvNet rule does not, so the two pictures
 * would differ there. TF.js therefore runs the mirrored problem (image and
 * kernels flipped in H and W: the same ops on the same shapes, so the same
 * cost), where its "last" is our "first", and the result is flipped back
 * outside the timed region. Needs every pooled size even: size % 16 == 0.
 */
export function projectRun(net: Vgg16, x: Float32Array, layerStep: number, channel: number): TfRun {
  const S = net.size;
  if (S % 16 !== 0) throw new Error(`project: the mirrored TF.js run needs an image size divisible by 16, got ${S}`);
  const vgg = new TfVgg(net, true);
  const xt = tf.tensor4d(flipHW(nchwToNhwc(x, 1, 3, S, S), 1, S, S, 3), [1, S, S, 3]);
  const deconvRelu = tf.customGrad(((h: tf.Tensor4D) => ({ value: tf.relu(h), gradFunc: (dy: tf.Tensor) => tf.relu(dy) })) as unknown as CustomGradFn) as unknown as Relu;
  let seedGrad: tf.Tensor | null = null;
  // Inside customGrad's forward the tape is off, so the max/argmax bookkeeping is not differentiated.
  const seed = tf.customGrad(((a: tf.Tensor4D) => {
    const [n, h, w, c] = a.shape;
    const plane = tf.reshape(tf.slice(a, [0, 0, 0, channel], [n, h, w, 1]), [n, h * w]);
    const max = tf.max(plane, 1, true);
    const onehot = tf.mul(tf.oneHot(tf.argMax(plane, 1), h * w, 1, 0, 'float32'), max);
    seedGrad = tf.keep(tf.pad(tf.reshape(onehot, [n, h, w, 1]), [[0, 0], [0, 0], [0, 0], [channel, c - channel - 1]]));
    return { value: tf.sum(max), gradFunc: () => seedGrad! };
  }) as unknown as CustomGradFn) as unknown as (a: tf.Tensor4D) => tf.Scalar;
  const gradient = tf.grad((input: tf.Tensor) => seed(vgg.stack(input as tf.Tensor4D, deconvRelu, layerStep)));
  return {
    run: async () => {
      const g = gradient(xt);
      try { return (await g.data()) as Float32Array; } finally { g.dispose(); seedGrad?.dispose(); seedGrad = null; }
    },
    canon: (raw) => nhwcToNchw(flipHW(raw, 1, S, S, 3), 1, S, S, 3),
    dispose: () => { xt.dispose(); vgg.dispose(); },
  };
}

/**
 * Occlusion maps (a), (b) and (c) as occlusionSensitivity defines them, with TF.js
 * ops: the unoccluded forward picks the strongest channel of step
 * `layerStep` and the predicted class (2 numbers read back), then batches of
 * occluded copies (masks built on the GPU from each copy's square) go
 * forward and are reduced; the maps are read back once at the end. `canon`
 * keeps (a) and (b), what the harness compares.
 */
export function occlusionRun(net: Vgg16, image: Float32Array, layerStep: number, square: number, stride: number, batchSize: number): TfRun {
  const vgg = new TfVgg(net);
  const S = net.size;
  const rows = Math.floor((S - square) / stride) + 1;
  const positions = rows * rows;
  const xt = tf.tensor4d(nchwToNhwc(image, 1, 3, S, S), [1, S, S, 3]);
  const pixels = tf.range(0, S, 1, 'int32');
  const restFrom = (act: tf.Tensor4D) => {
    let h = act;
    for (let i = layerStep + 1; i < net.steps.length; i++) {
      const p = vgg.convs[i];
      h = p ? tf.fused.conv2d({ x: h, filter: p.filter, bias: p.bias, strides: 1, pad: 'same', activation: 'relu' }) : tf.maxPool(h, 2, 2, 'valid');
    }
    return h;
  };
  // One forward giving both the layer's activation and the class probabilities.
  const forward = (x: tf.Tensor4D) => {
    const act = vgg.stack(x, null, layerStep);
    return { act, probs: vgg.probs(restFrom(act)) };
  };
  return {
    run: async () => {
      const head = tf.tidy(() => {
        const { act, probs } = forward(xt);
        return tf.concat([tf.reshape(tf.argMax(tf.sum(act, [0, 1, 2]), 0), [1]), tf.reshape(tf.argMax(probs, 1), [1])]);
      });
      const [channel, cls] = Array.from(await head.data());
      head.dispose();
      const parts: tf.Tensor[] = [];
      try {
        for (let first = 0; first < positions; first += batchSize) {
          const n = Math.min(batchSize, positions - first);
          const rs = new Int32Array(n), cs = new Int32Array(n);
          for (let i = 0; i < n; i++) { rs[i] = Math.floor((first + i) / rows) * stride; cs[i] = ((first + i) % rows) * stride; }
          parts.push(tf.tidy(() => {
            const inside = (starts: Int32Array) => {
              const s = tf.tensor2d(starts, [n, 1], 'int32');
              return tf.logicalAnd(tf.greaterEqual(pixels, s), tf.less(pixels, tf.add(s, square)));  // [n, S]
            };
            const occluded = tf.cast(tf.logicalAnd(tf.reshape(inside(rs), [n, S, 1]), tf.reshape(inside(cs), [n, 1, S])), 'float32');
            const mask = tf.reshape(occluded, [n, S, S, 1]);
            const x = tf.add(tf.mul(xt, tf.sub(1, mask)), tf.mul(mask, 0.5)) as tf.Tensor4D;
            const { act, probs } = forward(x);
            const [, h, w] = act.shape;
            const a = tf.sum(tf.slice(act, [0, 0, 0, channel!], [n, h, w, 1]), [1, 2, 3]);
            const b = tf.reshape(tf.slice(probs, [0, cls!], [n, 1]), [n]);
            // (c) as occlusionSensitivity also computes it: the top probability and label.
            return tf.stack([a, b, tf.max(probs, 1), tf.cast(tf.argMax(probs, 1), 'float32')]);  // [4, n]
          }));
        }
        const all = tf.concat(parts, 1);
        try { return (await all.data()) as Float32Array; } finally { all.dispose(); }
      } finally {
        tf.dispose(parts);
      }
    },
    canon: (raw) => raw.slice(0, 2 * positions),
    dispose: () => { xt.dispose(); pixels.dispose(); vgg.dispose(); },
  };
}

/**
 * One SGD-momentum training step of fashionZFNetLayers with tf.variableGrads:
 * `params` are our initial parameters in our layouts (conv OIHW, Dense
 * [units, in]) in layer order.
 */
export function trainStepRun(params: Float32Array[], images: Float32Array, labels: Uint8Array, batch: number, learningRate: number): TfRun {
  const [k1, b1, k2, b2, k3, b3, k4, b4] = params as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const vars = {
    w1: tf.variable(tf.tensor4d(oihwToHwio(k1, 16, 1, 5, 5), [5, 5, 1, 16])), b1: tf.variable(tf.tensor1d(b1)),
    w2: tf.variable(tf.tensor4d(oihwToHwio(k2, 32, 16, 3, 3), [3, 3, 16, 32])), b2: tf.variable(tf.tensor1d(b2)),
    w3: tf.variable(tf.tensor2d(denseToTf(k3, 64, 32, 6, 6), [1152, 64])), b3: tf.variable(tf.tensor1d(b3)),
    w4: tf.variable(tf.tensor2d(transpose2d(k4, 10, 64), [64, 10])), b4: tf.variable(tf.tensor1d(b4)),
  };
  const optimizer = tf.train.momentum(learningRate, 0.9);
  const labelsI = Int32Array.from(labels);
  return {
    run: async () => {
      // The batch is uploaded each step, as train() does ([N,1,28,28] is [N,28,28,1] for one channel).
      const xs = tf.tensor4d(images, [batch, 28, 28, 1]);
      const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labelsI, 'int32'), 10));
      const { value, grads } = tf.variableGrads(() => {
        let h: tf.Tensor4D = tf.fused.conv2d({ x: xs, filter: vars.w1, bias: vars.b1, strides: 1, pad: 'same', activation: 'relu' });
        h = tf.maxPool(h, 3, 2, 'valid');
        h = tf.fused.conv2d({ x: h, filter: vars.w2, bias: vars.b2, strides: 1, pad: 'same', activation: 'relu' });
        h = tf.maxPool(h, 3, 2, 'valid');
        const f = tf.fused.matMul({ a: tf.reshape(h, [batch, 1152]) as tf.Tensor2D, b: vars.w3, bias: vars.b3, activation: 'relu' });
        const logits = tf.fused.matMul({ a: f, b: vars.w4, bias: vars.b4 });
        return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
      }, Object.values(vars));
      optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
      try { return (await value.data()) as Float32Array; } finally { tf.dispose([value, xs, ys, ...Object.values(grads)]); }
    },
    canon: (raw) => raw,
    dispose: () => { tf.dispose(Object.values(vars)); optimizer.dispose(); },
  };
}

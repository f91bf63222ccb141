// The workloads on deconvnet-webgpu. Each `run` does one unit of work the way
// a user of the library would and ends by reading the result back, which
// drains the queue inside the timed region; the data read back is also what
// the harness compares with the other implementations (NCHW).
import {
  createModel, createDeconvNet, conv2d, matmul, occlusionSensitivity, train, createOptimizerState, fashionZFNetLayers,
  Conv2D, MaxPool2D, Flatten, Dense, Softmax, isTrainable,
  type Runtime, type Model, type Layer,
} from '../src/index.js';
import type { ConvWeights, Vgg16 } from './nets.js';

export type Run = () => Promise<Float32Array>;

export function convRun(rt: Runtime, x: Float32Array, w: ConvWeights, size: number): { run: Run; dispose: () => void } {
  const xt = rt.createTensor([1, w.inC, size, size], x);
  const wt = rt.createTensor([w.outC, w.inC, w.k, w.k], w.kernel);
  const bt = rt.createTensor([w.outC], w.bias);
  return {
    run: async () => {
      const y = await rt.run('bench conv', (rec) => conv2d(rec, xt, wt, bt, { padding: 'same' }));
      try { return await y.read(); } finally { y.release(); }
    },
    dispose: () => { xt.release(); wt.release(); bt.release(); },
  };
}

export function matmulRun(rt: Runtime, a: Float32Array, b: Float32Array, n: number): { run: Run; dispose: () => void } {
  const at = rt.createTensor([n, n], a);
  const bt = rt.createTensor([n, n], b);
  return {
    run: async () => {
      const y = await rt.run('bench matmul', (rec) => matmul(rec, at, bt, null));
      try { return await y.read(); } finally { y.release(); }
    },
    dispose: () => { at.release(); bt.release(); },
  };
}

/** The VGG16 conv stack (and the optional Dense + Softmax head) as our Sequential model. */
export function vggModel(rt: Runtime, net: Vgg16, options: { fusion?: boolean } = {}): Model {
  const layers: Layer[] = net.steps.map((s) => (s.kind === 'conv'
    ? new Conv2D({ name: s.w.name, filters: s.w.outC, kernelSize: 3, padding: 'same', activation: 'relu', kernel: s.w.kernel, bias: s.w.bias })
    : new MaxPool2D({ name: s.name, kernel: 2, stride: 2 })));
  if (net.head) {
    layers.push(new Flatten({ name: 'flatten' }), new Dense({ name: 'fc', units: net.head.units, kernel: net.head.kernel, bias: net.head.bias }), new Softmax({ name: 'prob' }));
  }
  return createModel(rt, { inputShape: [3, net.size, net.size], layers, fusion: options.fusion });
}

export function vggForwardRun(model: Model, x: Float32Array): { run: Run; dispose: () => void } {
  const xt = model.runtime.createTensor([1, ...model.inputShape], x);
  return {
    run: async () => {
      const fwd = await model.forward(xt);
      try { return await fwd.readOutput(); } finally { fwd.release(); }
    },
    dispose: () => xt.release(),
  };
}

/** Forward, then the DeconvNet projection of the strongest activation of `channel` of `layer`, read back as pixels (`sparse`: see ProjectOptions). */
export function projectRun(model: Model, x: Float32Array, layer: string, channel: number, sparse = true): { run: Run; dispose: () => void } {
  const xt = model.runtime.createTensor([1, ...model.inputShape], x);
  const deconv = createDeconvNet(model);
  return {
    run: async () => {
      const fwd = await model.forward(xt);
      try {
        const proj = await deconv.project(fwd, { layer, channel, mode: 'deconvnet', sparse });
        try { return (await proj.read()).data; } finally { proj.release(); }
      } finally { fwd.release(); }
    },
    dispose: () => xt.release(),
  };
}

/** occlusionSensitivity as it is: returns maps (a) and (b) back to back. */
export function occlusionRun(model: Model, image: Float32Array, layer: string, square: number, stride: number, batchSize: number): { run: Run; dispose: () => void } {
  return {
    run: async () => {
      const occ = await occlusionSensitivity(model, image, { layer, size: square, stride, batchSize, fill: 0.5 });
      const out = new Float32Array(2 * occ.featureActivation.length);
      out.set(occ.featureActivation, 0);
      out.set(occ.classProbability, occ.featureActivation.length);
      return out;
    },
    dispose: () => {},
  };
}

/**
 * One training step of the default model: train() with one epoch over
 * exactly one batch, its SGD-momentum state made once outside the timed
 * region (createOptimizerState) and carried from step to step, as a training
 * loop keeps it. Returns the step's loss (read back by train() at the
 * epoch's end, which also drains the queue).
 */
export function trainStepRun(model: Model, images: Float32Array, labels: Uint8Array, batch: number, learningRate: number): { run: Run; dispose: () => void } {
  const optimizer = { kind: 'sgd', learningRate, momentum: 0.9 } as const;
  const optimizerState = createOptimizerState(model, optimizer);
  return {
    run: async () => {
      const { log } = await train(model, { images, labels, count: batch }, {
        epochs: 1, batchSize: batch, optimizer, logEvery: 1000, optimizerState,
      });
      return Float32Array.of(log[log.length - 1]!.loss);
    },
    dispose: () => optimizerState.release(),
  };
}

/** The default model (fashionZFNetLayers) and its initial parameters read back once, to give TF.js the same weights. */
export async function fashionModel(rt: Runtime): Promise<{ model: Model; params: Float32Array[] }> {
  const model = createModel(rt, { inputShape: [1, 28, 28], layers: fashionZFNetLayers() });
  return { model, params: await modelParams(model) };
}

/** Every trainable parameter of `model`, read back, in layer order. */
export async function modelParams(model: Model): Promise<Float32Array[]> {
  const params: Float32Array[] = [];
  for (const layer of model.layers) if (isTrainable(layer)) for (const p of layer.parameters()) params.push(await p.read());
  return params;
}

/** copyBufferToBuffer of `bytes` on our device, queue drained. */
export function copyRun(rt: Runtime, bytes: number): { run: () => Promise<void>; dispose: () => void } {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const src = rt.device.createBuffer({ size: bytes, usage });
  const dst = rt.device.createBuffer({ size: bytes, usage });
  return {
    run: async () => {
      const enc = rt.device.createCommandEncoder();
      enc.copyBufferToBuffer(src, 0, dst, 0, bytes);
      rt.device.queue.submit([enc.finish()]);
      await rt.device.queue.onSubmittedWorkDone();
    },
    dispose: () => { src.destroy(); dst.destroy(); },
  };
}

// Page side of bench/embed-latency.ts: one forward + DeconvNet projection +
// drawn picture of Tiny VGG at 64x64, from a photo (an ImageBitmap) to pixels
// on a canvas, waiting for the GPU queue:
//   - ours: the embedding example's frame (examples/embed/projection.ts): GPU
//     input (imageInput) -> forwardIn + projectIn -> recordDraw, here into a
//     WebGPU canvas, one submit, then device.queue.onSubmittedWorkDone();
//   - TF.js (WebGPU backend, the same model.json through tfjs-layers):
//     tf.browser.fromPixels -> the layers' forward to the output, inside tf.grad
//     with the DeconvNet rule (each ReLU's backward replaced by the ReLU of the
//     incoming signal, tf.customGrad) seeded at the strongest activation of the
//     channel -> the paper's grey-centred normalisation -> tf.browser.toPixels
//     (reads back and puts the pixels on a 2-D canvas), and the same ending in
//     tf.browser.draw (TF.js's GPU path into a WebGPU canvas) + the queue.
// The implementations run interleaved (bench/stats.ts); then, outside the
// timed region, our projection read back is compared with TF.js's gradient.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
// tfjs-core alone registers no gradients (the tfjs union package does this import).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tfl from '@tensorflow/tfjs-layers';
import { createAnalysis, projectInto, type Analysis } from '../examples/embed/projection.js';
import { interleave, type Outcome } from './stats.js';

const MODEL_URL = '/demo/public/models/tiny-vgg/model.json';
const SIZE = 64;

export interface EmbedLatencyArgs { photo: string; layer: string; channel: number; warmup: number; rounds: number }

export interface EmbedLatencyResult {
  userAgent: string;
  adapter: string;
  tfjs: string;
  workload: string;
  args: EmbedLatencyArgs;
  medians: Record<string, { median: number; q1: number; q3: number; samples: number[] } | { error: string }>;
  /** TF.js median / our median, per TF.js ending. */
  ratios: Record<string, number>;
  check: ProjectionCheck;
}

interface ProjectionCheck {
  /** max |ours - TF.js| / max |TF.js|, TF.js run as it is. */
  relErrorDirect: number;
  /** The same with TF.js run on the mirrored problem (image and kernels flipped), where its max-pool ties break as ours do. */
  relErrorMirrored: number;
  /** Pixels where ours and the direct TF.js gradient differ by more than 1e-4 of the largest value. */
  differingPixelsDirect: number;
  ourClass: number;
  tfClass: number;
}

export async function main(args: EmbedLatencyArgs): Promise<EmbedLatencyResult> {
  const log = (line: string) => console.log(line);
  const photo = await loadPhoto(args.photo);
  const ours = await createOurs(photo, args.layer, args.channel);
  await tf.setBackend('webgpu');
  await tf.ready();
  const theirs = await createTheirs(photo, args.layer, args.channel);

  log(`Tiny VGG ${SIZE}x${SIZE}: photo -> forward + projection of ${args.layer}#${args.channel} -> picture on a canvas; ${args.warmup} warm-up + ${args.rounds} interleaved rounds`);
  const outcomes = await interleave([
    { name: 'ours', run: ours.frame },
    { name: 'tfjs-toPixels', run: theirs.frameToPixels },
    { name: 'tfjs-draw', run: theirs.frameDraw },
  ], args.warmup, args.rounds, log);

  const check = await checkProjection(ours, theirs, photo, args.layer, args.channel);
  const medians: EmbedLatencyResult['medians'] = {};
  for (const [name, o] of outcomes) medians[name] = summaryOf(o);
  const oursMedian = outcomes.get('ours')?.summary?.median ?? Number.NaN;
  const ratios: Record<string, number> = {};
  for (const name of ['tfjs-toPixels', 'tfjs-draw']) ratios[name] = (outcomes.get(name)?.summary?.median ?? Number.NaN) / oursMedian;

  const adapter = ours.runtime.device.adapterInfo as GPUAdapterInfo | undefined;
  const result: EmbedLatencyResult = {
    userAgent: navigator.userAgent,
    adapter: adapter ? [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(' / ') : '',
    tfjs: tf.version_core,
    workload: `Tiny VGG ${SIZE}x${SIZE}, forward + DeconvNet projection of ${args.layer}#${args.channel} + drawn picture, from an ImageBitmap, queue drained`,
    args, medians, ratios, check,
  };
  ours.dispose();
  theirs.dispose();
  return result;
}

function summaryOf(o: Outcome): EmbedLatencyResult['medians'][string] {
  if (!o.summary) return { error: o.error ?? 'no samples' };
  const { median, q1, q3, samples } = o.summary;
  return { median, q1, q3, samples };
}

async function loadPhoto(url: string): Promise<ImageBitmap> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return createImageBitmap(await response.blob(), { resizeWidth: SIZE, resizeHeight: SIZE, resizeQuality: 'high' });
}

function addCanvas(title: string): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = SIZE;
  canvas.title = title;
  document.body.append(canvas);
  return canvas;
}

// ---- ours ---------------------------------------------------------------------

interface Ours extends Analysis {
  frame: () => Promise<void>;
  dispose: () => void;
}

/** The embedding example's frame (examples/embed/projection.ts), on a device the page asks for, drawn to a WebGPU canvas. */
async function createOurs(photo: ImageBitmap, layer: string, channel: number): Promise<Ours> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice({ label: 'embedding app' });
  const analysis = await createAnalysis(device, MODEL_URL, SIZE);
  const context = addCanvas('ours').getContext('webgpu')!;
  context.configure({ device, format: navigator.gpu.getPreferredCanvasFormat(), alphaMode: 'opaque' });
  const frame = async () => {
    await projectInto(analysis, photo, context, layer, channel);
    await device.queue.onSubmittedWorkDone();
  };
  const dispose = () => { analysis.input.destroy(); analysis.model.destroy(); analysis.runtime.destroy(); device.destroy(); };
  return { ...analysis, frame, dispose };
}

// ---- TF.js ----------------------------------------------------------------------

type Layer = ReturnType<tfl.LayersModel['getLayer']>;

/** ReLU whose backward is the DeconvNet rule: the ReLU of the incoming signal, whatever the forward input was. */
const deconvRelu = tf.customGrad(((h: tf.Tensor) => ({ value: tf.relu(h), gradFunc: (dy: tf.Tensor) => tf.relu(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (h: tf.Tensor) => tf.Tensor;

function isRelu(layer: Layer): boolean {
  return layer.getClassName() === 'Activation' && (layer.getConfig() as { activation?: string }).activation === 'relu';
}

/**
 * The gradient of the seed (the strongest activation of `channel` of
 * `layerName`, valued at the activation: our default seed) with respect to the
 * NHWC input, through the DeconvNet rule. The whole net runs forward (to the
 * class probabilities, kept in `probs` as model.predict would give them); the
 * gradient flows back only from the seed.
 */
function deconvGradient(model: tfl.LayersModel, layerName: string, channel: number) {
  let seedGrad: tf.Tensor | null = null;
  const holder: { probs: tf.Tensor | null } = { probs: null };
  // Inside customGrad's forward the tape is off: the max / argmax bookkeeping is not differentiated.
  const seed = tf.customGrad(((a: tf.Tensor4D) => {
    const [n, h, w, c] = a.shape;
    const plane = tf.reshape(tf.slice(a, [0, 0, 0, channel], [n, h, w, 1]), [n, h * w]);
    const strongest = tf.max(plane, 1, true);
    const onehot = tf.mul(tf.oneHot(tf.argMax(plane, 1), h * w, 1, 0, 'float32'), strongest);
    seedGrad = tf.keep(tf.pad(tf.reshape(onehot, [n, h, w, 1]), [[0, 0], [0, 0], [0, 0], [channel, c - channel - 1]]));
    return { value: tf.sum(strongest), gradFunc: () => seedGrad! };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor) => tf.Scalar;
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (!layers.some((l) => l.name === layerName)) throw new Error(`TF.js model has no layer ${layerName}`);
  const gradient = tf.grad((x: tf.Tensor) => {
    let h = x;
    let seeded: tf.Scalar | null = null;
    for (const layer of layers) {
      h = isRelu(layer) ? deconvRelu(h) : (layer.apply(h) as tf.Tensor);
      if (layer.name === layerName) seeded = seed(h);
    }
    holder.probs = tf.keep(h);
    return seeded!;
  });
  return {
    holder,
    /** d(seed)/d(x), NHWC; frees the kept bookkeeping. */
    run(x: tf.Tensor): tf.Tensor {
      const g = gradient(x);
      seedGrad?.dispose();
      seedGrad = null;
      return g;
    },
  };
}

/** The paper's picture of a projection: zero at mid-grey, the largest magnitude at black or white. */
function normalise(g: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const scale = tf.div(0.5, tf.max(tf.abs(g)));
    return tf.squeeze(tf.clipByValue(tf.add(tf.mul(g, scale), 0.5), 0, 1), [0]) as tf.Tensor3D;
  });
}

interface Theirs {
  frameToPixels: () => Promise<void>;
  frameDraw: () => Promise<void>;
  /** Outside the timed region: the gradient (NHWC) and probabilities, directly and on the mirrored problem. */
  reference: (mirrored: boolean) => Promise<{ gradient: Float32Array; probs: Float32Array }>;
  dispose: () => void;
}

async function createTheirs(photo: ImageBitmap, layerName: string, channel: number): Promise<Theirs> {
  const model = await tfl.loadLayersModel(MODEL_URL);
  const mirroredModel = await tfl.loadLayersModel(MODEL_URL);
  for (const layer of mirroredModel.layers) {
    if (layer.getClassName() !== 'Conv2D') continue;
    const [kernel, ...rest] = layer.getWeights();
    layer.setWeights([tf.reverse(kernel!, [0, 1]), ...rest]);
  }
  const direct = deconvGradient(model, layerName, channel);
  const mirrored = deconvGradient(mirroredModel, layerName, channel);
  const pixelsCanvas = addCanvas('tfjs toPixels');
  const drawCanvas = addCanvas('tfjs draw');
  const backend = tf.backend() as unknown as { device: GPUDevice; commandEncoder: GPUCommandEncoder | null; submitQueue(): void };

  const picture = (): tf.Tensor3D => tf.tidy(() => {
    const x = tf.expandDims(tf.div(tf.browser.fromPixels(photo), 255), 0);
    return normalise(direct.run(x));
  });
  const afterFrame = () => {
    direct.holder.probs?.dispose();
    direct.holder.probs = null;
  };
  return {
    async frameToPixels() {
      const p = picture();
      try {
        await tf.browser.toPixels(p, pixelsCanvas); // reads the picture back, then putImageData
      } finally {
        p.dispose();
        afterFrame();
      }
    },
    async frameDraw() {
      const p = picture();
      try {
        tf.browser.draw(p, drawCanvas); // a render pass into the canvas's WebGPU context
        // TF.js batches commands until a read or a full encoder: submit what is pending, then wait for the queue.
        if (backend.commandEncoder) backend.submitQueue();
        await backend.device.queue.onSubmittedWorkDone();
      } finally {
        p.dispose();
        afterFrame();
      }
    },
    async reference(flip: boolean) {
      const run = flip ? mirrored : direct;
      const g = tf.tidy(() => {
        const x = tf.expandDims(tf.div(tf.browser.fromPixels(photo), 255), 0);
        const grad = run.run(flip ? tf.reverse(x, [1, 2]) : x);
        return flip ? tf.reverse(grad, [1, 2]) : grad;
      });
      const probs = run.holder.probs!;
      run.holder.probs = null;
      try {
        return { gradient: (await g.data()) as Float32Array, probs: (await probs.data()) as Float32Array };
      } finally {
        g.dispose();
        probs.dispose();
      }
    },
    dispose: () => { model.dispose(); mirroredModel.dispose(); },
  };
}

// ---- the same projection? ---------------------------------------------------------

async function checkProjection(ours: Ours, theirs: Theirs, photo: ImageBitmap, layer: string, channel: number): Promise<ProjectionCheck> {
  const x = await ours.input.toTensor(photo);
  let data: Float32Array;
  let ourProbs: Float32Array;
  try {
    ourProbs = await ours.model.predict(x);
    const fwd = await ours.model.forward(x);
    const proj = await ours.deconv.project(fwd, { layer, channel, mode: 'deconvnet' });
    data = (await proj.read()).data;
    proj.release();
    fwd.release();
  } finally {
    x.release();
  }
  const direct = await theirs.reference(false);
  const mirrored = await theirs.reference(true);
  const compare = (nhwc: Float32Array) => {
    let maxRef = 0, maxDiff = 0, differing = 0;
    for (const v of nhwc) maxRef = Math.max(maxRef, Math.abs(v));
    for (let y = 0; y < SIZE; y++) {
      for (let xx = 0; xx < SIZE; xx++) {
        let pixelDiff = 0;
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(data[(c * SIZE + y) * SIZE + xx]! - nhwc[(y * SIZE + xx) * 3 + c]!);
          maxDiff = Math.max(maxDiff, d);
          pixelDiff = Math.max(pixelDiff, d);
        }
        if (pixelDiff > 1e-4 * maxRef) differing++;
      }
    }
    return { rel: maxDiff / maxRef, differing };
  };
  const d = compare(direct.gradient);
  const m = compare(mirrored.gradient);
  const argmax = (p: Float32Array) => p.indexOf(Math.max(...p));
  return { relErrorDirect: d.rel, relErrorMirrored: m.rel, differingPixelsDirect: d.differing, ourClass: argmax(ourProbs), tfClass: argmax(direct.probs) };
}

// TF.js Layers models built and saved in the test itself (cpu backend), the
// reference the importer is compared against: model.json text and shards in
// memory, exactly as tfjs `model.save()` / tensorflowjs_converter lay them
// out (one weight group, its bytes split over one or more shard files).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tfl from '@tensorflow/tfjs-layers';

export { tf, tfl };

let ready: Promise<void> | null = null;

/** Selects the cpu backend once: the reference runs in float32 on the CPU, independent of our GPU code. */
export function initTf(): Promise<void> {
  ready ??= (async () => {
    await tf.setBackend('cpu');
    await tf.ready();
  })();
  return ready;
}

/** A small xorshift PRNG, so every model and input is the same on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/**
 * Replaces the initial weights by seeded random ones that exercise every
 * term: non-zero biases and BN betas/means, BN gammas and variances away from 1.
 */
export function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const values = model.weights.map((w, k) => {
    const n = (w.shape as number[]).reduce((a, d) => a * d, 1);
    const name = w.originalName;
    let data: Float32Array;
    if (/moving_variance$/.test(name)) data = randomArray(n, seed + k, 0.5, 1.5);
    else if (/gamma$/.test(name)) data = randomArray(n, seed + k, 0.6, 1.4);
    else data = randomArray(n, seed + k, -0.5, 0.5);
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  values.forEach((t) => t.dispose());
}

export interface SavedTfjs {
  /** model.json text. */
  json: string;
  /** Shard bytes by path. */
  shards: Map<string, ArrayBuffer>;
  /** Shard paths in manifest order. */
  paths: string[];
}

/** Saves through tf.io.withSaveHandler and writes model.json + `shards` shard files, tfjs-style. */
export async function saveTfjs(model: tfl.LayersModel, shards = 1): Promise<SavedTfjs> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = artifacts! as tf.io.ModelArtifacts;
  const data = a.weightData!;
  const bytes = new Uint8Array(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data as ArrayBuffer);
  // Split at arbitrary byte positions (not at weight boundaries), as tfjs's 4 MB shards do.
  const paths: string[] = [];
  const map = new Map<string, ArrayBuffer>();
  for (let s = 0; s < shards; s++) {
    const from = Math.floor((bytes.length * s) / shards), to = Math.floor((bytes.length * (s + 1)) / shards);
    const path = `group1-shard${s + 1}of${shards}.bin`;
    paths.push(path);
    map.set(path, bytes.slice(from, to).buffer);
  }
  const json = JSON.stringify({
    format: 'layers-model',
    generatedBy: 'TensorFlow.js tfjs-layers (test)',
    convertedBy: null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths, weights: a.weightSpecs }],
  });
  return { json, shards: map, paths };
}

/** [N, C, H, W] -> [N, H, W, C]. */
export function nchwToNhwc(x: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n!; b++) for (let k = 0; k < c!; k++) for (let y = 0; y < h!; y++) for (let i = 0; i < w!; i++) {
    out[((b * h! + y) * w! + i) * c! + k] = x[((b * c! + k) * h! + y) * w! + i]!;
  }
  return out;
}

/** [N, H, W, C] -> [N, C, H, W]. */
export function nhwcToNchw(x: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n!; b++) for (let k = 0; k < c!; k++) for (let y = 0; y < h!; y++) for (let i = 0; i < w!; i++) {
    out[((b * c! + k) * h! + y) * w! + i] = x[((b * h! + y) * w! + i) * c! + k]!;
  }
  return out;
}

/** The model's prediction for an NCHW batch, given back in our layout (NCHW for 4-D outputs). */
export function predictNchw(model: tfl.LayersModel, xNchw: Float32Array, shape: readonly number[], outputIndex = 0): Float32Array {
  const [n, c, h, w] = shape as [number, number, number, number];
  return tf.tidy(() => {
    const x = tf.tensor4d(nchwToNhwc(xNchw, shape), [n, h, w, c]);
    const y = model.predict(x);
    const t = Array.isArray(y) ? y[outputIndex]! : y as tf.Tensor;
    const data = t.dataSync() as Float32Array;
    return t.rank === 4 ? nhwcToNchw(data, t.shape) : Float32Array.from(data);
  });
}

/**
 * d(sum over the batch of layer `layerName`'s activation at channel, y, x)/d(input),
 * by tf.grad through a model whose output is that layer, in NCHW. This is what
 * our `mode: 'gradient'`, `seed: 'one'` projection of that position computes per image.
 */
export function gradientNchw(model: tfl.LayersModel, layerName: string, xNchw: Float32Array, shape: readonly number[], channel: number, y: number, x: number): Float32Array {
  const [n, c, h, w] = shape as [number, number, number, number];
  const sub = tfl.model({ inputs: model.inputs, outputs: model.getLayer(layerName).output as tfl.SymbolicTensor });
  return tf.tidy(() => {
    const input = tf.tensor4d(nchwToNhwc(xNchw, shape), [n, h, w, c]);
    const f = (t: tf.Tensor) => {
      const out = sub.apply(t, { training: false }) as tf.Tensor;
      const [, oh, ow, oc] = out.shape as number[];
      const mask = new Float32Array(out.size);
      for (let b = 0; b < n; b++) mask[((b * oh! + y) * ow! + x) * oc! + channel] = 1;
      return tf.sum(tf.mul(out, tf.tensor(mask, out.shape)));
    };
    const g = tf.grad(f)(input);
    return nhwcToNchw(g.dataSync() as Float32Array, g.shape);
  });
}

/**
 * TF.js's own loader on model.json text and shard bytes, as its http handler
 * reads them (JSON parse, neither topology nor manifest is an error, shards
 * fetched by manifest path and concatenated, weights decoded by
 * getModelArtifactsForJSON, tfl.loadLayersModel strict): the independent
 * reading of a file the importer is compared with. Throws what TF.js throws.
 */
export async function loadWithTfjs(json: string, shards: ReadonlyMap<string, Uint8Array>): Promise<tfl.LayersModel> {
  const modelJSON = JSON.parse(json) as tf.io.ModelJSON;
  if (modelJSON.modelTopology == null && modelJSON.weightsManifest == null) throw new Error('model.json has neither topology nor weights manifest');
  const handler: tf.io.IOHandler = {
    load: () => tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
      const parts = manifest.flatMap((group) => group.paths.map((p) => {
        const bytes = shards.get(p);
        if (!bytes) throw new Error(`no shard "${p}"`);
        return bytes.slice().buffer;
      }));
      return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(parts)];
    }),
  };
  return tfl.loadLayersModel(handler, { strict: true });
}

// Fuzz of the TF.js Layers importer: one real saved model (model.json + one
// shard) mutated 520 ways with a fixed seed (bit flips, truncation, shuffled
// byte ranges of either file, deleted keys and changed values in the JSON).
// Every case must end in a correct load or a typed error (a DeconvNetError):
// never another exception, never a hang, never an uncaptured WebGPU error.
// Parsing is GPU-free (tfjsLayersSpec), so only the cases that parse are
// built and run on the GPU. Every case also goes through TF.js's own loader
// (tfjs-layers, cpu backend) on the same bytes: each mutant that both load is
// compared with TF.js's predict (and, where nothing that matters changed,
// with the original output); how many were compared is asserted. Where TF.js
// refuses a mutant only for a broken initializer, regularizer or constraint
// (training settings we do not read), it is retried without them.
import { describe, expect, it } from 'vitest';
import { DeconvNetError, type ModelSpec } from '../src/index.js';
import { tfjsLayersSpec, buildTfjsLayersModel } from '../src/model/import/tfjs_layers.js';
import { getRuntime } from './helpers/gpu.js';
import { moderateWeights } from './helpers/fuzz.js';
import { tf, tfl, initTf, randomizeWeights, saveTfjs, randomArray, rng, loadWithTfjs, nchwToNhwc, nhwcToNchw } from './helpers/tfjs_models.js';

const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => layer.apply(x) as tfl.SymbolicTensor;

/** A small functional model touching most of the importer: conv, BN, pool, Add, Concatenate, separable conv, Flatten -> Dense, Softmax. */
function fuzzModel(): tfl.LayersModel {
  const x = tfl.input({ name: 'x', shape: [6, 6, 2] });
  const c1 = apply(tfl.layers.conv2d({ name: 'c1', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }), x);
  const bn = apply(tfl.layers.batchNormalization({ name: 'bn' }), c1);
  const a = apply(tfl.layers.conv2d({ name: 'a', filters: 3, kernelSize: 1 }), bn);
  const p = apply(tfl.layers.maxPooling2d({ name: 'p', poolSize: 2, strides: 1, padding: 'same' }), bn);
  const sum = apply(tfl.layers.add({ name: 'add' }), [a, p]);
  const cat = apply(tfl.layers.concatenate({ name: 'cat' }), [sum, c1]);
  const sep = apply(tfl.layers.separableConv2d({ name: 'sep', filters: 4, kernelSize: 3, activation: 'tanh' }), cat);
  const zp = apply(tfl.layers.zeroPadding2d({ name: 'zp', padding: 1 }), sep);
  const fl = apply(tfl.layers.flatten({ name: 'fl' }), zp);
  const d = apply(tfl.layers.dense({ name: 'd', units: 5 }), fl);
  const sm = apply(tfl.layers.softmax({ name: 'sm' }), d);
  return tfl.model({ name: 'fuzz', inputs: x, outputs: sm });
}

type Case = { kind: string; json: string | Uint8Array; shard: Uint8Array; shardChanged: boolean };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function flipBits(bytes: Uint8Array, r: () => number, count: number): Uint8Array {
  const out = bytes.slice();
  for (let k = 0; k < count; k++) {
    const i = Math.floor(r() * out.length);
    out[i]! ^= 1 << Math.floor(r() * 8);
  }
  return out;
}

function truncate(bytes: Uint8Array, r: () => number): Uint8Array {
  return bytes.slice(0, Math.floor(r() * bytes.length));
}

/** Swaps two byte ranges of the same length (possibly overlapping: then a rotation of bytes). */
function shuffleRanges(bytes: Uint8Array, r: () => number): Uint8Array {
  const out = bytes.slice();
  const len = 1 + Math.floor(r() * Math.min(64, out.length / 4));
  const i = Math.floor(r() * (out.length - len)), j = Math.floor(r() * (out.length - len));
  const a = bytes.slice(i, i + len), b = bytes.slice(j, j + len);
  out.set(b, i);
  out.set(a, j);
  return out;
}

/** Every (container, key) pair of a parsed JSON value, depth-first. */
function slots(v: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []) {
  if (Array.isArray(v)) v.forEach((x, k) => { out.push([v, k]); slots(x, out); });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([v as Record<string, unknown>, k]); slots(x, out); }
  return out;
}

function deleteKey(text: string, r: () => number): string {
  const j = JSON.parse(text);
  const all = slots(j);
  const [container, key] = all[Math.floor(r() * all.length)]!;
  if (Array.isArray(container)) container.splice(key as number, 1);
  else delete container[key as string];
  return JSON.stringify(j);
}

/** Replaces a random number, string, boolean or null by another value of some type. */
function changeValue(text: string, r: () => number): string {
  const j = JSON.parse(text);
  const leaves = slots(j).filter(([c, k]) => {
    const v = (c as Record<string | number, unknown>)[k];
    return v === null || typeof v !== 'object';
  });
  const [container, key] = leaves[Math.floor(r() * leaves.length)]!;
  const old = (container as Record<string | number, unknown>)[key];
  const choices: unknown[] = [0, -1, 1, 2, 7, 1e9, -3.5, 0.5, NaN, null, true, 'same', 'valid', 'x', '', [], {}, [1, 2], [[1, 1], [1, 1]],
    typeof old === 'number' ? old + 1 : 'relu', typeof old === 'number' ? old * 2 : 'softmax'];
  (container as Record<string | number, unknown>)[key] = choices[Math.floor(r() * choices.length)];
  return JSON.stringify(j);
}

/** What the model computes, without names: layer kinds and settings, weights by checksum, wiring, inputs and outputs. */
function signature(spec: ModelSpec): string {
  const index = new Map<string, string>();
  spec.inputs?.forEach((inp, k) => index.set(inp.name, `in${k}`));
  spec.nodes!.forEach((n, k) => index.set(n.layer.name, `n${k}`));
  return JSON.stringify({
    inputs: spec.inputs?.map((i) => i.shape),
    outputs: spec.outputs?.map((o) => index.get(o)),
    nodes: spec.nodes!.map((n) => ({ inputs: n.inputs.map((i) => index.get(i)), layer: n.layer })),
  }, (key, value) => {
    if (key === 'name') return undefined;
    if (value instanceof Float32Array) {
      let h = 0;
      for (let i = 0; i < value.length; i++) h = (h * 31 + Math.round(value[i]! * 1e6)) % 1000000007;
      return `f32:${value.length}:${h}`;
    }
    return value;
  });
}

/** Whether every number in the file's topology is at most 4096 in magnitude (JSON that does not parse passes: TF.js refuses it itself). */
function smallSizes(json: string): boolean {
  let topology: unknown;
  try {
    topology = (JSON.parse(json) as { modelTopology?: unknown }).modelTopology;
  } catch {
    return true;
  }
  let small = true;
  JSON.stringify(topology ?? null, (_, v) => {
    if (typeof v === 'number' && Math.abs(v) > 4096) small = false;
    return v;
  });
  return small;
}

/**
 * Whether tfjs-layers's fromConfig would loop forever on the file: it
 * processes layer calls until none is left, and a call whose inputs never
 * come (a reference to a call that does not exist, an empty inbound node, a
 * cycle) is never processed. Replays that loop on the wiring alone.
 */
function tfjsLoopsForever(json: string): boolean {
  type Config = { layers?: unknown };
  let config: Config | undefined;
  try {
    // tfjs model.save() writes {class_name, config}; tensorflowjs_converter wraps it in model_config.
    const topology = (JSON.parse(json) as { modelTopology?: { config?: Config; model_config?: { config?: Config } } }).modelTopology;
    config = topology?.model_config?.config ?? topology?.config;
  } catch {
    return false;
  }
  if (!config || !Array.isArray(config.layers)) return false;
  const calls: Array<{ key: string; refs: unknown[] }> = [];
  const done = new Set<string>();
  for (const l of config.layers as Array<{ name?: unknown; class_name?: unknown; inbound_nodes?: unknown }>) {
    if (l?.class_name === 'InputLayer') done.add(`${String(l.name)}@0`);
    else if (Array.isArray(l?.inbound_nodes)) l.inbound_nodes.forEach((node, k) => calls.push({ key: `${String(l.name)}@${k}`, refs: Array.isArray(node) ? node : [] }));
  }
  const ready = (ref: unknown) => Array.isArray(ref) && done.has(`${String(ref[0])}@${typeof ref[1] === 'number' ? ref[1] : 0}`);
  let progress = true;
  while (progress) {
    progress = false;
    for (const c of calls) {
      if (!done.has(c.key) && c.refs.length > 0 && c.refs.every(ready)) { done.add(c.key); progress = true; }
    }
  }
  return calls.some((c) => !done.has(c.key));
}

/** model.json without the layers' initializer, regularizer and constraint settings (unchanged where it has none, or is not JSON). */
function withoutTrainingSettings(json: string): string {
  let changed = false;
  try {
    const out = JSON.stringify(JSON.parse(json), (key, v) => {
      if (/_(initializer|regularizer|constraint)$/.test(key)) { changed = true; return undefined; }
      return v;
    });
    return changed ? out : json;
  } catch {
    return json;
  }
}

/** Whether `ours` is Keras's [H, W, C] as our [C, H, W]. */
const isChwOf = (ours: readonly number[], keras: readonly number[]) =>
  ours.length === 3 && keras.length === 3 && ours[0] === keras[2] && ours[1] === keras[0] && ours[2] === keras[1];

/**
 * TF.js's predict for our NCHW batch `x` of `shape` ([N, ...our input shape]):
 * the input goes in as Keras reads it (HWC where our input is its CHW, as is
 * where the model reads channels first), the output comes back with its Keras shape.
 */
function predictLike(keras: tfl.LayersModel, x: Float32Array, shape: number[], channelsFirst: boolean): { data: Float32Array; shape: number[] } {
  const kShape = (keras.inputs[0]!.shape as number[]).slice(1);
  const ours = shape.slice(1);
  const asHwc = isChwOf(ours, kShape) && !(channelsFirst && ours.every((d, k) => d === kShape[k]));
  if (!asHwc && !ours.every((d, k) => d === kShape[k])) throw new Error(`input [${kShape}] is not ours [${ours}]`);
  return tf.tidy(() => {
    const input = asHwc ? tf.tensor(nchwToNhwc(x, shape), [shape[0]!, ...kShape]) : tf.tensor(x, shape);
    const y = keras.predict(input);
    const t = Array.isArray(y) ? y[0]! : y as tf.Tensor;
    return { data: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape.slice(1) as number[] };
  });
}

/**
 * Our output equals TF.js's within float32 rounding: every element within 1e-4
 * of the larger of 1 and TF.js's largest magnitude, NaN and infinities where
 * TF.js has them. A 3-D output is compared in our CHW order.
 */
function expectSameOutput(ours: Float32Array, oursShape: readonly number[], theirs: { data: Float32Array; shape: number[] }, what: string): void {
  const shape = oursShape.slice(1);
  let expected = theirs.data;
  if (!shape.every((d, k) => d === theirs.shape[k])) {
    expect(isChwOf(shape, theirs.shape), `${what}: our output [${shape}] vs TF.js [${theirs.shape}]`).toBe(true);
    expected = nhwcToNchw(theirs.data, [oursShape[0]!, ...theirs.shape]);
  }
  expect(ours.length, `${what}: length`).toBe(expected.length);
  const scale = Math.max(1, ...Array.from(expected, (v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
  for (let i = 0; i < expected.length; i++) {
    const a = ours[i]!, e = expected[i]!;
    if (!Number.isFinite(e)) expect(a, `${what}: element ${i}`).toBe(e);
    else expect(Math.abs(a - e), `${what}: element ${i} (${a} vs ${e})`).toBeLessThanOrEqual(1e-4 * scale);
  }
}

describe('fuzz: mutated TF.js Layers files load correctly or fail with a typed error', () => {
  it('520 mutations of model.json and its shard', async () => {
    await initTf();
    const keras = fuzzModel();
    randomizeWeights(keras, 77);
    const saved = await saveTfjs(keras, 1);
    const text = saved.json;
    const shard = new Uint8Array(saved.shards.get(saved.paths[0]!)!);
    const path = saved.paths[0]!;
    const rt = await getRuntime();

    const originalSpec = tfjsLayersSpec(text, [shard.slice().buffer], 'fuzz/model.json');
    const originalSignature = signature(originalSpec);
    const input = randomArray(2 * 2 * 6 * 6, 5);
    const original = buildTfjsLayersModel(rt, originalSpec);
    const fwd0 = await original.forward(input);
    const reference = await fwd0.readOutput();
    fwd0.release();
    original.destroy();

    const r = rng(20240501);
    const jsonBytes = encoder.encode(text);
    const cases: Case[] = [];
    const add = (kind: string, n: number, make: () => Omit<Case, 'kind'>) => { for (let k = 0; k < n; k++) cases.push({ kind, ...make() }); };
    const same = { shard, shardChanged: false };
    add('json bit flips', 130, () => ({ json: flipBits(jsonBytes, r, 1 + Math.floor(r() * 3)), ...same }));
    add('json truncation', 40, () => ({ json: truncate(jsonBytes, r), ...same }));
    add('json shuffled ranges', 40, () => ({ json: shuffleRanges(jsonBytes, r), ...same }));
    add('json deleted key', 80, () => ({ json: deleteKey(text, r), ...same }));
    add('json changed value', 60, () => ({ json: changeValue(text, r), ...same }));
    add('shard bit flips', 100, () => ({ json: text, shard: flipBits(shard, r, 1 + Math.floor(r() * 4)), shardChanged: true }));
    add('shard truncation', 30, () => ({ json: text, shard: truncate(shard, r), shardChanged: true }));
    add('shard shuffled ranges', 40, () => ({ json: text, shard: shuffleRanges(shard, r), shardChanged: true }));
    expect(cases.length).toBe(520);

    const tally = new Map<string, number>();
    const count = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1);
    const typed = (e: unknown, c: Case, stage: string) => {
      if (!(e instanceof DeconvNetError)) {
        throw new Error(`${c.kind} (case ${cases.indexOf(c)}), ${stage}: untyped ${(e as Error)?.name}: ${(e as Error)?.message ?? e}`);
      }
      count(`${stage}: ${e.name}`);
    };

    // Stage 1, no GPU: parse and validate every case.
    const parsed: Array<{ c: Case; spec: ModelSpec; sig: string; moderate: boolean }> = [];
    for (const c of cases) {
      const started = performance.now();
      const json = typeof c.json === 'string' ? c.json : decoder.decode(c.json);
      try {
        const spec = tfjsLayersSpec(json, new Map([[path, c.shard]]), 'fuzz/model.json');
        // Before building: build() adds GPU state to the layer objects.
        parsed.push({ c, spec, sig: signature(spec), moderate: moderateWeights(spec) });
      } catch (e) {
        typed(e, c, 'parse');
      }
      expect(performance.now() - started, `${c.kind}: parsing time`).toBeLessThan(2000);
    }

    // Stage 2: every case through TF.js's own loader (tfjs-layers, cpu backend) on the same bytes.
    // Stage 3: build and run what parsed; compare each loaded mutant with TF.js's predict.
    const inputShape = [2, 6, 6]; // ours, NCHW; Keras [6, 6, 2]
    let compared = 0, sameAsOriginal = 0;
    const tfjsOnly: string[] = [], oursOnly: string[] = [];
    const tfjsOutcome = async (c: Case, x: Float32Array, shape: number[]): Promise<{ out: { data: Float32Array; shape: number[] } } | { refused: string }> => {
      let keras: tfl.LayersModel | null = null;
      const json = typeof c.json === 'string' ? c.json : decoder.decode(c.json);
      // TF.js builds every layer with its initializer before it reads the weights: a
      // mutated size of 1e9 would fill gigabytes. Such files are not given to it.
      if (!smallSizes(json)) return { refused: 'not tried: a size above 4096 in the topology' };
      if (tfjsLoopsForever(json)) return { refused: 'not tried: a layer call whose inputs never come (tfjs-layers would loop forever)' };
      const shards = new Map([[path, c.shard]]);
      try {
        try {
          keras = await loadWithTfjs(json, shards);
        } catch (e) {
          // Initializers, regularizers and constraints only matter to training, and the
          // importer does not read them; TF.js refuses a broken one. Without them it reads the rest.
          const inference = withoutTrainingSettings(json);
          if (inference === json) throw e;
          keras = await loadWithTfjs(inference, shards);
          count('TF.js loads it without its training settings');
        }
        return { out: predictLike(keras, x, shape, json.includes('channels_first')) };
      } catch (e) {
        return { refused: `${(e as Error)?.name}: ${(e as Error)?.message ?? e}` };
      } finally {
        keras?.dispose();
      }
    };
    const parsedSet = new Set(parsed.map((p) => p.c));
    for (const c of cases) {
      if (parsedSet.has(c)) continue;
      // We refused it at parse time with a typed error (asserted above); where TF.js loads it, say so.
      const theirs = await tfjsOutcome(c, input, [2, ...inputShape]);
      if ('out' in theirs) tfjsOnly.push(`${c.kind} (case ${cases.indexOf(c)})`);
    }
    for (const { c, spec, sig, moderate } of parsed) {
      let model;
      try {
        model = buildTfjsLayersModel(rt, spec, 'fuzz/model.json');
      } catch (e) {
        typed(e, c, 'build');
        if ('out' in await tfjsOutcome(c, input, [2, ...inputShape])) tfjsOnly.push(`${c.kind} (case ${cases.indexOf(c)}), build`);
        continue;
      }
      try {
        const perImage = model.inputShape.reduce((a, d) => a * d, 1);
        if (model.inputs.length !== 1 || perImage > 1 << 16) { count('built (not run: input too large)'); continue; }
        const x = perImage === 2 * 6 * 6 ? input : randomArray(2 * perImage, 5);
        let out: Float32Array, outShape: readonly number[];
        try {
          const fwd = await model.forward(x);
          out = await fwd.readOutput();
          outShape = fwd.outputs[0]!.shape;
          fwd.release();
        } catch (e) {
          typed(e, c, 'forward');
          continue;
        }
        count('loaded and ran');
        const where = `${c.kind} (case ${cases.indexOf(c)})`;
        if (!c.shardChanged && sig === originalSignature) {
          sameAsOriginal++;
          expect(Array.from(out), `${where}: same model, same weights`).toEqual(Array.from(reference));
        }
        const theirs = await tfjsOutcome(c, x, [2, ...model.inputShape]);
        if ('refused' in theirs) { oursOnly.push(`${where}: TF.js: ${theirs.refused.slice(0, 160)}`); continue; }
        if (!moderate) { count('not compared: extreme weights'); continue; }
        expectSameOutput(out, outShape, theirs.out, `${where}: vs TF.js predict`);
        compared++;
      } finally {
        model.destroy();
      }
    }
    console.log(`fuzz: ${cases.length} cases, ${parsed.length} parsed, ${compared} compared with TF.js's predict (${sameAsOriginal} also equal to the original output); `
      + `${tfjsOnly.length} loaded by TF.js only, ${oursOnly.length} by us only; ${[...tally].sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (oursOnly.length) console.log(`loaded by us only:\n${oursOnly.join('\n')}`);
    if (tfjsOnly.length) console.log(`loaded by TF.js only: ${tfjsOnly.join(', ')}`);
    expect(parsed.length).toBeGreaterThan(50);
    expect(sameAsOriginal).toBeGreaterThan(10);
    // Every mutant that loaded and ran was compared, or TF.js refused it, or its weights are extreme.
    expect(compared + oursOnly.length + (tally.get('not compared: extreme weights') ?? 0)).toBe(tally.get('loaded and ran'));
    expect(compared, 'loaded mutants compared with TF.js').toBeGreaterThan(150);
  });
});

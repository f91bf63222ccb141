// Fuzz of the TF.js Layers importer: one real saved model (model.json + one
// shard) mutated 520 ways with a fixed seed (bit flips, truncation, shuffled
// byte ranges of either file, deleted keys and changed values in the JSON).
// Every case must end in a correct load or a typed error (a DeconvNetError):
// never another exception, never a hang, never an uncaptured WebGPU error.
// Parsing is GPU-free (tfjsLayersSpec), so only the cases that parse are
// built and run on the GPU.
import { describe, expect, it } from 'vitest';
import { DeconvNetError, type ModelSpec } from '../src/index.js';
import { tfjsLayersSpec, buildTfjsLayersModel } from '../src/model/import/tfjs_layers.js';
import { getRuntime } from './helpers/gpu.js';
import { tfl, initTf, randomizeWeights, saveTfjs, randomArray, rng } from './helpers/tfjs_models.js';

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
    const parsed: Array<{ c: Case; spec: ModelSpec; sig: string }> = [];
    for (const c of cases) {
      const started = performance.now();
      const json = typeof c.json === 'string' ? c.json : decoder.decode(c.json);
      try {
        const spec = tfjsLayersSpec(json, new Map([[path, c.shard]]), 'fuzz/model.json');
        // Before building: build() adds GPU state to the layer objects.
        parsed.push({ c, spec, sig: signature(spec) });
      } catch (e) {
        typed(e, c, 'parse');
      }
      expect(performance.now() - started, `${c.kind}: parsing time`).toBeLessThan(2000);
    }

    // Stage 2: build and run what parsed; unchanged weights and an unchanged model must give the original output.
    let compared = 0;
    for (const { c, spec, sig } of parsed) {
      let model;
      try {
        model = buildTfjsLayersModel(rt, spec, 'fuzz/model.json');
      } catch (e) {
        typed(e, c, 'build');
        continue;
      }
      try {
        const perImage = model.inputShape.reduce((a, d) => a * d, 1);
        if (model.inputs.length !== 1 || perImage > 1 << 16) { count('built (not run: input too large)'); continue; }
        const x = perImage === 2 * 6 * 6 ? input : randomArray(2 * perImage, 5);
        let out: Float32Array;
        try {
          const fwd = await model.forward(x);
          out = await fwd.readOutput();
          fwd.release();
        } catch (e) {
          typed(e, c, 'forward');
          continue;
        }
        count('loaded and ran');
        if (!c.shardChanged && sig === originalSignature) {
          compared++;
          expect(Array.from(out), `${c.kind} (case ${cases.indexOf(c)}): same model, same weights`).toEqual(Array.from(reference));
        }
      } finally {
        model.destroy();
      }
    }
    console.log(`fuzz: ${cases.length} cases, ${parsed.length} parsed, ${compared} compared to the original output; ${
      [...tally].sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
    expect(parsed.length).toBeGreaterThan(50);
    expect(compared).toBeGreaterThan(10);
  });
});

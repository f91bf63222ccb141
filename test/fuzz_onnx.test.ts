// Fuzz of the ONNX importer: real model files mutated with a fixed seed (bit
// flips, truncation at random points, swapped byte ranges, runs of random
// bytes, and one field of the decoded model changed). Every case must end in a correct load or a typed error (a
// DeconvNetError): never another exception type, never a hang, never an
// uncaptured WebGPU error. The files are a small multi-node model encoded
// here with onnx-proto (always run) and the model.onnx of a few cases of
// ../shared/onnx-conformance (skipped when that folder is absent). Parsing
// (onnxSpec) needs no GPU; every case that parses is also built and run on
// the GPU. Its output must equal the original's when the spec is unchanged,
// and the float64 evaluation of the same mutated bytes (test/ref/onnx_graph.ts,
// written from the ONNX operator definitions) always, unless the graph is
// beyond that reference or its weights are extreme; how many were compared
// is asserted. A mutation that loads is a model of its own: the fuzz asks that
// it loads as the file says, not that it is the original model.
import { describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { onnx } from 'onnx-proto';
import { DeconvNetError, FormatError, ShapeError, UnsupportedError, type ModelSpec } from '../src/index.js';
import { importOnnx, onnxSpec } from '../src/model/import/onnx.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom, type Random } from './helpers/random.js';
import { loadCase } from './onnx/load.js';
import { evaluateOnnx, BeyondReference, InvalidGraph } from './ref/onnx_graph.js';
import { moderateWeights } from './helpers/fuzz.js';
import { onnxModel } from './helpers/onnx_models.js';

const AT = onnx.AttributeProto.AttributeType;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

// ---- a model built here ---------------------------------------------------------

const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: AT.INTS, ints: v });
const int = (name: string, v: number): onnx.IAttributeProto => ({ name, type: AT.INT, i: v });
const float = (name: string, v: number): onnx.IAttributeProto => ({ name, type: AT.FLOAT, f: v });

/** A float initializer, in raw_data (little-endian) or in float_data. */
function floatTensor(name: string, dims: number[], data: Float32Array, raw: boolean): onnx.ITensorProto {
  if (!raw) return { name, dims, dataType: FLOAT, floatData: Array.from(data) };
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, dataType: FLOAT, rawData: bytes };
}

function valueInfo(name: string, dims: number[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

interface NetWeights { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array }

/** Sizes of the built model: x [1, 2, 6, 6]; conv 3x3 pad 1 to 6 channels; max pool 2x2 stride 2; gemm of the 54 flat features to 5 units. */
const C = 2, H = 6, W = 6, F = 6, K = 3, UNITS = 5, FEATURES = F * (H / 2) * (W / 2);

interface Variant { op?: string; w1?: Float32Array; w1Dims?: number[]; gemmK?: number }

/** Conv -> Relu -> MaxPool -> Flatten -> Gemm -> Reshape -> Softmax (opset 13): 389 weights in both float encodings, and an int64 shape. */
function buildModel(wts: NetWeights, v: Variant = {}): Uint8Array {
  const k = v.gemmK ?? FEATURES;
  const graph: onnx.IGraphProto = {
    name: 'fuzz',
    input: [valueInfo('x', [1, C, H, W])],
    output: [valueInfo('probs', [1, UNITS])],
    initializer: [
      floatTensor('conv.W', v.w1Dims ?? [F, C, K, K], v.w1 ?? wts.w1, true),
      floatTensor('conv.B', [F], wts.b1, false),
      floatTensor('fc.W', [UNITS, k], wts.w2.subarray(0, UNITS * k), true),
      floatTensor('fc.B', [UNITS], wts.b2, false),
      { name: 'shape', dims: [2], dataType: INT64, int64Data: [1, UNITS] },
    ],
    node: [
      { name: 'conv1', opType: 'Conv', input: ['x', 'conv.W', 'conv.B'], output: ['c1'], attribute: [ints('kernel_shape', [K, K]), ints('pads', [1, 1, 1, 1]), ints('strides', [1, 1])] },
      { name: 'act1', opType: v.op ?? 'Relu', input: ['c1'], output: ['r1'] },
      { name: 'pool1', opType: 'MaxPool', input: ['r1'], output: ['p1'], attribute: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])] },
      { name: 'flat', opType: 'Flatten', input: ['p1'], output: ['f1'], attribute: [int('axis', 1)] },
      { name: 'fc', opType: 'Gemm', input: ['f1', 'fc.W', 'fc.B'], output: ['g1'], attribute: [int('transB', 1), float('alpha', 1), float('beta', 1)] },
      { name: 'reshape', opType: 'Reshape', input: ['g1', 'shape'], output: ['g2'] },
      { name: 'softmax', opType: 'Softmax', input: ['g2'], output: ['probs'], attribute: [int('axis', -1)] },
    ],
  };
  return onnx.ModelProto.encode({ irVersion: 7, producerName: 'fuzz_onnx.test', opsetImport: [{ domain: '', version: 13 }], graph }).finish();
}

function weights(seed: number): NetWeights {
  const r = makeRandom(seed);
  return { w1: r.array(F * C * K * K, -0.5, 0.5), b1: r.array(F, -0.1, 0.1), w2: r.array(UNITS * FEATURES, -0.3, 0.3), b2: r.array(UNITS, -0.1, 0.1) };
}

/** The built model on the CPU, one image at a time. */
function reference(wts: NetWeights, x: Float32Array): Float32Array {
  const batch = x.length / (C * H * W);
  const out = new Float32Array(batch * UNITS);
  for (let n = 0; n < batch; n++) {
    const conv = new Float32Array(F * H * W);
    for (let f = 0; f < F; f++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      let s = wts.b1[f]!;
      for (let c = 0; c < C; c++) for (let di = 0; di < K; di++) for (let dj = 0; dj < K; dj++) {
        const y = i + di - 1, z = j + dj - 1;
        if (y >= 0 && y < H && z >= 0 && z < W) s += wts.w1[((f * C + c) * K + di) * K + dj]! * x[((n * C + c) * H + y) * W + z]!;
      }
      conv[(f * H + i) * W + j] = Math.max(0, s);
    }
    const flat = new Float32Array(FEATURES);
    for (let f = 0; f < F; f++) for (let i = 0; i < H / 2; i++) for (let j = 0; j < W / 2; j++) {
      let m = -Infinity;
      for (let di = 0; di < 2; di++) for (let dj = 0; dj < 2; dj++) m = Math.max(m, conv[(f * H + 2 * i + di) * W + 2 * j + dj]!);
      flat[(f * (H / 2) + i) * (W / 2) + j] = m;
    }
    const logits = Array.from({ length: UNITS }, (_, u) => flat.reduce((s, v, k) => s + v * wts.w2[u * FEATURES + k]!, wts.b2[u]!));
    const top = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - top));
    const sum = e.reduce((a, b) => a + b, 0);
    e.forEach((v, u) => { out[n * UNITS + u] = v / sum; });
  }
  return out;
}

// ---- mutations ----------------------------------------------------------------------

type Mutation = 'bit flips' | 'truncation' | 'shuffled ranges' | 'random bytes' | 'changed field';
const MUTATIONS: Mutation[] = ['bit flips', 'truncation', 'shuffled ranges', 'random bytes', 'changed field'];

const ODD_VALUES = [0, -1, 1, 2, 3, 7, 100, 1e6, 2 ** 31, 2 ** 40, -7, 0.5];
const SOME_OPS = ['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Gemm', 'MatMul', 'Flatten', 'Reshape', 'Transpose',
  'Squeeze', 'Unsqueeze', 'Concat', 'Pad', 'Softmax', 'BatchNormalization', 'LRN', 'Add', 'Mul', 'Sum', 'PRelu', 'Clip', 'Gather', 'Shape',
  'ConstantOfShape', 'Constant', 'Identity', 'Dropout', 'Cast', 'Relu'];

/**
 * A well-formed file with one field of the decoded model changed: an
 * attribute's value or type, a tensor or input dimension, a node's op or
 * inputs. Byte mutations mostly break the protobuf; these reach the op mappings.
 */
function changeField(bytes: Uint8Array, r: Random): Uint8Array {
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[r.int(0, xs.length - 1)] : undefined);
  const m = onnx.ModelProto.decode(bytes);
  const graph = m.graph!;
  const node = pick(graph.node ?? [])!;
  const v = pick(ODD_VALUES)!;
  switch (r.int(0, 6)) {
    case 0: { // an attribute's value
      const attr = pick(node.attribute ?? []);
      if (attr?.ints?.length) attr.ints[r.int(0, attr.ints.length - 1)] = v;
      else if (attr && attr.type === AT.FLOAT) attr.f = v;
      else if (attr) attr.i = Math.trunc(v);
      break;
    }
    case 1: { // an attribute added, of a name the ops read, maybe of the wrong type
      const name = pick(['strides', 'pads', 'kernel_shape', 'dilations', 'group', 'axis', 'perm', 'alpha', 'transB', 'auto_pad', 'mode'])!;
      const count = r.int(0, 8);
      node.attribute = [...(node.attribute ?? []), r.next() < 0.5
        ? { name, type: AT.INTS, ints: Array.from({ length: count }, () => Math.trunc(pick(ODD_VALUES)!)) }
        : { name, type: pick([AT.INT, AT.FLOAT, AT.STRING, AT.TENSOR, AT.INTS])!, i: Math.trunc(v), f: v, s: new TextEncoder().encode('SAME_LOWER') }];
      break;
    }
    case 2: { // an initializer's dimension
      const t = pick(graph.initializer ?? []);
      if (t?.dims?.length) t.dims[r.int(0, t.dims.length - 1)] = Math.trunc(v);
      else if (t) t.dims = [Math.trunc(v)];
      break;
    }
    case 3: { // a graph input's dimension
      const dims = graph.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
      const d = pick(dims);
      if (d) d.dimValue = Math.trunc(v);
      break;
    }
    case 4: // the op
      node.opType = pick(SOME_OPS)!;
      break;
    case 5: { // an input dropped, duplicated or renamed
      const inputs = node.input ?? [];
      const which = r.int(0, 2);
      if (which === 0) inputs.splice(r.int(0, inputs.length), 1);
      else if (which === 1) inputs.push(pick(inputs) ?? 'x');
      else inputs[r.int(0, Math.max(0, inputs.length - 1))] = pick([...(graph.initializer ?? []).map((t) => t.name ?? ''), ...(graph.node ?? []).flatMap((n) => n.output ?? []), 'nowhere'])!;
      node.input = inputs;
      break;
    }
    default: { // an initializer's element type
      const t = pick(graph.initializer ?? []);
      if (t) t.dataType = pick([0, 2, 6, 7, 10, 11, 16])!;
    }
  }
  return onnx.ModelProto.encode(m).finish();
}

function mutate(bytes: Uint8Array, kind: Mutation, r: Random): Uint8Array {
  const at = () => Math.floor(r.next() * bytes.length);
  const out = bytes.slice();
  switch (kind) {
    case 'bit flips':
      for (let k = r.int(1, 4); k > 0; k--) out[at()]! ^= 1 << r.int(0, 7);
      return out;
    case 'truncation':
      return bytes.slice(0, at());
    case 'shuffled ranges': {
      // Two ranges of one length swapped (overlapping ones rotate bytes).
      const len = r.int(1, Math.max(1, Math.min(48, bytes.length >> 2)));
      const i = r.int(0, bytes.length - len), j = r.int(0, bytes.length - len);
      out.set(bytes.subarray(j, j + len), i);
      out.set(bytes.subarray(i, i + len), j);
      return out;
    }
    case 'random bytes': {
      const i = at();
      for (let k = Math.min(r.int(1, 8), out.length - i); k > 0; k--) out[i + k - 1] = r.int(0, 255);
      return out;
    }
    case 'changed field':
      return changeField(bytes, r);
  }
}

// ---- running a case -------------------------------------------------------------------

/** What a spec computes, without names: inputs, wiring and layer settings, weights by checksum. */
function signature(spec: ModelSpec): string {
  const index = new Map<string, string>();
  spec.inputs?.forEach((inp, k) => index.set(inp.name, `in${k}`));
  spec.nodes?.forEach((n, k) => index.set(n.layer.name!, `n${k}`));
  return JSON.stringify({
    inputs: spec.inputs?.map((i) => i.shape),
    outputs: spec.outputs?.map((o) => index.get(o)),
    nodes: spec.nodes?.map((n) => ({ inputs: n.inputs.map((i) => index.get(i)), layer: n.layer })),
  }, (key, value) => {
    if (key === 'name') return undefined;
    if (value instanceof Float32Array) {
      const bits = new Uint32Array(Float32Array.from(value).buffer);
      let h = 7;
      for (let i = 0; i < bits.length; i++) h = (Math.imul(h, 31) + bits[i]!) | 0;
      return `f32[${value.length}]:${h}`;
    }
    return value;
  });
}

class Tally {
  readonly counts = new Map<string, number>();
  add(what: string): void { this.counts.set(what, (this.counts.get(what) ?? 0) + 1); }
  toString(): string { return [...this.counts].sort().map(([k, v]) => `${k}: ${v}`).join(', '); }
}

interface Source {
  label: string;
  bytes: Uint8Array;
  /** The unmutated file's spec signature and output on `input`, to check that a mutation which changed nothing loads the same model. */
  original: { sig: string; output: Float32Array };
  input: Float32Array;
}

function expectTyped(e: unknown, what: string, tally: Tally, stage: string): void {
  if (!(e instanceof DeconvNetError)) {
    const err = e as Error;
    throw new Error(`${what}, ${stage}: not a typed error: ${err?.name}: ${err?.message ?? String(e)}\n${err?.stack ?? ''}`);
  }
  tally.add(`${stage} ${e.name}`);
}

/** Every graph output, one after the other. */
async function forwardOutput(bytes: Uint8Array, file: string, input: Float32Array): Promise<Float32Array> {
  const rt = await getRuntime();
  const imported = await importOnnx(rt, bytes, { fileName: file });
  try {
    const fwd = await imported.model.forward(input);
    try {
      const parts: Float32Array[] = [];
      for (const t of fwd.outputs) parts.push(await t.read());
      return Float32Array.from(parts.flatMap((p) => Array.from(p)));
    } finally {
      fwd.release();
    }
  } finally {
    imported.model.destroy();
  }
}

function randomInput(spec: ModelSpec, seed: number): Float32Array | null {
  if (spec.inputs?.length !== 1) return null;
  const perImage = spec.inputs[0]!.shape.reduce((a, b) => a * b, 1);
  return perImage <= 1 << 16 ? makeRandom(seed).array(perImage, -1, 1) : null;
}

/**
 * Our output equals the float64 evaluation within float32 rounding: every
 * element within 1e-4 of the larger of 1 and the reference's largest magnitude.
 */
function expectNearReference(out: Float32Array, ref: Float64Array, what: string): void {
  expect(out.length, `${what}: output length`).toBe(ref.length);
  const scale = Math.max(1, ...Array.from(ref, Math.abs));
  for (let i = 0; i < ref.length; i++) {
    expect(Math.abs(out[i]! - ref[i]!), `${what}: element ${i} (${out[i]} vs float64 ${ref[i]})`).toBeLessThanOrEqual(1e-4 * scale);
  }
}


/**
 * `count` mutations of each source; returns the tally. Every case that parses
 * is built and run on the GPU, and its output compared with the float64
 * evaluation of the same mutated bytes (test/ref/onnx_graph.ts), unless that
 * graph is beyond the reference (an op or attribute it does not cover) or its
 * weights are extreme (Inf or NaN on any implementation).
 */
async function fuzz(sources: Source[], count: number, seed: number): Promise<Tally> {
  const r = makeRandom(seed);
  const tally = new Tally();
  const disagreements: string[] = [];
  for (const src of sources) {
    for (let k = 0; k < count; k++) {
      const kind = MUTATIONS[k % MUTATIONS.length]!;
      const bytes = mutate(src.bytes, kind, r);
      const what = `${src.label} case ${k} (${kind})`;
      const file = `fuzz/${src.label}.onnx`;
      const started = performance.now();
      let spec: ModelSpec;
      try {
        spec = (await onnxSpec(bytes, { fileName: file })).spec;
      } catch (e) {
        expectTyped(e, what, tally, 'parse:');
        continue;
      } finally {
        expect(performance.now() - started, `${what}: parsing time (ms)`).toBeLessThan(2000);
      }
      tally.add('parsed');
      // On the GPU: a fresh import of the same bytes (createModel builds the layers of a spec in place).
      const same = signature(spec) === src.original.sig;
      const input = same ? src.input : randomInput(spec, k);
      if (!input) { tally.add('gpu: not run (input too large or several inputs)'); continue; }
      let out: Float32Array;
      try {
        out = await forwardOutput(bytes, file, input);
      } catch (e) {
        expectTyped(e, what, tally, 'gpu:');
        continue;
      }
      tally.add('gpu: ran');
      if (same) {
        tally.add('gpu: ran, same model as the original');
        expect(Array.from(out), `${what}: the same model as the original`).toEqual(Array.from(src.original.output));
      }
      let ref: Float64Array;
      try {
        ref = evaluateOnnx(bytes, input);
      } catch (e) {
        if (e instanceof BeyondReference) { tally.add(`not compared: beyond the float64 reference (${e.message.replace(/"[^"]*"/g, '..')})`); continue; }
        if (e instanceof InvalidGraph) {
          disagreements.push(`${what}: we load it, the float64 reference finds: ${e.message}`);
          continue;
        }
        throw e;
      }
      if (!moderateWeights(spec) || !ref.every(Number.isFinite)) { tally.add('not compared: extreme weights'); continue; }
      expectNearReference(out, ref, `${what} vs float64`);
      tally.add('compared with float64');
    }
  }
  console.info(`ONNX fuzz: ${sources.length} file(s) x ${count} = ${sources.length * count} cases; ${tally}`);
  if (disagreements.length) console.info(`loaded, but invalid by the float64 reference:\n${disagreements.join('\n')}`);
  expect(disagreements, 'mutants we load that the float64 reference finds invalid').toEqual([]);
  return tally;
}

async function source(label: string, bytes: Uint8Array, input?: Float32Array): Promise<Source> {
  const { spec } = await onnxSpec(bytes, { fileName: `${label}.onnx` });
  const x = input ?? randomInput(spec, 1);
  if (!x) throw new Error(`${label}: input too large for the fuzz`);
  return { label, bytes, input: x, original: { sig: signature(spec), output: await forwardOutput(bytes, `${label}.onnx`, x) } };
}

// ---- tests -------------------------------------------------------------------------------

const wts = weights(2024);
const base = buildModel(wts);

describe('fuzz: mutated ONNX files load correctly or fail with a typed error', () => {
  it('the model built here loads and matches a CPU reference', async () => {
    const x = makeRandom(5).array(2 * C * H * W);
    const out = await forwardOutput(base, 'fuzz.onnx', x);
    const expected = reference(wts, x);
    expect(out.length).toBe(expected.length);
    out.forEach((v, i) => expect(Math.abs(v - expected[i]!), `element ${i}`).toBeLessThan(1e-5));
    // The float64 graph evaluation the mutants are compared with reads the file as this reference does.
    const graph = evaluateOnnx(base, x);
    // (That reference keeps float32 intermediates.)
    graph.forEach((v, i) => expect(Math.abs(v - expected[i]!), `float64 graph evaluation, element ${i}`).toBeLessThan(1e-6));
  });

  it('1000 mutations of the model built here', async () => {
    const x = makeRandom(6).array(C * H * W);
    const tally = await fuzz([await source('built', base, x)], 1000, 20240607);
    expect(tally.counts.get('parsed') ?? 0, 'cases that parse').toBeGreaterThan(50);
    expect(tally.counts.get('gpu: ran') ?? 0, 'cases run on the GPU').toBeGreaterThan(50);
    expect(tally.counts.get('compared with float64') ?? 0, 'loaded mutants compared with the float64 evaluation').toBeGreaterThan(50);
  });

  const conformance = [
    'pytorch-converted/test_Conv2d_groups',
    'pytorch-converted/test_BatchNorm2d_eval',
    'pytorch-converted/test_ConvTranspose2d',
    'pytorch-converted/test_Linear',
    'pytorch-converted/test_PReLU_2d_multiparam',
    'pytorch-operator/test_operator_pad',
  ];
  it('100 mutations of each of 6 ../shared/onnx-conformance models', async (ctx) => {
    const available = await commands.onnxListCases();
    if (!available) {
      console.info('ONNX fuzz: ../shared/onnx-conformance is absent, skipping the mutations of its model files');
      ctx.skip();
      return;
    }
    const sources: Source[] = [];
    for (const name of conformance) {
      const c = await loadCase(name);
      const input = c.inputs[0]!;
      if (input.dtype !== 'float32') throw new Error(`${name}: input is ${input.dtype}`);
      // The float64 graph evaluation the mutants are compared with gives the case's stored output.
      expectNearReference(Float32Array.from(c.outputs[0]!.data as ArrayLike<number>), evaluateOnnx(c.model, input.data), `${name}: float64 evaluation vs stored output`);
      sources.push(await source(name.split('/')[1]!, c.model, input.data));
    }
    const tally = await fuzz(sources, 100, 77);
    expect(tally.counts.get('compared with float64') ?? 0, 'loaded mutants compared with the float64 evaluation').toBeGreaterThan(30);
  });
});

describe('bad ONNX files get a typed error naming the file and the place', () => {
  /** The error `fn` throws, checked for its class and whole message. */
  async function expectError(fn: () => Promise<unknown>, type: new (m: string) => DeconvNetError, message: string | RegExp): Promise<void> {
    let error: unknown;
    try {
      await fn();
    } catch (e) {
      error = e;
    }
    expect(error, 'an error').toBeInstanceOf(type);
    if (typeof message === 'string') expect((error as Error).message).toBe(message);
    else expect((error as Error).message).toMatch(message);
  }

  it('truncated file', async () => {
    await expectError(() => onnxSpec(base.slice(0, Math.floor(base.length * 0.6)), { fileName: 'bad/truncated.onnx' }), FormatError,
      /^bad\/truncated\.onnx: not a readable ONNX model \(protobuf: index out of range: \d+ \+ \d+ > \d+\)$/);
    await expectError(() => onnxSpec(new Uint8Array(0), { fileName: 'bad/empty.onnx' }), FormatError, 'bad/empty.onnx: the model has no graph');
  });

  it('unsupported op: names the op and the node', async () => {
    await expectError(() => onnxSpec(buildModel(wts, { op: 'Celu' }), { fileName: 'bad/op.onnx' }), UnsupportedError,
      'bad/op.onnx: node 1 "act1" (Celu): ONNX op Celu is not supported');
  });

  it('dimensions that claim more values than the file holds', async () => {
    await expectError(() => onnxSpec(buildModel(wts, { w1Dims: [2 ** 26, C, K, K] }), { fileName: 'bad/dims.onnx' }), FormatError,
      `bad/dims.onnx: initializer "conv.W": tensor "conv.W" [${2 ** 26},2,3,3]: raw_data has ${F * C * K * K * 4} bytes, ${2 ** 26 * 18} elements need ${2 ** 26 * 18 * 4}`);
  });

  it('NaN initializer: names the initializer and the element', async () => {
    const w1 = wts.w1.slice();
    w1[5] = NaN;
    await expectError(() => onnxSpec(buildModel(wts, { w1 }), { fileName: 'bad/nan.onnx' }), FormatError,
      'bad/nan.onnx: initializer "conv.W": tensor "conv.W" [6,2,3,3]: element 5 is NaN (weights must be finite)');
  });

  // Found by the fuzz (it was loaded, the weight's size winning): refused like Conv's.
  it('ConvTranspose with a kernel_shape that contradicts its weight gets a typed error', async () => {
    const bytes = onnxModel({
      inputs: [{ name: 'x', dims: [1, 2, 4, 4] }], outputs: ['y'],
      inits: { w: { dims: [2, 3, 3, 3], data: new Float32Array(54).fill(0.1) } },
      nodes: [{ op: 'ConvTranspose', name: 'ct', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: [0, 3] } }],
    });
    await expect(onnxSpec(bytes, { fileName: 'bad/ct.onnx' })).rejects.toBeInstanceOf(FormatError);
    await expect(onnxSpec(bytes, { fileName: 'bad/ct.onnx' })).rejects.toThrow('kernel_shape [0,3] disagrees with weight [2,3,3,3]');
  });

  it('inconsistent shapes: a Gemm weight that does not fit its input', async () => {
    await expectError(() => onnxSpec(buildModel(wts, { gemmK: 50 }), { fileName: 'bad/gemm.onnx' }), ShapeError,
      'bad/gemm.onnx: node 4 "fc" (Gemm): input has 54 features, weight [5,50] (transposed) expects 50');
  });
});

// Graph models: a residual join (Add) and an Inception-style join (Concat)
// run forward and projected back in all three modes, against a float64
// reference that walks the same graph on the CPU (forks summed, Add sending
// its signal to both inputs, Concat splitting it). Plus the model's graph
// bookkeeping: spec errors, several inputs, projectability, receptive fields.
import { describe, expect, it } from 'vitest';
import {
  createModel, createDeconvNet, Conv2D, ReLU, MaxPool2D, Add, Concat, Flatten, Dense,
  ShapeError, OutOfRangeError, UnsupportedError, receptiveField, train,
  type GraphNode,
} from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { conv2dRef, conv2dInputGradRef, type ConvRefAttrs } from './ref/conv.js';
import { maxPoolRef, unpoolRef } from './ref/pool.js';
import { reluBackwardRef } from './ref/activation.js';

type Mode = 'deconvnet' | 'guided' | 'gradient';
type Shape4 = [number, number, number, number];

const N = 2, C = 2, H = 6, W = 6;
const rand = makeRandom(7);
const w1 = rand.array(4 * C * 9, -0.5, 0.5), b1 = rand.array(4, -0.1, 0.1);
const w2a = rand.array(4 * 4 * 9, -0.4, 0.4), b2a = rand.array(4, -0.1, 0.1);
const w2b = rand.array(4 * 4, -0.6, 0.6);
const w4 = rand.array(3 * 8 * 4, -0.4, 0.4);
const same: ConvRefAttrs = { stride: [1, 1], dilation: [1, 1], pads: [1, 1, 1, 1], groups: 1 };
const valid: ConvRefAttrs = { stride: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0], groups: 1 };
const pool = { kH: 2, kW: 2, sH: 2, sW: 2, dH: 1, dW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, outH: 3, outW: 3 };

/**
 *   input -> c1 -> r1 -+-> c2a -> r2a -+
 *                      |               add -> r3 -+
 *                      +-> c2b --------+          concat(r3, r1) -> pool -> c4
 *                      +------------------------------^
 */
function nodes(): GraphNode[] {
  return [
    { layer: new Conv2D({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', kernel: w1, bias: b1 }), inputs: ['input'] },
    { layer: new ReLU({ name: 'r1' }), inputs: ['c1'] },
    { layer: new Conv2D({ name: 'c2a', filters: 4, kernelSize: 3, padding: 'same', kernel: w2a, bias: b2a }), inputs: ['r1'] },
    { layer: new ReLU({ name: 'r2a' }), inputs: ['c2a'] },
    { layer: new Conv2D({ name: 'c2b', filters: 4, kernelSize: 1, kernel: w2b, useBias: false }), inputs: ['r1'] },
    { layer: new Add({ name: 'add' }), inputs: ['r2a', 'c2b'] },
    { layer: new ReLU({ name: 'r3' }), inputs: ['add'] },
    { layer: new Concat({ name: 'cat', axis: 0 }), inputs: ['r3', 'r1'] },
    { layer: new MaxPool2D({ name: 'pool', kernel: 2, stride: 2 }), inputs: ['cat'] },
    { layer: new Conv2D({ name: 'c4', filters: 3, kernelSize: 2, kernel: w4, useBias: false }), inputs: ['pool'] },
  ];
}

// ---- the float64 reference graph ------------------------------------------------

const relu = (x: Float64Array) => x.map((v) => Math.max(v, 0));
const add = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + b[i]!);

/** Concatenates along channels, per image. */
function catChannels(a: Float64Array, ca: number, b: Float64Array, cb: number, plane: number): Float64Array {
  const out = new Float64Array(N * (ca + cb) * plane);
  for (let n = 0; n < N; n++) {
    out.set(a.subarray(n * ca * plane, (n + 1) * ca * plane), n * (ca + cb) * plane);
    out.set(b.subarray(n * cb * plane, (n + 1) * cb * plane), (n * (ca + cb) + ca) * plane);
  }
  return out;
}

function splitChannels(g: Float64Array, ca: number, cb: number, plane: number): [Float64Array, Float64Array] {
  const a = new Float64Array(N * ca * plane), b = new Float64Array(N * cb * plane);
  for (let n = 0; n < N; n++) {
    a.set(g.subarray(n * (ca + cb) * plane, (n * (ca + cb) + ca) * plane), n * ca * plane);
    b.set(g.subarray((n * (ca + cb) + ca) * plane, (n + 1) * (ca + cb) * plane), n * cb * plane);
  }
  return [a, b];
}

function refForward(x: Float64Array) {
  const s0: Shape4 = [N, C, H, W], s1: Shape4 = [N, 4, H, W];
  const c1 = conv2dRef(x, s0, w1, [4, C, 3, 3], b1, same);
  const r1 = relu(c1);
  const c2a = conv2dRef(r1, s1, w2a, [4, 4, 3, 3], b2a, same);
  const r2a = relu(c2a);
  const c2b = conv2dRef(r1, s1, w2b, [4, 4, 1, 1], null, valid);
  const sum = add(r2a, c2b);
  const r3 = relu(sum);
  const cat = catChannels(r3, 4, r1, 4, H * W);
  const { values: pooled, switches } = maxPoolRef(cat, [N, 8, H, W], pool);
  const c4 = conv2dRef(pooled, [N, 8, 3, 3], w4, [3, 8, 2, 2], null, valid);
  return { c1, r1, c2a, r2a, c2b, sum, r3, cat, pooled, switches, c4 };
}

type Saved = ReturnType<typeof refForward>;
type Node = keyof Omit<Saved, 'switches'>;

/** Walks back from `top` with the signal `g` there; each rule as in the papers, forks summed. */
function refProject(f: Saved, top: Node, g: Float64Array, mode: Mode): Float64Array {
  const s0: Shape4 = [N, C, H, W], s1: Shape4 = [N, 4, H, W];
  const order: Node[] = ['c1', 'r1', 'c2a', 'r2a', 'c2b', 'sum', 'r3', 'cat', 'pooled', 'c4'];
  const signal = new Map<Node | 'input', Float64Array>([[top, g]]);
  const send = (to: Node | 'input', v: Float64Array) => signal.set(to, signal.has(to) ? add(signal.get(to)!, v) : v);
  for (const node of order.slice(0, order.indexOf(top) + 1).reverse()) {
    const s = signal.get(node);
    if (!s) continue;
    switch (node) {
      case 'c4': send('pooled', conv2dInputGradRef(s, [N, 8, 3, 3], w4, [3, 8, 2, 2], valid)); break;
      case 'pooled': send('cat', unpoolRef(s, f.switches, [N, 8, H, W], 3, 3)); break;
      case 'cat': { const [a, b] = splitChannels(s, 4, 4, H * W); send('r3', a); send('r1', b); break; }
      case 'r3': send('sum', reluBackwardRef(mode, s, f.sum)); break;
      case 'sum': send('r2a', s); send('c2b', s); break;
      case 'c2b': send('r1', conv2dInputGradRef(s, s1, w2b, [4, 4, 1, 1], valid)); break;
      case 'r2a': send('c2a', reluBackwardRef(mode, s, f.c2a)); break;
      case 'c2a': send('r1', conv2dInputGradRef(s, s1, w2a, [4, 4, 3, 3], same)); break;
      case 'r1': send('c1', reluBackwardRef(mode, s, f.c1)); break;
      case 'c1': send('input', conv2dInputGradRef(s, s0, w1, [4, C, 3, 3], same)); break;
    }
  }
  return signal.get('input')!;
}

/** The seed the DeconvNet starts from: per image, the strongest activation of `channel`, kept as is. */
function seedAtMax(y: ArrayLike<number>, shape: number[], channel: number): Float64Array {
  const [n, c, plane] = [shape[0]!, shape[1]!, shape[2]! * shape[3]!];
  const g = new Float64Array(n * c * plane);
  for (let b = 0; b < n; b++) {
    let best = 0;
    const base = (b * c + channel) * plane;
    for (let i = 1; i < plane; i++) if (y[base + i]! > y[base + best]!) best = i;
    g[base + best] = y[base + best]!;
  }
  return g;
}

const x = makeRandom(11).array(N * C * H * W, -1, 1);
const ref = refForward(Float64Array.from(x));

describe('graph model: residual Add and Inception-style Concat', () => {
  it('forward equals the float64 graph at every join', async () => {
    const rt = await getRuntime();
    const model = createModel(rt, { inputShape: [C, H, W], nodes: nodes() });
    expect(model.isChain).toBe(false);
    expect(model.info.map((i) => [i.name, i.kind, i.outputShape.join('x'), i.inputs.join('+')])).toEqual([
      ['c1', 'Conv2D', '4x6x6', 'input'], ['r1', 'ReLU', '4x6x6', 'c1'], ['c2a', 'Conv2D', '4x6x6', 'r1'],
      ['r2a', 'ReLU', '4x6x6', 'c2a'], ['c2b', 'Conv2D', '4x6x6', 'r1'], ['add', 'Add', '4x6x6', 'r2a+c2b'],
      ['r3', 'ReLU', '4x6x6', 'add'], ['cat', 'Concat', '8x6x6', 'r3+r1'], ['pool', 'MaxPool2D', '8x3x3', 'cat'],
      ['c4', 'Conv2D', '3x2x2', 'pool'],
    ]);
    const fwd = await model.forward(x);
    expectClose(await fwd.activation('add').read(), ref.sum, 'add');
    expectClose(await fwd.activation('cat').read(), ref.cat, 'concat');
    expectClose(await fwd.activation('pool').read(), ref.pooled, 'pool');
    expectClose(await fwd.readOutput(), ref.c4, 'c4');
    fwd.release();
    model.destroy();
  });

  for (const mode of ['deconvnet', 'guided', 'gradient'] as const) {
    for (const [layer, node, shape, channel] of [['c4', 'c4', [N, 3, 2, 2], 1], ['cat', 'cat', [N, 8, 6, 6], 2], ['cat', 'cat', [N, 8, 6, 6], 6], ['add', 'sum', [N, 4, 6, 6], 3]] as const) {
      it(`projection from ${layer} channel ${channel}, mode ${mode}, equals the float64 reverse graph`, async () => {
        const rt = await getRuntime();
        const model = createModel(rt, { inputShape: [C, H, W], nodes: nodes() });
        const fwd = await model.forward(x);
        const proj = await createDeconvNet(model).project(fwd, { layer, channel, mode });
        const expected = refProject(ref, node, seedAtMax(ref[node], [...shape], channel), mode);
        expectClose((await proj.read()).data, expected, `${layer}#${channel} ${mode}`);
        proj.release();
        fwd.release();
        model.destroy();
      });
    }
  }

  it('gives every buffer back: bytes held stay flat over repeated forward + projection', async () => {
    const rt = await getRuntime();
    const model = createModel(rt, { inputShape: [C, H, W], nodes: nodes() });
    const deconv = createDeconvNet(model);
    const once = async () => {
      const fwd = await model.forward(x);
      const proj = await deconv.project(fwd, { layer: 'cat', channel: 5, mode: 'guided' });
      proj.release();
      fwd.release();
    };
    await once();
    const held = rt.bytesHeld;
    for (let i = 0; i < 5; i++) await once();
    expect(rt.bytesHeld).toBe(held);
    model.destroy();
  });

  it('receptive field of a join is the union of its branches', async () => {
    const rt = await getRuntime();
    const model = createModel(rt, { inputShape: [C, H, W], nodes: nodes() });
    // r1 sees 3x3 (c1); the c2a branch 5x5; c2b keeps 3x3: their union is 5x5.
    expect(receptiveField(model, 'add')).toEqual({ size: [5, 5], jump: [1, 1], start: [-2, -2] });
    expect(receptiveField(model, 'cat')).toEqual({ size: [5, 5], jump: [1, 1], start: [-2, -2] });
    expect(receptiveField(model, 'c4')).toEqual({ size: [8, 8], jump: [2, 2], start: [-2, -2] });
    model.destroy();
  });
});

describe('graph model bookkeeping', () => {
  it('rejects a spec that is not a DAG in topological order, or wires a layer wrongly', async () => {
    const rt = await getRuntime();
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['unknown input', () => createModel(rt, { inputShape: [1, 4, 4], nodes: [{ layer: new ReLU({ name: 'r' }), inputs: ['nope'] }] }), /node "r" reads "nope", which is neither a model input nor an earlier node/],
      ['later node', () => createModel(rt, { inputShape: [1, 4, 4], nodes: [
        { layer: new ReLU({ name: 'a' }), inputs: ['b'] }, { layer: new ReLU({ name: 'b' }), inputs: ['input'] },
      ] }), /node "a" reads "b"/],
      ['two inputs to a ReLU', () => createModel(rt, { inputShape: [1, 4, 4], nodes: [{ layer: new ReLU({ name: 'r' }), inputs: ['input', 'input'] }] }), /node "r" \(ReLU\) takes one input, it was given 2/],
      ['duplicate name', () => createModel(rt, { inputShape: [1, 4, 4], nodes: [
        { layer: new ReLU({ name: 'r' }), inputs: ['input'] }, { layer: new ReLU({ name: 'r' }), inputs: ['r'] },
      ] }), /two nodes .* named "r"/],
      ['mismatched join', () => createModel(rt, { inputShape: [1, 4, 4], nodes: [
        { layer: new MaxPool2D({ name: 'p', kernel: 2 }), inputs: ['input'] }, { layer: new Add({ name: 'a' }), inputs: ['p', 'input'] },
      ] }), /./],
      ['unknown output', () => createModel(rt, { inputShape: [1, 4, 4], nodes: [{ layer: new ReLU({ name: 'r' }), inputs: ['input'] }], outputs: ['x'] }), /output "x" is not a node/],
    ];
    for (const [what, make, message] of cases) {
      let error: unknown;
      try { make(); } catch (e) { error = e; }
      expect(error, what).toBeInstanceOf(ShapeError);
      expect((error as Error).message, what).toMatch(message);
    }
  });

  it('runs a two-input graph; only nodes that depend on the pixels can be projected', async () => {
    const rt = await getRuntime();
    const model = createModel(rt, {
      inputs: [{ name: 'pixels', shape: [1, 4, 4] }, { name: 'mask', shape: [1, 4, 4] }],
      nodes: [
        { layer: new ReLU({ name: 'maskRelu' }), inputs: ['mask'] },
        { layer: new Add({ name: 'sum' }), inputs: ['pixels', 'maskRelu'] },
        { layer: new Flatten({ name: 'flat' }), inputs: ['sum'] },
        { layer: new Dense({ name: 'fc', units: 2, kernel: Float32Array.from({ length: 32 }, (_, i) => (i % 5) - 2), useBias: false }), inputs: ['flat'] },
      ],
    });
    expect(model.info.map((i) => i.projectable)).toEqual([false, true, true, true]);
    const pixels = Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1);
    const mask = Float32Array.from({ length: 16 }, (_, i) => (i % 3) - 1);
    const fwd = await model.forward([pixels, mask]);
    const sum = pixels.map((p, i) => p + Math.max(mask[i]!, 0));
    expectClose(await fwd.activation('sum').read(), sum, 'sum');
    const deconv = createDeconvNet(model);
    await expect(deconv.project(fwd, { layer: 'maskRelu', channel: 0 })).rejects.toThrow(OutOfRangeError);
    // d fc[1] / d pixels = row 1 of the kernel (Add passes the signal through).
    const proj = await deconv.project(fwd, { layer: 'fc', channel: 1, mode: 'gradient', seed: 'one' });
    expectClose((await proj.read()).data, Float64Array.from({ length: 16 }, (_, i) => ((16 + i) % 5) - 2), 'gradient to pixels');
    proj.release();
    await expect(model.forward(pixels)).rejects.toThrow(/takes 2 input/);
    fwd.release();
    await expect(train(model, { images: pixels, labels: Uint8Array.of(0), count: 1 }, { epochs: 1, optimizer: { kind: 'sgd', learningRate: 0.1 } })).rejects.toThrow(UnsupportedError);
    model.destroy();
  });
});

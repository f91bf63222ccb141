// model.predict: the probabilities (or a named node) against the float64
// reference, one submit, and no activation or switch kept: the bytes in use
// come back to what they were before the call.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createModel, Add, Identity, Conv2D, ReLU, Flatten, Dense, DestroyedError, OutOfRangeError, ShapeError, type Model, type Runtime } from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { makeTestNet, TEST_INPUT_SHAPE } from './helpers/nets.js';
import { refForward, type T } from './ref/net.js';

const BATCH = 3;
const net = makeTestNet(7);
const x = makeRandom(31).array(BATCH * TEST_INPUT_SHAPE.reduce((a, b) => a * b), 0, 1);
const saved = refForward(net.ref, { data: Float64Array.from(x), shape: [BATCH, ...TEST_INPUT_SHAPE] } as T);

let rt: Runtime;
let model: Model;
beforeAll(async () => {
  rt = await getRuntime();
  model = createModel(rt, { inputShape: TEST_INPUT_SHAPE, layers: net.layers() });
});
afterAll(() => model?.destroy());

describe('model.predict', () => {
  it('returns the probabilities of the float64 reference and of model.forward', async () => {
    const probs = await model.predict(x);
    expectClose(probs, saved[saved.length - 1]!.output.data, 'probabilities');
    const fwd = await model.forward(x);
    expect(Array.from(probs)).toEqual(Array.from(await fwd.readOutput()));
    fwd.release();
  });

  it('a named node, by name or index', async () => {
    const fc1 = model.layerIndex('fc1');
    expectClose(await model.predict(x, { output: 'fc1' }), saved[fc1]!.output.data, 'fc1');
    expectClose(await model.predict(x, { output: fc1 - 1 }), saved[fc1 - 1]!.output.data, 'flatten (a view of pool2)');
    await expect(model.predict(x, { output: 'nope' })).rejects.toBeInstanceOf(OutOfRangeError);
  });

  it('keeps nothing: bytes in use return to the pre-call value; one submit, one read', async () => {
    await model.predict(x); // warm the pool
    const inUse = rt.bytesInUse;
    const before = { ...rt.stats };
    await model.predict(x);
    expect(rt.bytesInUse).toBe(inUse);
    expect(rt.stats.submits - before.submits).toBe(1);
    expect(rt.stats.readSubmits - before.readSubmits).toBe(0);
    expect(rt.stats.mapAsync - before.mapAsync).toBe(1);
    expect(rt.stats.bytesRead - before.bytesRead).toBe(4 * BATCH * 5);
    // forward keeps every activation and switch until released: the difference predict makes.
    const fwd = await model.forward(x);
    expect(rt.bytesInUse).toBeGreaterThan(inUse);
    fwd.release();
    expect(rt.bytesInUse).toBe(inUse);
  });

  it('keep: true hands back the output tensor on the GPU, the only thing left in use', async () => {
    const inUse = rt.bytesInUse;
    const readsBefore = rt.stats.mapAsync;
    const out = await model.predict(x, { keep: true });
    expect(rt.stats.mapAsync).toBe(readsBefore);
    expect(out.shape).toEqual([BATCH, 5]);
    expect(rt.bytesInUse - inUse).toBe(out.byteLength);
    expectClose(await out.read(), saved[saved.length - 1]!.output.data, 'kept output');
    out.release();
    expect(rt.bytesInUse).toBe(inUse);
  });

  it('a borrowed input tensor stays the caller\'s, also through a model that passes it through', async () => {
    const input = rt.createTensor([BATCH, ...TEST_INPUT_SHAPE], x);
    expectClose(await model.predict(input), saved[saved.length - 1]!.output.data, 'from a tensor');
    expect(input.released).toBe(false);
    expectClose(await input.read(), x, 'input untouched');
    input.release();
    // A graph where Identity hands on a view of the input (same buffer) that later nodes read:
    // predict releases only its own tensors, whichever node it returns.
    const g = createModel(rt, {
      inputShape: [4],
      nodes: [
        { layer: new Identity({ name: 'id' }), inputs: ['input'] },
        { layer: new Dense({ name: 'fc', units: 4, kernel: Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0)) }), inputs: ['id'] },
        { layer: new Add({ name: 'sum' }), inputs: ['fc', 'id'] },
      ],
    });
    const v = rt.createTensor([1, 4], Float32Array.of(1, -2, 3, 4));
    const inUse = rt.bytesInUse;
    expect(Array.from(await g.predict(v))).toEqual([2, -4, 6, 8]);
    expect(Array.from(await g.predict(v, { output: 'id' }))).toEqual([1, -2, 3, 4]);
    expect(rt.bytesInUse).toBe(inUse);
    expect(v.released).toBe(false);
    expect(Array.from(await v.read())).toEqual([1, -2, 3, 4]);
    v.release();
    g.destroy();
  });

  it('bad input: a typed error and nothing left in use', async () => {
    const inUse = rt.bytesInUse;
    await expect(model.predict(new Float32Array(7))).rejects.toBeInstanceOf(ShapeError);
    expect(rt.bytesInUse).toBe(inUse);
    const small = createModel(rt, { inputShape: [1, 4, 4], layers: [new Conv2D({ filters: 2, kernelSize: 3 }), new ReLU(), new Flatten(), new Dense({ units: 2 })] });
    small.destroy();
    await expect(small.predict(new Float32Array(16))).rejects.toBeInstanceOf(DestroyedError);
  });
});

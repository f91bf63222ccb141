// One disposal convention: results and tensors release(), models and the
// runtime destroy(), each idempotent, and [Symbol.dispose]() calling it, so
// `using` frees them at the end of a block.
import { describe, it, expect, beforeAll } from 'vitest';
import { createRuntime, createModel, createDeconvNet, disposeSymbol, Conv2D, ReLU, MaxPool2D, Flatten, Dense, DestroyedError, type Runtime, type Tensor, type ForwardResult, type Projection, type Model } from '../src/index.js';
import { getRuntime } from './helpers/gpu.js';

const SHAPE = [1, 8, 8];
const x = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i * 0.7));
const layers = () => [
  new Conv2D({ name: 'conv', filters: 3, kernelSize: 3, padding: 'same' }), new ReLU(),
  new MaxPool2D({ name: 'pool', kernel: 2 }), new Flatten(), new Dense({ units: 4 }),
];

let rt: Runtime;
beforeAll(async () => { rt = await getRuntime(); });

describe('disposal', () => {
  it('disposeSymbol is Symbol.dispose where the engine has it', () => {
    const native = (Symbol as { dispose?: symbol }).dispose;
    expect(disposeSymbol).toBe(native ?? Symbol.for('Symbol.dispose'));
  });

  it('`using` releases a tensor, a forward result and a projection at the end of the block', async () => {
    const model = createModel(rt, { inputShape: SHAPE, layers: layers() });
    const inUse = rt.bytesInUse;
    let seen: { t: Tensor; fwd: ForwardResult; proj: Projection } | undefined;
    {
      using t = rt.createTensor([1, ...SHAPE], x);
      using fwd = await model.forward(t);
      using proj = await createDeconvNet(model).project(fwd, { layer: 'conv', channel: 1 });
      expect(rt.bytesInUse).toBeGreaterThan(inUse);
      expect((await proj.read()).data.length).toBe(64);
      seen = { t, fwd, proj };
    }
    expect(seen.t.released).toBe(true);
    expect(seen.fwd.released).toBe(true);
    expect(seen.proj.released).toBe(true);
    expect(rt.bytesInUse).toBe(inUse);
    // Idempotent: disposing again, or releasing after disposing, changes nothing.
    seen.fwd[disposeSymbol]();
    seen.proj.release();
    expect(rt.bytesInUse).toBe(inUse);
    expect(() => seen!.t.read()).toThrow(DestroyedError);
    model.destroy();
  });

  it('a kept predict output and a model: disposed like the rest', async () => {
    let m: Model | undefined;
    let out: Tensor | undefined;
    const inUse = rt.bytesInUse;
    {
      using model = createModel(rt, { inputShape: SHAPE, layers: layers() });
      using probs = await model.predict(x, { keep: true });
      expect(probs.shape).toEqual([1, 4]);
      m = model;
      out = probs;
    }
    expect(out.released).toBe(true);
    await expect(m.forward(x)).rejects.toBeInstanceOf(DestroyedError);
    expect(rt.bytesInUse).toBeLessThanOrEqual(inUse); // the model's weights went back too
  });

  it('a runtime: `using` destroys it (a borrowed device stays usable)', async () => {
    let inner: Runtime | undefined;
    {
      using own = await createRuntime({ device: rt.device });
      own.createTensor([4], new Float32Array(4));
      inner = own;
    }
    expect(() => inner.createTensor([4])).toThrow(DestroyedError);
    expect(inner.bytesHeld).toBe(0);
    const t = rt.createTensor([2], Float32Array.of(1, 2));
    expect(Array.from(await t.read())).toEqual([1, 2]);
    t.release();
  });
});

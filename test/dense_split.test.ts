// Large Dense weights (issue 3): a kernel larger than one storage binding is
// kept as row chunks and the matrix multiplies are split across bindings.
// Forcing 4 MiB bindings must give the same forward, backward and training
// gradients as the unsplit layer (and as the float64 definitions).
import { describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/gpu/runtime.js';
import { DeviceLimitError } from '../src/gpu/errors.js';
import { Dense } from '../src/layers/dense.js';
import { denseChunkRows } from '../src/ops/dense.js';
import { createModel, Flatten, train, saveModel, loadSavedModel } from '../src/index.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { denseBackwardRef, denseRef } from './ref/matmul.js';

const FOUR_MIB = 4 * 1024 * 1024;
const BATCH = 3, IN = 2000, UNITS = 1100;  // 8.8 MB kernel: 524 rows per 4 MiB chunk, so chunks of 524, 524, 52 rows

async function runtimes(): Promise<{ whole: Runtime; split: Runtime }> {
  const base = await getRuntime();
  return {
    whole: await createRuntime({ device: base.device, poisonNewTensors: true }),
    split: await createRuntime({ device: base.device, poisonNewTensors: true, maxBindingSize: FOUR_MIB }),
  };
}

async function readAll(ts: readonly Tensor[]): Promise<Float32Array> {
  const parts = await Promise.all(ts.map((t) => t.read()));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

describe('Dense weights split across bindings', () => {
  it('splits the kernel into row chunks that each fit one binding', async () => {
    const { whole, split } = await runtimes();
    expect(denseChunkRows(split, UNITS, IN)).toBe(Math.floor(FOUR_MIB / (IN * 4)));
    const layer = new Dense({ name: 'fc', units: UNITS, seed: 3 });
    layer.build(split, [IN]);
    expect(layer.kernelChunks.map((t) => t.shape)).toEqual([[524, IN], [524, IN], [52, IN]]);
    expect(layer.parameters().length).toBe(4);
    const unsplit = new Dense({ name: 'fc', units: UNITS, seed: 3 });
    unsplit.build(whole, [IN]);
    expect(unsplit.kernelChunks.length).toBe(1);
    expect(await readAll(layer.kernelChunks), 'chunks hold the kernel rows in order').toEqual(await unsplit.kernelChunks[0]!.read());
    layer.destroy(); unsplit.destroy(); whole.destroy(); split.destroy();
  });

  for (const activation of ['none', 'relu'] as const) {
    it(`forward, DeconvNet/gradient backward and weight gradients equal the unsplit layer (${activation})`, async () => {
      const { whole, split } = await runtimes();
      const rnd = makeRandom(11);
      const kernel = rnd.array(UNITS * IN, -0.05, 0.05), bias = rnd.array(UNITS);
      const xData = rnd.array(BATCH * IN), gData = rnd.array(BATCH * UNITS);
      const results = [];
      for (const rt of [whole, split]) {
        const layer = new Dense({ name: 'fc', units: UNITS, kernel, bias, activation });
        layer.build(rt, [IN]);
        const x = rt.createTensor([BATCH, IN], xData), g = rt.createTensor([BATCH, UNITS], gData);
        const { y, dx, project, grads } = await rt.run('dense split', (rec) => {
          const y = layer.forward(rec, x).output;
          const fwd = { input: x, output: y };
          const project = layer.backward(rec, g, fwd, 'deconvnet');
          const { dx, grads } = layer.trainBackward(rec, g, fwd, true);
          return { y, dx: dx!, project, grads };
        });
        results.push({ y: await y.read(), dx: await dx.read(), project: await project.read(), dw: await readAll(grads.slice(0, -1)), db: await grads[grads.length - 1]!.read(), chunks: layer.kernelChunks.length });
        for (const t of [x, g, y, dx, project, ...grads]) t.release();
        layer.destroy();
      }
      const [a, b] = results as [typeof results[0], typeof results[0]];
      expect([a.chunks, b.chunks]).toEqual([1, 3]);
      const yRef = denseRef(xData, BATCH, kernel, UNITS, IN, bias, activation === 'relu');
      expectClose(b.y, yRef, 'split forward vs float64');
      expectClose(b.y, a.y, 'split forward vs unsplit');
      if (activation === 'none') expectClose(b.dx, denseBackwardRef(gData, BATCH, kernel, UNITS, IN), 'split input gradient vs float64');
      expectClose(b.dx, a.dx, 'split input gradient vs unsplit');
      expectClose(b.project, a.project, 'split DeconvNet step vs unsplit');
      expectClose(b.dw, a.dw, 'split weight gradient vs unsplit');
      expectClose(b.db, a.db, 'split bias gradient vs unsplit');
      whole.destroy(); split.destroy();
    });
  }

  it('trains to the same weights as the unsplit layer', async () => {
    const { whole, split } = await runtimes();
    const rnd = makeRandom(12);
    const kernel = rnd.array(UNITS * IN, -0.03, 0.03);
    const head = rnd.array(10 * UNITS, -0.03, 0.03);
    const images = rnd.array(8 * IN, 0, 1);
    const labels = Uint8Array.from({ length: 8 }, (_, i) => i % 10);
    const weights: Float32Array[] = [];
    for (const rt of [whole, split]) {
      const fc = new Dense({ name: 'fc', units: UNITS, kernel, activation: 'relu' });
      const model = createModel(rt, {
        inputShape: [1, 40, 50],
        layers: [new Flatten({ name: 'flat' }), fc, new Dense({ name: 'out', units: 10, kernel: head })],
      });
      await train(model, { images, labels, count: 8 }, { epochs: 2, batchSize: 4, optimizer: { kind: 'sgd', learningRate: 0.1, momentum: 0.9 } });
      weights.push(await readAll(fc.parameters()));
      model.destroy();
    }
    expectClose(weights[1]!, weights[0]!, 'weights after 4 SGD steps, split vs unsplit');
    whole.destroy(); split.destroy();
  });

  it('saves a split kernel whole; the file loads unsplit (or split again) with the same output', async () => {
    const { whole, split } = await runtimes();
    const rnd = makeRandom(17);
    const kernel = rnd.array(UNITS * IN, -0.05, 0.05);
    const model = createModel(split, { inputShape: [IN], layers: [new Dense({ name: 'fc', units: UNITS, kernel, bias: rnd.array(UNITS) })] });
    const x = rnd.array(BATCH * IN);
    const fwd = await model.forward(x);
    const want = await fwd.readOutput();
    fwd.release();
    const { manifest, weights } = await saveModel(model);
    expect(manifest.layers[0]!.weights.map((w) => [w.name, w.shape])).toEqual([['kernel', [UNITS, IN]], ['bias', [UNITS]]]);
    expect(new Float32Array(weights.slice(0, UNITS * IN * 4).buffer)).toEqual(kernel);
    for (const rt of [whole, split]) {
      const loaded = loadSavedModel(rt, JSON.parse(JSON.stringify(manifest)), weights, 'fc.json');
      const again = await loaded.forward(x);
      expectClose(await again.readOutput(), want, 'reloaded output');
      again.release();
      loaded.destroy();
    }
    model.destroy(); whole.destroy(); split.destroy();
  });

  it('throws a DeviceLimitError when a single kernel row does not fit one binding', async () => {
    const base = await getRuntime();
    const tiny = await createRuntime({ device: base.device, maxBindingSize: 4096 });
    const layer = new Dense({ name: 'wide', units: 2, kernel: new Float32Array(2 * 1025) });
    expect(() => layer.build(tiny, [1025])).toThrow(DeviceLimitError);
    expect(() => layer.build(tiny, [1025])).toThrow(/wide\.kernel: one kernel row of 1025 inputs needs 4100 bytes/);
    expect(() => denseChunkRows(tiny, 2, 1025)).toThrow(DeviceLimitError);
    tiny.destroy();
  });
});

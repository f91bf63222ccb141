import { describe, it, expect } from 'vitest';
import { createModel, FormatError } from '../src/index.js';
import { saveModel, loadSavedModel, MODEL_FORMAT } from '../src/model/serialize.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { makeTestNet, TEST_INPUT_SHAPE } from './helpers/nets.js';

describe('model file (manifest + float32 blob)', () => {
  it('round-trips: the loaded model computes the same outputs', async () => {
    const rt = await getRuntime();
    const model = createModel(rt, { inputShape: TEST_INPUT_SHAPE, layers: makeTestNet(3).layers() });
    const { manifest, weights } = await saveModel(model, { classes: ['a', 'b', 'c', 'd', 'e'] });
    const json = JSON.parse(JSON.stringify(manifest));
    expect(json.format).toBe(MODEL_FORMAT);
    const loaded = loadSavedModel(rt, json, weights, 'net.json');
    expect(loaded.info).toEqual(model.info);
    const x = makeRandom(4).array(2 * TEST_INPUT_SHAPE.reduce((a, b) => a * b), 0, 1);
    const [a, b] = [await model.forward(x), await loaded.forward(x)];
    expect(Array.from(await b.readOutput())).toEqual(Array.from(await a.readOutput())); // bit-identical weights, same kernels
    a.release(); b.release(); model.destroy(); loaded.destroy();
  });

  it('rejects malformed files with a FormatError that names the file and the place', async () => {
    const rt = await getRuntime();
    const model = createModel(rt, { inputShape: TEST_INPUT_SHAPE, layers: makeTestNet(3).layers() });
    const { manifest, weights } = await saveModel(model);
    model.destroy();
    const clone = () => JSON.parse(JSON.stringify(manifest));
    const expectFormat = (f: () => unknown, pattern: RegExp) => {
      let err: unknown;
      try { f(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(FormatError);
      expect((err as Error).message).toMatch(pattern);
    };
    expectFormat(() => loadSavedModel(rt, { format: 'other' }, weights, 'm.json'), /m.json: not a deconvnet-webgpu\/model@1 manifest/);
    expectFormat(() => loadSavedModel(rt, manifest, weights.subarray(0, 100), 'm.json'), /m.json: layer 0 \(conv1\): weight "kernel" \[6,3,3,3\] needs bytes 0..648, the weight file has 100/);
    const nan = weights.slice();
    new DataView(nan.buffer).setFloat32(8, NaN, true);
    expectFormat(() => loadSavedModel(rt, manifest, nan, 'm.json'), /layer 0 \(conv1\): weight "kernel" element 2 is NaN/);
    const unknown = clone(); unknown.layers[1].kind = 'Swish';
    expectFormat(() => loadSavedModel(rt, unknown, weights, 'm.json'), /layer 1 \(relu1\): unknown layer kind "Swish"/);
    const badShape = clone(); badShape.inputShape = [3, -1, 2];
    expectFormat(() => loadSavedModel(rt, badShape, weights, 'm.json'), /inputShape \[3,-1,2\]/);
  });
});

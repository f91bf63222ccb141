// loadModel: one entry point for every source (URL, File, bytes, picked
// files) and format (ONNX, TF.js Layers, our own manifest); it reports the
// format it found and the result computes what the original computes.
import { describe, expect, it } from 'vitest';
import { onnx } from 'onnx-proto';
import {
  loadModel, saveModel, createModel, Conv2D, MaxPool2D, Flatten, Dense, ReLU, FormatError, UnsupportedError,
} from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { conv2dRef } from './ref/conv.js';
import { initTf, tfl, saveTfjs, randomizeWeights, predictNchw } from './helpers/tfjs_models.js';

const rand = makeRandom(3);
const W = rand.array(3 * 2 * 3 * 3, -0.5, 0.5), B = rand.array(3, -0.1, 0.1);

/**
 * A Conv (2->3, 3x3, pads 1) + Relu ONNX model, encoded with onnx-proto. Copied
 * into its own Uint8Array: in Node protobufjs returns a Buffer in a shared
 * 8 KB pool, whose slice() is a view, so `bytes.slice().buffer` would be the pool.
 */
function convReluOnnx(op = 'Relu'): Uint8Array {
  const f32 = (name: string, dims: number[], data: Float32Array) => ({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(0)) });
  const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return new Uint8Array(onnx.ModelProto.encode({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'conv-relu',
      node: [
        { opType: 'Conv', name: 'conv', input: ['x', 'W', 'B'], output: ['c'], attribute: [{ name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] }] },
        { opType: op, name: 'act', input: ['c'], output: ['y'] },
      ],
      initializer: [f32('W', [3, 2, 3, 3], W), f32('B', [3], B)],
      input: [info('x', [1, 2, 5, 5])],
      output: [info('y', [1, 3, 5, 5])],
    },
  }).finish());
}

const x = makeRandom(4).array(2 * 5 * 5, -1, 1);
const expected = conv2dRef(x, [1, 2, 5, 5], W, [3, 2, 3, 3], B, { stride: [1, 1], dilation: [1, 1], pads: [1, 1, 1, 1], groups: 1, relu: true });

/** A fetch that serves `files` under https://models.test/. */
function fakeFetch(files: Record<string, Uint8Array | string>): typeof fetch {
  return (async (url: string) => {
    const path = new URL(url).pathname.slice(1);
    const body = files[path];
    return body === undefined ? new Response('missing', { status: 404, statusText: 'Not Found' }) : new Response(body as BodyInit);
  }) as typeof fetch;
}

describe('loadModel', () => {
  it('ONNX from bytes, a File and a URL: format reported, output equals the float64 reference', async () => {
    const rt = await getRuntime();
    const bytes = convReluOnnx();
    const sources = [
      bytes,
      bytes.slice().buffer,
      new File([bytes as BlobPart], 'net.onnx'),
      [new File([bytes as BlobPart], 'net.onnx')],
      'https://models.test/zoo/net.onnx',
    ];
    for (const source of sources) {
      const loaded = await loadModel(rt, source as never, { fetch: fakeFetch({ 'zoo/net.onnx': bytes }) });
      expect(loaded.format).toBe('onnx');
      const fwd = await loaded.model.forward(x);
      expectClose(await fwd.readOutput(), expected, `onnx via ${loaded.source}`);
      fwd.release();
      loaded.model.destroy();
    }
  });

  it('our own manifest + .bin, from a URL and from picked files', async () => {
    const rt = await getRuntime();
    const original = createModel(rt, { inputShape: [1, 6, 6], layers: [
      new Conv2D({ name: 'conv', filters: 2, kernelSize: 3, seed: 5 }), new ReLU({ name: 'relu' }),
      new MaxPool2D({ name: 'pool', kernel: 2 }), new Flatten({ name: 'flat' }), new Dense({ name: 'fc', units: 3, seed: 6 }),
    ] });
    const { manifest, weights } = await saveModel(original);
    const json = JSON.stringify(manifest);
    const input = makeRandom(9).array(36, -1, 1);
    const ref = await original.forward(input);
    const want = await ref.readOutput();
    ref.release();
    const fetchImpl = fakeFetch({ 'm/net.json': json, 'm/net.bin': weights });
    for (const source of ['https://models.test/m/net.json', [new File([json], 'net.json'), new File([weights as BlobPart], 'net.bin')]]) {
      const loaded = await loadModel(rt, source as never, { fetch: fetchImpl });
      expect(loaded.format).toBe('deconvnet-webgpu');
      const fwd = await loaded.model.forward(input);
      expectClose(await fwd.readOutput(), want, 'reloaded');
      fwd.release();
      loaded.model.destroy();
    }
    original.destroy();
  });

  it('TF.js Layers model.json with its shards, from a URL and from picked files', async () => {
    await initTf();
    const rt = await getRuntime();
    const keras = tfl.sequential({ layers: [
      tfl.layers.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.flatten(), tfl.layers.dense({ units: 4 }),
    ] });
    randomizeWeights(keras, 12);
    const saved = await saveTfjs(keras, 2);
    const want = predictNchw(keras, x, [1, 2, 5, 5]);
    const served: Record<string, string | Uint8Array> = { 'k/model.json': saved.json };
    for (const [p, b] of saved.shards) served[`k/${p}`] = new Uint8Array(b);
    const files = [new File([saved.json], 'model.json'), ...[...saved.shards].map(([p, b]) => new File([b], p))];
    for (const source of ['https://models.test/k/model.json', files]) {
      const loaded = await loadModel(rt, source as never, { fetch: fakeFetch(served) });
      expect(loaded.format).toBe('tfjs-layers');
      const fwd = await loaded.model.forward(x);
      expectClose(await fwd.readOutput(), want, 'tfjs', { rel: 1e-4, elem: 1e-4 });
      fwd.release();
      loaded.model.destroy();
    }
    keras.dispose();
  });

  it('bad sources get typed errors that name the file', async () => {
    const rt = await getRuntime();
    const bytes = convReluOnnx();
    const cases: Array<[unknown, RegExp, new (...a: never[]) => Error]> = [
      [new Uint8Array(0), /empty/, FormatError],
      [bytes.subarray(0, bytes.length - 40), /model: .*/, FormatError],
      [new File(['{"format": "layers-model", "modelTopology": {}, "weightsManifest": [{"paths": ["w.bin"], "weights": []}]'], 'model.json'), /model.json: .*JSON/, FormatError],
      [new File([JSON.stringify({ hello: 1 })], 'x.json'), /x.json: a JSON file that is neither/, FormatError],
      ['https://models.test/none.onnx', /HTTP 404/, FormatError],
      [convReluOnnx('Swish'), /node 1 "act" \(Swish\): ONNX op Swish is not supported/, UnsupportedError],
    ];
    for (const [source, message, type] of cases) {
      let error: unknown;
      try { await loadModel(rt, source as never, { fetch: fakeFetch({}) }); } catch (e) { error = e; }
      expect(error, String(message)).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    }
  });
});

// The ONNX importer on multi-node graphs: a residual block and an
// Inception-style block encoded with onnx-proto, imported, and compared with
// a float64 evaluation of the same graph written from the ONNX op
// definitions (forward and the gradient projection).
import { describe, expect, it } from 'vitest';
import { onnx } from 'onnx-proto';
import { importOnnx, onnxSpec, createDeconvNet, UnsupportedError, ShapeError, FormatError } from '../src/index.js';
import { ONNX_ATTRIBUTE_TYPES, ONNX_DATA_TYPES } from '../src/model/import/onnx_tensor.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { conv2dRef, conv2dInputGradRef, type ConvRefAttrs } from './ref/conv.js';
import { maxPoolRef, unpoolRef } from './ref/pool.js';

const INTS = onnx.AttributeProto.AttributeType.INTS;
const INT = onnx.AttributeProto.AttributeType.INT;
const rand = makeRandom(21);
const weights: Record<string, { dims: number[]; data: Float32Array }> = {
  w1: { dims: [4, 2, 3, 3], data: rand.array(72, -0.5, 0.5) },
  b1: { dims: [4], data: rand.array(4, -0.2, 0.2) },
  w2: { dims: [4, 4, 3, 3], data: rand.array(144, -0.4, 0.4) },
  w3: { dims: [2, 4, 1, 1], data: rand.array(8, -0.8, 0.8) },
  wf: { dims: [3, 6 * 4 * 4], data: rand.array(3 * 96, -0.3, 0.3) },
  bf: { dims: [3], data: rand.array(3, -0.1, 0.1) },
  shape: { dims: [2], data: Float32Array.of(0, -1) },
};

/**
 * x[1,2,8,8] -> Conv(w1,b1, pads 1) -> Relu = r1 -> Conv(w2, pads 1) -> Relu = r2
 * -> Add(r2, r1) = s -> MaxPool 2x2 = p ; Conv(w3) on p = q ; Concat(p, q) axis 1 = cat [6,4,4]
 * -> Reshape [0, -1] -> Gemm(wf, bf, transB) = y [3]
 */
function model(): Uint8Array {
  const init = Object.entries(weights).map(([name, t]) => name === 'shape'
    ? { name, dims: t.dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: [0, -1] }
    : { name, dims: t.dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(t.data) });
  const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 11 }],
    graph: {
      name: 'blocks',
      node: [
        { opType: 'Conv', name: 'conv1', input: ['x', 'w1', 'b1'], output: ['c1'], attribute: [{ name: 'pads', type: INTS, ints: [1, 1, 1, 1] }, { name: 'kernel_shape', type: INTS, ints: [3, 3] }] },
        { opType: 'Relu', name: 'relu1', input: ['c1'], output: ['r1'] },
        { opType: 'Conv', name: 'conv2', input: ['r1', 'w2'], output: ['c2'], attribute: [{ name: 'pads', type: INTS, ints: [1, 1, 1, 1] }] },
        { opType: 'Relu', name: 'relu2', input: ['c2'], output: ['r2'] },
        { opType: 'Add', name: 'residual', input: ['r2', 'r1'], output: ['s'] },
        { opType: 'MaxPool', name: 'pool', input: ['s'], output: ['p', 'pool_indices'], attribute: [{ name: 'kernel_shape', type: INTS, ints: [2, 2] }, { name: 'strides', type: INTS, ints: [2, 2] }] },
        { opType: 'Conv', name: 'branch', input: ['p', 'w3'], output: ['q'] },
        { opType: 'Concat', name: 'cat', input: ['p', 'q'], output: ['cat'], attribute: [{ name: 'axis', type: INT, i: 1 }] },
        { opType: 'Reshape', name: 'flat', input: ['cat', 'shape'], output: ['f'] },
        { opType: 'Dropout', name: 'drop', input: ['f'], output: ['fd'] },
        { opType: 'Gemm', name: 'fc', input: ['fd', 'wf', 'bf'], output: ['y'], attribute: [{ name: 'transB', type: INT, i: 1 }] },
      ],
      initializer: init,
      input: [info('x', [1, 2, 8, 8])],
      output: [info('y', [1, 3])],
    },
  }).finish();
}

const N = 2;
const pad1: ConvRefAttrs = { stride: [1, 1], dilation: [1, 1], pads: [1, 1, 1, 1], groups: 1 };
const none: ConvRefAttrs = { stride: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0], groups: 1 };
const pool = { kH: 2, kW: 2, sH: 2, sW: 2, dH: 1, dW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, outH: 4, outW: 4 };
const relu = (v: Float64Array) => v.map((e) => Math.max(e, 0));

function reference(x: Float64Array) {
  const w = weights;
  const c1 = conv2dRef(x, [N, 2, 8, 8], w.w1!.data, [4, 2, 3, 3], w.b1!.data, pad1);
  const r1 = relu(c1);
  const c2 = conv2dRef(r1, [N, 4, 8, 8], w.w2!.data, [4, 4, 3, 3], null, pad1);
  const r2 = relu(c2);
  const s = r2.map((v, i) => v + r1[i]!);
  const { values: p, switches } = maxPoolRef(s, [N, 4, 8, 8], pool);
  const q = conv2dRef(p, [N, 4, 4, 4], w.w3!.data, [2, 4, 1, 1], null, none);
  const cat = new Float64Array(N * 96);
  for (let n = 0; n < N; n++) { cat.set(p.subarray(n * 64, n * 64 + 64), n * 96); cat.set(q.subarray(n * 32, n * 32 + 32), n * 96 + 64); }
  const y = new Float64Array(N * 3);
  for (let n = 0; n < N; n++) for (let u = 0; u < 3; u++) {
    let acc = w.bf!.data[u]!;
    for (let k = 0; k < 96; k++) acc += cat[n * 96 + k]! * w.wf!.data[u * 96 + k]!;
    y[n * 3 + u] = acc;
  }
  return { c1, c2, s, p, switches, cat, y };
}

/** d y[:, unit] / d x, by the chain rule through the same graph. */
function referenceGradient(f: ReturnType<typeof reference>, unit: number): Float64Array {
  const w = weights;
  const gCat = new Float64Array(N * 96);
  for (let n = 0; n < N; n++) for (let k = 0; k < 96; k++) gCat[n * 96 + k] = w.wf!.data[unit * 96 + k]!;
  const gP = new Float64Array(N * 64), gQ = new Float64Array(N * 32);
  for (let n = 0; n < N; n++) { gP.set(gCat.subarray(n * 96, n * 96 + 64), n * 64); gQ.set(gCat.subarray(n * 96 + 64, n * 96 + 96), n * 32); }
  const gP2 = conv2dInputGradRef(gQ, [N, 4, 4, 4], w.w3!.data, [2, 4, 1, 1], none).map((v, i) => v + gP[i]!);
  const gS = unpoolRef(gP2, f.switches, [N, 4, 8, 8], 4, 4);
  const gC2 = gS.map((v, i) => (f.c2[i]! > 0 ? v : 0));
  const gR1 = conv2dInputGradRef(gC2, [N, 4, 8, 8], w.w2!.data, [4, 4, 3, 3], pad1).map((v, i) => v + gS[i]!);
  const gC1 = gR1.map((v, i) => (f.c1[i]! > 0 ? v : 0));
  return conv2dInputGradRef(gC1, [N, 2, 8, 8], w.w1!.data, [4, 2, 3, 3], pad1);
}

describe('ONNX importer on a residual + Inception-style graph', () => {
  const x = makeRandom(5).array(N * 2 * 8 * 8, -1, 1);
  const ref = reference(Float64Array.from(x));

  it('lists the nodes, runs forward and projects like the float64 graph', async () => {
    const rt = await getRuntime();
    const { model, outputNames } = await importOnnx(rt, model_bytes(), { fileName: 'blocks.onnx' });
    expect(outputNames).toEqual(['y']);
    expect(model.info.map((n) => `${n.name}:${n.kind}:${n.outputShape.join('x')}`)).toEqual([
      'conv1:Conv2D:4x8x8', 'relu1:ReLU:4x8x8', 'conv2:Conv2D:4x8x8', 'relu2:ReLU:4x8x8', 'residual:Add:4x8x8',
      'pool:MaxPool2D:4x4x4', 'branch:Conv2D:2x4x4', 'cat:Concat:6x4x4', 'flat:Reshape:96', 'fc:Dense:3',
    ]);
    const fwd = await model.forward(x);
    expectClose(await fwd.activation('residual').read(), ref.s, 'residual');
    expectClose(await fwd.activation('cat').read(), ref.cat, 'concat');
    expectClose(await fwd.readOutput(), ref.y, 'output');
    const proj = await createDeconvNet(model).project(fwd, { layer: 'fc', channel: 2, mode: 'gradient', seed: 'one' });
    expectClose((await proj.read()).data, referenceGradient(ref, 2), 'd y[2] / d x');
    proj.release();
    fwd.release();
    model.destroy();
  });

  it('names the op, the node and the file when it cannot import', async () => {
    const bytes = model_bytes();
    const decoded = onnx.ModelProto.decode(bytes);
    const swap = (mutate: (m: onnx.ModelProto) => void) => {
      const m = onnx.ModelProto.decode(bytes);
      mutate(m);
      return onnx.ModelProto.encode(m).finish();
    };
    expect(decoded.graph!.node!.length).toBe(11);
    const cases: Array<[Uint8Array, new (...a: never[]) => Error, RegExp]> = [
      [swap((m) => { m.graph!.node![1]!.opType = 'Hardmax'; }), UnsupportedError, /blocks.onnx: node 1 "relu1" \(Hardmax\): ONNX op Hardmax is not supported/],
      [swap((m) => { m.graph!.node![5]!.output = ['p', 'pool_indices']; m.graph!.node![6]!.input = ['pool_indices', 'w3']; }), UnsupportedError, /the Indices output of MaxPool "pool"/],
      [swap((m) => { m.graph!.initializer![4]!.dims = [3, 95]; m.graph!.initializer![4]!.floatData = Array.from({ length: 285 }, () => 0.1); }), ShapeError, /node 10 "fc" \(Gemm\): input has 96 features, weight \[3,95\]/],
      [swap((m) => { m.graph!.initializer![0]!.floatData![7] = NaN; }), FormatError, /initializer "w1": tensor "w1" \[4,2,3,3\]: element 7 is NaN/],
      [swap((m) => { m.graph!.node![8]!.input = ['cat', 'missing']; }), FormatError, /node 8 "flat" \(Reshape\): input "missing" is not produced/],
      [bytes.subarray(0, bytes.length / 2), FormatError, /blocks.onnx: not a readable ONNX model/],
      // The importer reads these enums by their ONNX numbers (the decoder is loaded lazily).
      [swap((m) => { m.graph!.node![0]!.attribute![0]!.type = onnx.AttributeProto.AttributeType.FLOATS; }), FormatError, /node 0 "conv1" \(Conv\): attribute pads has type FLOATS, expected INTS/],
      [swap((m) => { m.graph!.initializer![1]!.dataType = onnx.TensorProto.DataType.INT16; }), UnsupportedError, /initializer "b1": tensor "b1" \[4\]: element type INT16 is not supported/],
      [swap((m) => { m.graph!.initializer![1]!.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL; }), UnsupportedError, /tensor "b1" \[4\]: weights in external data files are not supported/],
    ];
    for (const [file, type, message] of cases) {
      let error: unknown;
      try { await onnxSpec(file, { fileName: 'blocks.onnx' }); } catch (e) { error = e; }
      expect(error, String(message)).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('ONNX enum numbers written out in the importer', () => {
  it('match the onnx.proto schema onnx-proto was generated from', () => {
    const names = (e: Record<string, string | number>) => Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]));
    expect(Object.fromEntries(ONNX_DATA_TYPES.map((n, i) => [i, n]))).toEqual(names(onnx.TensorProto.DataType));
    expect(Object.fromEntries(ONNX_ATTRIBUTE_TYPES.map((n, i) => [i, n]))).toEqual(names(onnx.AttributeProto.AttributeType));
  });
});

function model_bytes(): Uint8Array {
  return model();
}

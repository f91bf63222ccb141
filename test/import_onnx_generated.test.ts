// Constants an ONNX graph makes itself (ConstantOfShape, Range, Expand,
// Tile, Slice, Transpose, scalar arithmetic on them) are weights written on
// the GPU by the fill kernel, at any size, split across bindings like large
// Dense weights; only small ones are evaluated on the host where an op needs
// values (shape arithmetic). Every result is compared with a float64
// evaluation whose weights are written out here from the ONNX definitions.
import { describe, expect, it } from 'vitest';
import { importOnnx, onnxSpec, createRuntime, FormatError, UnsupportedError } from '../src/index.js';
import { fill, fillTensor, fillsSettled, isFill, type FillSpec } from '../src/ops/fill.js';
import { Dense } from '../src/layers/dense.js';
import { ConstantOp } from '../src/layers/constant_op.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { GraphWriter } from './onnx/light.js';

const FLOAT = 1;

async function expectImportError(bytes: Uint8Array, type: new (...a: never[]) => Error, message: RegExp): Promise<void> {
  let error: unknown;
  try { await onnxSpec(bytes, { fileName: 'gen.onnx' }); } catch (e) { error = e; }
  expect(error, String(message)).toBeInstanceOf(type);
  expect((error as Error).message).toMatch(message);
}

/** x [N, K] times W^T [K, U] plus b, float64. */
function denseRef(x: ArrayLike<number>, n: number, w: (u: number, k: number) => number, b: (u: number) => number, K: number, U: number): Float64Array {
  const out = new Float64Array(n * U);
  for (let i = 0; i < n; i++) for (let u = 0; u < U; u++) {
    let s = b(u);
    for (let k = 0; k < K; k++) s += x[i * K + k]! * w(u, k);
    out[i * U + u] = s;
  }
  return out;
}

describe('fill kernel', () => {
  it('writes start + sum coef * ((offset + j) / div % mod) for every j, as float64 says', async () => {
    const rt = await getRuntime();
    const spec: FillSpec = {
      kind: 'fill', count: 5000, start: 0.25, offset: 123,
      terms: [{ coef: 0.5, div: 1, mod: 7 }, { coef: -0.01, div: 7, mod: 30 }, { coef: 1e-3, div: 210, mod: 1000 }, { coef: 2, div: 3, mod: 2 }],
    };
    const t = rt.createTensor([spec.count]);
    await rt.run('fill test', (rec) => fill(rec, t, spec));
    const expected = Float64Array.from({ length: spec.count }, (_, j) => {
      const i = j + 123;
      return 0.25 + 0.5 * (i % 7) - 0.01 * (Math.floor(i / 7) % 30) + 1e-3 * (Math.floor(i / 210) % 1000) + 2 * (Math.floor(i / 3) % 2);
    });
    expectClose(await t.read(), expected, 'fill');
    t.release();
  });

  it('covers more than 65535 workgroups (the dispatch wraps into y), exact for every index below 2^24', async () => {
    const rt = await getRuntime();
    const count = 2 ** 24; // 65536 workgroups of 256
    const t = fillTensor(rt, [count], { kind: 'fill', count, start: 0, terms: [{ coef: 1, div: 1, mod: count }] }, 'ramp');
    await fillsSettled(rt);
    const data = await t.read();
    let wrong = 0;
    for (let j = 0; j < count; j++) if (data[j] !== j) wrong++;
    expect(wrong).toBe(0);
    t.release();
  });

  it('refuses formulas it cannot evaluate with typed errors', async () => {
    const rt = await getRuntime();
    const t = rt.createTensor([4]);
    const bad: Array<[FillSpec, string]> = [
      [{ kind: 'fill', count: 5, start: 0, terms: [] }, 'has 5 values'],
      [{ kind: 'fill', count: 4, start: 0, offset: 2 ** 32, terms: [] }, '32-bit index'],
      [{ kind: 'fill', count: 4, start: 0, terms: [{ coef: 1, div: 0, mod: 1 }] }, 'integer div'],
      [{ kind: 'fill', count: 4, start: 0, terms: Array(5).fill({ coef: 1, div: 1, mod: 2 }) }, 'at most 4'],
    ];
    for (const [spec, message] of bad) {
      await expect(rt.run('bad fill', (rec) => fill(rec, t, spec))).rejects.toThrow(message);
    }
    t.release();
  });
});

describe('ONNX constants made in the graph', () => {
  it('Conv and Gemm weights from ConstantOfShape and from the use_range chain match float64', async () => {
    const rt = await getRuntime();
    const g = new GraphWriter();
    // conv: [4, 3, 3, 3] fill 0.1, bias ConstantOfShape 0.5; gemm: B [4*4*4, 5] range (transB=0: transposed on the GPU side), C range
    const cw = g.weight('cw', { dims: [4, 3, 3, 3], style: 'constant', value: 0.1 });
    const cb = g.weight('cb', { dims: [4], style: 'constant', value: 0.5 });
    const y = g.node('Conv', ['x', cw, cb], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv');
    const flat = g.node('Flatten', [y], {}, 'flat');
    const gw = g.weight('gw', { dims: [64, 5], style: 'range', value: 0.3 });
    const gb = g.weight('gb', { dims: [5], style: 'range', value: 2 });
    g.node('Gemm', [flat, gw, gb], { alpha: 0.5 }, 'out');
    const bytes = g.model({ x: [2, 3, 4, 4] }, ['out']);
    const { model } = await importOnnx(rt, bytes);
    const x = makeRandom(4).array(2 * 3 * 16, -1, 1);
    const fwd = await model.forward(x);
    // float64: conv with every weight 0.1 and bias 0.5
    const conv = new Float64Array(2 * 64);
    for (let n = 0; n < 2; n++) for (let o = 0; o < 4; o++) for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) {
      let s = 0.5;
      for (let ch = 0; ch < 3; ch++) for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) {
        if (r + i >= 0 && r + i < 4 && c + j >= 0 && c + j < 4) s += 0.1 * x[((n * 3 + ch) * 4 + r + i) * 4 + c + j]!;
      }
      conv[n * 64 + (o * 4 + r) * 4 + c] = s;
    }
    // Range chain: B[k, u] = 0.3 * (k * 5 + u) / 320, C[u] = 2 * u / 5; Gemm alpha 0.5
    const expected = denseRef(conv, 2, (u, k) => 0.5 * 0.3 * (k * 5 + u) / 320, (u) => 2 * u / 5, 64, 5);
    expectClose(await fwd.readOutput(), expected, 'conv + gemm');
    fwd.release();
    model.destroy();
  });

  it('Expand, Tile, Slice, Transpose and arithmetic of generated constants stay formulas and match float64', async () => {
    const rt = await getRuntime();
    const g = new GraphWriter();
    const ramp = (n: number, dims: number[]) => g.node('Reshape', [
      g.node('Cast', [g.node('Range', [g.int64(`s${n}`, [0], []), g.int64(`l${n}`, [n], []), g.int64(`d${n}`, [1], [])])], { to: FLOAT }),
      g.int64(`shape${n}`, dims)]);
    // e[i, j] = i: Expand of a [6, 1] ramp to [6, 4]
    const e = g.node('Expand', [ramp(6, [6, 1]), g.int64('e64', [6, 4])]);
    // t[i, j] = j: Tile of a [1, 4] ramp by [6, 1]
    const t = g.node('Tile', [ramp(4, [1, 4]), g.int64('rep', [6, 1])]);
    // s[m, j] = 1 - ((11 - 2m) * 4 + j) / 48: rows 11, 9, ..., 1 of a [12, 4] ramp, divided and subtracted
    const sliced = g.node('Slice', [ramp(48, [12, 4]), g.int64('st', [11, 0]), g.int64('en', [0, 4]), g.int64('ax', [0, 1]), g.int64('sp', [-2, 1])]);
    const s = g.node('Sub', [g.float('one', [1], []), g.node('Div', [sliced, g.float('by48', [48], [])])]);
    // p[i, j] = 0.01 (j * 6 + i): Transpose of a [4, 6] ramp, scaled
    const p = g.node('Mul', [g.node('Transpose', [ramp(24, [4, 6])], { perm: [1, 0] }), g.float('c', [0.01], [])]);
    const y1 = g.node('Mul', ['x', e], {}, 'y1');
    const y2 = g.node('Add', [y1, t], {}, 'y2');
    const y3 = g.node('Sub', [y2, s], {}, 'y3');
    g.node('Add', [p, y3], {}, 'y');
    const bytes = g.model({ x: [3, 6, 4] }, ['y']);
    const { spec } = await onnxSpec(bytes);
    expect(spec.nodes!.map((n) => isFill((n.layer as ConstantOp).constant)), 'every constant reaches its layer as a formula').toEqual([true, true, true, true]);
    const { model } = await importOnnx(rt, bytes);
    const x = makeRandom(9).array(3 * 24, -2, 2);
    const fwd = await model.forward(x);
    const expected = Float64Array.from(x, (v, k) => {
      const i = Math.floor(k / 4) % 6, j = k % 4;
      return 0.01 * (j * 6 + i) + (v * i + j - (1 - ((11 - 2 * i) * 4 + j) / 48));
    });
    expectClose(await fwd.readOutput(), expected, 'generated constants');
    fwd.release();
    model.destroy();
  });

  it('a generated Gemm weight larger than one binding is split into row chunks, each filled on the GPU', async () => {
    const base = await getRuntime();
    const rt = await createRuntime({ device: base.device, poisonNewTensors: true, maxBindingSize: 1 << 20 });
    const U = 300, K = 2000; // 2.4 MB: 131 rows per 1 MiB chunk -> chunks of 131, 131, 38 rows
    const g = new GraphWriter();
    const w = g.weight('w', { dims: [U, K], style: 'range', value: 0.01 });
    const b = g.weight('b', { dims: [U], style: 'constant', value: -0.25 });
    g.node('Gemm', ['x', w, b], { transB: 1 }, 'y');
    const bytes = g.model({ x: [2, K] }, ['y']);
    const spec = await onnxSpec(bytes);
    const dense = spec.spec.nodes![0]!.layer as Dense;
    expect(isFill(dense.options.kernel), 'the kernel reaches the layer as a formula, not values').toBe(true);
    const before = rt.bytesInUse;
    const { model } = await importOnnx(rt, bytes);
    expect((model.layers[0] as Dense).kernelChunks.map((c) => c.shape[0])).toEqual([131, 131, 38]);
    const x = makeRandom(2).array(2 * K, -1, 1);
    const fwd = await model.forward(x);
    expectClose(await fwd.readOutput(), denseRef(x, 2, (u, k) => 0.01 * (u * K + k) / (U * K), () => -0.25, K, U), 'split generated dense');
    fwd.release();
    model.destroy();
    expect(rt.bytesInUse, 'every buffer back after destroy').toBe(before);
    rt.destroy();
  });

  it('a ConstantOfShape [4096, 25088] (VGG fc6, over the old 16 M fold limit) reaches Dense as a formula', async () => {
    const g = new GraphWriter();
    const w = g.weight('fc6_W', { dims: [4096, 25088], style: 'constant', value: 0.5 });
    g.node('Gemm', ['x', w], { transB: 1 }, 'y');
    const spec = await onnxSpec(g.model({ x: [1, 25088] }, ['y']));
    const kernel = (spec.spec.nodes![0]!.layer as Dense).options.kernel;
    expect(isFill(kernel) && kernel.count).toBe(4096 * 25088);
  });

  it('refuses what it cannot make: typed errors naming the node and the limit', async () => {
    const huge = new GraphWriter();
    huge.node('Add', ['x', huge.weight('w', { dims: [65536, 65536], style: 'constant', value: 1 })], {}, 'y');
    await expectImportError(huge.model({ x: [1, 2] }, ['y']), UnsupportedError, /shape \[65536,65536\] has 4294967296 values; more than the importer accepts/);

    // A generated constant over the host fold limit used as shape arithmetic (a Reshape target).
    const shape = new GraphWriter();
    const big = shape.node('Cast', [shape.node('ConstantOfShape', [shape.int64('d', [5000, 5000])], { value: { dims: [1], dataType: 7, int64Data: [1] } })], { to: 7 });
    shape.node('Reshape', ['x', shape.node('Flatten', [big])], {}, 'y');
    await expectImportError(shape.model({ x: [1, 2] }, ['y']), UnsupportedError, /constant of shape \[5000,5000\] made in the graph .* on the host, which the importer does up to 16777216 elements/);

    const zero = new GraphWriter();
    const r = zero.node('Range', [zero.float('a', [0], []), zero.float('b', [3], []), zero.float('c', [0], [])]);
    zero.node('Add', ['x', r], {}, 'y');
    await expectImportError(zero.model({ x: [1, 3] }, ['y']), FormatError, /Range\(0, 3, 0\) has no finite length/);

    const value = new GraphWriter();
    const c = value.node('ConstantOfShape', [value.int64('d2', [3])], { value: { dims: [2], dataType: FLOAT, floatData: [1, 2] } });
    value.node('Add', ['x', c], {}, 'y');
    await expectImportError(value.model({ x: [1, 3] }, ['y']), FormatError, /value has shape \[2\]; one element is expected/);
  });
});

// ONNX ops beyond the classic ConvNet set, each in a tiny model written here
// with onnx-proto, imported, and compared with float64 evaluations written
// from the ONNX operator definitions: the smooth activations (Selu,
// HardSigmoid, HardSwish, Gelu, Softplus, Softsign, Mish), forward and their
// backward (the gradient, in every projection mode); Resize / Upsample
// (nearest, linear; every coordinate transformation), Slice, Split and Clip
// with constant bounds, forward and backward, plus outputs the ONNX operator
// documentation lists for its own Resize examples.
import { describe, expect, it } from 'vitest';
import { importOnnx, createDeconvNet, FormatError, ShapeError, UnsupportedError, type Model } from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { onnxModel, type OnnxNodeSpec, type OnnxModelSpec } from './helpers/onnx_models.js';
import { smoothActivation, smoothBackwardRef, type SmoothKind, type SmoothAttrs } from './ref/activation_smooth.js';
import { resizeRef, type ResizeRef } from './ref/resize.js';

const SHAPE = [2, 3, 5, 4];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

async function expectOnnxError(bytes: Uint8Array, type: new (...a: never[]) => Error, message: RegExp): Promise<void> {
  const rt = await getRuntime();
  let error: unknown;
  try { (await importOnnx(rt, bytes, { fileName: 'ops.onnx' })).model.destroy(); } catch (e) { error = e; }
  expect(error, String(message)).toBeInstanceOf(type);
  expect((error as Error).message).toMatch(message);
}

describe('ONNX smooth activations', () => {
  const cases: Array<{ node: Omit<OnnxNodeSpec, 'inputs' | 'outputs'>; kind: SmoothKind; attrs?: SmoothAttrs; opset?: number }> = [
    { node: { op: 'Selu' }, kind: 'selu' },
    { node: { op: 'Selu', attrs: { alpha: 1.5, gamma: { float: 0.8 } } }, kind: 'selu', attrs: { alpha: 1.5, gamma: 0.8 } },
    { node: { op: 'HardSigmoid' }, kind: 'hard_sigmoid' },
    { node: { op: 'HardSigmoid', attrs: { alpha: 0.3, beta: 0.4 } }, kind: 'hard_sigmoid', attrs: { alpha: 0.3, beta: 0.4 } },
    { node: { op: 'HardSwish' }, kind: 'hard_swish', opset: 14 },
    { node: { op: 'Gelu' }, kind: 'gelu', opset: 20 },
    { node: { op: 'Gelu', attrs: { approximate: 'tanh' } }, kind: 'gelu_tanh', opset: 20 },
    { node: { op: 'Softplus' }, kind: 'softplus' },
    { node: { op: 'Softsign' }, kind: 'softsign' },
    { node: { op: 'Mish' }, kind: 'mish', opset: 18 },
  ];
  for (const c of cases) {
    it(`${c.node.op} ${JSON.stringify(c.node.attrs ?? {})}: forward and backward in every mode vs float64`, async () => {
      const rt = await getRuntime();
      const bytes = onnxModel({
        opset: c.opset, nodes: [{ ...c.node, name: 'act', inputs: ['x'], outputs: ['y'] }],
        inputs: [{ name: 'x', dims: ['N', 3, 5, 4] }], outputs: ['y'],
      });
      const { model } = await importOnnx(rt, bytes);
      expect(model.layers[0]!.kind).toBe(c.kind);
      const x = makeRandom(c.kind.length).array(size(SHAPE), -5, 5);
      const fwd = await model.forward(x);
      expectClose(await fwd.readOutput(), Float64Array.from(x, (v) => smoothActivation(c.kind, v, c.attrs)), 'forward');
      // The whole map of channel 1 from 1: dx = f'(x) there, 0 elsewhere.
      const g = Float64Array.from(x, (_, i) => (Math.floor(i / 20) % 3 === 1 ? 1 : 0));
      const expected = smoothBackwardRef(c.kind, g, x, c.attrs);
      for (const mode of ['deconvnet', 'guided', 'gradient'] as const) {
        const proj = await createDeconvNet(model).project(fwd, { layer: 'act', channel: 1, position: 'all', seed: 'one', mode });
        expectClose((await proj.read()).data, expected, `backward ${mode}`, { rel: 1e-5, elem: 2e-4 });
        proj.release();
      }
      fwd.release();
      model.destroy();
    });
  }

  it('Gelu with an unknown approximation is a FormatError naming it', async () => {
    await expectOnnxError(onnxModel({
      opset: 20, nodes: [{ op: 'Gelu', name: 'g', inputs: ['x'], outputs: ['y'], attrs: { approximate: 'erf' } }],
      inputs: [{ name: 'x', dims: [1, 3, 5, 4] }], outputs: ['y'],
    }), FormatError, /ops.onnx: node 0 "g" \(Gelu\): approximate "erf"/);
  });
});

/** The gradient projection of `layer`'s channel from its own values (seed 'activation', whole map): g = y on that channel, 0 elsewhere. */
async function projectChannel(model: Model, x: Float32Array, layer: string, channel: number): Promise<{ y: Float32Array; yShape: number[]; dx: Float32Array }> {
  const fwd = await model.forward(x);
  const act = fwd.activation(layer);
  const y = await act.read();
  const yShape = [...act.shape];
  const proj = await createDeconvNet(model).project(fwd, { layer, channel, position: 'all', mode: 'gradient' });
  const dx = (await proj.read()).data;
  proj.release();
  fwd.release();
  return { y, yShape, dx };
}

function maskChannel(y: ArrayLike<number>, shape: readonly number[], channel: number): Float64Array {
  const plane = shape[2]! * shape[3]!;
  return Float64Array.from(y, (v, i) => (Math.floor(i / plane) % shape[1]! === channel ? v : 0));
}

function resizeModel(r: ResizeRef, inShape: number[], opset = 13): Uint8Array {
  const attrs: Record<string, string> = { mode: r.mode, coordinate_transformation_mode: r.ct };
  if (r.nr) attrs.nearest_mode = r.nr;
  const inits: NonNullable<OnnxModelSpec['inits']> = r.scales
    ? { scales: { dims: [4], data: [1, 1, ...r.scales] } }
    : { sizes: { dims: [4], data: [inShape[0]!, inShape[1]!, ...r.size!], int64: true } };
  return onnxModel({
    opset,
    nodes: [{ op: 'Resize', name: 'resize', inputs: r.scales ? ['x', '', 'scales'] : ['x', '', '', 'sizes'], outputs: ['y'], attrs }],
    inits, inputs: [{ name: 'x', dims: inShape }], outputs: ['y'],
  });
}

describe('ONNX Resize and Upsample', () => {
  const X = Float32Array.of(1, 2, 3, 4);
  const X24 = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  // Inputs and expected outputs of the examples in ONNX's operators.md.
  const documented: Array<[string, ResizeRef, number[], Float32Array, number[]]> = [
    ['upsample_scales_nearest', { mode: 'nearest', ct: 'half_pixel', scales: [2, 3] }, [1, 1, 2, 2], X,
      [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4]],
    ['upsample_scales_linear', { mode: 'linear', ct: 'half_pixel', scales: [2, 2] }, [1, 1, 2, 2], X,
      [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]],
    ['upsample_scales_linear_align_corners', { mode: 'linear', ct: 'align_corners', scales: [2, 2] }, [1, 1, 2, 2], X,
      [1, 4 / 3, 5 / 3, 2, 5 / 3, 2, 7 / 3, 8 / 3, 7 / 3, 8 / 3, 3, 10 / 3, 3, 10 / 3, 11 / 3, 4]],
    ['downsample_scales_linear', { mode: 'linear', ct: 'half_pixel', scales: [0.6, 0.6] }, [1, 1, 2, 4], X24, [2.6666665, 4.3333331]],
    ['downsample_scales_nearest', { mode: 'nearest', ct: 'half_pixel', scales: [0.6, 0.6] }, [1, 1, 2, 4], X24, [1, 3]],
  ];
  for (const [label, r, shape, x, expected] of documented) {
    it(`ONNX's example ${label}`, async () => {
      const rt = await getRuntime();
      const { model } = await importOnnx(rt, resizeModel(r, shape));
      expectClose(await model.predict(x), expected, label);
      model.destroy();
    });
  }

  const cases: Array<ResizeRef> = [
    { mode: 'nearest', ct: 'asymmetric', nr: 'floor', scales: [2, 2] },
    { mode: 'nearest', ct: 'half_pixel', nr: 'round_prefer_ceil', scales: [1.5, 2.5] },
    { mode: 'nearest', ct: 'align_corners', nr: 'round_prefer_floor', size: [9, 4] },
    { mode: 'nearest', ct: 'tf_half_pixel_for_nn', nr: 'ceil', scales: [0.5, 0.75] },
    { mode: 'linear', ct: 'half_pixel', scales: [2, 2] },
    { mode: 'linear', ct: 'pytorch_half_pixel', size: [11, 1] },
    { mode: 'linear', ct: 'align_corners', size: [10, 13] },
    { mode: 'linear', ct: 'asymmetric', scales: [0.6, 1.7] },
  ];
  for (const r of cases) {
    it(`${r.mode} ${r.ct} ${r.nr ?? ''} ${r.scales ? `scales ${r.scales}` : `sizes ${r.size}`}: forward and backward vs float64`, async () => {
      const rt = await getRuntime();
      const inShape = [2, 3, 6, 7];
      const { model } = await importOnnx(rt, resizeModel(r, inShape));
      const x = makeRandom(9).array(size(inShape), -1, 1);
      const ref = resizeRef(x, inShape, r);
      expect(model.outputShape).toEqual(ref.shape.slice(1));
      const { y, yShape, dx } = await projectChannel(model, x, 'resize', 1);
      expectClose(y, ref.data, 'forward');
      const g = maskChannel(y, yShape, 1);
      expectClose(dx, resizeRef(g, yShape, r, true, inShape).data, 'backward (the transpose)');
      model.destroy();
    });
  }

  it('Upsample (opset 9, scales input) and Resize-10 map asymmetrically and round nearest down', async () => {
    const rt = await getRuntime();
    const inShape = [1, 2, 3, 4];
    const x = makeRandom(4).array(size(inShape), -1, 1);
    for (const [op, opset, mode] of [['Upsample', 9, 'nearest'], ['Upsample', 9, 'linear'], ['Resize', 10, 'nearest'], ['Resize', 10, 'linear']] as const) {
      const bytes = onnxModel({
        opset, nodes: [{ op, name: 'up', inputs: ['x', 'scales'], outputs: ['y'], attrs: { mode } }],
        inits: { scales: { dims: [4], data: [1, 1, 2, 1.5] } }, inputs: [{ name: 'x', dims: inShape }], outputs: ['y'],
      });
      const { model } = await importOnnx(rt, bytes);
      expectClose(await model.predict(x), resizeRef(x, inShape, { mode, ct: 'asymmetric', nr: 'floor', scales: [2, 1.5] }).data, `${op}-${opset} ${mode}`);
      model.destroy();
    }
  });

  it('refuses what it does not do, with typed errors naming the node', async () => {
    const bad = (attrs: Record<string, string | number>, scales = [1, 1, 2, 2]) => onnxModel({
      opset: 18, nodes: [{ op: 'Resize', name: 'rs', inputs: ['x', '', 'scales'], outputs: ['y'], attrs }],
      inits: { scales: { dims: [4], data: scales } }, inputs: [{ name: 'x', dims: [1, 2, 3, 4] }], outputs: ['y'],
    });
    await expectOnnxError(bad({ mode: 'cubic' }), UnsupportedError, /node 0 "rs" \(Resize\): mode "cubic" is not supported/);
    await expectOnnxError(bad({ mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize' }), UnsupportedError, /coordinate_transformation_mode "tf_crop_and_resize"/);
    await expectOnnxError(bad({ mode: 'linear', antialias: 1 }, [1, 1, 0.5, 0.5]), UnsupportedError, /antialias/);
    await expectOnnxError(bad({ mode: 'nearest' }, [1, 2, 2, 2]), UnsupportedError, /resize the batch or channel axis/);
  });
});

describe('ONNX Slice, Split and Clip', () => {
  const inShape = [2, 4, 6, 5];

  /** Float64 strided slice of an NCHW array (per axis: start, step, length). */
  function sliceRef(x: ArrayLike<number>, shape: readonly number[], per: Array<[number, number, number]>): Float64Array {
    const out = per.map((p) => p[2]);
    const y = new Float64Array(size(out));
    let i = 0;
    for (let a = 0; a < out[0]!; a++) for (let b = 0; b < out[1]!; b++) for (let c = 0; c < out[2]!; c++) for (let d = 0; d < out[3]!; d++) {
      const [ia, ib, ic, id] = [a, b, c, d].map((v, k) => per[k]![0] + v * per[k]![1]);
      y[i++] = x[((ia! * shape[1]! + ib!) * shape[2]! + ic!) * shape[3]! + id!]!;
    }
    return y;
  }

  const slices: Array<{ label: string; starts: number[]; ends: number[]; axes: number[]; steps?: number[]; per: Array<[number, number, number]> }> = [
    { label: 'channels 1..3 and the last 4 columns (ends past the axis)', starts: [1, -4], ends: [3, 100], axes: [1, 3], per: [[0, 1, 2], [1, 1, 2], [0, 1, 6], [1, 1, 4]] },
    { label: 'every second row, negative axis', starts: [0], ends: [6], axes: [-2], steps: [2], per: [[0, 1, 2], [0, 1, 4], [0, 2, 3], [0, 1, 5]] },
    { label: 'rows backwards from 4, columns backwards by 2', starts: [4, -1], ends: [0, -100], axes: [2, 3], steps: [-1, -2], per: [[0, 1, 2], [0, 1, 4], [4, -1, 4], [4, -2, 3]] },
  ];
  for (const c of slices) {
    it(`Slice: ${c.label}: forward and backward (zeros around) vs float64`, async () => {
      const rt = await getRuntime();
      const inits: Record<string, { dims: number[]; data: number[]; int64: boolean }> = {
        starts: { dims: [c.starts.length], data: c.starts, int64: true },
        ends: { dims: [c.ends.length], data: c.ends, int64: true },
        axes: { dims: [c.axes.length], data: c.axes, int64: true },
      };
      if (c.steps) inits.steps = { dims: [c.steps.length], data: c.steps, int64: true };
      const { model } = await importOnnx(rt, onnxModel({
        nodes: [{ op: 'Slice', name: 'cut', inputs: ['x', 'starts', 'ends', 'axes', ...(c.steps ? ['steps'] : [])], outputs: ['y'] }],
        inits, inputs: [{ name: 'x', dims: ['N', 4, 6, 5] }], outputs: ['y'],
      }));
      const x = makeRandom(3).array(size(inShape), -1, 1);
      const expected = sliceRef(x, inShape, c.per);
      const outShape = c.per.map((p) => p[2]);
      expect(model.outputShape).toEqual(outShape.slice(1));
      const { y, dx } = await projectChannel(model, x, 'cut', 1);
      expectClose(y, expected, 'forward');
      // The adjoint: each output value back in the place it was read from, zeros elsewhere.
      const g = maskChannel(y, outShape, 1);
      const back = new Float64Array(size(inShape));
      let i = 0;
      for (let a = 0; a < outShape[0]!; a++) for (let b = 0; b < outShape[1]!; b++) for (let r = 0; r < outShape[2]!; r++) for (let q = 0; q < outShape[3]!; q++) {
        const [ia, ib, ir, iq] = [a, b, r, q].map((v, k) => c.per[k]![0] + v * c.per[k]![1]);
        back[((ia! * 4 + ib!) * 6 + ir!) * 5 + iq!] = g[i++]!;
      }
      expect(dx.some((v, k) => v !== 0 && back[k] === 0), 'nothing outside the slice').toBe(false);
      expectClose(dx, back, 'backward');
      model.destroy();
    });
  }

  it('Slice of shape arithmetic is folded on the CPU (opset 9 attributes); slicing the batch is refused', async () => {
    const rt = await getRuntime();
    // Reshape(x, Concat(Slice(Shape(x), 0:1), [-1])): PyTorch's flatten of older exports.
    const { model } = await importOnnx(rt, onnxModel({
      opset: 9,
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Slice', inputs: ['s'], outputs: ['n'], attrs: { starts: [0], ends: [1], axes: [0] } },
        { op: 'Concat', inputs: ['n', 'minus1'], outputs: ['target'], attrs: { axis: 0 } },
        { op: 'Reshape', name: 'flat', inputs: ['x', 'target'], outputs: ['y'] },
      ],
      inits: { minus1: { dims: [1], data: [-1], int64: true } },
      inputs: [{ name: 'x', dims: [2, 4, 6, 5] }], outputs: ['y'],
    }));
    expect(model.info.map((n) => `${n.name}:${n.kind}:${n.outputShape}`)).toEqual(['flat:Reshape:120']);
    model.destroy();
    await expectOnnxError(onnxModel({
      nodes: [{ op: 'Slice', name: 'cut', inputs: ['x', 'st', 'en', 'ax'], outputs: ['y'] }],
      inits: { st: { dims: [1], data: [1], int64: true }, en: { dims: [1], data: [2], int64: true }, ax: { dims: [1], data: [0], int64: true } },
      inputs: [{ name: 'x', dims: [2, 4, 6, 5] }], outputs: ['y'],
    }), UnsupportedError, /node 0 "cut" \(Slice\): slices the batch axis/);
    await expectOnnxError(onnxModel({
      nodes: [{ op: 'Slice', name: 'cut', inputs: ['x', 'st', 'en'], outputs: ['y'] }],
      inits: { st: { dims: [1], data: [3], int64: true }, en: { dims: [1], data: [3], int64: true } },
      inputs: [{ name: 'x', dims: [1, 4, 6, 5] }], outputs: ['y'],
    }), ShapeError, /node 0 "cut" \(Slice\): .*is empty/);
  });

  for (const [label, opset, node, inits, sizes] of [
    ['sizes as an input (opset 13)', 13, { inputs: ['x', 'sizes'] }, { sizes: { dims: [2], data: [1, 3], int64: true } }, [1, 3]],
    ['equal parts (opset 11)', 11, { inputs: ['x'] }, {}, [2, 2]],
    ['num_outputs with a smaller last part (opset 18)', 18, { inputs: ['x'], attrs: { num_outputs: 2 } }, {}, [2, 2]],
  ] as const) {
    it(`Split ${label}: one Slice node per output; both parts read back and project`, async () => {
      const rt = await getRuntime();
      const outs = sizes.map((_, k) => `part${k}`);
      const { model } = await importOnnx(rt, onnxModel({
        opset,
        nodes: [
          { op: 'Split', name: 'split', inputs: [...node.inputs], outputs: outs, attrs: { axis: 1, ...('attrs' in node ? node.attrs : {}) } },
          { op: 'Relu', name: 'relu', inputs: ['part1'], outputs: ['r'] },
        ],
        inits, inputs: [{ name: 'x', dims: ['N', 4, 6, 5] }], outputs: ['part0', 'r'],
      }));
      expect(model.info.filter((n) => n.kind === 'Slice').map((n) => `${n.name}:${n.outputShape}`)).toEqual(
        sizes.map((s, k) => `${k === 0 ? 'split' : `split/${k}`}:${s},6,5`));
      const x = makeRandom(8).array(size(inShape), -1, 1);
      const fwd = await model.forward(x);
      expectClose(await fwd.outputs[0]!.read(), sliceRef(x, inShape, [[0, 1, 2], [0, 1, sizes[0]], [0, 1, 6], [0, 1, 5]]), 'part 0');
      const part1 = sliceRef(x, inShape, [[0, 1, 2], [sizes[0], 1, sizes[1]], [0, 1, 6], [0, 1, 5]]);
      expectClose(await fwd.outputs[1]!.read(), part1.map((v) => Math.max(v, 0)), 'relu(part 1)');
      // From channel 0 of relu(part 1), seed one: dx is 1 where that input channel is positive.
      const proj = await createDeconvNet(model).project(fwd, { layer: 'relu', channel: 0, position: 'all', seed: 'one', mode: 'gradient' });
      const plane = 30;
      const expected = Float64Array.from(x, (v, i) => (Math.floor(i / plane) % 4 === sizes[0] && v > 0 ? 1 : 0));
      expectClose((await proj.read()).data, expected, 'd relu(part1)[0] / dx');
      proj.release();
      fwd.release();
      model.destroy();
    });
  }

  it('Split sizes that do not add up are a ShapeError naming the node', async () => {
    await expectOnnxError(onnxModel({
      nodes: [{ op: 'Split', name: 'split', inputs: ['x', 'sizes'], outputs: ['a', 'b'], attrs: { axis: 1 } }],
      inits: { sizes: { dims: [2], data: [1, 2], int64: true } }, inputs: [{ name: 'x', dims: [1, 4, 6, 5] }], outputs: ['a', 'b'],
    }), ShapeError, /node 0 "split" \(Split\): split sizes \[1,2\]/);
  });

  it('Clip with bounds from initializers, Constant nodes and folded Casts; min > max clamps to max; a computed bound is refused', async () => {
    const rt = await getRuntime();
    const x = makeRandom(12).array(size(inShape), -2, 2);
    const clipRef = (lo: number, hi: number) => Float64Array.from(x, (v) => Math.min(Math.max(v, lo), hi));
    const graphs: Array<[string, Parameters<typeof onnxModel>[0], number, number]> = [
      ['initializers', { nodes: [{ op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'] }], inits: { lo: { dims: [], data: [-0.5] }, hi: { dims: [1], data: [1.25] } }, inputs: [{ name: 'x', dims: inShape }], outputs: ['y'] }, -0.5, 1.25],
      ['Constant nodes, max only', {
        nodes: [
          { op: 'Constant', inputs: [], outputs: ['hi'], attrs: { value_float: { float: 0.75 } } },
          { op: 'Clip', inputs: ['x', '', 'hi'], outputs: ['y'] },
        ], inputs: [{ name: 'x', dims: inShape }], outputs: ['y'],
      }, -Infinity, 0.75],
      ['a Cast of an integer constant', {
        nodes: [
          { op: 'Cast', inputs: ['lo_int'], outputs: ['lo'], attrs: { to: 1 } },
          { op: 'Clip', inputs: ['x', 'lo'], outputs: ['y'] },
        ], inits: { lo_int: { dims: [], data: [1], int64: true } }, inputs: [{ name: 'x', dims: inShape }], outputs: ['y'],
      }, 1, Infinity],
      ['min above max', { nodes: [{ op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'] }], inits: { lo: { dims: [], data: [1] }, hi: { dims: [], data: [0.5] } }, inputs: [{ name: 'x', dims: inShape }], outputs: ['y'] }, 0.5, 0.5],
    ];
    for (const [label, spec, lo, hi] of graphs) {
      const { model } = await importOnnx(rt, onnxModel(spec));
      expectClose(await model.predict(x), clipRef(lo, hi), label);
      model.destroy();
    }
    await expectOnnxError(onnxModel({
      nodes: [{ op: 'Clip', name: 'clip', inputs: ['x', 'x'], outputs: ['y'] }], inputs: [{ name: 'x', dims: inShape }], outputs: ['y'],
    }), UnsupportedError, /node 0 "clip" \(Clip\).*must be a constant/);
    await expectOnnxError(onnxModel({
      nodes: [{ op: 'Clip', name: 'clip', inputs: ['x', 'lo'], outputs: ['y'] }], inits: { lo: { dims: [2], data: [0, 1] } }, inputs: [{ name: 'x', dims: inShape }], outputs: ['y'],
    }), FormatError, /node 0 "clip" \(Clip\): min has 2 values/);
  });
});

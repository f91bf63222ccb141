// Receptive fields: a hand-computed table for a ZFNet-like chain and for a
// chain of every windowed layer kind, then a brute force on the GPU: perturb
// one input pixel per image of a batch and see which units change.
import { describe, it, expect, beforeAll } from 'vitest';
import {
  createModel, Conv2D, ReLU, MaxPool2D, AvgPool2D, LRN, Pad2D, Flatten, Dense, OutOfRangeError,
  type Runtime, type Model, type Layer,
} from '../src/index.js';
import { receptiveField, fieldBox } from '../src/analysis/receptive_field.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';

let rt: Runtime;
beforeAll(async () => { rt = await getRuntime(); });

/** ZFNet (Zeiler & Fergus 2014, Fig. 3) with 2 filters per conv: the geometry is all that matters here. */
function zfnet(): Layer[] {
  return [
    new Conv2D({ name: 'conv1', filters: 2, kernelSize: 7, stride: 2, padding: [1, 1, 1, 1] }),
    new ReLU({ name: 'relu1' }),
    new MaxPool2D({ name: 'pool1', kernel: 3, stride: 2 }),
    new LRN({ name: 'norm1', size: 5 }),
    new Conv2D({ name: 'conv2', filters: 2, kernelSize: 5, stride: 2, activation: 'relu' }),
    new MaxPool2D({ name: 'pool2', kernel: 3, stride: 2 }),
    new LRN({ name: 'norm2', size: 5 }),
    new Conv2D({ name: 'conv3', filters: 2, kernelSize: 3, padding: [1, 1, 1, 1], activation: 'relu' }),
    new Conv2D({ name: 'conv4', filters: 2, kernelSize: 3, padding: [1, 1, 1, 1], activation: 'relu' }),
    new Conv2D({ name: 'conv5', filters: 2, kernelSize: 3, padding: [1, 1, 1, 1], activation: 'relu' }),
    new MaxPool2D({ name: 'pool5', kernel: 3, stride: 2 }),
    new Flatten({ name: 'flatten' }),
    new Dense({ name: 'fc6', units: 3 }),
  ];
}

describe('receptiveField: hand-computed tables', () => {
  it('ZFNet-like chain on 224x224', () => {
    const model = createModel(rt, { inputShape: [3, 224, 224], layers: zfnet() });
    // size' = size + (k - 1) * jump ; jump' = jump * stride ; start' = start - pad * jump
    const table: Record<string, [size: number, jump: number, start: number]> = {
      conv1: [7, 2, -1], //   1 + 6*1 = 7,     1*2 = 2,    0 - 1*1 = -1       (224 -> 110)
      relu1: [7, 2, -1], //   element-wise
      pool1: [11, 4, -1], //  7 + 2*2 = 11,    2*2 = 4,   -1 - 0             (110 -> 54)
      norm1: [11, 4, -1], //  element-wise
      conv2: [27, 8, -1], //  11 + 4*4 = 27,   4*2 = 8,   -1 - 0             (54 -> 25)
      pool2: [43, 16, -1], // 27 + 2*8 = 43,   8*2 = 16,  -1                 (25 -> 12)
      norm2: [43, 16, -1],
      conv3: [75, 16, -17], // 43 + 2*16 = 75, 16*1 = 16, -1 - 1*16 = -17   (12 -> 12)
      conv4: [107, 16, -33], // 75 + 32 = 107,            -17 - 16 = -33
      conv5: [139, 16, -49], // 107 + 32 = 139,           -33 - 16 = -49
      pool5: [171, 32, -49], // 139 + 2*16 = 171, 16*2 = 32, -49            (12 -> 5)
    };
    for (const [name, [size, jump, start]] of Object.entries(table)) {
      expect(receptiveField(model, name), name).toEqual({ size: [size, size], jump: [jump, jump], start: [start, start] });
    }
    // Flat layers see the whole image.
    for (const name of ['flatten', 'fc6']) {
      expect(receptiveField(model, name), name).toEqual({ size: [224, 224], jump: [224, 224], start: [0, 0] });
      expect(fieldBox(model, name, 0, 0)).toEqual({ top: 0, left: 0, height: 224, width: 224 });
    }
    // By index too; conv5 unit (11, 0): rows -49 + 11*16 = 127 .. 265, columns -49 .. 89.
    expect(receptiveField(model, 9)).toEqual(receptiveField(model, 'conv5'));
    expect(fieldBox(model, 'conv5', 11, 0)).toEqual({ top: 127, left: -49, height: 139, width: 139 });
    // pool5 unit (4, 2): rows -49 + 4*32 = 79 .. 249 (past the 224 edge), columns -49 + 64 = 15.
    expect(fieldBox(model, 'pool5', 4, 2)).toEqual({ top: 79, left: 15, height: 171, width: 171 });
    model.destroy();
  });

  it("every windowed layer kind: Pad2D (pad and crop), 'same' strided dilated conv, ceil-mode padded avg pool, 'same' dilated max pool", () => {
    const model = createModel(rt, { inputShape: [1, 20, 18], layers: mixedNet(1) });
    expect(model.info.map((l) => l.outputShape)).toEqual([
      [1, 22, 22], [2, 22, 11], [2, 22, 11], [2, 12, 6], [2, 12, 6], [2, 5, 2], [2, 4, 1], [8], [3],
    ]);
    const expected: Array<[string, ReturnType<typeof receptiveField>]> = [
      // pad [2, 1, 0, 3]: a 1x1 window, start = 0 - 2 = -2 rows, 0 - 1 = -1 columns.
      ['pad', { size: [1, 1], jump: [1, 1], start: [-2, -1] }],
      // conv k [3, 5], stride [1, 2], dilation [2, 1], 'same' on 22x22: effective 5x5;
      // rows: out 22, total pad (22-1)*1 + 5 - 22 = 4 -> top 2; columns: out 11, (11-1)*2 + 5 - 22 = 3 -> left 1.
      // size 1 + 4*1 = 5 both; start -2 - 2*1 = -4, -1 - 1*1 = -2; jump 1, 2.
      ['conv', { size: [5, 5], jump: [1, 2], start: [-4, -2] }],
      ['relu', { size: [5, 5], jump: [1, 2], start: [-4, -2] }],
      // avg pool 2x2 stride 2, pads [1, 0, 1, 0], ceil mode: 22x11 -> 12x6.
      // size 5 + 1*1 = 6, 5 + 1*2 = 7; start -4 - 1*1 = -5, -2 - 0 = -2; jump 2, 4.
      ['avg', { size: [6, 7], jump: [2, 4], start: [-5, -2] }],
      // max pool k [2, 3], stride 1, dilation [1, 2], 'same' on 12x6: effective 2x5;
      // rows: total (12-1) + 2 - 12 = 1 -> top 0; columns: (6-1) + 5 - 6 = 4 -> left 2.
      // size 6 + 1*2 = 8, 7 + 4*4 = 23; start -5 - 0, -2 - 2*4 = -10; jump 2, 4.
      ['max', { size: [8, 23], jump: [2, 4], start: [-5, -10] }],
      // conv 3x3 stride 2 valid: size 8 + 2*2 = 12, 23 + 2*4 = 31; jump 4, 8; start unchanged.
      ['conv2', { size: [12, 31], jump: [4, 8], start: [-5, -10] }],
      // Pad2D [-1, -1, 0, 0] crops the first row and column: start -5 + 1*4 = -1, -10 + 1*8 = -2.
      ['crop', { size: [12, 31], jump: [4, 8], start: [-1, -2] }],
      ['flatten', { size: [20, 18], jump: [20, 18], start: [0, 0] }],
      ['fc', { size: [20, 18], jump: [20, 18], start: [0, 0] }],
    ];
    for (const [name, field] of expected) expect(receptiveField(model, name), name).toEqual(field);
    expect(fieldBox(model, 'crop', 3, 0)).toEqual({ top: -1 + 3 * 4, left: -2, height: 12, width: 31 });
    model.destroy();
  });

  it('rejects unknown layers and positions outside the map with OutOfRangeError', () => {
    const model = createModel(rt, { inputShape: [3, 224, 224], layers: zfnet() });
    expect(() => receptiveField(model, 'conv9')).toThrow(OutOfRangeError);
    expect(() => receptiveField(model, 13)).toThrow(OutOfRangeError);
    expect(() => fieldBox(model, 'pool5', 5, 0)).toThrow(/position \(y=5, x=0\) is outside the 5x5 output of layer "pool5"/);
    expect(() => fieldBox(model, 'fc6', 0, 1)).toThrow(OutOfRangeError);
    model.destroy();
  });
});

function mixedNet(seed: number, positive = false): Layer[] {
  const rnd = makeRandom(seed);
  const w = (n: number) => (positive ? rnd.array(n, 0.1, 1) : rnd.array(n, -1, 1));
  return [
    new Pad2D({ name: 'pad', pads: [2, 1, 0, 3] }),
    new Conv2D({ name: 'conv', filters: 2, kernelSize: [3, 5], stride: [1, 2], dilation: [2, 1], padding: 'same', kernel: w(2 * 15), bias: w(2) }),
    new ReLU({ name: 'relu' }),
    new AvgPool2D({ name: 'avg', kernel: 2, stride: 2, padding: [1, 0, 1, 0], ceilMode: true }),
    new MaxPool2D({ name: 'max', kernel: [2, 3], stride: 1, dilation: [1, 2], padding: 'same' }),
    new Conv2D({ name: 'conv2', filters: 2, kernelSize: 3, stride: 2, kernel: w(2 * 2 * 9), bias: w(2) }),
    new Pad2D({ name: 'crop', pads: [-1, -1, 0, 0] }),
    new Flatten({ name: 'flatten' }),
    new Dense({ name: 'fc', units: 3, kernel: w(3 * 8) }),
  ];
}

/** No dead zones: positive weights, no ReLU, no dilation, every pixel under some window. */
function tightNet(seed: number): Layer[] {
  const rnd = makeRandom(seed);
  const w = (n: number) => rnd.array(n, 0.1, 1);
  return [
    new Conv2D({ name: 'conv1', filters: 2, kernelSize: 5, stride: 2, padding: [1, 1, 1, 1], kernel: w(2 * 25) }),
    new MaxPool2D({ name: 'pool1', kernel: 3, stride: 2 }),
    // (Not Pad2D: a unit of the zero border it adds depends on no pixel at all.)
    new Conv2D({ name: 'conv2', filters: 2, kernelSize: 3, padding: [2, 0, 0, 1], kernel: w(2 * 2 * 9) }),
    new AvgPool2D({ name: 'avg', kernel: 2, stride: 1 }),
    new Flatten({ name: 'flatten' }),
    new Dense({ name: 'fc', units: 2, kernel: w(2 * 2 * 4 * 3) }),
  ];
}

/**
 * Image 0 is the base; image 1 + p has pixel p raised by `delta`. Returns,
 * per layer and unit (c, y, x), the pixels p whose change changed the unit
 * (bitwise: every other unit runs the very same arithmetic).
 */
async function dependencies(model: Model, delta: number, positive: boolean) {
  const [C, H, W] = model.inputShape as [number, number, number];
  const size = C * H * W;
  const base = makeRandom(7).array(size, positive ? 0 : -1, 1);
  const batch = new Float32Array((1 + H * W) * size);
  for (let b = 0; b <= H * W; b++) batch.set(base, b * size);
  for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) batch[(1 + p) * size + c * H * W + p] += delta;
  const fwd = await model.forward(batch);
  const out: Array<Array<Set<number>>> = [];
  for (let l = 0; l < model.layers.length; l++) {
    const act = await fwd.activations[l]!.read();
    const per = act.length / (1 + H * W);
    const deps = Array.from({ length: per }, () => new Set<number>());
    for (let p = 0; p < H * W; p++) for (let u = 0; u < per; u++) if (act[(1 + p) * per + u] !== act[u]) deps[u]!.add(p);
    out.push(deps);
  }
  fwd.release();
  return out;
}

function boxPixels(box: { top: number; left: number; height: number; width: number }, H: number, W: number): Set<number> {
  const s = new Set<number>();
  for (let y = Math.max(box.top, 0); y < Math.min(box.top + box.height, H); y++) {
    for (let x = Math.max(box.left, 0); x < Math.min(box.left + box.width, W); x++) s.add(y * W + x);
  }
  return s;
}

describe('receptiveField: brute force on the GPU (one perturbed pixel per image)', () => {
  it('every pixel that changes a unit lies inside its fieldBox (random signed weights, ReLU, dilation, padding, crop)', async () => {
    const model = createModel(rt, { inputShape: [1, 20, 18], layers: mixedNet(3) });
    const deps = await dependencies(model, 0.5, false);
    let units = 0, dependent = 0;
    model.info.forEach((info, l) => {
      const shape = info.outputShape;
      const [C, OH, OW] = shape.length === 3 ? shape : [shape[0]!, 1, 1];
      for (let c = 0; c < C!; c++) for (let y = 0; y < OH!; y++) for (let x = 0; x < OW!; x++) {
        const inBox = boxPixels(fieldBox(model, l, y, x), 20, 18);
        const changed = deps[l]![(c * OH! + y) * OW! + x]!;
        units++;
        if (changed.size > 0) dependent++;
        for (const p of changed) {
          if (!inBox.has(p)) throw new Error(`${info.name} unit (${c}, ${y}, ${x}) changes with pixel (${Math.floor(p / 18)}, ${p % 18}) outside ${JSON.stringify(fieldBox(model, l, y, x))}`);
        }
      }
    });
    expect(dependent, 'most units depend on some pixel (the check is not vacuous)').toBeGreaterThan(units / 2);
    model.destroy();
  });

  it('the box is tight for a net without dead zones: the changed pixels are exactly the box inside the image', async () => {
    const model = createModel(rt, { inputShape: [1, 23, 23], layers: tightNet(4) });
    const deps = await dependencies(model, 1000, true);
    const partial = { inside: 0, clipped: 0 };
    model.info.forEach((info, l) => {
      // A Flatten unit is one unit of the layer below, which sees less than the
      // whole image its box claims (by definition: flat layers have one position).
      if (info.kind === 'Flatten') return;
      const shape = info.outputShape;
      const [C, OH, OW] = shape.length === 3 ? shape : [shape[0]!, 1, 1];
      for (let c = 0; c < C!; c++) for (let y = 0; y < OH!; y++) for (let x = 0; x < OW!; x++) {
        const box = fieldBox(model, l, y, x);
        const inBox = boxPixels(box, 23, 23);
        const changed = deps[l]![(c * OH! + y) * OW! + x]!;
        expect([...changed].sort((a, b) => a - b), `${info.name} unit (${c}, ${y}, ${x}) box ${JSON.stringify(box)}`)
          .toEqual([...inBox].sort((a, b) => a - b));
        if (box.top < 0 || box.left < 0 || box.top + box.height > 23 || box.left + box.width > 23) partial.clipped++;
        else if (shape.length === 3) partial.inside++;
      }
    });
    // Both kinds of box occur: wholly inside the image, and reaching past its edges.
    expect(partial.inside).toBeGreaterThan(0);
    expect(partial.clipped).toBeGreaterThan(0);
    model.destroy();
  });
});

// GPU output (src/io/gpu_output.ts): pictures drawn into textures and canvases
// on the GPU, copied back here and compared byte by byte (within one level)
// with the CPU functions of src/render on the same numbers.
import { describe, it, expect } from 'vitest';
import {
  draw, pictureSize, imageStats, createRuntime, projectionToImage, featureMapGrid, heatMapToImage, inputToImage, imageToTensor,
  CAFFE_PREPROCESSING, DestroyedError, OutOfRangeError, ShapeError, UnsupportedError, type Runtime, type RgbaImage, type Tensor,
} from '../src/index.js';
import { getRuntime } from './helpers/gpu.js';
import { readTexture, renderTarget as target } from './helpers/texture.js';
import { makeRandom } from './helpers/random.js';

function expectBytes(actual: Uint8Array | Uint8ClampedArray, expected: RgbaImage, what: string): void {
  expect(actual.length, `${what}: size`).toBe(expected.data.length);
  let worst = 0, at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected.data[i]!);
    if (d > worst) { worst = d; at = i; }
  }
  expect(worst, `${what}: byte ${at} (pixel ${Math.floor(at / 4)}, channel ${at % 4}) is ${actual[at]}, expected ${expected.data[at]}`).toBeLessThanOrEqual(1);
}

function randomTensor(rt: Runtime, shape: number[], seed: number, lo = -1, hi = 1): { tensor: Tensor; data: Float32Array } {
  const data = makeRandom(seed).array(shape.reduce((a, b) => a * b, 1), lo, hi);
  return { tensor: rt.createTensor(shape, data), data };
}

describe('draw: pictures into textures with the normalisation computed on the GPU', () => {
  it('projections equal projectionToImage: RGB, one channel, the mean of several, per image of a batch', async () => {
    const rt = await getRuntime();
    for (const [shape, index, format] of [[[2, 3, 9, 13], 1, 'rgba8unorm'], [[1, 1, 16, 7], 0, 'bgra8unorm'], [[3, 5, 6, 6], 2, 'rgba8unorm']] as const) {
      const { tensor, data } = randomTensor(rt, [...shape], shape[3] * 7 + index, -3, 2);
      const tex = target(rt, shape[3], shape[2], format);
      const readsBefore = rt.stats.bytesRead;
      await draw(rt, tex, { kind: 'projection', tensor, index });
      expect(rt.stats.bytesRead, 'nothing read back').toBe(readsBefore);
      expectBytes(await readTexture(rt, tex), projectionToImage(data, shape, index), `projection [${shape}] #${index} ${format}`);
      tensor.release();
      tex.destroy();
    }
  });

  it('an all-zero projection is mid-grey', async () => {
    const rt = await getRuntime();
    const tensor = rt.createTensor([1, 3, 4, 4], new Float32Array(48));
    const tex = target(rt, 4, 4);
    await draw(rt, tex, { kind: 'projection', tensor });
    expectBytes(await readTexture(rt, tex), projectionToImage(new Float32Array(48), [1, 3, 4, 4]), 'zero projection');
    tensor.release();
    tex.destroy();
  });

  it('feature-map grids equal featureMapGrid (a constant map, columns, gaps, a dense layer)', async () => {
    const rt = await getRuntime();
    const cases = [
      { shape: [2, 5, 4, 3], index: 1, columns: undefined, gap: undefined },
      { shape: [1, 7, 5, 6], index: 0, columns: 4, gap: 2 },
      { shape: [1, 3, 3, 3], index: 0, columns: 3, gap: 0 },
      { shape: [2, 10], index: 1, columns: undefined, gap: undefined },
    ];
    for (const { shape, index, columns, gap } of cases) {
      const data = makeRandom(shape.length * 13 + shape[1]!).array(shape.reduce((a, b) => a * b, 1), -2, 5);
      if (shape[1] === 5) data.fill(0.25, 2 * 5 * 4 * 3 - 12); // image 1's last map is constant
      const tensor = rt.createTensor(shape, data);
      const ref = featureMapGrid(data, shape, index, { columns, gap });
      const picture = { kind: 'grid' as const, tensor, index, columns, gap };
      expect(pictureSize(picture)).toEqual({ width: ref.image.width, height: ref.image.height });
      const tex = target(rt, ref.image.width, ref.image.height);
      await draw(rt, tex, picture);
      expectBytes(await readTexture(rt, tex), ref.image, `grid [${shape}]`);
      tensor.release();
      tex.destroy();
    }
  });

  it('heat maps equal heatMapToImage (jet, grey, a fixed range, alpha, a NaN cell transparent)', async () => {
    const rt = await getRuntime();
    const data = makeRandom(5).array(2 * 7 * 9, 0, 1);
    data[7 * 9 + 10] = NaN;
    const tensor = rt.createTensor([2, 7, 9], data);
    const second = data.subarray(7 * 9);
    for (const options of [{}, { colormap: 'grey' as const }, { min: 0.2, max: 0.7, alpha: 200 }]) {
      const tex = target(rt, 9, 7);
      await draw(rt, tex, { kind: 'heat', tensor, index: 1, ...options });
      expectBytes(await readTexture(rt, tex), heatMapToImage(second, 9, 7, options), `heat ${JSON.stringify(options)}`);
      tex.destroy();
    }
    tensor.release();
  });

  it('a model input drawn back equals inputToImage and the original pixels', async () => {
    const rt = await getRuntime();
    const px = new Uint8ClampedArray(12 * 10 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
    const input = await imageToTensor(rt, new ImageData(px, 12, 10), { shape: [3, 10, 12], preprocessing: CAFFE_PREPROCESSING });
    const tex = target(rt, 12, 10);
    await draw(rt, tex, { kind: 'input', tensor: input, preprocessing: CAFFE_PREPROCESSING });
    const bytes = await readTexture(rt, tex);
    expectBytes(bytes, inputToImage(await input.read(), [3, 10, 12], CAFFE_PREPROCESSING), 'input');
    expectBytes(bytes, { width: 12, height: 10, data: px }, 'original pixels');
    input.release();
    tex.destroy();
  });

  it('draws several pictures into viewports of one target, scaled with nearest pixels, keeping or clearing the rest', async () => {
    const rt = await getRuntime();
    const { tensor, data } = randomTensor(rt, [1, 1, 3, 4], 9);
    const tex = target(rt, 16, 6);
    await draw(rt, tex, [
      { picture: { kind: 'projection', tensor }, viewport: { x: 8, y: 0, width: 8, height: 6 } },
      { picture: { kind: 'heat', tensor: tensor.reshape([3, 4]), colormap: 'grey' }, viewport: { x: 0, y: 0, width: 4, height: 3 } },
    ], { clear: { r: 0, g: 0, b: 1, a: 1 } });
    const bytes = await readTexture(rt, tex);
    const proj = projectionToImage(data, [1, 1, 3, 4]);
    const heat = heatMapToImage(data, 4, 3, { colormap: 'grey' });
    const px = (img: Uint8Array | Uint8ClampedArray, w: number, x: number, y: number) => Array.from(img.slice((y * w + x) * 4, (y * w + x) * 4 + 4));
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 16; x++) {
        const got = px(bytes, 16, x, y);
        if (x >= 8) expect(got, `(${x}, ${y})`).toEqual(px(proj.data, 4, Math.floor((x - 8) / 2), Math.floor(y / 2)));
        else if (x < 4 && y < 3) expect(got, `(${x}, ${y})`).toEqual(px(heat.data, 4, x, y));
        else expect(got, `(${x}, ${y})`).toEqual([0, 0, 255, 255]);
      }
    }
    // clear: false keeps what is drawn outside the new viewport.
    await draw(rt, tex, { picture: { kind: 'projection', tensor }, viewport: { x: 0, y: 0, width: 4, height: 3 } }, { clear: false });
    const again = await readTexture(rt, tex);
    expect(px(again, 16, 5, 5)).toEqual([0, 0, 255, 255]);
    expect(px(again, 16, 0, 0)).toEqual(px(proj.data, 4, 0, 0));
    tensor.release();
    tex.destroy();
  });

  it('GPU memory stays flat over repeated draws', async () => {
    const rt = await getRuntime();
    const { tensor } = randomTensor(rt, [1, 4, 6, 6], 2);
    const tex = target(rt, 30, 30);
    const held: number[] = [];
    for (let i = 0; i < 8; i++) {
      await draw(rt, tex, [{ picture: { kind: 'grid', tensor } }, { picture: { kind: 'projection', tensor }, viewport: { x: 0, y: 0, width: 6, height: 6 } }]);
      held.push(rt.bytesHeld);
    }
    expect(new Set(held.slice(1)).size).toBe(1);
    tensor.release();
    tex.destroy();
  });
});

describe('imageStats: the normalisation statistics, in both variants', () => {
  it('min, max and max |v| of the finite values of each row, on CPU-style and GPU-style kernels', async () => {
    const rt = await getRuntime();
    const tiled = await createRuntime({ device: rt.device, kernelStyle: 'tiled' }); // the same device, the tree variant
    const data = makeRandom(11).array(7 * 300, -4, 3);
    data[5] = NaN; data[301] = Infinity; data[900] = -Infinity;
    data.fill(NaN, 6 * 300); // the last row has no finite value
    for (const runtime of [rt, tiled]) {
      const x = runtime.createTensor([7 * 300 + 5], Float32Array.from([...data, 1, 2, 3, 4, 5]));
      const stats = await runtime.run('stats', (rec) => imageStats(rec, x, 6, 300, 300)); // rows 1..6
      const got = await stats.read();
      for (let r = 0; r < 6; r++) {
        const row = Array.from(data.subarray((r + 1) * 300, (r + 2) * 300)).filter(Number.isFinite);
        const expected = row.length ? [Math.min(...row), Math.max(...row), Math.max(...row.map(Math.abs)), 0] : [3.402823e38, -3.402823e38, 0, 0];
        expect(Array.from(got.subarray(4 * r, 4 * r + 4)).map((v) => Math.fround(v)), `${runtime.kernelStyle} row ${r + 1}`)
          .toEqual(expected.map((v) => Math.fround(v)));
      }
      stats.release();
      x.release();
    }
    const small = rt.createTensor([10]);
    await expect(rt.run('stats', (rec) => imageStats(rec, small, 3, 4))).rejects.toBeInstanceOf(OutOfRangeError);
    small.release();
    tiled.destroy();
  });
});

describe('draw: bad input is a typed error', () => {
  it('refuses targets it cannot draw into, unconfigured canvases, bad viewports, images and shapes', async () => {
    const rt = await getRuntime();
    const { tensor } = randomTensor(rt, [2, 3, 4, 4], 1);
    const r32 = rt.device.createTexture({ label: 'floats', size: [4, 4], format: 'r32float', usage: GPUTextureUsage.RENDER_ATTACHMENT });
    await expect(draw(rt, r32, { kind: 'projection', tensor })).rejects.toThrow(/texture "floats" \(r32float\)/);
    await expect(draw(rt, r32, { kind: 'projection', tensor })).rejects.toBeInstanceOf(UnsupportedError);
    const noRender = rt.device.createTexture({ label: 'sampled', size: [4, 4], format: 'rgba8unorm', usage: GPUTextureUsage.TEXTURE_BINDING });
    await expect(draw(rt, noRender, { kind: 'projection', tensor })).rejects.toThrow(/RENDER_ATTACHMENT/);
    const unconfigured = document.createElement('canvas').getContext('webgpu')!;
    await expect(draw(rt, unconfigured, { kind: 'projection', tensor })).rejects.toBeInstanceOf(UnsupportedError);
    const tex = target(rt, 4, 4);
    await expect(draw(rt, tex, { kind: 'projection', tensor, index: 2 })).rejects.toBeInstanceOf(OutOfRangeError);
    await expect(draw(rt, tex, { picture: { kind: 'projection', tensor }, viewport: { x: 2, y: 0, width: 4, height: 4 } })).rejects.toThrow(/not inside the 4x4 target/);
    await expect(draw(rt, tex, { kind: 'heat', tensor })).rejects.toBeInstanceOf(ShapeError);
    await expect(draw(rt, tex, { kind: 'heat', tensor: tensor.reshape([2, 48]), min: 0 })).rejects.toThrow(/both min and max/);
    const released = rt.createTensor([1, 1, 4, 4]);
    released.release();
    await expect(draw(rt, tex, { kind: 'projection', tensor: released })).rejects.toBeInstanceOf(DestroyedError);
    for (const t of [r32, noRender, tex]) t.destroy();
    tensor.release();
  });
});

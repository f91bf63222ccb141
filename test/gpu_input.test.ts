// GPU input (src/io/gpu_input.ts) against a float64 reference written here
// from the geometry and the preprocessing formulas: bilinear resampling at
// pixel centres with edge clamping, centre crop, letterbox, then
// (v * scale - mean) / std in the model's channel order or BT.601 luma.
import { describe, it, expect } from 'vitest';
import {
  createImageInput, imageToTensor, preprocessRgba, DestroyedError, ShapeError, UnsupportedError,
  CAFFE_PREPROCESSING, IMAGENET_PREPROCESSING, UNIT_RANGE, NotReadyError, type Preprocessing, type FitMode,
} from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';

interface Pixels { data: Uint8ClampedArray<ArrayBuffer>; width: number; height: number }

function randomPixels(width: number, height: number, seed: number): Pixels {
  const rnd = makeRandom(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : rnd.int(0, 255);
  return { data, width, height };
}

/** The float64 reference of one image [C, H, W]. */
function reference(px: Pixels, shape: [number, number, number], fit: FitMode, fill: number, p: Preprocessing): Float64Array {
  const [c, h, w] = shape;
  const sw = px.width, sh = px.height;
  let sx0 = 0, sy0 = 0, sW = sw, sH = sh, dx0 = 0, dy0 = 0, dW = w, dH = h;
  if (fit === 'crop') {
    const k = Math.max(w / sw, h / sh);
    sW = w / k; sH = h / k;
    sx0 = (sw - sW) / 2; sy0 = (sh - sH) / 2;
  } else if (fit === 'letterbox') {
    const k = Math.min(w / sw, h / sh);
    dW = Math.round(sw * k); dH = Math.round(sh * k);
    dx0 = Math.floor((w - dW) / 2); dy0 = Math.floor((h - dH) / 2);
  }
  const texel = (x: number, y: number, ch: number) => px.data[(y * sw + x) * 4 + ch]! / 255;
  const sample = (sx: number, sy: number, ch: number) => {
    const x = Math.min(Math.max(sx, 0), sw - 1), y = Math.min(Math.max(sy, 0), sh - 1);
    const x0 = Math.floor(x), y0 = Math.floor(y);
    const x1 = Math.min(x0 + 1, sw - 1), y1 = Math.min(y0 + 1, sh - 1);
    const ax = x - x0, ay = y - y0;
    const top = (1 - ax) * texel(x0, y0, ch) + ax * texel(x1, y0, ch);
    const bottom = (1 - ax) * texel(x0, y1, ch) + ax * texel(x1, y1, ch);
    return (1 - ay) * top + ay * bottom;
  };
  const mean = p.mean.length === 1 ? Array(c).fill(p.mean[0]) : p.mean;
  const std = p.std.length === 1 ? Array(c).fill(p.std[0]) : p.std;
  const out = new Float64Array(c * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const cx = x + 0.5, cy = y + 0.5;
      const inside = cx >= dx0 && cx < dx0 + dW && cy >= dy0 && cy < dy0 + dH;
      const sx = sx0 + ((cx - dx0) * sW) / dW - 0.5, sy = sy0 + ((cy - dy0) * sH) / dH - 0.5;
      const rgb = [0, 1, 2].map((ch) => (inside ? sample(sx, sy, ch) : fill));
      if (c === 1) {
        out[y * w + x] = ((0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!) * p.scale - mean[0]!) / std[0]!;
      } else {
        const ordered = p.channelOrder === 'bgr' ? [rgb[2]!, rgb[1]!, rgb[0]!] : rgb;
        for (let ch = 0; ch < 3; ch++) out[ch * h * w + y * w + x] = (ordered[ch]! * p.scale - mean[ch]!) / std[ch]!;
      }
    }
  }
  return out;
}

function toCanvas(px: Pixels): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = px.width;
  canvas.height = px.height;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(px.data), px.width, px.height), 0, 0);
  return canvas;
}

/** A texture the test fills itself, as a host app would hold one. */
function toTexture(device: GPUDevice, px: Pixels, label: string, format: GPUTextureFormat = 'rgba8unorm'): GPUTexture {
  const texture = device.createTexture({ label, size: [px.width, px.height], format, usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
  let bytes = px.data;
  if (format === 'bgra8unorm') {
    bytes = new Uint8ClampedArray(px.data);
    for (let i = 0; i < bytes.length; i += 4) { bytes[i] = px.data[i + 2]!; bytes[i + 2] = px.data[i]!; }
  }
  device.queue.writeTexture({ texture }, bytes, { bytesPerRow: px.width * 4 }, [px.width, px.height]);
  return texture;
}

async function readTensor(t: { read(): Promise<Float32Array>; release(): void }): Promise<Float32Array> {
  try { return await t.read(); } finally { t.release(); }
}

describe('imageToTensor: pictures to model input on the GPU', () => {
  it('at the input size with stretch, equals preprocessRgba on the same pixels (canvas, ImageData, texture)', async () => {
    const rt = await getRuntime();
    const px = randomPixels(20, 14, 1);
    for (const p of [UNIT_RANGE, IMAGENET_PREPROCESSING, CAFFE_PREPROCESSING]) {
      const cpu = preprocessRgba(px.data, 20, 14, 3, p);
      for (const source of [toCanvas(px), new ImageData(new Uint8ClampedArray(px.data), 20, 14), toTexture(rt.device, px, 'host picture')]) {
        const gpu = await readTensor(await imageToTensor(rt, source, { shape: [3, 14, 20], preprocessing: p }));
        expectClose(gpu, cpu, `${source.constructor.name} ${p.channelOrder} scale ${p.scale}`, { rel: 1e-6, elem: 1e-6 });
      }
    }
    const luma = preprocessRgba(px.data, 20, 14, 1, UNIT_RANGE);
    expectClose(await readTensor(await imageToTensor(rt, toCanvas(px), { shape: [1, 14, 20] })), luma, 'luma', { rel: 1e-6, elem: 1e-6 });
  });

  const cases: Array<{ name: string; src: [number, number]; shape: [number, number, number]; fit: FitMode; fill?: number; p: Preprocessing }> = [
    { name: 'upscaling, stretch', src: [13, 9], shape: [3, 24, 32], fit: 'stretch', p: UNIT_RANGE },
    { name: 'downscaling, stretch', src: [50, 37], shape: [3, 16, 12], fit: 'stretch', p: UNIT_RANGE },
    { name: 'centre crop of a wide picture', src: [40, 20], shape: [3, 16, 16], fit: 'crop', p: UNIT_RANGE },
    { name: 'centre crop of a tall picture, upscaled', src: [9, 17], shape: [3, 20, 24], fit: 'crop', p: IMAGENET_PREPROCESSING },
    { name: 'letterbox of a wide picture, grey bars', src: [40, 20], shape: [3, 24, 24], fit: 'letterbox', fill: 0.5, p: UNIT_RANGE },
    { name: 'letterbox of a tall picture, BGR mean/std', src: [11, 30], shape: [3, 16, 20], fit: 'letterbox', fill: 0.25, p: CAFFE_PREPROCESSING },
    { name: 'BGR with per-channel mean and std', src: [30, 30], shape: [3, 21, 19], fit: 'stretch', p: { scale: 1, mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2], channelOrder: 'bgr' } },
    { name: 'luma, crop, mean/std', src: [33, 21], shape: [1, 10, 10], fit: 'crop', p: { scale: 255, mean: [120], std: [60], channelOrder: 'rgb' } },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.src.join('x')} -> [${c.shape}]`, async () => {
      const rt = await getRuntime();
      const px = randomPixels(c.src[0], c.src[1], c.src[0] * 31 + c.src[1]);
      const t = await imageToTensor(rt, toCanvas(px), { shape: c.shape, fit: c.fit, fill: c.fill, preprocessing: c.p });
      expect(t.shape).toEqual([1, ...c.shape]);
      expectClose(await readTensor(t), reference(px, c.shape, c.fit, c.fill ?? 0, c.p), c.name);
    });
  }

  it('batches different sources (ImageBitmap, a host texture in bgra8unorm, a canvas) into one tensor', async () => {
    const rt = await getRuntime();
    const a = randomPixels(31, 17, 7), b = randomPixels(12, 12, 8), c = randomPixels(16, 16, 9);
    const bitmap = await createImageBitmap(new ImageData(new Uint8ClampedArray(a.data), a.width, a.height));
    const texture = toTexture(rt.device, b, 'host bgra', 'bgra8unorm');
    const shape: [number, number, number] = [3, 16, 16];
    const t = await imageToTensor(rt, [bitmap, texture, toCanvas(c)], { shape, fit: 'crop', preprocessing: IMAGENET_PREPROCESSING });
    expect(t.shape).toEqual([3, 3, 16, 16]);
    const data = await readTensor(t);
    const per = 3 * 16 * 16;
    [a, b, c].forEach((px, i) => {
      expectClose(data.subarray(i * per, (i + 1) * per), reference(px, shape, 'crop', 0, IMAGENET_PREPROCESSING), `image ${i}`);
    });
    texture.destroy();
    bitmap.close();
  });

  it('reads a VideoFrame (imported as an external texture where the adapter can, else copied)', async () => {
    const rt = await getRuntime();
    // Smooth content: a video frame may go through a colour conversion, so the bar is a few grey levels.
    const px = randomPixels(32, 24, 3);
    for (let i = 0; i < px.data.length; i += 4) {
      const x = (i / 4) % 32, y = Math.floor(i / 4 / 32);
      px.data[i] = x * 8; px.data[i + 1] = y * 10; px.data[i + 2] = 255 - x * 4;
    }
    const frame = new VideoFrame(px.data, { format: 'RGBA', codedWidth: 32, codedHeight: 24, timestamp: 0 });
    const t = await imageToTensor(rt, frame, { shape: [3, 12, 16] });
    frame.close();
    const gpu = await readTensor(t);
    const ref = reference(px, [3, 12, 16], 'stretch', 0, UNIT_RANGE);
    const worst = gpu.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]!)), 0);
    expect(worst).toBeLessThan(3 / 255);
  });

  it('an ImageInput reuses its copy textures frame after frame: GPU memory stays flat', async () => {
    const rt = await getRuntime();
    const input = createImageInput(rt, { shape: [3, 8, 8] });
    const canvas = toCanvas(randomPixels(24, 24, 5));
    const sizes: number[] = [];
    for (let frame = 0; frame < 6; frame++) {
      (await input.toTensor([canvas, canvas])).release();
      sizes.push(rt.bytesHeld + input.bytesHeld);
    }
    expect(new Set(sizes.slice(1)).size).toBe(1);
    expect(input.bytesHeld).toBe(2 * 24 * 24 * 4);
    input.destroy();
    expect(input.bytesHeld).toBe(0);
    await expect(input.toTensor(canvas)).rejects.toBeInstanceOf(DestroyedError);
  });
});

describe('imageToTensor: bad input is a typed error', () => {
  it('refuses textures of unsupported formats, usages and dimensions, naming them', async () => {
    const rt = await getRuntime();
    const make = (format: GPUTextureFormat, usage = GPUTextureUsage.TEXTURE_BINDING) =>
      rt.device.createTexture({ label: `t-${format}`, size: [4, 4], format, usage });
    for (const format of ['r32uint', 'depth24plus', 'rgba8unorm-srgb', 'r8unorm'] as GPUTextureFormat[]) {
      const t = make(format);
      await expect(imageToTensor(rt, t, { shape: [3, 4, 4] })).rejects.toThrow(new RegExp(`t-${format}.*cannot be read`));
      await expect(imageToTensor(rt, t, { shape: [3, 4, 4] })).rejects.toBeInstanceOf(UnsupportedError);
      t.destroy();
    }
    const noBinding = make('rgba8unorm', GPUTextureUsage.COPY_DST);
    await expect(imageToTensor(rt, noBinding, { shape: [3, 4, 4] })).rejects.toThrow(/TEXTURE_BINDING/);
    noBinding.destroy();
  });

  it('a destroyed texture is a DestroyedError naming it, and leaks nothing', async () => {
    const rt = await getRuntime();
    const t = toTexture(rt.device, randomPixels(4, 4, 1), 'gone');
    t.destroy();
    const canvas = toCanvas(randomPixels(4, 4, 2));
    (await imageToTensor(rt, canvas, { shape: [3, 4, 4] })).release(); // the pool now holds one output buffer
    const before = rt.bytesHeld;
    const err = await imageToTensor(rt, t, { shape: [3, 4, 4] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestroyedError);
    expect(String(err)).toMatch(/source 0 \(texture "gone"\)/);
    expect(rt.bytesHeld).toBe(before); // the failed call's output went back to the pool
    const again = await imageToTensor(rt, canvas, { shape: [3, 4, 4] });
    expect(rt.bytesHeld).toBe(before); // and the next call takes it
    again.release();
  });

  it('a video with no frame yet is a NotReadyError; zero-size sources and empty lists are ShapeErrors', async () => {
    const rt = await getRuntime();
    const video = document.createElement('video');
    await expect(imageToTensor(rt, video, { shape: [3, 4, 4] })).rejects.toBeInstanceOf(NotReadyError);
    await expect(imageToTensor(rt, video, { shape: [3, 4, 4] })).rejects.toThrow(/no frame yet/);
    const empty = document.createElement('canvas');
    empty.width = 0;
    await expect(imageToTensor(rt, empty, { shape: [3, 4, 4] })).rejects.toThrow(ShapeError);
    await expect(imageToTensor(rt, [], { shape: [3, 4, 4] })).rejects.toThrow(ShapeError);
    await expect(imageToTensor(rt, toCanvas(randomPixels(2, 2, 1)), { shape: [2, 4, 4] })).rejects.toThrow(/1 \(luma\) or 3/);
    await expect(imageToTensor(rt, toCanvas(randomPixels(2, 2, 1)), { shape: [3, 4, 4], fit: 'zoom' as FitMode })).rejects.toThrow(/fit "zoom"/);
  });
});

describe('runtime.wrapBuffer: a host GPUBuffer as a tensor', () => {
  it('reads and computes on the host buffer in place, and never destroys it', async () => {
    const rt = await getRuntime();
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const buffer = rt.device.createBuffer({ label: 'host activations', size: 64, usage });
    const values = Float32Array.from({ length: 16 }, (_, i) => i - 7.5);
    rt.device.queue.writeBuffer(buffer, 0, values);
    const t = rt.wrapBuffer(buffer, [1, 1, 4, 4]);
    expect(Array.from(await t.read())).toEqual(Array.from(values));
    const held = rt.bytesHeld;
    t.release();
    expect(rt.bytesHeld).toBe(held); // not pooled, not counted
    // Still the host's: wrapping it again reads the same values.
    expect(Array.from(await rt.wrapBuffer(buffer, [16]).read())).toEqual(Array.from(values));
    // And a pooled tensor of the same size is not this buffer.
    const pooled = rt.createTensor([1, 1, 4, 4]);
    expect(pooled.buffer).not.toBe(buffer);
    pooled.release();
    buffer.destroy();
  });

  it('checks size and usage', async () => {
    const rt = await getRuntime();
    const small = rt.device.createBuffer({ label: 'small', size: 32, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    expect(() => rt.wrapBuffer(small, [1, 3, 2, 2])).toThrow(ShapeError);
    expect(() => rt.wrapBuffer(small, [1, 3, 2, 2])).toThrow(/48 bytes; the buffer has 32/);
    expect(() => rt.wrapBuffer(small, [0, 2])).toThrow(ShapeError);
    const noStorage = rt.device.createBuffer({ label: 'uniform-ish', size: 64, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    expect(() => rt.wrapBuffer(noStorage, [16])).toThrow(UnsupportedError);
    small.destroy();
    noStorage.destroy();
  });
});

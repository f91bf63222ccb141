import { describe, it, expect } from 'vitest';
import {
  deconvolveImage, kernelPreset, kerasTransposeLength, depthwiseTransposeWeights, KERNEL_PRESETS, type ImageKernel,
} from '../src/analysis/deconvolve_image.js';
import { planesToImage } from '../src/render/planes_image.js';
import { OutOfRangeError, ShapeError } from '../src/gpu/errors.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';

type Shape3 = [number, number, number];

/**
 * Keras Conv2DTranspose (TF's conv2d_transpose) in float64, from the maths:
 * every input value scatters value * kernel onto the full output at
 * (y*stride + ky, x*stride + kx); 'same' then crops pad_before =
 * floor(max(k - stride, 0) / 2) leading positions (the SAME padding of the
 * forward convolution it is the gradient of); the output is `out` long, zero
 * where nothing lands, plus the bias everywhere. Each channel on its own.
 */
function kerasTransposeRef(x: Float32Array, [c, h, w]: Shape3, k: ImageKernel, stride: [number, number], padding: 'valid' | 'same', out: [number, number]): Float64Array {
  const [oh, ow] = out;
  const before = padding === 'same'
    ? [Math.floor(Math.max(k.height - stride[0], 0) / 2), Math.floor(Math.max(k.width - stride[1], 0) / 2)]
    : [0, 0];
  const y = new Float64Array(c * oh * ow).fill(k.bias ?? 0);
  for (let ch = 0; ch < c; ch++) {
    for (let iy = 0; iy < h; iy++) for (let ix = 0; ix < w; ix++) {
      const v = x[(ch * h + iy) * w + ix]!;
      for (let ky = 0; ky < k.height; ky++) for (let kx = 0; kx < k.width; kx++) {
        const oy = iy * stride[0] + ky - before[0]!, ox = ix * stride[1] + kx - before[1]!;
        if (oy >= 0 && oy < oh && ox >= 0 && ox < ow) y[(ch * oh + oy) * ow + ox]! += v * k.weights[ky * k.width + kx]!;
      }
    }
  }
  return y;
}

interface Case { name: string; shape: Shape3; kernel: [number, number]; stride: [number, number]; padding: 'valid' | 'same'; bias: number; out: [number, number] }

// `out` worked out by hand from Keras' deconv_output_length: valid in*s + max(k - s, 0), same in*s.
const CASES: Case[] = [
  { name: 'RGB 3x3 stride 1 same, bias', shape: [3, 5, 6], kernel: [3, 3], stride: [1, 1], padding: 'same', bias: 0.25, out: [5, 6] },
  { name: 'grey 3x3 stride 2 valid', shape: [1, 7, 5], kernel: [3, 3], stride: [2, 2], padding: 'valid', bias: 0, out: [15, 11] },
  { name: 'RGB 2x2 stride 3 valid (kernel below the stride)', shape: [3, 4, 5], kernel: [2, 2], stride: [3, 3], padding: 'valid', bias: -0.1, out: [12, 15] },
  { name: '2 channels 4x4 stride 2 same (even kernel)', shape: [2, 6, 5], kernel: [4, 4], stride: [2, 2], padding: 'same', bias: 0, out: [12, 10] },
  { name: 'RGB 5x3 stride [2,1] same', shape: [3, 4, 6], kernel: [5, 3], stride: [2, 1], padding: 'same', bias: 0.5, out: [8, 6] },
  { name: 'grey 1x1 stride 2 same', shape: [1, 3, 3], kernel: [1, 1], stride: [2, 2], padding: 'same', bias: 0, out: [6, 6] },
];

describe('deconvolveImage', () => {
  CASES.forEach((c, index) => {
    it(`matches a float64 Keras Conv2DTranspose: ${c.name}`, async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(40 + index);
      const image = { data: rnd.array(c.shape[0] * c.shape[1] * c.shape[2], 0, 1), shape: c.shape };
      const kernel = { weights: rnd.array(c.kernel[0] * c.kernel[1]), height: c.kernel[0], width: c.kernel[1], bias: c.bias };
      expect([0, 1].map((a) => kerasTransposeLength(c.shape[1 + a]!, c.kernel[a]!, c.stride[a]!, c.padding))).toEqual(c.out);
      const y = await deconvolveImage(rt, image, kernel, { stride: c.stride, padding: c.padding });
      expect(y.shape).toEqual([c.shape[0], ...c.out]);
      expectClose(y.data, kerasTransposeRef(image.data, c.shape, kernel, c.stride, c.padding, c.out), c.name);
    });
  });

  it("the identity preset at stride 1 'same' returns the image exactly, for sizes 1 to 6", async () => {
    const rt = await getRuntime();
    const image = { data: makeRandom(9).array(3 * 8 * 7, 0, 1), shape: [3, 8, 7] as Shape3 };
    for (let size = 1; size <= 6; size++) {
      const y = await deconvolveImage(rt, image, kernelPreset('identity', size), { padding: 'same' });
      expect(y.shape).toEqual([3, 8, 7]);
      expect(Array.from(y.data)).toEqual(Array.from(image.data));
    }
  });

  it('every preset, stride 2, matches the reference', async () => {
    const rt = await getRuntime();
    const shape: Shape3 = [3, 6, 5];
    const image = { data: makeRandom(10).array(90, 0, 1), shape };
    for (const name of KERNEL_PRESETS) {
      const kernel = kernelPreset(name, 5);
      for (const padding of ['valid', 'same'] as const) {
        const out: [number, number] = [kerasTransposeLength(6, 5, 2, padding), kerasTransposeLength(5, 5, 2, padding)];
        const y = await deconvolveImage(rt, image, kernel, { stride: 2, padding });
        expectClose(y.data, kerasTransposeRef(image.data, shape, kernel, [2, 2], padding, out), `${name} ${padding}`);
      }
    }
  });

  it('presets: blurs sum to 1, edge kernels to 0, 3x3 kernels embedded at the centre', () => {
    const sum = (k: ImageKernel) => Array.from(k.weights).reduce((a, b) => a + b, 0);
    expect(Array.from(kernelPreset('gaussian-blur', 3).weights)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16));
    for (const size of [1, 2, 4, 7]) {
      expect(sum(kernelPreset('box-blur', size))).toBeCloseTo(1, 6);
      expect(sum(kernelPreset('gaussian-blur', size))).toBeCloseTo(1, 6);
    }
    for (const name of ['sobel-x', 'sobel-y', 'laplacian'] as const) expect(sum(kernelPreset(name, 3))).toBe(0);
    expect(Array.from(kernelPreset('sobel-x', 4).weights)).toEqual([-1, 0, 1, 0, -2, 0, 2, 0, -1, 0, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(kernelPreset('laplacian', 5).weights)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, -4, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(depthwiseTransposeWeights({ weights: [1, 2], height: 1, width: 2 }, 3))).toEqual([1, 2, 1, 2, 1, 2]);
  });

  it('bad kernels, strides and images get typed errors', async () => {
    const rt = await getRuntime();
    const image = { data: new Float32Array(12), shape: [1, 3, 4] as Shape3 };
    expect(() => kernelPreset('sobel-x', 2)).toThrow(OutOfRangeError);
    expect(() => kernelPreset('blur' as never, 3)).toThrow(/unknown preset 'blur'/);
    await expect(deconvolveImage(rt, image, { weights: [1, 2, 3], height: 2, width: 2 })).rejects.toThrow(ShapeError);
    await expect(deconvolveImage(rt, image, { weights: [1, NaN, 0, 0], height: 2, width: 2 })).rejects.toThrow(/weight 1 is NaN/);
    await expect(deconvolveImage(rt, image, kernelPreset('identity', 3), { stride: 0 })).rejects.toThrow(OutOfRangeError);
    await expect(deconvolveImage(rt, { data: new Float32Array(11), shape: [1, 3, 4] }, kernelPreset('identity', 3))).rejects.toThrow(/11 values/);
  });
});

describe('planesToImage', () => {
  it("'clamp' maps 0..1 to bytes and clips; 'auto' turns signed when a value is negative", () => {
    const grey = planesToImage(Float32Array.from([-0.5, 0.5, 1.5, 0.2]), [1, 2, 2], 'clamp');
    expect(grey.range).toBe('clamp');
    expect(Array.from(grey.image.data)).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 51, 51, 51, 255]);
    const rgb = planesToImage(Float32Array.from([1, 0, 0.5, 0, 1, 0.5]), [3, 1, 2]); // R [1, 0], G [0.5, 0], B [1, 0.5]
    expect(rgb.range).toBe('clamp');
    expect(Array.from(rgb.image.data)).toEqual([255, 128, 255, 255, 0, 0, 128, 255]);
    const signed = planesToImage(Float32Array.from([-1, 0, 0.5, 1]), [1, 2, 2]);
    expect(signed.range).toBe('signed');
    expect(Array.from(signed.image.data.filter((_, i) => i % 4 === 0))).toEqual([0, 128, 191, 255]);
    expect(() => planesToImage(new Float32Array(5), [1, 2, 2])).toThrow(ShapeError);
  });
});

import { describe, it, expect } from 'vitest';
import { preprocessRgba, UNIT_RANGE, IMAGENET_PREPROCESSING, CAFFE_PREPROCESSING, ShapeError, OutOfRangeError } from '../src/index.js';
import { inputToImage } from '../src/render/input_image.js';
import { heatMapToImage } from '../src/render/image.js';
import { categoricalColor, labelMapToImage, labelCounts } from '../src/render/maps.js';
import { occlusionMapBox } from '../src/analysis/occlusion_grid.js';

/** Random opaque RGBA bytes. */
function randomRgba(pixels: number, seed = 7): Uint8ClampedArray {
  const out = new Uint8ClampedArray(pixels * 4);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = i % 4 === 3 ? 255 : s % 256;
  }
  return out;
}

describe('inputToImage: the inverse of preprocessRgba', () => {
  for (const [name, p] of [['unit range', UNIT_RANGE], ['ImageNet mean/std', IMAGENET_PREPROCESSING], ['Caffe BGR bytes', CAFFE_PREPROCESSING]] as const) {
    it(`gives the pixels back for ${name}`, () => {
      const rgba = randomRgba(5 * 3);
      const input = preprocessRgba(rgba, 5, 3, 3, p);
      const img = inputToImage(input, [3, 3, 5], p);
      expect([img.width, img.height]).toEqual([5, 3]);
      expect(Array.from(img.data)).toEqual(Array.from(rgba));
    });
  }

  it('shows one channel as grey', () => {
    const img = inputToImage(Float32Array.from([0, 1, 0.5]), [1, 1, 3]);
    expect(Array.from(img.data)).toEqual([0, 0, 0, 255, 255, 255, 255, 255, 128, 128, 128, 255]);
  });

  it('undoes mean and std per channel (hand-computed) and clamps out-of-range values', () => {
    // ImageNet: R 0 -> 0.485 * 255 = 123.7 -> 124; G 1 -> (0.224 + 0.456) * 255 = 173.4 -> 173; B 10 -> 255.
    const img = inputToImage(Float32Array.from([0, 1, 10]), [3, 1, 1], IMAGENET_PREPROCESSING);
    expect(Array.from(img.data)).toEqual([124, 173, 255, 255]);
    // Caffe: model channel 0 is blue: 0 + 103.939 -> 104 in the B byte; channel 2 (red) -200 -> 0.
    const bgr = inputToImage(Float32Array.from([0, 0, -200]), [3, 1, 1], CAFFE_PREPROCESSING);
    expect(Array.from(bgr.data)).toEqual([0, 117, 104, 255]);
  });

  it('rejects shapes it cannot show', () => {
    expect(() => inputToImage(new Float32Array(8), [2, 2, 2])).toThrow(ShapeError);
    expect(() => inputToImage(new Float32Array(5), [1, 2, 2])).toThrow(/5 values/);
    expect(() => inputToImage(new Float32Array(4), [4])).toThrow(ShapeError);
  });
});

describe('categorical colours and label maps', () => {
  it('uses Tableau 10 first, then golden-angle hues', () => {
    expect(categoricalColor(0)).toEqual([0x4e, 0x79, 0xa7]);
    expect(categoricalColor(9)).toEqual([0xba, 0xb0, 0xac]);
    // Hue 10 * 137.508 mod 360 = 295.08 degrees, s 0.65, l 0.5, computed by hand from the HSL formulas.
    expect(categoricalColor(10)).toEqual([197, 45, 210]);
    expect(() => categoricalColor(-1)).toThrow(OutOfRangeError);
  });

  it('colours each cell by its label', () => {
    const img = labelMapToImage(Int32Array.from([1, 0, 1, 3]), 2, 2);
    expect([img.width, img.height]).toEqual([2, 2]);
    expect(Array.from(img.data.slice(0, 8))).toEqual([0xf2, 0x8e, 0x2b, 255, 0x4e, 0x79, 0xa7, 255]);
    expect(Array.from(img.data.slice(12, 16))).toEqual([0x76, 0xb7, 0xb2, 255]);
    expect(() => labelMapToImage([1, 2, 3], 2, 2)).toThrow(ShapeError);
  });

  it('counts labels, most frequent first', () => {
    expect(labelCounts([5, 2, 5, 7, 2, 5])).toEqual([{ label: 5, count: 3 }, { label: 2, count: 2 }, { label: 7, count: 1 }]);
  });
});

describe('occlusionMapBox', () => {
  it('centres each stride x stride cell on its square (64 px, size 16, stride 8: 7 cells from 4 to 60)', () => {
    expect(occlusionMapBox({ rows: 7, cols: 7, size: 16, stride: 8 })).toEqual({ top: 4, left: 4, width: 56, height: 56 });
    // A stride larger than the square: cells reach outside the square (inset -1).
    expect(occlusionMapBox({ rows: 2, cols: 3, size: 4, stride: 6 })).toEqual({ top: -1, left: -1, width: 18, height: 12 });
  });
});

describe('heatMapToImage', () => {
  it('colours values along jet between min and max (hand-computed stops)', () => {
    const img = heatMapToImage([0, 0.125, 0.375, 0.5, 1, 2], 3, 2, { min: 0, max: 1 });
    const px = (p: number) => Array.from(img.data.slice(p * 4, p * 4 + 4));
    expect(px(0)).toEqual([0, 0, 128, 255]);     // (0, 0, 0.5)
    expect(px(1)).toEqual([0, 0, 255, 255]);     // stop 0.125
    expect(px(2)).toEqual([0, 255, 255, 255]);   // stop 0.375
    expect(px(3)).toEqual([128, 255, 128, 255]); // halfway from (0, 1, 1) to (1, 1, 0)
    expect(px(4)).toEqual([128, 0, 0, 255]);     // (0.5, 0, 0)
    expect(px(5)).toEqual([128, 0, 0, 255]);     // above max: clamped
  });

  it('takes min and max from the data, skips non-finite cells and sets alpha', () => {
    const img = heatMapToImage([10, NaN, 30, 20], 2, 2, { colormap: 'grey', alpha: 100 });
    expect(Array.from(img.data)).toEqual([0, 0, 0, 100, 0, 0, 0, 0, 255, 255, 255, 100, 128, 128, 128, 100]);
    // A constant map shows the middle colour.
    expect(Array.from(heatMapToImage([3, 3], 2, 1, { colormap: 'grey' }).data.slice(0, 3))).toEqual([128, 128, 128]);
  });

  it('rejects a size that does not match the values', () => {
    expect(() => heatMapToImage([1, 2, 3], 2, 2)).toThrow(/3 values for a 2x2 map/);
  });
});

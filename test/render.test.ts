import { describe, it, expect } from 'vitest';
import { projectionToImage, featureMapGrid } from '../src/index.js';
import { drawImage } from '../src/render/canvas.js';

describe('projectionToImage: per-image contrast normalisation centred on grey', () => {
  it('maps 0 to mid-grey and the largest magnitude to black/white, per image', () => {
    // two 1x2x2 images: the second is 10x the first, both must render the same
    const data = Float32Array.from([0, 1, -0.5, 0.25, 0, 10, -5, 2.5]);
    for (const index of [0, 1]) {
      const img = projectionToImage(data, [2, 1, 2, 2], index);
      expect([img.width, img.height]).toEqual([2, 2]);
      const grey = Array.from({ length: 4 }, (_, p) => img.data[p * 4]);
      expect(grey).toEqual([128, 255, 64, 159]);
      expect(img.data[3]).toBe(255);
    }
  });

  it('keeps RGB channels, one scale for all three', () => {
    const data = Float32Array.from([2, 0, /* G */ -2, 0, /* B */ 1, 0]); // 1x3x1x2
    const img = projectionToImage(data, [1, 3, 1, 2]);
    expect(Array.from(img.data.slice(0, 4))).toEqual([255, 0, 191, 255]);
    expect(Array.from(img.data.slice(4, 8))).toEqual([128, 128, 128, 255]);
  });

  it('an all-zero projection is uniformly grey, not NaN', () => {
    const img = projectionToImage(new Float32Array(4), [1, 1, 2, 2]);
    expect(Array.from(img.data.filter((_, i) => i % 4 === 0))).toEqual([128, 128, 128, 128]);
  });

  it('rejects an image index outside the batch', () => {
    expect(() => projectionToImage(new Float32Array(4), [1, 1, 2, 2], 1)).toThrow(/image 1/);
  });
});

describe('featureMapGrid', () => {
  it('tiles every channel, each min-max normalised, with tile positions', () => {
    // 1 image, 3 channels of 2x2
    const data = Float32Array.from([0, 1, 2, 3, /**/ -1, -1, -1, 5, /**/ 7, 7, 7, 7]);
    const { image, tiles, columns, rows } = featureMapGrid(data, [1, 3, 2, 2], 0, { gap: 1 });
    expect([columns, rows]).toEqual([2, 2]);
    expect([image.width, image.height]).toEqual([7, 7]);
    expect(tiles[2]).toEqual({ channel: 2, x: 1, y: 4, width: 2, height: 2 });
    const px = (x: number, y: number) => image.data[(y * image.width + x) * 4];
    expect([px(1, 1), px(2, 1), px(1, 2), px(2, 2)]).toEqual([0, 85, 170, 255]);
    expect([px(4, 1), px(5, 2)]).toEqual([0, 255]);
    expect(px(1, 4)).toBe(0); // constant map: no division by zero
    expect(px(0, 0)).toBe(0); // gap
  });
});

describe('drawImage (DOM)', () => {
  it('draws the picture scaled with crisp pixels', () => {
    const canvas = document.createElement('canvas');
    const img = projectionToImage(Float32Array.from([1, -1, 0, 0.5]), [1, 1, 2, 2]);
    drawImage(canvas, img, 3);
    expect([canvas.width, canvas.height]).toEqual([6, 6]);
    const ctx = canvas.getContext('2d')!;
    expect(ctx.getImageData(4, 1, 1, 1).data[0]).toBe(0);   // top-right pixel = -1 -> black
    expect(ctx.getImageData(0, 0, 1, 1).data[0]).toBe(255); // top-left = max -> white
  });
});

// Pictures of planes [C, H, W] whose values are pixel intensities (an image
// passed through a filter), as opposed to projections (see projectionToImage).
import { projectionToImage, type RgbaImage } from './image.js';
import { ShapeError } from '../gpu/errors.js';

/** 'clamp': 0..1 as black..white, clipped; 'signed': zero grey, the largest magnitude black/white; 'auto': signed when a value is negative. */
export type DisplayRange = 'clamp' | 'signed' | 'auto';

/**
 * Planes [C, H, W] as RGBA: 3 channels as RGB, 1 as grey, otherwise the
 * channel mean as grey. Returns the range used ('auto' resolved).
 */
export function planesToImage(data: Float32Array, shape: readonly number[], range: DisplayRange = 'auto'): { image: RgbaImage; range: 'clamp' | 'signed' } {
  const [c, h, w] = shape;
  if (shape.length !== 3 || c === undefined || h === undefined || w === undefined || data.length !== c * h * w) {
    throw new ShapeError(`planesToImage: ${data.length} values are not planes [C, H, W] of shape [${shape}]`);
  }
  const resolved = range === 'auto' ? (data.some((v) => v < 0) ? 'signed' : 'clamp') : range;
  if (resolved === 'signed') return { image: projectionToImage(data, shape), range: resolved };
  const plane = h * w;
  const out = new Uint8ClampedArray(plane * 4);
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  for (let p = 0; p < plane; p++) {
    let rgb: [number, number, number];
    if (c === 3) rgb = [data[p]!, data[plane + p]!, data[2 * plane + p]!];
    else {
      let s = 0;
      for (let k = 0; k < c; k++) s += data[k * plane + p]!;
      rgb = [s / c, s / c, s / c];
    }
    out.set([byte(rgb[0]), byte(rgb[1]), byte(rgb[2]), 255], p * 4);
  }
  return { image: { width: w, height: h, data: out }, range: resolved };
}

// A model input back to pixels: the inverse of preprocessRgba, so that what
// the model saw (an input patch cut by topActivations, an occluded copy) can
// be shown as the picture the user knows, whatever the model's normalisation.
import { ShapeError } from '../gpu/errors.js';
import { channelStats, UNIT_RANGE, type Preprocessing } from '../data/preprocessing.js';
import type { RgbaImage } from './image.js';

/**
 * A model input [C, H, W] (C = 1 or 3, as preprocessRgba makes them) as RGBA
 * bytes: each value times std, plus mean, times 255 / scale, rounded and
 * clamped to [0, 255]; 3 channels are put back in RGB order, 1 channel is
 * grey. preprocessRgba of the result gives the input back to within rounding.
 */
export function inputToImage(data: Float32Array, shape: readonly number[], preprocessing: Preprocessing = UNIT_RANGE): RgbaImage {
  if (shape.length !== 3) throw new ShapeError(`inputToImage: shape [${shape}] is not [C, H, W]`);
  const [channels, height, width] = shape as [number, number, number];
  if (channels !== 1 && channels !== 3) throw new ShapeError(`inputToImage: ${channels} channels; only 1 (grey) or 3 (colour) can be shown`);
  const plane = height * width;
  if (data.length !== channels * plane) {
    throw new ShapeError(`inputToImage: ${data.length} values are not [${shape}] (${channels * plane})`);
  }
  const { mean, std } = channelStats(preprocessing, channels);
  const toByte = (v: number, c: number) => ((v * std[c]! + mean[c]!) * 255) / preprocessing.scale;
  // Model channel c holds colour rgbOf[c] (BGR models hold blue first).
  const rgbOf = preprocessing.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const out = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    if (channels === 1) {
      out[p * 4] = out[p * 4 + 1] = out[p * 4 + 2] = toByte(data[p]!, 0);
    } else {
      for (let c = 0; c < 3; c++) out[p * 4 + rgbOf[c]!] = toByte(data[c * plane + p]!, c);
    }
    out[p * 4 + 3] = 255;
  }
  return { width, height, data: out };
}

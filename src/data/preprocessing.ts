// How a model wants its pixels: the normalisation it was trained with. The
// page, loadModel and the GPU input path (src/io) share this one description;
// `preprocessRgba` is its CPU form (the reference the GPU path is tested on).
import { ShapeError } from '../gpu/errors.js';

export interface Preprocessing {
  /** The value a full-intensity channel maps to before mean/std: 1 (pixels / 255) or 255 (raw bytes). */
  scale: 1 | 255;
  /** Per-channel mean subtracted after scaling, in the model's channel order (one value: all channels). */
  mean: readonly number[];
  /** Per-channel standard deviation divided by after the mean (one value: all channels). */
  std: readonly number[];
  /** Order of the colour channels the model expects. */
  channelOrder: 'rgb' | 'bgr';
}

/** Pixels / 255, nothing else: what most small models (Tiny VGG, Fashion-MNIST) expect. */
export const UNIT_RANGE: Preprocessing = Object.freeze({ scale: 1, mean: [0], std: [1], channelOrder: 'rgb' });

/** torchvision's ImageNet normalisation (pixels / 255, then ImageNet mean and std). */
export const IMAGENET_PREPROCESSING: Preprocessing = Object.freeze({
  scale: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: 'rgb',
});

/** Caffe-style: BGR bytes minus the ImageNet mean (VGG16/ZFNet as trained in Caffe). */
export const CAFFE_PREPROCESSING: Preprocessing = Object.freeze({
  scale: 255, mean: [103.939, 116.779, 123.68], std: [1], channelOrder: 'bgr',
});

/** The mean and std of each of `channels` channels (a single value is repeated); throws on a mismatch or a zero std. */
export function channelStats(p: Preprocessing, channels: number): { mean: number[]; std: number[] } {
  const expand = (values: readonly number[], what: string) => {
    if (values.length === 1) return Array.from({ length: channels }, () => values[0]!);
    if (values.length !== channels) {
      throw new ShapeError(`preprocessing: ${what} has ${values.length} values, the model's input has ${channels} channels`);
    }
    return [...values];
  };
  const mean = expand(p.mean, 'mean');
  const std = expand(p.std, 'std');
  const bad = std.findIndex((s) => !(Math.abs(s) > 0) || !Number.isFinite(s));
  if (bad >= 0) throw new ShapeError(`preprocessing: std[${bad}] is ${std[bad]}; it must be a finite non-zero number`);
  return { mean, std };
}

/**
 * RGBA bytes (`width` x `height`, row-major, as ImageData holds them) to a
 * model input [channels, height, width]: 3 channels in the model's order, or
 * 1 channel of luma (ITU-R BT.601), each scaled, minus mean, over std.
 */
export function preprocessRgba(
  rgba: Uint8ClampedArray | Uint8Array, width: number, height: number, channels: 1 | 3, p: Preprocessing = UNIT_RANGE,
): Float32Array {
  const plane = width * height;
  if (rgba.length !== plane * 4) {
    throw new ShapeError(`preprocessRgba: ${rgba.length} bytes is not ${width}x${height} RGBA (${plane * 4} bytes)`);
  }
  const { mean, std } = channelStats(p, channels);
  const k = p.scale / 255;
  const out = new Float32Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const r = rgba[i * 4]!, g = rgba[i * 4 + 1]!, b = rgba[i * 4 + 2]!;
    if (channels === 1) {
      out[i] = ((0.299 * r + 0.587 * g + 0.114 * b) * k - mean[0]!) / std[0]!;
    } else {
      const ordered = p.channelOrder === 'bgr' ? [b, g, r] : [r, g, b];
      for (let c = 0; c < 3; c++) out[c * plane + i] = (ordered[c]! * k - mean[c]!) / std[c]!;
    }
  }
  return out;
}

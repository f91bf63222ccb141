// Pictures of categorical maps (a class label per cell, as in the occlusion
// experiment's "most probable label" map) and the colours that tell classes apart.
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import type { RgbaImage } from './image.js';

/** Tableau 10: ten colours that stay distinct for most colour-blind readers. */
const TABLEAU_10: ReadonlyArray<readonly [number, number, number]> = [
  [0x4e, 0x79, 0xa7], [0xf2, 0x8e, 0x2b], [0xe1, 0x57, 0x59], [0x76, 0xb7, 0xb2], [0x59, 0xa1, 0x4f],
  [0xed, 0xc9, 0x48], [0xb0, 0x7a, 0xa1], [0xff, 0x9d, 0xa7], [0x9c, 0x75, 0x5f], [0xba, 0xb0, 0xac],
];

/** HSL (hue in degrees, saturation and lightness in [0, 1]) to RGB bytes. */
function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/**
 * The colour of class `index`: Tableau 10 for the first ten, then hues a
 * golden angle (137.508 degrees) apart, so that neighbouring indices (of a
 * 1000-class model) still differ.
 */
export function categoricalColor(index: number): [number, number, number] {
  if (!Number.isInteger(index) || index < 0) throw new OutOfRangeError(`categoricalColor: index ${index} must be an integer >= 0`);
  if (index < TABLEAU_10.length) return [...TABLEAU_10[index]!];
  return hslToRgb((index * 137.508) % 360, 0.65, 0.5);
}

/** A `width` x `height` map of class labels (row-major) as an opaque picture, one categoricalColor per label. */
export function labelMapToImage(labels: ArrayLike<number>, width: number, height: number): RgbaImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new OutOfRangeError(`labelMapToImage: size ${width}x${height} must be positive integers`);
  }
  if (labels.length !== width * height) throw new ShapeError(`labelMapToImage: ${labels.length} labels for a ${width}x${height} map`);
  const out = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < labels.length; p++) {
    const [r, g, b] = categoricalColor(labels[p]!);
    out.set([r, g, b, 255], p * 4);
  }
  return { width, height, data: out };
}

/** The labels that occur in a map with how many cells each has, most frequent first (ties: lower label first). */
export function labelCounts(labels: ArrayLike<number>): Array<{ label: number; count: number }> {
  const counts = new Map<number, number>();
  for (let p = 0; p < labels.length; p++) counts.set(labels[p]!, (counts.get(labels[p]!) ?? 0) + 1);
  return [...counts].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label - b.label);
}

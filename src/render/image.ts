// Turning tensors into pictures, without the DOM: RGBA bytes a page can put
// in an ImageData, or a test can inspect.

export interface RgbaImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, RGBA. */
  data: Uint8ClampedArray;
}

/**
 * One image of an NCHW batch the way Zeiler & Fergus show projections:
 * contrast-normalised per image and centred on grey, so zero is mid-grey and
 * the largest magnitude (over all channels) reaches black or white.
 * 1 channel: grey; 3 channels: RGB; otherwise the channels are summed.
 */
export function projectionToImage(data: Float32Array, shape: readonly number[], index = 0): RgbaImage {
  const [n, c, h, w] = shape.length === 4 ? shape : [1, ...shape];
  if (n === undefined || c === undefined || h === undefined || w === undefined || index < 0 || index >= n) {
    throw new RangeError(`projectionToImage: image ${index} of shape [${shape}]`);
  }
  const plane = h * w;
  const base = index * c * plane;
  let maxAbs = 0;
  for (let i = 0; i < c * plane; i++) maxAbs = Math.max(maxAbs, Math.abs(data[base + i]!));
  const scale = maxAbs > 0 ? 0.5 / maxAbs : 0;
  const out = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    let r: number, g: number, b: number;
    if (c === 3) {
      r = data[base + p]!; g = data[base + plane + p]!; b = data[base + 2 * plane + p]!;
    } else {
      let s = 0;
      for (let k = 0; k < c; k++) s += data[base + k * plane + p]!;
      r = g = b = c === 1 ? s : s / c;
    }
    out[p * 4] = Math.round(255 * (0.5 + r * scale));
    out[p * 4 + 1] = Math.round(255 * (0.5 + g * scale));
    out[p * 4 + 2] = Math.round(255 * (0.5 + b * scale));
    out[p * 4 + 3] = 255;
  }
  return { width: w, height: h, data: out };
}

/**
 * Every channel of one image's feature maps as a grid of tiles, each tile
 * min-max normalised on its own (so weak maps stay visible), with a
 * `gap`-pixel dark border. Returns the picture and where each tile sits.
 */
export function featureMapGrid(data: Float32Array, shape: readonly number[], index = 0, options: { columns?: number; gap?: number } = {}) {
  const [n, c, h, w] = shape.length === 4 ? shape : [shape[0]!, shape[1]!, 1, 1];
  if (index < 0 || index >= n!) throw new RangeError(`featureMapGrid: image ${index} of shape [${shape}]`);
  const gap = options.gap ?? 1;
  const columns = options.columns ?? Math.ceil(Math.sqrt(c!));
  const rows = Math.ceil(c! / columns);
  const width = columns * (w! + gap) + gap, height = rows * (h! + gap) + gap;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  const plane = h! * w!;
  const tiles: Array<{ channel: number; x: number; y: number; width: number; height: number }> = [];
  for (let ch = 0; ch < c!; ch++) {
    const base = (index * c! + ch) * plane;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < plane; i++) { const v = data[base + i]!; lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const range = hi > lo ? hi - lo : 1;
    const x0 = gap + (ch % columns) * (w! + gap), y0 = gap + Math.floor(ch / columns) * (h! + gap);
    tiles.push({ channel: ch, x: x0, y: y0, width: w!, height: h! });
    for (let y = 0; y < h!; y++) {
      for (let x = 0; x < w!; x++) {
        const v = Math.round((255 * (data[base + y * w! + x]! - lo)) / range);
        const o = ((y0 + y) * width + x0 + x) * 4;
        out[o] = out[o + 1] = out[o + 2] = v;
      }
    }
  }
  return { image: { width, height, data: out } as RgbaImage, tiles, columns, rows };
}

/** Colour stops of the heat-map colourings: [position in [0, 1], r, g, b] with channels in [0, 1]. */
export const HEAT_COLORMAPS = {
  // MATLAB's jet, as in the occlusion maps of Zeiler & Fergus (Fig. 7).
  jet: [[0, 0, 0, 0.5], [0.125, 0, 0, 1], [0.375, 0, 1, 1], [0.625, 1, 1, 0], [0.875, 1, 0, 0], [1, 0.5, 0, 0]],
  grey: [[0, 0, 0, 0], [1, 1, 1, 1]],
} as const;

export type HeatColormap = keyof typeof HEAT_COLORMAPS;

export interface HeatMapOptions {
  /** Value shown as the lowest colour (default: the smallest finite value). */
  min?: number;
  /** Value shown as the highest colour (default: the largest finite value). */
  max?: number;
  /** Default 'jet'. */
  colormap?: HeatColormap;
  /** Alpha of every finite cell, 0-255 (default 255); non-finite cells are transparent. */
  alpha?: number;
}

/**
 * A `width` x `height` map of values (row-major) as a picture: each value is
 * placed in [min, max] and coloured by linear interpolation between the
 * colormap's stops (values outside are clamped; a map whose min equals its
 * max shows the middle colour).
 */
export function heatMapToImage(values: ArrayLike<number>, width: number, height: number, options: HeatMapOptions = {}): RgbaImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`heatMapToImage: size ${width}x${height} must be positive integers`);
  }
  if (values.length !== width * height) throw new RangeError(`heatMapToImage: ${values.length} values for a ${width}x${height} map`);
  const stops = HEAT_COLORMAPS[options.colormap ?? 'jet'];
  if (!stops) throw new RangeError(`heatMapToImage: unknown colormap "${String(options.colormap)}" (${Object.keys(HEAT_COLORMAPS).join(', ')})`);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  const min = options.min ?? lo, max = options.max ?? hi;
  const alpha = options.alpha ?? 255;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < values.length; p++) {
    const v = values[p]!;
    if (!Number.isFinite(v)) continue;
    const t = max > min ? Math.min(1, Math.max(0, (v - min) / (max - min))) : 0.5;
    let s = 1;
    while (s < stops.length - 1 && stops[s]![0] < t) s++;
    const [t0, r0, g0, b0] = stops[s - 1]!, [t1, r1, g1, b1] = stops[s]!;
    const f = (t - t0) / (t1 - t0);
    out[p * 4] = Math.round(255 * (r0 + f * (r1 - r0)));
    out[p * 4 + 1] = Math.round(255 * (g0 + f * (g1 - g0)));
    out[p * 4 + 2] = Math.round(255 * (b0 + f * (b1 - b0)));
    out[p * 4 + 3] = alpha;
  }
  return { width, height, data: out };
}

// Feature maps and first-layer filters as pictures (Zeiler & Fergus Fig. 2
// style, and the per-block grids usually drawn for VGG-like nets). The
// activations are already on the GPU after a forward pass; only the one
// image asked for is copied out, every requested layer packed into one
// buffer, so a whole set of grids costs one read-back of exactly the values
// drawn.

import type { ForwardResult, Model } from '../model/model.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError } from '../gpu/errors.js';
import { featureMapGrid, type RgbaImage } from '../render/image.js';
import { Conv2D } from '../layers/conv2d.js';

export interface FeatureMaps {
  /** Layer name and kind. */
  name: string;
  kind: string;
  /** Per-image activation shape, e.g. [C, H, W] or [F]. */
  shape: number[];
  /** Every channel as a tile, each min-max normalised (see featureMapGrid); a flat layer's units are 1x1 tiles. */
  grid: ReturnType<typeof featureMapGrid>;
  /** Per channel drawn (per unit of a flat layer): its largest activation and where (the first in raster order on ties). */
  strongest: ChannelPeak[];
  /** The values drawn, [channels drawn, H, W] (or [units]) of the one image. */
  data: Float32Array;
}

export interface ChannelPeak { value: number; y: number; x: number }

const POOLING_KINDS = new Set(['MaxPool2D', 'AvgPool2D']);

/**
 * One image's activations of several layers: one copy each into a packed
 * tensor, one read. `counts[k]` (default: all) limits layer k to its first
 * values, i.e. its first channels (NCHW keeps a channel's plane contiguous).
 */
async function readImageActivations(fwd: ForwardResult, layers: number[], index: number, counts?: number[]): Promise<Float32Array[]> {
  fwd.assertLive('featureMaps');
  if (!Number.isInteger(index) || index < 0 || index >= fwd.batch) {
    throw new OutOfRangeError(`featureMaps: image ${index} is out of range, the batch has ${fwd.batch} images (0..${fwd.batch - 1})`);
  }
  const model = fwd.model;
  const full = layers.map((i) => model.info[i]!.outputShape.reduce((a, b) => a * b, 1));
  const sizes = full.map((n, k) => Math.min(n, counts?.[k] ?? n));
  const total = sizes.reduce((a, b) => a + b, 0);
  const rt = model.runtime;
  let packed: Tensor | null = null;
  try {
    packed = rt.createTensor([total], undefined, 'f32', 'feature maps');
    const dst = packed;
    await rt.run('featureMaps: copy one image', (rec) => {
      let at = 0;
      layers.forEach((li, k) => {
        rec.encoder.copyBufferToBuffer(fwd.activations[li]!.buffer, index * full[k]! * 4, dst.buffer, at * 4, sizes[k]! * 4);
        at += sizes[k]!;
      });
    });
    const data = await packed.read();
    let at = 0;
    return sizes.map((n) => data.subarray(at, (at += n)));
  } finally {
    packed?.release();
  }
}

function gridOf(fwd: ForwardResult, layer: number, data: Float32Array): FeatureMaps {
  const info = fwd.model.info[layer]!;
  const shape = [...info.outputShape];
  const plane = shape.length === 3 ? shape[1]! * shape[2]! : 1;
  const gridShape = shape.length === 3 ? [1, data.length / plane, shape[1]!, shape[2]!] : [1, data.length];
  return { name: info.name, kind: info.kind, shape, grid: featureMapGrid(data, gridShape, 0), strongest: peaks(data, plane, shape.length === 3 ? shape[2]! : 1), data };
}

/** The largest value of each `plane`-sized channel and its (y, x) in a `width`-wide map. */
function peaks(data: Float32Array, plane: number, width: number): ChannelPeak[] {
  const out: ChannelPeak[] = [];
  for (let base = 0; base < data.length; base += plane) {
    let best = 0;
    for (let i = 1; i < plane; i++) if (data[base + i]! > data[base + best]!) best = i;
    out.push({ value: data[base + best]!, y: Math.floor(best / width), x: best % width });
  }
  return out;
}

/**
 * An overview of the whole net for image `index` (CNN Explainer's view):
 * for every node, its first `channels` feature maps (a flat node: its first
 * `units` values), all in one copy pass and one read of exactly those values.
 */
export async function layerOverview(fwd: ForwardResult, options: { channels?: number; units?: number; index?: number } = {}): Promise<FeatureMaps[]> {
  fwd.assertLive('layerOverview');
  const { channels = 8, units = 4096, index = 0 } = options;
  const info = fwd.model.info;
  const layers = info.map((_, i) => i);
  const counts = info.map((n) => (n.outputShape.length === 3 ? Math.min(channels, n.outputShape[0]!) * n.outputShape[1]! * n.outputShape[2]! : units));
  const data = await readImageActivations(fwd, layers, index, counts);
  return layers.map((li, k) => gridOf(fwd, li, data[k]!));
}

/** Every channel of image `index` (default 0) of one layer's activation, as a tiled grid. */
export async function featureMaps(fwd: ForwardResult, layer: number | string, index = 0): Promise<FeatureMaps> {
  fwd.assertLive('featureMaps');
  const li = fwd.model.layerIndex(layer);
  const [data] = await readImageActivations(fwd, [li], index);
  return gridOf(fwd, li, data!);
}

/**
 * Grids for the end of every block: by default the layer just before each
 * pooling layer (MaxPool2D, AvgPool2D), i.e. the last conv (or its ReLU) of
 * each block of a VGG-style net; with `kinds`, every layer of those kinds
 * (e.g. ['MaxPool2D'] for the pooled outputs). One read-back for all.
 */
export async function featureMapsPerBlock(fwd: ForwardResult, options: { kinds?: string[]; index?: number } = {}): Promise<FeatureMaps[]> {
  fwd.assertLive('featureMapsPerBlock');
  const layers = fwd.model.layers;
  const chosen: number[] = [];
  layers.forEach((layer, i) => {
    const pick = options.kinds ? options.kinds.includes(layer.kind) : i + 1 < layers.length && POOLING_KINDS.has(layers[i + 1]!.kind);
    if (pick) chosen.push(i);
  });
  if (chosen.length === 0) return [];
  const data = await readImageActivations(fwd, chosen, options.index ?? 0);
  return chosen.map((li, k) => gridOf(fwd, li, data[k]!));
}

/**
 * The first Conv2D's filters as one picture: a square-ish grid of RGB tiles
 * when the layer has 3 input channels (grey for 1); otherwise one row per
 * filter with a grey tile per input channel. Each filter is contrast
 * normalised on its own (min to 0, max to 255 over all its weights), with a
 * 1-pixel black gap between tiles. `shape` is the kernel's [filters,
 * inChannels / groups, kH, kW].
 */
export async function firstLayerFilters(model: Model): Promise<{ layer: string; shape: number[]; image: RgbaImage }> {
  const conv = model.layers.find((l): l is Conv2D => l instanceof Conv2D);
  if (!conv) throw new OutOfRangeError(`firstLayerFilters: the model has no Conv2D layer (layers: ${model.layers.map((l) => l.name).join(', ')})`);
  const shape = [...conv.kernelShape];
  const [F, Cin, kh, kw] = shape as [number, number, number, number];
  const weights = await conv.kernel.read();
  const gap = 1;
  const colour = Cin === 3;
  const perTile = colour || Cin === 1;
  const columns = perTile ? Math.ceil(Math.sqrt(F)) : Cin;
  const rows = perTile ? Math.ceil(F / columns) : F;
  const width = columns * (kw + gap) + gap, height = rows * (kh + gap) + gap;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  const filterSize = Cin * kh * kw;
  const put = (x0: number, y0: number, y: number, x: number, rgb: [number, number, number]) => {
    const o = ((y0 + y) * width + x0 + x) * 4;
    out[o] = rgb[0]; out[o + 1] = rgb[1]; out[o + 2] = rgb[2];
  };
  for (let f = 0; f < F; f++) {
    const base = f * filterSize;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < filterSize; i++) { const v = weights[base + i]!; lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const range = hi > lo ? hi - lo : 1;
    const level = (v: number) => Math.round((255 * (v - lo)) / range);
    const plane = kh * kw;
    if (perTile) {
      const x0 = gap + (f % columns) * (kw + gap), y0 = gap + Math.floor(f / columns) * (kh + gap);
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
        const p = base + y * kw + x;
        const g = level(weights[p]!);
        put(x0, y0, y, x, colour ? [g, level(weights[p + plane]!), level(weights[p + 2 * plane]!)] : [g, g, g]);
      }
    } else {
      for (let c = 0; c < Cin; c++) {
        const x0 = gap + c * (kw + gap), y0 = gap + f * (kh + gap);
        for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
          const g = level(weights[base + c * plane + y * kw + x]!);
          put(x0, y0, y, x, [g, g, g]);
        }
      }
    }
  }
  return { layer: conv.name, shape, image: { width, height, data: out } };
}

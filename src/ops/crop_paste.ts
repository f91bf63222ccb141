import { cropPasteParams, cropPasteProgram } from '../../shaders/crop_paste.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

/**
 * What lies inside each copy's window: a patch tensor [copies, C, pH, pW], or
 * a constant square (the occluder) of `height` x `width`.
 */
export type PatchSource = { patch: Tensor } | { fill: number; height: number; width: number };

export interface CropPasteAttrs {
  /** Copies to build (the batch). */
  copies: number;
  /** Crop size; a crop of the whole map with origin (0, 0) pastes the patch into a copy of the original. */
  height: number;
  width: number;
  /** Where copy 0's patch origin (top, left) sits in the origin table; copy n's is 2n further. */
  patchAt: number;
  /** Where copy 0's crop origin (top, left) sits in the table; copy n's is 2n further. */
  cropAt: number;
  /** Value of the crop outside the map (the next layer's padding). Default 0. */
  padValue?: number;
  /** First source channel and how many to crop (default: all). */
  channelOffset?: number;
  channels?: number;
}

/** [C, H, W] of a one-image map ([1, C, H, W] or [C, H, W]). */
function mapDims(original: Tensor): [number, number, number] {
  const s = original.shape;
  if (s.length === 4 && s[0] === 1) return [s[1]!, s[2]!, s[3]!];
  if (s.length === 3) return [s[0]!, s[1]!, s[2]!];
  throw new ShapeError(`cropPaste: the original must be one map [1, C, H, W] or [C, H, W], got [${s}]`);
}

function patchDims(source: PatchSource, copies: number, channels: number): [number, number] {
  if (!('patch' in source)) {
    if (!Number.isFinite(source.fill)) throw new OutOfRangeError(`cropPaste: fill ${source.fill} is not a finite number`);
    return [source.height, source.width];
  }
  const s = source.patch.shape;
  if (s.length !== 4 || s[0] !== copies || s[1] !== channels) {
    throw new ShapeError(`cropPaste: the patch [${s}] must be [${copies} copies, ${channels} channels, height, width]`);
  }
  return [s[2]!, s[3]!];
}

/**
 * Per copy n: the crop of size height x width at its crop origin of "the
 * original map with copy n's patch pasted at its patch origin", padValue
 * outside the map. Origins are i32 (top, left) pairs in `origins` (a u32
 * tensor holding i32 bits). Returns [copies, channels, height, width].
 */
export function cropPaste(rec: Recorder, original: Tensor, origins: Tensor, source: PatchSource, attrs: CropPasteAttrs): Tensor {
  const [srcChannels, mapH, mapW] = mapDims(original);
  const { copies, height, width, patchAt, cropAt } = attrs;
  const channelOffset = attrs.channelOffset ?? 0;
  const channels = attrs.channels ?? srcChannels - channelOffset;
  const [patchH, patchW] = patchDims(source, copies, srcChannels);
  const counts = { copies, height, width, channels, patchH, patchW } as const;
  for (const [name, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < 1) throw new OutOfRangeError(`cropPaste: ${name} is ${v}, it must be an integer >= 1`);
  }
  if (!Number.isInteger(channelOffset) || channelOffset < 0 || channelOffset + channels > srcChannels) {
    throw new OutOfRangeError(`cropPaste: channels ${channelOffset}..${channelOffset + channels - 1} are not among the map's ${srcChannels}`);
  }
  const tableEnd = Math.max(patchAt, cropAt) + 2 * copies;
  if (!Number.isInteger(patchAt) || !Number.isInteger(cropAt) || Math.min(patchAt, cropAt) < 0 || tableEnd > origins.size) {
    throw new OutOfRangeError(`cropPaste: origins at ${patchAt} and ${cropAt} for ${copies} copies run past the table of ${origins.size}`);
  }
  const padValue = attrs.padValue ?? 0;
  const constant = !('patch' in source);
  const out = rec.tensor([copies, channels, height, width], 'crop');
  const count = copies * channels * height * width;
  const params = cropPasteParams.pack({
    count, channels, cropH: height, cropW: width, srcChannels, mapH, mapW, channelOffset,
    patchH, patchW, patchAt, cropAt, padValue, fill: constant ? source.fill : 0,
  });
  rec.dispatch({
    ...cropPasteProgram(constant, params, count),
    buffers: constant ? [original, origins, out] : [original, origins, out, source.patch],
  });
  return out;
}

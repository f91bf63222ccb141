import { WORKGROUP, selectSeedParams, selectSeedKernel, type SeedPosition } from '../../shaders/select_seed.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError } from '../gpu/errors.js';

export type { SeedPosition };

export interface SelectSeedAttrs {
  channel: number;
  position: SeedPosition;
  /** For position 'at': the (y, x) inside the feature map, one for all images or one per image. */
  at?: { y: number; x: number } | ReadonlyArray<{ y: number; x: number }>;
  /** Seed with 1 (a pure gradient of the chosen activations) instead of the activation value. */
  one?: boolean;
}

/**
 * A tensor shaped like `act` ([N, C, H, W] or [N, F]) that is zero except the
 * chosen activations of one channel, and u32 [N]: the flat y*W+x chosen per
 * image (for 'all', 0xffffffff).
 */
export function selectSeed(rec: Recorder, act: Tensor, attrs: SelectSeedAttrs, layerName: string): { seed: Tensor; chosen: Tensor } {
  const [batch, channels] = [act.shape[0]!, act.shape[1]!];
  const height = act.shape[2] ?? 1, width = act.shape[3] ?? 1;
  const plane = height * width;
  if (!Number.isInteger(attrs.channel) || attrs.channel < 0 || attrs.channel >= channels) {
    throw new OutOfRangeError(`${layerName}: channel ${attrs.channel} is out of range, the layer has ${channels} channels (0..${channels - 1})`);
  }
  let positions: Tensor | null = null;
  if (attrs.position === 'at') {
    const list = attrs.at === undefined ? [] : 'y' in attrs.at ? Array(batch).fill(attrs.at) : attrs.at;
    if (list.length !== batch) {
      throw new OutOfRangeError(`${layerName}: ${list.length} positions given for a batch of ${batch} images`);
    }
    const flat = new Uint32Array(batch);
    list.forEach(({ y, x }, n) => {
      if (!Number.isInteger(y) || !Number.isInteger(x) || y < 0 || y >= height || x < 0 || x >= width) {
        throw new OutOfRangeError(`${layerName}: position (y=${y}, x=${x}) is outside the ${height}x${width} feature map`);
      }
      flat[n] = y * width + x;
    });
    positions = rec.temp(rec.runtime.createTensor([batch], flat, 'u32', `${layerName} positions`));
  }
  const seed = rec.tensor(act.shape, `${layerName} seed`);
  const chosen = rec.tensor([batch], `${layerName} chosen`, 'u32');
  rec.dispatch({
    ...selectSeedKernel.program({ position: attrs.position }, selectSeedParams.pack({ batch, channels, plane, channel: attrs.channel, one: attrs.one ? 1 : 0 }), batch <= 65535 ? [batch, 1, 1] : [65535, Math.ceil(batch / 65535), 1], `select seed (${layerName})`),
    buffers: positions ? [act, seed, chosen, positions] : [act, seed, chosen],
  });
  return { seed, chosen };
}

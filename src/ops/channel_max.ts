import {
  WORKGROUP, NARROW_MAX_PLANE, channelMaxParams, channelMaxKernel, type ChannelMaxVariant,
} from '../../shaders/channel_max.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/**
 * Per image and chosen channel of `act` ([N, C, H, W], or [N, F] with every
 * unit a channel): the strongest activation and its flat position y * W + x,
 * ties to the lowest position, NaNs skipped. `channels` is a u32 tensor [M]
 * of channel indices (validated by the caller, who knows the layer). Returns
 * u32 [N, M, 2]: (bitcast value, position), position 0xffffffff when the map
 * is all NaN.
 */
export function channelMax(rec: Recorder, act: Tensor, channels: Tensor, layerName = 'activations'): Tensor {
  if (act.dtype !== 'f32' || act.shape.length < 2) {
    throw new ShapeError(`channelMax (${layerName}): activations must be f32 [N, C, ...], got ${act.dtype} [${act.shape}]`);
  }
  if (channels.dtype !== 'u32' || channels.shape.length !== 1) {
    throw new ShapeError(`channelMax (${layerName}): the channel list must be u32 [M], got ${channels.dtype} [${channels.shape}]`);
  }
  const [batch, layerChannels] = [act.shape[0]!, act.shape[1]!];
  const plane = act.size / (batch * layerChannels);
  const count = channels.size;
  const pairs = batch * count;
  const variant: ChannelMaxVariant = plane <= NARROW_MAX_PLANE ? 'narrow' : 'wide';
  const cand = rec.tensor([batch, count, 2], `${layerName} channel max`, 'u32');
  rec.dispatch({
    ...channelMaxKernel.program({ variant }, channelMaxParams.pack({ batch, channels: layerChannels, plane, count, pairs }), variant === 'wide' ? dispatch1d(pairs, 1) : dispatch1d(pairs, WORKGROUP), `channel max (${layerName})`),
    buffers: [act, channels, cand],
  });
  return cand;
}

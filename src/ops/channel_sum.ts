import { WORKGROUP, channelSumProgram, type ChannelSumVariant } from '../../shaders/channel_sum.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import type { KernelStyle } from '../gpu/runtime.js';
import { shapeSize } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

/** Elements of one channel a 'tree' workgroup sums (32 per invocation). */
export const CHANNEL_CHUNK = 32 * WORKGROUP;
/** Up to this many elements per channel, one invocation per channel is cheaper than a workgroup. */
const SERIAL_MAX = 256;
/** Dense-style [N, F] with this many features: one invocation per feature reads whole rows coalesced. */
const SERIAL_MIN_CHANNELS_FLAT = 1024;
/** 'rows' (direct style): contiguous elements one invocation sums. */
export const ROWS_PIECE = 4096;

export interface ChannelSumPlan {
  outer: number; channels: number; inner: number; count: number;
  /**
   * First pass; a 'tree' pass with chunks > 1 is followed by a 'serial' pass
   * over the [chunks, C] partials, a 'rows' pass (direct style) by one over
   * the [outer * chunks, C] partials unless that is a single row.
   */
  variant: ChannelSumVariant;
  /** 'tree': chunks per channel; 'rows': pieces per [inner] run. */
  chunks: number;
}

/** How channelSum reduces a tensor of this shape (exported for tests and cost estimates). */
export function channelSumPlan(shape: readonly number[], style: KernelStyle = 'tiled'): ChannelSumPlan {
  if (shape.length < 2) throw new ShapeError(`channelSum: input [${shape}] must have at least 2 axes [N, C, ...]`);
  const outer = shape[0]!, channels = shape[1]!, inner = shapeSize(shape.slice(2));
  const count = outer * inner;
  if (style === 'direct') {
    // No workgroup memory: contiguous runs per invocation, then a serial pass over the partials.
    const rows = count > SERIAL_MAX && inner > 1;
    return { outer, channels, inner, count, variant: rows ? 'rows' : 'serial', chunks: rows ? Math.ceil(inner / ROWS_PIECE) : 1 };
  }
  const serial = count <= SERIAL_MAX || (inner === 1 && channels >= SERIAL_MIN_CHANNELS_FLAT);
  return {
    outer, channels, inner, count,
    variant: serial ? 'serial' : 'tree',
    chunks: serial ? 1 : Math.ceil(count / CHANNEL_CHUNK),
  };
}

/**
 * The bias gradient: the sum of g over every axis except 1,
 * [N, C, H, W] -> [C], [N, F] -> [F]. One pass, or two when a channel has more
 * than CHANNEL_CHUNK elements (chunk sums first, then their sum in order).
 * Deterministic: no atomics.
 */
export function channelSum(rec: Recorder, g: Tensor): Tensor {
  if (g.dtype !== 'f32') throw new ShapeError(`channelSum: input [${g.shape}] must be f32, got ${g.dtype}`);
  const plan = channelSumPlan(g.shape, rec.runtime.kernelStyle);
  const out = rec.tensor([plan.channels], 'channelSum');
  try {
    if (plan.variant === 'rows') {
      const partialRows = plan.outer * plan.chunks;
      const target = partialRows > 1 ? rec.temp(rec.tensor([partialRows, plan.channels], 'channelSum partials')) : out;
      rec.dispatch(pass('rows', g, target, plan.outer, plan.channels, plan.inner, plan.chunks, 'channelSum (rows)'));
      if (partialRows > 1) rec.dispatch(pass('serial', target, out, partialRows, plan.channels, 1, 1, 'channelSum: sum of rows'));
    } else if (plan.variant === 'serial') {
      rec.dispatch(pass('serial', g, out, plan.outer, plan.channels, plan.inner, 1, 'channelSum'));
    } else if (plan.chunks === 1) {
      rec.dispatch(pass('tree', g, out, plan.outer, plan.channels, plan.inner, 1, 'channelSum'));
    } else {
      const partial = rec.temp(rec.tensor([plan.chunks, plan.channels], 'channelSum partials'));
      rec.dispatch(pass('tree', g, partial, plan.outer, plan.channels, plan.inner, plan.chunks, `channelSum (${plan.chunks} chunks)`));
      rec.dispatch(pass('serial', partial, out, plan.chunks, plan.channels, 1, 1, 'channelSum: sum of chunks'));
    }
  } catch (e) {
    out.release();
    throw e;
  }
  return out;
}

function pass(variant: ChannelSumVariant, x: Tensor, out: Tensor, outer: number, channels: number, inner: number, chunks: number, name: string) {
  const values = { outer, channels, inner, count: outer * inner, chunkLen: variant === 'rows' ? ROWS_PIECE : CHANNEL_CHUNK, chunks };
  return { ...channelSumProgram(variant, values, name), buffers: [x, out] };
}

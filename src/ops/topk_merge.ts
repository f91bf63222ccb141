import { topkMergeProgram } from '../../shaders/topk_merge.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

/** Empty table slots carry this image index. */
export const TOPK_NONE = 0xffffffff;

/** A table of `channels * k` empty slots (value 0, image NONE, position 0), to upload with createTensor(…, 'u32'). */
export function emptyTopkTable(entries: number): Uint32Array {
  const t = new Uint32Array(entries * 3);
  for (let i = 0; i < entries; i++) t[i * 3 + 1] = TOPK_NONE;
  return t;
}

export interface TopkMergeAttrs {
  /** Slots per channel. */
  k: number;
  /** First entry of this layer's part of `table` (default 0). */
  offset?: number;
}

/**
 * Merges `cand` (u32 [B, M, 2] from channelMax, image b of the batch being
 * dataset image first[0] + b) into `table` (u32 [entries, 3] holding, from
 * entry `offset` on, M channels * k slots of (value bits, image, position),
 * strongest first, ties to the lower image). In place; nothing is returned.
 */
export function topkMerge(rec: Recorder, cand: Tensor, first: Tensor, table: Tensor, attrs: TopkMergeAttrs): void {
  if (cand.dtype !== 'u32' || cand.shape.length !== 3 || cand.shape[2] !== 2) {
    throw new ShapeError(`topkMerge: candidates must be u32 [B, M, 2], got ${cand.dtype} [${cand.shape}]`);
  }
  if (first.dtype !== 'u32' || first.size !== 1) throw new ShapeError(`topkMerge: first must be a u32 [1], got ${first.dtype} [${first.shape}]`);
  if (table.dtype !== 'u32' || table.size % 3 !== 0) throw new ShapeError(`topkMerge: table must be u32 [entries, 3], got ${table.dtype} [${table.shape}]`);
  const [batch, count] = [cand.shape[0]!, cand.shape[1]!];
  const { k, offset = 0 } = attrs;
  if (!Number.isInteger(k) || k < 1) throw new OutOfRangeError(`topkMerge: k must be a positive integer, got ${k}`);
  if (!Number.isInteger(offset) || offset < 0 || (offset + count * k) * 3 > table.size) {
    throw new OutOfRangeError(`topkMerge: entries ${offset}..${offset + count * k - 1} (${count} channels x k=${k}) are outside a table of ${table.size / 3} entries`);
  }
  rec.dispatch({ ...topkMergeProgram({ count, k, batch, offset }), buffers: [cand, first, table] });
}

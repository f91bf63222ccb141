import { crossEntropyReduceProgram, crossEntropyRowProgram, rowWorkgroup } from '../../shaders/cross_entropy.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

/**
 * Checks labels on the CPU, where they are uploaded: the kernels cannot
 * report a bad label (they clamp it to K - 1), so call this on the array you
 * are about to put in the label tensor. Throws OutOfRangeError naming the
 * first bad entry.
 */
export function checkLabels(labels: ArrayLike<number>, classes: number, what = 'labels'): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= classes) {
      throw new OutOfRangeError(`${what}: entry ${i} is ${l}, not a class index in 0..${classes - 1}`);
    }
  }
}

function validate(op: string, logits: Tensor, labels: Tensor, stats: Tensor): { rows: number; classes: number } {
  if (logits.shape.length !== 2) throw new ShapeError(`${op}: logits [${logits.shape}] must be 2-D [N, K]`);
  if (logits.dtype !== 'f32') throw new ShapeError(`${op}: logits [${logits.shape}] must be f32, got ${logits.dtype}`);
  const [rows, classes] = logits.shape as [number, number];
  if (labels.dtype !== 'u32') throw new ShapeError(`${op}: labels [${labels.shape}] must be u32 class indices, got ${labels.dtype}`);
  if (labels.size !== rows || labels.shape.length !== 1) {
    throw new ShapeError(`${op}: labels [${labels.shape}] must be [${rows}], one per row of logits [${logits.shape}]`);
  }
  if (stats.dtype !== 'f32' || stats.size !== 2) {
    throw new ShapeError(`${op}: stats must be an f32 tensor of 2 values (loss sum, correct count), got [${stats.shape}] ${stats.dtype}`);
  }
  for (const [name, t] of [['logits', logits], ['labels', labels]] as const) {
    if (t.buffer === stats.buffer) throw new ShapeError(`${op}: stats must not share a buffer with the ${name}`);
  }
  return { rows, classes };
}

function record(rec: Recorder, op: string, logits: Tensor, labels: Tensor, stats: Tensor, gradScale: number | null): Tensor | null {
  const { rows, classes } = validate(op, logits, labels, stats);
  if (gradScale !== null && !Number.isFinite(gradScale)) throw new OutOfRangeError(`${op}: gradScale ${gradScale} must be finite`);
  const workgroup = rowWorkgroup(classes);
  const grad = gradScale !== null ? rec.tensor([rows, classes], `${op} gradient`) : null;
  try {
    const rowStats = rec.temp(rec.tensor([rows, 2], `${op} per-row loss and hit`));
    rec.dispatch({
      ...crossEntropyRowProgram({ grad: grad !== null, workgroup }, { rows, classes, gradScale: gradScale ?? 0 }, op),
      buffers: grad ? [logits, labels, rowStats, grad] : [logits, labels, rowStats],
    });
    rec.dispatch({
      // gradScale is not read here; zero keeps one cached uniform per batch size.
      ...crossEntropyReduceProgram({ rows, classes, gradScale: 0 }, `${op}: sum over rows`),
      buffers: [rowStats, stats],
    });
  } catch (e) {
    grad?.release();
    throw e;
  }
  return grad;
}

/**
 * Fused softmax + cross-entropy on logits [N, K] with u32 labels [N]. Returns
 * grad = (softmax(logits) - onehot(label)) * gradScale, [N, K] (gradScale is
 * usually 1/N, the gradient of the mean loss), and ADDS into `stats` (an f32
 * [2] tensor the caller zeroes when it wants): stats[0] += sum over rows of
 * -log softmax[label], stats[1] += rows whose argmax (ties: lowest index)
 * equals the label. Two passes (rows, then one workgroup summing the rows in a
 * fixed order: deterministic). Labels >= K are clamped to K - 1 on the GPU;
 * validate them with `checkLabels` where they are uploaded.
 */
export function softmaxCrossEntropy(rec: Recorder, logits: Tensor, labels: Tensor, stats: Tensor, gradScale: number): Tensor {
  return record(rec, 'softmaxCrossEntropy', logits, labels, stats, gradScale)!;
}

/** The same loss and correct count, without the gradient (evaluation): adds into stats. */
export function crossEntropyStats(rec: Recorder, logits: Tensor, labels: Tensor, stats: Tensor): void {
  record(rec, 'crossEntropyStats', logits, labels, stats, null);
}

import { softmaxProgram, softmaxWorkgroup, type SoftmaxDirection } from '../../shaders/softmax.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { sameShape, shapeSize } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';

export interface SoftmaxAttrs {
  /** default -1; negative counts from the end */
  axis?: number;
  log?: boolean;
}

/** The tensor as [outer, n, inner] around the softmax axis. */
function rowLayout(op: string, shape: readonly number[], axisAttr: number | undefined) {
  const rank = shape.length;
  const axis = axisAttr ?? -1;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new OutOfRangeError(`${op}: axis ${axis} is out of range for a ${rank}-D input [${shape}] (valid: ${-rank} .. ${rank - 1})`);
  }
  const a = axis < 0 ? axis + rank : axis;
  const outer = shapeSize(shape.slice(0, a));
  const n = shape[a]!;
  const inner = shapeSize(shape.slice(a + 1));
  return { rows: outer * inner, n, inner };
}

function program(direction: SoftmaxDirection, layout: ReturnType<typeof rowLayout>, log: boolean, buffers: Tensor[]) {
  const name = `${log ? 'log-softmax' : 'softmax'}${direction === 'backward' ? ' backward' : ''}`;
  return { ...softmaxProgram(direction, { log, workgroup: softmaxWorkgroup(layout.n) }, layout, name), buffers };
}

/** Numerically stable softmax (or log-softmax) along one axis. */
export function softmax(rec: Recorder, x: Tensor, attrs: SoftmaxAttrs = {}): Tensor {
  const log = !!attrs.log;
  const layout = rowLayout(log ? 'log-softmax' : 'softmax', x.shape, attrs.axis);
  const y = rec.tensor(x.shape, log ? 'log-softmax' : 'softmax');
  rec.dispatch(program('forward', layout, log, [x, y]));
  return y;
}

/**
 * Exact gradient given the forward OUTPUT y:
 * softmax: y*(g - sum(g*y)); log-softmax: g - exp(y)*sum(g).
 */
export function softmaxBackward(rec: Recorder, g: Tensor, y: Tensor, attrs: SoftmaxAttrs = {}): Tensor {
  const log = !!attrs.log;
  const op = log ? 'log-softmax backward' : 'softmax backward';
  if (!sameShape(g.shape, y.shape)) {
    throw new ShapeError(`${op}: signal [${g.shape}] and forward output [${y.shape}] differ`);
  }
  const layout = rowLayout(op, y.shape, attrs.axis);
  const dx = rec.tensor(g.shape, op);
  rec.dispatch(program('backward', layout, log, [g, y, dx]));
  return dx;
}

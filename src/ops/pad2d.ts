import { WORKGROUP, padParams, pad2dKernel, pad2dBackwardKernel, type PadMode } from '../../shaders/pad2d.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import { sameShape, type Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';
import { imageShape } from './pool_geometry.js';

export type { PadMode };

export interface Pad2dAttrs {
  /** Rows/columns added on each side of H and W; negative values crop. */
  pads: [top: number, left: number, bottom: number, right: number];
  /** constant (default), reflect (mirror without repeating the edge, needs pad < size) or edge (repeat the edge). */
  mode?: 'constant' | 'reflect' | 'edge';
  /** The constant of mode 'constant' (default 0). */
  value?: number;
}

function parse(xShape: readonly number[], a: Pad2dAttrs, opName: string) {
  const [N, C, H, W] = imageShape(xShape, opName, 'input');
  const mode = a.mode ?? 'constant';
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') {
    throw new OutOfRangeError(`${opName}: mode must be 'constant', 'reflect' or 'edge', got ${JSON.stringify(mode)}`);
  }
  const pads = a.pads;
  if (!Array.isArray(pads) || pads.length !== 4 || !pads.every(Number.isInteger)) {
    throw new OutOfRangeError(`${opName}: pads must be 4 integers [top, left, bottom, right], got ${JSON.stringify(pads)}`);
  }
  const [top, left, bottom, right] = pads;
  if (mode === 'reflect' && (top >= H || bottom >= H || left >= W || right >= W)) {
    throw new OutOfRangeError(`${opName}: reflect pads [${pads}] must be smaller than the input's ${H}x${W}`);
  }
  const OH = H + top + bottom, OW = W + left + right;
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`${opName}: pads [${pads}] crop input [${xShape}] to nothing (${OH}x${OW})`);
  }
  const value = a.value ?? 0;
  if (Number.isNaN(value)) throw new OutOfRangeError(`${opName}: value is NaN`);
  return { mode, outShape: [N, C, OH, OW], fields: { H, W, OH, OW, top, left, bottom, right, value } };
}

/** Pads (or, with negative pads, crops) the last two axes of an NCHW tensor. */
export function pad2d(rec: Recorder, x: Tensor, attrs: Pad2dAttrs): Tensor {
  imageShape(x, 'pad2d');
  const { mode, outShape, fields } = parse(x.shape, attrs, 'pad2d');
  const y = rec.tensor(outShape, 'pad2d');
  rec.dispatch({
    ...pad2dKernel.program({ mode }, padParams.pack({ total: y.size, ...fields }), dispatch1d(y.size, WORKGROUP), `pad2d (${mode})`),
    buffers: [x, y],
  });
  return y;
}

/** The exact gradient of pad2d: a crop for constant, a gather-sum of the mirrored / repeated positions for reflect / edge. */
export function pad2dBackward(rec: Recorder, g: Tensor, xShape: readonly number[], attrs: Pad2dAttrs): Tensor {
  const { mode, outShape, fields } = parse(xShape, attrs, 'pad2dBackward');
  imageShape(g, 'pad2dBackward', 'signal');
  if (!sameShape(g.shape, outShape)) {
    throw new ShapeError(`pad2dBackward: signal [${g.shape}] is not the padded shape [${outShape}] of input [${xShape}]`);
  }
  const dx = rec.tensor(xShape, 'pad2d backward');
  rec.dispatch({
    ...pad2dBackwardKernel.program({ mode }, padParams.pack({ total: dx.size, ...fields }), dispatch1d(dx.size, WORKGROUP), `pad2d backward (${mode})`),
    buffers: [g, dx],
  });
  return dx;
}

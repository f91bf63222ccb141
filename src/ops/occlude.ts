import { occludeProgram } from '../../shaders/occlude.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

/** An axis-aligned rectangle in pixels: rows top .. top+height-1, columns left .. left+width-1. */
export interface Box { top: number; left: number; height: number; width: number }

export interface OccludeGridAttrs {
  /** Side of the grey square. */
  size: number;
  /** Step between square positions, in both directions. */
  stride: number;
  /** Positions per grid row: floor((W - size) / stride) + 1. */
  cols: number;
  /** Grid position of copy 0 (positions count row-major). */
  first: number;
  /** Copies to make. */
  copies: number;
  /** Value written into the square in every channel. */
  fill: number;
}

function imageDims(op: string, images: Tensor): [number, number, number, number] {
  const s = images.shape;
  if (s.length !== 4 && s.length !== 3) throw new ShapeError(`${op}: images must be [N, C, H, W] or [C, H, W], got [${s}]`);
  return s.length === 4 ? [s[0]!, s[1]!, s[2]!, s[3]!] : [1, s[0]!, s[1]!, s[2]!];
}

function checkFill(op: string, fill: number): void {
  if (!Number.isFinite(fill)) throw new OutOfRangeError(`${op}: fill ${fill} is not a finite number`);
}

/**
 * `copies` copies of image 0 of `image` ([1, C, H, W] or [C, H, W]), copy n
 * with the `size` x `size` square at grid position `first + n` (top-left
 * (r * stride, c * stride), r = floor(pos / cols), c = pos % cols) set to
 * `fill`. Returns [copies, C, H, W].
 */
export function occludeGrid(rec: Recorder, image: Tensor, attrs: OccludeGridAttrs): Tensor {
  const op = 'occlude (grid)';
  const [, c, h, w] = imageDims(op, image);
  const { size, stride, cols, first, copies, fill } = attrs;
  for (const [name, v, min] of [['size', size, 1], ['stride', stride, 1], ['cols', cols, 1], ['first', first, 0], ['copies', copies, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new OutOfRangeError(`${op}: ${name} is ${v}, it must be an integer >= ${min}`);
  }
  checkFill(op, fill);
  if (size > h || size > w) throw new OutOfRangeError(`${op}: a ${size}x${size} square does not fit the ${h}x${w} image`);
  if ((cols - 1) * stride + size > w) throw new OutOfRangeError(`${op}: ${cols} columns of stride ${stride} and size ${size} overrun width ${w}`);
  const lastRow = Math.floor((first + copies - 1) / cols);
  if (lastRow * stride + size > h) {
    throw new OutOfRangeError(`${op}: position ${first + copies - 1} (grid row ${lastRow}) puts the square below the ${h}-pixel image`);
  }
  const out = rec.tensor([copies, c, h, w], 'occluded copies');
  const count = copies * c * h * w;
  rec.dispatch({ ...occludeProgram('grid', { count, channels: c, height: h, width: w, first, cols, stride, size, fill }), buffers: [image, out] });
  return out;
}

/**
 * One copy per entry of `boxes`: image `box.image` of `images` ([N, C, H, W])
 * with the box set to `fill` (a box of height or width 0 leaves the copy
 * unmasked). Returns [boxes.length, C, H, W].
 */
export function occludeBoxes(rec: Recorder, images: Tensor, boxes: ReadonlyArray<Box & { image: number }>, fill: number): Tensor {
  const op = 'occlude (boxes)';
  const [n, c, h, w] = imageDims(op, images);
  checkFill(op, fill);
  if (boxes.length === 0) throw new OutOfRangeError(`${op}: no boxes given`);
  const table = new Uint32Array(boxes.length * 5);
  boxes.forEach((b, k) => {
    const ok = [b.image, b.top, b.left, b.height, b.width].every((v) => Number.isInteger(v) && v >= 0);
    if (!ok || b.image >= n || b.top + b.height > h || b.left + b.width > w) {
      throw new OutOfRangeError(`${op}: box ${k} (image ${b.image}, top ${b.top}, left ${b.left}, ${b.height}x${b.width}) is not inside ${n} images of ${h}x${w}`);
    }
    table.set([b.image, b.top, b.left, b.height, b.width], k * 5);
  });
  const boxTensor = rec.temp(rec.runtime.createTensor([table.length], table, 'u32', 'occlusion boxes'));
  const out = rec.tensor([boxes.length, c, h, w], 'masked copies');
  const count = boxes.length * c * h * w;
  const values = { count, channels: c, height: h, width: w, first: 0, cols: 1, stride: 1, size: 0, fill };
  rec.dispatch({ ...occludeProgram('boxes', values), buffers: [images, out, boxTensor] });
  return out;
}

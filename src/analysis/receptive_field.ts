// Receptive fields, computed exactly from the layer chain. Every sliding
// window layer (convolution, pooling, padding) maps the field of its input
// units to the field of its output units with the usual recurrence, per axis:
//
//   size_out  = size_in + (effective kernel - 1) * jump_in   (effective = (k - 1) * dilation + 1)
//   jump_out  = jump_in * stride
//   start_out = start_in - pad_before * jump_in
//
// where `start` is the first input row/column covered by unit 0 and `jump`
// the input distance between neighbouring units. Padding with zeros (or a
// crop, negative padding) is a 1x1 window that shifts the grid. Element-wise
// layers (activations, LRN, batch norm) keep the field; once the features are
// flattened (Flatten, Dense, Softmax on a flat input) every unit sees the
// whole image.
//
// The box is the span of the window taps: it is an upper bound of the pixels
// that can change a unit (a dilated kernel skips some of them, a zero border
// added by Pad2D depends on none), and it may
// extend past the image edges where the net pads. Reflect/edge Pad2D is
// treated like zero padding: a unit whose window reaches into such a border
// also reads the mirrored/repeated pixels inside the image, which can lie
// outside its box (only near the border; zero padding has no such case).
import type { Model } from '../model/model.js';
import { Conv2D } from '../layers/conv2d.js';
import { MaxPool2D } from '../layers/maxpool2d.js';
import { AvgPool2D } from '../layers/avgpool2d.js';
import { Pad2D } from '../layers/pad2d.js';
import { pair, resolvePadding } from '../ops/conv_geometry.js';
import { poolGeometry } from '../ops/pool_geometry.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

export interface ReceptiveField {
  /** Rows and columns of input covered by one unit. */
  size: [number, number];
  /** Input distance between neighbouring units of the layer. */
  jump: [number, number];
  /** First input row/column covered by unit (0, 0); negative where the net pads. */
  start: [number, number];
}

export interface FieldBox { top: number; left: number; height: number; width: number }

/** Height and width of the model's input image ([C, H, W]; a flat input counts as 1 x F). */
function inputPlane(model: Model): [number, number] {
  const s = model.inputShape;
  if (s.length === 3) return [s[1]!, s[2]!];
  if (s.length === 2) return [s[0]!, s[1]!];
  return [1, s[0] ?? 1];
}

/**
 * The receptive field of the units of `layer` (index or name) in the model's
 * input: unit (y, x) covers input rows `start[0] + y * jump[0]` ..
 * `+ size[0] - 1` and the matching columns (possibly past the image edges).
 */
export function receptiveField(model: Model, layer: number | string): ReceptiveField {
  const top = model.layerIndex(layer);
  const [imageH, imageW] = inputPlane(model);
  const whole: ReceptiveField = { size: [imageH, imageW], jump: [imageH, imageW], start: [0, 0] };
  if (model.inputShape.length !== 3) return whole;
  const pixels: Field = { size: [1, 1], jump: [1, 1], start: [0, 0] };
  // Per node, in topological order; null once the features are flat.
  const fields: Array<Field | null> = [];
  const sourceField = (s: number): Field | null => (s === -1 ? pixels : s < 0 ? null : fields[s]!);
  for (let i = 0; i <= top; i++) {
    const l = model.layers[i]!;
    const sources = model.sources[i]!;
    const inputs = sources.map(sourceField);
    const first = sources[0]!;
    const inShape = first < 0 ? model.inputs[-1 - first]!.shape : model.info[first]!.outputShape;
    const outShape = model.info[i]!.outputShape;
    // Only the inputs that depend on the pixels have a field; a flat one makes the node flat.
    const fromPixels = inputs.filter((f, k) => f !== null || (sources[k]! >= 0 && model.info[sources[k]!]!.projectable));
    if (fromPixels.length === 0 || fromPixels.some((f) => f === null) || outShape.length !== 3) {
      fields.push(null);
      continue;
    }
    let field = union(fromPixels as Field[], l.name);
    // Per axis: effective kernel, stride, pad before.
    let window: { k: [number, number]; s: [number, number]; pad: [number, number] } | null = null;

    if (l instanceof Conv2D) {
      const [, , kH, kW] = l.kernelShape as [number, number, number, number];
      const stride = pair(l.attrs.stride, 1);
      const dilation = pair(l.attrs.dilation, 1);
      const [padTop, padLeft] = resolvePadding(l.attrs.padding, inShape[1]!, inShape[2]!, kH, kW, stride, dilation);
      window = { k: [(kH - 1) * dilation[0] + 1, (kW - 1) * dilation[1] + 1], s: stride, pad: [padTop, padLeft] };
    } else if (l instanceof MaxPool2D || l instanceof AvgPool2D) {
      const g = poolGeometry([1, ...inShape], l.attrs, l.name);
      window = { k: [(g.kH - 1) * g.dH + 1, (g.kW - 1) * g.dW + 1], s: [g.sH, g.sW], pad: [g.padTop, g.padLeft] };
    } else if (l instanceof Pad2D) {
      // Negative pads crop: the grid then starts further in.
      window = { k: [1, 1], s: [1, 1], pad: [l.attrs.pads[0], l.attrs.pads[1]] };
    } else if (inShape.length !== 3 || outShape[1] !== inShape[1] || outShape[2] !== inShape[2]) {
      if (outShape[1] === 1 && outShape[2] === 1) {
        field = { size: [imageH, imageW], jump: [imageH, imageW], start: [0, 0] }; // a global pool sees everything
      } else {
        throw new ShapeError(
          `receptiveField: layer ${i} "${l.name}" (${l.kind}) changes the plane from ${inShape[1]}x${inShape[2]} to ${outShape[1]}x${outShape[2]} and is not a known sliding-window layer`);
      }
    }
    // Anything else keeping H x W (activations, LRN, batch norm, adds, concatenations) is element-wise in the plane.
    if (window) {
      const w = window;
      field = {
        size: [field.size[0] + (w.k[0] - 1) * field.jump[0], field.size[1] + (w.k[1] - 1) * field.jump[1]],
        start: [field.start[0] - w.pad[0] * field.jump[0], field.start[1] - w.pad[1] * field.jump[1]],
        jump: [field.jump[0] * w.s[0], field.jump[1] * w.s[1]],
      };
    }
    fields.push(field);
  }
  return fields[top] ?? whole;
}

type Field = ReceptiveField;

/** Where branches join (Add, Concat), a unit sees the union of what each branch's unit sees. */
function union(fields: Field[], name: string): Field {
  const [f0] = fields;
  if (fields.length === 1) return f0!;
  if (fields.some((f) => f.jump[0] !== f0!.jump[0] || f.jump[1] !== f0!.jump[1])) {
    throw new ShapeError(`receptiveField: the inputs of "${name}" have different strides in the image (${fields.map((f) => f.jump.join('x')).join(' vs ')})`);
  }
  const start: [number, number] = [Math.min(...fields.map((f) => f.start[0])), Math.min(...fields.map((f) => f.start[1]))];
  const end = [Math.max(...fields.map((f) => f.start[0] + f.size[0])), Math.max(...fields.map((f) => f.start[1] + f.size[1]))];
  return { size: [end[0]! - start[0], end[1]! - start[1]], jump: f0!.jump, start };
}

/**
 * The input box (unclipped: it may start at negative rows/columns or end past
 * the image) covered by unit (y, x) of `layer`. Flat layers have one position, (0, 0).
 */
export function fieldBox(model: Model, layer: number | string, y: number, x: number): FieldBox {
  const index = model.layerIndex(layer);
  const out = model.info[index]!.outputShape;
  const height = out.length === 3 ? out[1]! : 1, width = out.length === 3 ? out[2]! : 1;
  if (!Number.isInteger(y) || !Number.isInteger(x) || y < 0 || y >= height || x < 0 || x >= width) {
    throw new OutOfRangeError(`fieldBox: position (y=${y}, x=${x}) is outside the ${height}x${width} output of layer "${model.layers[index]!.name}"`);
  }
  const f = receptiveField(model, index);
  return { top: f.start[0] + y * f.jump[0], left: f.start[1] + x * f.jump[1], height: f.size[0], width: f.size[1] };
}

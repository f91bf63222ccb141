// ONNX ops that move, cut, join or rescale values: Slice, Split, Resize /
// Upsample, (Log)Softmax, Flatten, Reshape, (Un)Squeeze, Transpose, the
// element-wise joins and constant ops, Concat, and pass-through Identity /
// Dropout.
import { FormatError, ShapeError, UnsupportedError } from '../../../gpu/errors.js';
import { Flatten } from '../../../layers/flatten.js';
import { Reshape } from '../../../layers/reshape.js';
import { Transpose } from '../../../layers/transpose.js';
import { Softmax } from '../../../layers/softmax.js';
import { Add } from '../../../layers/add.js';
import { Mul } from '../../../layers/mul.js';
import { Concat } from '../../../layers/concat.js';
import { ConstantOp } from '../../../layers/constant_op.js';
import { Resize2D } from '../../../layers/resize.js';
import { Slice } from '../../../layers/slice.js';
import { broadcastShapes } from '../../../ops/elementwise.js';
import { resizeTable, COORDINATE_TRANSFORMATIONS, NEAREST_ROUNDINGS, type ResizeAttrs } from '../../../ops/resize.js';
import { DeconvNetError } from '../../../gpu/errors.js';
import { Attrs } from '../onnx_tensor.js';
import { isComputed, size, GraphBuilder, input, planeOf, reshapeTarget, sliceInputs, sliceGeometryAt, type Node, type Value, type Mapping } from './graph.js';

/**
 * Slice of a computed value: a Slice node over the per-image axes. The batch
 * axis may only be taken whole.
 */
export function sliceOp(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const spec = sliceInputs(g, node, a);
  const full = g.visible(x.shape);
  const geo = sliceGeometryAt(a, full, spec);
  if (!g.whole && (geo.start[0] !== 0 || geo.step[0] !== 1 || geo.outShape[0] !== full[0])) {
    throw new UnsupportedError(`${a.where}: slices the batch axis; only per-image axes can be sliced`);
  }
  const perImage = g.whole ? geo : { start: geo.start.slice(1), step: geo.step.slice(1), outShape: geo.outShape.slice(1) };
  // The resolved geometry as a plain slice of every per-image axis.
  const layer = new Slice({
    name, axes: perImage.start.map((_, k) => k), starts: perImage.start,
    // A backward slice that reaches index 0 ends "before the start": -(size + 1) resolves to -1.
    ends: perImage.start.map((s, k) => {
      const end = s + perImage.step[k]! * perImage.outShape[k]!;
      return end < 0 ? -(x.shape[k]! + 1) : end;
    }),
    steps: perImage.step,
  });
  return g.add(layer, [x.node], perImage.outShape);
}

/**
 * Split: one Slice node per output, along one per-image axis. Sizes from the
 * `split` attribute (opset < 13) or input (13+), else equal parts
 * (`num_outputs`, opset 18: the last part takes the remainder).
 */
export function split(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const axis = g.axis(a, a.int('axis', 0), x.shape);
  const outputs = node.output ?? [];
  const dim = x.shape[axis]!;
  let sizes = g.opset < 13 ? a.optionalInts('split') : input(node, 1) ? g.ints(input(node, 1), a.where) : undefined;
  const numOutputs = g.opset >= 18 && a.has('num_outputs') ? a.int('num_outputs') : undefined;
  if (!sizes) {
    const n = outputs.length;
    const part = numOutputs ? Math.ceil(dim / n) : dim / n;
    if (!Number.isInteger(part)) throw new ShapeError(`${a.where}: axis ${axis + 1} of size ${dim} does not split into ${n} equal parts`);
    sizes = outputs.map((_, k) => Math.min(part, dim - k * part));
  }
  if (sizes.length !== outputs.length || sizes.some((s) => !Number.isInteger(s) || s < 1) || sizes.reduce((p, q) => p + q, 0) !== dim) {
    throw new ShapeError(`${a.where}: split sizes [${sizes}] for ${outputs.length} outputs do not add up to axis ${axis + 1} of size ${dim}`);
  }
  let offset = 0;
  const values = sizes.map((s, k) => {
    const shape = x.shape.map((d, i) => (i === axis ? s : d));
    const layer = new Slice({ name: k === 0 ? name : g.uniqueName(`${name}/${k}`), axes: [axis], starts: [offset], ends: [offset + s] });
    offset += s;
    return g.add(layer, [x.node], shape);
  });
  values.slice(1).forEach((v, k) => { if (outputs[k + 1]) g.values.set(outputs[k + 1]!, v); });
  return values[0]!;
}

/**
 * Resize (opset 10+) and Upsample: a Resize2D node over H and W; the batch
 * and channel scales must be 1. Upsample and Resize-10 map coordinates
 * asymmetrically and round nearest down (their definition); Resize 11+
 * reads coordinate_transformation_mode and nearest_mode.
 */
export function resize(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const [c, h, w] = planeOf(a, x.shape);
  const legacy = node.opType === 'Upsample' || g.opset < 11;
  const mode = a.string('mode', 'nearest');
  if (mode === 'cubic') throw new UnsupportedError(`${a.where}: mode "cubic" is not supported (nearest, linear)`);
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'bilinear') throw new FormatError(`${a.where}: mode "${mode}" is not nearest, linear or cubic`);
  const attrs: Omit<ResizeAttrs, 'scales' | 'size'> = { mode: mode === 'nearest' ? 'nearest' : 'linear' };
  let scales: number[] | undefined, sizes: number[] | undefined;
  if (legacy) {
    attrs.coordinateTransformation = 'asymmetric';
    attrs.nearestRounding = 'floor';
    scales = node.opType === 'Upsample' && g.opset < 9 ? a.floats('scales') : Array.from(g.floats(input(node, 1), a.where));
  } else {
    const ct = a.string('coordinate_transformation_mode', 'half_pixel');
    const nr = a.string('nearest_mode', 'round_prefer_floor');
    if (!(COORDINATE_TRANSFORMATIONS as readonly string[]).includes(ct)) throw new UnsupportedError(`${a.where}: coordinate_transformation_mode "${ct}" is not supported (${COORDINATE_TRANSFORMATIONS.join(', ')})`);
    if (!(NEAREST_ROUNDINGS as readonly string[]).includes(nr)) throw new FormatError(`${a.where}: nearest_mode "${nr}" is not one of ${NEAREST_ROUNDINGS.join(', ')}`);
    attrs.coordinateTransformation = ct as ResizeAttrs['coordinateTransformation'];
    attrs.nearestRounding = nr as ResizeAttrs['nearestRounding'];
    a.float('cubic_coeff_a', -0.75); // cubic only
    a.int('exclude_outside', 0); // cubic only
    a.float('extrapolation_value', 0); // tf_crop_and_resize only
    if (a.int('antialias', 0) !== 0) throw new UnsupportedError(`${a.where}: antialias=1 is not supported`);
    const policy = a.string('keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') throw new UnsupportedError(`${a.where}: keep_aspect_ratio_policy "${policy}" is not supported (stretch)`);
    const axes = a.optionalInts('axes');
    const scaleInput = input(node, 2) ? Array.from(g.floats(input(node, 2), a.where)) : [];
    const sizeInput = input(node, 3) ? g.ints(input(node, 3), a.where) : [];
    if (scaleInput.length > 0) scales = scaleInput;
    else if (sizeInput.length > 0) sizes = sizeInput;
    else throw new FormatError(`${a.where}: has neither scales nor sizes`);
    // With axes (opset 18), the values cover only those axes: spread them over all four.
    if (axes) {
      const norm = axes.map((ax) => (ax < 0 ? ax + 4 : ax));
      const spread = (v: number[], dflt: number[]) => dflt.map((d, i) => (norm.includes(i) ? v[norm.indexOf(i)]! : d));
      if (scales) scales = spread(scales, [1, 1, 1, 1]);
      if (sizes) sizes = spread(sizes, [g.batch, c, h, w]);
    }
  }
  const values = scales ?? sizes!;
  if (values.length !== 4) throw new FormatError(`${a.where}: ${scales ? 'scales' : 'sizes'} [${values}] must have 4 values for an NCHW input`);
  const keepsBatchAndChannels = scales ? scales[0] === 1 && scales[1] === 1 : (g.whole || sizes![0] === g.batch) && sizes![1] === c;
  if (!keepsBatchAndChannels) throw new UnsupportedError(`${a.where}: ${scales ? 'scales' : 'sizes'} [${values}] resize the batch or channel axis; only H and W can be resized`);
  const layerAttrs: ResizeAttrs = scales ? { ...attrs, scales: [scales[2]!, scales[3]!] } : { ...attrs, size: [sizes![2]!, sizes![3]!] };
  let table;
  try {
    table = resizeTable(h, w, layerAttrs, 'resize');
  } catch (e) {
    if (e instanceof DeconvNetError) throw new (e.constructor as typeof ShapeError)(`${a.where}: ${e.message}`);
    throw e;
  }
  return g.add(new Resize2D({ name, ...layerAttrs }), [x.node], [c, table.outH, table.outW]);
}

/**
 * Before opset 13, (Log)Softmax normalises the rows of the input coerced to
 * 2-D at `axis` (default 1): a reshape, a softmax over the last axis, and
 * back. From 13 it works along one axis (default -1).
 */
export function softmaxOf(log: boolean): Mapping {
  return (g, node, a, name) => {
    const x = g.computed(input(node, 0), a.where);
    if (g.opset >= 13) {
      const axis = g.axis(a, a.int('axis', -1), x.shape);
      return g.add(new Softmax({ name, log, axis: axis + 1 }), [x.node], x.shape);
    }
    const axis = g.axis(a, a.int('axis', 1), x.shape);
    const rows = size(x.shape.slice(0, axis)), cols = size(x.shape.slice(axis));
    if (x.shape.length === 1 || (rows === 1 && x.shape.length === 1)) return g.add(new Softmax({ name, log }), [x.node], x.shape);
    const flatShape = rows === 1 ? [cols] : [rows, cols];
    const flat = g.add(new Reshape({ name: g.uniqueName(`${name}/2d`), shape: flatShape }), [x.node], flatShape);
    const y = g.add(new Softmax({ name: g.uniqueName(`${name}/softmax`), log }), [flat.node], flatShape);
    return g.add(new Reshape({ name, shape: x.shape }), [y.node], x.shape);
  };
}

export function flatten(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const dims = g.visible(x.shape);
  const axis = a.int('axis', 1);
  const at = axis < 0 ? axis + dims.length : axis;
  if (at < 0 || at > dims.length) throw new FormatError(`${a.where}: axis ${axis} is out of range for a rank-${dims.length} tensor`);
  const shape = g.hidden(a, [size(dims.slice(0, at)), size(dims.slice(at))], 'flatten to');
  if (!g.whole && at === 1) return g.add(new Flatten({ name }), [x.node], shape);
  return g.add(new Reshape({ name, shape }), [x.node], shape);
}

export function reshape(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const allowZero = a.int('allowzero', 0) === 1;
  const target = g.opset < 5 ? a.ints('shape') : g.ints(input(node, 1), a.where);
  const shape = reshapeTarget(g, a, target, x.shape, allowZero);
  return g.add(new Reshape({ name, shape }), [x.node], shape);
}

export function squeeze(unsqueeze: boolean): Mapping {
  return (g, node, a, name) => {
    const x = g.computed(input(node, 0), a.where);
    const axes = g.opset >= 13 && input(node, 1) ? g.ints(input(node, 1), a.where) : a.ints('axes', unsqueeze ? undefined : []);
    const full = g.visible(x.shape);
    let dims: number[];
    if (unsqueeze) {
      const rank = full.length + axes.length;
      dims = [...full];
      for (const ax of axes.map((d) => (d < 0 ? d + rank : d)).sort((p, q) => p - q)) {
        if (ax < 0 || ax > dims.length) throw new FormatError(`${a.where}: axis ${ax} is out of range`);
        dims.splice(ax, 0, 1);
      }
    } else {
      const norm = axes.map((d) => (d < 0 ? d + full.length : d));
      if (norm.some((ax) => full[ax] !== 1)) throw new ShapeError(`${a.where}: axes [${axes}] of [${full}] are not all 1`);
      dims = axes.length ? full.filter((_, i) => !norm.includes(i)) : g.whole ? full.filter((d) => d !== 1) : [full[0]!, ...x.shape.filter((d) => d !== 1)];
    }
    const shape = g.hidden(a, dims, unsqueeze ? 'unsqueeze to' : 'squeeze to');
    return g.add(new Reshape({ name, shape: shape.length ? shape : [1] }), [x.node], shape.length ? shape : [1]);
  };
}

export function transpose(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const rank = g.visible(x.shape).length;
  const perm = a.ints('perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw new FormatError(`${a.where}: perm [${perm}] is not a permutation of ${rank} axes`);
  }
  if (g.whole) return g.add(new Transpose({ name, perm }), [x.node], perm.map((p) => x.shape[p]!));
  if (perm[0] !== 0) throw new UnsupportedError(`${a.where}: perm [${perm}] moves the batch axis; not supported`);
  return g.add(new Transpose({ name, perm: perm.slice(1).map((p) => p - 1) }), [x.node], perm.slice(1).map((p) => x.shape[p - 1]!));
}

/** Add / Sub / Mul / Div / Sum: a join of computed values, or an op with a constant. */
export function binary(op: 'add' | 'sub' | 'mul' | 'div' | 'sum'): Mapping {
  return (g, node, a, name) => {
    a.ignore('broadcast', 'axis', 'consumed_inputs'); // opset < 7 flags for what numpy broadcasting does
    const names = (node.input ?? []).filter((n) => n !== '');
    if (op !== 'sum' && names.length !== 2) throw new FormatError(`${a.where}: takes 2 inputs, has ${names.length}`);
    const values = names.map((n) => g.value(n, a.where));
    const computed = values.filter(isComputed);
    const constants = names.filter((_, i) => !isComputed(values[i]!));
    if (computed.length === 0) throw new Error('folded earlier');
    if (constants.length === 0) {
      const shape = computed.map((v) => v.shape).reduce((p, q) => broadcastShapes(p, q, a.where));
      if (op === 'add' || op === 'sum') return g.add(new Add({ name }), computed.map((v) => v.node), shape);
      if (op === 'mul' && computed.length === 2) return g.add(new Mul({ name }), computed.map((v) => v.node), shape);
      throw new UnsupportedError(`${a.where}: ${op} of two computed values is not supported (Add, Sum and Mul are)`);
    }
    if (computed.length !== 1 || constants.length !== 1) throw new UnsupportedError(`${a.where}: mixes several constants and computed values`);
    const c = g.weights(constants[0]!, a.where);
    const x = computed[0]!;
    const constantFirst = !isComputed(values[0]!);
    const layerOp = op === 'sum' ? 'add' : op;
    return g.add(new ConstantOp({
      name, op: layerOp, constantFirst, constant: c.data,
      shape: c.dims.length ? c.dims : [1],
    }), [x.node], broadcastShapes([1, ...x.shape], c.dims, a.where).slice(1));
  };
}

export function concat(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const names = (node.input ?? []).filter((n) => n !== '');
  const values = names.map((n) => g.computed(n, a.where));
  if (values.length === 0) throw new FormatError(`${a.where}: has no inputs`);
  const rank = values[0]!.shape.length;
  const axis = g.axis(a, a.int('axis', 1), values[0]!.shape);
  const shape = [...values[0]!.shape];
  for (const v of values.slice(1)) {
    if (v.shape.length !== rank || v.shape.some((d, i) => i !== axis && d !== shape[i])) {
      throw new ShapeError(`${a.where}: inputs [N, ${values[0]!.shape}] and [N, ${v.shape}] do not concatenate on axis ${axis + 1}`);
    }
    shape[axis]! += v.shape[axis]!;
  }
  return g.add(new Concat({ name, axis }), values.map((v) => v.node), shape);
}

/** Identity and inference-mode Dropout forward their input unchanged: no node at all. */
export function passThrough(g: GraphBuilder, node: Node, a: Attrs): Value {
  a.ignore('ratio', 'is_test', 'seed', 'training_mode');
  const mask = node.output?.[1];
  if (mask) g.unreadable.set(mask, `the mask output of Dropout "${a.where}"`);
  return g.value(input(node, 0), a.where);
}

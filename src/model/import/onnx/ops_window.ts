// ONNX op mappings of the windowed and per-channel ops: Conv, ConvTranspose,
// MaxPool, AveragePool, global pools, BatchNormalization, LRN, Pad.
import { FormatError, UnsupportedError } from '../../../gpu/errors.js';
import { Conv2D } from '../../../layers/conv2d.js';
import { Conv2DTranspose } from '../../../layers/conv2d_transpose.js';
import { MaxPool2D } from '../../../layers/maxpool2d.js';
import { AvgPool2D } from '../../../layers/avgpool2d.js';
import { GlobalAvgPool2D } from '../../../layers/global_avgpool2d.js';
import { GlobalMaxPool2D } from '../../../layers/global_maxpool2d.js';
import { LRN } from '../../../layers/lrn.js';
import { BatchNorm } from '../../../layers/batchnorm.js';
import { Pad2D } from '../../../layers/pad2d.js';
import { conv2dOutputShape } from '../../../ops/conv2d.js';
import { conv2dTransposeOutputShape } from '../../../ops/conv2d_transpose.js';
import { poolGeometry } from '../../../ops/pool_geometry.js';
import { Attrs } from '../onnx_tensor.js';
import { GraphBuilder, input, two, windowPadding, planeOf, type Node, type Pads, type Value, type Mapping } from './graph.js';

/** Conv and ConvTranspose take the kernel size from the weight; a `kernel_shape` that says otherwise is a corrupt file. */
function checkKernelShape(a: Attrs, weightDims: readonly number[]): void {
  const kernelShape = a.optionalInts('kernel_shape');
  if (kernelShape && (kernelShape.length !== 2 || kernelShape[0] !== weightDims[2] || kernelShape[1] !== weightDims[3])) {
    throw new FormatError(`${a.where}: kernel_shape [${kernelShape}] disagrees with weight [${weightDims}]`);
  }
}

export function conv(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  const w = g.weights(input(node, 1), a.where);
  if (w.dims.length !== 4) throw new UnsupportedError(`${a.where}: weight [${w.dims}] is not 4-D (2-D convolutions only)`);
  checkKernelShape(a, w.dims);
  const bias = input(node, 2) ? g.weights(input(node, 2), a.where).data : undefined;
  const layer: Conv2D = new Conv2D({
    name, filters: w.dims[0]!, kernelSize: [w.dims[2]!, w.dims[3]!],
    stride: two(a, 'strides', a.ints('strides', [1, 1])),
    dilation: two(a, 'dilations', a.ints('dilations', [1, 1])),
    padding: windowPadding(a), groups: a.int('group', 1),
    kernel: w.data, bias, useBias: bias !== undefined,
  });
  return g.add(layer, [x.node], conv2dOutputShape([1, ...x.shape], w.dims, layer.attrs).slice(1));
}

export function convTranspose(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  const w = g.weights(input(node, 1), a.where);
  if (w.dims.length !== 4) throw new UnsupportedError(`${a.where}: weight [${w.dims}] is not 4-D (2-D only)`);
  const groups = a.int('group', 1);
  const stride = two(a, 'strides', a.ints('strides', [1, 1]));
  const dilation = two(a, 'dilations', a.ints('dilations', [1, 1]));
  const outputPadding = two(a, 'output_padding', a.ints('output_padding', [0, 0]));
  checkKernelShape(a, w.dims);
  const outputShape = a.optionalInts('output_shape');
  const autoPad = a.string('auto_pad', 'NOTSET');
  const pads = a.ints('pads', [0, 0, 0, 0]);
  let padding: 'valid' | 'same' | Pads = [pads[0] ?? 0, pads[1] ?? 0, pads[2] ?? 0, pads[3] ?? 0];
  if (autoPad === 'VALID') padding = 'valid';
  else if (autoPad === 'SAME_UPPER') padding = 'same';
  else if (autoPad !== 'NOTSET') throw new UnsupportedError(`${a.where}: auto_pad ${autoPad} is not supported`);
  const bias = input(node, 2) ? g.weights(input(node, 2), a.where).data : undefined;
  const layer = new Conv2DTranspose({
    name, filters: w.dims[1]! * groups, kernelSize: [w.dims[2]!, w.dims[3]!], stride, dilation, outputPadding, padding, groups,
    outputShape: outputShape ? two(a, 'output_shape', outputShape.slice(-2)) : undefined,
    kernel: w.data, bias, useBias: bias !== undefined,
  });
  return g.add(layer, [x.node], conv2dTransposeOutputShape([1, ...x.shape], w.dims, layer.attrs).slice(1));
}

/** [C, outH, outW] of a pooling window over [C, H, W]. */
export function pooledShape(shape: number[], attrs: Parameters<typeof poolGeometry>[1], where: string): number[] {
  const geo = poolGeometry([1, ...shape], attrs, where);
  return [shape[0]!, geo.outH, geo.outW];
}

export function poolAttrs(a: Attrs) {
  return {
    kernel: two(a, 'kernel_shape', a.ints('kernel_shape')),
    // ONNX strides default to 1, not to the kernel as in the library.
    stride: two(a, 'strides', a.ints('strides', [1, 1])),
    padding: windowPadding(a),
    ceilMode: a.int('ceil_mode', 0) === 1,
  };
}

export function maxPool(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  // Indices are the pool's switches: they stay on the GPU for the DeconvNet's
  // unpooling. storage_order only lays out that output.
  a.int('storage_order', 0);
  const indices = node.output?.[1];
  if (indices) g.unreadable.set(indices, `the Indices output of MaxPool "${name}" (the switches stay on the GPU for unpooling)`);
  const attrs = { ...poolAttrs(a), dilation: two(a, 'dilations', a.ints('dilations', [1, 1])) };
  return g.add(new MaxPool2D({ name, ...attrs }), [x.node], pooledShape(x.shape, attrs, a.where));
}

export function averagePool(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  const dilation = two(a, 'dilations', a.ints('dilations', [1, 1]));
  if (dilation[0] !== 1 || dilation[1] !== 1) throw new UnsupportedError(`${a.where}: dilations [${dilation}] are not supported`);
  const attrs = { ...poolAttrs(a), countIncludePad: a.int('count_include_pad', 0) === 1 };
  return g.add(new AvgPool2D({ name, ...attrs }), [x.node], pooledShape(x.shape, attrs, a.where));
}

export function globalPool(kind: 'avg' | 'max'): Mapping {
  return (g, node, a, name) => {
    const x = g.computed(input(node, 0), a.where);
    planeOf(a, x.shape);
    return g.add(kind === 'avg' ? new GlobalAvgPool2D({ name }) : new GlobalMaxPool2D({ name }), [x.node], [x.shape[0]!, 1, 1]);
  };
}

export function batchNormalization(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  if (g.opset < 7 && a.int('is_test', 0) !== 1) throw new UnsupportedError(`${a.where}: is_test=0 (training mode) is not supported`);
  if (a.int('spatial', 1) !== 1) throw new UnsupportedError(`${a.where}: spatial=0 is not supported`);
  if (a.int('training_mode', 0) !== 0) throw new UnsupportedError(`${a.where}: training_mode=1 is not supported`);
  a.ignore('momentum', 'consumed_inputs'); // running statistics only change in training
  if ((node.output ?? []).filter((o) => o).length > 1) throw new UnsupportedError(`${a.where}: the training outputs (running mean/var) are not supported`);
  const x = g.computed(input(node, 0), a.where);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => g.floats(input(node, i), a.where)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  return g.add(new BatchNorm({ name, scale, bias, mean, variance, epsilon: a.float('epsilon', 1e-5) }), [x.node], x.shape);
}

export function lrn(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  return g.add(new LRN({ name, size: a.int('size'), alpha: a.float('alpha', 1e-4), beta: a.float('beta', 0.75), bias: a.float('bias', 1) }), [x.node], x.shape);
}

export function pad(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  planeOf(a, x.shape);
  const mode = a.string('mode', 'constant');
  let pads: number[], value: number;
  if (g.opset < 11) {
    pads = a.ints(g.opset < 2 && a.has('paddings') ? 'paddings' : 'pads');
    value = a.float('value', 0);
  } else {
    if (input(node, 3)) throw new UnsupportedError(`${a.where}: the axes input is not supported`);
    pads = g.ints(input(node, 1), a.where);
    value = input(node, 2) ? g.floats(input(node, 2), a.where)[0] ?? 0 : 0;
  }
  if (pads.length !== 8) throw new FormatError(`${a.where}: pads [${pads}] must have 8 values for a 4-D input`);
  if (pads[0] || pads[1] || pads[4] || pads[5]) throw new UnsupportedError(`${a.where}: pads [${pads}] pad the batch or channel axis`);
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') throw new UnsupportedError(`${a.where}: mode ${mode} is not supported`);
  const [c, h, w] = x.shape as [number, number, number];
  return g.add(new Pad2D({ name, pads: [pads[2]!, pads[3]!, pads[6]!, pads[7]!], mode, value }), [x.node], [c, h + pads[2]! + pads[6]!, w + pads[3]! + pads[7]!]);
}

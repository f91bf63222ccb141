// ONNX Gemm and MatMul: constant weights fold into a Dense layer (stored or
// generated), two computed operands meet in a MatMul join (per image, or the
// whole tensors of a graph without a batch axis).
import { ShapeError, UnsupportedError } from '../../../gpu/errors.js';
import { Dense } from '../../../layers/dense.js';
import { MatMul } from '../../../layers/matmul.js';
import { Attrs } from '../onnx_tensor.js';
import * as gen from './generated.js';
import { type Weights } from '../../../ops/fill.js';
import { isComputed, size, GraphBuilder, input, type Node, type Value } from './graph.js';

/**
 * A Dense kernel [units, k] from a Gemm / MatMul weight B ([units, k] with
 * transB, else [k, units]) times alpha: transposed and scaled on the host, or,
 * for a generated B, as a formula (made on the GPU).
 */
export function denseKernel(g: GraphBuilder, a: Attrs, bName: string, transB: boolean, alpha: number): { dims: number[]; kernel: Weights } {
  const v = g.value(bName, a.where);
  if ('gen' in v && v.gen.dims.length === 2) {
    const oriented = transB ? v.gen : gen.transpose(v.gen, [1, 0]);
    const scaled = oriented && (alpha === 1 ? oriented : gen.scalarOp(oriented, 'Mul', alpha, false, 'float32'));
    if (!scaled) throw new UnsupportedError(`${a.where}: weight "${bName}" [${v.gen.dims}] is made in the graph by a formula the importer cannot transpose; export it with transB=1`);
    return { dims: [...v.gen.dims], kernel: gen.fillSpec(scaled) };
  }
  const b = g.host(bName, a.where);
  if (b.dims.length !== 2) return { dims: b.dims, kernel: new Float32Array() };
  const [rows, cols] = b.dims as [number, number];
  const [k, units] = transB ? [cols, rows] : [rows, cols];
  const bf = b.dtype === 'float32' ? b.data : Float32Array.from(b.data);
  const kernel = new Float32Array(units * k);
  for (let u = 0; u < units; u++) for (let i = 0; i < k; i++) kernel[u * k + i] = alpha * bf[transB ? u * k + i : i * units + u]!;
  return { dims: b.dims, kernel };
}

/** A Gemm bias C times beta, one value per unit: host values, or a generated C's formula. */
export function denseBias(g: GraphBuilder, a: Attrs, cName: string, beta: number, units: number): Weights {
  const v = g.value(cName, a.where);
  const dims = 'gen' in v ? v.gen.dims : g.host(cName, a.where).dims;
  const n = size(dims);
  const perUnit = dims.length === 0 || n === 1 || (n === units && dims[dims.length - 1] === units);
  if (!perUnit) throw new UnsupportedError(`${a.where}: bias [${dims}] is not one value per output unit (${units})`);
  if ('gen' in v && n === units) {
    const scaled = gen.scalarOp(v.gen, 'Mul', beta, false, 'float32');
    if (scaled) return gen.fillSpec(scaled);
  }
  const c = g.host(cName, a.where);
  const bias = new Float32Array(units);
  for (let u = 0; u < units; u++) bias[u] = beta * Number(c.data[n === 1 ? 0 : u]);
  return bias;
}

/** Gemm / MatMul with constant weights: a Dense layer, alpha and beta folded into them. */
export function denseFrom(g: GraphBuilder, a: Attrs, name: string, xName: string, bName: string, transB: boolean, alpha: number, cName: string, beta: number): Value {
  const x = g.computed(xName, a.where);
  if (x.shape.length !== 1) throw new UnsupportedError(`${a.where}: input is [N, ${x.shape}]; a matrix product is supported on flat [N, features] inputs`);
  const { dims, kernel } = denseKernel(g, a, bName, transB, alpha);
  if (dims.length !== 2) throw new UnsupportedError(`${a.where}: weight [${dims}] is not 2-D`);
  const [rows, cols] = dims as [number, number];
  const [k, units] = transB ? [cols, rows] : [rows, cols];
  if (k !== x.shape[0]) throw new ShapeError(`${a.where}: input has ${x.shape[0]} features, weight [${dims}]${transB ? ' (transposed)' : ''} expects ${k}`);
  const bias = cName && beta !== 0 ? denseBias(g, a, cName, beta, units) : undefined;
  return g.add(new Dense({ name, units, kernel, bias, useBias: bias !== undefined }), [x.node], [units]);
}

export function gemm(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  a.ignore('broadcast'); // opset < 7: lets C broadcast, which the folded bias does anyway
  const transA = a.int('transA', 0) === 1, transB = a.int('transB', 0) === 1;
  const alpha = a.float('alpha', 1), beta = a.float('beta', 1);
  if (g.whole) return matrixProduct(g, a, name, [input(node, 0), input(node, 1), beta !== 0 ? input(node, 2) : ''], { transA, transB, alpha, beta });
  if (transA) throw new UnsupportedError(`${a.where}: transA=1 would transpose the batch; not supported`);
  return denseFrom(g, a, name, input(node, 0), input(node, 1), transB, alpha, input(node, 2), beta);
}

export function matMul(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  // Two computed operands: a product per image (or of the whole tensors without a batch axis).
  const joins = g.whole || isComputed(g.value(input(node, 1), a.where));
  if (joins) return matrixProduct(g, a, name, [input(node, 0), input(node, 1), ''], { transA: false, transB: false, alpha: 1, beta: 0 });
  return denseFrom(g, a, name, input(node, 0), input(node, 1), false, 1, '', 0);
}

/**
 * A product of two computed operands, per image ([N, M, K] x [N, K, P] with
 * a batch axis) or of the whole tensors (a graph without one): a MatMul node.
 * A constant operand is not supported there (batched graphs fold constant
 * weights into Dense instead).
 */
export function matrixProduct(g: GraphBuilder, a: Attrs, name: string, names: string[], o: { transA: boolean; transB: boolean; alpha: number; beta: number }): Value {
  const values = names.filter((n) => n !== '').map((n) => g.computed(n, a.where));
  const [m, k] = o.transA ? [values[0]!.shape[1], values[0]!.shape[0]] : values[0]!.shape;
  const n = o.transB ? values[1]!.shape[0] : values[1]!.shape[1];
  if (values[0]!.shape.length !== 2 || values[1]!.shape.length !== 2 || m === undefined || k === undefined || n === undefined) {
    const batch = g.whole ? '' : 'N, ';
    throw new UnsupportedError(`${a.where}: a product of [${batch}${values[0]!.shape}] and [${batch}${values[1]!.shape}]: only ${g.whole ? '2-D matrices' : 'one matrix per image ([N, M, K] x [N, K, P])'} are supported`);
  }
  const layer = new MatMul({ name, transposeA: o.transA, transposeB: o.transB, alpha: o.alpha, beta: o.beta });
  return g.add(layer, values.map((v) => v.node), [m, n]);
}

// The ONNX op table: one mapping per op type (a function per op or per
// family, in the ops_*.ts files beside this one).
import type { Mapping } from './graph.js';
import { conv, convTranspose, maxPool, averagePool, globalPool, batchNormalization, lrn, pad } from './ops_window.js';
import { gemm, matMul } from './ops_product.js';
import { activationOf, smoothActivation, pRelu, clip } from './ops_activation.js';
import { sliceOp, split, resize, softmaxOf, flatten, reshape, squeeze, transpose, binary, concat, passThrough } from './ops_shape.js';

export const OPS: Record<string, Mapping> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  Relu: activationOf('relu'),
  LeakyRelu: activationOf('leaky_relu', 0.01),
  Elu: activationOf('elu', 1),
  Sigmoid: activationOf('sigmoid'),
  Tanh: activationOf('tanh'),
  PRelu: pRelu,
  Selu: smoothActivation,
  HardSigmoid: smoothActivation,
  HardSwish: smoothActivation,
  Gelu: smoothActivation,
  Softplus: smoothActivation,
  Softsign: smoothActivation,
  Mish: smoothActivation,
  Clip: clip,
  Slice: sliceOp,
  Split: split,
  Resize: resize,
  Upsample: resize,
  LRN: lrn,
  BatchNormalization: batchNormalization,
  Gemm: gemm,
  MatMul: matMul,
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Sum: binary('sum'),
  Concat: concat,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze(false),
  Unsqueeze: squeeze(true),
  Dropout: (g, node, a) => passThrough(g, node, a),
  Identity: (g, node, a) => passThrough(g, node, a),
  Pad: pad,
  Softmax: softmaxOf(false),
  LogSoftmax: softmaxOf(true),
};

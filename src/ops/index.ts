// One file per op: validate inputs, parse attributes, describe the program
// (dispatch size + shader) and record it. Backward rules sit next to the
// forward op they belong to.
export { activation, activationBackward, relu, type ActivationAttrs, type ActivationKind, type BackwardRule } from './activation.js';
export { conv2d, conv2dBackwardInput, conv2dOutputShape, type Conv2dAttrs } from './conv2d.js';
export { conv2dTranspose, conv2dTransposeOutputShape, type Conv2dTransposeAttrs } from './conv2d_transpose.js';
export { resolvePadding, type Padding2d, type Pair } from './conv_geometry.js';
export { maxPool2d } from './maxpool2d.js';
export { unpool2d } from './unpool2d.js';
export { avgPool2d, avgPool2dBackward, globalAvgPool2d, type AvgPool2dAttrs } from './avgpool2d.js';
export { poolGeometry, type Pool2dAttrs } from './pool_geometry.js';
export { lrn, lrnBackward, type LrnAttrs } from './lrn.js';
export { pad2d, pad2dBackward, type Pad2dAttrs } from './pad2d.js';
export { matmul, type MatmulAttrs } from './matmul.js';
export { dense, denseBackwardInput } from './dense.js';
export { softmax, softmaxBackward, type SoftmaxAttrs } from './softmax.js';
export { foldBatchNorm, channelAffine, channelAffineBackward, type BatchNormWeights } from './batchnorm.js';
export { selectSeed, type SelectSeedAttrs, type SeedPosition } from './select_seed.js';

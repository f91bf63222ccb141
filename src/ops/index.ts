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
export { occludeGrid, occludeBoxes, type OccludeGridAttrs, type Box } from './occlude.js';
export { affineWarp, type AffineWarpAttrs } from './affine_warp.js';
export { reduceRows, type ReduceRowsAttrs, type ReduceRowsVariant } from './reduce_rows.js';
export { channelMax } from './channel_max.js';
export { topkMerge, emptyTopkTable, TOPK_NONE, type TopkMergeAttrs } from './topk_merge.js';
export { conv2dBackwardWeight, planWeightGrad, type WeightGradPlanOptions } from './conv2d_weight_grad.js';
export { channelSum } from './channel_sum.js';
export { softmaxCrossEntropy, crossEntropyStats, checkLabels } from './cross_entropy.js';
export { sgdStep, adamStep, setHyper, type SgdOptions, type AdamOptions } from './optimizer.js';
export { add, sub, mul, div, binary, binaryBackward, mulBackward, reduceToShape, broadcastShapes, type BinaryOp } from './elementwise.js';
export { sumN, SUM_N_MAX_INPUTS } from './sum_n.js';
export { concat, sliceAxis, split, concatShape, normalizeAxis } from './concat.js';
export { transpose, transposeBackward, inversePerm, checkPerm } from './transpose.js';
export { resize2d, resize2dBackward, resizeTable, COORDINATE_TRANSFORMATIONS, NEAREST_ROUNDINGS, type ResizeAttrs, type ResizeTable, type CoordinateTransformation, type NearestRounding } from './resize.js';
export { slice, sliceBackward, sliceGeometry, type SliceSpec, type SliceGeometry } from './slice.js';
export { backwardReadsInput, SELU_ALPHA, SELU_GAMMA } from './activation.js';

// deconvnet-webgpu: the public API. Everything here needs only a GPUDevice;
// drawing on canvases lives in ./render (export "deconvnet-webgpu/dom").
export { createRuntime, Runtime, type RuntimeOptions } from './gpu/runtime.js';
export { Tensor, shapeSize, type DType } from './gpu/tensor.js';
export { Recorder, type Program } from './gpu/recorder.js';
export * from './gpu/errors.js';
export * from './ops/index.js';
export * from './layers/index.js';
export { createModel, SequentialModel, ForwardResult, type ModelSpec, type LayerInfo } from './model/sequential.js';
export { createDeconvNet, DeconvNet, Projection, type ProjectOptions } from './deconv/deconvnet.js';
export { projectionToImage, featureMapGrid, type RgbaImage } from './render/image.js';
export { createDefaultModel, gaborBank, type DefaultModel } from './model/default_model.js';
export { parseIdx, gunzip, FASHION_MNIST_CLASSES, type IdxArray } from './data/idx.js';

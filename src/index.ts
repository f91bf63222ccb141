// deconvnet-webgpu: the public API. Everything here needs only a GPUDevice;
// DOM helpers (canvas, image decoding) live in ./render.
export { createRuntime, Runtime, type RuntimeOptions } from './gpu/runtime.js';
export { Tensor, shapeSize, type DType } from './gpu/tensor.js';
export { Recorder, type Program } from './gpu/recorder.js';
export * from './gpu/errors.js';
export * from './ops/index.js';

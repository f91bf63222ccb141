// The library's part of the embedding example: everything a frame asks of
// deconvnet-webgpu, on the app's own GPUDevice. bench/embed-latency-page.ts
// times this same frame against TF.js.
import {
  createRuntime, createImageInput, createDeconvNet, loadModel, recordDraw,
  type DeconvNet, type DrawTarget, type ImageInput, type ImageSource, type Model, type Runtime,
} from '../../src/index.js';

export interface Analysis {
  runtime: Runtime;
  model: Model;
  deconv: DeconvNet;
  input: ImageInput;
}

/** The library on the app's device: Tiny VGG from `modelUrl`, its DeconvNet, and a GPU input for `size` x `size` RGB. */
export async function createAnalysis(device: GPUDevice, modelUrl: string, size: number): Promise<Analysis> {
  const runtime = await createRuntime({ device });
  const { model } = await loadModel(runtime, modelUrl);
  // Tiny VGG takes RGB in [0, 1]: the default preprocessing.
  const input = createImageInput(runtime, { shape: [3, size, size] });
  return { runtime, model, deconv: createDeconvNet(model), input };
}

/**
 * Records photo -> input tensor -> forward -> projection of (layer, channel)
 * -> drawn into `target`, and submits it: one submit, nothing read back. The
 * returned promise settles when the library's error scopes have been popped.
 * `photo` is anything the GPU input reads (the app's texture here; an
 * ImageBitmap in bench/embed-latency-page.ts), `target` a texture or a
 * configured WebGPU canvas context.
 */
export async function projectInto(a: Analysis, photo: ImageSource, target: DrawTarget, layer: string, channel: number): Promise<void> {
  const rec = a.runtime.record('embed frame');
  let release = (): void => undefined;
  try {
    const x = rec.temp(a.input.record(rec, photo));
    const fwd = a.model.forwardIn(rec, x);
    const proj = a.deconv.projectIn(rec, fwd, { layer, channel, mode: 'deconvnet' });
    recordDraw(rec, target, { kind: 'projection', tensor: proj.tensor });
    // Safe right after the submit: later work that reuses the buffers is queued after this.
    release = () => { proj.release(); fwd.release(); };
  } catch (e) {
    rec.abandon();
    throw e;
  }
  try {
    await rec.submit();
  } finally {
    release();
  }
}

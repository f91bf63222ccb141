// Pictures that already live on the GPU, or that the browser can hand to it
// (video, camera, canvas, bitmap, image), straight into a model's input
// tensor: nothing is read back to the CPU. Textures are bound as they are;
// other sources are copied once into a pooled texture
// (queue.copyExternalImageToTexture) or, for video, imported as an external
// texture. Then one compute pass resizes and preprocesses every picture of the
// batch (src/ops/image_input.ts).
import type { Runtime } from '../gpu/runtime.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { DestroyedError, GpuValidationError, ShapeError, UnsupportedError } from '../gpu/errors.js';
import { imageInput, planImageInput, type BoundPicture, type ImageInputAttrs, type ImageInputPlan } from '../ops/image_input.js';
import { NotReadyError } from './errors.js';

/** Everything imageToTensor takes as one picture. */
export type ImageSource =
  | GPUTexture | GPUExternalTexture | VideoFrame | HTMLVideoElement | ImageBitmap
  | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | ImageData;

export type ImageInputOptions = ImageInputAttrs;

/**
 * Texture formats read as they are: 4 channels that textureLoad returns as
 * the stored values (an sRGB format would hand back linear values, not the
 * bytes a model was trained on; 1- and 2-channel formats have no colour).
 */
export const INPUT_TEXTURE_FORMATS: readonly GPUTextureFormat[] = ['rgba8unorm', 'bgra8unorm', 'rgba16float', 'rgba32float', 'rgb10a2unorm'];

/** HAVE_CURRENT_DATA: the video has a frame to show. */
const HAVE_CURRENT_DATA = 2;

/**
 * Turns pictures into input tensors of one shape and preprocessing, frame
 * after frame: the copies of non-texture sources go to textures it keeps
 * (one per batch slot, grown when a larger picture comes), so a stream of
 * frames allocates nothing after the first. `destroy()` frees them.
 */
export class ImageInput {
  readonly plan: ImageInputPlan;
  #slots: Array<GPUTexture | undefined> = [];
  #destroyed = false;
  /**
   * How video frames reach the GPU: imported as external textures (no copy),
   * else copied like a canvas, else (toTensor only) decoded to an ImageBitmap
   * first. Some adapters (SwiftShader) refuse the first two with an
   * OperationError; after one failure the next way is used from then on.
   */
  #videoPath: 'external' | 'copy' | 'bitmap' = 'external';

  constructor(readonly runtime: Runtime, options: ImageInputOptions) {
    this.plan = planImageInput(options);
  }

  /** GPU bytes of the pooled copy textures. */
  get bytesHeld(): number {
    return this.#slots.reduce((sum, t) => sum + (t ? t.width * t.height * 4 : 0), 0);
  }

  /**
   * One submit: the batch [N, C, H, W] of `sources` (one image each, in
   * order). A GPUTexture destroyed by its owner is reported as a
   * DestroyedError naming it.
   */
  async toTensor(sources: ImageSource | readonly ImageSource[]): Promise<Tensor> {
    return this.recordWith(sources, 'image input', (rec, list) => this.record(rec, list));
  }

  /**
   * Runs `work` (which records `list`, the sources, with record()) in one
   * submit and returns its result. Where this browser can only read video
   * frames through a bitmap (see #videoPath), the frames are decoded first and
   * the recording made again with them; the bitmaps are closed after the
   * submit. A destroyed source texture becomes a DestroyedError naming it.
   * For callers that record more work with the picture (live mode: the
   * forward, projection and drawing in the same submit).
   */
  async recordWith<T>(sources: ImageSource | readonly ImageSource[], operation: string, work: (rec: Recorder, list: readonly ImageSource[]) => T): Promise<T> {
    const list = asList(sources);
    if (this.#videoPath !== 'bitmap') {
      try {
        return await submitWith(this.runtime, operation, list, work);
      } catch (e) {
        if (!(e instanceof NeedsBitmap)) throw e;
      }
    }
    // Video frames this browser can neither import nor copy: decoded to bitmaps first.
    const converted = await Promise.all(list.map((s) => (isVideoElement(s) || isVideoFrame(s) ? createImageBitmap(s) : s)));
    try {
      return await submitWith(this.runtime, operation, converted, work);
    } finally {
      converted.forEach((s, i) => { if (s !== list[i]) (s as ImageBitmap).close(); });
    }
  }

  /**
   * Records the conversion into an open recording (e.g. before a forward
   * pass, for one submit in all). Copies of non-texture sources are queued
   * now, ahead of the recording's submit; the tensor is released if that
   * submit fails. Video frames that must go through a bitmap here throw an
   * UnsupportedError: recordWith() / toTensor() handle them.
   */
  record(rec: Recorder, sources: ImageSource | readonly ImageSource[]): Tensor {
    if (this.#destroyed) throw new DestroyedError('image input: this ImageInput was destroyed');
    const list = asList(sources);
    if (list.length === 0) throw new ShapeError('image input: no sources given');
    const pictures = list.map((source, i) => this.#bind(source, i));
    return rec.own(imageInput(rec, pictures, this.plan));
  }

  /** Frees the pooled copy textures; the ImageInput cannot be used after. */
  destroy(): void {
    this.#destroyed = true;
    for (const t of this.#slots) t?.destroy();
    this.#slots = [];
  }

  #bind(source: ImageSource, index: number): BoundPicture {
    const what = `source ${index}`;
    if (isGpuTexture(source)) {
      checkTexture(source, what);
      return { kind: 'texture', view: source.createView({ dimension: '2d' }), width: source.width, height: source.height };
    }
    if (isExternalTexture(source)) return { kind: 'external', texture: source };
    if (isVideoElement(source)) {
      if (source.readyState < HAVE_CURRENT_DATA || source.videoWidth === 0) {
        throw new NotReadyError(`image input: ${what} is a video with no frame yet (readyState ${source.readyState}); wait for 'loadeddata' or play() first`);
      }
      return this.#importVideo(source, source.videoWidth, source.videoHeight, index);
    }
    if (isVideoFrame(source)) {
      if (source.format === null && source.displayWidth === 0) throw new DestroyedError(`image input: ${what} is a closed VideoFrame`);
      checkSize(source.displayWidth, source.displayHeight, what);
      return this.#importVideo(source, source.displayWidth, source.displayHeight, index);
    }
    const { width, height } = pictureSize(source, what);
    checkSize(width, height, what);
    return this.#copy(source, width, height, index);
  }

  /** Copies a non-texture picture into the slot texture of batch slot `index`. */
  #copy(source: Exclude<ImageSource, GPUTexture | GPUExternalTexture>, width: number, height: number, index: number): BoundPicture {
    const texture = this.#slot(index, width, height);
    if (isImageData(source)) {
      this.runtime.device.queue.writeTexture({ texture }, source.data, { bytesPerRow: width * 4, rowsPerImage: height }, [width, height]);
    } else {
      this.runtime.device.queue.copyExternalImageToTexture({ source }, { texture, premultipliedAlpha: false }, [width, height]);
    }
    return { kind: 'texture', view: texture.createView(), width, height };
  }

  /** A video frame as an external texture, or copied (see #videoPath). */
  #importVideo(source: HTMLVideoElement | VideoFrame, width: number, height: number, index: number): BoundPicture {
    if (this.#videoPath === 'external') {
      try {
        return { kind: 'external', texture: this.runtime.device.importExternalTexture({ source, label: `source ${index}` }) };
      } catch (e) {
        if (!(e instanceof DOMException)) throw e;
        this.#videoPath = 'copy';
      }
    }
    if (this.#videoPath === 'copy') {
      try {
        return this.#copy(source, width, height, index);
      } catch (e) {
        if (!(e instanceof DOMException)) throw e;
        this.#videoPath = 'bitmap';
      }
    }
    throw new NeedsBitmap(`image input: source ${index}: this browser cannot read this video's frames while recording; use toTensor(), which decodes them to bitmaps first`);
  }

  /** The copy texture of batch slot `index`, at least `width` x `height`. */
  #slot(index: number, width: number, height: number): GPUTexture {
    const old = this.#slots[index];
    if (old && old.width >= width && old.height >= height) return old;
    const limit = this.runtime.device.limits.maxTextureDimension2D;
    if (width > limit || height > limit) {
      throw new ShapeError(`image input: source ${index} is ${width}x${height}, over the device's ${limit}-texel texture limit`);
    }
    old?.destroy();
    const texture = this.runtime.device.createTexture({
      label: `image input slot ${index}`,
      size: [Math.max(width, old?.width ?? 0), Math.max(height, old?.height ?? 0)],
      format: 'rgba8unorm',
      // RENDER_ATTACHMENT: copyExternalImageToTexture requires it.
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT,
    });
    this.#slots[index] = texture;
    return texture;
  }
}

export function createImageInput(runtime: Runtime, options: ImageInputOptions): ImageInput {
  return new ImageInput(runtime, options);
}

/**
 * One-off form of ImageInput.toTensor: the input tensor [N, C, H, W] of
 * `sources` for a model of per-image shape `options.shape`. For a stream of
 * frames keep one ImageInput instead (its copy textures are reused).
 */
export async function imageToTensor(runtime: Runtime, sources: ImageSource | readonly ImageSource[], options: ImageInputOptions): Promise<Tensor> {
  const input = new ImageInput(runtime, options);
  try {
    return await input.toTensor(sources);
  } finally {
    input.destroy(); // after the submit: the queued work keeps what it uses
  }
}

/** Records `work` in one submit; a failed submit that used a destroyed source texture is reported as such. */
async function submitWith<T>(runtime: Runtime, operation: string, list: readonly ImageSource[], work: (rec: Recorder, list: readonly ImageSource[]) => T): Promise<T> {
  try {
    return await runtime.run(operation, (rec) => work(rec, list));
  } catch (e) {
    throw explainDestroyed(e, list);
  }
}

/** Raised while recording a video frame that must go through an ImageBitmap (see ImageInput.#videoPath). */
class NeedsBitmap extends UnsupportedError {}

function asList(sources: ImageSource | readonly ImageSource[]): readonly ImageSource[] {
  return Array.isArray(sources) ? sources as readonly ImageSource[] : [sources as ImageSource];
}

function checkSize(width: number, height: number, what: string): void {
  if (!(width > 0 && height > 0)) throw new ShapeError(`image input: ${what} is ${width}x${height}; a picture needs at least one pixel`);
}

function checkTexture(t: GPUTexture, what: string): void {
  const name = `${what} (texture "${t.label}", ${t.format})`;
  if (!INPUT_TEXTURE_FORMATS.includes(t.format)) {
    throw new UnsupportedError(`image input: ${name}: format ${t.format} cannot be read as a picture; use one of ${INPUT_TEXTURE_FORMATS.join(', ')}`);
  }
  if (!(t.usage & GPUTextureUsage.TEXTURE_BINDING)) {
    throw new UnsupportedError(`image input: ${name} was created without GPUTextureUsage.TEXTURE_BINDING, which reading it needs`);
  }
  if (t.dimension !== '2d' || t.sampleCount !== 1 || t.depthOrArrayLayers !== 1) {
    throw new UnsupportedError(`image input: ${name} must be a single-sampled 2-D texture of one layer (got ${t.dimension}, ${t.sampleCount} samples, ${t.depthOrArrayLayers} layers)`);
  }
}

/**
 * WebGPU cannot say whether a texture was destroyed until it is used: the
 * submit then fails validation. Name the texture in a DestroyedError.
 */
function explainDestroyed(e: unknown, sources: readonly ImageSource[]): unknown {
  if (!(e instanceof GpuValidationError) || !/destroy/i.test(e.message)) return e;
  const textures = sources.flatMap((s, i) => (isGpuTexture(s) ? [{ label: s.label, i }] : []));
  const named = textures.filter((t) => t.label && e.message.includes(t.label));
  const list = (named.length > 0 ? named : textures).map((t) => `source ${t.i} (texture "${t.label}")`).join(', ');
  return new DestroyedError(`image input: ${list || 'a source texture'} was destroyed before use (${e.message})`);
}

function pictureSize(source: ImageSource, what: string): { width: number; height: number } {
  if (isImageElement(source)) {
    if (!source.complete) throw new NotReadyError(`image input: ${what} is an image still loading; await img.decode() first`);
    return { width: source.naturalWidth, height: source.naturalHeight };
  }
  if ('width' in source && 'height' in source && typeof source.width === 'number') return { width: source.width, height: source.height };
  throw new UnsupportedError(`image input: ${what} is not a picture (${Object.prototype.toString.call(source)})`);
}

// Type tests by the global classes where they exist: Node (Dawn) has no DOM.
function hasClass(name: string, value: unknown): boolean {
  const cls = (globalThis as Record<string, unknown>)[name];
  return typeof cls === 'function' && value instanceof (cls as new () => unknown);
}
function isGpuTexture(s: unknown): s is GPUTexture {
  return hasClass('GPUTexture', s) || (typeof s === 'object' && s !== null && 'createView' in s && 'format' in s);
}
function isExternalTexture(s: unknown): s is GPUExternalTexture { return hasClass('GPUExternalTexture', s); }
function isVideoElement(s: unknown): s is HTMLVideoElement { return hasClass('HTMLVideoElement', s); }
function isVideoFrame(s: unknown): s is VideoFrame { return hasClass('VideoFrame', s); }
function isImageElement(s: unknown): s is HTMLImageElement { return hasClass('HTMLImageElement', s); }
function isImageData(s: unknown): s is ImageData { return hasClass('ImageData', s); }

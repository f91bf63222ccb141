// Live mode: camera (or any picture source) -> input tensor -> forward ->
// projection of the chosen unit -> drawn, every frame, on the GPU. Nothing is
// read back unless asked (snapshot(), or the 'readback' way of showing a
// frame on a 2-D canvas where WebGPU canvases cannot be presented).
import { ForwardResult, type Model } from '../model/model.js';
import { createDeconvNet, type DeconvNet, type Projection, type ProjectOptions } from '../deconv/deconvnet.js';
import type { ProjectionMode } from '../layers/layer.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Recorder } from '../gpu/recorder.js';
import { DeviceLostError, DestroyedError, OutOfRangeError } from '../gpu/errors.js';
import type { Preprocessing } from '../data/preprocessing.js';
import type { FitMode } from '../ops/image_input.js';
import { ImageInput, type ImageSource } from './gpu_input.js';
import { pictureSize, recordDraw, type DrawTarget, type Picture } from './gpu_output.js';
import { CameraError, NotReadyError } from './errors.js';

/** The unit whose projection is shown. */
export interface LiveUnit {
  layer: string | number;
  channel: number;
  /** Default 'deconvnet'. */
  mode?: ProjectionMode;
  /** Default 'max' (the strongest activation of the channel in each frame). */
  position?: ProjectOptions['position'];
}

/**
 * Where a picture goes: a texture or a canvas context the host configured,
 * or a canvas the live view sets up itself (see LiveOptions.present).
 */
export type LiveTarget = DrawTarget | HTMLCanvasElement;

export interface LiveOptions {
  model: Model;
  /** Default: createDeconvNet(model). */
  deconv?: DeconvNet;
  /** Usually the video of openCamera(); any picture source works (a canvas being drawn, ...). */
  source: ImageSource;
  unit: LiveUnit;
  preprocessing?: Preprocessing;
  /** How frames of another aspect ratio fit the model's input (default 'crop'). */
  fit?: FitMode;
  /** What is drawn each frame: the model's view of the frame, the feature maps of `gridLayer`, the projection. */
  targets: { input?: LiveTarget; grid?: LiveTarget; projection?: LiveTarget };
  /** Layer of the feature-map grid (default: the unit's layer). */
  gridLayer?: string | number;
  /**
   * How a canvas target shows frames: 'webgpu' (default) configures a WebGPU
   * context and draws into it, nothing read back; 'readback' draws into a
   * texture and copies the RGBA bytes to a 2-D context (for browsers that
   * cannot present WebGPU canvases, e.g. headless Chromium on SwiftShader).
   */
  present?: 'webgpu' | 'readback';
  /** 'auto' (default): every new video frame (requestVideoFrameCallback) or animation frame; 'manual': only renderFrame(). */
  schedule?: 'auto' | 'manual';
  /** Stop the camera (the source's media tracks) on stop(): set when the source came from openCamera(). */
  ownsSource?: boolean;
  /** Called after each frame is drawn. */
  onFrame?: (frame: LiveFrame) => void;
  /** Called once when live mode stops on an error (it has already freed everything). */
  onError?: (error: Error) => void;
}

export interface LiveFrame {
  /** Frames drawn so far. */
  frames: number;
  /** Frames per second over the last second or so. */
  fps: number;
  /** Wall time of this frame, ms. */
  ms: number;
}

/** Frames the frame-rate window spans. */
const FPS_WINDOW = 30;
const HAVE_CURRENT_DATA = 2;

/** A running live view; see startLive(). */
export class LiveView {
  frames = 0;
  fps = 0;
  /** The error that stopped it, if any. */
  error: Error | null = null;
  /** Settles when stopped: null for stop(), else the error. */
  readonly stopped: Promise<Error | null>;
  #settle!: (e: Error | null) => void;
  #running = true;
  #busy = false;
  #pending = false;
  #unit: LiveUnit;
  #gridLayer: string | number;
  #input: ImageInput;
  #deconv: DeconvNet;
  #outputs: Array<{ key: 'input' | 'grid' | 'projection'; out: Output }> = [];
  #last: { input: Tensor; fwd: ForwardResult; proj: Projection } | null = null;
  #times: number[] = [];
  #cancelSchedule: () => void = () => undefined;
  #unsubscribe: Array<() => void> = [];

  constructor(readonly options: LiveOptions) {
    const { model } = options;
    model.runtime.assertUsable('live');
    checkSource(options.source);
    this.#unit = checkUnit(model, options.unit);
    this.#gridLayer = options.gridLayer ?? options.unit.layer;
    model.layerIndex(this.#gridLayer);
    const shape = model.inputShape;
    this.#input = new ImageInput(model.runtime, { shape, preprocessing: options.preprocessing, fit: options.fit ?? 'crop' });
    this.#deconv = options.deconv ?? createDeconvNet(model);
    this.stopped = new Promise((settle) => { this.#settle = settle; });
    for (const key of ['input', 'grid', 'projection'] as const) {
      const target = options.targets[key];
      if (target) this.#outputs.push({ key, out: makeOutput(target, options.present ?? 'webgpu', model.runtime.device) });
    }
    this.#watch();
    if ((options.schedule ?? 'auto') === 'auto') this.#schedule();
  }

  get running(): boolean { return this.#running; }
  get unit(): LiveUnit { return this.#unit; }

  /** GPU bytes the live view holds besides the runtime's pool: copy textures and readback buffers. */
  get bytesHeld(): number {
    return this.#input.bytesHeld + this.#outputs.reduce((sum, o) => sum + o.out.bytesHeld, 0);
  }

  /** Shows another unit from the next frame on. */
  setUnit(unit: LiveUnit, gridLayer: string | number = unit.layer): void {
    this.#unit = checkUnit(this.options.model, unit);
    this.options.model.layerIndex(gridLayer);
    this.#gridLayer = gridLayer;
  }

  /** Draws one frame now (what the schedule does each frame); throws what the frame threw, after stopping. */
  async renderFrame(): Promise<void> {
    if (!this.#running) throw new DestroyedError('live: renderFrame after stop()');
    if (this.#busy) return;
    this.#busy = true;
    const t0 = performance.now();
    try {
      await this.#frame();
    } catch (e) {
      this.#fail(e);
      throw this.error ?? e;
    } finally {
      this.#busy = false;
    }
    if (!this.#running) return; // stopped while the frame was drawn: not reported
    const now = performance.now();
    this.frames++;
    this.#times.push(now);
    if (this.#times.length > FPS_WINDOW) this.#times.shift();
    const span = now - this.#times[0]!;
    this.fps = span > 0 ? ((this.#times.length - 1) * 1000) / span : 0;
    this.options.onFrame?.({ frames: this.frames, fps: this.fps, ms: now - t0 });
  }

  /** Reads the last frame's projection back (asked for, so read). */
  async snapshot(): Promise<{ data: Float32Array; shape: number[] }> {
    if (!this.#last) throw new DestroyedError('live: no frame drawn yet');
    return this.#last.proj.read();
  }

  /** Stops the frames and frees every GPU resource it made (and the camera when it owns it). Idempotent. */
  stop(): void {
    this.#finish(null);
  }

  /** One submit: the picture in, forward, projection, every drawing (and readback copies). */
  async #frame(): Promise<void> {
    const { model, preprocessing } = this.options;
    const { layer, channel, mode, position } = this.#unit;
    // The forward stops at the deepest layer shown: the layers above it (a
    // classifier head) are not needed for the projection or the grid.
    const end = Math.max(model.layerIndex(layer), model.layerIndex(this.#gridLayer)) + 1;
    const frame = await this.#input.recordWith(this.options.source, 'live frame', (rec, sources) => {
      const input = this.#input.record(rec, sources);
      const { outputs, switches } = model.recordForward(rec, input, end);
      const fwd = rec.own(new ForwardResult(model, [input], [false], outputs, switches));
      const proj = this.#deconv.projectIn(rec, fwd, { layer, channel, mode, position });
      for (const { key, out } of this.#outputs) {
        const picture: Picture = key === 'input' ? { kind: 'input', tensor: input, preprocessing }
          : key === 'grid' ? { kind: 'grid', tensor: fwd.activation(this.#gridLayer) } : { kind: 'projection', tensor: proj.tensor };
        out.record(rec, picture);
      }
      return { input, fwd, proj };
    });
    try {
      await Promise.all(this.#outputs.map(({ out }) => out.present()));
      // Back-pressure: the next frame starts once this one's GPU work is done,
      // so a GPU slower than the frames drops frames instead of queueing them.
      await model.runtime.device.queue.onSubmittedWorkDone();
    } catch (e) {
      release(frame);
      throw e;
    }
    if (this.#last) release(this.#last);
    this.#last = this.#running ? frame : null;
    if (!this.#running) release(frame); // stopped while this frame was in flight
  }

  #schedule(): void {
    const source = this.options.source;
    const tick = () => {
      if (!this.#running) return;
      this.#schedule();
      void this.#drive();
    };
    if (isVideo(source) && 'requestVideoFrameCallback' in source) {
      const id = source.requestVideoFrameCallback(tick);
      this.#cancelSchedule = () => source.cancelVideoFrameCallback(id);
    } else {
      const id = requestAnimationFrame(tick);
      this.#cancelSchedule = () => cancelAnimationFrame(id);
    }
  }

  /** Draws the newest frame; a frame that arrives meanwhile is drawn right after (older ones are dropped). */
  async #drive(): Promise<void> {
    if (this.#busy) { this.#pending = true; return; }
    do {
      this.#pending = false;
      // A failure stops the view and is reported through onError / stopped.
      await this.renderFrame().catch(() => undefined);
    } while (this.#pending && this.#running);
  }

  /** Stops on a lost device, an ended video or camera track. */
  #watch(): void {
    const runtime = this.options.model.runtime;
    runtime.device.lost.then((info) => this.#fail(new DeviceLostError('live', info.message || info.reason)));
    const source = this.options.source;
    if (!isVideo(source)) return;
    const ended = () => this.#fail(new NotReadyError('live: the video ended'));
    source.addEventListener('ended', ended);
    this.#unsubscribe.push(() => source.removeEventListener('ended', ended));
    const stream = source.srcObject;
    if (stream && 'getVideoTracks' in stream) {
      for (const track of stream.getVideoTracks()) {
        const trackEnded = () => this.#fail(new CameraError(`live: the camera stopped (${track.label || 'video track'} ended)`, 'ended'));
        track.addEventListener('ended', trackEnded);
        this.#unsubscribe.push(() => track.removeEventListener('ended', trackEnded));
      }
    }
  }

  #fail(e: unknown): void {
    if (!this.#running) return;
    const error = e instanceof Error ? e : new Error(String(e));
    this.#finish(error);
    this.options.onError?.(error);
  }

  #finish(error: Error | null): void {
    if (!this.#running) return;
    this.#running = false;
    this.error = error;
    this.#cancelSchedule();
    for (const off of this.#unsubscribe) off();
    this.#releaseLast();
    this.#input.destroy();
    for (const { out } of this.#outputs) out.destroy();
    if (this.options.ownsSource && isVideo(this.options.source)) closeCamera(this.options.source);
    this.#settle(error);
  }

  #releaseLast(): void {
    if (this.#last) release(this.#last);
    this.#last = null;
  }
}

function release(frame: { input: Tensor; fwd: ForwardResult; proj: Projection }): void {
  frame.proj.release();
  frame.fwd.release();
  frame.input.release();
}

/**
 * Starts live mode: each frame of `options.source` goes through the model and
 * its projection is drawn. Bad options throw at once (OutOfRangeError for
 * the unit, NotReadyError for a video with no frame); later failures (device
 * lost, camera or video ended) stop it cleanly and are reported through
 * `onError`, `error` and `stopped`.
 */
export function startLive(options: LiveOptions): LiveView {
  return new LiveView(options);
}

// ---- the camera ------------------------------------------------------------------

export interface CameraOptions {
  width?: number;
  height?: number;
  facingMode?: 'user' | 'environment';
  /** How long to wait for the first frame, ms (default 10 000). */
  timeoutMs?: number;
}

/**
 * A playing video of the camera (getUserMedia). Typed errors: CameraError
 * with reason 'unavailable' (no camera API: not a secure context),
 * 'denied' (permission refused), 'not-found' (no camera), 'busy' (in use),
 * NotReadyError when no frame comes in time.
 */
export async function openCamera(options: CameraOptions = {}): Promise<HTMLVideoElement> {
  const media = (globalThis.navigator as Navigator | undefined)?.mediaDevices;
  if (!media?.getUserMedia) throw new CameraError('camera: no camera API here (getUserMedia needs a secure context: https or localhost)', 'unavailable');
  let stream: MediaStream;
  try {
    stream = await media.getUserMedia({
      audio: false,
      video: { width: options.width ?? 640, height: options.height ?? 480, facingMode: options.facingMode ?? 'user' },
    });
  } catch (e) {
    const name = (e as { name?: string }).name ?? '';
    const reason = name === 'NotAllowedError' || name === 'SecurityError' ? 'denied'
      : name === 'NotFoundError' || name === 'OverconstrainedError' ? 'not-found'
        : name === 'NotReadableError' || name === 'AbortError' ? 'busy' : 'unavailable';
    const what = { denied: 'permission to use the camera was denied', 'not-found': 'no camera was found', busy: 'the camera is in use or cannot be read', unavailable: 'the camera could not be opened' }[reason];
    throw new CameraError(`camera: ${what} (${name || String(e)})`, reason);
  }
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  try {
    await video.play();
    await firstFrame(video, options.timeoutMs ?? 10_000);
  } catch (e) {
    closeCamera(video);
    if (e instanceof NotReadyError) throw e;
    throw new NotReadyError(`camera: the video did not play (${(e as Error).message})`);
  }
  return video;
}

/** Stops the camera behind a video of openCamera(). */
export function closeCamera(video: HTMLVideoElement): void {
  const stream = video.srcObject;
  if (stream && 'getTracks' in stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
}

function firstFrame(video: HTMLVideoElement, timeoutMs: number): Promise<void> {
  if (video.readyState >= HAVE_CURRENT_DATA && video.videoWidth > 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new NotReadyError(`camera: no frame within ${timeoutMs} ms`)), timeoutMs);
    video.addEventListener('loadeddata', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// ---- outputs ------------------------------------------------------------------

/** One picture's destination: records its drawing, then shows it. */
interface Output {
  record(rec: Recorder, picture: Picture): void;
  present(): Promise<void>;
  readonly bytesHeld: number;
  destroy(): void;
}

function makeOutput(target: LiveTarget, present: 'webgpu' | 'readback', device: GPUDevice): Output {
  if (!isCanvasElement(target)) return { record: (rec, picture) => recordDraw(rec, target, picture), present: async () => undefined, bytesHeld: 0, destroy: () => undefined };
  return present === 'readback' ? new ReadbackCanvas(target, device) : new WebGpuCanvas(target, device);
}

/** A canvas with a WebGPU context on the runtime's device, sized to the picture. */
class WebGpuCanvas implements Output {
  readonly bytesHeld = 0;
  #context: GPUCanvasContext;

  constructor(readonly canvas: HTMLCanvasElement, device: GPUDevice) {
    const context = canvas.getContext('webgpu');
    if (!context) throw new OutOfRangeError('live: the canvas has another kind of context already; give a fresh canvas');
    context.configure({ device, format: navigator.gpu.getPreferredCanvasFormat(), alphaMode: 'opaque' });
    this.#context = context;
  }

  record(rec: Recorder, picture: Picture): void {
    fitCanvas(this.canvas, pictureSize(picture));
    recordDraw(rec, this.#context, picture);
  }

  async present(): Promise<void> {}

  destroy(): void { this.#context.unconfigure(); }
}

/** A 2-D canvas showing a texture's pixels, copied through one reused mappable buffer. */
class ReadbackCanvas implements Output {
  #texture: GPUTexture | null = null;
  #buffer: GPUBuffer | null = null;
  #bytesPerRow = 0;
  #context: CanvasRenderingContext2D;

  constructor(readonly canvas: HTMLCanvasElement, readonly device: GPUDevice) {
    const context = canvas.getContext('2d');
    if (!context) throw new OutOfRangeError('live: the canvas has another kind of context already; give a fresh canvas');
    this.#context = context;
  }

  get bytesHeld(): number { return (this.#texture ? this.#texture.width * this.#texture.height * 4 : 0) + (this.#buffer?.size ?? 0); }

  record(rec: Recorder, picture: Picture): void {
    const { width, height } = pictureSize(picture);
    if (!this.#texture || this.#texture.width !== width || this.#texture.height !== height) this.#resize(width, height);
    recordDraw(rec, this.#texture!, picture);
    rec.encoder.copyTextureToBuffer({ texture: this.#texture! }, { buffer: this.#buffer!, bytesPerRow: this.#bytesPerRow }, [width, height]);
  }

  async present(): Promise<void> {
    const texture = this.#texture, buffer = this.#buffer;
    if (!texture || !buffer) return;
    await buffer.mapAsync(GPUMapMode.READ);
    const rows = new Uint8Array(buffer.getMappedRange());
    const { width, height } = texture;
    const image = new ImageData(width, height);
    for (let y = 0; y < height; y++) image.data.set(rows.subarray(y * this.#bytesPerRow, y * this.#bytesPerRow + width * 4), y * width * 4);
    buffer.unmap();
    fitCanvas(this.canvas, { width, height });
    this.#context.putImageData(image, 0, 0);
  }

  #resize(width: number, height: number): void {
    this.destroy();
    this.#bytesPerRow = Math.ceil((width * 4) / 256) * 256;
    this.#texture = this.device.createTexture({
      label: 'live picture', size: [width, height], format: 'rgba8unorm',
      usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC,
    });
    this.#buffer = this.device.createBuffer({ label: 'live picture readback', size: this.#bytesPerRow * height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  }

  destroy(): void {
    this.#texture?.destroy();
    this.#buffer?.destroy();
    this.#texture = null;
    this.#buffer = null;
  }
}

function fitCanvas(canvas: HTMLCanvasElement, size: { width: number; height: number }): void {
  if (canvas.width !== size.width) canvas.width = size.width;
  if (canvas.height !== size.height) canvas.height = size.height;
}

// ---- checks ------------------------------------------------------------------------

function checkUnit(model: Model, unit: LiveUnit): LiveUnit {
  const index = model.layerIndex(unit.layer);
  const channels = model.info[index]!.outputShape[0]!;
  if (!Number.isInteger(unit.channel) || unit.channel < 0 || unit.channel >= channels) {
    throw new OutOfRangeError(`live: channel ${unit.channel} of layer "${model.info[index]!.name}" is out of range (0..${channels - 1})`);
  }
  if (!model.info[index]!.projectable) throw new OutOfRangeError(`live: layer "${model.info[index]!.name}" does not depend on the pixels`);
  return { ...unit };
}

function checkSource(source: ImageSource): void {
  if (isVideo(source) && (source.readyState < HAVE_CURRENT_DATA || source.videoWidth === 0)) {
    throw new NotReadyError(`live: the video has no frame yet (readyState ${source.readyState}); start it (openCamera() does) before live mode`);
  }
}

function isVideo(s: unknown): s is HTMLVideoElement {
  return typeof HTMLVideoElement !== 'undefined' && s instanceof HTMLVideoElement;
}

function isCanvasElement(s: unknown): s is HTMLCanvasElement {
  return typeof HTMLCanvasElement !== 'undefined' && s instanceof HTMLCanvasElement;
}

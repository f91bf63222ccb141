import { Tensor, shapeSize, disposeSymbol, type DType } from './tensor.js';
import {
  DeviceLimitError, DeviceLostError, DestroyedError, GpuOutOfMemoryError, GpuValidationError, OutOfRangeError, ShapeError, UnsupportedError,
} from './errors.js';
import { Recorder, timePasses } from './recorder.js';
import { DerivedCache } from './derived.js';
import {
  KernelChooser, isVariant, tuneKernels, type KernelProbe, type TunableOp, type TuneOptions, type TuneResult, type TuningStore, type VariantOf,
} from './tuning.js';

/** One timed pass of runtime.profile(). */
export interface ProfiledPass { operation: string; label: string; ms: number }

/** Timestamp queries per profiled submit (two per pass); passes past it are not timed. */
const PROFILE_QUERIES = 4096;

export interface RuntimeOptions {
  /** Borrow a host application's device. It is never destroyed by `destroy()`. */
  device?: GPUDevice;
  /** Where to request an adapter when no device is given (default `navigator.gpu`; Node: the `webgpu` package's `create()`). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /**
   * Cap the largest storage binding the runtime will use (bytes). Only for
   * testing the paths that split large tensors; defaults to the device limit.
   */
  maxBindingSize?: number;
  /** How many distinct uniform buffers to cache (default 4096); the least recently used go first. */
  maxCachedUniforms?: number;
  /** How many bind groups to cache (default 4096); the least recently used go first. */
  maxCachedBindGroups?: number;
  /** Testing aid: fill every tensor allocated without data with NaN, so an element a kernel forgets to write shows up. */
  poisonNewTensors?: boolean;
  /**
   * Which family of kernels the ops use. 'tiled': shared-memory tiles and
   * barriers (right for real GPUs). 'direct': each invocation computes a
   * register block with no workgroup memory (right for CPU implementations
   * such as SwiftShader, where barriers and workgroup memory are expensive).
   * Default: 'direct' on a fallback / SwiftShader adapter, else 'tiled'.
   */
  kernelStyle?: KernelStyle;
  /**
   * Kernel variants to use whatever tuning measured: keys are an op
   * ('conv2d', 'conv2dTranspose', 'matmul') or 'op|shapeKey', values a variant
   * of KERNEL_VARIANTS (see src/gpu/tuning.ts and runtime.pinKernel).
   */
  pinnedKernels?: Record<string, string>;
  /**
   * Keep the variants measured by runtime.tune() / tuneModel() across page
   * loads: true uses localStorage (where it exists), or give any store with
   * getItem/setItem. Entries are keyed by the adapter's name. Default: memory only.
   */
  tuningCache?: boolean | TuningStore;
  /**
   * 'f16': the kernels with an f16 form read weights as f16 copies (docs/f16.md), with native f16
   * arithmetic where the device has 'shader-f16' and packed halves with f32 arithmetic elsewhere;
   * 'f16-packed': f16 weights, f32 arithmetic on every device. Conv2D weights on the GEMM core and
   * tiled-vec4, Dense weights on the GEMM core's matmul variants; the other kernels stay f32.
   * Default 'f32'. Can be changed later (runtime.precision).
   */
  precision?: Precision;
}

/** Weight precision of the kernels that have an f16 form (see RuntimeOptions.precision). */
export type Precision = 'f32' | 'f16' | 'f16-packed';
const PRECISIONS: readonly Precision[] = ['f32', 'f16', 'f16-packed'];

/**
 * Under an f16 precision on a 'tiled' (GPU) adapter, the default of these ops is their variant with the
 * fullest f16 form (native and packed, split-K) instead of the style's default, which has none; pins and
 * measured choices still come first. CPU adapters keep their direct kernels (no f16 form; the GEMM core
 * costs seconds of compiling per kernel on SwiftShader). A matmul reads an f16 copy only of an operand its
 * caller names as a weight (MatmulAttrs.weightOperand: a Dense layer's kernel); any other stays f32.
 */
const F16_DEFAULTS: Partial<Record<TunableOp, string>> = { conv2d: 'gemm128-conv', matmul: 'gemm128-splitk' };

export type KernelStyle = 'tiled' | 'direct';

/** 'direct' for CPU adapters (SwiftShader, or any fallback adapter), 'tiled' otherwise. */
export function kernelStyleFor(info: GPUAdapterInfo | undefined, isFallbackAdapter = false): KernelStyle {
  // Fields are read defensively: older browsers lack some of them.
  const text = info ? [info.vendor, info.architecture, info.device, info.description].join(' ').toLowerCase() : '';
  return isFallbackAdapter || info?.isFallbackAdapter === true || text.includes('swiftshader') ? 'direct' : 'tiled';
}

/** The limits worth raising above the WebGPU defaults for this work. */
/**
 * Uniform buffers are cached by content (parameters depend only on shapes,
 * so a model reuses a handful); the cap keeps a long session with many
 * shapes from growing the cache without bound.
 */
const MAX_CACHED_UNIFORMS = 4096;

/**
 * Bind groups are cached by pipeline and buffers: tensors come from a pool,
 * so in steady state a model's dispatches bind the same buffers call after call.
 */
const MAX_CACHED_BIND_GROUPS = 4096;

/** Idle staging buffers kept for reuse (readbacks of a few recurring sizes); past it they are destroyed. */
const MAX_FREE_STAGING = 16;

const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  if (options.device) {
    // A borrowed device: its adapter is only known through device.adapterInfo (Chrome 126+).
    const style = options.kernelStyle ?? kernelStyleFor(options.device.adapterInfo as GPUAdapterInfo | undefined);
    return new Runtime(options.device, false, { ...options, kernelStyle: style });
  }
  const gpu = options.gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new DeviceLostError('createRuntime', 'WebGPU is not available here (navigator.gpu is undefined): use Chrome 113+ or enable chrome://flags/#enable-unsafe-webgpu');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new DeviceLostError('createRuntime', 'no WebGPU adapter was found');
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  // timestamp-query: kernel timing (tuning, profile); subgroups: the GEMM
  // core's split-K reduce (src/ops/gemm.ts) uses shuffles where it has them;
  // shader-f16: its native f16 form (precision 'f16'; packed halves without it).
  const requiredFeatures = (['timestamp-query', 'subgroups', 'shader-f16'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'deconvnet-webgpu' });
  return new Runtime(device, true, {
    ...options, gpu, kernelStyle: options.kernelStyle ?? kernelStyleFor(adapter.info as GPUAdapterInfo | undefined, (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true),
  });
}

/**
 * Owns the GPU resources of the library: a cache of compiled pipelines (one
 * per kernel variant), a pool of storage buffers that tensors borrow and give
 * back, and a cache of uniform buffers keyed by their bytes.
 */
export class Runtime {
  readonly maxBindingSize: number;
  #pipelines = new Map<string, GPUComputePipeline>();
  #uniforms = new Map<string, GPUBuffer>();
  #retiredUniforms: GPUBuffer[] = [];
  #free = new Map<number, GPUBuffer[]>();
  #owned = new Set<GPUBuffer>();
  #bytesHeld = 0;
  #bytesInUse = 0;
  #stagingBytes = 0;
  /** Mappable staging buffers for readbacks, pooled by size like the storage buffers. */
  #freeStaging = new Map<number, GPUBuffer[]>();
  #staging = new Set<GPUBuffer>();
  #freeStagingCount = 0;
  readonly #bindGroups: BindGroupCache;
  #lost: GPUDeviceLostInfo | null = null;
  #destroyed = false;
  /** Per buffer: how many writes the library recorded or queued into it (see Tensor.version). */
  #versions = new WeakMap<GPUBuffer, number>();
  /** Per pipeline key: the @binding indices its WGSL declares `read_write` (what a dispatch writes). */
  #writable = new Map<string, readonly number[]>();
  /** Weights transposed / transformed once and reused until the weight changes (see src/gpu/derived.ts). */
  readonly derived = new DerivedCache();

  readonly #poison: boolean;
  readonly #maxUniforms: number;
  /**
   * The GPU object the device was requested from, held for the runtime's life:
   * in Node, Dawn's instance lives only as long as the object `create()` of the
   * `webgpu` package returned, and a garbage collection that frees it while its
   * device works crashes the process (SIGSEGV, a futex abort or a hang; see
   * scripts/dawn-crash-case.ts). `createRuntime({ gpu: create([]) })` holds
   * no other reference.
   */
  readonly #gpu: GPU | null;
  /** Kernel family the ops pick their variants from (see RuntimeOptions.kernelStyle). */
  readonly kernelStyle: KernelStyle;
  /** Kernel variant choices: pins, measured results (see src/gpu/tuning.ts). */
  readonly kernels: KernelChooser;
  #precision: Precision = 'f32';

  constructor(readonly device: GPUDevice, readonly ownsDevice: boolean, options: RuntimeOptions = {}) {
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.maxBindingSize = Math.min(limit, options.maxBindingSize ?? limit);
    this.#poison = options.poisonNewTensors ?? false;
    this.#maxUniforms = Math.max(1, options.maxCachedUniforms ?? MAX_CACHED_UNIFORMS);
    this.#gpu = ownsDevice ? options.gpu ?? null : null;
    this.kernelStyle = options.kernelStyle ?? 'tiled';
    this.precision = options.precision ?? 'f32';
    const info = device.adapterInfo as GPUAdapterInfo | undefined;
    const adapter = info ? [info.vendor, info.architecture, info.device, info.description].join('/') : 'unknown';
    const local = (globalThis as { localStorage?: TuningStore }).localStorage;
    const store = options.tuningCache === true ? local ?? null : options.tuningCache || null;
    this.kernels = new KernelChooser(this.kernelStyle, adapter, store, options.pinnedKernels);
    this.#bindGroups = new BindGroupCache(Math.max(1, options.maxCachedBindGroups ?? MAX_CACHED_BIND_GROUPS));
    device.lost.then((info) => { this.#lost = info; });
  }

  /**
   * Counters for stating what a piece of work cost on the host side.
   * submits: submits of recorded work (a Recorder; a read recorded with
   * `rec.read()` rides in it); readSubmits: submits made by `runtime.read()`
   * alone, a copy of a tensor whose work was submitted before; mapAsync:
   * staging buffers mapped (one per read); buffersCreated: GPU buffers the
   * runtime created (tensors, uniforms, staging); bindGroupsCreated: bind
   * groups created (the rest come from the cache); bytesRead: bytes copied to the CPU.
   */
  readonly stats = { submits: 0, readSubmits: 0, mapAsync: 0, buffersCreated: 0, bindGroupsCreated: 0, bytesRead: 0 };

  /** GPU bytes held by this runtime: pooled and in-use tensors plus cached uniforms (staging buffers: stagingBytes). */
  get bytesHeld(): number { return this.#bytesHeld; }
  /** GPU bytes of tensors handed out and not yet released: what live results hold. */
  get bytesInUse(): number { return this.#bytesInUse; }
  /** GPU bytes of the mappable staging buffers readbacks go through (pooled, at most MAX_FREE_STAGING kept). */
  get stagingBytes(): number { return this.#stagingBytes; }
  /** GPU bytes of cached derived tensors (transformed weights, src/gpu/derived.ts): part of bytesHeld, not of bytesInUse. */
  get derivedBytes(): number { return this.derived.bytes; }
  get isLost(): boolean { return this.#lost !== null; }

  /** Weight precision of the kernels with an f16 form (RuntimeOptions.precision); takes effect from the next op recorded. */
  get precision(): Precision { return this.#precision; }
  set precision(value: Precision) {
    if (!PRECISIONS.includes(value)) throw new OutOfRangeError(`runtime precision '${String(value)}' is not one of ${PRECISIONS.join(', ')}`);
    this.#precision = value;
  }

  assertUsable(operation: string): void {
    if (this.#destroyed) throw new DestroyedError(`${operation}: the runtime was destroyed`);
    if (this.#lost) throw new DeviceLostError(operation, this.#lost.message || this.#lost.reason);
  }

  // ---- tensors ---------------------------------------------------------

  /** A tensor of `shape`, uninitialised unless `data` is given. */
  createTensor(shape: readonly number[], data?: ArrayBufferView, dtype: DType = 'f32', label = 'tensor'): Tensor {
    this.assertUsable(`createTensor(${label})`);
    const size = shapeSize(shape);
    if (!Number.isInteger(size) || size <= 0 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new DeviceLimitError(`createTensor(${label}): invalid shape [${shape}]`);
    }
    const bytes = size * 4;
    if (bytes > this.maxBindingSize) {
      throw new DeviceLimitError(
        `${label}: tensor [${shape}] needs ${bytes} bytes, over the device's storage binding limit of ${this.maxBindingSize} bytes`);
    }
    if (data && data.byteLength !== bytes) {
      throw new DeviceLimitError(`createTensor(${label}): data has ${data.byteLength} bytes, shape [${shape}] needs ${bytes}`);
    }
    const buffer = this.#takeBuffer(bytes);
    this.markWritten(buffer);
    if (data) this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    else if (this.#poison) this.device.queue.writeBuffer(buffer, 0, new Uint32Array(size).fill(0x7fc00000));
    return new Tensor(this, buffer, shape, dtype);
  }

  /**
   * A host's own GPUBuffer as a tensor, without a copy: f32 (or u32) values,
   * row-major (NCHW for images), from byte 0; usage must include STORAGE,
   * COPY_SRC and COPY_DST. The host keeps ownership: release() only drops the
   * tensor, the library never destroys or pools a wrapped buffer.
   */
  wrapBuffer(buffer: GPUBuffer, shape: readonly number[], dtype: DType = 'f32', label = buffer.label || 'wrapped buffer'): Tensor {
    this.assertUsable(`wrapBuffer(${label})`);
    const bytes = shapeSize(shape) * 4;
    if (shape.some((d) => !Number.isInteger(d) || d <= 0) || bytes > buffer.size) {
      throw new ShapeError(`wrapBuffer(${label}): shape [${shape}] needs ${bytes} bytes; the buffer has ${buffer.size}`);
    }
    if (bytes > this.maxBindingSize) throw new DeviceLimitError(`wrapBuffer(${label}): ${bytes} bytes is over the storage binding limit of ${this.maxBindingSize}`);
    const needed = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    if ((buffer.usage & needed) !== needed) {
      throw new UnsupportedError(`wrapBuffer(${label}): the buffer's usage (0x${buffer.usage.toString(16)}) lacks STORAGE | COPY_SRC | COPY_DST`);
    }
    return new Tensor(this, buffer, shape, dtype);
  }

  #takeBuffer(bytes: number): GPUBuffer {
    this.#bytesInUse += bytes;
    const pooled = this.#free.get(bytes)?.pop();
    if (pooled) return pooled;
    const buffer = this.#createBuffer(bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    this.#owned.add(buffer);
    this.#bytesHeld += bytes;
    return buffer;
  }

  #createBuffer(size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    this.stats.buffersCreated++;
    return this.device.createBuffer({ size, usage });
  }

  /** Destroys a storage or uniform buffer counted in bytesHeld, and the bind groups that bind it. */
  #destroyBuffer(buffer: GPUBuffer): void {
    this.#bytesHeld -= buffer.size;
    this.#bindGroups.forget(buffer);
    buffer.destroy();
  }

  /** Called by Tensor.release(): the buffer goes back to the pool (a wrapped one is only dropped), with what was derived from it. */
  releaseBuffer(buffer: GPUBuffer): void {
    this.derived.dropSource(buffer);
    if (!this.#owned.has(buffer)) return;
    this.#bytesInUse -= buffer.size;
    pushTo(this.#free, buffer);
  }

  /**
   * Writes `data` into `tensor` from element `offset` (queue order: submits
   * after this see it) and bumps its version, so transforms derived from it are rebuilt.
   */
  writeTensor(tensor: Tensor, data: Float32Array | Uint32Array, offset = 0): void {
    tensor.assertLive('writeTensor');
    if (!Number.isInteger(offset) || offset < 0 || offset + data.length > tensor.size) {
      throw new ShapeError(`writeTensor: ${data.length} values from element ${offset} do not fit tensor [${tensor.shape}]`);
    }
    this.device.queue.writeBuffer(tensor.buffer, offset * 4, data.buffer, data.byteOffset, data.byteLength);
    this.markWritten(tensor.buffer);
  }

  /** @internal How many writes were recorded into `buffer` (Tensor.version). */
  versionOf(buffer: GPUBuffer): number { return this.#versions.get(buffer) ?? 0; }

  /** @internal Counts one more write into `buffer` (Tensor.markWritten, Recorder.dispatch). */
  markWritten(buffer: GPUBuffer): void {
    this.#versions.set(buffer, this.versionOf(buffer) + 1);
  }

  /** @internal Moves `bytes` of tensors from bytesInUse to derivedBytes (negative: back), see DerivedCache. */
  moveToDerived(bytes: number): void {
    this.#bytesInUse -= bytes;
  }

  /** Frees pooled buffers nobody uses right now (storage and staging), and the bind groups that used them. */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const buffer of list) {
        this.#owned.delete(buffer);
        this.#destroyBuffer(buffer);
      }
    }
    this.#free.clear();
    for (const list of this.#freeStaging.values()) for (const buffer of list) this.#destroyStaging(buffer);
    this.#freeStaging.clear();
    this.#freeStagingCount = 0;
  }

  /** @internal A mappable buffer of `bytes` to copy a readback into, from the pool (Recorder.read). */
  takeStaging(bytes: number): GPUBuffer {
    const pooled = this.#freeStaging.get(bytes)?.pop();
    if (pooled) {
      this.#freeStagingCount--;
      return pooled;
    }
    const buffer = this.#createBuffer(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.#staging.add(buffer);
    this.#stagingBytes += bytes;
    return buffer;
  }

  /** @internal Gives a staging buffer back, unmapped; one whose mapping failed is destroyed instead. */
  returnStaging(buffer: GPUBuffer, reusable: boolean): void {
    if (!this.#staging.has(buffer)) return; // the runtime was destroyed meanwhile
    if (reusable && !this.#destroyed && this.#freeStagingCount < MAX_FREE_STAGING) {
      pushTo(this.#freeStaging, buffer);
      this.#freeStagingCount++;
      return;
    }
    this.#destroyStaging(buffer);
  }

  #destroyStaging(buffer: GPUBuffer): void {
    this.#staging.delete(buffer);
    this.#stagingBytes -= buffer.size;
    buffer.destroy();
  }

  /**
   * Copies a tensor whose work was already submitted to the CPU: one submit
   * holding only the copy, into a pooled staging buffer. To read the result
   * of work in the same submit as the work, use `rec.read()` instead.
   */
  async read(tensor: Tensor): Promise<Float32Array> {
    const rec = this.#record(`read [${tensor.shape}]`, 'read');
    let data: Promise<Float32Array>;
    try {
      data = rec.read(tensor);
    } catch (e) {
      rec.abandon();
      throw e;
    }
    await rec.submit();
    return data;
  }

  /** @internal The error a failed mapAsync of a readback becomes. */
  readFailure(operation: string, cause: unknown): unknown {
    if (this.#lost || this.#destroyed) return new DeviceLostError(operation, this.#lost?.message || this.#lost?.reason || 'the runtime was destroyed');
    return cause;
  }

  /** Reads a u32 tensor (switches, indices) as integers. */
  async readU32(tensor: Tensor): Promise<Uint32Array> {
    const f = await this.read(new Tensor(this, tensor.buffer, tensor.shape, 'f32'));
    return new Uint32Array(f.buffer);
  }

  // ---- pipelines and uniforms -------------------------------------------

  /** The compiled pipeline for one kernel variant, built on first use. */
  pipeline(key: string, code: () => string): GPUComputePipeline {
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      const wgsl = code();
      const module = this.device.createShaderModule({ label: key, code: wgsl });
      pipeline = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.#pipelines.set(key, pipeline);
      this.#writable.set(key, writableBindings(wgsl));
    }
    return pipeline;
  }

  /** @internal The @binding indices the pipeline under `key` writes (declared `var<storage, read_write>`). */
  writableBindingsOf(key: string): readonly number[] {
    return this.#writable.get(key) ?? [];
  }

  /** A uniform buffer holding `bytes`, shared by every dispatch with the same parameters. */
  uniform(bytes: ArrayBuffer): GPUBuffer {
    const key = Array.from(new Uint32Array(bytes)).join(',');
    let buffer = this.#uniforms.get(key);
    if (buffer) {
      // Most recently used goes last, so eviction takes the stalest.
      this.#uniforms.delete(key);
      this.#uniforms.set(key, buffer);
      return buffer;
    }
    if (this.#uniforms.size >= this.#maxUniforms) {
      const [staleKey, stale] = this.#uniforms.entries().next().value as [string, GPUBuffer];
      this.#uniforms.delete(staleKey);
      // A recording in progress may still bind it: destroy only after the next submit.
      this.#retiredUniforms.push(stale);
      this.#bindGroups.forget(stale);
    }
    buffer = this.#createBuffer(bytes.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.#bytesHeld += bytes.byteLength;
    this.device.queue.writeBuffer(buffer, 0, bytes);
    this.#uniforms.set(key, buffer);
    return buffer;
  }

  /** @internal Called by Recorder after a submit: frees uniforms evicted from the cache. */
  destroyRetiredUniforms(): void {
    for (const buffer of this.#retiredUniforms) this.#destroyBuffer(buffer);
    this.#retiredUniforms = [];
  }

  /**
   * The bind group of `pipeline` (cached under `pipelineKey`) binding
   * `buffers` whole at @binding(0), (1), ...: created once per combination.
   */
  bindGroup(pipelineKey: string, pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[], label: string): GPUBindGroup {
    return this.#bindGroups.get(pipelineKey, buffers, () => {
      this.stats.bindGroupsCreated++;
      const entries = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      return this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
    });
  }

  // ---- kernel variants -------------------------------------------------------

  /**
   * The kernel variant `op` uses for one shape signature: pinned, else
   * measured by tune(), else this adapter's default. `probe` lets tune() time
   * the op alone on this shape (ops pass it; only called while tuning);
   * `supports` says which variants compute this shape (default: all): the
   * tuner times only those, and a pin that cannot take the shape is passed over.
   * Under an f16 precision the adapter default may be an f16 variant instead (F16_DEFAULTS).
   */
  kernelVariant<Op extends TunableOp>(op: Op, shapeKey: string, probe?: () => KernelProbe, supports?: (variant: string) => boolean): VariantOf<Op> {
    const chosen = this.kernels.choose(op, shapeKey, probe, supports);
    const variant = this.#f16Default(op, shapeKey, supports) ?? chosen;
    // Pins and stored choices were checked against VARIANT_TABLE when they came in; this cannot throw.
    if (!isVariant(op, variant)) throw new OutOfRangeError(`kernel variants: ${op} has no variant "${variant}"`);
    return variant;
  }

  #f16Default(op: TunableOp, shapeKey: string, supports?: (variant: string) => boolean): string | undefined {
    const f16 = F16_DEFAULTS[op];
    if (!f16 || this.#precision === 'f32' || this.kernelStyle !== 'tiled') return undefined;
    if (this.kernels.explain(op, shapeKey, supports).source !== 'default') return undefined;
    return (supports?.(f16) ?? true) ? f16 : undefined;
  }

  /** Uses `variant` for `op` on one shape (or every shape), whatever tuning measured. */
  pinKernel(op: TunableOp, variant: string, shapeKey?: string): void {
    this.kernels.pin(op, variant, shapeKey);
  }

  unpinKernel(op: TunableOp, shapeKey?: string): void {
    this.kernels.unpin(op, shapeKey);
  }

  /**
   * Runs `work` once, collecting the (op, shape) pairs it hits, then times
   * every candidate kernel of each on this device (timestamp queries where
   * the device has them) and keeps the fastest. See also tuneModel().
   */
  tune(work: () => Promise<void>, options?: TuneOptions): Promise<TuneResult[]> {
    this.assertUsable('tune');
    return tuneKernels(this, work, options);
  }

  // ---- recording and submitting -------------------------------------------

  /** Starts recording passes for one submit; see Recorder. */
  record(operation: string): Recorder {
    return this.#record(operation, 'work');
  }

  #record(operation: string, kind: 'work' | 'read'): Recorder {
    this.assertUsable(operation);
    const rec = new Recorder(this, operation, kind);
    if (this.#profiling && kind === 'work') this.#profilePasses(rec, this.#profiling);
    return rec;
  }

  #profiling: Array<Promise<ProfiledPass[]>> | null = null;

  /**
   * Runs `work` with every pass of every submit it makes timed by timestamp
   * queries: the GPU time of each kernel, in submit order, labelled with its
   * operation and pass name. Where a target is missed, this says which kernels
   * the time goes to. Null where the device lacks 'timestamp-query'.
   */
  async profile(work: () => Promise<void>): Promise<ProfiledPass[] | null> {
    this.assertUsable('profile');
    if (!this.device.features.has('timestamp-query')) return null;
    if (this.#profiling) throw new Error('profile: already profiling (one profile at a time per runtime)');
    const submits: Array<Promise<ProfiledPass[]>> = [];
    this.#profiling = submits;
    try {
      await work();
    } finally {
      this.#profiling = null;
    }
    return (await Promise.all(submits)).flat();
  }

  /** Gives `rec` its own query set; its passes' times join `into` once its submit is done. */
  #profilePasses(rec: Recorder, into: Array<Promise<ProfiledPass[]>>): void {
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES, label: `profile ${rec.operation}` });
    into.push(timePasses(rec, querySet, PROFILE_QUERIES)
      .then((passes) => passes.map((p) => ({ operation: rec.operation, ...p })))
      .finally(() => querySet.destroy()));
  }

  /** Records with `fn`, submits once, and surfaces GPU errors as typed errors. */
  async run<T>(operation: string, fn: (rec: Recorder) => T): Promise<T> {
    const rec = this.record(operation);
    let result: T;
    try {
      result = fn(rec);
    } catch (e) {
      rec.abandon();
      throw e;
    }
    await rec.submit();
    return result;
  }

  /** @internal used by Recorder: error scopes around recording + submit. */
  pushScopes(): void {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
  }

  /**
   * @internal Pops both scopes pushScopes() pushed, in the same tick (so a
   * scope the host pushes while we wait is never ours to pop): one await.
   */
  async popScopes(operation: string): Promise<void> {
    let validation: GPUError | null, oom: GPUError | null;
    try {
      [validation, oom] = await Promise.all([this.device.popErrorScope(), this.device.popErrorScope()]);
    } catch (e) {
      // Popping rejects (OperationError) once the device or its instance is gone,
      // e.g. a browser that drops the instance when a canvas cannot be presented.
      throw new DeviceLostError(operation, this.#lost?.message || (e instanceof Error ? e.message : String(e)));
    }
    if (this.#lost) throw new DeviceLostError(operation, this.#lost.message || this.#lost.reason);
    if (validation) throw new GpuValidationError(operation, validation.message);
    if (oom) throw new GpuOutOfMemoryError(operation, oom.message);
  }

  /** Frees every buffer and pipeline it created; a borrowed device stays alive. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const buffer of [...this.#owned, ...this.#staging, ...this.#uniforms.values(), ...this.#retiredUniforms]) buffer.destroy();
    this.#retiredUniforms = [];
    this.#owned.clear();
    this.#free.clear();
    this.#staging.clear();
    this.#freeStaging.clear();
    this.#freeStagingCount = 0;
    this.#stagingBytes = 0;
    this.#uniforms.clear();
    this.#bindGroups.clear();
    this.#pipelines.clear();
    this.#writable.clear();
    this.derived.clear();
    this.#bytesHeld = 0;
    this.#bytesInUse = 0;
    if (this.ownsDevice) this.device.destroy();
  }

  /** Same as destroy() (see disposeSymbol). */
  [disposeSymbol](): void { this.destroy(); }
}

/** The binding indices `wgsl` declares as writable storage: what a dispatch of it writes. */
export function writableBindings(wgsl: string): number[] {
  const found: number[] = [];
  for (const m of wgsl.matchAll(/@binding\(\s*(\d+)\s*\)\s*var\s*<\s*storage\s*,\s*read_write\s*>/g)) found.push(Number(m[1]));
  return found;
}

function pushTo(pool: Map<number, GPUBuffer[]>, buffer: GPUBuffer): void {
  let list = pool.get(buffer.size);
  if (!list) pool.set(buffer.size, (list = []));
  list.push(buffer);
}

/**
 * Bind groups keyed by pipeline and the identity of every bound buffer, least
 * recently used evicted first. A buffer about to be destroyed is forgotten
 * with every bind group that binds it.
 */
class BindGroupCache {
  #entries = new Map<string, { group: GPUBindGroup; buffers: readonly GPUBuffer[] }>();
  #keysOf = new Map<GPUBuffer, Set<string>>();
  #ids = new WeakMap<GPUBuffer, number>();
  #nextId = 1;

  constructor(private readonly capacity: number) {}

  get(pipelineKey: string, buffers: readonly GPUBuffer[], create: () => GPUBindGroup): GPUBindGroup {
    const key = `${pipelineKey}|${buffers.map((b) => this.#id(b)).join(',')}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.group;
    }
    if (this.#entries.size >= this.capacity) this.#drop(this.#entries.keys().next().value as string);
    const group = create();
    this.#entries.set(key, { group, buffers: [...buffers] });
    for (const b of buffers) {
      let keys = this.#keysOf.get(b);
      if (!keys) this.#keysOf.set(b, (keys = new Set()));
      keys.add(key);
    }
    return group;
  }

  forget(buffer: GPUBuffer): void {
    for (const key of [...(this.#keysOf.get(buffer) ?? [])]) this.#drop(key);
    this.#keysOf.delete(buffer);
  }

  clear(): void {
    this.#entries.clear();
    this.#keysOf.clear();
  }

  /** How many bind groups are cached (tests). */
  get size(): number { return this.#entries.size; }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    for (const b of entry.buffers) {
      const keys = this.#keysOf.get(b);
      keys?.delete(key);
      if (keys?.size === 0) this.#keysOf.delete(b);
    }
  }

  #id(buffer: GPUBuffer): number {
    let id = this.#ids.get(buffer);
    if (id === undefined) this.#ids.set(buffer, (id = this.#nextId++));
    return id;
  }
}

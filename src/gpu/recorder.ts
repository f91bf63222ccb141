import type { Runtime } from './runtime.js';
import type { Tensor } from './tensor.js';
import { DeviceLimitError } from './errors.js';
import type { KernelProgram } from '../../shaders/kernel.js';

/**
 * What one kernel launch needs: the shape every op file produces after it has
 * validated its inputs and parsed its attributes. A shader module's program
 * factory (defineKernel, shaders/kernel.ts) gives all but the buffers:
 * `rec.dispatch({ ...transposeProgram(...), buffers: [x, y] })`.
 */
export interface Program extends KernelProgram {
  /** Storage buffers bound at @binding(1), @binding(2), ... in this order. */
  buffers: Array<Tensor | GPUBuffer>;
}

/** Something a recording hands out that must be given back if the recording fails (a result, a tensor). */
export interface Releasable { release(): void }

/** A readback recorded into a submit: the copy's staging buffer and who awaits its data. */
interface PendingRead {
  staging: GPUBuffer;
  dtype: 'f32' | 'u32';
  settle: (data: Float32Array) => void;
  fail: (e: unknown) => void;
}

/**
 * Records the work of one submit. Created by `runtime.record()`, which pushes
 * the runtime's two error scopes; `submit()` pops both: recording must not
 * await in between, so that the scopes nest strictly inside whatever scopes
 * the host pushed. Consecutive dispatches share one compute pass (WebGPU
 * orders storage writes between dispatches in a pass); a pass ends only where
 * something else is recorded on the encoder (a copy, a readback) or where
 * each dispatch is timed (tuning, profiling). Temporary tensors registered
 * with `temp()` go back to the pool once the work is submitted (queue order
 * makes later reuse safe).
 */
export class Recorder {
  readonly #encoder: GPUCommandEncoder;
  /** The compute pass consecutive dispatches share, while no other command has been recorded. */
  #pass: GPUComputePassEncoder | null = null;
  #passPipeline: GPUComputePipeline | null = null;
  /**
   * When set, each pass writes a begin and an end timestamp at the next two
   * indices of the query set (while capacity lasts): kernel timing (tuning, profiling).
   */
  timestamps: {
    querySet: GPUQuerySet; next: number; capacity: number;
    /** The label of each timed pass, in order. */
    labels: string[];
    /** Called just before the encoder is finished (to resolve the queries); what it returns runs after the submit. */
    beforeFinish: (encoder: GPUCommandEncoder, used: number) => (() => void);
    /** Called when the recording is dropped instead. */
    onAbandon: () => void;
  } | null = null;
  #temps: Tensor[] = [];
  #owned: Releasable[] = [];
  #reads: PendingRead[] = [];
  #done = false;

  constructor(readonly runtime: Runtime, readonly operation: string, private readonly kind: 'work' | 'read' = 'work') {
    runtime.pushScopes();
    this.#encoder = runtime.device.createCommandEncoder({ label: operation });
  }

  /** The command encoder, for commands other than dispatches (copies): ends the shared compute pass first. */
  get encoder(): GPUCommandEncoder {
    this.#endPass();
    return this.#encoder;
  }

  /** Allocates an output tensor from the runtime's pool. */
  tensor(shape: readonly number[], label: string, dtype: 'f32' | 'u32' = 'f32'): Tensor {
    return this.runtime.createTensor(shape, undefined, dtype, label);
  }

  /** Marks a tensor as scratch: released after submit. */
  temp<T extends Tensor>(t: T): T {
    this.#temps.push(t);
    return t;
  }

  /**
   * Marks a result recorded here as the caller's once the submit succeeds:
   * released if the recording is abandoned or its submit fails.
   */
  own<T extends Releasable>(result: T): T {
    this.#owned.push(result);
    return result;
  }

  /**
   * Records a copy of `tensor` (as it stands at this point of the recording)
   * into a pooled staging buffer, in this submit: no submit of its own. The
   * promise settles after `submit()`, with the values (u32 tensors converted
   * to numbers), or rejects with the submit's error.
   */
  read(tensor: Tensor): Promise<Float32Array> {
    tensor.assertLive(`read [${tensor.shape}]`);
    if (this.#done) throw new Error(`${this.operation}: read after submit`);
    const staging = this.runtime.takeStaging(tensor.byteLength);
    this.encoder.copyBufferToBuffer(tensor.buffer, 0, staging, 0, tensor.byteLength);
    const data = new Promise<Float32Array>((settle, fail) => this.#reads.push({ staging, dtype: tensor.dtype, settle, fail }));
    // A caller that awaits submit() and sees it fail need not also await this.
    data.catch(() => undefined);
    return data;
  }

  /** Records one dispatch of `program`, in the shared compute pass (its own pass when timed). */
  dispatch(program: Program, label = program.name): void {
    const [x, y, z] = program.dispatch;
    const max = this.runtime.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new DeviceLimitError(`${label}: dispatch [${x}, ${y}, ${z}] is over the device's ${max} workgroups per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const pipeline = this.runtime.pipeline(program.key, program.shader);
    const buffers = [this.runtime.uniform(program.params), ...program.buffers.map((b) => ('buffer' in b ? b.buffer : b))];
    const bindGroup = this.runtime.bindGroup(program.key, pipeline, buffers, label);
    const pass = this.#passFor(label);
    if (pass !== this.#pass || this.#passPipeline !== pipeline) pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (pass !== this.#pass) pass.end();
    else this.#passPipeline = pipeline;
    // Every buffer the kernel may write (outputs, in-place updates such as optimizer steps) has a new version.
    for (const binding of this.runtime.writableBindingsOf(program.key)) {
      const written = buffers[binding];
      if (written) this.runtime.markWritten(written);
    }
  }

  /** The shared pass, or a pass of its own writing timestamps when this dispatch is timed. */
  #passFor(label: string): GPUComputePassEncoder {
    const ts = this.timestamps;
    if (ts && ts.next + 2 <= ts.capacity) {
      this.#endPass();
      const timestampWrites = { querySet: ts.querySet, beginningOfPassWriteIndex: ts.next, endOfPassWriteIndex: ts.next + 1 };
      ts.next += 2;
      ts.labels.push(label);
      return this.#encoder.beginComputePass({ label, timestampWrites });
    }
    if (!this.#pass) {
      this.#pass = this.#encoder.beginComputePass({ label: this.operation });
      this.#passPipeline = null;
    }
    return this.#pass;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
    this.#passPipeline = null;
  }

  /**
   * Finishes, submits once, releases temporaries and reports GPU errors as
   * typed errors. Readbacks recorded with read() are mapped right after the
   * submit, in the same tick as the error scopes are popped: one wait.
   */
  async submit(): Promise<void> {
    if (this.#done) throw new Error(`${this.operation}: already submitted`);
    this.#done = true;
    this.#endPass();
    const afterSubmit = this.timestamps?.beforeFinish(this.#encoder, this.timestamps.next);
    this.runtime.device.queue.submit([this.#encoder.finish()]);
    afterSubmit?.();
    if (this.kind === 'read') this.runtime.stats.readSubmits++;
    else this.runtime.stats.submits++;
    this.runtime.destroyRetiredUniforms();
    const errors = this.runtime.popScopes(this.operation);
    // Mapped now, in the same tick as the pops; each settles its own promise and never rejects.
    for (const r of this.#reads) void this.#settleRead(r, errors);
    for (const t of this.#temps) t.release();
    try {
      await errors;
    } catch (e) {
      for (const r of this.#owned) r.release();
      throw e;
    }
  }

  /** Maps one readback's staging buffer; settles its promise and gives the buffer back. */
  async #settleRead(r: PendingRead, errors: Promise<void>): Promise<void> {
    const rt = this.runtime;
    rt.stats.mapAsync++;
    rt.stats.bytesRead += r.staging.size;
    const [mapped, checked] = await Promise.allSettled([r.staging.mapAsync(GPUMapMode.READ), errors]);
    try {
      if (checked.status === 'rejected') throw checked.reason;
      if (mapped.status === 'rejected') throw rt.readFailure(this.operation, mapped.reason);
      const bytes = r.staging.getMappedRange().slice(0);
      r.settle(r.dtype === 'u32' ? new Float32Array(new Uint32Array(bytes)) : new Float32Array(bytes));
    } catch (e) {
      r.fail(e);
    } finally {
      if (mapped.status === 'fulfilled') r.staging.unmap();
      rt.returnStaging(r.staging, mapped.status === 'fulfilled');
    }
  }

  /** Drops what was recorded (after an exception while recording). */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    this.timestamps?.onAbandon();
    for (const t of this.#temps) t.release();
    for (const r of this.#owned) r.release();
    for (const r of this.#reads) {
      this.runtime.returnStaging(r.staging, true);
      r.fail(new Error(`${this.operation}: the recording was abandoned`));
    }
    void this.runtime.popScopes(this.operation).catch(() => undefined);
  }
}

/** GPU time of one pass. */
export interface PassTime { label: string; ms: number }

/**
 * Times every pass `rec` records (two queries of `querySet` a pass, while
 * `capacity` lasts). The queries are resolved in the same command buffer; the
 * promise settles after the submit with each pass's GPU time in recording
 * order (empty if nothing was timed or the recording was abandoned).
 */
export function timePasses(rec: Recorder, querySet: GPUQuerySet, capacity: number): Promise<PassTime[]> {
  // Timing attached before (a tuner run inside runtime.profile) gives way: its promise settles empty.
  rec.timestamps?.onAbandon();
  return new Promise((settle, fail) => {
    const labels: string[] = [];
    rec.timestamps = {
      querySet, next: 0, capacity, labels,
      beforeFinish: (encoder, used) => {
        if (used === 0) return () => settle([]);
        const device = rec.runtime.device;
        const resolved = device.createBuffer({ size: used * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
        const readback = device.createBuffer({ size: used * 8, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
        encoder.resolveQuerySet(querySet, 0, used, resolved, 0);
        encoder.copyBufferToBuffer(resolved, 0, readback, 0, used * 8);
        return () => {
          readback.mapAsync(GPUMapMode.READ).then(() => {
            const stamps = new BigInt64Array(readback.getMappedRange().slice(0));
            const passes: PassTime[] = [];
            for (let i = 0; i + 1 < used; i += 2) passes.push({ label: labels[i / 2]!, ms: Number(stamps[i + 1]! - stamps[i]!) / 1e6 });
            settle(passes);
          }, fail).finally(() => { readback.destroy(); resolved.destroy(); });
        };
      },
      onAbandon: () => settle([]),
    };
  });
}

export { dispatch1d } from '../../shaders/kernel.js';

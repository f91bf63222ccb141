import type { Runtime } from './runtime.js';
import type { Tensor } from './tensor.js';
import { DeviceLimitError } from './errors.js';

/**
 * What one kernel launch needs: the shape every op file produces after it has
 * validated its inputs and parsed its attributes.
 */
export interface Program {
  /** Kernel name, used in labels and error messages. */
  name: string;
  /** Pipeline cache key: the kernel name plus every preprocessor flag and constant baked into the code. */
  key: string;
  /** Builds the WGSL (only called on a cache miss). */
  shader: () => string;
  /** Packed `Params` uniform, bound at @binding(0). */
  params: ArrayBuffer;
  /** Storage buffers bound at @binding(1), @binding(2), ... in this order. */
  buffers: Array<Tensor | GPUBuffer>;
  /** Workgroups in x, y, z. */
  dispatch: [number, number, number];
}

/**
 * Records the compute passes of one submit. Created by `runtime.record()`
 * which opens the error scopes; `submit()` closes them, so recording must not
 * await in between. Temporary tensors registered with `temp()` go back to the
 * pool once the work is submitted (queue order makes later reuse safe).
 */
export class Recorder {
  readonly encoder: GPUCommandEncoder;
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
  #done = false;

  constructor(readonly runtime: Runtime, readonly operation: string) {
    runtime.pushScopes();
    this.encoder = runtime.device.createCommandEncoder({ label: operation });
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

  /** Records one compute pass running `program`. */
  dispatch(program: Program, label = program.name): void {
    const [x, y, z] = program.dispatch;
    const max = this.runtime.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new DeviceLimitError(`${label}: dispatch [${x}, ${y}, ${z}] is over the device's ${max} workgroups per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const pipeline = this.runtime.pipeline(program.key, program.shader);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.runtime.uniform(program.params) } }];
    program.buffers.forEach((b, i) => {
      const buffer = 'buffer' in b ? b.buffer : b;
      entries.push({ binding: i + 1, resource: { buffer } });
    });
    const bindGroup = this.runtime.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
    const ts = this.timestamps;
    let timestampWrites: GPUComputePassTimestampWrites | undefined;
    if (ts && ts.next + 2 <= ts.capacity) {
      timestampWrites = { querySet: ts.querySet, beginningOfPassWriteIndex: ts.next, endOfPassWriteIndex: ts.next + 1 };
      ts.next += 2;
      ts.labels.push(label);
    }
    const pass = this.encoder.beginComputePass(timestampWrites ? { label, timestampWrites } : { label });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
  }

  /** Finishes, submits once, releases temporaries and reports GPU errors as typed errors. */
  async submit(): Promise<void> {
    if (this.#done) throw new Error(`${this.operation}: already submitted`);
    this.#done = true;
    const afterSubmit = this.timestamps?.beforeFinish(this.encoder, this.timestamps.next);
    this.runtime.device.queue.submit([this.encoder.finish()]);
    afterSubmit?.();
    this.runtime.stats.submits++;
    this.runtime.destroyRetiredUniforms();
    const errors = this.runtime.popScopes(this.operation);
    for (const t of this.#temps) t.release();
    await errors;
  }

  /** Drops what was recorded (after an exception while recording). */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    this.timestamps?.onAbandon();
    for (const t of this.#temps) t.release();
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

/** Workgroup counts for a 1-D element-wise kernel, folded into y past 65535 (see flatIndexFn). */
export function dispatch1d(elements: number, workgroupSize: number): [number, number, number] {
  const groups = Math.ceil(elements / workgroupSize);
  if (groups <= 65535) return [groups, 1, 1];
  const x = 65535;
  return [x, Math.ceil(groups / x), 1];
}

import type { Runtime } from './runtime.js';
import { DestroyedError } from './errors.js';

export type DType = 'f32' | 'u32';

/**
 * The key `using` looks for: `Symbol.dispose` where the engine has it, else
 * the registered symbol that transpilers (esbuild, Babel) fall back to. Not a
 * polyfill: nothing global is written. Results, tensors, models and the
 * runtime all follow one convention: `release()` (results, tensors) or
 * `destroy()` (models, the runtime) frees the GPU memory, is idempotent, and
 * `[Symbol.dispose]()` calls it, so `using fwd = await model.forward(x)` works.
 */
export const disposeSymbol: typeof Symbol.dispose =
  ((Symbol as { dispose?: symbol }).dispose ?? Symbol.for('Symbol.dispose')) as typeof Symbol.dispose;

/**
 * A dense row-major (NCHW for images) array living in a GPU storage buffer.
 * The buffer belongs to the runtime's pool: `release()` hands it back for
 * reuse, it is never destroyed behind the owner's back.
 */
export class Tensor {
  readonly size: number;
  #released = false;

  constructor(
    readonly runtime: Runtime,
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType = 'f32',
  ) {
    this.size = shapeSize(shape);
  }

  get byteLength(): number { return this.size * 4; }
  get released(): boolean { return this.#released; }

  /**
   * How many writes the library has recorded into this tensor's buffer
   * (uploads, kernels writing it, optimizer steps in place): transforms cached
   * from it (src/gpu/derived.ts) are rebuilt when it moves on. Views share it.
   */
  get version(): number { return this.runtime.versionOf(this.buffer); }

  /** Tells the library this tensor's buffer was written outside it (a host's queue.writeBuffer on a wrapped buffer). */
  markWritten(): void { this.runtime.markWritten(this.buffer); }

  /** A view of the same buffer with another shape of the same size (flatten, reshape). */
  reshape(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new Error(`reshape: [${this.shape}] has ${this.size} elements, [${shape}] has ${shapeSize(shape)}`);
    }
    return new TensorView(this, shape);
  }

  /** Copies the tensor to the CPU. Only call this for what a user asked to see. */
  read(): Promise<Float32Array> {
    this.assertLive('read');
    return this.runtime.read(this);
  }

  assertLive(operation: string): void {
    if (this.#released) throw new DestroyedError(`${operation}: tensor [${this.shape}] was already released`);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.runtime.releaseBuffer(this.buffer);
  }

  /** Same as release() (see disposeSymbol). */
  [disposeSymbol](): void { this.release(); }
}

/** Shares its base's buffer; releasing a view releases the base. */
class TensorView extends Tensor {
  constructor(private readonly base: Tensor, shape: readonly number[]) {
    super(base.runtime, base.buffer, shape, base.dtype);
  }
  override get released(): boolean { return this.base.released; }
  override assertLive(operation: string): void { this.base.assertLive(operation); }
  override release(): void { this.base.release(); }
}

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

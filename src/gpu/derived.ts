// Tensors derived from a weight (transposed, flipped, Winograd-transformed),
// built once and reused until the weight changes.
//
// Every write the library records into a tensor bumps the version of its
// buffer (Recorder.dispatch bumps each buffer bound `read_write`; uploads and
// queue writes go through runtime.writeTensor / tensor.markWritten). A cached
// derived tensor remembers the version it was built from and is rebuilt when
// the source's version moved on, so a training step or any in-place write is
// never answered from a stale transform.
import type { Recorder } from './recorder.js';
import type { Tensor } from './tensor.js';
import { ShapeError } from './errors.js';

/**
 * The tensor `build` derives from `source`, cached under (source's buffer, `key`).
 *
 * Contract:
 * - `key` names the transform and everything it depends on besides the
 *   source's values (e.g. `'ihwo'`, `'winograd-4:forward'`, `'flip:[1,0,2,3]'`):
 *   two calls with the same key must want the same tensor.
 * - `build(rec)` records the transform into `rec` (the caller's recording,
 *   no submit of its own) and returns a NEW tensor it allocated (rec.tensor,
 *   not rec.temp, not a view of the source); it is only called when nothing
 *   valid is cached: never built, or the source was written since.
 * - The returned tensor belongs to the cache: callers read it, never write
 *   it, never release it. It lives until the source is released (model
 *   destroyed, tensor released), a rebuild replaces it (the old one is
 *   released after that submit), or the recording that built it is
 *   abandoned or its submit fails (then the next call builds again).
 * - Its bytes count in runtime.derivedBytes and bytesHeld, not in bytesInUse
 *   (which stays what live results hold, so a first call does not read as a leak).
 * - A host that writes a wrapped buffer itself (queue.writeBuffer on its own
 *   GPUBuffer) must call tensor.markWritten() afterwards.
 */
export function derivedTensor(rec: Recorder, source: Tensor, key: string, build: (rec: Recorder) => Tensor): Tensor {
  return rec.runtime.derived.get(rec, source, key, build);
}

interface Entry { version: number; tensor: Tensor }

/** The runtime's cache of derived tensors (runtime.derived); see derivedTensor. */
export class DerivedCache {
  #bySource = new Map<GPUBuffer, Map<string, Entry>>();
  #bytes = 0;
  /** Transforms recorded (cache misses) and cache hits since the runtime was created: what tests count. */
  readonly counts = { builds: 0, hits: 0 };

  /** GPU bytes of the cached derived tensors. */
  get bytes(): number { return this.#bytes; }

  get(rec: Recorder, source: Tensor, transform: string, build: (rec: Recorder) => Tensor): Tensor {
    source.assertLive(`derived tensor '${transform}'`);
    // Views of one buffer with other shapes derive other tensors.
    const key = `${transform}@[${source.shape}]`;
    const version = source.version;
    const cached = this.#bySource.get(source.buffer)?.get(key);
    if (cached && cached.version === version) {
      this.counts.hits++;
      return cached.tensor;
    }
    // The stale one may still be bound earlier in this recording: released after the submit.
    if (cached) this.#forget(source.buffer, key, cached, (t) => rec.temp(t));
    const tensor = build(rec);
    if (tensor.buffer === source.buffer) throw new ShapeError(`derived tensor '${key}': build returned the source's own buffer, not a new tensor`);
    const entry: Entry = { version, tensor };
    let entries = this.#bySource.get(source.buffer);
    if (!entries) this.#bySource.set(source.buffer, (entries = new Map()));
    entries.set(key, entry);
    this.#bytes += tensor.byteLength;
    rec.runtime.moveToDerived(tensor.byteLength);
    this.counts.builds++;
    // Its contents exist only once this recording is submitted without error.
    rec.own({ release: () => this.#forget(source.buffer, key, entry, (t) => t.release()) });
    return tensor;
  }

  /** @internal Called when a source buffer is released: its derived tensors go too. */
  dropSource(source: GPUBuffer): void {
    const entries = this.#bySource.get(source);
    if (!entries) return;
    for (const [key, entry] of [...entries]) this.#forget(source, key, entry, (t) => t.release());
  }

  /** @internal The runtime was destroyed: its buffers are gone already. */
  clear(): void {
    this.#bySource.clear();
    this.#bytes = 0;
  }

  #forget(source: GPUBuffer, key: string, entry: Entry, release: (t: Tensor) => void): void {
    const entries = this.#bySource.get(source);
    if (entries?.get(key) !== entry) return; // replaced or dropped already
    entries.delete(key);
    if (entries.size === 0) this.#bySource.delete(source);
    this.#bytes -= entry.tensor.byteLength;
    entry.tensor.runtime.moveToDerived(-entry.tensor.byteLength);
    release(entry.tensor);
  }
}

import { FILL_TERMS, WORKGROUP, fillKernel, fillParams } from '../../shaders/fill.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';

// Constants made on the GPU from a formula (see shaders/fill.ts): the weights
// of a graph that creates them itself (ONNX ConstantOfShape, Range, ...) never
// exist on the host, however large. A layer takes `Weights`: stored values or
// such a formula, and uploads either the same way (BaseLayer.upload).

/** One term of a fill formula: coef * (index / div % mod), integer division. */
export interface FillTerm { coef: number; div: number; mod: number }

/**
 * `count` values, value j = start + sum_t coef_t * ((offset + j) / div_t % mod_t).
 * No terms: every value is `start`.
 */
export interface FillSpec {
  readonly kind: 'fill';
  readonly count: number;
  readonly start: number;
  readonly terms: readonly FillTerm[];
  /** Index of value 0 in the formula's index space (a row chunk of a larger tensor). Default 0. */
  readonly offset?: number;
}

/** A layer's weights: row-major values, or a formula the GPU evaluates. */
export type Weights = Float32Array | FillSpec;

export const MAX_FILL_TERMS = FILL_TERMS;
const U32_LIMIT = 2 ** 32;

export function isFill(w: unknown): w is FillSpec {
  return typeof w === 'object' && w !== null && (w as Partial<FillSpec>).kind === 'fill';
}

/** How many values `w` holds. */
export function weightCount(w: Weights): number {
  return isFill(w) ? w.count : w.length;
}

/** Values [from, to) of `w`: a view of stored values, or the same formula shifted. */
export function weightSlice(w: Weights, from: number, to: number): Weights {
  if (!isFill(w)) return w.subarray(from, to);
  return { ...w, count: to - from, offset: (w.offset ?? 0) + from };
}

/** Value j of a fill, in float64 (the host's reading of the formula). */
export function fillValue(spec: FillSpec, j: number): number {
  const i = (spec.offset ?? 0) + j;
  let v = spec.start;
  for (const t of spec.terms) v += t.coef * (Math.floor(i / t.div) % t.mod);
  return v;
}

function checkSpec(op: string, spec: FillSpec): void {
  const offset = spec.offset ?? 0;
  if (!Number.isInteger(spec.count) || spec.count < 1) throw new ShapeError(`${op}: count ${spec.count} must be a positive integer`);
  if (!Number.isInteger(offset) || offset < 0 || offset + spec.count > U32_LIMIT) {
    throw new OutOfRangeError(`${op}: values ${offset} .. ${offset + spec.count} are outside the 32-bit index space of the formula`);
  }
  if (!Number.isFinite(spec.start)) throw new OutOfRangeError(`${op}: start ${spec.start} is not finite`);
  if (spec.terms.length > MAX_FILL_TERMS) throw new OutOfRangeError(`${op}: ${spec.terms.length} terms, at most ${MAX_FILL_TERMS}`);
  for (const t of spec.terms) {
    const ok = Number.isFinite(t.coef) && [t.div, t.mod].every((d) => Number.isInteger(d) && d >= 1 && d < U32_LIMIT);
    if (!ok) throw new OutOfRangeError(`${op}: term ${JSON.stringify(t)} needs a finite coef and integer div, mod in 1 .. 2^32-1`);
  }
}

/** Records writing `spec`'s values into `out` (which has exactly spec.count values). */
export function fill(rec: Recorder, out: Tensor, spec: FillSpec): Tensor {
  const op = 'fill';
  checkSpec(op, spec);
  if (out.size !== spec.count) throw new ShapeError(`${op}: the formula has ${spec.count} values, the output [${out.shape}] ${out.size}`);
  if (out.dtype !== 'f32') throw new ShapeError(`${op}: the output must be f32`);
  const terms = Array.from({ length: MAX_FILL_TERMS }, (_, t) => spec.terms[t] ?? { coef: 0, div: 1, mod: 1 });
  const packed: Record<string, number> = { count: spec.count, offset: spec.offset ?? 0, start: spec.start };
  terms.forEach((t, k) => { packed[`c${k}`] = t.coef; packed[`d${k}`] = t.div; packed[`m${k}`] = t.mod; });
  rec.dispatch({
    ...fillKernel.program(undefined, fillParams.pack(packed as Parameters<typeof fillParams.pack>[0]), dispatch1d(spec.count, WORKGROUP), op),
    buffers: [out],
  });
  return out;
}

/** Fill submits not yet known to have succeeded, per runtime. */
const pending = new WeakMap<Runtime, Set<Promise<void>>>();

/**
 * A new tensor of `shape` holding `spec`'s values, written by one submit.
 * Like an upload (createTensor with data), it returns at once: the values are
 * in place for any work submitted later (queue order). `fillsSettled(rt)`
 * reports a failed fill as a typed error.
 */
export function fillTensor(rt: Runtime, shape: readonly number[], spec: FillSpec, label: string): Tensor {
  const t = rt.createTensor(shape, undefined, 'f32', label);
  const rec = rt.record(`fill ${label}`);
  try {
    fill(rec, t, spec);
  } catch (e) {
    rec.abandon();
    t.release();
    throw e;
  }
  const done = rec.submit();
  const set = pending.get(rt) ?? new Set();
  pending.set(rt, set);
  set.add(done);
  done.catch(() => undefined); // reported by fillsSettled
  return t;
}

/** Waits for every fill submitted on `rt` so far; throws the first one's error. */
export async function fillsSettled(rt: Runtime): Promise<void> {
  const set = pending.get(rt);
  if (!set) return;
  const all = [...set];
  set.clear();
  const results = await Promise.allSettled(all);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

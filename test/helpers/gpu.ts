// Shared set-up of the browser tests: one runtime per test file on a device
// whose uncaptured errors are collected, and the accuracy checks of the issue.
import { afterAll, afterEach, expect, vi } from 'vitest';
import { createRuntime, type Runtime, type Recorder } from '../../src/index.js';

let runtimePromise: Promise<Runtime> | null = null;
const uncaptured: string[] = [];

/** A runtime whose new tensors are poisoned with NaN, so unwritten outputs fail. */
export function getRuntime(): Promise<Runtime> {
  if (!runtimePromise) {
    runtimePromise = (async () => {
      const rt = await createRuntime({ poisonNewTensors: true });
      rt.device.addEventListener('uncapturederror', (e) => {
        uncaptured.push((e as GPUUncapturedErrorEvent).error.message);
      });
      return rt;
    })();
  }
  return runtimePromise;
}

afterEach(() => {
  const errors = uncaptured.splice(0);
  expect(errors, 'uncaptured WebGPU errors').toEqual([]);
});

afterAll(async () => {
  if (runtimePromise) (await runtimePromise).destroy();
  runtimePromise = null;
});

/**
 * The accuracy bar: relative L2 error under 1e-5, no element off by
 * more than 1e-4 of the largest reference magnitude, never a NaN.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what = 'output', tol = { rel: 1e-5, elem: 1e-4 }): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let diff2 = 0, ref2 = 0, maxRef = 0, maxErr = 0, worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!Number.isFinite(a)) throw new Error(`${what}: element ${i} is ${a} (expected ${e})`);
    const d = a - e;
    diff2 += d * d;
    ref2 += e * e;
    maxRef = Math.max(maxRef, Math.abs(e));
    if (Math.abs(d) > maxErr) { maxErr = Math.abs(d); worst = i; }
  }
  const rel = ref2 === 0 ? Math.sqrt(diff2) : Math.sqrt(diff2 / ref2);
  const elemTol = tol.elem * Math.max(maxRef, 1e-30);
  expect(rel, `${what}: relative L2 error (worst element ${worst}: ${actual[worst]} vs ${expected[worst]})`).toBeLessThan(tol.rel);
  expect(maxErr, `${what}: max element error (element ${worst})`).toBeLessThanOrEqual(elemTol);
}

/**
 * Runs `fn` in one recording and counts its compute passes and submits (a kernel's cost, for tests
 * that state it), the pipeline keys it dispatched, and the kernel variants the ops were given.
 */
export async function counted<T>(rt: Runtime, name: string, fn: (rec: Recorder) => T): Promise<{
  result: T; passes: number; submits: number; keys: string[]; variants: string[];
}> {
  const rec = rt.record(name);
  const dispatch = rec.dispatch.bind(rec);
  const keys: string[] = [];
  rec.dispatch = (program, label) => { keys.push(program.key); dispatch(program, label); };
  // What the kernel chooser answered: it falls back silently where a pinned variant cannot take the shape.
  const chooser = vi.spyOn(rt, 'kernelVariant');
  const before = rt.stats.submits;
  const variants: string[] = [];
  let result: T;
  try {
    result = fn(rec);
  } finally {
    variants.push(...chooser.mock.results.map((r) => r.value as string));
    chooser.mockRestore();
  }
  await rec.submit();
  return { result, passes: keys.length, submits: rt.stats.submits - before, keys, variants };
}

import { expect } from 'vitest';

/** Bit-for-bit equality (fused vs unfused kernels doing the same arithmetic), naming the first element that differs. */
export function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const at = actual.findIndex((v, i) => !Object.is(v, expected[i]));
  expect(at, `${what}: first difference at ${at} (${actual[at]} vs ${expected[at]})`).toBe(-1);
}

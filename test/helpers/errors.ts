// The error check of the op tests: recording `run` on the shared runtime
// fails with `type`, and the message names every one of `parts`.
import { expect } from 'vitest';
import type { DeconvNetError, Recorder } from '../../src/index.js';
import { getRuntime } from './gpu.js';

export async function expectError(
  run: (rec: Recorder) => unknown, type: new (...args: never[]) => DeconvNetError, parts: Array<string | number>,
): Promise<void> {
  const rt = await getRuntime();
  let caught: unknown = null;
  try {
    await rt.run('error case', run);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(type);
  for (const p of parts) expect((caught as Error).message).toContain(String(p));
}

// Shared by the importer fuzz tests.
import type { ModelSpec } from '../../src/index.js';

/**
 * Whether the spec's weights are ones a comparable output can be asked of:
 * all within +-1e4 and no negative variance. A mutated weight of 1e38 or a
 * variance of -3 makes Inf or NaN, at places that depend on the order of
 * float32 sums, on any implementation.
 */
export function moderateWeights(spec: ModelSpec): boolean {
  let ok = true;
  JSON.stringify(spec.nodes, (key, value) => {
    if (value instanceof Float32Array) {
      for (const v of value) if (!(Math.abs(v) <= 1e4) || (/variance/i.test(key) && v < 0)) ok = false;
      return null;
    }
    return value;
  });
  return ok;
}

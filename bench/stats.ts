// Interleaved timing: the implementations of one workload run in turn,
// A B (C) A B (C) ..., after warm-up rounds, so that a change in the load of
// the machine (another process taking the CPUs SwiftShader runs on) hits
// every implementation alike instead of whichever happened to run then.

export interface Summary {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  samples: number[];
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), min: s[0] ?? Number.NaN, max: s[s.length - 1] ?? Number.NaN, q1: quantile(s, 0.25), q3: quantile(s, 0.75), samples };
}

export interface Contender {
  name: string;
  /** One timed unit of work, ending with the queue drained (a readback); may return the data read back. */
  run: () => Promise<unknown>;
  /** Called after each run, outside the timed region (bookkeeping). */
  after?: () => void;
}

export interface Outcome {
  summary: Summary | null;
  error: string | null;
  /** What the first (warm-up) run returned, to compare implementations. */
  first: unknown;
}

/**
 * Runs `warmup` untimed rounds, then `repeats` timed rounds, each round
 * running every contender once in the same order. A contender that throws is
 * dropped (its error kept) and the others go on.
 */
export async function interleave(contenders: Contender[], warmup: number, repeats: number, log: (line: string) => void): Promise<Map<string, Outcome>> {
  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const errors = new Map<string, string>();
  const firsts = new Map<string, unknown>();
  for (let round = 0; round < warmup + repeats; round++) {
    const line: string[] = [];
    for (const c of contenders) {
      if (errors.has(c.name)) continue;
      const start = performance.now();
      try {
        const out = await c.run();
        if (!firsts.has(c.name)) firsts.set(c.name, out);
      } catch (e) {
        errors.set(c.name, e instanceof Error ? `${e.name}: ${e.message}` : String(e));
        line.push(`${c.name} failed`);
        continue;
      }
      const ms = performance.now() - start;
      c.after?.();
      if (round >= warmup) times.get(c.name)!.push(ms);
      line.push(`${c.name} ${ms.toFixed(0)} ms`);
    }
    log(`  ${round < warmup ? 'warm-up' : `round ${round - warmup + 1}/${repeats}`}: ${line.join(', ')}`);
  }
  const out = new Map<string, Outcome>();
  for (const c of contenders) {
    const err = errors.get(c.name);
    const t = times.get(c.name)!;
    out.set(c.name, { summary: err === undefined && t.length > 0 ? summarize(t) : null, error: err ?? null, first: firsts.get(c.name) });
  }
  return out;
}

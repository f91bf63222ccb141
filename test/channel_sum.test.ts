import { describe, expect, it } from 'vitest';
import { CHANNEL_CHUNK, ROWS_PIECE, channelSum, channelSumPlan } from '../src/ops/channel_sum.js';
import { ShapeError } from '../src/gpu/errors.js';
import type { Recorder } from '../src/gpu/recorder.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { getRuntime, expectClose, counted } from './helpers/gpu.js';
import { KERNEL_STYLES, styledRuntime } from './helpers/kernel_styles.js';
import { makeRandom } from './helpers/random.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** sum over every axis but 1, in float64, straight from the definition. */
function channelSumRef(x: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const c = shape[1]!;
  const inner = size(shape.slice(2));
  const out = new Float64Array(c);
  for (let i = 0; i < x.length; i++) out[Math.floor(i / inner) % c] += x[i]!;
  return out;
}

/** `direct`: the plan of the 'direct' kernel style (runs along [inner], then a serial pass over the partials). */
const CASES: Array<{ name: string; shape: number[]; variant: 'serial' | 'tree'; passes: number; direct: ['serial' | 'rows', number] }> = [
  { name: '[N,C,H,W] small (one invocation per channel)', shape: [2, 5, 3, 4], variant: 'serial', passes: 1, direct: ['serial', 1] },
  { name: '[N,F] dense bias', shape: [7, 10], variant: 'serial', passes: 1, direct: ['serial', 1] },
  { name: '[N,F] with many features', shape: [300, 1100], variant: 'serial', passes: 1, direct: ['serial', 1] },
  { name: '[N,C,H,W] one workgroup per channel', shape: [3, 6, 13, 11], variant: 'tree', passes: 1, direct: ['rows', 2] },
  { name: '[N,F] tall (many rows, few features)', shape: [700, 3], variant: 'tree', passes: 1, direct: ['serial', 1] },
  { name: '[N,C,L] rank 3', shape: [4, 3, 100], variant: 'tree', passes: 1, direct: ['rows', 2] },
  { name: 'large N*H*W = 3*60*61 split into chunks', shape: [3, 2, 60, 61], variant: 'tree', passes: 2, direct: ['rows', 2] },
  { name: 'large N*H*W = 5*48*48, 7 channels, ragged last chunk', shape: [5, 7, 48, 48], variant: 'tree', passes: 2, direct: ['rows', 2] },
  { name: 'one image, H*W = 70*61 > ROWS_PIECE (2 pieces per run)', shape: [1, 2, 70, 61], variant: 'tree', passes: 1, direct: ['rows', 2] },
  { name: 'one image, one piece per run (no second pass)', shape: [1, 3, 20, 20], variant: 'tree', passes: 1, direct: ['rows', 1] },
];

for (const style of KERNEL_STYLES) describe(`channelSum [${style}]`, () => {
  CASES.forEach((c, index) => {
    it(c.name, async () => {
      const rt = await styledRuntime(style);
      // Offset values so cancellation cannot hide a missing term.
      const data = makeRandom(40 + index).array(size(c.shape), -0.5, 1.5);
      const g = rt.createTensor(c.shape, data);
      const plan = channelSumPlan(c.shape, style);
      const [variant, passesWanted] = style === 'direct' ? c.direct : [c.variant, c.passes];
      expect(plan.variant).toBe(variant);
      const { result, passes, submits } = await counted(rt, c.name, (rec) => channelSum(rec, g));
      expect(passes).toBe(passesWanted);
      expect(submits).toBe(1);
      expect(result.shape).toEqual([c.shape[1]]);
      expectClose(await result.read(), channelSumRef(data, c.shape), c.name);
      g.release(); result.release();
    });
  });

  if (style === 'direct') it('direct: cuts each [inner] run into ROWS_PIECE pieces', () => {
    expect(channelSumPlan([1, 2, 70, 61], 'direct').chunks).toBe(Math.ceil(70 * 61 / ROWS_PIECE));
    expect(channelSumPlan([64, 32, 28, 28], 'direct')).toMatchObject({ variant: 'rows', chunks: 1 });
  });

  if (style === 'tiled') it('splits a long channel into CHANNEL_CHUNK pieces', () => {
    expect(channelSumPlan([3, 2, 60, 61]).chunks).toBe(Math.ceil(3 * 60 * 61 / CHANNEL_CHUNK));
    expect(channelSumPlan([64, 32, 28, 28]).chunks).toBe(Math.ceil(64 * 784 / CHANNEL_CHUNK));
    expect(channelSumPlan([64, 10]).chunks).toBe(1);
  });

  it('is deterministic and holds no extra memory after repeated and failed calls', async () => {
    const rt = await styledRuntime(style);
    const shape = [3, 2, 60, 61];
    const g = rt.createTensor(shape, makeRandom(3).array(size(shape)));
    const first = await rt.run('warm-up', (rec) => channelSum(rec, g));
    const ref = Array.from(await first.read());
    first.release();
    const flat = rt.createTensor([5]);
    const held = rt.bytesHeld;
    for (let i = 0; i < 3; i++) {
      const again = await rt.run('again', (rec) => channelSum(rec, g));
      expect(Array.from(await again.read())).toEqual(ref);
      again.release();
    }
    await expect(rt.run('bad', (rec) => channelSum(rec, flat))).rejects.toBeInstanceOf(ShapeError);
    expect(rt.bytesHeld).toBe(held);
    flat.release();
    g.release();
  });

  it('ShapeError: rank 1 and u32 input', async () => {
    const rt = await getRuntime();
    const v = rt.createTensor([6]);
    await expect(rt.run('rank 1', (rec) => channelSum(rec, v))).rejects.toThrow(/input \[6\] must have at least 2 axes/);
    const u = rt.createTensor([2, 3], new Uint32Array(6), 'u32');
    await expect(rt.run('u32', (rec) => channelSum(rec, u))).rejects.toThrow(/must be f32, got u32/);
    v.release(); u.release();
  });
});

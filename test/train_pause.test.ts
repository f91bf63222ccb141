// Pausing and stopping a training run (TrainOptions.pause / signal), and
// feature snapshots handed out while it runs (onSnapshot).
import { describe, it, expect } from 'vitest';
import { createModel, isTrainable, type Model } from '../src/index.js';
import { train, type TrainLogEntry, type TrainOptions } from '../src/train/trainer.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { makeTinyNet, TINY_INPUT_SHAPE } from './helpers/nets.js';

/** The training tests' tiny net (1x6x6 input, 3 classes) with fixed initial weights. */
async function tinyModel(): Promise<Model> {
  return createModel(await getRuntime(), { inputShape: TINY_INPUT_SHAPE, layers: makeTinyNet(21).layers() });
}

const n = 16;
const data = { images: makeRandom(4).array(n * 36, 0, 1), labels: Uint8Array.from({ length: n }, (_, i) => i % 3), count: n };
const options = (extra: Partial<TrainOptions> = {}): TrainOptions => ({
  epochs: 2, batchSize: 4, logEvery: 1, optimizer: { kind: 'adam', learningRate: 0.05 }, ...extra,
});

async function parameters(model: Model): Promise<number[][]> {
  const tensors = model.layers.flatMap((l) => (isTrainable(l) ? l.parameters() : []));
  return Promise.all(tensors.map(async (t) => Array.from(await t.read())));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A pause switch as a page holds one: pause() returns a promise that resume() settles. */
function pauseSwitch() {
  let resume: (() => void) | null = null;
  let waiting: Promise<void> | null = null;
  let entered = 0;
  return {
    pause() { waiting ??= new Promise<void>((r) => { resume = () => { waiting = null; r(); }; }); },
    resume() { resume?.(); },
    /** What train() awaits before each step. */
    wait: (): Promise<void> | undefined => { if (waiting) entered++; return waiting ?? undefined; },
    get entered() { return entered; },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('train: pause, stop, snapshots while running', () => {
  it('a paused run submits nothing until resumed, then ends exactly where an unpaused run ends', async () => {
    const rt = await getRuntime();
    const plain = await tinyModel();
    const plainLog: TrainLogEntry[] = [];
    await train(plain, data, options({ onLog: (e) => plainLog.push(e) }));

    const paused = await tinyModel();
    const sw = pauseSwitch();
    const log: TrainLogEntry[] = [];
    const run = train(paused, data, options({
      pause: sw.wait,
      onLog: (e) => { log.push(e); if (log.length === 3) sw.pause(); },
    }));
    await until(() => sw.entered > 0, 'the run to reach the pause');
    const [logged, submits] = [log.length, rt.stats.submits];
    await sleep(300);
    expect(log.length).toBe(logged);
    expect(rt.stats.submits).toBe(submits);
    expect(logged).toBe(3);
    sw.resume();
    await run;

    expect(log.map((e) => [e.step, e.loss])).toEqual(plainLog.map((e) => [e.step, e.loss]));
    expect(log).toHaveLength(8);
    expect(await parameters(paused)).toEqual(await parameters(plain));
    plain.destroy();
    paused.destroy();
  });

  it('aborting a paused run rejects at once with AbortError (the pause never settling) and frees its buffers', async () => {
    const rt = await getRuntime();
    const model = await tinyModel();
    const inUse = rt.bytesInUse;
    const controller = new AbortController();
    let steps = 0;
    let entered = false;
    const run = train(model, data, options({
      signal: controller.signal,
      onLog: () => { steps++; },
      pause: () => { if (steps < 2) return; entered = true; return new Promise<void>(() => {}); },
    }));
    await until(() => entered, 'the run to reach the pause');
    const t0 = performance.now();
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(steps).toBe(2);
    expect(rt.bytesInUse).toBe(inUse);
    model.destroy();
  });

  it('onSnapshot hands out each listed epoch\'s snapshots before the run goes on, the same ones train() returns', async () => {
    const model = await tinyModel();
    const seen: Array<{ epoch: number; features: string[]; logsBefore: number }> = [];
    let logs = 0;
    const result = await train(model, data, options({
      epochs: 3,
      onLog: () => { logs++; },
      snapshots: { epochs: [1, 3], probe: { images: data.images.subarray(0, 6 * 36), count: 6 }, features: [{ layer: 'conv', channel: 1 }, { layer: 'fc', channel: 0 }] },
      onSnapshot: (snaps) => seen.push({ epoch: snaps[0]!.epoch, features: snaps.map((s) => `${s.layer}:${s.channel}`), logsBefore: logs }),
    }));
    expect(seen).toEqual([
      { epoch: 1, features: ['conv:1', 'fc:0'], logsBefore: 4 },
      { epoch: 3, features: ['conv:1', 'fc:0'], logsBefore: 12 },
    ]);
    expect(result.snapshots.map((s) => [s.epoch, s.layer, s.channel])).toEqual([[1, 'conv', 1], [1, 'fc', 0], [3, 'conv', 1], [3, 'fc', 0]]);
    model.destroy();
  });
});

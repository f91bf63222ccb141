// Page side of bench/host-path.ts. Written against the public API only, with
// the newer entry points feature-detected, so that it also runs on a checkout
// from before they existed.
import { createRuntime, createModel, createDeconvNet, Conv2D, ReLU, MaxPool2D, Flatten, Dense, Softmax } from '../src/index.js';
import { interleave } from './stats.js';

/** Counts of what the host asked the GPU for, from wrapping the device's methods. */
interface Counts { submits: number; mapAsync: number; scopePops: number; serialWaits: number; buffers: number; bindGroups: number }

/**
 * Wraps the device so every submit, mapAsync, popErrorScope, createBuffer and
 * createBindGroup is counted. A "serial wait" is a point where the host had to
 * wait for the GPU before it could go on: a GPU promise issued after another
 * one resolved starts a new wait; promises issued together share one.
 */
function instrument(device: GPUDevice) {
  const counts: Counts = { submits: 0, mapAsync: 0, scopePops: 0, serialWaits: 0, buffers: 0, bindGroups: 0 };
  let epoch = 0;
  let lastWaitEpoch = -1;
  const waited = <T>(p: Promise<T>): Promise<T> => {
    if (lastWaitEpoch !== epoch) { counts.serialWaits++; lastWaitEpoch = epoch; }
    return p.finally(() => { epoch++; });
  };
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (buffers) => { counts.submits++; submit(buffers); };
  const pop = device.popErrorScope.bind(device);
  device.popErrorScope = () => { counts.scopePops++; return waited(pop()); };
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (d) => { counts.buffers++; return createBuffer(d); };
  const createBindGroup = device.createBindGroup.bind(device);
  device.createBindGroup = (d) => { counts.bindGroups++; return createBindGroup(d); };
  const mapAsync = GPUBuffer.prototype.mapAsync;
  GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    counts.mapAsync++;
    return waited(mapAsync.apply(this, args));
  };
  return {
    snapshot: (): Counts => ({ ...counts }),
    since: (before: Counts): Counts => {
      const d = { ...counts };
      for (const k of Object.keys(d) as Array<keyof Counts>) d[k] -= before[k];
      return d;
    },
  };
}

export async function main(a: { runs: number; size: number }) {
  const rt = await createRuntime();
  const meter = instrument(rt.device);
  const model = createModel(rt, {
    inputShape: [3, a.size, a.size],
    layers: [
      new Conv2D({ name: 'conv1', filters: 8, kernelSize: 3, padding: 'same' }), new ReLU(),
      new MaxPool2D({ name: 'pool1', kernel: 2 }),
      new Conv2D({ name: 'conv2', filters: 16, kernelSize: 3, padding: 'same' }), new ReLU(),
      new Flatten(), new Dense({ name: 'fc', units: 10 }), new Softmax({ name: 'prob' }),
    ],
  });
  const deconv = createDeconvNet(model);
  const x = Float32Array.from({ length: 3 * a.size * a.size }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
  const opts = { layer: 'conv2', channel: 3 } as const;
  // Newer entry points, where this checkout has them.
  const m = model as unknown as Record<string, unknown>;
  const d = deconv as unknown as Record<string, unknown>;
  const hasOneSubmit = typeof m.forwardIn === 'function' && typeof d.projectIn === 'function';
  const hasPredict = typeof m.predict === 'function';

  const paths: Array<[string, () => Promise<unknown>]> = [
    ['forward + project + read (3 calls)', async () => {
      const fwd = await model.forward(x);
      const proj = await deconv.project(fwd, opts);
      const { data } = await proj.read();
      proj.release(); fwd.release();
      return data;
    }],
    ['forward + readOutput (2 calls)', async () => {
      const fwd = await model.forward(x);
      const probs = await fwd.readOutput();
      fwd.release();
      return probs;
    }],
  ];
  if (hasOneSubmit) {
    paths.push(['forward + project + read (one submit)', async () => {
      const out = await rt.run('forward + project + read', (rec) => {
        const fwd = model.forwardIn(rec, x);
        const proj = deconv.projectIn(rec, fwd, opts);
        return { fwd, proj, data: rec.read(proj.tensor) };
      });
      const data = await out.data;
      out.proj.release(); out.fwd.release();
      return data;
    }]);
  }
  if (hasPredict) {
    paths.push(['predict', async () => (model as unknown as { predict(x: Float32Array): Promise<Float32Array> }).predict(x)]);
  }

  // Counts: one steady-state call of each path after warm-up (pipelines, pools, caches).
  const counts = new Map<string, Counts>();
  for (const [name, run] of paths) {
    for (let i = 0; i < 5; i++) await run();
    const before = meter.snapshot();
    await run();
    counts.set(name, meter.since(before));
  }
  // Wall time: the paths in turn, round after round, so a change in the machine's load hits them alike.
  const timed = await interleave(paths.map(([name, run]) => ({ name, run })), 3, a.runs, () => undefined);
  console.log(`host path of a small net (conv-relu-pool-conv-relu-dense-softmax, [1, 3, ${a.size}, ${a.size}]), steady state, ${a.runs} interleaved rounds, ${navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? ''}`);
  console.log('| path | submits | mapAsync | error-scope pops | serial GPU waits | buffers created | bind groups created | wall ms, median (q1-q3) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name] of paths) {
    const c = counts.get(name)!;
    const s = timed.get(name)!.summary;
    const ms = s ? `${s.median.toFixed(2)} (${s.q1.toFixed(2)}-${s.q3.toFixed(2)})` : timed.get(name)!.error;
    console.log(`| ${name} | ${c.submits} | ${c.mapAsync} | ${c.scopePops} | ${c.serialWaits} | ${c.buffers} | ${c.bindGroups} | ${ms} |`);
  }
  model.destroy(); rt.destroy();
}

// Page side of bench/transpose-profile.ts.
import { createRuntime, KernelTimer, conv2dTranspose, type Conv2dTransposeAttrs, type Recorder, type Tensor } from '../src/index.js';

interface Layer { name: string; x: number[]; w: number[]; attrs: Conv2dTransposeAttrs; macs: number }

export async function main(a: { c: number; size: number; repeats: number; variants: string; conv2d: string }) {
  const rt = await createRuntime();
  const timer = new KernelTimer(rt);
  const C = a.c, S = a.size;
  const layers: Layer[] = [
    { name: `3x3 stride 1 pads 1, ${C}->${C} at ${S}x${S}`, x: [1, C, S, S], w: [C, C, 3, 3], attrs: { padding: [1, 1, 1, 1] }, macs: C * C * 9 * S * S },
    { name: `2x2 stride 2, ${C}->${C / 2} at ${S}x${S} -> ${2 * S}x${2 * S}`, x: [1, C, S, S], w: [C, C / 2, 2, 2], attrs: { stride: 2 }, macs: C * (C / 2) * 4 * S * S },
  ];
  console.log(`timer: ${timer.kind}; adapter ${JSON.stringify(rt.device.adapterInfo?.description ?? rt.device.adapterInfo?.vendor)}`);
  const filled = (shape: number[], v: number): Tensor => rt.createTensor(shape, new Float32Array(shape.reduce((p, q) => p * q, 1)).fill(v));
  for (const layer of layers) {
    console.log(`\n${layer.name} (${(layer.macs / 1e9).toFixed(3)} G multiply-adds)`);
    const x = filled(layer.x, 0.5), w = filled(layer.w, 0.01);
    const run = (rec: Recorder) => rec.temp(conv2dTranspose(rec, x, w, null, layer.attrs));
    for (const v of a.variants.split(',').filter(Boolean)) {
      rt.pinKernel('conv2dTranspose', v);
      for (const forward of v === 'forward-conv' ? a.conv2d.split(',') : ['default']) {
        if (forward === 'default') rt.unpinKernel('conv2d');
        else rt.pinKernel('conv2d', forward);
        await timer.timeRecording(v, run as never); // warm-up: compiles, builds the cached phase weights
        const t: number[] = [];
        for (let i = 0; i < a.repeats; i++) t.push(await timer.timeRecording(v, run as never));
        t.sort((p, q) => p - q);
        const label = v === 'forward-conv' ? `forward-conv (conv2d ${forward})` : v;
        console.log(`${label.padEnd(34)} min ${t[0]!.toFixed(1).padStart(8)} ms  ${(2 * layer.macs / t[0]! / 1e6).toFixed(2)} GFLOP/s  (median ${t[Math.floor(t.length / 2)]!.toFixed(1)}; ${timer.lastPasses.length} passes)`);
      }
    }
    rt.unpinKernel('conv2d');
    x.release(); w.release();
  }
  timer.destroy();
  rt.destroy();
}

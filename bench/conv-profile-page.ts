// Page side of bench/conv-profile.ts: GPU time of one convolution shape under
// every registered kernel variant and a set of direct register blocks, with
// timestamp queries (KernelTimer; wall clock where the device lacks them).
import { createRuntime, KernelTimer, KERNEL_VARIANTS, conv2d, type Recorder } from '../src/index.js';
import { conv2dDirectShader, directBlockKey, directConvLaunch, type ConvProblem, type DirectConvBlock } from '../shaders/conv2d.js';

export async function main(a: { c: number; size: number; repeats: number; blocks: string; variants: string }) {
  const rt = await createRuntime();
  const timer = new KernelTimer(rt);
  const C = a.c, S = a.size;
  const x = rt.createTensor([1, C, S, S], new Float32Array(C * S * S).fill(0.5));
  const w = rt.createTensor([C, C, 3, 3], new Float32Array(C * C * 9).fill(0.01));
  const b = rt.createTensor([C], new Float32Array(C));
  const flops = 2 * C * C * 9 * S * S;
  console.log(`conv 3x3 ${C}->${C} at ${S}x${S}; timer: ${timer.kind}; adapter ${JSON.stringify(rt.device.adapterInfo?.description ?? rt.device.adapterInfo?.vendor)}`);
  const report = async (name: string, record: (rec: Recorder) => unknown) => {
    await timer.timeRecording(name, record as never);  // warm-up, compile
    const t: number[] = [];
    let fastest = Infinity, passes = timer.lastPasses;
    for (let i = 0; i < a.repeats; i++) {
      const ms = await timer.timeRecording(name, record as never);
      t.push(ms);
      if (ms < fastest) { fastest = ms; passes = timer.lastPasses; }
    }
    t.sort((p, q) => p - q);
    const med = t[Math.floor(t.length / 2)]!;
    // The minimum is what the kernel costs when it gets the machine (load only adds time); the median for the spread.
    console.log(`${name.padEnd(28)} min ${t[0]!.toFixed(1).padStart(8)} ms  ${(flops / t[0]! / 1e6).toFixed(2)} GFLOP/s  (median ${med.toFixed(1)}, max ${t[t.length - 1]!.toFixed(1)})`);
    // Where a variant records several passes (weight transpose, Winograd transforms), the fastest run's split.
    if (passes.length > 1) console.log(`${''.padEnd(28)} passes: ${passes.map((q) => `${q.label} ${q.ms.toFixed(1)}`).join(', ')}`);
    return med;
  };
  const only = a.variants === 'all' ? null : a.variants.split(',').filter(Boolean);
  for (const v of KERNEL_VARIANTS.conv2d.filter((n) => !only || only.includes(n))) {
    rt.pinKernel('conv2d', v);
    await report(`variant ${v}`, (rec) => rec.temp(conv2d(rec, x, w, b, { padding: 'same', activation: 'relu' })));
  }
  const problem: ConvProblem = {
    batch: 1, groups: 1, inC: C, inH: S, inW: S, outC: C, outH: S, outW: S, kH: 3, kW: 3,
    stride: [1, 1], dilation: [1, 1], padT: 1, padL: 1, cinG: C,
  };
  // A block RPxRM, or RPxRMt for weights read as [C, kH, kW, M] (transposed once here, outside the timing).
  const wt = rt.createTensor([C, 3, 3, C], new Float32Array(C * C * 9).fill(0.01));
  for (const spec of a.blocks.split(',').filter(Boolean)) {
    const ihwo = spec.endsWith('t');
    const [rP, rM] = spec.replace(/t$/, '').split('x').map(Number) as [number, number];
    const layout = ihwo ? 'ihwo' : 'oihw';
    const { block } = directConvLaunch(problem, { rP, rM } satisfies DirectConvBlock);
    await report(`direct ${directBlockKey(block)} ${layout}`, (rec) => {
      const y = rec.temp(rec.tensor([1, C, S, S], 'y'));
      const { params, dispatch } = directConvLaunch(problem, block);
      rec.dispatch({
        name: 'conv', key: `profile:${directBlockKey(block)}:${layout}`, shader: () => conv2dDirectShader({ block, bias: true, relu: true, weightLayout: layout }),
        params, buffers: [x, ihwo ? wt : w, y, b], dispatch,
      });
    });
  }
  wt.release();
  timer.destroy();
  rt.destroy();
}

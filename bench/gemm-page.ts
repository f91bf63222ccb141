// Page side of bench/gemm.ts.
import { createRuntime, KernelTimer, KERNEL_VARIANTS, conv2d, matmul, type Recorder } from '../src/index.js';
import { GEMM_CONV_VARIANTS, recordConvGemm } from '../src/ops/gemm.js';

export async function main(a: { n: number; repeats: number; conv: string }) {
  const adapter = await navigator.gpu.requestAdapter();
  const features = (['timestamp-query', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter!.features.has(f));
  const device = await adapter!.requestDevice({ requiredFeatures: features, requiredLimits: { maxStorageBufferBindingSize: adapter!.limits.maxStorageBufferBindingSize } });
  const rt = await createRuntime({ device });
  const timer = new KernelTimer(rt);
  console.log(`adapter ${JSON.stringify(device.adapterInfo?.description || device.adapterInfo?.vendor)}; timer ${timer.kind}; features ${features.join(', ')}`);
  const report = async (name: string, flops: number, record: (rec: Recorder) => unknown) => {
    await timer.timeRecording(name, record as never); // warm-up, compile
    const t: number[] = [];
    for (let i = 0; i < a.repeats; i++) t.push(await timer.timeRecording(name, record as never));
    t.sort((p, q) => p - q);
    console.log(`${name.padEnd(34)} min ${t[0]!.toFixed(1).padStart(8)} ms  ${(flops / t[0]! / 1e6).toFixed(2).padStart(7)} GFLOP/s  (median ${t[Math.floor(t.length / 2)]!.toFixed(1)})`);
    return t[0]!;
  };

  const n = a.n;
  const A = rt.createTensor([n, n], new Float32Array(n * n).fill(0.5)), B = rt.createTensor([n, n], new Float32Array(n * n).fill(0.25));
  const times: Record<string, number> = {};
  for (const v of KERNEL_VARIANTS.matmul) {
    rt.pinKernel('matmul', v);
    times[v] = await report(`matmul ${n}^3 ${v}`, 2 * n ** 3, (rec) => rec.temp(matmul(rec, A, B, null)));
  }
  rt.unpinKernel('matmul');
  console.log(`ratios vs 'tiled': ${Object.entries(times).map(([v, t]) => `${v} ${(times.tiled! / t).toFixed(2)}x`).join(', ')}`);

  const [C, S] = a.conv.split('x').map(Number) as [number, number];
  const x = rt.createTensor([1, C, S, S], new Float32Array(C * S * S).fill(0.5));
  const w = rt.createTensor([C, C, 3, 3], new Float32Array(C * C * 9).fill(0.01));
  const b = rt.createTensor([C], new Float32Array(C));
  const flops = 2 * C * C * 9 * S * S;
  const geometry = { batch: 1, groups: 1, inC: C, inH: S, inW: S, outC: C, outH: S, outW: S, kH: 3, kW: 3, stride: [1, 1] as const, dilation: [1, 1] as const, padT: 1, padL: 1, cinG: C };
  for (const [v, variant] of Object.entries(GEMM_CONV_VARIANTS)) {
    await report(`conv ${C}x${S} ${v}`, flops, (rec) => rec.temp(recordConvGemm(rec, x, w, b, geometry, true, variant).y));
  }
  for (const v of KERNEL_VARIANTS.conv2d.filter((name) => !(name in GEMM_CONV_VARIANTS))) {
    rt.pinKernel('conv2d', v);
    await report(`conv ${C}x${S} ${v}`, flops, (rec) => rec.temp(conv2d(rec, x, w, b, { padding: 'same', activation: 'relu' })));
  }
  for (const t of [A, B, x, w, b]) t.release();
  timer.destroy();
  rt.destroy();
  device.destroy();
}

// npx tsx bench/transpose-report.ts [--size 224] [--sms 132] [--conv2d tiled,tiled-vec4,gemm128-conv]
// The static kernel report (bench/kernel-report.ts's figures, from the generated
// WGSL and launch sizes, no GPU) of the transposed convolution's 'forward-conv'
// variant on VGG16's layers, with each forward conv2d variant pinned under it:
// what the DeconvNet filter step costs when it runs on the forward kernels.
import { analyzeWgsl } from './wgsl-analysis.js';
import { capture, captureRuntime } from './program-capture.js';
import { caseTensors, kernelCases, recordCase } from './kernel-cases.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const size = Number(arg('size', '224')), sms = Number(arg('sms', '132'));
const forwards = arg('conv2d', 'tiled,tiled-vec4,gemm128-conv').split(',');
const rt = await captureRuntime();
rt.pinKernel('conv2dTranspose', 'forward-conv');
const cases = kernelCases({ size, batches: [], matmulNs: [] }).filter((c) => c.op === 'conv2dTranspose');
console.log(['case', 'conv2d under forward-conv', 'passes', 'main wg', 'wg/SM', 'MAC/smem ld', 'MAC/glob B', 'inner div'].join(' | '));
for (const c of cases) {
  for (const forward of forwards) {
    rt.pinKernel('conv2d', forward);
    const t = caseTensors(rt, c);
    const call = () => capture(rt, async () => { (await rt.run(c.label, (rec) => recordCase(rec, c, t))).release(); });
    await call(); // builds the cached phase weights
    const steady = await call();
    const passes = steady.programs.map((p) => ({ p, a: analyzeWgsl(p.wgsl), wg: p.dispatch[0] * p.dispatch[1] * p.dispatch[2] }));
    const main = passes.sort((x, y) => (y.a.hot?.macs ?? 0) * y.wg - (x.a.hot?.macs ?? 0) * x.wg)[0]!;
    const divisions = passes.reduce((n, q) => n + q.a.innerDivisions, 0);
    const fixed = (v: number | null | undefined, d: number) => (v === null || v === undefined ? '-' : v.toFixed(d));
    console.log([c.label, `${forward} (ran ${[...new Set(steady.chosen)].join(', ')})`, passes.length, main.wg, fixed(main.wg / sms, 2),
      fixed(main.a.macsPerSharedLoad, 2), fixed(main.a.macsPerGlobalByte, 2), divisions].join(' | '));
    for (const x of Object.values(t)) x.release();
  }
}
rt.destroy();

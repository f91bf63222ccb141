// npm run bench [-- --quick | --full] [--node] [--size N] [--project-size N] [--occlusion-size N]
//   [--occlusion-grid N] [--matmul N] [--repeats N] [--heavy-repeats N] [--warmup N]
//   [--only conv64,project] [--no-ort] [--no-tune] [--tune-repeats N] [--out FILE]
//
// deconvnet-webgpu against TF.js (WebGPU backend) and, for the conv
// workloads, ONNX Runtime Web (WebGPU EP), in one headless Chromium page on
// one adapter (the tests' browser and flags: scripts/chromium-runner.ts).
// `--node`: the same workloads in this Node process on Dawn (the `webgpu`
// package; bench/node.ts), for a machine with a real GPU and a Vulkan loader;
// ONNX Runtime Web is browser-only and is left out there.
// Prints a table and writes bench/results/latest.json (--quick: a smoke run
// at small sizes, written to bench/results/quick.tmp.json).
import type { BenchResult } from './page.js';

if (process.argv.includes('--node')) {
  // TF.js's ES modules import directories, which Node's own loader refuses: run bench/node.ts as one
  // esbuild bundle (as scripts/device-bundle.sh does for GPU machines), in a child Node process.
  const { build } = await import('esbuild');
  const { spawnSync } = await import('node:child_process');
  const outfile = 'node_modules/.cache/deconvnet-webgpu/bench-node.mjs';
  await build({
    entryPoints: ['bench/node.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['webgpu'], outfile, logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const run = spawnSync(process.execPath, [outfile, '--run-node-bench', ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
} else {
  const { runAndReport } = await import('./report.js');
  const { runInChromium } = await import('../scripts/chromium-runner.js');
  await runAndReport('headless Chromium', async (args) => (await runInChromium('bench/page.ts', args as unknown as Record<string, unknown>)) as BenchResult);
}

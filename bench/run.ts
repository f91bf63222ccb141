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
import { runAndReport } from './report.js';
import type { BenchResult } from './page.js';

if (process.argv.includes('--node')) {
  const { runOnDawn } = await import('./node.js');
  await runAndReport('node + Dawn (webgpu package)', runOnDawn);
} else {
  const { runInChromium } = await import('../scripts/chromium-runner.js');
  await runAndReport('headless Chromium', async (args) => (await runInChromium('bench/page.ts', args as unknown as Record<string, unknown>)) as BenchResult);
}

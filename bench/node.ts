// The benchmark in Node on Dawn (npm `webgpu`): the page's workloads (bench/page.ts)
// run in this process, ours and TF.js's WebGPU backend on the same adapter.
// For machines with a real GPU and a Vulkan loader (on SwiftShader it runs too,
// slowly). The GPU object stays referenced from navigator.gpu: Dawn's instance
// lives only as long as it (docs/node-dawn.md). `npm run bench -- --node`, or
// bundled (scripts/device-bench.sh) and run as `node bench-node.mjs [flags]`.
import type { BenchArgs, BenchResult } from './page.js';

/** Installs Dawn's WebGPU (created with Dawn's `flags`) as navigator.gpu, what both libraries look for. */
export async function installDawn(flags: string[] = []): Promise<GPU> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create(flags) as GPU;
  const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `node ${process.version}` }, configurable: true });
  return gpu;
}

/** Runs the workloads on Dawn's adapter. */
export async function runOnDawn(args: BenchArgs): Promise<BenchResult> {
  const gpu = await installDawn();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('Dawn found no WebGPU adapter (is a Vulkan loader and driver installed? VK_ICD_FILENAMES?)');
  const info = adapter.info as GPUAdapterInfo | undefined;
  const name = info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') : 'unknown';
  console.log(`Dawn adapter: ${name}`);
  const { main } = await import('./page.js');
  const result = await main({ ...args, ort: false });
  if (!result.adapter.ours || result.adapter.ours === 'unknown') result.adapter.ours = name;
  return result;
}

// Run directly (the bundle's entry): same arguments and output as `npm run bench -- --node`.
if (process.argv.includes('--run-node-bench')) {
  const { runAndReport } = await import('./report.js');
  await runAndReport('node + Dawn (webgpu package)', runOnDawn);
}

// WebGPU in Node: Dawn (the `webgpu` package) installed as navigator.gpu, so
// the library (createRuntime) and TF.js's WebGPU backend find it as in a
// browser. Used by the command-line analyses (train, evaluate, topk,
// occlusion), the `dawn` test project and the Node benchmark. On a machine
// without a GPU driver Dawn runs on SwiftShader, Chromium's Vulkan CPU driver,
// where it is installed.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { runInChromium, arg } from './chromium-runner.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Dawn's GPU object, installed as navigator.gpu with Dawn's WebGPU globals (GPUBufferUsage, ...); null where the package cannot load. */
export async function installDawn(): Promise<GPU | null> {
  if (!process.env.VK_ICD_FILENAMES && process.env.WEBGPU_ADAPTER !== 'gpu' && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  let gpu: GPU;
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    gpu = create([]) as GPU;
  } catch {
    return null;
  }
  const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `node ${process.version}` }, configurable: true });
  return gpu;
}

/** Whether Dawn finds an adapter here (false: no Vulkan loader or driver). Installs it as navigator.gpu. */
export async function dawnAvailable(): Promise<boolean> {
  const gpu = await installDawn();
  return gpu !== null && (await gpu.requestAdapter()) !== null;
}

/**
 * Runs `entry`'s `main(args)` (a module path from the project root, written
 * for both hosts: files through scripts/page-io.ts, the GPU through
 * createRuntime()) in this process on Dawn, or in headless Chromium where
 * Dawn finds no adapter or `--host chromium` asks for it (`--host dawn`: no
 * fallback). Exits the process when done: Dawn's instance keeps Node alive.
 */
export async function runOnHost(entry: string, args: Record<string, unknown>): Promise<never> {
  const host = arg('host', 'auto');
  if (!['auto', 'dawn', 'chromium'].includes(host)) throw new Error(`--host ${host}: use dawn, chromium or auto`);
  try {
    if (host !== 'chromium' && (await dawnAvailable())) {
      const module = await import(pathToFileURL(resolve(entry)).href);
      await module.main(args);
    } else {
      if (host === 'dawn') throw new Error('--host dawn: Dawn found no WebGPU adapter (install a Vulkan driver, or set VK_ICD_FILENAMES)');
      if (host === 'auto') console.log('Dawn found no WebGPU adapter: running in headless Chromium');
      await runInChromium(entry, args);
    }
  } catch (err) {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  }
  process.exit(0);
}

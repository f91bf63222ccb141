// WebGPU in Node: Dawn (the `webgpu` package) installed as navigator.gpu, so
// the library (createRuntime) and TF.js's WebGPU backend find it as in a
// browser. Used by the command-line analyses (train, evaluate, topk,
// occlusion), the `dawn` test project and the Node benchmark. On a machine
// without a GPU driver Dawn runs on SwiftShader, Chromium's Vulkan CPU driver,
// where it is installed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
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

/** The model file, then (for a .json: TF.js model.json or our manifest) the .bin weight files beside it. */
export function modelFiles(path: string): string[] {
  if (!existsSync(path)) throw new Error(`--model ${path}: no such file`);
  if (!path.toLowerCase().endsWith('.json')) return [path];
  const dir = dirname(path);
  return [path, ...readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.bin')).sort().map((n) => join(dir, n))];
}

const IMAGE_FILE = /\.(png|jpe?g|webp|gif|bmp)$/i;

/** The image files of a folder (not its subfolders), in name order. */
export function imageFiles(folder: string): string[] {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new Error(`--images ${folder}: not a folder`);
  const files = readdirSync(folder).filter((n) => IMAGE_FILE.test(n)).sort().map((n) => join(folder, n));
  if (files.length === 0) throw new Error(`--images ${folder}: no PNG/JPEG/WebP/GIF/BMP files`);
  return files;
}

/** Why these images need the browser host (Node decodes PNG only), or undefined. */
export function browserNeededFor(images: string[]): string | undefined {
  const other = images.filter((f) => !/\.png$/i.test(f));
  return other.length > 0 ? `${other.length} of the images are not PNG and Node has no decoder for them (${other[0]})` : undefined;
}

/**
 * Runs `entry`'s `main(args)` (a module path from the project root, written
 * for both hosts: files through scripts/page-io.ts, the GPU through
 * createRuntime()) in this process on Dawn, or in headless Chromium where
 * Dawn finds no adapter or `--host chromium` asks for it (`--host dawn`: no
 * fallback; `needsBrowser`: why this run must use Chromium). Exits the
 * process when done (Dawn's instance keeps Node alive); errors end it with
 * status 1 and their message.
 */
export async function runOnHost(entry: string, args: Record<string, unknown>, needsBrowser?: string): Promise<never> {
  const host = arg('host', 'auto');
  try {
    if (!['auto', 'dawn', 'chromium'].includes(host)) throw new Error(`--host ${host}: use dawn, chromium or auto`);
    if (needsBrowser && host === 'dawn') throw new Error(`--host dawn: ${needsBrowser}`);
    if (needsBrowser && host === 'auto') console.log(`${needsBrowser}: running in headless Chromium`);
    if (host !== 'chromium' && !needsBrowser && (await dawnAvailable())) {
      const module = await import(pathToFileURL(resolve(entry)).href);
      await module.main(args);
    } else {
      if (host === 'dawn') throw new Error('--host dawn: Dawn found no WebGPU adapter (install a Vulkan driver, or set VK_ICD_FILENAMES)');
      if (host === 'auto' && !needsBrowser) console.log('Dawn found no WebGPU adapter: running in headless Chromium');
      await runInChromium(entry, args);
    }
  } catch (err) {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  }
  process.exit(0);
}

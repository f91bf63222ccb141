// Where the tests find a Chromium with WebGPU. Nothing is downloaded: set
// CHROMIUM_PATH to your Chrome/Chromium binary (default /usr/bin/chromium, the
// Debian package). WEBGPU_ADAPTER=swiftshader (default) uses the CPU Vulkan
// implementation shipped with Chromium; set WEBGPU_ADAPTER=gpu on a machine
// with a real GPU to test on it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const chromiumArgs = [
  '--enable-unsafe-webgpu',
  ...(process.env.WEBGPU_ADAPTER === 'gpu' ? [] : ['--use-webgpu-adapter=swiftshader']),
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export function freshProfileDir(): string {
  return mkdtempSync(join(tmpdir(), 'deconvnet-chromium-'));
}

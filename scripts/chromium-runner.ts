// Runs a module of this project inside headless Chromium with WebGPU (the
// same browser and flags as the tests) and gives it a few Node functions:
// reading and writing files, printing. Used by the command-line analyses
// (scripts/node-gpu.ts runOnHost) where Dawn for Node finds no adapter or
// `--host chromium` asks for the browser.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { chromium } from 'playwright';
import { chromiumPath, chromiumArgs, freshProfileDir } from '../chromium.config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/**
 * Imports `entry` (a path from the project root) in the page and awaits its
 * `main(args)`. `launchArgs` are added to the tests' Chromium flags.
 */
export async function runInChromium(entry: string, args: Record<string, unknown>, launchArgs: string[] = []): Promise<unknown> {
  const server = await createServer({
    root, configFile: false, logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
    optimizeDeps: { include: ['wgsl-preprocessor/wgsl-preprocessor.js'] },
  });
  await server.listen();
  const address = server.httpServer!.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const browser = await chromium.launchPersistentContext(freshProfileDir(), { executablePath: chromiumPath, args: [...chromiumArgs, ...launchArgs], headless: true });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.on('console', (msg) => (msg.type() === 'error' ? console.error : console.log)(msg.text()));
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    await page.exposeFunction('nodeReadFile', (path: string) => readFileSync(resolve(root, path)).toString('base64'));
    await page.exposeFunction('nodeWriteFile', (path: string, base64: string) => {
      const full = resolve(root, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, Buffer.from(base64, 'base64'));
    });
    await page.goto(`http://127.0.0.1:${port}/scripts/runner.html`);
    return await page.evaluate(async ({ entry, args }) => {
      const module = await import(/* @vite-ignore */ `/${entry}`);
      return module.main(args);
    }, { entry, args });
  } finally {
    await browser.close();
    await server.close();
  }
}
